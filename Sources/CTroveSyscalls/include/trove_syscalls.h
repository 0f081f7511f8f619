#ifndef TROVE_SYSCALLS_H
#define TROVE_SYSCALLS_H

/// syncfs(2): commits every dirty page and inode of the filesystem holding `fd` (one journal
/// commit for many files). Returns 0, or -1 with errno set (ENOSYS where there is no syncfs:
/// the caller then fsyncs file by file).
int trove_syncfs(int fd);

#endif

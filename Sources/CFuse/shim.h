#pragma once
// libfuse 3 high-level API, 3.1 interface (fuse_new, fuse_loop_mt_31, fuse_operations with
// fuse_file_info on getattr and readdir flags). Headers live in /usr/include/fuse3 (pkg-config fuse3).
#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <sys/mount.h>

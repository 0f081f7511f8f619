# PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin) for the catalog tests: the tests run
# initdb and postgres themselves, as an unprivileged user, in a temporary directory on loopback.
apt_install postgresql-15

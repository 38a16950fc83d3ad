/*  =========================================================================
    zeb_trace - LD_PRELOAD shim that records file writes and flushes

    usage: ZEB_TRACE=/tmp/trace ZEB_TRACE_DIR=/data/events \
           LD_PRELOAD=libzeb_trace.so zebd ...

    Records, for regular files whose absolute path is under ZEB_TRACE_DIR
    (resolved with realpath once), every open/open64/openat/creat (with
    O_DSYNC/O_SYNC, O_CREAT, O_TRUNC), write, pwrite/pwrite64, writev,
    pwritev/pwritev64, ftruncate, fsync, fdatasync, sync_file_range, close and rename,
    in the format of zeb_trace.h, one record per call that succeeded. The
    file offset of write and writev is read with lseek before the call
    (LMDB seeks, then writevs). Anything outside the directory, and any
    descriptor the shim did not see opened, passes through untouched.

    One mutex is held across each traced call and its record, so that
    records come in the order the calls completed, with the time each
    returned (CLOCK_MONOTONIC, ns). The trace is written with the real
    functions (dlsym RTLD_NEXT). Without both variables set nothing is
    traced. Limits: dup/fcntl(F_DUPFD) copies, mmap writes and O_APPEND
    offsets are not followed (LMDB without MDB_WRITEMAP uses none of them
    for its data file); relative paths are resolved against the working
    directory only for AT_FDCWD.
    =========================================================================
*/

#ifndef _GNU_SOURCE
#   define _GNU_SOURCE
#endif
#include "zeb_trace.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_FDS   65536
#define S_MAX_FILES 256

typedef struct {
    bool traced;
    uint32_t file;
    uint32_t flags;
} s_fd_t;

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static int s_trace_fd = -1;             //  -1: not tracing
static char s_dir [PATH_MAX];
static size_t s_dir_len;
static s_fd_t s_fds [S_MAX_FDS];
static char *s_files [S_MAX_FILES];     //  path of each file id
static uint32_t s_file_count;

static int (*real_open) (const char *, int, ...);
static int (*real_open64) (const char *, int, ...);
static int (*real_openat) (int, const char *, int, ...);
static int (*real_openat64) (int, const char *, int, ...);
static int (*real_creat) (const char *, mode_t);
static int (*real_close) (int);
static ssize_t (*real_write) (int, const void *, size_t);
static ssize_t (*real_pwrite) (int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64) (int, const void *, size_t, off64_t);
static ssize_t (*real_writev) (int, const struct iovec *, int);
static ssize_t (*real_pwritev) (int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64) (int, const struct iovec *, int, off64_t);
static int (*real_ftruncate) (int, off_t);
static int (*real_ftruncate64) (int, off64_t);
static int (*real_fsync) (int);
static int (*real_fdatasync) (int);
static int (*real_sync_file_range) (int, off64_t, off64_t, unsigned int);
static int (*real_rename) (const char *, const char *);
static off_t (*real_lseek) (int, off_t, int);

static void
s_init (void)
{
    real_open = dlsym (RTLD_NEXT, "open");
    real_open64 = dlsym (RTLD_NEXT, "open64");
    real_openat = dlsym (RTLD_NEXT, "openat");
    real_openat64 = dlsym (RTLD_NEXT, "openat64");
    real_creat = dlsym (RTLD_NEXT, "creat");
    real_close = dlsym (RTLD_NEXT, "close");
    real_write = dlsym (RTLD_NEXT, "write");
    real_pwrite = dlsym (RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym (RTLD_NEXT, "pwrite64");
    real_writev = dlsym (RTLD_NEXT, "writev");
    real_pwritev = dlsym (RTLD_NEXT, "pwritev");
    real_pwritev64 = dlsym (RTLD_NEXT, "pwritev64");
    real_ftruncate = dlsym (RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym (RTLD_NEXT, "ftruncate64");
    real_fsync = dlsym (RTLD_NEXT, "fsync");
    real_fdatasync = dlsym (RTLD_NEXT, "fdatasync");
    real_sync_file_range = dlsym (RTLD_NEXT, "sync_file_range");
    real_rename = dlsym (RTLD_NEXT, "rename");
    real_lseek = dlsym (RTLD_NEXT, "lseek");

    const char *trace = getenv ("ZEB_TRACE");
    const char *dir = getenv ("ZEB_TRACE_DIR");
    if (!trace || !dir || !real_open)
        return;
    //  The directory may not exist yet (zebd creates it): resolve its parent
    if (!realpath (dir, s_dir)) {
        char parent [PATH_MAX];
        snprintf (parent, sizeof (parent), "%s", dir);
        char *slash = strrchr (parent, '/');
        if (!slash)
            return;
        *slash = 0;
        char resolved [PATH_MAX];
        if (!realpath (*parent? parent: "/", resolved))
            return;
        if ((size_t) snprintf (s_dir, sizeof (s_dir), "%.2048s/%.1024s", resolved, slash + 1)
            >= sizeof (s_dir))
            return;
    }
    s_dir_len = strlen (s_dir);
    s_trace_fd = real_open (trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void
s_put (const void *data, size_t size)
{
    const char *bytes = (const char *) data;
    while (size) {
        ssize_t rc = real_write (s_trace_fd, bytes, size);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            abort ();               //  a lost record would make the trace a lie
        bytes += rc;
        size -= (size_t) rc;
    }
}

static uint64_t
s_now_ns (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000000000ULL + (uint64_t) now.tv_nsec;
}

//  One record with an optional payload in iov form; call with the lock held
static void
s_record (uint32_t op, uint32_t file, uint32_t flags, uint64_t offset,
          const struct iovec *iov, int iovcnt, size_t size)
{
    zeb_trace_rec_t rec = { op, file, flags, (uint32_t) size, offset, s_now_ns () };
    s_put (&rec, sizeof (rec));
    for (int index = 0; index < iovcnt && size; index++) {
        size_t part = iov [index].iov_len < size? iov [index].iov_len: size;
        s_put (iov [index].iov_base, part);
        size -= part;
    }
}

static bool
s_active (void)
{
    pthread_once (&s_once, s_init);
    return s_trace_fd >= 0;
}

static s_fd_t *
s_fd (int fd)
{
    return (fd >= 0 && fd < S_MAX_FDS && s_fds [fd].traced)? &s_fds [fd]: NULL;
}

//  Absolute path of path under dirfd, or false if it cannot be told
static bool
s_absolute (int dirfd, const char *path, char *out, size_t size)
{
    if (!path)
        return false;
    if (path [0] == '/')
        return (size_t) snprintf (out, size, "%s", path) < size;
    if (dirfd != AT_FDCWD)
        return false;
    char cwd [PATH_MAX];
    if (!getcwd (cwd, sizeof (cwd)))
        return false;
    return (size_t) snprintf (out, size, "%s/%s", cwd, path) < size;
}

static bool
s_under_dir (const char *path)
{
    return strncmp (path, s_dir, s_dir_len) == 0 && path [s_dir_len] == '/';
}

static uint32_t
s_file_id (const char *path)
{
    for (uint32_t id = 0; id < s_file_count; id++)
        if (strcmp (s_files [id], path) == 0)
            return id;
    if (s_file_count == S_MAX_FILES)
        abort ();
    s_files [s_file_count] = strdup (path);
    return s_file_count++;
}

//  After an open that returned fd: trace it if it is a regular file under
//  the directory. Lock held.
static void
s_opened (int fd, int dirfd, const char *path, int flags)
{
    char full [PATH_MAX];
    struct stat st;
    if (fd < 0 || fd >= S_MAX_FDS || !s_absolute (dirfd, path, full, sizeof (full))
    ||  !s_under_dir (full) || fstat (fd, &st) || !S_ISREG (st.st_mode))
        return;
    uint32_t id = s_file_id (full);
    uint32_t trace_flags = 0;
    if (flags & (O_DSYNC | O_SYNC))
        trace_flags |= ZEB_TRACE_DSYNC;
    if (flags & O_CREAT)
        trace_flags |= ZEB_TRACE_CREATED;
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
        trace_flags |= ZEB_TRACE_TRUNC;
    s_fds [fd] = (s_fd_t) { true, id, trace_flags };
    struct iovec iov = { (void *) full, strlen (full) + 1 };
    s_record (ZEB_TRACE_OPEN, id, trace_flags, 0, &iov, 1, iov.iov_len);
}

static int
s_open_common (int (*real) (int, const char *, int, ...), int (*real_nodir) (const char *, int, ...),
               int dirfd, const char *path, int flags, mode_t mode)
{
    if (!s_active ())
        return real? real (dirfd, path, flags, mode): real_nodir (path, flags, mode);
    pthread_mutex_lock (&s_lock);
    int fd = real? real (dirfd, path, flags, mode): real_nodir (path, flags, mode);
    int saved = errno;
    s_opened (fd, real? dirfd: AT_FDCWD, path, flags);
    pthread_mutex_unlock (&s_lock);
    errno = saved;
    return fd;
}

#define S_MODE(flags, mode) \
    if ((flags) & (O_CREAT | O_TMPFILE)) { \
        va_list args; va_start (args, flags); mode = (mode_t) va_arg (args, int); va_end (args); \
    }

int open (const char *path, int flags, ...);
int open64 (const char *path, int flags, ...);
int openat (int dirfd, const char *path, int flags, ...);
int openat64 (int dirfd, const char *path, int flags, ...);

int
open (const char *path, int flags, ...)
{
    mode_t mode = 0;
    S_MODE (flags, mode);
    pthread_once (&s_once, s_init);
    return s_open_common (NULL, real_open, AT_FDCWD, path, flags, mode);
}

int
open64 (const char *path, int flags, ...)
{
    mode_t mode = 0;
    S_MODE (flags, mode);
    pthread_once (&s_once, s_init);
    return s_open_common (NULL, real_open64? real_open64: real_open, AT_FDCWD, path, flags, mode);
}

int
openat (int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    S_MODE (flags, mode);
    pthread_once (&s_once, s_init);
    return s_open_common (real_openat, NULL, dirfd, path, flags, mode);
}

int
openat64 (int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    S_MODE (flags, mode);
    pthread_once (&s_once, s_init);
    return s_open_common (real_openat64? real_openat64: real_openat, NULL, dirfd, path, flags, mode);
}

int
creat (const char *path, mode_t mode)
{
    pthread_once (&s_once, s_init);
    return s_open_common (NULL, real_open, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int
close (int fd)
{
    if (!s_active ())
        return real_close (fd);
    pthread_mutex_lock (&s_lock);
    s_fd_t *entry = s_fd (fd);
    int rc = real_close (fd);
    int saved = errno;
    if (entry) {
        s_record (ZEB_TRACE_CLOSE, entry->file, entry->flags, 0, NULL, 0, 0);
        entry->traced = false;
    }
    pthread_mutex_unlock (&s_lock);
    errno = saved;
    return rc;
}

//  A write of some kind: offset -1 means "the file offset, read first"
static ssize_t
s_write (int fd, const struct iovec *iov, int iovcnt, off_t offset, bool positioned)
{
    pthread_mutex_lock (&s_lock);
    s_fd_t *entry = s_fd (fd);
    off_t where = positioned? offset: (entry? real_lseek (fd, 0, SEEK_CUR): 0);
    ssize_t rc;
    if (positioned)
        rc = iovcnt == 1? real_pwrite (fd, iov [0].iov_base, iov [0].iov_len, offset)
                        : real_pwritev (fd, iov, iovcnt, offset);
    else
        rc = iovcnt == 1? real_write (fd, iov [0].iov_base, iov [0].iov_len)
                        : real_writev (fd, iov, iovcnt);
    int saved = errno;
    if (entry && rc > 0 && where >= 0)
        s_record (ZEB_TRACE_WRITE, entry->file, entry->flags, (uint64_t) where, iov, iovcnt,
                  (size_t) rc);
    pthread_mutex_unlock (&s_lock);
    errno = saved;
    return rc;
}

ssize_t
write (int fd, const void *data, size_t size)
{
    if (!s_active () || !s_fd (fd))
        return real_write (fd, data, size);
    struct iovec iov = { (void *) data, size };
    return s_write (fd, &iov, 1, 0, false);
}

ssize_t
pwrite (int fd, const void *data, size_t size, off_t offset)
{
    if (!s_active () || !s_fd (fd))
        return real_pwrite (fd, data, size, offset);
    struct iovec iov = { (void *) data, size };
    return s_write (fd, &iov, 1, offset, true);
}

ssize_t
pwrite64 (int fd, const void *data, size_t size, off64_t offset)
{
    if (!s_active () || !s_fd (fd))
        return real_pwrite64 (fd, data, size, offset);
    struct iovec iov = { (void *) data, size };
    return s_write (fd, &iov, 1, (off_t) offset, true);
}

ssize_t
writev (int fd, const struct iovec *iov, int iovcnt)
{
    if (!s_active () || !s_fd (fd) || iovcnt < 1)
        return real_writev (fd, iov, iovcnt);
    return s_write (fd, iov, iovcnt, 0, false);
}

ssize_t
pwritev (int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    if (!s_active () || !s_fd (fd) || iovcnt < 1)
        return real_pwritev (fd, iov, iovcnt, offset);
    return s_write (fd, iov, iovcnt, offset, true);
}

ssize_t
pwritev64 (int fd, const struct iovec *iov, int iovcnt, off64_t offset)
{
    if (!s_active () || !s_fd (fd) || iovcnt < 1)
        return real_pwritev64 (fd, iov, iovcnt, offset);
    return s_write (fd, iov, iovcnt, (off_t) offset, true);
}

static int
s_truncate (int fd, off_t length, bool large)
{
    pthread_mutex_lock (&s_lock);
    s_fd_t *entry = s_fd (fd);
    int rc = large? real_ftruncate64 (fd, length): real_ftruncate (fd, length);
    int saved = errno;
    if (entry && rc == 0)
        s_record (ZEB_TRACE_TRUNCATE, entry->file, entry->flags, (uint64_t) length, NULL, 0, 0);
    pthread_mutex_unlock (&s_lock);
    errno = saved;
    return rc;
}

int
ftruncate (int fd, off_t length)
{
    if (!s_active () || !s_fd (fd))
        return real_ftruncate (fd, length);
    return s_truncate (fd, length, false);
}

int
ftruncate64 (int fd, off64_t length)
{
    if (!s_active () || !s_fd (fd))
        return real_ftruncate64 (fd, length);
    return s_truncate (fd, (off_t) length, true);
}

static int
s_sync (int fd, int (*real) (int))
{
    pthread_mutex_lock (&s_lock);
    s_fd_t *entry = s_fd (fd);
    int rc = real (fd);
    int saved = errno;
    if (entry && rc == 0)
        s_record (ZEB_TRACE_SYNC, entry->file, entry->flags, 0, NULL, 0, 0);
    pthread_mutex_unlock (&s_lock);
    errno = saved;
    return rc;
}

int
fsync (int fd)
{
    if (!s_active () || !s_fd (fd))
        return real_fsync (fd);
    return s_sync (fd, real_fsync);
}

int
fdatasync (int fd)
{
    if (!s_active () || !s_fd (fd))
        return real_fdatasync (fd);
    return s_sync (fd, real_fdatasync);
}

int
sync_file_range (int fd, off64_t offset, off64_t nbytes, unsigned int flags)
{
    if (!s_active () || !s_fd (fd))
        return real_sync_file_range (fd, offset, nbytes, flags);
    pthread_mutex_lock (&s_lock);
    s_fd_t *entry = s_fd (fd);
    int rc = real_sync_file_range (fd, offset, nbytes, flags);
    int saved = errno;
    if (entry && rc == 0)
        s_record (ZEB_TRACE_RANGE, entry->file, entry->flags, (uint64_t) offset, NULL, 0, 0);
    pthread_mutex_unlock (&s_lock);
    errno = saved;
    return rc;
}

int
rename (const char *from, const char *to)
{
    if (!s_active ())
        return real_rename (from, to);
    pthread_mutex_lock (&s_lock);
    int rc = real_rename (from, to);
    int saved = errno;
    char old_path [PATH_MAX], new_path [PATH_MAX];
    if (rc == 0 && s_absolute (AT_FDCWD, from, old_path, sizeof (old_path))
    &&  s_absolute (AT_FDCWD, to, new_path, sizeof (new_path))
    &&  (s_under_dir (old_path) || s_under_dir (new_path))) {
        struct iovec iov [2] = {
            { old_path, strlen (old_path) + 1 }, { new_path, strlen (new_path) + 1 }
        };
        s_record (ZEB_TRACE_RENAME, s_file_id (old_path), 0, 0, iov, 2,
                  iov [0].iov_len + iov [1].iov_len);
    }
    pthread_mutex_unlock (&s_lock);
    errno = saved;
    return rc;
}

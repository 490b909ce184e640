/* File-system helpers: every function maps errors to LS_E* codes with a
 * message naming the path. */
#ifndef LS_CORE_FSUTIL_H
#define LS_CORE_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mkdir -p with mode 0750; existing directories are fine. */
int ls__mkdirs(const char *path);
/* fsync a directory (so that a rename or link in it is durable). */
int ls__fsync_dir(const char *path);
/* fsync the directory containing path. */
int ls__fsync_parent(const char *path);
/* Read a whole file into a malloc'd buffer (NUL-terminated; *len excludes it). */
int ls__read_file(const char *path, char **buf, size_t *len);
/* Write data to path atomically: a temporary file in the same directory,
 * fsync'd, renamed over path, then the directory fsync'd. */
int ls__write_file_atomic(const char *path, const void *data, size_t len);
/* write(2) all bytes, retrying on EINTR and short writes. Returns 0 or errno. */
int ls__write_all(int fd, const void *data, size_t len);
/* Remove a directory tree (files and subdirectories); missing is fine. */
int ls__remove_tree(const char *path);
/* snprintf into a malloc'd string; NULL on ENOMEM. */
char *ls__strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

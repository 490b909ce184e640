/* File-system helpers. */
#include "core/fsutil.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *ls__strprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

int ls__mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return ls__err(LS_EINVAL, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return ls__err_errno(errno, "mkdir", buf);
        *p = '/';
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return ls__err_errno(errno, "mkdir", buf);
    return LS_OK;
}

int ls__fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ls__err_errno(errno, "open directory", path);
    int rc = fsync(fd) == 0 ? LS_OK : ls__err_errno(errno, "fsync directory", path);
    close(fd);
    return rc;
}

int ls__fsync_parent(const char *path)
{
    char buf[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ls__fsync_dir(".");
    size_t n = (size_t)(slash - path);
    if (n == 0)
        return ls__fsync_dir("/");
    if (n >= sizeof buf)
        return ls__err(LS_EINVAL, "path too long: %s", path);
    memcpy(buf, path, n);
    buf[n] = 0;
    return ls__fsync_dir(buf);
}

int ls__write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int ls__read_file(const char *path, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ls__err_errno(errno, "open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ls__err_errno(e, "stat", path);
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *b = malloc(size + 1);
    if (!b) {
        close(fd);
        return ls__err(LS_ENOMEM, "out of memory reading %s (%zu bytes)", path, size);
    }
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            return ls__err_errno(e, "read", path);
        }
        if (r == 0)
            break; /* shrank under us: return what is there */
        got += (size_t)r;
    }
    close(fd);
    b[got] = 0;
    *buf = b;
    *len = got;
    return LS_OK;
}

int ls__write_file_atomic(const char *path, const void *data, size_t len)
{
    char *tmp = ls__strprintf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp)
        return ls__err(LS_ENOMEM, "out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        int rc = ls__err_errno(errno, "create", tmp);
        free(tmp);
        return rc;
    }
    int e = ls__write_all(fd, data, len);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        int rc = ls__err_errno(e, "write", path);
        free(tmp);
        return rc;
    }
    free(tmp);
    return ls__fsync_parent(path);
}

int ls__remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT)
            return LS_OK;
        if (errno == ENOTDIR)
            return unlink(path) == 0 || errno == ENOENT ? LS_OK : ls__err_errno(errno, "unlink", path);
        return ls__err_errno(errno, "opendir", path);
    }
    struct dirent *e;
    int rc = LS_OK;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = ls__strprintf("%s/%s", path, e->d_name);
        if (!p) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        if (e->d_type == DT_DIR)
            rc = ls__remove_tree(p);
        else if (unlink(p) != 0 && errno != ENOENT)
            rc = ls__err_errno(errno, "unlink", p);
        free(p);
        if (rc)
            break;
    }
    closedir(d);
    if (rc == LS_OK && rmdir(path) != 0 && errno != ENOENT)
        rc = ls__err_errno(errno, "rmdir", path);
    return rc;
}

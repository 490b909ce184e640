/*
 * The default layout: one file per message (docs/contract.md §1.8).
 *
 *   PARTITION/uuid/X/Y/UUID/        one directory per mailbox (X, Y: the
 *                                   first two hex digits of the unique id)
 *   PARTITION/uuid/X/Y/UUID/17.     message with UID 17; mtime = internal date
 *   PARTITION/uuid/X/Y/UUID/17.expunged   an expunged message awaiting cleanup
 *   PARTITION/uuid/X/Y/UUID/store.header  the mailbox's backup header
 *   PARTITION/tmp/                  staged messages (same file system, so that
 *                                   link(2) and rename(2) work)
 *   PARTITION/deleted/UUID/         a deleted mailbox being removed
 *   PARTITION/libstore.id           the store's identity marker (core/identity.h)
 *
 * A partition is used only while its marker names this store: the state is
 * kept per partition (avail[]), trusted while operations succeed, and read
 * afresh whenever a directory turns out to be missing (ENOENT) or before
 * anything is created in the partition, so that an unmounted disk is never
 * mistaken for an empty mailbox and nothing lands in its mount point.
 *
 * Single instance: place() and share() hard-link; on EMLINK or EXDEV they
 * copy (to a temporary file, fsync'd, then renamed), as docs/contract.md §1.8 requires.
 */
#include "layout/layout.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/identity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A staged message: an unnamed O_TMPFILE inode in PARTITION/tmp (no
 * directory entry to create and remove, and nothing left behind by a crash)
 * held by fd; or, where O_TMPFILE is missing or too many are open, a named
 * file in PARTITION/tmp (path). */
struct ls_staged {
    char *path;
    int fd;
    const char *partition;
};

static int unnamed_open;

/* What a mode says an object is (enum ls__file_kind). */
static int kind_of(mode_t mode)
{
    return S_ISREG(mode) ? LS_FILE_REGULAR : S_ISLNK(mode) ? LS_FILE_SYMLINK : S_ISDIR(mode) ? LS_FILE_DIRECTORY
                                                                                          : LS_FILE_OTHER;
}

static const char *kind_name(int kind)
{
    return kind == LS_FILE_SYMLINK ? "a symbolic link" : kind == LS_FILE_DIRECTORY ? "a directory" : "not a regular file";
}

/* Open a file we are to read as a message or header: never through a
 * symlink (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK), and only a
 * regular file (fstat after the open, so nothing can be swapped in between).
 * Returns the descriptor, or -1 with errno (ELOOP for a symlink, EISDIR /
 * EINVAL for anything else that is not a regular file). */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        errno = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    return fd;
}

/* 1 if errno (after open_regular) means "there is something, but not a
 * regular file". */
static int not_regular_errno(int e)
{
    return e == ELOOP || e == EISDIR || e == EINVAL;
}

/* The whole of a regular file (NUL-terminated) and its stat, through
 * open_regular. Errors: LS_ECORRUPT (not a regular file), LS_ENOTFOUND,
 * LS_EIO, LS_ENOMEM. */
static int read_regular(const char *path, char **data, size_t *len, struct stat *st)
{
    int fd = open_regular(path, st);
    if (fd < 0)
        return not_regular_errno(errno) ? ls__err(LS_ECORRUPT, "%s is not a regular file", path)
                                        : ls__err_errno(errno, "open", path);
    int rc = LS_OK;
    char *buf = malloc((size_t)st->st_size + 1);
    ssize_t got = buf ? pread(fd, buf, (size_t)st->st_size, 0) : -1;
    if (!buf) {
        rc = ls__err(LS_ENOMEM, "out of memory");
    } else if (got != st->st_size) {
        rc = ls__err_errno(got < 0 ? errno : EIO, "read", path);
        free(buf);
    } else {
        buf[got] = 0;
        *data = buf;
        *len = (size_t)got;
    }
    close(fd);
    return rc;
}

/* How many unnamed staged files (open descriptors) may be held at once: a
 * quarter of the descriptor limit, so a batch never starves the process. */
static int max_unnamed(void)
{
    static int max;
    if (!max) {
        struct rlimit rl;
        long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 1024;
        lim /= 4;
        max = lim < 16 ? 16 : lim > 4096 ? 4096 : (int)lim;
    }
    return max;
}

static unsigned long tmp_counter;

static const char *part_dir(ls_layout *ly, const char *partition)
{
    return ls__config_partition_path(ly->cfg, partition);
}

static int files_reserve_refill(ls_layout *ly, const char *partition);

/* Per partition (index into cfg->partitions): 1 while its marker names this
 * store. Read and written with atomics: any thread may notice a change. */
static int *avail_of(ls_layout *ly) { return ly->priv; }

static int part_index(ls_layout *ly, const char *partition)
{
    for (size_t i = 0; i < ly->cfg->npartitions; i++)
        if (!strcmp(ly->cfg->partitions[i].name, partition))
            return (int)i;
    return -1;
}

/* Read partition i's marker afresh. LS_OK when it names this store (a
 * partition seen again after an outage gets its tmp/ and reserve back);
 * else LS_EUNAVAILABLE, naming the partition, its path and the likely cause. */
static int part_verify(ls_layout *ly, int i)
{
    const ls_partition_conf *pc = &ly->cfg->partitions[i];
    uint8_t id[LS_ID_LEN];
    int rc = ls__id_read(pc->path, id);
    if (rc == LS_OK && !memcmp(id, ly->store_id, LS_ID_LEN)) {
        if (!__atomic_load_n(&avail_of(ly)[i], __ATOMIC_ACQUIRE)) {
            char *t = ls__strprintf("%s/tmp", pc->path);
            if (t)
                ls__mkdirs(t);
            free(t);
            __atomic_store_n(&avail_of(ly)[i], 1, __ATOMIC_RELEASE);
            files_reserve_refill(ly, pc->name);
            ls_error_clear();
        }
        return LS_OK;
    }
    __atomic_store_n(&avail_of(ly)[i], 0, __ATOMIC_RELEASE);
    if (rc == LS_OK) {
        char found[37];
        ls__id_format(id, found);
        return ls__err(LS_EUNAVAILABLE,
                      "partition '%s' (%s) is unavailable: its identity marker %s names another store (%s): "
                      "the wrong disk mounted?", pc->name, pc->path, LS_ID_FILE, found);
    }
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_EUNAVAILABLE,
                      "partition '%s' (%s) is unavailable: its identity marker %s is missing: not mounted? "
                      "(a store made before markers existed needs 'mailstore init --upgrade' once)",
                      pc->name, pc->path, LS_ID_FILE);
    char why[600];
    snprintf(why, sizeof why, "%s", ls_error_last());
    return ls__err(LS_EUNAVAILABLE, "partition '%s' (%s) is unavailable: its identity marker cannot be read: %s",
                  pc->name, pc->path, why);
}

/* LS_OK if partition is usable: trusted while it last was, else read again. */
static int part_ok(ls_layout *ly, const char *partition)
{
    int i = part_index(ly, partition);
    if (i < 0)
        return ls__err(LS_ENOTFOUND, "partition '%s' is not configured", partition);
    if (__atomic_load_n(&avail_of(ly)[i], __ATOMIC_ACQUIRE))
        return LS_OK;
    return part_verify(ly, i);
}

/* A directory of partition was found missing (rc, from ls__err_errno of an
 * ENOENT): LS_EUNAVAILABLE if the partition itself has gone (a disk
 * unmounted after open), else rc with its message. */
static int part_lost(ls_layout *ly, const char *partition, int rc)
{
    if (rc != LS_ENOTFOUND)
        return rc;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ls_error_last());
    int i = part_index(ly, partition);
    if (i >= 0 && part_verify(ly, i) != LS_OK)
        return LS_EUNAVAILABLE;
    return ls__err(rc, "%s", msg);
}

static int files_partition_check(ls_layout *ly, const char *partition)
{
    int i = part_index(ly, partition);
    if (i < 0)
        return ls__err(LS_ENOTFOUND, "partition '%s' is not configured", partition);
    return part_verify(ly, i);
}

static char *mbdir(ls_layout *ly, const ls_mbref *mb)
{
    const char *p = part_dir(ly, mb->partition);
    if (!p) {
        ls__err(LS_ENOTFOUND, "partition '%s' is not configured", mb->partition);
        return NULL;
    }
    char *s = ls__strprintf("%s/uuid/%c/%c/%s", p, mb->uuidstr[0], mb->uuidstr[1], mb->uuidstr);
    if (!s)
        ls__err(LS_ENOMEM, "out of memory");
    return s;
}

static char *msgpath(ls_layout *ly, const ls_mbref *mb, uint32_t uid, int expunged)
{
    char *d = mbdir(ly, mb);
    if (!d)
        return NULL;
    char *s = ls__strprintf("%s/%u.%s", d, uid, expunged ? "expunged" : "");
    free(d);
    if (!s)
        ls__err(LS_ENOMEM, "out of memory");
    return s;
}

#define PARTITION_RESERVE (1u << 20)

static int files_reserve_release(ls_layout *ly, const char *partition)
{
    const char *p = part_dir(ly, partition);
    char path[4096];
    if (!p || snprintf(path, sizeof path, "%s/reserve", p) >= (int)sizeof path)
        return 0;
    return unlink(path) == 0;
}

static int files_reserve_refill(ls_layout *ly, const char *partition)
{
    const char *p = part_dir(ly, partition);
    int i = part_index(ly, partition);
    /* nothing is created in a partition that is not this store's; its
     * operations fail on their own (LS_EUNAVAILABLE) */
    if (i < 0 || !__atomic_load_n(&avail_of(ly)[i], __ATOMIC_ACQUIRE))
        return 1;
    char path[4096];
    if (!p || snprintf(path, sizeof path, "%s/reserve", p) >= (int)sizeof path)
        return 0;
    if (access(path, F_OK) == 0)
        return 1;
    /* about to create a file: the disk must still be there */
    if (part_verify(ly, i) != LS_OK) {
        ls_error_clear();
        return 1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return 0;
    int ok = posix_fallocate(fd, 0, PARTITION_RESERVE) == 0;
    close(fd);
    if (!ok)
        unlink(path);
    return ok;
}

static int files_open(ls_layout *ly)
{
    ly->priv = calloc(ly->cfg->npartitions ? ly->cfg->npartitions : 1, sizeof(int));
    if (!ly->priv)
        return ls__err(LS_ENOMEM, "out of memory");
    /* an unavailable partition is noted here, and refused by each operation */
    for (size_t i = 0; i < ly->cfg->npartitions; i++)
        part_verify(ly, (int)i);
    ls_error_clear();
    return LS_OK;
}

static void files_close(ls_layout *ly) { free(ly->priv); }

static int files_mailbox_init(ls_layout *ly, const ls_mbref *mb)
{
    /* about to create directories: the marker is read afresh, never trusted */
    int i = part_index(ly, mb->partition);
    if (i >= 0 && part_verify(ly, i) != LS_OK)
        return LS_EUNAVAILABLE;
    char *d = mbdir(ly, mb);
    if (!d)
        return ls_error_last_code();
    int rc = ls__mkdirs(d);
    if (!rc)
        rc = ls__fsync_parent(d);
    free(d);
    return rc;
}

static int files_mailbox_path(ls_layout *ly, const ls_mbref *mb, char **out)
{
    *out = mbdir(ly, mb);
    return *out ? LS_OK : ls_error_last_code();
}

static int files_mailbox_destroy(ls_layout *ly, const ls_mbref *mb)
{
    /* a destroy that found nothing would be taken as done: the disk must be there */
    int i = part_index(ly, mb->partition);
    if (i >= 0 && part_verify(ly, i) != LS_OK)
        return LS_EUNAVAILABLE;
    char *d = mbdir(ly, mb);
    if (!d)
        return ls_error_last_code();
    /* Move it out of the uuid tree first, so a rebuild from files never
     * finds a half-removed mailbox. */
    char *gone = ls__strprintf("%s/deleted/%s", part_dir(ly, mb->partition), mb->uuidstr);
    int rc = LS_OK;
    char *deldir = ls__strprintf("%s/deleted", part_dir(ly, mb->partition));
    if (!gone || !deldir) {
        rc = ls__err(LS_ENOMEM, "out of memory");
    } else {
        rc = ls__mkdirs(deldir);
        if (!rc && rename(d, gone) != 0 && errno != ENOENT)
            rc = ls__err_errno(errno, "rename", d);
        if (!rc)
            rc = ls__remove_tree(gone);
    }
    free(d);
    free(gone);
    free(deldir);
    return rc;
}

static int files_header_write(ls_layout *ly, const ls_mbref *mb, const void *data, size_t len)
{
    char *d = mbdir(ly, mb);
    if (!d)
        return ls_error_last_code();
    char *p = ls__strprintf("%s/store.header", d);
    free(d);
    if (!p)
        return ls__err(LS_ENOMEM, "out of memory");
    int rc = part_ok(ly, mb->partition);
    if (!rc)
        rc = part_lost(ly, mb->partition, ls__write_file_atomic(p, data, len));
    free(p);
    return rc;
}

static int files_header_read(ls_layout *ly, const ls_mbref *mb, char **data, size_t *len)
{
    char *d = mbdir(ly, mb);
    if (!d)
        return ls_error_last_code();
    char *p = ls__strprintf("%s/store.header", d);
    free(d);
    if (!p)
        return ls__err(LS_ENOMEM, "out of memory");
    struct stat st;
    int rc = part_ok(ly, mb->partition);
    if (!rc)
        rc = part_lost(ly, mb->partition, read_regular(p, data, len, &st));
    free(p);
    return rc;
}

static int set_mtime_fd(int fd, int64_t mtime)
{
    struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)mtime, .tv_nsec = 0 } };
    return futimens(fd, ts) == 0 ? 0 : errno;
}

static int write_new_file(const char *path, const void *data, size_t len, int64_t mtime, int sync)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return ls__err_errno(errno, "create", path);
    int e = ls__write_all(fd, data, len);
    if (!e)
        e = set_mtime_fd(fd, mtime);
    if (!e && sync && fdatasync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e) {
        unlink(path);
        return ls__err_errno(e, "write", path);
    }
    return LS_OK;
}

static int files_stage(ls_layout *ly, const char *partition, const void *data, size_t len,
                       int64_t mtime, int sync, ls_staged **out)
{
    const char *p = part_dir(ly, partition);
    if (!p)
        return ls__err(LS_ENOTFOUND, "partition '%s' is not configured", partition);
    int prc = part_ok(ly, partition);
    if (prc)
        return prc;
    ls_staged *st = calloc(1, sizeof *st);
    if (!st)
        return ls__err(LS_ENOMEM, "out of memory");
    st->fd = -1;
    st->partition = partition;
    if (__atomic_add_fetch(&unnamed_open, 1, __ATOMIC_RELAXED) <= max_unnamed()) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tmp", p);
        int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640);
        if (fd >= 0) {
            int e = ls__write_all(fd, data, len);
            if (!e)
                e = set_mtime_fd(fd, mtime);
            if (!e && sync && fdatasync(fd) != 0)
                e = errno;
            if (e) {
                close(fd);
                __atomic_sub_fetch(&unnamed_open, 1, __ATOMIC_RELAXED);
                free(st);
                return ls__err_errno(e, "write", dir);
            }
            st->fd = fd;
            *out = st;
            return LS_OK;
        }
    }
    __atomic_sub_fetch(&unnamed_open, 1, __ATOMIC_RELAXED);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned long n = __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED);
    st->path = ls__strprintf("%s/tmp/%ld.%ld.%lu.%ld", p, (long)getpid(), (long)now.tv_sec, n, (long)now.tv_nsec);
    if (!st->path) {
        free(st);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    int rc = part_lost(ly, partition, write_new_file(st->path, data, len, mtime, sync));
    if (rc) {
        free(st->path);
        free(st);
        return rc;
    }
    *out = st;
    return LS_OK;
}

/* A message file already at a new UID: something at or above UIDNEXT that
 * ls__adopt_leftovers did not adopt, because it walks up from UIDNEXT and
 * stops at the first missing UID (a stray file above a gap). Appends never
 * leave such gaps (append.c places in UID order); reconstruct adopts it. */
static int name_taken(const char *dst)
{
    return ls__err(LS_EEXIST, "%s already exists: a message file above UIDNEXT with no record "
                  "(run reconstruct on this mailbox to adopt it)", dst);
}

/* Copy src to dst through a temporary file (used when a link is impossible). */
static int copy_file(const char *src, const char *dst)
{
    char *buf;
    size_t len;
    struct stat st;
    int rc = read_regular(src, &buf, &len, &st);
    if (rc)
        return rc;
    char *tmp = ls__strprintf("%s.copy.%ld", dst, (long)getpid());
    rc = tmp ? write_new_file(tmp, buf, len, st.st_mtime, 1) : ls__err(LS_ENOMEM, "out of memory");
    free(buf);
    if (!rc && rename(tmp, dst) != 0) {
        rc = ls__err_errno(errno, "rename", dst);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* link(2) with the copy fallback of docs/contract.md §1.8. An existing destination (a
 * leftover of a crash that the caller decided to replace) is an error. */
static int link_or_copy(ls_layout *ly, const char *partition, const char *src, const char *dst)
{
    if (link(src, dst) == 0)
        return LS_OK;
    int e = errno;
    if (e == ENOENT && access(src, F_OK) == 0) {
        /* the mailbox directory is gone: recreate it, never lose mail; but
         * never in the mount point of a disk that has gone */
        int i = part_index(ly, partition);
        if (i >= 0 && part_verify(ly, i) != LS_OK)
            return LS_EUNAVAILABLE;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", dst);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            if (ls__mkdirs(dir) == LS_OK && link(src, dst) == 0)
                return LS_OK;
            e = errno;
        }
    }
    if (e == EMLINK || e == EXDEV || e == EPERM || e == ENOTSUP)
        return copy_file(src, dst);
    if (e == ENOENT && access(src, F_OK) != 0)
        return ls__err(LS_ENOTFOUND, "%s: source is gone", src);
    if (e == EEXIST)
        return name_taken(dst);
    return ls__err_errno(e, "link", dst);
}

/* linkat(fd, "", AT_EMPTY_PATH) names an unnamed inode with no path lookup,
 * but older kernels refuse it (ENOENT) without CAP_DAC_READ_SEARCH; the
 * /proc/self/fd route works for anyone but costs a walk through /proc. The
 * direct call is tried until /proc has succeeded where it failed. */
static int empty_path_refused;

/* One attempt to link fd as dst: 0, or -1 with errno. */
static int link_fd(int fd, const char *dst)
{
    if (!__atomic_load_n(&empty_path_refused, __ATOMIC_RELAXED)) {
        if (linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno != ENOENT && errno != EPERM)
            return -1;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) != 0)
        return -1;
    __atomic_store_n(&empty_path_refused, 1, __ATOMIC_RELAXED);
    return 0;
}

/* Give an unnamed staged inode a name; a copy where links are impossible. */
static int link_unnamed(ls_layout *ly, const char *partition, int fd, const char *dst)
{
    if (link_fd(fd, dst) == 0)
        return LS_OK;
    int e = errno;
    if (e == ENOENT) {
        /* the mailbox directory is gone: recreate it, lose nothing; but
         * never in the mount point of a disk that has gone */
        int i = part_index(ly, partition);
        if (i >= 0 && part_verify(ly, i) != LS_OK)
            return LS_EUNAVAILABLE;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", dst);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            if (ls__mkdirs(dir) == LS_OK && link_fd(fd, dst) == 0)
                return LS_OK;
            e = errno;
        }
    }
    if (e == EMLINK || e == EXDEV || e == EPERM || e == ENOTSUP || e == ENOENT) {
        /* copy the bytes under a temporary name, then rename (never half) */
        struct stat sb;
        if (fstat(fd, &sb) != 0)
            return ls__err_errno(errno, "stat", "staged message");
        char *buf = malloc((size_t)sb.st_size + 1);
        if (!buf)
            return ls__err(LS_ENOMEM, "out of memory");
        ssize_t got = pread(fd, buf, (size_t)sb.st_size, 0);
        int rc = got == sb.st_size ? LS_OK : ls__err_errno(got < 0 ? errno : EIO, "read", "staged message");
        char *tmp = rc ? NULL : ls__strprintf("%s.copy.%ld", dst, (long)getpid());
        if (!rc && !tmp)
            rc = ls__err(LS_ENOMEM, "out of memory");
        if (!rc)
            rc = write_new_file(tmp, buf, (size_t)sb.st_size, sb.st_mtime, 1);
        if (!rc && rename(tmp, dst) != 0) {
            rc = ls__err_errno(errno, "rename", dst);
            unlink(tmp);
        }
        free(tmp);
        free(buf);
        return rc;
    }
    if (e == EEXIST)
        return name_taken(dst);
    return ls__err_errno(e, "link", dst);
}

static int files_place(ls_layout *ly, ls_staged *st, const ls_mbref *mb, uint32_t uid)
{
    char *dst = msgpath(ly, mb, uid, 0);
    if (!dst)
        return ls_error_last_code();
    int rc = part_ok(ly, mb->partition);
    if (!rc)
        rc = st->fd >= 0 ? link_unnamed(ly, mb->partition, st->fd, dst)
                         : link_or_copy(ly, mb->partition, st->path, dst);
    free(dst);
    return rc;
}

static void files_unstage(ls_layout *ly, ls_staged *st)
{
    (void)ly;
    if (!st)
        return;
    if (st->fd >= 0) {
        close(st->fd); /* an inode never linked vanishes here */
        __atomic_sub_fetch(&unnamed_open, 1, __ATOMIC_RELAXED);
    } else {
        unlink(st->path);
    }
    free(st->path);
    free(st);
}

static int files_share(ls_layout *ly, const ls_mbref *src, uint32_t srcuid, const ls_mbref *dst, uint32_t dstuid)
{
    int rc = part_ok(ly, src->partition);
    if (!rc)
        rc = part_ok(ly, dst->partition);
    if (rc)
        return rc;
    char *s = msgpath(ly, src, srcuid, 0), *d = msgpath(ly, dst, dstuid, 0);
    struct stat sb;
    if (s && d && lstat(s, &sb) == 0 && !S_ISREG(sb.st_mode)) /* link(2) would link a symlink itself */
        rc = ls__err(LS_EIO, "%s is %s, not a message file (run reconstruct)", s, kind_name(kind_of(sb.st_mode)));
    else
        rc = s && d ? link_or_copy(ly, dst->partition, s, d) : ls_error_last_code();
    if (rc == LS_ENOTFOUND && s) {
        /* the source may be mid-expunge (renamed before its commit) */
        free(s);
        s = msgpath(ly, src, srcuid, 1);
        rc = s ? link_or_copy(ly, dst->partition, s, d) : ls_error_last_code();
        rc = part_lost(ly, src->partition, rc);
    }
    free(s);
    free(d);
    return rc;
}

static int files_unplace(ls_layout *ly, const ls_mbref *mb, uint32_t uid)
{
    char *p = msgpath(ly, mb, uid, 0);
    if (!p)
        return ls_error_last_code();
    int rc = unlink(p) == 0 || errno == ENOENT ? LS_OK : ls__err_errno(errno, "unlink", p);
    free(p);
    return rc;
}

static int files_sync_mailbox(ls_layout *ly, const ls_mbref *mb)
{
    char *d = mbdir(ly, mb);
    if (!d)
        return ls_error_last_code();
    int rc = part_lost(ly, mb->partition, ls__fsync_dir(d));
    free(d);
    return rc;
}

static int files_sync_partition(ls_layout *ly, const char *partition)
{
    const char *p = part_dir(ly, partition);
    if (!p)
        return ls__err(LS_ENOTFOUND, "partition '%s' is not configured", partition);
    int prc = part_ok(ly, partition);
    if (prc)
        return prc;
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ls__err_errno(errno, "open", p);
    int rc = syncfs(fd) == 0 ? LS_OK : ls__err_errno(errno, "syncfs", p);
    close(fd);
    return rc;
}

static int files_read(ls_layout *ly, const ls_mbref *mb, uint32_t uid, ls_blob *out)
{
    memset(out, 0, sizeof *out);
    int prc = part_ok(ly, mb->partition);
    if (prc)
        return prc;
    for (int expunged = 0; expunged < 2; expunged++) {
        char *p = msgpath(ly, mb, uid, expunged);
        if (!p)
            return ls_error_last_code();
        struct stat st;
        int fd = open_regular(p, &st);
        if (fd < 0) {
            int e = errno, rc;
            if (e == ENOENT && !expunged)
                rc = LS_OK; /* try the expunged name (an expunge in progress) */
            else if (not_regular_errno(e))
                rc = ls__err(LS_EIO, "message file of uid %u is not a regular file (%s; run reconstruct)", uid, p);
            else
                rc = ls__err_errno(e, "open message file", p);
            free(p);
            if (rc == LS_ENOTFOUND && part_lost(ly, mb->partition, rc) == LS_EUNAVAILABLE)
                return LS_EUNAVAILABLE;
            if (rc)
                return rc == LS_ENOTFOUND ? ls__err(LS_EIO, "message file of uid %u is missing (run reconstruct)", uid) : rc;
            continue;
        }
        int rc = LS_OK;
        if (st.st_size == 0) {
            out->data = "";
        } else {
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) {
                rc = ls__err_errno(errno, "mmap", p);
            } else {
                out->data = m;
                out->len = (size_t)st.st_size;
                out->priv = m;
            }
        }
        close(fd);
        free(p);
        return rc;
    }
    return ls__err(LS_EIO, "message file of uid %u is missing", uid);
}

static void files_blob_free(ls_layout *ly, ls_blob *b)
{
    (void)ly;
    if (b->priv)
        munmap(b->priv, b->len);
    memset(b, 0, sizeof *b);
}

static int files_message_path(ls_layout *ly, const ls_mbref *mb, uint32_t uid, char **out)
{
    *out = msgpath(ly, mb, uid, 0);
    return *out ? LS_OK : ls_error_last_code();
}

static int files_stat(ls_layout *ly, const ls_mbref *mb, uint32_t uid, ls_file_info *out)
{
    memset(out, 0, sizeof *out);
    for (int expunged = 0; expunged < 2; expunged++) {
        char *p = msgpath(ly, mb, uid, expunged);
        if (!p)
            return ls_error_last_code();
        struct stat st;
        int ok = lstat(p, &st) == 0, e = errno;
        free(p);
        if (ok) {
            out->uid = uid;
            out->expunged = expunged;
            out->kind = kind_of(st.st_mode);
            out->size = out->kind == LS_FILE_REGULAR ? (uint64_t)st.st_size : 0;
            out->mtime = st.st_mtime;
            out->ino = st.st_ino;
            out->nlink = st.st_nlink;
            return LS_OK;
        }
        if (e != ENOENT)
            return ls__err_errno(e, "stat", "message file");
    }
    /* no file: damage, or the whole partition gone */
    return part_lost(ly, mb->partition, ls__err(LS_ENOTFOUND, "message file of uid %u is missing", uid));
}

static int rename_msg(ls_layout *ly, const ls_mbref *mb, uint32_t uid, int to_expunged)
{
    int rc = part_ok(ly, mb->partition);
    if (rc)
        return rc;
    char *live = msgpath(ly, mb, uid, 0), *exp = msgpath(ly, mb, uid, 1);
    if (!live || !exp)
        rc = ls_error_last_code();
    else if (rename(to_expunged ? live : exp, to_expunged ? exp : live) != 0)
        rc = errno != ENOENT ? ls__err_errno(errno, "rename", live)
             : part_lost(ly, mb->partition, ls__err_errno(ENOENT, "rename", live)) == LS_EUNAVAILABLE ? LS_EUNAVAILABLE
                                                                                                  : LS_OK;
    free(live);
    free(exp);
    return rc;
}

static int files_mark_expunged(ls_layout *ly, const ls_mbref *mb, uint32_t uid)
{
    return rename_msg(ly, mb, uid, 1);
}

static int files_unmark_expunged(ls_layout *ly, const ls_mbref *mb, uint32_t uid)
{
    return rename_msg(ly, mb, uid, 0);
}

static int files_remove_expunged(ls_layout *ly, const ls_mbref *mb, uint32_t uid)
{
    char *p = msgpath(ly, mb, uid, 1);
    if (!p)
        return ls_error_last_code();
    int rc = unlink(p) == 0 ? LS_OK : ls__err_errno(errno, "unlink", p);
    /* gone already is done, unless the disk is what has gone: then the
     * removal must stay queued until it is back */
    if (rc == LS_ENOTFOUND)
        rc = part_lost(ly, mb->partition, rc) == LS_EUNAVAILABLE ? LS_EUNAVAILABLE : LS_OK;
    free(p);
    return rc;
}

/* Damaged objects go to PARTITION/damaged/UUID/, under their own name (or
 * NAME~1, NAME~2... if an earlier one took it): out of the uuid tree, so no
 * scan, read or rebuild (reconstruct -m) sees them, and out of the mailbox
 * directory, so that deleting the mailbox does not delete them either. The
 * administrator looks at them and removes them. */
static int files_set_aside(ls_layout *ly, const ls_mbref *mb, uint32_t uid, int expunged, int dryrun, char **where)
{
    *where = NULL;
    const char *p = part_dir(ly, mb->partition);
    char *src = msgpath(ly, mb, uid, expunged);
    char *dir = p ? ls__strprintf("%s/damaged/%s", p, mb->uuidstr) : NULL;
    int rc = LS_OK;
    if (!src || !dir) {
        rc = src ? ls__err(LS_ENOMEM, "out of memory") : ls_error_last_code();
        goto out;
    }
    for (int i = 0; i < 10000 && !*where; i++) {
        char *dst = i ? ls__strprintf("%s/%u.%s~%d", dir, uid, expunged ? "expunged" : "", i)
                      : ls__strprintf("%s/%u.%s", dir, uid, expunged ? "expunged" : "");
        struct stat sb;
        if (!dst) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            goto out;
        }
        if (lstat(dst, &sb) == 0) {
            free(dst);
            continue;
        }
        *where = dst;
    }
    if (!*where) {
        rc = ls__err(LS_EIO, "%s: no free name to set a damaged file aside", dir);
        goto out;
    }
    if (dryrun)
        goto out;
    if ((rc = ls__mkdirs(dir)))
        goto out;
    /* same file system (the partition): a rename, atomic, whatever it is */
    if (rename(src, *where) != 0)
        rc = ls__err_errno(errno, "rename", src);
    else if ((rc = ls__fsync_parent(src)) == LS_OK)
        rc = ls__fsync_parent(*where);
out:
    if (rc) {
        free(*where);
        *where = NULL;
    }
    free(src);
    free(dir);
    return rc;
}

/* Parse "123." or "123.expunged"; 0 if the name is not a message file. */
static int parse_name(const char *name, uint32_t *uid, int *expunged)
{
    char *end;
    if (name[0] < '1' || name[0] > '9')
        return 0;
    errno = 0;
    unsigned long v = strtoul(name, &end, 10);
    if (errno || v == 0 || v > UINT32_MAX || *end != '.')
        return 0;
    if (end[1] == 0)
        *expunged = 0;
    else if (!strcmp(end + 1, "expunged"))
        *expunged = 1;
    else
        return 0;
    *uid = (uint32_t)v;
    return 1;
}

static int files_scan(ls_layout *ly, const ls_mbref *mb, int (*cb)(const ls_file_info *fi, void *arg), void *arg)
{
    char *d = mbdir(ly, mb);
    if (!d)
        return ls_error_last_code();
    int prc = part_ok(ly, mb->partition);
    DIR *dir = prc ? NULL : opendir(d);
    if (!dir) {
        int rc = prc ? prc : part_lost(ly, mb->partition, ls__err_errno(errno, "opendir", d));
        free(d);
        return rc;
    }
    int dfd = dirfd(dir), rc = LS_OK;
    struct dirent *e;
    while ((e = readdir(dir))) {
        ls_file_info fi = { 0 };
        if (!parse_name(e->d_name, &fi.uid, &fi.expunged))
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        fi.kind = kind_of(st.st_mode);
        fi.size = fi.kind == LS_FILE_REGULAR ? (uint64_t)st.st_size : 0;
        fi.mtime = st.st_mtime;
        fi.ino = st.st_ino;
        fi.nlink = st.st_nlink;
        rc = cb(&fi, arg);
        if (rc)
            break;
    }
    closedir(dir);
    free(d);
    return rc;
}

static int files_cleanup_tmp(ls_layout *ly, int64_t max_age, uint64_t *removed)
{
    time_t now = time(NULL);
    for (size_t i = 0; i < ly->cfg->npartitions; i++) {
        if (!__atomic_load_n(&avail_of(ly)[i], __ATOMIC_ACQUIRE))
            continue; /* never delete anything in a partition that is not ours */
        char *t = ls__strprintf("%s/tmp", ly->cfg->partitions[i].path);
        DIR *dir = t ? opendir(t) : NULL;
        if (!dir) {
            free(t);
            continue;
        }
        struct dirent *e;
        while ((e = readdir(dir))) {
            struct stat st;
            if (e->d_name[0] == '.' || fstatat(dirfd(dir), e->d_name, &st, 0) != 0)
                continue;
            /* staged files carry the internal date as mtime: use ctime */
            if (now - st.st_ctime >= max_age && unlinkat(dirfd(dir), e->d_name, 0) == 0 && removed)
                (*removed)++;
        }
        closedir(dir);
        free(t);
    }
    return LS_OK;
}

const ls_layout_ops ls__layout_files = {
    .name = "files",
    .open = files_open,
    .close = files_close,
    .mailbox_init = files_mailbox_init,
    .mailbox_path = files_mailbox_path,
    .mailbox_destroy = files_mailbox_destroy,
    .header_write = files_header_write,
    .header_read = files_header_read,
    .stage = files_stage,
    .place = files_place,
    .unstage = files_unstage,
    .share = files_share,
    .unplace = files_unplace,
    .sync_mailbox = files_sync_mailbox,
    .sync_partition = files_sync_partition,
    .read = files_read,
    .blob_free = files_blob_free,
    .message_path = files_message_path,
    .stat = files_stat,
    .mark_expunged = files_mark_expunged,
    .unmark_expunged = files_unmark_expunged,
    .remove_expunged = files_remove_expunged,
    .scan = files_scan,
    .set_aside = files_set_aside,
    .cleanup_tmp = files_cleanup_tmp,
    .reserve_release = files_reserve_release,
    .reserve_refill = files_reserve_refill,
    .partition_check = files_partition_check,
};

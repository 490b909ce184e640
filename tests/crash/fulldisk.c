/*
 * fulldisk: docs/contract.md §2.5 (full disks): when a partition or the metadata disk is
 * full, appends fail with a clear error and nothing half-written stays;
 * expunge and delete still succeed (the store keeps a reserve).
 *
 * Needs root: the test enters a private mount namespace (so the mounts
 * vanish with it whatever happens) and mounts small tmpfs file systems.
 * Without the permission it says why and exits 77 (ctest: skipped).
 *
 * Part 1, the partition is full: partition-default on a 16 MiB tmpfs, the
 * configdirectory on the ordinary disk. Appends of 256 KiB, then 16 KiB,
 * then 1 KiB messages until each size fails. Every failure must be
 * LS_ENOSPC with a message saying so; no file may stay under a final name
 * (or anywhere on the partition) for a failed append; check is clean with
 * no notice; every acknowledged message is intact. Then on the full disk:
 * store \Deleted + expunge must succeed, deleting a mailbox must succeed,
 * cleanup must succeed and free the space, and an append must work again.
 *
 * Part 2, the metadata disk is full: configdirectory on a 16 MiB tmpfs,
 * the partition on the ordinary disk. Appends of messages with large
 * headers (large cache records), then small ones, until they fail: same
 * checks; then expunge, delete, cleanup and a new append must succeed.
 */
#include "testutil.h"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#define TMPFS_SIZE "16m"
#define MAX_MOUNTS 4

static char mounts[MAX_MOUNTS][4200];
static int nmounts;

static int listed;
static void list_tree(const char *dir, int depth)
{
    if (listed >= 80)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (++listed > 80) {
            fprintf(stderr, "    ...\n");
            break;
        }
        fprintf(stderr, "    %s%s (%lld bytes)\n", p, S_ISDIR(sb.st_mode) ? "/" : "", (long long)sb.st_size);
        if (S_ISDIR(sb.st_mode) && depth < 8)
            list_tree(p, depth + 1);
    }
    closedir(d);
}

static void unmount_all(void)
{
    for (int i = nmounts; i-- > 0;)
        if (umount2(mounts[i], MNT_DETACH) != 0)
            fprintf(stderr, "[fulldisk] umount %s: %s\n", mounts[i], strerror(errno));
    nmounts = 0;
}

/* On failure: show what is on the small file systems, which vanish with
 * the mount namespace. */
static void on_fail(void)
{
    for (int i = 0; i < nmounts; i++) {
        fprintf(stderr, "[fulldisk] contents of %s at the failure:\n", mounts[i]);
        list_tree(mounts[i], 0);
    }
    unmount_all();
}

static void skip(const char *why, int err)
{
    printf("fulldisk: SKIPPED: %s: %s (needs root: mount -t tmpfs in a private mount namespace)\n", why,
           strerror(err));
    fflush(NULL);
    exit(77);
}

static void mount_tmpfs(const char *dir)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        FAIL("mkdir %s: %s", dir, strerror(errno));
    if (mount("tmpfs", dir, "tmpfs", 0, "size=" TMPFS_SIZE ",mode=0750") != 0) {
        int e = errno;
        if (nmounts == 0 && (e == EPERM || e == EACCES))
            skip("mount -t tmpfs", e);
        FAIL("mount -t tmpfs -o size=%s tmpfs %s: %s", TMPFS_SIZE, dir, strerror(e));
    }
    snprintf(mounts[nmounts++], sizeof mounts[0], "%s", dir);
}

static long long free_bytes(const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        FAIL("statvfs %s: %s", dir, strerror(errno));
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

/* ------------------------------------------------------------------ */

typedef struct acked { uint32_t uid; uint64_t seed; } acked;
typedef struct box {
    const char *name;
    ls_mailbox *mb;
    int deleted;             /* the mailbox was deleted */
    acked *v;
    size_t n, cap;
} box;

static void box_add(box *b, uint32_t uid, uint64_t seed)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->v = realloc(b->v, b->cap * sizeof *b->v);
        if (!b->v)
            FAIL("out of memory");
    }
    b->v[b->n++] = (acked){ uid, seed };
}

static uint64_t next_seed = 1;

/* A broken guarantee that does not stop the rest of the scenario: logged,
 * counted, and the test fails at the end (so one run shows all of them). */
static int ndefects;
static __attribute__((format(printf, 1, 2))) void defect(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ndefects++;
    tu_log("DEFECT: %s", buf);
}

/* A message of about `size` bytes; with `refs` > 0, a References header of
 * that many message-ids in front (a large cache record). */
static char *make_msg(uint64_t seed, size_t size, size_t refs, size_t *len)
{
    size_t blen;
    char *body = tu_msg_make(seed, size, &blen);
    if (!refs) {
        *len = blen;
        return body;
    }
    char *m = malloc(blen + refs * 64 + 32);
    size_t o = (size_t)sprintf(m, "References:");
    tu_rng r = tu_rng_make(seed, 3);
    for (size_t i = 0; i < refs; i++)
        o += (size_t)sprintf(m + o, " <%016" PRIx64 "%016" PRIx64 "@refs.example>\r\n", tu_next(&r), tu_next(&r));
    memcpy(m + o, body, blen);
    free(body);
    *len = o + blen;
    return m;
}

static int msg_ok(const char *data, size_t len, uint64_t seed, size_t refs_hint)
{
    (void)refs_hint;
    /* the test message proper follows any References header */
    const char *p = strstr(data, "From: Sender ");
    if (!p)
        return 0;
    uint64_t s;
    return tu_msg_verify(p, len - (size_t)(p - data), &s) == NULL && s == seed;
}

/* Append messages of `size` (and `refs`) until an append fails; the failure
 * must be LS_ENOSPC with a clear message. Returns the number appended. */
static size_t fill(box *b, size_t size, size_t refs, const char *what, size_t max)
{
    size_t n = 0;
    for (;;) {
        uint64_t seed = next_seed++;
        size_t len;
        char *msg = make_msg(seed, size, refs, &len);
        uint32_t uid = 0;
        int rc = ls_message_append(b->mb, msg, len, NULL, &uid);
        free(msg);
        if (rc == LS_OK) {
            box_add(b, uid, seed);
            n++;
            if (n > max)
                FAIL("%s: %zu appends of %zu bytes succeeded: the disk never filled up", what, n, size);
            continue;
        }
        const char *m = ls_error_last();
        tu_log("%s: %zu appends of %zu bytes, then %d (%s): %s", what, n, len, rc, ls_error_string(rc), m);
        if (rc != LS_ENOSPC)
            defect("%s: an append of %zu bytes on the full disk failed with %d (%s) instead of LS_ENOSPC: '%s'", what,
                   len, rc, ls_error_string(rc), m);
        else if (!m[0] || !(strcasestr(m, "space") || strcasestr(m, "full")))
            defect("%s: an append failed with LS_ENOSPC but the message does not say the disk is full: '%s'", what,
                   m);
        return n;
    }
}

/* Every acknowledged message of b is there and intact; nothing else. */
static void verify_box(box *b, const char *what)
{
    uint32_t *uids;
    size_t n;
    CHECK_LS(ls_message_uids(b->mb, &uids, &n));
    size_t live = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].uid)
            live++;
    if (n != live)
        FAIL("%s: %s holds %zu messages, %zu were acknowledged (and not expunged)", what, b->name, n, live);
    for (size_t i = 0; i < b->n; i++) {
        if (!b->v[i].uid)
            continue;
        char *data;
        size_t len;
        int rc = ls_message_fetch(b->mb, b->v[i].uid, "", 0, UINT64_MAX, &data, &len);
        if (rc)
            FAIL("%s: %s uid %u: fetch failed with %d (%s): %s", what, b->name, b->v[i].uid, rc, ls_error_string(rc),
                 ls_error_last());
        if (!msg_ok(data, len, b->v[i].seed, 0))
            FAIL("%s: %s uid %u: content is not seed %" PRIu64 "'s", what, b->name, b->v[i].uid, b->v[i].seed);
        ls_free(data);
    }
    ls_free(uids);
    tu_check_counters(b->mb, what);
}

/* No file on the partition except the acknowledged messages' files under
 * their final names, expunged files awaiting cleanup, and store.header. */
typedef struct scan_ctx { box *boxes; int nboxes; const char *what; int expunged_ok; } scan_ctx;
static void scan_partition(const char *dir, scan_ctx *c, const char *mbdirs[], int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        FAIL("opendir %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 8)
                scan_partition(p, c, mbdirs, depth + 1);
            continue;
        }
        int bi = -1;
        for (int i = 0; i < c->nboxes; i++)
            if (mbdirs[i] && !strcmp(dir, mbdirs[i]))
                bi = i;
        if (bi >= 0 && !strcmp(e->d_name, "store.header"))
            continue;
        if (depth == 0 && !strcmp(e->d_name, "reserve"))
            continue; /* the partition's reserve for cleanup (layout/files.c) */
        if (depth == 0 && !strcmp(e->d_name, "libstore.id"))
            continue; /* the store's identity marker (core/identity.h) */
        char *end;
        unsigned long uid = strtoul(e->d_name, &end, 10);
        if (bi >= 0 && uid && end[0] == '.' && (end[1] == 0 || (c->expunged_ok && !strcmp(end + 1, "expunged")))) {
            int known = end[1] != 0;
            for (size_t i = 0; i < c->boxes[bi].n && !known; i++)
                known = c->boxes[bi].v[i].uid == uid;
            if (known)
                continue;
            FAIL("%s: %s: a message file (%lld bytes) under a final name that no acknowledged append has "
                 "(left by a failed append?)",
                 c->what, p, (long long)sb.st_size);
        }
        FAIL("%s: %s: a file (%lld bytes) that is no message of an acknowledged append (left half-written?)",
             c->what, p, (long long)sb.st_size);
    }
    closedir(d);
}

static void no_leftovers(ls_session *s, const char *partition, box *boxes, int nboxes, const char *what,
                         int expunged_ok)
{
    const char *mbdirs[4] = { 0 };
    for (int i = 0; i < nboxes; i++)
        if (!boxes[i].deleted)
            CHECK_LS(ls_mailbox_path(s, boxes[i].name, (char **)&mbdirs[i]));
    scan_ctx c = { boxes, nboxes, what, expunged_ok };
    scan_partition(partition, &c, mbdirs, 0);
    for (int i = 0; i < nboxes; i++)
        ls_free((void *)mbdirs[i]);
}

/* Expunge the messages of b at even positions (k of them), or only those
 * in `only` when given, on the full disk; a failure is a defect. */
static void expunge_some(box *b, const uint32_t *only, size_t nonly, int set_deleted, const char *what)
{
    size_t k = 0;
    ls_range *r = calloc(b->n + 1, sizeof *r);
    if (only)
        for (size_t i = 0; i < nonly; i++)
            r[k++] = (ls_range){ only[i], only[i] };
    else
        for (size_t i = 0; i < b->n; i += 2)
            if (b->v[i].uid)
                r[k++] = (ls_range){ b->v[i].uid, b->v[i].uid };
    ls_set set = { r, k }, got;
    if (set_deleted) {
        int rc = ls_message_store(b->mb, &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL);
        if (rc) {
            defect("%s: STORE +FLAGS \\Deleted on %zu messages failed with %d (%s): '%s' (so nothing more can be "
                   "expunged to make room)",
                   what, k, rc, ls_error_string(rc), ls_error_last());
            free(r);
            return;
        }
    }
    int rc = ls_message_expunge(b->mb, &set, &got);
    if (rc) {
        defect("%s: expunge of %zu \\Deleted messages failed with %d (%s): '%s'", what, k, rc, ls_error_string(rc),
               ls_error_last());
        free(r);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < got.n; i++)
        n += got.r[i].hi - got.r[i].lo + 1;
    CHECK(n == k, "%s: expunge reported %zu messages, expected %zu", what, n, k);
    ls_set_dispose(&got);
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < b->n; i++)
            if (b->v[i].uid == r[j].lo)
                b->v[i].uid = 0;
    free(r);
    tu_log("%s: expunged %zu messages", what, k);
}

static void run_part(const char *label, int meta_full)
{
    char base[4200], cdir[4300], sdir[4300], what[128];
    snprintf(base, sizeof base, "%s/%s", tu_dir, label);
    snprintf(cdir, sizeof cdir, "%s/config", base);
    snprintf(sdir, sizeof sdir, "%s/spool", base);
    if (mkdir(base, 0750) != 0)
        FAIL("mkdir %s: %s", base, strerror(errno));
    mount_tmpfs(meta_full ? cdir : sdir);
    const char *conf = tu_write_conf(base, cdir, sdir, "");
    char confpath[4400];
    snprintf(confpath, sizeof confpath, "%s", conf);
    const char *small = meta_full ? cdir : sdir;

    ls_store *st;
    ls_session *s;
    CHECK_LS(ls_store_open(confpath, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    box boxes[2] = { { .name = "user.full" }, { .name = "user.full.other" } };
    for (int i = 0; i < 2; i++) {
        CHECK_LS(ls_mailbox_create(s, boxes[i].name, NULL));
        CHECK_LS(ls_mailbox_open(s, boxes[i].name, LS_MAILBOX_OPEN_RDWR, &boxes[i].mb));
    }
    tu_log("%s: %lld bytes free on %s after creating the store", label, free_bytes(small), small);
    /* some messages in the mailbox that will be deleted, and some already
     * \\Deleted ones to expunge */
    uint32_t predeleted[10];
    for (int i = 0; i < 15; i++) {
        size_t len;
        uint64_t seed = next_seed++;
        char *msg = make_msg(seed, 2000, meta_full ? 50 : 0, &len);
        uint32_t uid;
        ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = i < 10 ? LS_FLAG_DELETED : 0 };
        box *b = &boxes[i < 10 ? 0 : 1];
        CHECK_LS(ls_message_append(b->mb, msg, len, &o, &uid));
        box_add(b, uid, seed);
        if (i < 10)
            predeleted[i] = uid;
        free(msg);
    }
    /* fill it up */
    snprintf(what, sizeof what, "%s, filling", label);
    if (meta_full) {
        fill(&boxes[0], 300, 600, what, 100000);
        fill(&boxes[0], 300, 40, what, 100000);
        fill(&boxes[0], 100, 0, what, 100000);
    } else {
        fill(&boxes[0], 256 * 1024, 0, what, 1000);
        fill(&boxes[0], 16 * 1024, 0, what, 10000);
        fill(&boxes[0], 1024, 0, what, 100000);
    }
    tu_log("%s: %lld bytes free on %s", label, free_bytes(small), small);
    snprintf(what, sizeof what, "%s, disk full", label);
    /* nothing half-written, everything acknowledged intact */
    uint64_t notices = tu_check_clean(st, what, 1);
    CHECK(notices == 0, "%s: check reports %" PRIu64 " notice(s) (listed above): failed appends left something",
          what, notices);
    for (int i = 0; i < 2; i++)
        verify_box(&boxes[i], what);
    no_leftovers(s, sdir, boxes, 2, what, 0);

    int defects_before = ndefects;
    /* expunge must still work on the full disk: messages that were
     * \\Deleted before, then STORE \\Deleted + EXPUNGE */
    snprintf(what, sizeof what, "%s, expunge on the full disk", label);
    expunge_some(&boxes[0], predeleted, 10, 0, what);
    snprintf(what, sizeof what, "%s, store \\Deleted and expunge on the full disk", label);
    expunge_some(&boxes[0], NULL, 0, 1, what);
    tu_check_clean(st, what, 0);
    verify_box(&boxes[0], what);

    /* cleanup must free the space */
    snprintf(what, sizeof what, "%s, cleanup on the full disk", label);
    long long before = free_bytes(sdir);
    uint64_t removed = 0;
    int rc = ls_store_cleanup(st, 0, &removed);
    if (rc)
        defect("%s: ls_store_cleanup failed with %d (%s): '%s' (the space of expunged messages cannot be "
               "reclaimed)",
               what, rc, ls_error_string(rc), ls_error_last());
    tu_log("%s: cleanup removed %" PRIu64 " files; the partition went from %lld to %lld bytes free", label, removed,
           before, free_bytes(sdir));
    if (!rc && !meta_full && free_bytes(sdir) <= before)
        defect("%s: cleanup freed no space on the partition (%lld bytes free before and after)", what, before);
    tu_check_clean(st, what, 0);
    verify_box(&boxes[0], what);

    /* full again; then delete must still work */
    snprintf(what, sizeof what, "%s, filling again", label);
    if (meta_full) {
        fill(&boxes[0], 300, 600, what, 100000);
        fill(&boxes[0], 300, 40, what, 100000);
    } else {
        fill(&boxes[0], 16 * 1024, 0, what, 10000);
    }
    fill(&boxes[0], 100, 0, what, 100000);
    snprintf(what, sizeof what, "%s, full again", label);
    notices = tu_check_clean(st, what, 0);
    no_leftovers(s, sdir, boxes, 2, what, 1);
    snprintf(what, sizeof what, "%s, delete on the full disk", label);
    ls_mailbox_close(boxes[1].mb);
    boxes[1].mb = NULL;
    rc = ls_mailbox_delete(s, boxes[1].name);
    if (rc) {
        defect("%s: ls_mailbox_delete(%s) failed with %d (%s): '%s'", what, boxes[1].name, rc, ls_error_string(rc),
               ls_error_last());
        CHECK_LS(ls_mailbox_open(s, boxes[1].name, LS_MAILBOX_OPEN_RDWR, &boxes[1].mb));
        verify_box(&boxes[1], what);
        ls_mailbox_close(boxes[1].mb);
        boxes[1].mb = NULL;
    } else {
        ls_status stt;
        rc = ls_mailbox_status(s, boxes[1].name, &stt);
        CHECK(rc == LS_ENOTFOUND, "%s: %s still answers STATUS (%d) after its deletion", what, boxes[1].name, rc);
        boxes[1].n = 0;
        boxes[1].deleted = 1;
    }
    tu_check_clean(st, what, 0);
    verify_box(&boxes[0], what);
    snprintf(what, sizeof what, "%s, expunge on the full disk again", label);
    expunge_some(&boxes[0], NULL, 0, 1, what);
    snprintf(what, sizeof what, "%s, cleanup", label);
    rc = ls_store_cleanup(st, 0, &removed);
    if (rc)
        defect("%s: ls_store_cleanup failed with %d (%s): '%s'", what, rc, ls_error_string(rc), ls_error_last());

    /* appends work again once there is room */
    snprintf(what, sizeof what, "%s, after expunge, delete and cleanup", label);
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint64_t seed = next_seed++;
        char *msg = make_msg(seed, 1000, 0, &len);
        uint32_t uid;
        rc = ls_message_append(boxes[0].mb, msg, len, NULL, &uid);
        free(msg);
        if (rc && ndefects != defects_before) {
            tu_log("%s: appends still fail (%s), as nothing could be reclaimed", what, ls_error_last());
            break;
        }
        if (rc) {
            defect("%s (%lld bytes free): an append failed with %d (%s): '%s'", what, free_bytes(small), rc,
                   ls_error_string(rc), ls_error_last());
            break;
        }
        box_add(&boxes[0], uid, seed);
    }
    notices = tu_check_clean(st, what, 1);
    verify_box(&boxes[0], what);
    no_leftovers(s, sdir, boxes, 2, what, 1);
    ls_mailbox_close(boxes[0].mb);
    free(boxes[0].v);
    free(boxes[1].v);
    ls_session_free(s);
    ls_store_close(st);
    unmount_all();
}

int main(void)
{
    tu_begin("fulldisk");
    tu_seed(1);
    if (unshare(CLONE_NEWNS) != 0)
        skip("unshare(CLONE_NEWNS)", errno);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        skip("making / private in the new mount namespace", errno);
    tu_on_fail = on_fail;
    atexit(unmount_all);
    run_part("partition", 0);
    run_part("metadata", 1);
    if (ndefects)
        FAIL("%d broken guarantee(s) of docs/contract.md §2.5, full disks (each logged above as DEFECT)", ndefects);
    printf("fulldisk: OK\n");
    return 0;
}

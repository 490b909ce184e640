/*
 * Workloads of the repair tools (docs/contract.md §4): reconstruct and quota -f, on an
 * intact 10k-message mailbox (small: 1k), so that they measure the cost of
 * a verification pass (what an administrator runs after a crash). Same
 * conventions as wl_append.c: ABBA runs, medians.
 */
#include "wl.h"
#include "libstore/quota.h"
#include "libstore/repair.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct repair_box {
    bstore b;
    ls_mailbox *mb;
    char *dir;       /* the mailbox's directory (ls_mailbox_path) */
    size_t n;
} repair_box;

static int repair_box_make(bench_ctx *c, const char *name, uint64_t seed, repair_box *rb, result *r)
{
    memset(rb, 0, sizeof *rb);
    rb->n = c->full ? 10000 : 1000;
    if (bstore_create(c, name, &rb->b, r) || mbox_create_open(&rb->b, "user.src", &rb->mb, r))
        return -1;
    msggen g;
    msggen_init(&g, seed);
    if (mbox_fill(rb->mb, &g, rb->n, r))
        return -1;
    int rc = ls_mailbox_path(rb->b.s, "user.src", &rb->dir);
    return rc ? fail_ls(r, rc, "ls_mailbox_path") : 0;
}

static void repair_box_free(bench_ctx *c, repair_box *rb)
{
    ls_free(rb->dir);
    if (rb->mb)
        ls_mailbox_close(rb->mb);
    bstore_destroy(c, &rb->b);
}

static void count_line(const char *line, void *arg)
{
    size_t *n = arg;
    if (*n < 3)
        progress("report: %s", line);
    (*n)++;
}

/* readdir + stat of every message file: the least a check of records
 * against files must do. Returns the number of message files, or -1. */
static long scan_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    struct stat st;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            n++;
    }
    closedir(d);
    return n;
}

/* ============================================================ reconstruct */

int wl_reconstruct(bench_ctx *c, result *r)
{
    r->baseline = "readdir + stat of every file of the mailbox directory (the least a records-vs-files check does)";
    r->target_kind = "";
    repair_box rb;
    int ret = -1;
    size_t lines = 0;
    if (repair_box_make(c, "reconstruct", 8, &rb, r))
        goto out;
    r->n = rb.n;
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            double t0 = now_s();
            if (ours) {
                int rc = ls_repair_reconstruct(rb.b.st, "user.src", 0, NULL, count_line, &lines);
                if (rc) {
                    fail_ls(r, rc, "ls_repair_reconstruct");
                    goto out;
                }
            } else {
                long got = scan_dir(rb.dir);
                if (got != (long)rb.n) {
                    snprintf(r->error, sizeof r->error, "%s holds %ld message files, expected %zu", rb.dir, got,
                             rb.n);
                    goto out;
                }
            }
            (ours ? r->ours : r->base)[i] = (double)rb.n / (now_s() - t0);
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    /* an intact mailbox: reconstruct must report nothing */
    extra_int(r, "report_lines", (long long)lines);
    if (lines) {
        snprintf(r->error, sizeof r->error, "reconstruct reported %zu changes on an intact mailbox", lines);
        goto out;
    }
    ret = 0;
out:
    repair_box_free(c, &rb);
    return ret;
}

/* ============================================================ quota_fix */

static int sum_sizes(const ls_record *rec, const ls_cached *cache, void *arg)
{
    (void)cache;
    uint64_t *sum = arg;
    *sum += rec->size;
    return 0;
}

int wl_quota_fix(bench_ctx *c, result *r)
{
    r->baseline = "ls_message_foreach LS_MESSAGE_FETCH_RECORD summing the sizes of the same records";
    r->target_kind = "";
    repair_box rb;
    int ret = -1;
    size_t lines = 0;
    if (repair_box_make(c, "quota", 9, &rb, r))
        goto out;
    r->n = rb.n;
    int64_t limits[LS_QUOTA_NRESOURCES] = { 10 * 1024 * 1024, 1000000, LS_QUOTA_UNLIMITED };
    int rc = ls_quota_set(rb.b.s, "user.src", limits);
    if (rc) {
        fail_ls(r, rc, "ls_quota_set");
        goto out;
    }
    uint64_t sum = 0;
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            double t0 = now_s();
            if (ours) {
                if ((rc = ls_repair_quota_fix(rb.b.st, NULL, 0, count_line, &lines))) {
                    fail_ls(r, rc, "ls_repair_quota_fix");
                    goto out;
                }
            } else {
                sum = 0;
                if ((rc = ls_message_foreach(rb.mb, NULL, LS_MESSAGE_FETCH_RECORD, sum_sizes, &sum))) {
                    fail_ls(r, rc, "ls_message_foreach");
                    goto out;
                }
            }
            (ours ? r->ours : r->base)[i] = (double)rb.n / (now_s() - t0);
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    ls_quota q;
    if ((rc = ls_quota_get(rb.b.s, "user.src", &q))) {
        fail_ls(r, rc, "ls_quota_get");
        goto out;
    }
    extra_int(r, "report_lines", (long long)lines);
    extra_int(r, "usage_messages", (long long)q.usage[LS_QUOTA_MESSAGE]);
    if (lines || q.usage[LS_QUOTA_MESSAGE] != rb.n || (sum && q.usage[LS_QUOTA_STORAGE] != sum)) {
        snprintf(r->error, sizeof r->error,
                 "quota -f on a correct store: %zu report lines, usage %llu messages / %llu bytes, records say "
                 "%zu / %llu",
                 lines, (unsigned long long)q.usage[LS_QUOTA_MESSAGE], (unsigned long long)q.usage[LS_QUOTA_STORAGE],
                 rb.n, (unsigned long long)sum);
        goto out;
    }
    ret = 0;
out:
    repair_box_free(c, &rb);
    return ret;
}

/*
 * Workloads on existing messages: status, fetch_envelope, store_flags
 * (these three share one big mailbox, built once), search_header, copy,
 * expunge. Same conventions as wl_append.c.
 */
#include "wl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ============================================================ the big mailbox */

static bigbox big;

int bigbox_get(bench_ctx *c, bigbox **out, result *r)
{
    if (big.ready) {
        *out = &big;
        return 0;
    }
    size_t n = c->full ? 100000 : 1000;
    const char *saved = r->workload;
    if (bstore_create(c, "big", &big.b, r))
        return -1;
    double t0 = now_s();
    progress("%s: building the shared %zu-message mailbox (not timed)", r->workload, n);
    if (mbox_create_open(&big.b, "user.big", &big.mb, r) || mbox_create_open(&big.b, "user.one", &big.one, r))
        goto fail;
    msggen g;
    msggen_init(&g, 4);
    if (mbox_fill(big.mb, &g, n, r) || mbox_fill(big.one, &g, 1, r))
        goto fail;
    big.n = n;
    big.build_s = now_s() - t0;
    big.ready = 1;
    r->workload = saved;
    *out = &big;
    return 0;
fail:
    bigbox_release(c);
    return -1;
}

void bigbox_release(bench_ctx *c)
{
    if (big.mb)
        ls_mailbox_close(big.mb);
    if (big.one)
        ls_mailbox_close(big.one);
    big.mb = big.one = NULL;
    if (big.b.dir[0])
        bstore_destroy(c, &big.b);
    memset(&big, 0, sizeof big);
}

/* ============================================================ status */

int wl_status(bench_ctx *c, result *r)
{
    bigbox *bb;
    if (bigbox_get(c, &bb, r))
        return -1;
    size_t calls = c->full ? 1000000 : 20000;
    r->n = calls;
    r->unit = "calls";
    r->baseline = "ls_mailbox_status on a 1-message mailbox";
    r->target_kind = "us_per_op<";
    r->target = 10;
    ls_status st;
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            const char *name = ours ? "user.big" : "user.one";
            double t0 = now_s();
            for (size_t j = 0; j < calls; j++) {
                int rc = ls_mailbox_status(bb->b.s, name, &st);
                if (rc)
                    return fail_ls(r, rc, "ls_mailbox_status");
            }
            double dt = now_s() - t0;
            (ours ? r->ours : r->base)[i] = (double)calls / dt;
            size_t want = ours ? bb->n : 1;
            if (st.messages != want) {
                snprintf(r->error, sizeof r->error, "status of %s says %u messages, expected %zu", name,
                         st.messages, want);
                return -1;
            }
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "mailbox_messages", (long long)bb->n);
    return 0;
}

/* ============================================================ fetch_envelope */

typedef struct fetch_acc {
    uint64_t n, bytes, missing, sum;
} fetch_acc;

static int fetch_cb(const ls_record *rec, const ls_cached *cache, void *arg)
{
    fetch_acc *a = arg;
    a->n++;
    a->sum += rec->uid;
    if (cache) {
        if (!cache->envelope || cache->envelope_len < 2 || cache->envelope[0] != '(') {
            a->missing++;
        } else {
            /* touch the strings as a server would when writing them out */
            a->bytes += cache->envelope_len + cache->bodystructure_len;
            a->sum += (unsigned char)cache->envelope[cache->envelope_len - 1];
            if (cache->bodystructure_len)
                a->sum += (unsigned char)cache->bodystructure[cache->bodystructure_len - 1];
        }
    }
    return 0;
}

int wl_fetch_envelope(bench_ctx *c, result *r)
{
    bigbox *bb;
    if (bigbox_get(c, &bb, r))
        return -1;
    r->n = bb->n;
    r->unit = "envelopes";
    r->baseline = "the same ls_message_foreach with LS_MESSAGE_FETCH_RECORD only (ratio = cost of the cache)";
    r->target_kind = "ops_per_s>=";
    r->target = 1e6;
    int passes = c->full ? 3 : 20; /* foreach passes per run, so that a run lasts long enough */
    fetch_acc acc = { 0 };
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            memset(&acc, 0, sizeof acc);
            double t0 = now_s();
            for (int p = 0; p < passes; p++) {
                int rc = ls_message_foreach(bb->mb, NULL, ours ? LS_MESSAGE_FETCH_CACHE : LS_MESSAGE_FETCH_RECORD, fetch_cb, &acc);
                if (rc)
                    return fail_ls(r, rc, "ls_message_foreach");
            }
            double dt = now_s() - t0;
            if (acc.n != bb->n * (uint64_t)passes) {
                snprintf(r->error, sizeof r->error, "ls_message_foreach visited %llu records, expected %zu",
                         (unsigned long long)acc.n, bb->n * (size_t)passes);
                return -1;
            }
            if (ours && acc.missing) {
                snprintf(r->error, sizeof r->error, "%llu records without an ENVELOPE in the cache",
                         (unsigned long long)acc.missing);
                return -1;
            }
            (ours ? r->ours : r->base)[i] = (double)acc.n / dt;
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "mailbox_messages", (long long)bb->n);
    extra_int(r, "passes_per_run", passes);
    return 0;
}

/* ============================================================ store_flags */

int wl_store_flags(bench_ctx *c, result *r)
{
    bigbox *bb;
    if (bigbox_get(c, &bb, r))
        return -1;
    r->n = bb->n;
    r->unit = "records";
    r->baseline = "the same ls_message_store LS_MESSAGE_STORE_ADD of a flag already set (no change)";
    r->target_kind = "ops_per_s>=";
    r->target = 5e5;
    ls_set all;
    int rc = ls_set_parse("1:*", &all);
    if (rc)
        return fail_ls(r, rc, "ls_set_parse");
    int ret = -1;
    ls_status st;
    for (int i = 0; i < c->runs; i++) {
        /* even runs: clear, ours, baseline; odd runs: baseline, clear, ours */
        for (int step = 0; step < 3; step++) {
            int what = OURS_FIRST(i) ? step : (step + 2) % 3; /* 0 clear, 1 ours, 2 baseline */
            if ((what != 2 && SKIP(c, 1)) || (what == 2 && SKIP(c, 0))) /* clearing goes with ours */
                continue;
            double t0 = now_s();
            rc = ls_message_store(bb->mb, &all, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = what == 0 ? LS_MESSAGE_STORE_REMOVE : LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_FLAGGED }, NULL);
            double dt = now_s() - t0;
            if (rc) {
                fail_ls(r, rc, "ls_message_store");
                goto out;
            }
            if (what == 0)
                continue;
            (what == 1 ? r->ours : r->base)[i] = (double)bb->n / dt;
            if ((rc = ls_mailbox_status_open(bb->mb, &st))) {
                fail_ls(r, rc, "ls_mailbox_status_open");
                goto out;
            }
            if (st.flagged != bb->n) {
                snprintf(r->error, sizeof r->error, "after +FLAGS \\Flagged status says %u flagged of %zu",
                         st.flagged, bb->n);
                goto out;
            }
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "mailbox_messages", (long long)bb->n);
    ret = 0;
out:
    ls_set_dispose(&all);
    return ret;
}

/* ============================================================ search_header */

int wl_search_header(bench_ctx *c, result *r)
{
    size_t n = c->full ? 10000 : 1000;
    r->n = n;
    r->baseline = "ls_message_search ALL over the same mailbox";
    r->target_kind = "";
    bstore b;
    ls_mailbox *mb = NULL;
    int ret = -1;
    if (bstore_create(c, "search", &b, r))
        return -1;
    if (mbox_create_open(&b, "user.search", &mb, r))
        goto out;
    msggen g;
    msggen_init(&g, 5);
    if (mbox_fill(mb, &g, n, r))
        goto out;
    const char *q_from[] = { "FROM", msggen_search_from };
    const char *q_subj[] = { "SUBJECT", msggen_search_subject };
    const char *q_all[] = { "ALL" };
    size_t hits_from = 0, hits_subj = 0, hits_all = 0;
    int reps = c->full ? 3 : 5;
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            double t0 = now_s();
            for (int rep = 0; rep < reps; rep++) {
                for (int q = 0; q < 2; q++) {
                    uint32_t *uids = NULL;
                    size_t nu = 0;
                    const char *const *argv = ours ? (q ? q_subj : q_from) : q_all;
                    int rc = ls_message_search(mb, ours ? 2 : 1, argv, &uids, &nu);
                    if (rc) {
                        fail_ls(r, rc, "ls_message_search");
                        goto out;
                    }
                    ls_free(uids);
                    if (!ours)
                        hits_all = nu;
                    else if (q)
                        hits_subj = nu;
                    else
                        hits_from = nu;
                }
            }
            double dt = now_s() - t0;
            (ours ? r->ours : r->base)[i] = (double)(n * 2 * (size_t)reps) / dt;
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    if ((hits_all != n && c->only != 1) || hits_from == 0 || hits_from == n || hits_subj == 0 || hits_subj == n) {
        snprintf(r->error, sizeof r->error, "implausible search results: ALL %zu of %zu, FROM %s %zu, SUBJECT %s %zu",
                 hits_all, n, msggen_search_from, hits_from, msggen_search_subject, hits_subj);
        goto out;
    }
    extra_str(r, "queries", "FROM bovik; SUBJECT quarterly (each counts n messages)");
    extra_int(r, "hits_from", (long long)hits_from);
    extra_int(r, "hits_subject", (long long)hits_subj);
    ret = 0;
out:
    if (mb)
        ls_mailbox_close(mb);
    bstore_destroy(c, &b);
    return ret;
}

/* ============================================================ copy, expunge */

/* A store with user.src holding n messages, and the paths of its files. */
typedef struct srcbox {
    bstore b;
    ls_mailbox *mb;
    char **paths;
    uint32_t *uids;
    size_t n;
} srcbox;

static int srcbox_make(bench_ctx *c, const char *name, size_t n, uint64_t seed, srcbox *sb, result *r)
{
    memset(sb, 0, sizeof *sb);
    if (bstore_create(c, name, &sb->b, r))
        return -1;
    if (mbox_create_open(&sb->b, "user.src", &sb->mb, r))
        return -1;
    msggen g;
    msggen_init(&g, seed);
    if (mbox_fill(sb->mb, &g, n, r))
        return -1;
    size_t nu;
    int rc = ls_message_uids(sb->mb, &sb->uids, &nu);
    if (rc)
        return fail_ls(r, rc, "ls_message_uids");
    if (nu != n) {
        snprintf(r->error, sizeof r->error, "user.src has %zu messages, expected %zu", nu, n);
        return -1;
    }
    sb->paths = calloc(n, sizeof *sb->paths);
    if (!sb->paths) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    sb->n = n;
    for (size_t i = 0; i < n; i++)
        if ((rc = ls_message_path(sb->mb, sb->uids[i], &sb->paths[i])))
            return fail_ls(r, rc, "ls_message_path");
    return 0;
}

static void srcbox_free(bench_ctx *c, srcbox *sb)
{
    if (sb->paths)
        for (size_t i = 0; i < sb->n; i++)
            ls_free(sb->paths[i]);
    free(sb->paths);
    ls_free(sb->uids);
    if (sb->mb)
        ls_mailbox_close(sb->mb);
    bstore_destroy(c, &sb->b);
}

/* link every source file into a new plain directory */
static int link_all(const srcbox *sb, const char *dir, result *r)
{
    if (mkdir_p(dir))
        return fail_errno(r, "mkdir", dir);
    char dst[4400];
    for (size_t j = 0; j < sb->n; j++) {
        snprintf(dst, sizeof dst, "%s/%u.", dir, sb->uids[j]);
        if (link(sb->paths[j], dst) != 0)
            return fail_errno(r, "link", dst);
    }
    return 0;
}

int wl_copy(bench_ctx *c, result *r)
{
    size_t n = c->full ? 10000 : 1000;
    r->n = n;
    r->baseline = "link(2) of the same files into a new plain directory, then fsync of the directory";
    r->target_kind = "";
    srcbox sb;
    int ret = -1;
    ls_set all = { 0 };
    if (srcbox_make(c, "copy", n, 6, &sb, r))
        goto out;
    int rc = ls_set_parse("1:*", &all);
    if (rc) {
        fail_ls(r, rc, "ls_set_parse");
        goto out;
    }
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            char name[64], dir[4400];
            if (ours) {
                snprintf(name, sizeof name, "user.src.copy%d", i);
                if (mbox_create_open(&sb.b, name, NULL, r))
                    goto out;
                ls_uidmap map = { 0 };
                double t0 = now_s();
                rc = ls_message_copy(sb.mb, &all, name, &map);
                double dt = now_s() - t0;
                if (rc) {
                    fail_ls(r, rc, "ls_message_copy");
                    goto out;
                }
                size_t got = map.n;
                ls_uidmap_dispose(&map);
                if (got != n) {
                    snprintf(r->error, sizeof r->error, "ls_message_copy copied %zu of %zu", got, n);
                    goto out;
                }
                r->ours[i] = (double)n / dt;
            } else {
                snprintf(dir, sizeof dir, "%s/copy%d", sb.b.plain, i);
                double t0 = now_s();
                if (link_all(&sb, dir, r))
                    goto out;
                if (fsync_path(dir)) {
                    fail_errno(r, "fsync", dir);
                    goto out;
                }
                r->base[i] = (double)n / (now_s() - t0);
            }
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    ret = 0;
out:
    ls_set_dispose(&all);
    srcbox_free(c, &sb);
    return ret;
}

int wl_expunge(bench_ctx *c, result *r)
{
    size_t n = c->full ? 10000 : 1000;
    r->n = n;
    r->baseline = "unlink(2) of the same number of files (hard links to the same messages), then fsync of the "
                  "directory";
    r->target_kind = "";
    srcbox sb;
    int ret = -1;
    ls_set all = { 0 };
    double cleanup_rate[MB_MAXRUNS] = { 0 };
    if (srcbox_make(c, "expunge", n, 7, &sb, r))
        goto out;
    int rc = ls_set_parse("1:*", &all);
    if (rc) {
        fail_ls(r, rc, "ls_set_parse");
        goto out;
    }
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            char name[64], dir[4400];
            if (ours) {
                /* setup: a mailbox of n messages (a copy: links), all \Deleted */
                snprintf(name, sizeof name, "user.src.exp%d", i);
                ls_mailbox *mb = NULL;
                ls_uidmap map = { 0 };
                if (mbox_create_open(&sb.b, name, &mb, r))
                    goto out;
                if ((rc = ls_message_copy(sb.mb, &all, name, &map)) ||
                    (rc = ls_message_store(mb, &all, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL))) {
                    ls_uidmap_dispose(&map);
                    ls_mailbox_close(mb);
                    fail_ls(r, rc, "setup (ls_message_copy, ls_message_store +\\Deleted)");
                    goto out;
                }
                ls_uidmap_dispose(&map);
                ls_set gone = { 0 };
                double t0 = now_s();
                rc = ls_message_expunge(mb, NULL, &gone);
                double dt = now_s() - t0;
                size_t ngone = 0;
                for (size_t q = 0; q < gone.n; q++)
                    ngone += (size_t)gone.r[q].hi - gone.r[q].lo + 1;
                ls_set_dispose(&gone);
                ls_mailbox_close(mb);
                if (rc) {
                    fail_ls(r, rc, "ls_message_expunge");
                    goto out;
                }
                if (ngone != n) {
                    snprintf(r->error, sizeof r->error, "ls_message_expunge expunged %zu of %zu", ngone, n);
                    goto out;
                }
                r->ours[i] = (double)n / dt;
                /* the deferred part: cleanup removes the files (timed apart) */
                uint64_t removed = 0;
                t0 = now_s();
                rc = ls_store_cleanup(sb.b.st, -1, &removed);
                dt = now_s() - t0;
                if (rc) {
                    fail_ls(r, rc, "ls_store_cleanup");
                    goto out;
                }
                cleanup_rate[i] = removed ? (double)removed / dt : 0;
                if (removed != n)
                    progress("%s: run %d: cleanup removed %llu files (expected %zu)", r->workload, i + 1,
                             (unsigned long long)removed, n);
            } else {
                snprintf(dir, sizeof dir, "%s/exp%d", sb.b.plain, i);
                if (link_all(&sb, dir, r))
                    goto out;
                char p[4400];
                double t0 = now_s();
                for (size_t j = 0; j < n; j++) {
                    snprintf(p, sizeof p, "%s/%u.", dir, sb.uids[j]);
                    if (unlink(p) != 0) {
                        fail_errno(r, "unlink", p);
                        goto out;
                    }
                }
                if (fsync_path(dir)) {
                    fail_errno(r, "fsync", dir);
                    goto out;
                }
                r->base[i] = (double)n / (now_s() - t0);
            }
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_num(r, "cleanup_files_per_s", median_of(cleanup_rate, r->nruns));
    ret = 0;
out:
    ls_set_dispose(&all);
    srcbox_free(c, &sb);
    return ret;
}

/*
 * The workloads. Each one builds what it needs on a fresh store (setup is
 * not timed), then runs "ours" and the baseline in turn, `runs` times, in
 * ABBA order (ours first in even runs, the baseline first in odd runs) so
 * that drift of the machine (page cache, journal, other load) cancels out.
 * Every figure is operations per second of one run; mailbench.c reports
 * the median of each side and their ratio.
 */
#include "mailbench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OURS_FIRST(i) ((i) % 2 == 0)
/* --only ours|baseline (for profiling one side with strace or perf) */
#define SKIP(c, ours) ((c)->only && (c)->only != ((ours) ? 1 : 2))

static void note_run(const bench_ctx *c, result *r, int i)
{
    progress("%s: run %d/%d: ours %.1f, baseline %.1f %s/s", r->workload, i + 1, c->runs, r->ours[i], r->base[i],
             r->unit);
}

/* ============================================================ append_durable */

int wl_append_durable(bench_ctx *c, result *r)
{
    size_t n = c->full ? 1000 : 50;
    r->n = n;
    r->baseline = "the same bytes as plain files in one directory, fsync of each file and of the directory "
                  "(a durable maildir)";
    r->target = 0.5;
    bstore b;
    ls_mailbox *mb = NULL;
    int ret = -1;
    if (bstore_create(c, "append_durable", &b, r))
        return -1;
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/maildir", b.plain);
    int dfd = -1;
    if (mbox_create_open(&b, "user.bench", &mb, r))
        goto out;
    if (mkdir_p(dir) || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0) {
        fail_errno(r, "mkdir", dir);
        goto out;
    }
    msggen g;
    msggen_init(&g, 1);
    uint64_t bytes = 0;
    for (int i = 0; i < c->runs; i++) {
        msgset ms;
        if (msgset_make(&ms, &g, n)) {
            snprintf(r->error, sizeof r->error, "out of memory");
            goto out;
        }
        bytes += ms.bytes;
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            double t0 = now_s();
            for (size_t j = 0; j < n; j++) {
                if (ours) {
                    int rc = ls_message_append(mb, ms.msg[j], ms.len[j], NULL, NULL);
                    if (rc) {
                        msgset_free(&ms);
                        fail_ls(r, rc, "ls_message_append");
                        goto out;
                    }
                } else {
                    char path[4400];
                    snprintf(path, sizeof path, "%s/%d.%zu", dir, i, j);
                    if (write_file(path, ms.msg[j], ms.len[j], 1) || fsync(dfd)) {
                        msgset_free(&ms);
                        fail_errno(r, "write+fsync", path);
                        goto out;
                    }
                }
            }
            double dt = now_s() - t0;
            (ours ? r->ours : r->base)[i] = (double)n / dt;
        }
        msgset_free(&ms);
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "avg_message_bytes", (long long)(bytes / (n * (uint64_t)c->runs)));
    ret = 0;
out:
    if (dfd >= 0)
        close(dfd);
    if (mb)
        ls_mailbox_close(mb);
    bstore_destroy(c, &b);
    return ret;
}

/* ============================================================ append_batch */

int wl_append_batch(bench_ctx *c, result *r)
{
    const size_t batch = 1000;
    size_t nbatches = c->full ? 10 : 1, n = batch * nbatches;
    r->n = n;
    r->baseline = "the same bytes as plain files in one directory, no fsync per file, one syncfs per 1000";
    r->target = 0.8;
    bstore b;
    ls_mailbox *mb = NULL;
    ls_append_item *items = calloc(batch, sizeof *items);
    msgset *sets = calloc(nbatches, sizeof *sets);
    int ret = -1;
    if (!items || !sets) {
        free(items);
        free(sets);
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    if (bstore_create(c, "append_batch", &b, r)) {
        free(items);
        free(sets);
        return -1;
    }
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/maildir", b.plain);
    if (mbox_create_open(&b, "user.bench", &mb, r))
        goto out;
    if (mkdir_p(dir)) {
        fail_errno(r, "mkdir", dir);
        goto out;
    }
    msggen g;
    msggen_init(&g, 2);
    uint64_t bytes = 0;
    for (int i = 0; i < c->runs; i++) {
        for (size_t k = 0; k < nbatches; k++) {
            if (msgset_make(&sets[k], &g, batch)) {
                snprintf(r->error, sizeof r->error, "out of memory");
                goto out;
            }
            bytes += sets[k].bytes;
        }
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            double t0 = now_s();
            for (size_t bi = 0; bi < nbatches; bi++) {
                msgset *ms = &sets[bi];
                if (ours) {
                    for (size_t j = 0; j < batch; j++) {
                        memset(&items[j], 0, sizeof items[j]);
                        items[j].msg = ms->msg[j];
                        items[j].len = ms->len[j];
                    }
                    int rc = ls_message_append_many(mb, items, batch);
                    if (rc) {
                        fail_ls(r, rc, "ls_message_append_many");
                        goto out;
                    }
                } else {
                    char path[4400];
                    for (size_t j = 0; j < batch; j++) {
                        snprintf(path, sizeof path, "%s/%d.%zu.%zu", dir, i, bi, j);
                        if (write_file(path, ms->msg[j], ms->len[j], 0)) {
                            fail_errno(r, "write", path);
                            goto out;
                        }
                    }
                    if (syncfs_path(dir)) {
                        fail_errno(r, "syncfs", dir);
                        goto out;
                    }
                }
            }
            double dt = now_s() - t0;
            (ours ? r->ours : r->base)[i] = (double)n / dt;
        }
        for (size_t k = 0; k < nbatches; k++)
            msgset_free(&sets[k]);
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "batch", (long long)batch);
    extra_int(r, "avg_message_bytes", (long long)(bytes / (n * (uint64_t)c->runs)));
    ret = 0;
out:
    for (size_t k = 0; k < nbatches; k++)
        msgset_free(&sets[k]);
    free(sets);
    free(items);
    if (mb)
        ls_mailbox_close(mb);
    bstore_destroy(c, &b);
    return ret;
}

/* ============================================================ deliver_1000 */

int wl_deliver_1000(bench_ctx *c, result *r)
{
    size_t n = c->full ? 1000 : 100;
    r->n = n;
    r->unit = "recipients";
    r->baseline = "one file plus one hard link into each of the recipients' directories, then one syncfs";
    r->target_kind = "ops_per_s>=";
    r->target = 5000;
    bstore b;
    int ret = -1;
    char **users = calloc(n, sizeof *users);
    ls_deliver_result *res = calloc(n, sizeof *res);
    ls_mailbox *first = NULL;
    if (!users || !res) {
        free(users);
        free(res);
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    if (bstore_create(c, "deliver", &b, r)) {
        free(users);
        free(res);
        return -1;
    }
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        char name[64], dir[4400];
        if (asprintf(&users[i], "u%04zu", i) < 0) {
            snprintf(r->error, sizeof r->error, "out of memory");
            goto out;
        }
        snprintf(name, sizeof name, "user.%s", users[i]);
        if (mbox_create_open(&b, name, NULL, r))
            goto out;
        snprintf(dir, sizeof dir, "%s/%s", b.plain, users[i]);
        if (mkdir_p(dir)) {
            fail_errno(r, "mkdir", dir);
            goto out;
        }
    }
    char tmpdir[4300];
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", b.plain);
    if (mkdir_p(tmpdir)) {
        fail_errno(r, "mkdir", tmpdir);
        goto out;
    }
    progress("%s: created %zu INBOXes in %.1f s", r->workload, n, now_s() - t0);
    int rc = ls_mailbox_open(b.s, "user.u0000", LS_MAILBOX_RDONLY, &first);
    if (rc) {
        fail_ls(r, rc, "ls_mailbox_open user.u0000");
        goto out;
    }
    msggen g;
    msggen_init(&g, 3);
    long long nlink_seen = -1;
    int all_ok = 1;
    for (int i = 0; i < c->runs; i++) {
        size_t len;
        char *msg = msggen_next(&g, &len);
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            if (ours) {
                double t1 = now_s();
                rc = ls_message_deliver(b.s, msg, len, (const char *const *)users, n, NULL, NULL, res);
                double dt = now_s() - t1;
                if (rc) {
                    for (size_t j = 0; j < n; j++)
                        if (res[j].code) {
                            snprintf(r->error, sizeof r->error, "ls_message_deliver: recipient %s: %s (%s)",
                                     users[j], res[j].error, ls_strerror(res[j].code));
                            break;
                        }
                    progress("%s: FAILED: %s", r->workload, r->error);
                    free(msg);
                    goto out;
                }
                r->ours[i] = (double)n / dt;
                /* verify: one file on disk, linked once per recipient */
                char *path = NULL;
                struct stat st;
                if ((rc = ls_message_path(first, res[0].uid, &path))) {
                    fail_ls(r, rc, "ls_message_path");
                    free(msg);
                    goto out;
                }
                if (stat(path, &st) != 0) {
                    fail_errno(r, "stat", path);
                    ls_free(path);
                    free(msg);
                    goto out;
                }
                ls_free(path);
                nlink_seen = (long long)st.st_nlink;
                if (st.st_nlink != n) {
                    all_ok = 0;
                    progress("%s: run %d: link count %lld, expected %zu", r->workload, i + 1, nlink_seen, n);
                }
            } else {
                char tmp[4400], dst[4400];
                snprintf(tmp, sizeof tmp, "%s/%d", tmpdir, i);
                double t1 = now_s();
                if (write_file(tmp, msg, len, 0)) {
                    fail_errno(r, "write", tmp);
                    free(msg);
                    goto out;
                }
                for (size_t j = 0; j < n; j++) {
                    snprintf(dst, sizeof dst, "%s/%s/%d.", b.plain, users[j], i);
                    if (link(tmp, dst) != 0) {
                        fail_errno(r, "link", dst);
                        free(msg);
                        goto out;
                    }
                }
                if (syncfs_path(b.plain) || unlink(tmp)) {
                    fail_errno(r, "syncfs/unlink", tmp);
                    free(msg);
                    goto out;
                }
                r->base[i] = (double)n / (now_s() - t1);
            }
        }
        free(msg);
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "recipients", (long long)n);
    extra_int(r, "nlink", nlink_seen);
    extra_bool(r, "single_file_verified", all_ok);
    if (!all_ok) {
        snprintf(r->error, sizeof r->error, "link count %lld instead of %zu: the message is not stored once",
                 nlink_seen, n);
        goto out;
    }
    ret = 0;
out:
    if (first)
        ls_mailbox_close(first);
    for (size_t i = 0; i < n; i++)
        free(users[i]);
    free(users);
    free(res);
    bstore_destroy(c, &b);
    return ret;
}

/* ============================================================ append_parallel4 */

/* Start nproc children, each appending `per` messages durably to user.pK;
 * return the wall time from the common start to the last child's end. */
static double parallel_round(bench_ctx *c, bstore *b, int nproc, size_t per, uint64_t seed, result *r)
{
    int ready[2], go[2];
    pid_t pids[8];
    if (pipe(ready) || pipe(go)) {
        fail_errno(r, "pipe", "");
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    for (int p = 0; p < nproc; p++) {
        pid_t pid = fork();
        if (pid < 0) {
            fail_errno(r, "fork", "");
            for (int q = 0; q < p; q++)
                kill(pids[q], SIGKILL);
            return -1;
        }
        if (pid == 0) {
            /* child: its own store handle (LMDB handles do not survive fork) */
            close(ready[0]);
            close(go[1]);
            bstore cb = *b;
            cb.st = NULL;
            cb.s = NULL;
            result cr;
            memset(&cr, 0, sizeof cr);
            cr.workload = r->workload;
            char name[32];
            snprintf(name, sizeof name, "user.p%d", p);
            ls_mailbox *mb = NULL;
            int rc;
            if (bstore_open(&cb, &cr))
                _exit(1);
            if ((rc = ls_mailbox_open(cb.s, name, LS_MAILBOX_RDWR, &mb))) {
                fail_ls(&cr, rc, "ls_mailbox_open");
                _exit(1);
            }
            msggen g;
            msggen_init(&g, seed * 16 + (uint64_t)p);
            msgset ms;
            if (msgset_make(&ms, &g, per))
                _exit(1);
            char x = 'r';
            if (write(ready[1], &x, 1) != 1 || read(go[0], &x, 1) < 0)
                _exit(1);
            for (size_t j = 0; j < per; j++) {
                if ((rc = ls_message_append(mb, ms.msg[j], ms.len[j], NULL, NULL))) {
                    fail_ls(&cr, rc, "ls_message_append (child)");
                    _exit(1);
                }
            }
            ls_mailbox_close(mb);
            bstore_close(&cb);
            _exit(0);
        }
        pids[p] = pid;
    }
    close(ready[1]);
    close(go[0]);
    char x;
    for (int p = 0; p < nproc; p++)
        if (read(ready[0], &x, 1) != 1)
            break;
    close(ready[0]);
    double t0 = now_s();
    close(go[1]); /* everyone starts: read() returns 0 */
    int bad = 0;
    for (int p = 0; p < nproc; p++) {
        int status;
        while (waitpid(pids[p], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad = 1;
    }
    double dt = now_s() - t0;
    (void)c;
    if (bad) {
        snprintf(r->error, sizeof r->error, "a child process failed (see its message on stderr)");
        return -1;
    }
    return dt;
}

int wl_append_parallel4(bench_ctx *c, result *r)
{
    size_t per = c->full ? 200 : 20;
    const int nproc = 4;
    r->n = per * (size_t)nproc;
    r->baseline = "one process alone appending durably (same code, same run)";
    r->target = 1.5;
    bstore b;
    int ret = -1;
    if (bstore_create(c, "parallel", &b, r))
        return -1;
    for (int p = 0; p < nproc; p++) {
        char name[32];
        snprintf(name, sizeof name, "user.p%d", p);
        if (mbox_create_open(&b, name, NULL, r))
            goto out;
    }
    bstore_close(&b); /* the children open their own */
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            int np = ours ? nproc : 1;
            double dt = parallel_round(c, &b, np, per, (uint64_t)(i * 2 + k + 1), r);
            if (dt < 0)
                goto out;
            (ours ? r->ours : r->base)[i] = (double)(per * (size_t)np) / dt;
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "processes", nproc);
    extra_int(r, "messages_per_process", (long long)per);
    ret = 0;
out:
    bstore_destroy(c, &b);
    return ret;
}

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
    r->baseline = "the same ls_message_foreach with LS_FETCH_RECORD only (ratio = cost of the cache)";
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
                int rc = ls_message_foreach(bb->mb, NULL, ours ? LS_FETCH_CACHE : LS_FETCH_RECORD, fetch_cb, &acc);
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
    r->baseline = "the same ls_message_store LS_STORE_ADD of a flag already set (no change)";
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
            rc = ls_message_store(bb->mb, &all, what == 0 ? LS_STORE_REMOVE : LS_STORE_ADD, LS_FLAG_FLAGGED, NULL,
                                  0, 0, NULL);
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
    ls_set_free(&all);
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
                ls_uidmap_free(&map);
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
    ls_set_free(&all);
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
                    (rc = ls_message_store(mb, &all, LS_STORE_ADD, LS_FLAG_DELETED, NULL, 0, 0, NULL))) {
                    ls_uidmap_free(&map);
                    ls_mailbox_close(mb);
                    fail_ls(r, rc, "setup (ls_message_copy, ls_message_store +\\Deleted)");
                    goto out;
                }
                ls_uidmap_free(&map);
                ls_set gone = { 0 };
                double t0 = now_s();
                rc = ls_message_expunge(mb, NULL, &gone);
                double dt = now_s() - t0;
                size_t ngone = 0;
                for (size_t q = 0; q < gone.n; q++)
                    ngone += (size_t)gone.r[q].hi - gone.r[q].lo + 1;
                ls_set_free(&gone);
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
    {
        /* median of the cleanup rates */
        double s[MB_MAXRUNS];
        int m = r->nruns;
        memcpy(s, cleanup_rate, (size_t)m * sizeof *s);
        for (int a = 1; a < m; a++)
            for (int z = a; z > 0 && s[z - 1] > s[z]; z--) {
                double t = s[z];
                s[z] = s[z - 1];
                s[z - 1] = t;
            }
        extra_num(r, "cleanup_files_per_s", m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2);
    }
    ret = 0;
out:
    ls_set_free(&all);
    srcbox_free(c, &sb);
    return ret;
}

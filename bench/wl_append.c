/*
 * Workloads that write new messages: append_durable, append_batch,
 * deliver_1000, append_parallel4.
 *
 * Each workload builds what it needs on a fresh store (setup is not timed),
 * then runs "ours" and the baseline in turn, `runs` times, in ABBA order
 * (ours first in even runs, the baseline first in odd runs) so that drift of
 * the machine (page cache, journal, other load) cancels out. Every figure is
 * operations per second of one run; mailbench.c reports the median of each
 * side and their ratio.
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

/* ============================================================ append_durable */

/* A third, informational side: a real maildir delivery (write into tmp/,
 * fsync the file, rename into new/, fsync new/), which needs two journal
 * commits where the official baseline (the file written under its final
 * name) needs one. Reported as "maildir_tmp_new_ops_per_s". */
int wl_append_durable(bench_ctx *c, result *r)
{
    size_t n = c->full ? 1000 : 50, chunk = c->full ? 50 : 10;
    r->n = n;
    r->baseline = "the same bytes as plain files in one directory, fsync of each file and of the directory "
                  "(a durable maildir)";
    r->target = 0.5;
    bstore b;
    ls_mailbox *mb = NULL;
    int ret = -1;
    double mdir_rate[MB_MAXRUNS] = { 0 };
    if (bstore_create(c, "append_durable", &b, r))
        return -1;
    char dir[4300], tmpd[4300], newd[4300];
    snprintf(dir, sizeof dir, "%s/maildir", b.plain);
    snprintf(tmpd, sizeof tmpd, "%s/realmaildir/tmp", b.plain);
    snprintf(newd, sizeof newd, "%s/realmaildir/new", b.plain);
    int dfd = -1, nfd = -1;
    if (mbox_create_open(&b, "user.bench", &mb, r))
        goto out;
    if (mkdir_p(dir) || mkdir_p(tmpd) || mkdir_p(newd) || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 ||
        (nfd = open(newd, O_RDONLY | O_DIRECTORY)) < 0) {
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
        /* The disk's flush latency drifts by several times within seconds
         * here, so the sides are interleaved finely: chunks of `chunk`
         * messages, ours / baseline / maildir, the order reversed every
         * other chunk; each side's rate is n / the sum of its chunks. */
        double spent[3] = { 0, 0, 0 };
        for (size_t j0 = 0; j0 < n; j0 += chunk) {
            size_t j1 = j0 + chunk < n ? j0 + chunk : n;
            for (int k = 0; k < 3; k++) {
                int side = (j0 / chunk + (size_t)i) % 2 == 0 ? k : 2 - k;
                if (SKIP(c, side == 0))
                    continue;
                double t0 = now_s();
                for (size_t j = j0; j < j1; j++) {
                    char path[4400], path2[4400];
                    if (side == 0) {
                        int rc = ls_message_append(mb, ms.msg[j], ms.len[j], NULL, NULL);
                        if (rc) {
                            msgset_free(&ms);
                            fail_ls(r, rc, "ls_message_append");
                            goto out;
                        }
                    } else if (side == 1) {
                        snprintf(path, sizeof path, "%s/%d.%zu", dir, i, j);
                        if (write_file(path, ms.msg[j], ms.len[j], 1) || fsync(dfd)) {
                            msgset_free(&ms);
                            fail_errno(r, "write+fsync", path);
                            goto out;
                        }
                    } else {
                        snprintf(path, sizeof path, "%s/%d.%zu", tmpd, i, j);
                        snprintf(path2, sizeof path2, "%s/%d.%zu", newd, i, j);
                        if (write_file(path, ms.msg[j], ms.len[j], 1) || rename(path, path2) || fsync(nfd)) {
                            msgset_free(&ms);
                            fail_errno(r, "write+fsync+rename+fsync", path);
                            goto out;
                        }
                    }
                }
                spent[side] += now_s() - t0;
            }
        }
        r->ours[i] = spent[0] > 0 ? (double)n / spent[0] : 0;
        r->base[i] = spent[1] > 0 ? (double)n / spent[1] : 0;
        mdir_rate[i] = spent[2] > 0 ? (double)n / spent[2] : 0;
        msgset_free(&ms);
        r->nruns = i + 1;
        note_run(c, r, i);
        progress("%s: run %d/%d: maildir tmp->new %.1f messages/s", r->workload, i + 1, c->runs, mdir_rate[i]);
    }
    extra_int(r, "avg_message_bytes", (long long)(bytes / (n * (uint64_t)c->runs)));
    extra_int(r, "interleave_chunk", (long long)chunk);
    extra_num(r, "maildir_tmp_new_ops_per_s", median_of(mdir_rate, r->nruns));
    ret = 0;
out:
    if (dfd >= 0)
        close(dfd);
    if (nfd >= 0)
        close(nfd);
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
        /* interleaved batch by batch, the order reversed every other batch */
        double spent[2] = { 0, 0 };
        for (size_t bi = 0; bi < nbatches; bi++) {
            msgset *ms = &sets[bi];
            for (int k = 0; k < 2; k++) {
                int ours = (k == 0) == ((bi + (size_t)i) % 2 == 0);
                if (SKIP(c, ours))
                    continue;
                double t0 = now_s();
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
                spent[ours ? 0 : 1] += now_s() - t0;
            }
        }
        r->ours[i] = spent[0] > 0 ? (double)n / spent[0] : 0;
        r->base[i] = spent[1] > 0 ? (double)n / spent[1] : 0;
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
    int rc = ls_mailbox_open(b.s, "user.u0000", LS_MAILBOX_OPEN_RDONLY, &first);
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
                                     users[j], res[j].error, ls_error_string(res[j].code));
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
            if ((rc = ls_mailbox_open(cb.s, name, LS_MAILBOX_OPEN_RDWR, &mb))) {
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

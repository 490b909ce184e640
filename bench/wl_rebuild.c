/*
 * reconstruct_rebuild (issue 4): a mailbox whose index is lost is rebuilt
 * from its files: the LMDB environment is deleted and `reconstruct -m`
 * (ls_repair_reconstruct_mboxlist) adopts every file: read, SHA-256, MIME parse,
 * records. Baseline: the read + SHA-256 + parse of the same files alone,
 * measured in the same run (the CPU floor of any rebuild). Target: ratio
 * >= 0.5. Full scale: 100k messages; small: 1k.
 */
#include "wl.h"
#include "libstore/quota.h"
#include "libstore/repair.h"
#include "mime/mime.h"      /* the baseline parses as the library does */

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void count_report(const char *line, void *arg)
{
    (void)line;
    (*(size_t *)arg)++;
}

/* Read, hash and parse every message file of dir; returns how many. */
static long hash_and_parse(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        char *buf = malloc((size_t)st.st_size + 1);
        ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
        close(fd);
        if (got == st.st_size) {
            unsigned char md[32];
            unsigned int mdlen;
            EVP_Digest(buf, (size_t)got, md, &mdlen, EVP_sha256(), NULL);
            ls_mime_info mi;
            if (ls__mime_analyze(buf, (size_t)got, &mi) == LS_OK)
                ls__mime_info_free(&mi);
            n++;
        }
        free(buf);
    }
    closedir(d);
    return n;
}

int wl_reconstruct_rebuild(bench_ctx *c, result *r)
{
    r->baseline = "read + SHA-256 + MIME parse of the same files (the CPU floor of a rebuild)";
    r->target_kind = "ratio>=";
    r->target = 0.5;
    bstore b;
    ls_mailbox *mb = NULL;
    char *dir = NULL;
    int ret = -1;
    size_t n = c->full ? 100000 : 1000;
    if (bstore_create(c, "rebuild", &b, r) || mbox_create_open(&b, "user.src", &mb, r))
        goto out;
    msggen g;
    msggen_init(&g, 41);
    if (mbox_fill(mb, &g, n, r))
        goto out;
    int rc = ls_mailbox_path(b.s, "user.src", &dir);
    if (rc) {
        fail_ls(r, rc, "ls_mailbox_path");
        goto out;
    }
    ls_mailbox_close(mb);
    mb = NULL;
    r->n = n;
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            if (ours) {
                /* the index is lost: no environment at all */
                bstore_close(&b);
                char data[4300];
                snprintf(data, sizeof data, "%s/config/data.mdb", b.dir);
                unlink(data);
                size_t lines = 0;
                double t0 = now_s();
                rc = ls_repair_reconstruct_mboxlist(b.conf, 0, NULL, count_report, &lines);
                double dt = now_s() - t0;
                if (rc) {
                    fail_ls(r, rc, "ls_repair_reconstruct_mboxlist");
                    goto out;
                }
                if (bstore_open(&b, r))
                    goto out;
                ls_status s;
                if ((rc = ls_mailbox_status(b.s, "user.src", &s)) || s.messages != n) {
                    snprintf(r->error, sizeof r->error, "after the rebuild user.src has %u messages, expected %zu",
                             rc ? 0 : s.messages, n);
                    goto out;
                }
                r->ours[i] = (double)n / dt;
            } else {
                double t0 = now_s();
                long got = hash_and_parse(dir);
                if (got != (long)n) {
                    snprintf(r->error, sizeof r->error, "%s: hashed %ld files, expected %zu", dir, got, n);
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
    if (mb)
        ls_mailbox_close(mb);
    ls_free(dir);
    bstore_destroy(c, &b);
    return ret;
}

/* quota_fix_1m (issue 4): quota -f over 1M records (small: 2k). The records
 * are small messages (their size does not matter to quota -f, which reads
 * records only) spread over 10 mailboxes of one root. Baseline: summing the
 * same records with ls_message_foreach. Target: >= 1M records/s. */
static int sum_record(const ls_record *rec, const ls_cached *cache, void *arg)
{
    (void)cache;
    *(uint64_t *)arg += rec->size;
    return 0;
}

static void count_line2(const char *line, void *arg)
{
    (void)line;
    (*(size_t *)arg)++;
}

int wl_quota_fix_1m(bench_ctx *c, result *r)
{
    r->baseline = "ls_message_foreach LS_MESSAGE_FETCH_RECORD summing the sizes of the same records";
    r->target_kind = "ops_per_s>=";
    r->target = 1e6;
    enum { BOXES = 10, BATCH = 1000 };
    size_t n = c->full ? 1000000 : 2000, per = n / BOXES;
    bstore b;
    ls_mailbox *mbs[BOXES] = { 0 };
    int ret = -1, rc;
    char name[64];
    ls_append_item *items = calloc(BATCH, sizeof *items);
    char (*texts)[160] = calloc(BATCH, sizeof *texts);
    if (!items || !texts || bstore_create(c, "quota1m", &b, r) || (rc = ls_mailbox_create(b.s, "user.q", NULL))) {
        if (!r->error[0])
            snprintf(r->error, sizeof r->error, "setup failed");
        goto out;
    }
    for (int m = 0; m < BOXES; m++) {
        snprintf(name, sizeof name, "user.q.f%d", m);
        if (mbox_create_open(&b, name, &mbs[m], r))
            goto out;
        for (size_t done = 0; done < per; done += BATCH) {
            size_t k = per - done < BATCH ? per - done : BATCH;
            for (size_t j = 0; j < k; j++) {
                int len = snprintf(texts[j], sizeof texts[j], "From: a@example.com\r\nSubject: m %d %zu\r\n\r\nbody\r\n",
                                   m, done + j);
                items[j] = (ls_append_item){ .msg = texts[j], .len = (size_t)len };
            }
            if ((rc = ls_message_append_many(mbs[m], items, k))) {
                fail_ls(r, rc, "ls_message_append_many");
                goto out;
            }
        }
        progress("quota_fix_1m: filled %s (%zu records)", name, per * (size_t)(m + 1));
    }
    int64_t limits[LS_QUOTA_NRESOURCES] = { LS_QUOTA_UNLIMITED, 10000000, LS_QUOTA_UNLIMITED };
    if ((rc = ls_quota_set(b.s, "user.q", limits))) {
        fail_ls(r, rc, "ls_quota_set");
        goto out;
    }
    r->n = per * BOXES;
    size_t lines = 0;
    for (int i = 0; i < c->runs; i++) {
        for (int k = 0; k < 2; k++) {
            int ours = (k == 0) == OURS_FIRST(i);
            if (SKIP(c, ours))
                continue;
            double t0 = now_s();
            if (ours) {
                if ((rc = ls_repair_quota_fix(b.st, NULL, 0, count_line2, &lines))) {
                    fail_ls(r, rc, "ls_repair_quota_fix");
                    goto out;
                }
            } else {
                uint64_t sum = 0;
                for (int m = 0; m < BOXES; m++)
                    if ((rc = ls_message_foreach(mbs[m], NULL, LS_MESSAGE_FETCH_RECORD, sum_record, &sum))) {
                        fail_ls(r, rc, "ls_message_foreach");
                        goto out;
                    }
            }
            (ours ? r->ours : r->base)[i] = (double)r->n / (now_s() - t0);
        }
        r->nruns = i + 1;
        note_run(c, r, i);
    }
    extra_int(r, "report_lines", (long long)lines);
    if (lines) {
        snprintf(r->error, sizeof r->error, "quota -f reported %zu changes on a correct store", lines);
        goto out;
    }
    ret = 0;
out:
    for (int m = 0; m < BOXES; m++)
        if (mbs[m])
            ls_mailbox_close(mbs[m]);
    free(items);
    free(texts);
    bstore_destroy(c, &b);
    return ret;
}

/*
 * mailbench - shared declarations of the benchmark program.
 *
 * The benchmark uses only the public API of libstore (include/libstore/).
 * Every workload measures "ours" (libstore) and a "baseline" (plain files,
 * or a cheaper libstore call) in the same process, on the same disk, in
 * alternating runs, and prints one JSON object per line on stdout.
 */
#ifndef MAILBENCH_H
#define MAILBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libstore/libstore.h"

#define MB_MAXRUNS 100

/* Global options. */
typedef struct bench_ctx {
    char root[4096];      /* scratch directory of this run (removed at exit unless keep) */
    int full;             /* --scale full */
    int runs;             /* --runs */
    int keep;             /* --keep */
    int only;             /* --only: 0 both sides, 1 ours only, 2 the baseline only */
} bench_ctx;

/* What a workload measured. ours[i] / base[i]: operations per second of run i. */
typedef struct result {
    const char *workload;
    uint64_t n;                  /* operations (messages, recipients, calls) per run */
    const char *unit;            /* what one operation is */
    const char *baseline;        /* what the baseline does */
    double ours[MB_MAXRUNS], base[MB_MAXRUNS];
    int nruns;
    /* target: one of "ratio>=", "ops_per_s>=", "us_per_op<" with a value */
    const char *target_kind;
    double target;
    char extra[2048];            /* additional ", \"key\": value" pairs (already JSON) */
    char error[1024];            /* set on failure */
} result;

/* Timing. */
double now_s(void);
/* Median of n values. */
double median_of(const double *v, int n);

/* Progress and errors go to stderr only. */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record a failure in r->error ("what: ls_error_last()") and return -1. */
int fail_ls(result *r, int rc, const char *what);
int fail_errno(result *r, const char *what, const char *path);
/* Append a ", \"key\": value" pair to r->extra. */
void extra_num(result *r, const char *key, double v);
void extra_int(result *r, const char *key, long long v);
void extra_str(result *r, const char *key, const char *v);
void extra_bool(result *r, const char *key, int v);

/* A temporary store: DIR/{store.conf,config/,spool/} plus DIR/plain/ for baselines. */
typedef struct bstore {
    char dir[4096];
    char conf[4200];
    char spool[4200];
    char plain[4200];
    ls_store *st;
    ls_session *s;
} bstore;
int bstore_create(bench_ctx *c, const char *name, bstore *b, result *r);
/* Reopen after a fork (the child must not use the parent's LMDB handle). */
int bstore_open(bstore *b, result *r);
void bstore_close(bstore *b);
void bstore_destroy(bench_ctx *c, bstore *b);

/* Create a mailbox (admin), open it read-write. */
int mbox_create_open(bstore *b, const char *name, ls_mailbox **mb, result *r);

/* Messages: realistic, unique, CRLF, 2-50 KB, some multipart with attachments. */
typedef struct msggen {
    uint64_t rng;
    uint64_t seq;
} msggen;
void msggen_init(msggen *g, uint64_t seed);
/* A new message (malloc'd; free()); *len its size. */
char *msggen_next(msggen *g, size_t *len);
/* A batch of n messages. */
typedef struct msgset {
    char **msg;
    size_t *len;
    size_t n;
    uint64_t bytes;
} msgset;
int msgset_make(msgset *ms, msggen *g, size_t n);
void msgset_free(msgset *ms);
/* Search terms guaranteed to hit some but not all messages. */
extern const char *const msggen_search_from;
extern const char *const msggen_search_subject;

/* Fill a mailbox with n generated messages, in append_many batches of 1000. */
int mbox_fill(ls_mailbox *mb, msggen *g, size_t n, result *r);

/* Plain-file helpers for the baselines. */
int write_file(const char *path, const void *data, size_t len, int do_fsync);
int fsync_path(const char *dir);
int syncfs_path(const char *dir);
int mkdir_p(const char *dir);
int remove_tree(const char *dir);

/* The workloads. Each fills r and returns 0, or sets r->error and returns -1. */
typedef int (*workload_fn)(bench_ctx *c, result *r);
int wl_append_durable(bench_ctx *c, result *r);
int wl_append_batch(bench_ctx *c, result *r);
int wl_deliver_1000(bench_ctx *c, result *r);
int wl_append_parallel4(bench_ctx *c, result *r);
int wl_status(bench_ctx *c, result *r);
int wl_fetch_envelope(bench_ctx *c, result *r);
int wl_store_flags(bench_ctx *c, result *r);
int wl_search_header(bench_ctx *c, result *r);
int wl_copy(bench_ctx *c, result *r);
int wl_expunge(bench_ctx *c, result *r);
int wl_reconstruct(bench_ctx *c, result *r);
int wl_quota_fix(bench_ctx *c, result *r);
int wl_reconstruct_rebuild(bench_ctx *c, result *r);
int wl_quota_fix_1m(bench_ctx *c, result *r);

/* The big mailbox shared by status, fetch_envelope and store_flags (built once). */
typedef struct bigbox {
    int ready;
    bstore b;
    ls_mailbox *mb;
    ls_mailbox *one;      /* a 1-message mailbox (status baseline) */
    size_t n;
    double build_s;
} bigbox;
int bigbox_get(bench_ctx *c, bigbox **out, result *r);
void bigbox_release(bench_ctx *c);

#endif

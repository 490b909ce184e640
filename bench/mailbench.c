/*
 * mailbench - run named workloads against libstore and a baseline, print JSON.
 *
 *   mailbench [--workload NAME]... [--scale small|full] [--runs N] [--dir DIR] [--keep]
 *
 * stdout carries one JSON object per workload and nothing else; progress
 * goes to stderr. See docs/performance.md.
 */
#include "mailbench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *name;
    workload_fn fn;
    const char *what;
} workloads[] = {
    { "append_durable", wl_append_durable, "one message per transaction (fsync: all) vs a durable maildir" },
    { "append_batch", wl_append_batch, "1000 messages per transaction vs 1000 files + one syncfs" },
    { "deliver_1000", wl_deliver_1000, "one message to 1000 INBOXes vs 1 file + 1000 hard links + syncfs" },
    { "append_parallel4", wl_append_parallel4, "4 processes appending durably to 4 users vs 1 process" },
    { "status", wl_status, "ls_mailbox_status on 100k messages vs on 1 message" },
    { "fetch_envelope", wl_fetch_envelope, "ls_message_foreach LS_MESSAGE_FETCH_CACHE vs LS_MESSAGE_FETCH_RECORD" },
    { "store_flags", wl_store_flags, "+FLAGS \\Flagged on 100k messages vs the same when already set" },
    { "search_header", wl_search_header, "SEARCH FROM / SUBJECT vs SEARCH ALL" },
    { "copy", wl_copy, "ls_message_copy of 10k messages vs link(2) of the same files" },
    { "expunge", wl_expunge, "ls_message_expunge of 10k messages vs unlink(2) of the same files" },
    { "reconstruct", wl_reconstruct, "reconstruct of an intact 10k-message mailbox vs readdir + stat" },
    { "quota_fix", wl_quota_fix, "quota -f over 10k messages vs summing the same records" },
    { "reconstruct_rebuild", wl_reconstruct_rebuild,
      "reconstruct -m of a 100k-message mailbox whose index is lost vs read + SHA-256 + parse of its files" },
    { "quota_fix_1m", wl_quota_fix_1m, "quota -f over 1M records (10 mailboxes, one root) vs summing them" },
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

static bench_ctx ctx;
static int root_made;

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mailbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int fail_ls(result *r, int rc, const char *what)
{
    snprintf(r->error, sizeof r->error, "%s: %s (%s)", what, ls_error_last(), ls_error_string(rc));
    progress("%s: FAILED: %s", r->workload, r->error);
    return -1;
}

int fail_errno(result *r, const char *what, const char *path)
{
    snprintf(r->error, sizeof r->error, "%s %s: %s", what, path ? path : "", strerror(errno));
    progress("%s: FAILED: %s", r->workload, r->error);
    return -1;
}

static void extra_raw(result *r, const char *key, const char *json)
{
    size_t n = strlen(r->extra);
    snprintf(r->extra + n, sizeof r->extra - n, ", \"%s\": %s", key, json);
}

void extra_num(result *r, const char *key, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.6g", v);
    extra_raw(r, key, buf);
}

void extra_int(result *r, const char *key, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    extra_raw(r, key, buf);
}

void extra_bool(result *r, const char *key, int v) { extra_raw(r, key, v ? "true" : "false"); }

/* JSON string with escapes. */
static void json_str(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return;
    out[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
        } else {
            out[n++] = (char)ch;
        }
    }
    out[n++] = '"';
    out[n] = 0;
}

void extra_str(result *r, const char *key, const char *v)
{
    char buf[1024];
    json_str(buf, sizeof buf, v);
    extra_raw(r, key, buf);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_of(const double *v, int n)
{
    double s[MB_MAXRUNS];
    if (n <= 0)
        return 0;
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void print_samples(const double *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf("%s%.1f", i ? ", " : "", v[i]);
    putchar(']');
}

static void emit(const result *r)
{
    char s[1200];
    printf("{\"workload\": \"%s\", \"layout\": \"files\", \"scale\": \"%s\"", r->workload, ctx.full ? "full" : "small");
    if (ctx.only)
        printf(", \"only\": \"%s\"", ctx.only == 1 ? "ours" : "baseline");
    if (r->error[0]) {
        json_str(s, sizeof s, r->error);
        printf(", \"n\": %llu, \"runs\": %d, \"error\": %s%s}\n", (unsigned long long)r->n, r->nruns, s, r->extra);
        fflush(stdout);
        return;
    }
    double ours = median_of(r->ours, r->nruns), base = median_of(r->base, r->nruns);
    double ratio = base > 0 ? ours / base : 0;
    printf(", \"n\": %llu, \"unit\": \"%s\", \"runs\": %d, \"ops_per_s\": %.1f, \"us_per_op\": %.3f",
           (unsigned long long)r->n, r->unit, r->nruns, ours, ours > 0 ? 1e6 / ours : 0.0);
    json_str(s, sizeof s, r->baseline);
    printf(", \"baseline\": %s, \"baseline_ops_per_s\": %.1f, \"ratio\": %.4f", s, base, ratio);
    int met = 0;
    char target[64];
    if (!strcmp(r->target_kind, "ratio>=")) {
        met = ratio >= r->target;
    } else if (!strcmp(r->target_kind, "ops_per_s>=")) {
        met = ours >= r->target;
    } else if (!strcmp(r->target_kind, "us_per_op<")) {
        met = ours > 0 && 1e6 / ours < r->target;
    }
    if (r->target_kind[0]) {
        snprintf(target, sizeof target, "%s%g", r->target_kind, r->target);
        printf(", \"target\": \"%s\", \"met\": %s", target, met ? "true" : "false");
    } else {
        printf(", \"target\": null, \"met\": null");
    }
    printf(", \"samples\": ");
    print_samples(r->ours, r->nruns);
    printf(", \"baseline_samples\": ");
    print_samples(r->base, r->nruns);
    printf("%s}\n", r->extra);
    fflush(stdout);
}

/* ---------------------------------------------------------------- files */

int write_file(const char *path, const void *data, size_t len, int do_fsync)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    if (do_fsync && fsync(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return close(fd);
}

int fsync_path(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int syncfs_path(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = syncfs(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

static int rm_cb(const char *path, const struct stat *sb, int type, struct FTW *f)
{
    (void)sb;
    (void)f;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

int remove_tree(const char *dir) { return nftw(dir, rm_cb, 64, FTW_DEPTH | FTW_PHYS); }

/* ---------------------------------------------------------------- stores */

int bstore_open(bstore *b, result *r)
{
    /* the benchmark makes its own stores: create one, or open the one made */
    int rc = ls_store_open(b->conf, LS_STORE_OPEN_CREATE, &b->st);
    if (rc)
        return fail_ls(r, rc, "ls_store_open");
    if ((rc = ls_session_new(b->st, NULL, &b->s))) {
        ls_store_close(b->st);
        b->st = NULL;
        return fail_ls(r, rc, "ls_session_new");
    }
    return 0;
}

int bstore_create(bench_ctx *c, const char *name, bstore *b, result *r)
{
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "%s/%s", c->root, name);
    snprintf(b->conf, sizeof b->conf, "%s/store.conf", b->dir);
    snprintf(b->spool, sizeof b->spool, "%s/spool", b->dir);
    snprintf(b->plain, sizeof b->plain, "%s/plain", b->dir);
    char cfgdir[4200];
    snprintf(cfgdir, sizeof cfgdir, "%s/config", b->dir);
    if (mkdir_p(cfgdir) || mkdir_p(b->spool) || mkdir_p(b->plain))
        return fail_errno(r, "mkdir", b->dir);
    FILE *f = fopen(b->conf, "w");
    if (!f)
        return fail_errno(r, "create", b->conf);
    fprintf(f, "# written by mailbench\nconfigdirectory: %s\npartition-default: %s\n"
               "defaultpartition: default\nsingleinstancestore: yes\nfsync: all\n", cfgdir, b->spool);
    if (fclose(f) != 0)
        return fail_errno(r, "write", b->conf);
    return bstore_open(b, r);
}

void bstore_close(bstore *b)
{
    if (b->s)
        ls_session_free(b->s);
    if (b->st)
        ls_store_close(b->st);
    b->s = NULL;
    b->st = NULL;
}

/* The files stay until the program ends (cleanup_root): deleting hundreds of
 * thousands of files between workloads would make ext4 skip the freshly
 * freed inodes (recently_deleted()) when the next workload creates files,
 * which is slow and would charge one workload for the previous one. */
void bstore_destroy(bench_ctx *c, bstore *b)
{
    (void)c;
    bstore_close(b);
}

int mbox_create_open(bstore *b, const char *name, ls_mailbox **mb, result *r)
{
    char what[600];
    int rc = ls_mailbox_create(b->s, name, NULL);
    if (rc) {
        snprintf(what, sizeof what, "ls_mailbox_create %s", name);
        return fail_ls(r, rc, what);
    }
    if (mb && (rc = ls_mailbox_open(b->s, name, LS_MAILBOX_OPEN_RDWR, mb))) {
        snprintf(what, sizeof what, "ls_mailbox_open %s", name);
        return fail_ls(r, rc, what);
    }
    return 0;
}

int mbox_fill(ls_mailbox *mb, msggen *g, size_t n, result *r)
{
    ls_append_item *items = calloc(1000, sizeof *items);
    if (!items) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    double t0 = now_s(), last = t0;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < 1000 ? n - done : 1000;
        for (size_t i = 0; i < k; i++) {
            memset(&items[i], 0, sizeof items[i]);
            items[i].msg = msggen_next(g, &items[i].len);
        }
        int rc = ls_message_append_many(mb, items, k);
        for (size_t i = 0; i < k; i++)
            free((void *)items[i].msg);
        if (rc) {
            free(items);
            return fail_ls(r, rc, "ls_message_append_many (filling)");
        }
        done += k;
        if (now_s() - last > 10 || done == n) {
            last = now_s();
            progress("%s: filled %zu/%zu messages (%.0f/s)", r->workload, done, n, done / (last - t0));
        }
    }
    free(items);
    return 0;
}

/* ---------------------------------------------------------------- main */

static void cleanup_root(void)
{
    bigbox_release(&ctx);
    if (root_made && !ctx.keep)
        remove_tree(ctx.root);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mailbench [--workload NAME]... [--scale small|full] [--runs N] [--dir DIR] [--keep]\n"
            "\n"
            "Run libstore workloads and their baselines on a temporary store; print one JSON\n"
            "object per workload on stdout (progress on stderr).\n"
            "\n"
            "  --workload NAME  run this workload (repeatable, or comma-separated; default: all)\n"
            "  --scale S        small (seconds, a smoke test) or full (the documented sizes; default)\n"
            "  --runs N         runs of ours and of the baseline, alternating (default 5)\n"
            "  --dir DIR        put the temporary store under DIR (default: a new dir under /tmp)\n"
            "  --keep           keep the temporary store\n"
            "  --only SIDE      run only `ours` or only the `baseline` side (to profile one side\n"
            "                   with strace/perf; ratios are then meaningless)\n"
            "  --list           list the workloads and exit\n"
            "  --help           this text\n"
            "\n"
            "Workloads:\n");
    for (size_t i = 0; i < NWORKLOADS; i++)
        fprintf(f, "  %-17s %s\n", workloads[i].name, workloads[i].what);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "workload", required_argument, NULL, 'w' }, { "scale", required_argument, NULL, 's' },
        { "runs", required_argument, NULL, 'r' },     { "dir", required_argument, NULL, 'd' },
        { "keep", no_argument, NULL, 'k' },           { "list", no_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },           { "only", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    int selected[NWORKLOADS] = { 0 }, any = 0;
    const char *dir = NULL;
    ctx.full = 1;
    ctx.runs = 5;
    int o;
    while ((o = getopt_long(argc, argv, "w:s:r:d:o:klh", opts, NULL)) != -1) {
        switch (o) {
        case 'w': {
            char *copy = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < NWORKLOADS && strcmp(workloads[i].name, t); i++)
                    ;
                if (i == NWORKLOADS) {
                    fprintf(stderr, "mailbench: unknown workload '%s' (see --list)\n", t);
                    return 2;
                }
                selected[i] = any = 1;
            }
            free(copy);
            break;
        }
        case 's':
            if (!strcmp(optarg, "small"))
                ctx.full = 0;
            else if (!strcmp(optarg, "full"))
                ctx.full = 1;
            else {
                fprintf(stderr, "mailbench: --scale must be small or full\n");
                return 2;
            }
            break;
        case 'r': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > MB_MAXRUNS) {
                fprintf(stderr, "mailbench: --runs must be 1..%d\n", MB_MAXRUNS);
                return 2;
            }
            ctx.runs = (int)v;
            break;
        }
        case 'd': dir = optarg; break;
        case 'o':
            if (!strcmp(optarg, "ours"))
                ctx.only = 1;
            else if (!strcmp(optarg, "baseline"))
                ctx.only = 2;
            else {
                fprintf(stderr, "mailbench: --only must be ours or baseline\n");
                return 2;
            }
            break;
        case 'k': ctx.keep = 1; break;
        case 'l':
            for (size_t i = 0; i < NWORKLOADS; i++)
                fprintf(stderr, "%s\n", workloads[i].name);
            return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mailbench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (dir && mkdir_p(dir) != 0) {
        fprintf(stderr, "mailbench: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(ctx.root, sizeof ctx.root, "%s/mailbench.XXXXXX", dir ? dir : "/tmp");
    if (!mkdtemp(ctx.root)) {
        fprintf(stderr, "mailbench: cannot create a directory under %s: %s\n", dir ? dir : "/tmp", strerror(errno));
        return 1;
    }
    root_made = 1;
    atexit(cleanup_root);
    progress("libstore %s, scale %s, %d runs, scratch directory %s", ls_version(), ctx.full ? "full" : "small",
             ctx.runs, ctx.root);

    int failed = 0;
    for (size_t i = 0; i < NWORKLOADS; i++) {
        if (any && !selected[i])
            continue;
        result r;
        memset(&r, 0, sizeof r);
        r.workload = workloads[i].name;
        r.unit = "messages";
        r.target_kind = "ratio>=";
        progress("%s: start", r.workload);
        double t0 = now_s();
        int rc = workloads[i].fn(&ctx, &r);
        if (rc && !r.error[0])
            snprintf(r.error, sizeof r.error, "failed");
        if (rc)
            failed = 1;
        progress("%s: done in %.1f s", r.workload, now_s() - t0);
        emit(&r);
    }
    return failed;
}

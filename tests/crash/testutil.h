/*
 * Shared helpers of the crash / concurrency tests (tests/crash/).
 *
 * Header-only on purpose: each test is one program built from one .c file
 * plus this header, linked with the public library only (libstore.h).
 *
 *  - FAIL / CHECK_LS: print what differed (file:line, code, ls_error_last())
 *    and exit 1; the temporary directory is kept for inspection.
 *  - a seeded PRNG (splitmix64) and the seed from $LIBSTORE_TEST_SEED;
 *  - self-describing test messages: "X-Seed: SEED BODYLEN" in the header, the
 *    body derived from the seed, so that any stored message can be
 *    regenerated and compared byte for byte;
 *  - a temporary store (store.conf + configdirectory + partition);
 *  - ls_store_check run that prints findings and counts errors.
 */
#ifndef LIBSTORE_CRASH_TESTUTIL_H
#define LIBSTORE_CRASH_TESTUTIL_H

#include "libstore/libstore.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TU_UNUSED __attribute__((unused))

static const char *tu_name = "test";
static char tu_dir[4096];          /* the temporary directory, "" if none */
static int tu_keep_dir;            /* keep it (failure, or $LIBSTORE_TEST_KEEP) */
static void (*tu_on_fail)(void);   /* called once by FAIL before exiting (diagnostics) */

static TU_UNUSED void tu_logv(const char *tag, const char *fmt, va_list ap)
{
    char buf[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "[%s %ld] %s%s\n", tu_name, (long)getpid(), tag, buf);
}

static TU_UNUSED __attribute__((format(printf, 1, 2))) void tu_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tu_logv("", fmt, ap);
    va_end(ap);
}

static TU_UNUSED __attribute__((noreturn, format(printf, 3, 4))) void tu_fail(const char *file, int line,
                                                                            const char *fmt, ...)
{
    char where[512];
    snprintf(where, sizeof where, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    tu_logv(where, fmt, ap);
    va_end(ap);
    tu_keep_dir = 1;
    if (tu_on_fail) {
        void (*f)(void) = tu_on_fail;
        tu_on_fail = NULL;
        f();
    }
    if (tu_dir[0])
        fprintf(stderr, "[%s] store kept for inspection: %s\n", tu_name, tu_dir);
    fflush(NULL);
    exit(1);
}

#define FAIL(...) tu_fail(__FILE__, __LINE__, __VA_ARGS__)
#define CHECK(cond, ...)                                                                                   \
    do {                                                                                                   \
        if (!(cond))                                                                                       \
            FAIL(__VA_ARGS__);                                                                             \
    } while (0)
/* A libstore call that must succeed. */
#define CHECK_LS(call)                                                                                     \
    do {                                                                                                   \
        int _rc = (call);                                                                                  \
        if (_rc != LS_OK)                                                                                  \
            FAIL("%s returned %d (%s): %s", #call, _rc, ls_error_string(_rc), ls_error_last());                \
    } while (0)

/* ---- time ---- */
static TU_UNUSED double tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static TU_UNUSED void tu_sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- PRNG ---- */
typedef struct tu_rng { uint64_t s; } tu_rng;
static TU_UNUSED uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* Uniform in [0, n). */
static TU_UNUSED uint64_t tu_below(tu_rng *r, uint64_t n) { return n ? tu_next(r) % n : 0; }
static TU_UNUSED tu_rng tu_rng_make(uint64_t seed, uint64_t stream)
{
    tu_rng r = { seed * 0x2545f4914f6cdd1dull + stream * 0x9e3779b97f4a7c15ull + 1 };
    tu_next(&r);
    return r;
}

/* The run's seed: $LIBSTORE_TEST_SEED, else `dflt`; printed so a failure
 * can be replayed. */
static TU_UNUSED uint64_t tu_seed(uint64_t dflt)
{
    const char *e = getenv("LIBSTORE_TEST_SEED");
    uint64_t s = e && *e ? strtoull(e, NULL, 0) : dflt;
    tu_log("seed %" PRIu64 " (set LIBSTORE_TEST_SEED to change it)", s);
    return s;
}

/* ---- messages ---- */
/* The internal date every test message of seed `seed` gets (so that equal
 * content also has an equal date: single-instance storage links them). */
static TU_UNUSED ls_date tu_msg_date(uint64_t seed)
{
    ls_date d = { 1700000000 + (int64_t)(seed % 1000000), 0 };
    return d;
}

/* A CRLF message for (seed, bodylen), malloc'd. */
static TU_UNUSED char *tu_msg_make(uint64_t seed, size_t bodylen, size_t *len)
{
    char hdr[512];
    int h = snprintf(hdr, sizeof hdr,
                     "From: Sender %" PRIu64 " <s%" PRIu64 "@example.com>\r\n"
                     "To: rcpt@example.org\r\n"
                     "Subject: test message %" PRIu64 "\r\n"
                     "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                     "Message-ID: <%016" PRIx64 "@crash.test>\r\n"
                     "X-Seed: %" PRIu64 " %zu\r\n"
                     "\r\n",
                     seed, seed % 97, seed, seed, seed, bodylen);
    /* bodylen payload characters, in lines of 70, CRLF-terminated */
    char *m = malloc((size_t)h + bodylen + 2 * (bodylen / 70 + 1) + 2);
    if (!m)
        FAIL("out of memory");
    memcpy(m, hdr, (size_t)h);
    tu_rng r = tu_rng_make(seed, 77);
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-";
    size_t o = (size_t)h;
    for (size_t i = 0; i < bodylen; i++) {
        if (i && i % 70 == 0) {
            m[o++] = '\r';
            m[o++] = '\n';
        }
        m[o++] = alphabet[tu_below(&r, sizeof alphabet - 1)];
    }
    m[o++] = '\r';
    m[o++] = '\n';
    *len = o;
    return m;
}

/* Read "X-Seed: SEED LEN" from stored bytes. 0 if absent. */
static TU_UNUSED int tu_msg_parse(const char *data, size_t len, uint64_t *seed, size_t *bodylen)
{
    static const char tag[] = "\r\nX-Seed: ";
    const char *p = memmem(data, len, tag, sizeof tag - 1);
    if (!p)
        return 0;
    p += sizeof tag - 1;
    char buf[64];
    size_t n = 0;
    while (p + n < data + len && n < sizeof buf - 1 && p[n] != '\r')
        n++;
    memcpy(buf, p, n);
    buf[n] = 0;
    unsigned long long s;
    size_t b;
    if (sscanf(buf, "%llu %zu", &s, &b) != 2)
        return 0;
    *seed = s;
    *bodylen = b;
    return 1;
}

/* Check that stored bytes are exactly the message they claim to be. Returns
 * NULL if fine, else a static description of the difference. */
static TU_UNUSED const char *tu_msg_verify(const char *data, size_t len, uint64_t *seed_out)
{
    static char why[256];
    uint64_t seed;
    size_t bodylen;
    if (!tu_msg_parse(data, len, &seed, &bodylen)) {
        snprintf(why, sizeof why, "no X-Seed header in %zu stored bytes", len);
        return why;
    }
    if (seed_out)
        *seed_out = seed;
    size_t elen;
    char *exp = tu_msg_make(seed, bodylen, &elen);
    const char *res = NULL;
    if (elen != len) {
        snprintf(why, sizeof why, "seed %" PRIu64 ": %zu bytes stored, %zu expected", seed, len, elen);
        res = why;
    } else if (memcmp(exp, data, len) != 0) {
        size_t i = 0;
        while (exp[i] == data[i])
            i++;
        snprintf(why, sizeof why, "seed %" PRIu64 ": bytes differ from offset %zu", seed, i);
        res = why;
    }
    free(exp);
    return res;
}

/* ---- temporary directory and store ---- */
static int tu_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(p);
    return 0;
}
static TU_UNUSED void tu_rmtree(const char *dir) { nftw(dir, tu_rm_cb, 64, FTW_DEPTH | FTW_PHYS); }

static void tu_cleanup_dir(void)
{
    if (tu_dir[0] && !tu_keep_dir && !getenv("LIBSTORE_TEST_KEEP"))
        tu_rmtree(tu_dir);
}

static pid_t tu_main_pid;
static void tu_atexit(void)
{
    if (getpid() == tu_main_pid)
        tu_cleanup_dir();
}

/* Start a test: name for messages, a fresh temporary directory. */
static TU_UNUSED void tu_begin(const char *name)
{
    tu_name = name;
    tu_main_pid = getpid();
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(tu_dir, sizeof tu_dir, "%s/libstore-%s-XXXXXX", base, name);
    if (!mkdtemp(tu_dir))
        FAIL("mkdtemp %s: %s", tu_dir, strerror(errno));
    atexit(tu_atexit);
}

/* Write DIR/store.conf naming DIR/config and DIR/spool (unless `extra`
 * already names them), plus the lines of `extra`. Returns the path (static). */
static TU_UNUSED const char *tu_write_conf(const char *dir, const char *confdir, const char *spool, const char *extra)
{
    static char path[4200];
    char cdir[4200], sdir[4200];
    snprintf(cdir, sizeof cdir, "%s/config", dir);
    snprintf(sdir, sizeof sdir, "%s/spool", dir);
    snprintf(path, sizeof path, "%s/store.conf", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        FAIL("create %s: %s", path, strerror(errno));
    fprintf(f, "# written by the %s test\nconfigdirectory: %s\npartition-default: %s\n%s", tu_name,
            confdir ? confdir : cdir, spool ? spool : sdir, extra ? extra : "");
    if (fclose(f) != 0)
        FAIL("write %s: %s", path, strerror(errno));
    /* creating a store is explicit (mailstore init): once here, so every
     * later ls_store_open of the test opens this store (an existing one is
     * opened as it is) */
    ls_store *st;
    if (ls_store_open(path, LS_STORE_OPEN_CREATE, &st) != LS_OK)
        FAIL("init %s: %s", path, ls_error_last());
    ls_store_close(st);
    return path;
}

/* ---- ls_store_check ---- */
typedef struct tu_check { uint64_t errors, notices; int print_notices; const char *what; } tu_check;
static void tu_check_cb(enum ls_store_check_severity sev, const char *msg, void *arg)
{
    tu_check *c = arg;
    if (sev == LS_STORE_CHECK_ERROR) {
        c->errors++;
        tu_log("check ERROR (%s): %s", c->what, msg);
    } else {
        c->notices++;
        if (c->print_notices)
            tu_log("check notice (%s): %s", c->what, msg);
    }
}

/* Run ls_store_check; FAIL on any error finding. Returns the notice count. */
static TU_UNUSED uint64_t tu_check_clean(ls_store *st, const char *what, int print_notices)
{
    tu_check c = { 0, 0, print_notices, what };
    uint64_t nerr = 0;
    int rc = ls_store_check(st, tu_check_cb, &c, &nerr);
    if (rc != LS_OK)
        FAIL("ls_store_check (%s) returned %d (%s): %s", what, rc, ls_error_string(rc), ls_error_last());
    if (nerr != c.errors)
        FAIL("ls_store_check (%s): *nerrors = %" PRIu64 " but %" PRIu64 " error findings were reported", what, nerr,
             c.errors);
    if (nerr)
        FAIL("ls_store_check (%s) found %" PRIu64 " error(s) (listed above)", what, nerr);
    return c.notices;
}

/* ---- counters from a full scan ---- */
typedef struct tu_scan {
    uint32_t messages, unseen, deleted, flagged, answered;
    uint64_t size, maxmodseq;
    uint32_t lastuid;
    int out_of_order;
} tu_scan;
static int tu_scan_cb(const ls_record *r, const ls_cached *c, void *arg)
{
    (void)c;
    tu_scan *s = arg;
    if (r->uid <= s->lastuid)
        s->out_of_order = 1;
    s->lastuid = r->uid;
    s->messages++;
    if (!(r->flags & LS_FLAG_SEEN))
        s->unseen++;
    if (r->flags & LS_FLAG_DELETED)
        s->deleted++;
    if (r->flags & LS_FLAG_FLAGGED)
        s->flagged++;
    if (r->flags & LS_FLAG_ANSWERED)
        s->answered++;
    s->size += r->size;
    if (r->modseq > s->maxmodseq)
        s->maxmodseq = r->modseq;
    return 0;
}

/* STATUS of an open mailbox must equal what a full scan counts. */
static TU_UNUSED void tu_check_counters(ls_mailbox *mb, const char *what)
{
    tu_scan sc = { 0 };
    ls_status s;
    CHECK_LS(ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_RECORD, tu_scan_cb, &sc));
    CHECK_LS(ls_mailbox_status_open(mb, &s));
    const char *name = ls_mailbox_name(mb);
    CHECK(!sc.out_of_order, "%s: %s: ls_message_foreach returned UIDs out of order", what, name);
    if (s.messages != sc.messages || s.unseen != sc.unseen || s.deleted != sc.deleted || s.flagged != sc.flagged ||
        s.answered != sc.answered || s.size != sc.size)
        FAIL("%s: %s: STATUS says messages %u unseen %u deleted %u flagged %u answered %u size %" PRIu64
             "; a full scan says messages %u unseen %u deleted %u flagged %u answered %u size %" PRIu64,
             what, name, s.messages, s.unseen, s.deleted, s.flagged, s.answered, s.size, sc.messages, sc.unseen,
             sc.deleted, sc.flagged, sc.answered, sc.size);
    CHECK(sc.lastuid < s.uidnext, "%s: %s: UID %u is not below UIDNEXT %u", what, name, sc.lastuid, s.uidnext);
    CHECK(sc.maxmodseq <= s.highestmodseq, "%s: %s: a record has MODSEQ %" PRIu64 " above HIGHESTMODSEQ %" PRIu64,
          what, name, sc.maxmodseq, s.highestmodseq);
}

/* Fetch a whole message and verify its bytes; FAIL with context. Returns its seed. */
static TU_UNUSED uint64_t tu_fetch_verify(ls_mailbox *mb, uint32_t uid, const char *what)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ls_message_fetch(mb, uid, "", 0, UINT64_MAX, &data, &len);
    if (rc != LS_OK)
        FAIL("%s: %s uid %u: fetch failed with %d (%s): %s", what, ls_mailbox_name(mb), uid, rc, ls_error_string(rc),
             ls_error_last());
    uint64_t seed = 0;
    const char *why = tu_msg_verify(data, len, &seed);
    if (why)
        FAIL("%s: %s uid %u: content is wrong: %s", what, ls_mailbox_name(mb), uid, why);
    ls_free(data);
    return seed;
}

/* Write all of a buffer to an fd (pipes, logs); 0 or errno. */
static TU_UNUSED int tu_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

#endif

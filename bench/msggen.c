/*
 * Realistic test messages, generated in memory.
 *
 * Every message is unique (its Message-ID and Date carry a sequence number),
 * so single-instance storage never folds two of them together. Sizes are
 * log-uniform between 2 KB and 50 KB (mean about 15 KB); about a third are
 * multipart/mixed with one or two base64 attachments, the rest text/plain.
 * Line ends are CRLF, so the library stores the very bytes the plain-file
 * baselines write.
 */
#include "mailbench.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const first_names[] = {
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
    "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yolanda",
    "Harry", "Chiara", "Mei", "Ahmed", "Sofia", "Lars", "Ines", "Kenji", "Priya", "Tomasz",
};
static const char *const last_names[] = {
    "Bovik", "Smith", "Jones", "Garcia", "Müller", "Rossi", "Dubois", "Tanaka", "Novak", "Silva",
    "Andersen", "Kowalski", "Okafor", "Nguyen", "Haddad", "Ivanova", "Schmidt", "Moreau", "Costa", "Lindqvist",
    "Kim", "Patel", "Fischer", "Romano", "Larsen", "Horvath", "Weber", "Brown", "Wilson", "Taylor",
};
static const char *const domains[] = {
    "example.org", "example.com", "example.net", "mail.example.edu", "lists.example.org",
    "corp.example.com", "uni.example.ac.uk", "post.example.de",
};
static const char *const words[] = {
    "the", "meeting", "report", "quarterly", "budget", "please", "review", "attached", "draft",
    "proposal", "schedule", "project", "update", "status", "thanks", "regards", "question", "about",
    "invoice", "deadline", "team", "release", "server", "migration", "storage", "mailbox", "index",
    "cache", "tomorrow", "next", "week", "call", "notes", "summary", "follow", "up", "on", "our",
    "discussion", "agenda", "minutes", "travel", "plans", "conference", "paper", "submission", "and",
    "for", "with", "from", "this", "that", "have", "will", "would", "could", "should", "into", "over",
    "customer", "feedback", "design", "document", "version", "change", "request", "approved", "pending",
};
static const char *const subjects_extra[] = {
    "Re: ", "Fwd: ", "", "", "", "[team] ", "AW: ", "",
};

/* Search terms: "Bovik" is one of 30 last names, "quarterly" one of ~70 words. */
const char *const msggen_search_from = "bovik";
const char *const msggen_search_subject = "quarterly";

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rnd(msggen *g)
{
    /* xorshift64* */
    uint64_t x = g->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static unsigned rndn(msggen *g, unsigned n) { return (unsigned)(rnd(g) % n); }

/* Pools of ready-made body lines, shared by all generators (built once). */
typedef struct pool {
    char *text;
    size_t len;
    size_t *line;     /* offsets of line starts */
    size_t nlines;
} pool;
static pool text_pool, b64_pool;

static void pool_add_line(pool *p, size_t *cap, size_t *lcap, const char *s, size_t n)
{
    if (p->len + n + 2 > *cap) {
        *cap = (*cap ? *cap * 2 : 65536) + n;
        p->text = realloc(p->text, *cap);
    }
    if (p->nlines + 1 > *lcap) {
        *lcap = *lcap ? *lcap * 2 : 1024;
        p->line = realloc(p->line, *lcap * sizeof *p->line);
    }
    if (!p->text || !p->line) {
        fprintf(stderr, "mailbench: out of memory\n");
        exit(1);
    }
    p->line[p->nlines++] = p->len;
    memcpy(p->text + p->len, s, n);
    p->len += n;
    p->text[p->len++] = '\r';
    p->text[p->len++] = '\n';
}

static void pools_init(void)
{
    if (text_pool.text)
        return;
    msggen g = { .rng = 0x9E3779B97F4A7C15ULL };
    size_t cap = 0, lcap = 0;
    char line[128];
    /* about 512 KB of prose: lines of up to 72 characters, blank lines between paragraphs */
    while (text_pool.len < 512 * 1024) {
        size_t n = 0;
        if (rndn(&g, 8) == 0) {
            pool_add_line(&text_pool, &cap, &lcap, "", 0);
            continue;
        }
        for (;;) {
            const char *w = words[rndn(&g, NELEM(words))];
            size_t wl = strlen(w);
            if (n + wl + 1 > 72)
                break;
            if (n)
                line[n++] = ' ';
            memcpy(line + n, w, wl);
            n += wl;
        }
        if (rndn(&g, 4) == 0)
            line[n++] = '.';
        pool_add_line(&text_pool, &cap, &lcap, line, n);
    }
    /* about 1 MB of base64 lines (76 characters) of random bytes */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    cap = lcap = 0;
    while (b64_pool.len < 1024 * 1024) {
        for (int i = 0; i < 76; i++)
            line[i] = b64[rnd(&g) >> 58];
        pool_add_line(&b64_pool, &cap, &lcap, line, 76);
    }
}

/* A growing buffer. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_need(sbuf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "mailbench: out of memory\n");
        exit(1);
    }
    b->p = p;
    b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    sb_need(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_lit(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Copy whole lines from a pool until about `want` bytes were added. */
static void sb_lines(sbuf *b, msggen *g, const pool *p, size_t want)
{
    size_t start = b->n;
    while (b->n - start < want) {
        size_t i = rndn(g, (unsigned)p->nlines);
        size_t k = 1 + rndn(g, 40);
        if (i + k > p->nlines)
            k = p->nlines - i;
        size_t from = p->line[i], to = i + k < p->nlines ? p->line[i + k] : p->len;
        if (to - from > want - (b->n - start) + 80) {
            /* cut to whole lines near the wanted size */
            size_t j = i + 1;
            while (j < i + k && p->line[j] - from < want - (b->n - start))
                j++;
            to = j < p->nlines ? p->line[j] : p->len;
        }
        sb_put(b, p->text + from, to - from);
    }
}

static void person(sbuf *b, msggen *g, const char *field)
{
    const char *f = first_names[rndn(g, NELEM(first_names))];
    const char *l = last_names[rndn(g, NELEM(last_names))];
    const char *d = domains[rndn(g, NELEM(domains))];
    char lower[64];
    size_t n = 0;
    for (const char *s = f; *s && n < sizeof lower - 1; s++)
        lower[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    lower[n] = 0;
    /* non-ASCII names as RFC 2047 encoded words, the way real clients send them */
    if (strchr(l, (char)0xC3))
        sb_printf(b, "%s: =?UTF-8?Q?%s_M=C3=BCller?= <%s.mueller@%s>\r\n", field, f, lower, d);
    else
        sb_printf(b, "%s: \"%s %s\" <%s.%c%s@%s>\r\n", field, f, l, lower, l[0] + 32, l + 1, d);
}

void msggen_init(msggen *g, uint64_t seed)
{
    pools_init();
    g->rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (!g->rng)
        g->rng = 1;
    g->seq = seed << 32;
}

char *msggen_next(msggen *g, size_t *len)
{
    static const char *const days[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    uint64_t seq = ++g->seq;
    /* log-uniform size in [2 KB, 50 KB] */
    double u = (double)(rnd(g) >> 11) / (double)(1ULL << 53);
    size_t target = (size_t)(2048.0 * exp(u * log(50.0 * 1024 / 2048.0)));
    int multipart = rndn(g, 3) == 0;

    sbuf b = { 0 };
    sb_need(&b, target + 4096);
    /* a date in 2026, advancing with the sequence */
    int64_t t = 1767225600 + (int64_t)(seq % 30000000) + rndn(g, 600);
    int64_t days_since = t / 86400, secs = t % 86400;
    /* civil date from days (Howard Hinnant's algorithm) */
    int64_t z = days_since + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));
    char date[64];
    snprintf(date, sizeof date, "%s, %02d %s %d %02d:%02d:%02d +0000", days[days_since % 7], d, months[m - 1], y,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));

    sb_printf(&b, "Return-Path: <bounce-%llu@lists.example.org>\r\n", (unsigned long long)seq);
    sb_printf(&b, "Received: from mx%u.example.net (mx%u.example.net [192.0.2.%u])\r\n"
                  "\tby mail.example.org (libstore-bench) with ESMTPS id %016llx\r\n"
                  "\tfor <user@example.org>; %s\r\n",
              rndn(g, 9), rndn(g, 9), 1 + rndn(g, 250), (unsigned long long)rnd(g), date);
    person(&b, g, "From");
    person(&b, g, "To");
    if (rndn(g, 3) == 0)
        person(&b, g, "Cc");
    sb_printf(&b, "Subject: %s", subjects_extra[rndn(g, NELEM(subjects_extra))]);
    for (unsigned i = 0, nw = 3 + rndn(g, 7); i < nw; i++)
        sb_printf(&b, "%s%s", i ? " " : "", words[rndn(g, NELEM(words))]);
    sb_printf(&b, " #%llu\r\n", (unsigned long long)(seq & 0xffffffff));
    sb_printf(&b, "Date: %s\r\n", date);
    sb_printf(&b, "Message-ID: <%llu.%016llx@mail.example.org>\r\n", (unsigned long long)seq,
              (unsigned long long)rnd(g));
    if (rndn(g, 2) == 0)
        sb_printf(&b, "In-Reply-To: <%llu.0@mail.example.org>\r\n", (unsigned long long)(seq - 1));
    sb_lit(&b, "MIME-Version: 1.0\r\n");

    size_t hdr = b.n;
    size_t body = target > hdr + 256 ? target - hdr : 256;
    if (!multipart) {
        sb_lit(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        sb_lines(&b, g, &text_pool, body);
    } else {
        char bnd[64];
        snprintf(bnd, sizeof bnd, "=_bench_%llu_%08x", (unsigned long long)seq, (unsigned)rnd(g));
        sb_printf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", bnd);
        sb_lit(&b, "This is a multi-part message in MIME format.\r\n\r\n");
        sb_printf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", bnd);
        size_t text = body / 5 + 200;
        sb_lines(&b, g, &text_pool, text);
        int natt = 1 + (int)rndn(g, 2);
        size_t rest = body > text ? body - text : 512;
        static const char *const types[][2] = {
            { "application/pdf", "report.pdf" }, { "image/png", "screenshot.png" },
            { "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "budget.xlsx" },
            { "image/jpeg", "photo.jpg" }, { "application/zip", "logs.zip" },
        };
        for (int a = 0; a < natt; a++) {
            unsigned k = rndn(g, NELEM(types));
            sb_printf(&b, "\r\n--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n"
                          "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
                      bnd, types[k][0], types[k][1], types[k][1]);
            sb_lines(&b, g, &b64_pool, rest / (size_t)natt);
        }
        sb_printf(&b, "\r\n--%s--\r\n", bnd);
    }
    *len = b.n;
    return b.p;
}

int msgset_make(msgset *ms, msggen *g, size_t n)
{
    memset(ms, 0, sizeof *ms);
    ms->msg = calloc(n ? n : 1, sizeof *ms->msg);
    ms->len = calloc(n ? n : 1, sizeof *ms->len);
    if (!ms->msg || !ms->len) {
        free(ms->msg);
        free(ms->len);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        ms->msg[i] = msggen_next(g, &ms->len[i]);
        ms->bytes += ms->len[i];
    }
    ms->n = n;
    return 0;
}

void msgset_free(msgset *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        free(ms->msg[i]);
    free(ms->msg);
    free(ms->len);
    memset(ms, 0, sizeof *ms);
}

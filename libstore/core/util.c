/*
 * Pure helpers: sequence sets, IMAP dates, system flags, keywords.
 * Parsers follow the RFC 3501 grammar strictly: the tools feed them user
 * input, and a lenient parse of a mistyped UID set could touch the wrong
 * messages.
 */
#include "core/util.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Quote at most this many bytes of bad input in a message. */
#define EXCERPT_MAX 60

/* Printable excerpt of s for error messages (bytes outside ASCII -> '?'). */
static const char *excerpt(const char *s, char *buf, size_t bufsize)
{
    size_t i = 0;
    for (; s[i] && i < EXCERPT_MAX && i < bufsize - 4; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[i]) { memcpy(buf + i, "...", 4); }
    else buf[i] = 0;
    return buf;
}

/* ---------------------------------------------------------------- sets */

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT (fits 32 bits).
 * Advances *p past it. Returns 0 on success. */
static int parse_seq_number(const char **p, uint32_t *out)
{
    const char *s = *p;
    if (*s == '*') { *out = UINT32_MAX; *p = s + 1; return 0; }
    if (*s < '1' || *s > '9') return -1;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX) return -1;
        s++;
    }
    *out = (uint32_t)v;
    *p = s;
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const ls_range *x = a, *y = b;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sort and merge overlapping or adjacent ranges in place. */
static size_t normalize_ranges(ls_range *r, size_t n)
{
    if (n == 0) return 0;
    qsort(r, n, sizeof *r, cmp_range);
    size_t w = 0;
    for (size_t i = 1; i < n; i++) {
        /* adjacent: r[w].hi + 1 == r[i].lo, written so that it cannot overflow */
        if (r[i].lo <= r[w].hi || r[i].lo - 1 == r[w].hi) {
            if (r[i].hi > r[w].hi) r[w].hi = r[i].hi;
        } else {
            r[++w] = r[i];
        }
    }
    return w + 1;
}

/* Explain why the set failed to parse at p. */
static int set_error(const char *text, const char *p)
{
    char ex[EXCERPT_MAX + 4];
    size_t at = (size_t)(p - text) + 1;
    if (*p == '0')
        return ls__err(LS_EINVAL, "bad sequence set '%s' at byte %zu: numbers start at 1 "
                      "(no 0, no leading zeros)", excerpt(text, ex, sizeof ex), at);
    if (*p >= '1' && *p <= '9')
        return ls__err(LS_EINVAL, "bad sequence set '%s' at byte %zu: number larger than 4294967295",
                      excerpt(text, ex, sizeof ex), at);
    if (*p == ',' && p[1] == 0)
        return ls__err(LS_EINVAL, "bad sequence set '%s': trailing ','", excerpt(text, ex, sizeof ex));
    return ls__err(LS_EINVAL, "bad sequence set '%s' at byte %zu: expected a number, '*', 'N:M' or ','",
                  excerpt(text, ex, sizeof ex), at);
}

int ls_set_parse(const char *text, ls_set *out)
{
    out->r = NULL;
    out->n = 0;
    if (!text || !*text) return ls__err(LS_EINVAL, "empty sequence set");
    /* Each range needs at least two bytes ("1,"), so this bounds the count. */
    size_t cap = strlen(text) / 2 + 1, n = 0;
    ls_range *r = malloc(cap * sizeof *r);
    if (!r) return ls__err(LS_ENOMEM, "out of memory parsing a sequence set");
    const char *p = text;
    for (;;) {
        uint32_t a, b;
        if (parse_seq_number(&p, &a)) goto bad;
        b = a;
        if (*p == ':') {
            p++;
            if (parse_seq_number(&p, &b)) goto bad;
        }
        r[n].lo = a < b ? a : b;
        r[n].hi = a < b ? b : a;
        n++;
        if (*p == 0) break;
        if (*p != ',' || p[1] == 0) goto bad;
        p++;
        continue;
    bad:
        free(r);
        return set_error(text, p);
    }
    out->n = normalize_ranges(r, n);
    out->r = r;
    return LS_OK;
}

int ls_set_contains(const ls_set *s, uint32_t v)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v < s->r[mid].lo) hi = mid;
        else if (v > s->r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

void ls_set_dispose(ls_set *s)
{
    if (!s) return;
    free(s->r);
    s->r = NULL;
    s->n = 0;
}

static int fmt_num(char *p, uint32_t v)
{
    if (v == UINT32_MAX) { p[0] = '*'; p[1] = 0; return 1; }
    return sprintf(p, "%u", v);
}

char *ls_set_format(const ls_set *s)
{
    /* "4294967294:4294967294," is at most 22 bytes per range. */
    char *buf = malloc(s->n * 22 + 1);
    if (!buf) return NULL;
    char *p = buf;
    *p = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i) *p++ = ',';
        p += fmt_num(p, s->r[i].lo);
        if (s->r[i].hi != s->r[i].lo) {
            *p++ = ':';
            p += fmt_num(p, s->r[i].hi);
        }
    }
    *p = 0;
    return buf;
}

/* ---------------------------------------------------------------- dates */

static const char *const month_names[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
    static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 1 && is_leap(y) ? 29 : d[m];
}

/* Parse exactly n digits at *p. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* date-text without quotes: day "-" month "-" year, advancing *p.
 * fixed_day: the date-time form, where the day is " 1", "01" or "1"
 * (RFC 3501 date-day-fixed, plus the unpadded form the header documents). */
static int parse_date_text(const char **p, int fixed_day, struct tm *tm)
{
    const char *s = *p;
    int day = 0, year, mon = -1;
    if (fixed_day && *s == ' ') s++;
    if (*s < '0' || *s > '9') return -1;
    day = *s++ - '0';
    if (*s >= '0' && *s <= '9') day = day * 10 + (*s++ - '0');
    if (*s++ != '-') return -1;
    for (int i = 0; i < 12; i++)
        if (strncasecmp(s, month_names[i], 3) == 0) { mon = i; break; }
    if (mon < 0) return -1;
    s += 3;
    if (*s++ != '-') return -1;
    if (digits(&s, 4, &year)) return -1;
    if (year < 1 || day < 1 || day > days_in_month(year, mon)) return -1;
    memset(tm, 0, sizeof *tm);
    tm->tm_mday = day;
    tm->tm_mon = mon;
    tm->tm_year = year - 1900;
    *p = s;
    return 0;
}

/* time = 2DIGIT ":" 2DIGIT ":" 2DIGIT; zone = ("+" / "-") 4DIGIT. A leap
 * second (:60) is allowed, as RFC 5322 allows it; timegm carries it over. */
static int parse_time_zone(const char *s, struct tm *tm, int *tz)
{
    int hh, mm, ss, zh, zm;
    if (digits(&s, 2, &hh) || *s++ != ':' || digits(&s, 2, &mm) || *s++ != ':' || digits(&s, 2, &ss))
        return -1;
    if (hh > 23 || mm > 59 || ss > 60) return -1;
    if (*s++ != ' ') return -1;
    char sign = *s++;
    if (sign != '+' && sign != '-') return -1;
    if (digits(&s, 2, &zh) || digits(&s, 2, &zm) || *s) return -1;
    if (zh > 23 || zm > 59) return -1;
    tm->tm_hour = hh;
    tm->tm_min = mm;
    tm->tm_sec = ss;
    *tz = (sign == '-' ? -1 : 1) * (zh * 60 + zm);
    return 0;
}

int ls_date_parse_imap(const char *s, ls_date *out)
{
    char ex[EXCERPT_MAX + 4];
    struct tm tm;
    int tz;
    const char *p = s;
    if (!s || parse_date_text(&p, 1, &tm) || *p++ != ' ' || parse_time_zone(p, &tm, &tz))
        return ls__err(LS_EINVAL, "bad date-time '%s' (expected e.g. \"21-Nov-2026 10:00:00 +0000\")",
                      s ? excerpt(s, ex, sizeof ex) : "");
    out->t = (int64_t)timegm(&tm) - (int64_t)tz * 60;
    out->tz = (int16_t)tz;
    return LS_OK;
}

void ls_date_format_imap(const ls_date *d, char *buf, size_t buflen)
{
    /* Show the wall-clock time of the zone the date was given in. */
    time_t local = (time_t)(d->t + (int64_t)d->tz * 60);
    struct tm tm;
    if (buflen == 0) return;
    if (!gmtime_r(&local, &tm)) { snprintf(buf, buflen, "01-Jan-1970 00:00:00 +0000"); return; }
    int tz = d->tz < 0 ? -d->tz : d->tz;
    snprintf(buf, buflen, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday, month_names[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, d->tz < 0 ? '-' : '+', tz / 60, tz % 60);
}

int ls_date_parse_search(const char *s, int64_t *out_day_start)
{
    char ex[EXCERPT_MAX + 4];
    struct tm tm;
    const char *p = s;
    /* date = date-text / DQUOTE date-text DQUOTE */
    int quoted = s && *p == '"';
    if (quoted) p++;
    if (!s || parse_date_text(&p, 0, &tm) || (quoted && *p++ != '"') || *p)
        return ls__err(LS_EINVAL, "bad date '%s' (expected e.g. 1-Feb-1994)", s ? excerpt(s, ex, sizeof ex) : "");
    *out_day_start = (int64_t)timegm(&tm);
    return LS_OK;
}

/* ---------------------------------------------------------------- flags */

static const char *const flag_names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft" };

unsigned ls_flag_from_name(const char *name)
{
    if (!name) return 0;
    for (unsigned i = 0; i < 5; i++)
        if (strcasecmp(name, flag_names[i]) == 0) return 1u << i;
    return 0;
}

const char *ls_flag_name(enum ls_flag flag)
{
    for (unsigned i = 0; i < 5; i++)
        if ((unsigned)flag == 1u << i) return flag_names[i];
    return NULL;
}

int ls_flag_keyword_valid(const char *kw)
{
    if (!kw) return 0;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)kw; *p; p++, n++) {
        if (n >= 100) return 0;
        if (*p <= 0x20 || *p >= 0x7f) return 0;   /* SP, CTL, 8-bit */
        if (strchr("(){%*\"\\]", *p)) return 0;   /* atom-specials */
    }
    return n > 0;
}

/*
 * RFC 5322 date parsing, as tolerant as Dovecot's message_date_parse():
 * optional weekday, 1-2 digit day, month name (first three letters), 2 or
 * 4 digit year (2 digits: 70-99 = 19xx, else 20xx), 1-2 digit hour, ':' or
 * '.' as time separator, optional seconds, comments anywhere. Zones:
 * +hhmm/-hhmm, UT/GMT, the US zones, military letters; an unknown zone is
 * taken as UTC rather than rejecting the date. Out-of-range fields (31
 * Feb, 25:00) are rejected; a leap second 60 counts as 59.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

static const char months[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int zone_minutes(const unsigned char *s, size_t n)
{
    if (n == 5 && (s[0] == '+' || s[0] == '-')) {
        for (int i = 1; i < 5; i++)
            if (!isdigit(s[i]))
                return 0;
        int off = ((s[1] - '0') * 10 + (s[2] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
        return s[0] == '+' ? off : -off;
    }
    if (n == 1) {
        /* military zones the way they were meant, not as RFC 822 had them */
        int ch = toupper(s[0]);
        if (ch < 'J')
            return (s[0] - 'A' + 1) * 60;
        if (ch == 'J')
            return 0;
        if (ch <= 'M')
            return (s[0] - 'A') * 60;
        if (ch < 'Z')
            return ('M' - s[0]) * 60;
        return 0;
    }
    if (n == 2 && toupper(s[0]) == 'U' && toupper(s[1]) == 'T')
        return 0;
    if (n == 3 && s[2] == 'T') {
        int off;
        switch (toupper(s[0])) {
        case 'E': off = -5 * 60; break;
        case 'C': off = -6 * 60; break;
        case 'M': off = -7 * 60; break;
        case 'P': off = -8 * 60; break;
        default: return 0;
        }
        if (toupper(s[1]) == 'D')
            return off + 60;
        if (toupper(s[1]) == 'S')
            return off;
    }
    return 0;
}

/* Next atom into tok; 1 = got one, 0 = none (end), -1 = error. */
static int next_token(rfc_ctx *c, ls_sbuf *tok)
{
    sb_clear(tok);
    int ret = c->p >= c->end ? 0 : ls__rfc_parse_atom(c, tok);
    if (ret < 0)
        return -1;
    return tok->len > 0;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m];
}

static bool parse(rfc_ctx *c, ls_sbuf *tok, int64_t *t, int16_t *tz)
{
    int mday, mon = -1, year = 0, hour, min, sec = 0, zone = 0;
    const char *v;
    size_t n;

    ls__rfc_skip_lwsp(c);
    if (next_token(c, tok) <= 0)
        return false;
    if (tok->len == 3) {
        /* a weekday must be followed by ',' */
        if (c->p >= c->end || *c->p != ',')
            return false;
        c->p++;
        ls__rfc_skip_lwsp(c);
        if (next_token(c, tok) <= 0)
            return false;
    }
    v = tok->p;
    n = tok->len;
    if (n < 1 || n > 2 || !all_digits(v, n))
        return false;
    mday = n == 2 ? (v[0] - '0') * 10 + (v[1] - '0') : v[0] - '0';

    if (next_token(c, tok) <= 0 || tok->len < 3)
        return false;
    for (int i = 0; i < 12; i++) {
        if (strncasecmp(months[i], tok->p, 3) == 0) {
            mon = i;
            break;
        }
    }
    if (mon < 0)
        return false;

    if (next_token(c, tok) <= 0 || (tok->len != 2 && tok->len != 4) ||
        !all_digits(tok->p, tok->len))
        return false;
    for (size_t i = 0; i < tok->len; i++)
        year = year * 10 + (tok->p[i] - '0');
    if (tok->len == 2)
        year += year < 70 ? 2000 : 1900;
    else if (year < 1900)
        return false;

    if (next_token(c, tok) <= 0 || tok->len < 1 || tok->len > 2 || !all_digits(tok->p, tok->len))
        return false;
    hour = tok->len == 2 ? (tok->p[0] - '0') * 10 + (tok->p[1] - '0') : tok->p[0] - '0';

    if (c->p >= c->end || (*c->p != ':' && *c->p != '.'))
        return false;
    c->p++;
    ls__rfc_skip_lwsp(c);
    if (next_token(c, tok) < 0 || tok->len != 2 || !all_digits(tok->p, 2))
        return false;
    min = (tok->p[0] - '0') * 10 + (tok->p[1] - '0');

    if (c->p < c->end && (*c->p == ':' || *c->p == '.')) {
        c->p++;
        ls__rfc_skip_lwsp(c);
        if (next_token(c, tok) <= 0 || tok->len != 2 || !all_digits(tok->p, 2))
            return false;
        sec = (tok->p[0] - '0') * 10 + (tok->p[1] - '0');
    }

    int ret = next_token(c, tok);
    if (ret < 0)
        return false;
    if (ret > 0)
        zone = zone_minutes((const unsigned char *)tok->p, tok->len);

    if (sec == 60)
        sec = 59;
    if (mday < 1 || mday > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 59)
        return false;
    int64_t days = days_from_civil(year, (unsigned)mon + 1, (unsigned)mday);
    *t = days * 86400 + hour * 3600 + min * 60 + sec - (int64_t)zone * 60;
    *tz = (int16_t)zone;
    return true;
}

typedef struct date_job {
    const char *s;
    size_t len;
    ls_sbuf tok;
    int64_t t;
    int16_t tz;
    bool ok;
} date_job;

static void date_run(void *arg)
{
    date_job *j = arg;
    rfc_ctx c;
    rfc_init(&c, j->s, j->len);
    j->ok = parse(&c, &j->tok, &j->t, &j->tz);
}

int ls__rfc822_date_parse(const char *s, size_t len, int64_t *t, int16_t *tz)
{
    date_job j;
    if (s == NULL)
        return 0;
    memset(&j, 0, sizeof(j));
    j.s = s;
    j.len = len;
    int r = ls__mime_guard(date_run, &j);
    ls__sb_free(&j.tok);
    if (r < 0 || !j.ok)
        return 0;
    *t = j.t;
    *tz = j.tz;
    return 1;
}

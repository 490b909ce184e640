/*
 * ls__mime_header_get(): one header field's value, unfolded, optionally with
 * RFC 2047 encoded-words decoded to UTF-8 (for SEARCH and display).
 *
 * Decoding handles B and Q, and the charsets that cover nearly all mail in
 * practice without iconv: us-ascii, utf-8, iso-8859-1 (and latin1) and
 * windows-1252. Other charsets pass their decoded bytes through. White
 * space between two encoded-words is dropped (RFC 2047 section 6.2);
 * malformed encoded-words are left as written.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

/* windows-1252 0x80..0x9F; 0 = undefined (shown as U+FFFD) */
static const uint16_t cp1252[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static void add_utf8(ls_sbuf *out, unsigned cp)
{
    char b[3];
    if (cp < 0x80) {
        ls__sb_addc(out, (char)cp);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        ls__sb_add(out, b, 2);
    } else {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        ls__sb_add(out, b, 3);
    }
}

enum cs { CS_PASS, CS_LATIN1, CS_CP1252 };

static enum cs charset_kind(const char *cs, size_t n)
{
    /* RFC 2231 allows "charset*lang" */
    const char *star = memchr(cs, '*', n);
    if (star)
        n = (size_t)(star - cs);
#define IS(s) (n == sizeof(s) - 1 && strncasecmp(cs, s, n) == 0)
    if (IS("iso-8859-1") || IS("iso8859-1") || IS("latin1") || IS("l1") || IS("iso_8859-1"))
        return CS_LATIN1;
    if (IS("windows-1252") || IS("cp1252"))
        return CS_CP1252;
#undef IS
    return CS_PASS; /* utf-8, us-ascii and anything unknown */
}

static void add_charset(ls_sbuf *out, enum cs kind, const unsigned char *s, size_t n)
{
    if (kind == CS_PASS) {
        ls__sb_add(out, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c < 0x80)
            ls__sb_addc(out, (char)c);
        else if (kind == CS_CP1252 && c < 0xA0)
            add_utf8(out, cp1252[c - 0x80] ? cp1252[c - 0x80] : 0xFFFD);
        else
            add_utf8(out, c);
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode the text of one encoded-word into tmp; false if malformed. */
static bool decode_word(char enc, const char *t, size_t n, ls_sbuf *tmp)
{
    sb_clear(tmp);
    if (enc == 'Q' || enc == 'q') {
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '_') {
                ls__sb_addc(tmp, ' ');
            } else if (t[i] == '=' && i + 2 < n && hexval(t[i + 1]) >= 0 &&
                       hexval(t[i + 2]) >= 0) {
                ls__sb_addc(tmp, (char)(hexval(t[i + 1]) * 16 + hexval(t[i + 2])));
                i += 2;
            } else {
                ls__sb_addc(tmp, t[i]);
            }
        }
        return true;
    }
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '=')
            break;
        int v = b64val((unsigned char)t[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            ls__sb_addc(tmp, (char)((acc >> bits) & 0xFF));
        }
    }
    return true;
}

/* Try to read "=?cs?E?text?=" at s[i]; on success returns its end. */
static size_t parse_word(const char *s, size_t n, size_t i, const char **cs, size_t *csn,
                         char *enc, const char **txt, size_t *txtn)
{
    if (i + 1 >= n || s[i] != '=' || s[i + 1] != '?')
        return 0;
    size_t p = i + 2, c0 = p;
    while (p < n && s[p] != '?' && s[p] != ' ' && s[p] != '\t')
        p++;
    if (p + 3 >= n || s[p] != '?' || p == c0 || s[p + 2] != '?')
        return 0;
    char e = s[p + 1];
    if (e != 'B' && e != 'b' && e != 'Q' && e != 'q')
        return 0;
    size_t t0 = p + 3, q = t0;
    while (q + 1 < n && !(s[q] == '?' && s[q + 1] == '=')) {
        if (s[q] == ' ' || s[q] == '\t')
            return 0;
        q++;
    }
    if (q + 1 >= n)
        return 0;
    *cs = s + c0;
    *csn = p - c0;
    *enc = e;
    *txt = s + t0;
    *txtn = q - t0;
    return q + 2;
}

static void decode_words(const char *s, size_t n, ls_sbuf *out)
{
    ls_sbuf tmp = {0};
    size_t i = 0, pending_ws = 0;
    bool last_was_word = false;
    while (i < n) {
        const char *cs, *txt;
        size_t csn, txtn;
        char enc;
        size_t end = parse_word(s, n, i, &cs, &csn, &enc, &txt, &txtn);
        if (end != 0 && decode_word(enc, txt, txtn, &tmp)) {
            /* whitespace between two encoded-words is not shown */
            if (!last_was_word)
                ls__sb_add(out, s + i - pending_ws, pending_ws);
            pending_ws = 0;
            add_charset(out, charset_kind(cs, csn), (const unsigned char *)tmp.p, tmp.len);
            last_was_word = true;
            i = end;
            continue;
        }
        if (s[i] == ' ' || s[i] == '\t') {
            pending_ws++;
            i++;
            continue;
        }
        ls__sb_add(out, s + i - pending_ws, pending_ws);
        pending_ws = 0;
        ls__sb_addc(out, s[i]);
        last_was_word = false;
        i++;
    }
    ls__sb_add(out, s + n - pending_ws, pending_ws);
    ls__sb_free(&tmp);
}

/* Value of the field at h, unfolded: line breaks of folding removed. */
static void unfold(const char *hdr, const hdr_line *h, ls_sbuf *out)
{
    size_t end = h->raw_off + h->raw_len;
    for (size_t i = h->value_off; i < end; i++) {
        if (hdr[i] == '\r' && i + 1 < end && hdr[i + 1] == '\n')
            continue;
        if (hdr[i] == '\n')
            continue;
        ls__sb_addc(out, hdr[i]);
    }
}

typedef struct get_job {
    const char *hdr, *name;
    size_t len;
    int decode;
    ls_sbuf raw, dec;
    char *result;
} get_job;

static void get_run(void *arg)
{
    get_job *j = arg;
    size_t nlen = strlen(j->name), pos = 0;
    while (pos < j->len && !hdr_at_eoh(j->hdr, j->len, pos)) {
        hdr_line h;
        ls__hdr_read(j->hdr, j->len, pos, &h);
        pos += h.raw_len;
        if (h.name_len != nlen || strncasecmp(h.name, j->name, nlen) != 0)
            continue;
        unfold(j->hdr, &h, &j->raw);
        if (j->decode) {
            decode_words(j->raw.p ? j->raw.p : "", j->raw.len, &j->dec);
            j->result = ls__sb_cstr(&j->dec);
            j->dec.p = NULL;
        } else {
            j->result = ls__sb_cstr(&j->raw);
            j->raw.p = NULL;
        }
        return;
    }
}

char *ls__mime_header_get(const char *hdr, size_t len, const char *name, int decode)
{
    get_job j;
    if (hdr == NULL || name == NULL)
        return NULL;
    memset(&j, 0, sizeof(j));
    j.hdr = hdr;
    j.len = len;
    j.name = name;
    j.decode = decode;
    int r = ls__mime_guard(get_run, &j);
    ls__sb_free(&j.raw);
    ls__sb_free(&j.dec);
    if (r < 0) {
        free(j.result);
        return NULL;
    }
    return j.result;
}

/*
 * IMAP modified UTF-7 (RFC 3501 §5.1.3).
 *
 * Printable US-ASCII (0x20-0x7e) stands for itself, except '&' which is
 * "&-"; everything else is "&" + modified base64 (alphabet A-Z a-z 0-9 + ,)
 * of UTF-16BE + "-". The decoder accepts only the canonical form the encoder
 * produces (no encoded printable ASCII, no two adjacent encoded runs, no
 * padding bits set or spare characters, paired surrogates only), so that
 * every name has exactly one spelling and two clients cannot create
 * different-looking twins of one mailbox.
 */
#include "model/names.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

/* A growable output buffer; on allocation failure it stays failed and
 * further appends are ignored, checked once at the end. */
typedef struct obuf { char *p; size_t n, cap; int failed; } obuf;

static void put(obuf *b, char c)
{
    if (b->failed) return;
    if (b->n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char *np = realloc(b->p, cap);
        if (!np) { b->failed = 1; return; }
        b->p = np;
        b->cap = cap;
    }
    b->p[b->n++] = c;
    b->p[b->n] = 0;
}

static int finish(obuf *b, char **out)
{
    if (!b->p && !b->failed) {  /* empty input: return "" */
        b->p = malloc(1);
        if (b->p) b->p[0] = 0;
        else b->failed = 1;
    }
    if (b->failed) { free(b->p); return ls__err(LS_ENOMEM, "out of memory"); }
    *out = b->p;
    return LS_OK;
}

static void put_utf8(obuf *b, uint32_t cp)
{
    if (cp < 0x80) { put(b, (char)cp); return; }
    if (cp < 0x800) {
        put(b, (char)(0xc0 | (cp >> 6)));
    } else if (cp < 0x10000) {
        put(b, (char)(0xe0 | (cp >> 12)));
        put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
    } else {
        put(b, (char)(0xf0 | (cp >> 18)));
        put(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
    }
    put(b, (char)(0x80 | (cp & 0x3f)));
}

static int direct(uint32_t cp) { return cp >= 0x20 && cp <= 0x7e; }

/* Bit accumulator for base64 of UTF-16 units. */
typedef struct b64enc { uint32_t bits; int nbits; } b64enc;

static void enc_unit(obuf *b, b64enc *e, uint32_t unit)
{
    e->bits = (e->bits << 16) | unit;
    e->nbits += 16;
    while (e->nbits >= 6) {
        e->nbits -= 6;
        put(b, b64chars[(e->bits >> e->nbits) & 0x3f]);
    }
    e->bits &= (1u << e->nbits) - 1;
}

int ls_name_to_mutf7(const char *utf8, char **out)
{
    obuf b = { 0 };
    const unsigned char *s = (const unsigned char *)utf8;
    *out = NULL;
    if (!s) return ls__err(LS_EBADNAME, "mailbox name is NULL");
    for (size_t i = 0; s[i];) {
        uint32_t cp;
        size_t n = ls__utf8_decode(s + i, &cp);
        if (!n) { free(b.p); return ls__err(LS_EBADNAME, "mailbox name: invalid UTF-8 at byte %zu", i + 1); }
        if (direct(cp)) {
            put(&b, (char)cp);
            if (cp == '&') put(&b, '-');
            i += n;
            continue;
        }
        /* One shifted run for all consecutive non-direct characters. */
        b64enc e = { 0, 0 };
        put(&b, '&');
        while (s[i]) {
            n = ls__utf8_decode(s + i, &cp);
            if (!n) { free(b.p); return ls__err(LS_EBADNAME, "mailbox name: invalid UTF-8 at byte %zu", i + 1); }
            if (direct(cp)) break;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                enc_unit(&b, &e, 0xd800 | (cp >> 10));
                enc_unit(&b, &e, 0xdc00 | (cp & 0x3ff));
            } else {
                enc_unit(&b, &e, cp);
            }
            i += n;
        }
        if (e.nbits) put(&b, b64chars[(e.bits << (6 - e.nbits)) & 0x3f]);
        put(&b, '-');
    }
    return finish(&b, out);
}

/* Decode one shifted run starting after '&' at s[*i]; stops after its '-'. */
static int decode_run(const char *in, size_t *pi, obuf *b)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = *pi, start = i - 1;
    uint32_t bits = 0, hi_sur = 0;
    int nbits = 0, nunits = 0;
    for (; s[i] && s[i] != '-'; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return ls__err(LS_EBADNAME, "modified UTF-7 '%.60s': invalid character in base64 at byte %zu",
                          in, i + 1);
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits < 16) continue;
        nbits -= 16;
        uint32_t u = (bits >> nbits) & 0xffff;
        bits &= (1u << nbits) - 1;
        nunits++;
        if (hi_sur) {
            if (u < 0xdc00 || u > 0xdfff) goto bad_surrogate;
            put_utf8(b, 0x10000 + ((hi_sur - 0xd800) << 10) + (u - 0xdc00));
            hi_sur = 0;
        } else if (u >= 0xd800 && u <= 0xdbff) {
            hi_sur = u;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            goto bad_surrogate;
        } else if (direct(u)) {
            return ls__err(LS_EBADNAME, "modified UTF-7 '%.60s': printable ASCII '%c' must not be "
                          "base64-encoded (byte %zu)", in, (char)u, start + 1);
        } else if (u == 0) {
            return ls__err(LS_EBADNAME, "modified UTF-7 '%.60s': encodes a NUL character", in);
        } else {
            put_utf8(b, u);
        }
    }
    if (!s[i])
        return ls__err(LS_EBADNAME, "modified UTF-7 '%.60s': base64 run at byte %zu lacks its closing '-'",
                      in, start + 1);
    if (hi_sur) goto bad_surrogate;
    /* Canonical: fewer than 6 spare bits, all zero. ("&-" is handled by the caller.) */
    if (nunits == 0 || nbits >= 6 || bits != 0)
        return ls__err(LS_EBADNAME, "modified UTF-7 '%.60s': base64 run at byte %zu is not canonical "
                      "(partial character or non-zero padding bits)", in, start + 1);
    *pi = i + 1;
    return LS_OK;
bad_surrogate:
    return ls__err(LS_EBADNAME, "modified UTF-7 '%.60s': unpaired UTF-16 surrogate in the run at byte %zu",
                  in, start + 1);
}

int ls_name_from_mutf7(const char *mutf7, char **out)
{
    obuf b = { 0 };
    const unsigned char *s = (const unsigned char *)mutf7;
    *out = NULL;
    if (!s) return ls__err(LS_EBADNAME, "mailbox name is NULL");
    int prev_run = 0;  /* the previous token was a base64 run */
    for (size_t i = 0; s[i];) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            free(b.p);
            return ls__err(LS_EBADNAME, "modified UTF-7: byte 0x%02x at byte %zu is not printable ASCII "
                          "(8-bit and control characters must be encoded)", s[i], i + 1);
        }
        if (s[i] != '&') { put(&b, (char)s[i++]); prev_run = 0; continue; }
        if (s[i + 1] == '-') { put(&b, '&'); i += 2; prev_run = 0; continue; }
        if (prev_run) {
            free(b.p);
            return ls__err(LS_EBADNAME, "modified UTF-7 '%.60s': adjacent base64 runs at byte %zu are "
                          "not canonical (merge them)", mutf7, i + 1);
        }
        i++;
        int rc = decode_run(mutf7, &i, &b);
        if (rc) { free(b.p); return rc; }
        prev_run = 1;
    }
    return finish(&b, out);
}

/*
 * Text helpers for SEARCH: case folding and substring search, header field
 * iteration, and transfer-decoding of part bodies.
 */
#include "search/internal.h"
#include "mime/mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ls__search_fold(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] - 'A' + 'a');
}

int ls__search_contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0) return 1;
    if (hlen < nlen) return 0;  /* also covers an empty (NULL) haystack */
    /* glibc memmem is linear (two-way), so a large body costs one pass. */
    return memmem(hay, hlen, needle, nlen) != NULL;
}

int ls__search_field_cached(const char *name)
{
    for (size_t i = 0; i < LS_MIME_NFIELDS; i++)
        if (strcasecmp(name, ls__mime_field_names[i]) == 0) return 1;
    return 0;
}

/* Length of the line starting at pos, including its LF if any. */
static size_t line_len(const char *s, size_t len, size_t pos)
{
    const char *nl = memchr(s + pos, '\n', len - pos);
    return nl ? (size_t)(nl - (s + pos)) + 1 : len - pos;
}

static int blank_line(const char *s, size_t len, size_t pos)
{
    return s[pos] == '\n' || (s[pos] == '\r' && pos + 1 < len && s[pos + 1] == '\n');
}

size_t ls__search_header_len(const char *msg, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        if (blank_line(msg, len, pos)) return pos + line_len(msg, len, pos);
        pos += line_len(msg, len, pos);
    }
    return len;
}

int ls__search_each_field(const char *hdr, size_t len, const char *name, ls_search_field_fn fn, void *arg)
{
    size_t pos = 0, want = name ? strlen(name) : 0;
    while (pos < len && !blank_line(hdr, len, pos)) {
        size_t start = pos;
        /* A field runs on over continuation lines starting with SP or HTAB. */
        do pos += line_len(hdr, len, pos);
        while (pos < len && (hdr[pos] == ' ' || hdr[pos] == '\t'));
        const char *field = hdr + start;
        size_t flen = pos - start;
        const char *colon = memchr(field, ':', flen);
        if (!colon) continue;  /* not a field: skip the malformed line */
        size_t nlen = (size_t)(colon - field);
        while (nlen > 0 && (field[nlen - 1] == ' ' || field[nlen - 1] == '\t')) nlen--;
        if (name && (nlen != want || strncasecmp(field, name, want) != 0)) continue;
        int rc = fn(arg, field, flen, field, nlen);
        if (rc) return rc;
    }
    return 0;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Tolerant base64: characters outside the alphabet (line ends, padding,
 * garbage) are skipped, as mail readers do. */
static size_t decode_base64(const char *in, size_t len, char *out)
{
    uint32_t bits = 0;
    int nbits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0) continue;
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out[o++] = (char)((bits >> nbits) & 0xff);
            bits &= (1u << nbits) - 1;
        }
    }
    return o;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Quoted-printable: "=XX" is a byte, "=" at the end of a line (trailing
 * blanks allowed) joins lines; a malformed "=" stays as it is. */
static size_t decode_qp(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '=') { out[o++] = in[i]; continue; }
        if (i + 2 < len && hexval((unsigned char)in[i + 1]) >= 0 && hexval((unsigned char)in[i + 2]) >= 0) {
            out[o++] = (char)(hexval((unsigned char)in[i + 1]) * 16 + hexval((unsigned char)in[i + 2]));
            i += 2;
            continue;
        }
        size_t j = i + 1;
        while (j < len && (in[j] == ' ' || in[j] == '\t')) j++;
        if (j < len && in[j] == '\r' && j + 1 < len && in[j + 1] == '\n') { i = j + 1; continue; }
        if (j < len && in[j] == '\n') { i = j; continue; }
        if (j == len) break;  /* "=" at the very end: a soft break before EOF */
        out[o++] = '=';
    }
    return o;
}

/* Does the Content-Transfer-Encoding value name `enc`? Comments and case
 * are ignored; we compare the first token only. */
static int cte_is(const char *cte, const char *enc)
{
    if (!cte) return 0;
    while (*cte == ' ' || *cte == '\t') cte++;
    size_t n = strlen(enc);
    if (strncasecmp(cte, enc, n) != 0) return 0;
    char c = cte[n];
    return c == 0 || c == ' ' || c == '\t' || c == ';' || c == '(' || c == '\r' || c == '\n';
}

char *ls__search_decode_body(const char *cte, const char *body, size_t len, size_t *outlen)
{
    char *out = malloc(len + 1);
    if (!out) return NULL;
    if (cte_is(cte, "base64")) *outlen = decode_base64(body, len, out);
    else if (cte_is(cte, "quoted-printable")) *outlen = decode_qp(body, len, out);
    else { memcpy(out, body, len); *outlen = len; }
    out[*outlen] = 0;
    return out;
}

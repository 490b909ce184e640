/*
 * RFC 822/5322 and MIME tokenizer: comments, atoms, quoted strings,
 * phrases, domains, Content-Type and its parameters.
 *
 * The exact tolerance rules (what is skipped, what ends a token, how NUL
 * and folding inside quoted strings are treated) follow Dovecot 2.3's
 * rfc822-parser so that the IMAP strings we derive match its output byte
 * for byte. Return convention: 1 = more input, 0 = end of input, -1 = bad.
 */
#include <string.h>

#include "mime/internal.h"

/* 1 = atext, 2 = alnum and 8-bit, 4 = atext but a MIME tspecial.
 * A MIME token is atext minus '/', '=', '?' (bits 1|2). */
const unsigned char ls__rfc_atext[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /*   !  "  #  $  %  &  '  (  )  *  +  ,  -  .  / */
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 4,
    /*0 1  2  3  4  5  6  7  8  9  :  ;  <  =  >  ? */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 4, 0, 4,
    /*@ A ... O */
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /*P ... Z  [  \  ]  ^  _ */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1,
    /*` a ... o */
    1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /*p ... z  {  |  }  ~  DEL */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static inline int more(const rfc_ctx *c)
{
    return c->p < c->end ? 1 : 0;
}

/* Drop the CR of a CRLF that ends [start, lf). */
static size_t before_lf(const unsigned char *start, const unsigned char *lf)
{
    size_t n = (size_t)(lf - start);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    return n;
}

int ls__rfc_skip_comment(rfc_ctx *c)
{
    /* c->p is at '(' */
    ls_sbuf *lc = c->last_comment;
    int level = 1;
    if (lc != NULL)
        sb_clear(lc);
    const unsigned char *start = ++c->p;
    for (; c->p < c->end; c->p++) {
        switch (*c->p) {
        case '\0':
            if (lc != NULL && c->nul_repl) {
                ls__sb_add(lc, start, (size_t)(c->p - start));
                ls__sb_adds(lc, UTF8_REPLACEMENT);
                start = c->p + 1;
            }
            break;
        case '(':
            level++;
            break;
        case ')':
            if (--level == 0) {
                if (lc != NULL)
                    ls__sb_add(lc, start, (size_t)(c->p - start));
                c->p++;
                return more(c);
            }
            break;
        case '\n':
            /* folding: drop the line break from the comment text */
            if (lc == NULL)
                break;
            ls__sb_add(lc, start, before_lf(start, c->p));
            start = c->p + 1;
            break;
        case '\\':
            c->p++;
            if (c->p >= c->end)
                return -1;
            if (*c->p == '\r' || *c->p == '\n' || *c->p == '\0') {
                /* not a quoted-pair: keep the backslash, handle the
                 * character itself on the next round */
                c->p--;
                break;
            }
            if (lc != NULL)
                ls__sb_add(lc, start, (size_t)(c->p - start - 1));
            start = c->p;
            break;
        }
    }
    return -1; /* unterminated */
}

int ls__rfc_skip_lwsp(rfc_ctx *c)
{
    while (c->p < c->end) {
        unsigned char ch = *c->p;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
            c->p++;
            continue;
        }
        if (ch != '(')
            break;
        if (ls__rfc_skip_comment(c) < 0)
            return -1;
    }
    return more(c);
}

int ls__rfc_parse_atom(rfc_ctx *c, ls_sbuf *out)
{
    if (c->p >= c->end || !RFC_IS_ATEXT(*c->p))
        return -1;
    const unsigned char *start = c->p++;
    while (c->p < c->end && RFC_IS_ATEXT(*c->p))
        c->p++;
    ls__sb_add(out, start, (size_t)(c->p - start));
    if (c->p >= c->end)
        return 0;
    return ls__rfc_skip_lwsp(c);
}

int ls__rfc_parse_dot_atom(rfc_ctx *c, ls_sbuf *out)
{
    /* RFC 822 allowed LWSP around the dots, so we do too */
    if (c->p >= c->end || !RFC_IS_ATEXT(*c->p))
        return -1;
    const unsigned char *start = c->p++;
    for (;;) {
        while (c->p < c->end && RFC_IS_ATEXT(*c->p))
            c->p++;
        if (c->p >= c->end)
            break;
        if (start == c->p)
            return -1;
        ls__sb_add(out, start, (size_t)(c->p - start));
        int ret = ls__rfc_skip_lwsp(c);
        if (ret <= 0)
            return ret;
        if (*c->p != '.')
            return 1;
        c->p++;
        ls__sb_addc(out, '.');
        if (ls__rfc_skip_lwsp(c) <= 0)
            return -1;
        start = c->p;
    }
    ls__sb_add(out, start, (size_t)(c->p - start));
    return 0;
}

int ls__rfc_parse_mime_token(rfc_ctx *c, ls_sbuf *out)
{
    const unsigned char *start = c->p;
    while (c->p < c->end && (RFC_IS_TOKEN(*c->p) || *c->p == '.'))
        c->p++;
    ls__sb_add(out, start, (size_t)(c->p - start));
    if (c->p >= c->end)
        return 0;
    return ls__rfc_skip_lwsp(c);
}

int ls__rfc_parse_quoted_string(rfc_ctx *c, ls_sbuf *out)
{
    /* c->p is at '"' */
    c->p++;
    const unsigned char *start = c->p;
    for (; c->p < c->end; c->p++) {
        switch (*c->p) {
        case '\0':
            if (c->nul_repl) {
                ls__sb_add(out, start, (size_t)(c->p - start));
                ls__sb_adds(out, UTF8_REPLACEMENT);
                start = c->p + 1;
            }
            break;
        case '"':
            ls__sb_add(out, start, (size_t)(c->p - start));
            c->p++;
            return ls__rfc_skip_lwsp(c);
        case '\n':
            ls__sb_add(out, start, before_lf(start, c->p));
            start = c->p + 1;
            break;
        case '\\':
            c->p++;
            if (c->p >= c->end)
                return -1;
            if (*c->p == '\r' || *c->p == '\n' || *c->p == '\0') {
                c->p--;
                break;
            }
            ls__sb_add(out, start, (size_t)(c->p - start - 1));
            start = c->p;
            break;
        }
    }
    return -1; /* unterminated */
}

/* An atom that may contain dots, with no LWSP skipping around the dots. */
static int parse_atom_or_dot(rfc_ctx *c, ls_sbuf *out)
{
    const unsigned char *start = c->p;
    while (c->p < c->end && (RFC_IS_ATEXT(*c->p) || *c->p == '.'))
        c->p++;
    ls__sb_add(out, start, (size_t)(c->p - start));
    if (c->p >= c->end)
        return 0;
    return ls__rfc_skip_lwsp(c);
}

int ls__rfc_parse_phrase(rfc_ctx *c, ls_sbuf *out)
{
    if (c->p >= c->end)
        return 0;
    if (*c->p == '.')
        return -1;
    for (;;) {
        int ret = *c->p == '"' ? ls__rfc_parse_quoted_string(c, out)
                               : parse_atom_or_dot(c, out);
        if (ret <= 0)
            return ret;
        if (!RFC_IS_ATEXT(*c->p) && *c->p != '"' && *c->p != '.')
            break;
        ls__sb_addc(out, ' ');
    }
    return ls__rfc_skip_lwsp(c);
}

static int parse_domain_literal(rfc_ctx *c, ls_sbuf *out)
{
    /* c->p is at '['; the brackets and backslashes are kept */
    const unsigned char *start = c->p++;
    for (; c->p < c->end; c->p++) {
        switch (*c->p) {
        case '\0':
            if (c->nul_repl) {
                ls__sb_add(out, start, (size_t)(c->p - start));
                ls__sb_adds(out, UTF8_REPLACEMENT);
                start = c->p + 1;
            }
            break;
        case '[':
            return -1;
        case ']':
            ls__sb_add(out, start, (size_t)(c->p - start + 1));
            c->p++;
            return ls__rfc_skip_lwsp(c);
        case '\n':
            ls__sb_add(out, start, before_lf(start, c->p));
            start = c->p + 1;
            break;
        case '\\':
            c->p++;
            if (c->p >= c->end)
                return -1;
            if (*c->p == '\r' || *c->p == '\n' || *c->p == '\0') {
                ls__sb_add(out, start, (size_t)(c->p - start));
                start = c->p;
                c->p--;
            }
            break;
        }
    }
    return -1;
}

int ls__rfc_parse_domain(rfc_ctx *c, ls_sbuf *out)
{
    /* c->p is at '@' */
    c->p++;
    if (ls__rfc_skip_lwsp(c) <= 0)
        return -1;
    if (*c->p == '[')
        return parse_domain_literal(c, out);
    return ls__rfc_parse_dot_atom(c, out);
}

int ls__rfc_parse_content_type(rfc_ctx *c, ls_sbuf *out)
{
    size_t pos0 = out->len;
    if (ls__rfc_skip_lwsp(c) <= 0)
        return -1;
    /* "type": a token directly followed by more input; note that when
     * the input ends right after the type, the type is kept (Dovecot
     * then reports "text" with an empty subtype) */
    if (ls__rfc_parse_mime_token(c, out) <= 0 || out->len == pos0)
        return -1;
    if (*c->p != '/') {
        out->len = pos0;
        return -1;
    }
    c->p++;
    if (ls__rfc_skip_lwsp(c) <= 0) {
        out->len = pos0;
        return -1;
    }
    ls__sb_addc(out, '/');
    size_t pos1 = out->len;
    int ret = ls__rfc_parse_mime_token(c, out);
    if (ret < 0 || out->len == pos1 || (c->p != c->end && *c->p != ';')) {
        out->len = pos0;
        return -1;
    }
    return ret;
}

int ls__rfc_parse_content_param(rfc_ctx *c, ls_sbuf *key, ls_sbuf *value)
{
    sb_clear(key);
    sb_clear(value);
    if (c->p >= c->end)
        return 0;
    if (*c->p != ';')
        return -1;
    c->p++;
    if (ls__rfc_skip_lwsp(c) <= 0)
        return -1;
    if (ls__rfc_parse_mime_token(c, key) <= 0)
        return -1;
    if (*c->p != '=')
        return -1;
    c->p++;
    int ret = ls__rfc_skip_lwsp(c);
    if (ret <= 0) {
        /* no value at all */
    } else if (*c->p == '"') {
        ret = ls__rfc_parse_quoted_string(c, value);
    } else if (*c->p == '=') {
        /* broken senders write name==?utf-8?b?...?= unquoted: take
         * everything up to the next ';' or whitespace */
        while (c->p < c->end && *c->p != ';' && *c->p != ' ' && *c->p != '\t' &&
               *c->p != '\r' && *c->p != '\n') {
            ls__sb_addc(value, (char)*c->p);
            c->p++;
        }
    } else {
        ret = ls__rfc_parse_mime_token(c, value);
    }
    return ret < 0 ? -1 : 1;
}

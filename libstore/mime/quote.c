/*
 * IMAP string output: NIL, "quoted" or {n} literal, choosing the form the
 * way Dovecot 2.3 does (so our strings are byte-identical to its FETCH
 * answers):
 *  - CR, LF or any 8-bit byte forces a literal;
 *  - up to four '"' or '\' are escaped in a quoted string, a fifth switches
 *    to a literal (past that a literal is shorter);
 *  - "for humans" strings (subjects, display names) have runs of
 *    whitespace and line breaks collapsed to one space, leading/trailing
 *    whitespace dropped and NUL shown as byte 0x80.
 */
#include <string.h>

#include "mime/internal.h"

#define MAX_QUOTED_ESCAPES 4

static void add_literal(ls_sbuf *out, const char *s, size_t n)
{
    ls__sb_printf(out, "{%zu}\r\n", n);
    ls__sb_add(out, s, n);
}

void ls__imap_nstring(ls_sbuf *out, const char *s)
{
    if (s == NULL) {
        ls__sb_add(out, "NIL", 3);
        return;
    }
    size_t n = strlen(s);
    unsigned escapes = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            if (escapes++ < MAX_QUOTED_ESCAPES)
                continue;
            add_literal(out, s, n);
            return;
        }
        if (c == '\r' || c == '\n' || c >= 0x80) {
            add_literal(out, s, n);
            return;
        }
    }
    ls__sb_reserve(out, n + escapes + 2);
    ls__sb_addc(out, '"');
    if (escapes == 0) {
        ls__sb_add(out, s, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                ls__sb_addc(out, '\\');
            ls__sb_addc(out, s[i]);
        }
    }
    ls__sb_addc(out, '"');
}

void ls__imap_nstring_nolf(ls_sbuf *out, const char *s)
{
    if (s == NULL || strpbrk(s, "\r\n") == NULL) {
        ls__imap_nstring(out, s);
        return;
    }
    /* Drop line breaks; where the next line does not start with
     * whitespace, put a space so that words are not glued together. */
    ls_sbuf t = {0};
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\r' && s[i] != '\n') {
            ls__sb_addc(&t, s[i]);
        } else {
            char nx = s[i + 1]; /* s is NUL-terminated */
            if (nx != ' ' && nx != '\t' && nx != '\r' && nx != '\n' && nx != '\0')
                ls__sb_addc(&t, ' ');
        }
    }
    ls__imap_nstring(out, ls__sb_cstr(&t));
    ls__sb_free(&t);
}

void ls__imap_string_for_humans(ls_sbuf *out, const unsigned char *s, size_t n)
{
    size_t i, removed = 0;
    bool ws_prefix = true, last_ws = true, modify = false;

    /* First pass: anything to change, and how many bytes go away? */
    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case 0:
            last_ws = false;
            modify = true;
            break;
        case '\r':
        case '\n':
        case '\t':
            modify = true;
            /* fall through */
        case ' ':
            if (last_ws) {
                modify = true;
                removed++;
            }
            last_ws = true;
            break;
        case '"':
        case '\\':
            modify = true;
            last_ws = false;
            break;
        default:
            if (s[i] & 0x80)
                modify = true;
            last_ws = false;
            break;
        }
        if (!last_ws)
            ws_prefix = false;
    }
    if (last_ws && n > 0 && !ws_prefix) {
        modify = true;
        removed++;
    }
    if (!modify) {
        ls__sb_reserve(out, n + 2);
        ls__sb_addc(out, '"');
        ls__sb_add(out, s, n);
        ls__sb_addc(out, '"');
        return;
    }
    if (n == removed) {
        ls__sb_add(out, "\"\"", 2);
        return;
    }
    /* Always a literal once anything changed: simpler for clients than
     * escaping, and what Dovecot sends. */
    ls__sb_printf(out, "{%zu}\r\n", n - removed);
    ls__sb_reserve(out, n);
    size_t start = out->len;
    last_ws = true;
    ws_prefix = true;
    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case 0:
            ls__sb_addc(out, (char)0x80);
            last_ws = false;
            break;
        case '\r':
        case '\n':
        case '\t':
        case ' ':
            if (!last_ws)
                ls__sb_addc(out, ' ');
            last_ws = true;
            break;
        default:
            last_ws = false;
            ls__sb_addc(out, (char)s[i]);
            break;
        }
        if (!last_ws)
            ws_prefix = false;
    }
    if (last_ws && n > 0 && !ws_prefix)
        out->len--;
    (void)start;
}

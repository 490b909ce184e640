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
    sb_printf(out, "{%zu}\r\n", n);
    sb_add(out, s, n);
}

void imap_nstring(ls_sbuf *out, const char *s)
{
    if (s == NULL) {
        sb_add(out, "NIL", 3);
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
    sb_reserve(out, n + escapes + 2);
    sb_addc(out, '"');
    if (escapes == 0) {
        sb_add(out, s, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                sb_addc(out, '\\');
            sb_addc(out, s[i]);
        }
    }
    sb_addc(out, '"');
}

void imap_nstring_nolf(ls_sbuf *out, const char *s)
{
    if (s == NULL || strpbrk(s, "\r\n") == NULL) {
        imap_nstring(out, s);
        return;
    }
    /* Drop line breaks; where the next line does not start with
     * whitespace, put a space so that words are not glued together. */
    ls_sbuf t = {0};
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\r' && s[i] != '\n') {
            sb_addc(&t, s[i]);
        } else {
            char nx = s[i + 1]; /* s is NUL-terminated */
            if (nx != ' ' && nx != '\t' && nx != '\r' && nx != '\n' && nx != '\0')
                sb_addc(&t, ' ');
        }
    }
    imap_nstring(out, sb_cstr(&t));
    sb_free(&t);
}

void imap_string_for_humans(ls_sbuf *out, const unsigned char *s, size_t n)
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
        sb_reserve(out, n + 2);
        sb_addc(out, '"');
        sb_add(out, s, n);
        sb_addc(out, '"');
        return;
    }
    if (n == removed) {
        sb_add(out, "\"\"", 2);
        return;
    }
    /* Always a literal once anything changed: simpler for clients than
     * escaping, and what Dovecot sends. */
    sb_printf(out, "{%zu}\r\n", n - removed);
    sb_reserve(out, n);
    size_t start = out->len;
    last_ws = true;
    ws_prefix = true;
    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case 0:
            sb_addc(out, (char)0x80);
            last_ws = false;
            break;
        case '\r':
        case '\n':
        case '\t':
        case ' ':
            if (!last_ws)
                sb_addc(out, ' ');
            last_ws = true;
            break;
        default:
            last_ws = false;
            sb_addc(out, (char)s[i]);
            break;
        }
        if (!last_ws)
            ws_prefix = false;
    }
    if (last_ws && n > 0 && !ws_prefix)
        out->len--;
    (void)start;
}

/*
 * Reading one header field (first line plus continuation lines) from the
 * message in memory, with the rules of Dovecot's header parser as the
 * IMAP code uses it (skip all LWSP after the colon; CR dropped when
 * joining continuation lines):
 *  - the name is everything before the first ':' of the first line, with
 *    trailing blanks removed; a line without ':' (or with a name over 1000
 *    bytes) has an empty name and the whole line as value;
 *  - the value starts after the colon and the blanks after it, except that
 *    a value made only of blanks loses just the first one;
 *  - a line ends at LF; a CR right before it is not part of the value; a
 *    last line without LF ends at the end of the message, except for one
 *    CR at the very end, which is dropped too.
 */
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

#define HDR_NAME_MAX 1000

static inline bool is_lwsp(char c)
{
    return c == ' ' || c == '\t';
}

/* End of the line content starting at pos; *next = start of the next
 * line (len if none); *nl = size of the newline (0, 1 or 2). */
static size_t line_end(const char *msg, size_t len, size_t pos, size_t *next, size_t *nl)
{
    const char *lf = memchr(msg + pos, '\n', len - pos);
    if (lf == NULL) {
        /* a last line without LF: Dovecot still drops one CR at its end
         * (found by the fidelity test, see docs/fidelity.md) */
        *next = len;
        *nl = 0;
        return len > pos && msg[len - 1] == '\r' ? len - 1 : len;
    }
    size_t e = (size_t)(lf - msg);
    *next = e + 1;
    if (e > pos && msg[e - 1] == '\r') {
        *nl = 2;
        return e - 1;
    }
    *nl = 1;
    return e;
}

void ls__hdr_read(const char *msg, size_t len, size_t pos, hdr_line *h)
{
    size_t next, nl;
    size_t end = line_end(msg, len, pos, &next, &nl);

    h->raw_off = pos;
    h->first_end = end;
    h->multiline = false;
    h->last_nl = nl;

    /* the colon is searched on the first line only */
    const char *colon = memchr(msg + pos, ':', end - pos);
    size_t name_end = colon ? (size_t)(colon - msg) : pos;
    if (colon != NULL) {
        while (name_end > pos && is_lwsp(msg[name_end - 1]))
            name_end--;
    }
    if (colon == NULL || name_end - pos > HDR_NAME_MAX) {
        h->name = "";
        h->name_len = 0;
        h->value_off = pos;
    } else {
        h->name = msg + pos;
        h->name_len = name_end - pos;
        size_t v = (size_t)(colon - msg) + 1, w = v;
        while (w < end && is_lwsp(msg[w]))
            w++;
        if (w == end && v < end)
            w = v + 1; /* only blanks: drop just one */
        h->value_off = w;
    }

    /* continuation lines */
    while (next < len && is_lwsp(msg[next])) {
        h->multiline = true;
        end = line_end(msg, len, next, &next, &nl);
        h->last_nl = nl;
    }
    h->raw_len = next - pos;
}

const char *ls__hdr_full_value(const char *msg, const hdr_line *h, ls_sbuf *scratch, size_t *n)
{
    if (!h->multiline) {
        *n = h->first_end - h->value_off;
        return msg + h->value_off;
    }
    size_t stop = h->raw_off + h->raw_len, next, nl;
    sb_clear(scratch);
    ls__sb_add(scratch, msg + h->value_off, h->first_end - h->value_off);
    (void)line_end(msg, stop, h->raw_off, &next, &nl); /* skip the first line */
    while (next < stop) {
        size_t start = next;
        size_t end = line_end(msg, stop, start, &next, &nl);
        ls__sb_addc(scratch, '\n');
        ls__sb_add(scratch, msg + start, end - start);
    }
    *n = scratch->len;
    return scratch->p;
}

bool ls__hdr_name_is(const hdr_line *h, const char *name)
{
    /* Dovecot keeps names as C strings: a NUL ends the name */
    size_t n = strlen(name);
    if (h->name_len < n)
        return false;
    if (strncasecmp(h->name, name, n) != 0)
        return false;
    return h->name_len == n || h->name[n] == '\0';
}

char *ls__hdr_strdup(ls_arena *a, const char *v, size_t n)
{
    size_t nuls = 0;
    for (const char *p = v; (p = memchr(p, '\0', (size_t)(v + n - p))) != NULL; p++)
        nuls++;
    if (nuls == 0)
        return ls__ar_strndup(a, v, n);
    char *out = ls__ar_alloc(a, n + nuls * 2 + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\0') {
            memcpy(o, UTF8_REPLACEMENT, 3);
            o += 3;
        } else {
            *o++ = v[i];
        }
    }
    *o = '\0';
    return out;
}

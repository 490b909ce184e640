/* Parsing store.header (format: model/mbox.c, docs/format.md). */
#include "repair/header.h"
#include "core/crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undo the escaping of ls__header_write into a malloc'd string. */
static char *unescape(const char *s, size_t n)
{
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            *w++ = s[i];
            continue;
        }
        char e = s[++i];
        if (e == 'n')
            *w++ = '\n';
        else if (e == 't')
            *w++ = '\t';
        else if (e == 'r')
            *w++ = '\r';
        else if (e == 'x' && i + 2 < n) {
            char hx[3] = { s[i + 1], s[i + 2], 0 };
            *w++ = (char)strtol(hx, NULL, 16);
            i += 2;
        } else
            *w++ = e;
    }
    *w = 0;
    return o;
}

static int num32(const char *v, uint32_t *out)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end || x > UINT32_MAX)
        return 0;
    *out = (uint32_t)x;
    return 1;
}

int ls__hdr_parse(const char *text, size_t len, ls_hdrinfo *h)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
        h->quota[i] = LS_QUOTA_UNLIMITED;
    if (len < 18 || memcmp(text, "libstore-header 1\n", 18) != 0)
        return ls__err(LS_ECORRUPT, "store.header: not a version 1 header");
    const char *p = text + 18, *end = text + len;
    int line = 1;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            /* a last line without its newline: the file was cut short there,
             * and the value on it may be cut too */
            h->damaged = 1;
            break;
        }
        const char *le = nl;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon + 1 >= le || colon[1] != ' ') {
            if (le > p) {
                ls__hdr_free(h);
                return ls__err(LS_ECORRUPT, "store.header line %d: malformed", line);
            }
            p = le + 1;
            continue;
        }
        size_t klen = (size_t)(colon - p);
        char *val = unescape(colon + 2, (size_t)(le - colon - 2));
        if (!val) {
            ls__hdr_free(h);
            return ls__err(LS_ENOMEM, "out of memory");
        }
        int ok = 1, keep = 0;
        if (klen == 3 && !memcmp(p, "end", 3)) {
            char want[16];
            snprintf(want, sizeof want, "%08x", ls__crc32c(text, (size_t)(p - text)));
            if (!strcmp(val, want) && le + 1 >= end)
                h->sealed = 1;
            else
                h->damaged = 1;
        } else if (klen == 4 && !memcmp(p, "name", 4)) {
            free(h->name);
            h->name = val, keep = 1;
        } else if (klen == 8 && !memcmp(p, "uniqueid", 8)) {
            free(h->uniqueid);
            h->uniqueid = val, keep = 1;
        } else if (klen == 9 && !memcmp(p, "partition", 9)) {
            free(h->partition);
            h->partition = val, keep = 1;
        } else if (klen == 3 && !memcmp(p, "acl", 3)) {
            free(h->acl);
            h->acl = val, keep = 1;
        } else if (klen == 11 && !memcmp(p, "uidvalidity", 11)) {
            ok = num32(val, &h->uidvalidity);
        } else if (klen == 7 && !memcmp(p, "uidnext", 7)) {
            ok = num32(val, &h->uidnext);
        } else if (klen == 13 && !memcmp(p, "highestmodseq", 13)) {
            char *e2;
            h->highestmodseq = strtoull(val, &e2, 10);
            ok = e2 != val && !*e2;
        } else if (klen == 5 && !memcmp(p, "quota", 5)) {
            long long s = -1, m = -1, b = -1;
            ok = sscanf(val, "STORAGE=%lld MESSAGE=%lld MAILBOX=%lld", &s, &m, &b) == 3;
            h->has_quota = ok;
            h->quota[0] = s < 0 ? LS_QUOTA_UNLIMITED : s;
            h->quota[1] = m < 0 ? LS_QUOTA_UNLIMITED : m;
            h->quota[2] = b < 0 ? LS_QUOTA_UNLIMITED : b;
        } else if (klen == 10 && !memcmp(p, "annotation", 10)) {
            /* the raw (escaped) value holds ENTRY \t USER \t VALUE */
            const char *r = colon + 2, *t1 = memchr(r, '\t', (size_t)(le - r));
            const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(le - t1 - 1)) : NULL;
            if (t1 && t2) {
                ls_hdr_annot *na = realloc(h->annots, (h->nannots + 1) * sizeof *na);
                if (na) {
                    h->annots = na;
                    na[h->nannots].entry = unescape(r, (size_t)(t1 - r));
                    na[h->nannots].user = unescape(t1 + 1, (size_t)(t2 - t1 - 1));
                    na[h->nannots].value = unescape(t2 + 1, (size_t)(le - t2 - 1));
                    h->nannots++;
                }
            } else {
                ok = 0;
            }
        }
        if (!keep)
            free(val);
        if (!ok) {
            ls__hdr_free(h);
            return ls__err(LS_ECORRUPT, "store.header line %d: bad value", line);
        }
        p = le + 1;
    }
    if (!h->name || !h->uniqueid) {
        ls__hdr_free(h);
        return ls__err(LS_ECORRUPT, "store.header: name or uniqueid missing");
    }
    return LS_OK;
}

void ls__hdr_free(ls_hdrinfo *h)
{
    free(h->name);
    free(h->uniqueid);
    free(h->partition);
    free(h->acl);
    for (size_t i = 0; i < h->nannots; i++) {
        free(h->annots[i].entry);
        free(h->annots[i].user);
        free(h->annots[i].value);
    }
    free(h->annots);
    memset(h, 0, sizeof *h);
}

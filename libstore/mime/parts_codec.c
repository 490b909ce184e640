/*
 * Serialisation of the parts table for the cache record.
 *
 * Layout (all integers LEB128 varints, signed ones zigzag-encoded):
 *   u8  version (1)
 *   n   number of parts (>= 1; the first is the whole message, section "")
 *   per part:
 *     u8   kind
 *     n    section length, then the section bytes ("1.2.3")
 *     s    hdr_off - previous part's hdr_off
 *     n    hdr_len
 *     s    body_off - (hdr_off + hdr_len)        usually 0
 *     n    body_len
 *     for LS_MIME_MESSAGE only:
 *     s    msg_hdr_off - body_off                usually 0
 *     n    msg_hdr_len
 *     s    msg_body_off - (msg_hdr_off + msg_hdr_len)
 *     n    msg_body_len
 * Offsets are mostly small deltas, so a typical part takes ~6 bytes.
 * Decoding trusts nothing: every length, offset, kind and section syntax is
 * checked, against msg_size too, and trailing bytes are an error.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mime/internal.h"

#define PARTS_VERSION 1
#define SECTION_MAX (sizeof(((ls_mime_part *)0)->section))
/* the table has the message, its part "1" (or the parts of a multipart)
 * and every part the parser found */
#define PARTS_TABLE_MAX (LS_MIME_MAX_PARTS + 2)

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *w, const void *d, size_t n)
{
    if (w->oom)
        return;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *q = realloc(w->p, cap);
        if (q == NULL) {
            w->oom = true;
            return;
        }
        w->p = q;
        w->cap = cap;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void put_u(wbuf *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    put(w, b, n);
}

static void put_s(wbuf *w, int64_t v)
{
    put_u(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int ls__mime_parts_encode(const ls_mime_part *parts, size_t nparts, uint8_t **buf, size_t *len)
{
    wbuf w = {0};
    uint64_t prev = 0;
    uint8_t ver = PARTS_VERSION;

    *buf = NULL;
    *len = 0;
    if (parts == NULL || nparts == 0 || nparts > PARTS_TABLE_MAX)
        return ls__err(LS_EINVAL, "bad parts table (%zu parts)", nparts);
    put(&w, &ver, 1);
    put_u(&w, nparts);
    for (size_t i = 0; i < nparts; i++) {
        const ls_mime_part *p = &parts[i];
        size_t sl = strnlen(p->section, SECTION_MAX);
        if (sl == SECTION_MAX || p->kind > LS_MIME_MESSAGE) {
            free(w.p);
            return ls__err(LS_EINVAL, "bad part %zu in parts table", i);
        }
        put(&w, &p->kind, 1);
        put_u(&w, sl);
        put(&w, p->section, sl);
        put_s(&w, (int64_t)(p->hdr_off - prev));
        put_u(&w, p->hdr_len);
        put_s(&w, (int64_t)(p->body_off - (p->hdr_off + p->hdr_len)));
        put_u(&w, p->body_len);
        if (p->kind == LS_MIME_MESSAGE) {
            put_s(&w, (int64_t)(p->msg_hdr_off - p->body_off));
            put_u(&w, p->msg_hdr_len);
            put_s(&w, (int64_t)(p->msg_body_off - (p->msg_hdr_off + p->msg_hdr_len)));
            put_u(&w, p->msg_body_len);
        }
        prev = p->hdr_off;
    }
    if (w.oom) {
        free(w.p);
        return ls__err(LS_ENOMEM, "out of memory encoding parts");
    }
    *buf = w.p;
    *len = w.len;
    return LS_OK;
}

typedef struct rbuf {
    const uint8_t *p, *end;
    bool bad;
} rbuf;

static uint64_t get_u(rbuf *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift == 63 && (b & 0x7E)) { /* more than 64 bits */
            r->bad = true;
            return 0;
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t get_s(rbuf *r)
{
    uint64_t u = get_u(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* base + delta, checked to stay within [0, limit] */
static uint64_t add_checked(rbuf *r, uint64_t base, int64_t delta, uint64_t limit)
{
    uint64_t v = base + (uint64_t)delta;
    if ((delta < 0 && (uint64_t)(-(delta + 1)) + 1 > base) ||
        (delta > 0 && v < base) || v > limit)
        r->bad = true;
    return v;
}

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static bool section_ok(const char *s, size_t n)
{
    /* "" or N(.N)* with N a positive decimal without leading zeros */
    size_t i = 0;
    if (n == 0)
        return true;
    for (;;) {
        if (i >= n || s[i] < '1' || s[i] > '9')
            return false;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == n)
            return true;
        if (s[i] != '.')
            return false;
        i++;
    }
}

int ls__mime_parts_decode(const uint8_t *buf, size_t len, uint64_t msg_size,
                         ls_mime_part **parts, size_t *nparts)
{
    rbuf r = {buf, buf + len, false};
    *parts = NULL;
    *nparts = 0;
    if (buf == NULL || len < 2)
        return ls__err(LS_ECORRUPT, "parts table too short (%zu bytes)", len);
    if (*r.p++ != PARTS_VERSION)
        return ls__err(LS_ECORRUPT, "unknown parts table version %u", buf[0]);
    uint64_t n = get_u(&r);
    /* each part takes at least 6 bytes: bound n before allocating */
    if (r.bad || n == 0 || n > PARTS_TABLE_MAX || n > (uint64_t)(r.end - r.p) / 6)
        return ls__err(LS_ECORRUPT, "bad part count in parts table");
    ls_mime_part *v = calloc((size_t)n, sizeof(*v));
    if (v == NULL)
        return ls__err(LS_ENOMEM, "out of memory decoding parts");
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        ls_mime_part *p = &v[i];
        if (r.p >= r.end) {
            r.bad = true;
            break;
        }
        p->kind = *r.p++;
        uint64_t sl = get_u(&r);
        if (r.bad || p->kind > LS_MIME_MESSAGE || sl >= SECTION_MAX ||
            sl > (uint64_t)(r.end - r.p)) {
            r.bad = true;
            break;
        }
        memcpy(p->section, r.p, (size_t)sl);
        p->section[sl] = '\0';
        r.p += sl;
        if (!section_ok(p->section, (size_t)sl) || (i == 0) != (sl == 0)) {
            r.bad = true;
            break;
        }
        p->hdr_off = add_checked(&r, prev, get_s(&r), msg_size);
        p->hdr_len = get_u(&r);
        if (r.bad || !range_ok(p->hdr_off, p->hdr_len, msg_size)) {
            r.bad = true;
            break;
        }
        p->body_off = add_checked(&r, p->hdr_off + p->hdr_len, get_s(&r), msg_size);
        p->body_len = get_u(&r);
        if (r.bad || !range_ok(p->body_off, p->body_len, msg_size)) {
            r.bad = true;
            break;
        }
        if (p->kind == LS_MIME_MESSAGE) {
            p->msg_hdr_off = add_checked(&r, p->body_off, get_s(&r), msg_size);
            p->msg_hdr_len = get_u(&r);
            if (r.bad || !range_ok(p->msg_hdr_off, p->msg_hdr_len, msg_size)) {
                r.bad = true;
                break;
            }
            p->msg_body_off = add_checked(&r, p->msg_hdr_off + p->msg_hdr_len, get_s(&r),
                                          msg_size);
            p->msg_body_len = get_u(&r);
            if (r.bad || !range_ok(p->msg_body_off, p->msg_body_len, msg_size)) {
                r.bad = true;
                break;
            }
        }
        prev = p->hdr_off;
    }
    if (r.bad || r.p != r.end) {
        free(v);
        return ls__err(LS_ECORRUPT, "corrupt parts table");
    }
    *parts = v;
    *nparts = (size_t)n;
    return LS_OK;
}

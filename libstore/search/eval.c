/*
 * SEARCH evaluation over one message.
 *
 * Cheap keys (flags, sets, sizes, dates) are evaluated before keys that
 * read the cached header fields, and those before keys that read the
 * message, so that the message is loaded only when nothing cheaper decides.
 * What is derived from the message (its decoded header text, its decoded
 * leaf bodies, folded to lower case) is built once per call and shared by
 * every key that needs it.
 */
#include "search/internal.h"
#include "core/error.h"
#include "mime/mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct seg { char *p; size_t n; } seg;

typedef struct ectx {
    const ls_search_msg *m;
    uint32_t max_uid, max_seq;
    int load_rc;          /* 0 = not tried, 1 = loaded, < 0 = the error */
    const char *msg;
    size_t len, hdr_len;
    int hdr_text_done;
    seg hdr_text;         /* "Name: decoded value\n" per field, folded */
    int body_done;
    seg *body;            /* decoded leaf bodies, folded */
    size_t nbody;
} ectx;

static int oom(void) { return ls__err(LS_ENOMEM, "search: out of memory"); }

/* Load the message once; later calls return the first result. */
static int load(ectx *c)
{
    if (c->load_rc) return c->load_rc < 0 ? c->load_rc : LS_OK;
    const ls_search_msg *m = c->m;
    if (!m->load_message) {
        c->load_rc = ls__err(LS_EINVAL, "search: a key needs the message text but UID %u has no loader", m->uid);
        return c->load_rc;
    }
    const char *msg = NULL;
    size_t len = 0;
    int rc = m->load_message(m->ctx, &msg, &len);
    if (rc == LS_OK && !msg && len) rc = ls__err(LS_EINVAL, "search: loader returned no bytes for UID %u", m->uid);
    if (rc) {
        /* Keep the loader's own message if it recorded one. */
        if (ls_error_last_code() != rc)
            ls__err(rc, "search: cannot read message UID %u: %s", m->uid, ls_error_string(rc));
        c->load_rc = rc;
        return rc;
    }
    c->msg = msg ? msg : "";
    c->len = len;
    c->hdr_len = ls__search_header_len(c->msg, len);
    c->load_rc = 1;
    return LS_OK;
}

/* ------------------------------------------------------------ header keys */

typedef struct hmatch { const sn *n; } hmatch;

static int match_field(void *arg, const char *field, size_t flen, const char *name, size_t nlen)
{
    hmatch *h = arg;
    /* RFC 3501: an empty string matches every message that has the field. */
    if (h->n->folded_len == 0) return 1;
    char *v = ls__mime_header_get(field, flen, h->n->field, 1);
    if (!v) return 0;
    size_t vlen = strlen(v);
    ls__search_fold(v, vlen);
    int found = ls__search_contains(v, vlen, h->n->folded, h->n->folded_len);
    free(v);
    return found;
}

static int eval_header(ectx *c, const sn *n)
{
    hmatch h = { n };
    const ls_search_msg *m = c->m;
    if (m->fields && ls__search_field_cached(n->field))
        return ls__search_each_field(m->fields, m->fields_len, n->field, match_field, &h);
    int rc = load(c);
    if (rc) return rc;
    return ls__search_each_field(c->msg, c->hdr_len, n->field, match_field, &h);
}

/* ------------------------------------------------------------ text */

typedef struct tbuf { char *p; size_t n, cap; int failed; } tbuf;

static void tb_add(tbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) { b->failed = 1; return; }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* One field as "Name: decoded value\n", so that TEXT finds both the field
 * names and the decoded values (encoded-words would hide words otherwise). */
static int render_field(void *arg, const char *field, size_t flen, const char *name, size_t nlen)
{
    tbuf *b = arg;
    char fname[256];
    size_t k = nlen < sizeof fname - 1 ? nlen : sizeof fname - 1;
    memcpy(fname, name, k);
    fname[k] = 0;
    char *v = ls__mime_header_get(field, flen, fname, 1);
    tb_add(b, name, nlen);
    tb_add(b, ": ", 2);
    if (v) { tb_add(b, v, strlen(v)); free(v); }
    tb_add(b, "\n", 1);
    return 0;
}

static int render_header(const char *hdr, size_t len, seg *out)
{
    tbuf b = { 0 };
    ls__search_each_field(hdr, len, NULL, render_field, &b);
    if (b.failed) { free(b.p); return oom(); }
    ls__search_fold(b.p, b.n);
    out->p = b.p;
    out->n = b.n;
    return LS_OK;
}

static int header_text(ectx *c)
{
    if (c->hdr_text_done) return LS_OK;
    int rc = load(c);
    if (!rc) rc = render_header(c->msg, c->hdr_len, &c->hdr_text);
    if (!rc) c->hdr_text_done = 1;
    return rc;
}

static int add_seg(ectx *c, char *p, size_t n)
{
    seg *s = realloc(c->body, (c->nbody + 1) * sizeof *s);
    if (!s) { free(p); return oom(); }
    c->body = s;
    s[c->nbody].p = p;
    s[c->nbody].n = n;
    c->nbody++;
    return LS_OK;
}

/* Offsets from the MIME parser are trusted but clamped, so that a parser
 * bug cannot make us read outside the message. */
static void clamp(const ectx *c, uint64_t off, uint64_t len, const char **p, size_t *n)
{
    if (off > c->len) off = c->len;
    if (len > c->len - off) len = c->len - off;
    *p = c->msg + off;
    *n = (size_t)len;
}

static int add_leaf(ectx *c, const ls_mime_part *pt)
{
    const char *hdr, *body;
    size_t hlen, blen, dlen;
    clamp(c, pt->hdr_off, pt->hdr_len, &hdr, &hlen);
    clamp(c, pt->body_off, pt->body_len, &body, &blen);
    char *cte = ls__mime_header_get(hdr, hlen, "Content-Transfer-Encoding", 0);
    char *d = ls__search_decode_body(cte, body, blen, &dlen);
    free(cte);
    if (!d) return oom();
    ls__search_fold(d, dlen);
    return add_seg(c, d, dlen);
}

/* Does any part after parts[i] lie below it (section "S.x")? */
static int has_children(const ls_mime_info *info, size_t i)
{
    const char *s = info->parts[i].section;
    size_t n = strlen(s);
    for (size_t j = i + 1; j < info->nparts; j++) {
        const char *t = info->parts[j].section;
        if (n == 0 || (strncmp(t, s, n) == 0 && t[n] == '.')) return 1;
    }
    return 0;
}

/* An embedded message: its header as text, and its body raw unless the
 * parser listed its parts (then they are leaves of their own). */
static int add_message(ectx *c, const ls_mime_info *info, size_t i)
{
    const ls_mime_part *pt = &info->parts[i];
    const char *h, *b;
    size_t hlen, blen;
    seg s;
    clamp(c, pt->msg_hdr_off, pt->msg_hdr_len, &h, &hlen);
    int rc = render_header(h, hlen, &s);
    if (!rc) rc = add_seg(c, s.p, s.n);
    if (rc || has_children(info, i)) return rc;
    clamp(c, pt->msg_body_off, pt->msg_body_len, &b, &blen);
    char *d = malloc(blen + 1);
    if (!d) return oom();
    memcpy(d, b, blen);
    ls__search_fold(d, blen);
    return add_seg(c, d, blen);
}

static int body_parts(ectx *c)
{
    if (c->body_done) return LS_OK;
    int rc = load(c);
    if (rc) return rc;
    ls_mime_info info;
    memset(&info, 0, sizeof info);
    if ((rc = ls__mime_analyze(c->msg, c->len, &info))) return rc;
    for (size_t i = 0; i < info.nparts && !rc; i++) {
        if (info.parts[i].kind == LS_MIME_LEAF) rc = add_leaf(c, &info.parts[i]);
        else if (info.parts[i].kind == LS_MIME_MESSAGE) rc = add_message(c, &info, i);
    }
    if (!rc && info.nparts == 0) {
        /* No parts at all: the bytes after the header are the body. */
        char *d = malloc(c->len - c->hdr_len + 1);
        if (!d) rc = oom();
        else {
            memcpy(d, c->msg + c->hdr_len, c->len - c->hdr_len);
            ls__search_fold(d, c->len - c->hdr_len);
            rc = add_seg(c, d, c->len - c->hdr_len);
        }
    }
    ls__mime_info_free(&info);
    if (!rc) c->body_done = 1;
    return rc;
}

static int eval_body(ectx *c, const sn *n)
{
    int rc = body_parts(c);
    if (rc) return rc;
    if (n->folded_len == 0) return 1;
    for (size_t i = 0; i < c->nbody; i++)
        if (ls__search_contains(c->body[i].p, c->body[i].n, n->folded, n->folded_len)) return 1;
    return 0;
}

static int eval_text(ectx *c, const sn *n)
{
    int rc = header_text(c);
    if (rc) return rc;
    if (ls__search_contains(c->hdr_text.p, c->hdr_text.n, n->folded, n->folded_len)) return 1;
    return eval_body(c, n);
}

/* ------------------------------------------------------------ cheap keys */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Day start (as 00:00 UTC of the same calendar date) of t in zone tz. */
static int64_t day_of(int64_t t, int tz) { return floor_div(t + (int64_t)tz * 60, 86400) * 86400; }

static int eval_date(const ectx *c, const sn *n)
{
    const ls_search_msg *m = c->m;
    int64_t d;
    if (n->which == SD_SENT && m->sentdate != 0) d = day_of(m->sentdate, m->sent_tz);
    else d = day_of(m->internaldate, m->internal_tz);  /* no Date: falls back, as in Cyrus */
    if (n->op == SD_BEFORE) return d < n->day;
    if (n->op == SD_ON) return d == n->day;
    return d >= n->day;
}

/* v in s, where UINT32_MAX ('*') stands for max. Only the last range can
 * hold '*', since ranges are sorted. */
static int in_set(const ls_set *s, uint32_t v, uint32_t max)
{
    if (s->n == 0) return 0;
    const ls_range *last = &s->r[s->n - 1];
    if (last->hi != UINT32_MAX) return ls_set_contains(s, v);
    ls_set head = { s->r, s->n - 1 };
    if (ls_set_contains(&head, v)) return 1;
    uint32_t lo = last->lo == UINT32_MAX ? max : last->lo, hi = max;
    if (lo > hi) { uint32_t t = lo; lo = hi; hi = t; }
    return v >= lo && v <= hi;
}

static int has_keyword(const ls_search_msg *m, const char *kw)
{
    for (size_t i = 0; i < m->nkeywords; i++)
        if (m->keywords[i] && strcasecmp(m->keywords[i], kw) == 0) return 1;
    return 0;
}

static int eval(ectx *c, const sn *n);

/* AND / OR: cheaper kids first, so that the expensive ones often need not
 * run at all. stop_on: the result that decides (0 for AND, 1 for OR). */
static int eval_list(ectx *c, const sn *n, int stop_on)
{
    for (int cost = COST_CHEAP; cost <= COST_MESSAGE; cost++)
        for (size_t i = 0; i < n->nkids; i++) {
            if (n->kids[i]->cost != cost) continue;
            int r = eval(c, n->kids[i]);
            if (r < 0 || r == stop_on) return r;
        }
    return !stop_on;
}

static int eval(ectx *c, const sn *n)
{
    const ls_search_msg *m = c->m;
    int r;
    switch (n->kind) {
    case SN_ALL: return 1;
    case SN_AND: return eval_list(c, n, 0);
    case SN_OR: return eval_list(c, n, 1);
    case SN_NOT: r = eval(c, n->kids[0]); return r < 0 ? r : !r;
    case SN_FLAG: return ((m->flags & n->flag) != 0) == n->want;
    case SN_KEYWORD: return has_keyword(m, n->str) == n->want;
    case SN_RECENT: return m->recent != 0;
    case SN_DATE: return eval_date(c, n);
    case SN_SIZE: return n->op > 0 ? m->size > n->num : m->size < n->num;
    case SN_MODSEQ: return m->modseq >= n->num;
    case SN_HEADER: return eval_header(c, n);
    case SN_BODY: return eval_body(c, n);
    case SN_TEXT: return eval_text(c, n);
    case SN_SEQSET: return in_set(&n->set, m->seq, c->max_seq);
    case SN_UIDSET: return in_set(&n->set, m->uid, c->max_uid);
    }
    return 0;
}

int ls__search_match(const ls_search *s, const ls_search_msg *m, uint32_t max_uid, uint32_t max_seq, int *match)
{
    *match = 0;
    if (!s || !m) return ls__err(LS_EINVAL, "search: no criteria or no message");
    ectx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.max_uid = max_uid;
    c.max_seq = max_seq;
    int r = eval(&c, s->root);
    free(c.hdr_text.p);
    for (size_t i = 0; i < c.nbody; i++) free(c.body[i].p);
    free(c.body);
    if (r < 0) return r;
    *match = r;
    return LS_OK;
}

/*
 * One-pass MIME structure parser over a message in memory.
 *
 * It builds the part tree with Dovecot 2.3's rules, which decide what
 * BODYSTRUCTURE shows for broken messages:
 *  - a part is MIME if it has Mime-Version or Content-Type, or is a child
 *    of a multipart; non-MIME parts lose their Content-* fields;
 *  - a multipart's boundary is only armed when its header ends with an
 *    empty line; boundaries are matched as prefixes of "--" lines, newest
 *    first, longest match winning; "--b--" closes b and everything inside;
 *  - a boundary line inside a header ends that header (the line break
 *    before it then belongs to the boundary);
 *  - the line break before a boundary belongs to the boundary, not the
 *    body; a boundary on the first line of a body has none;
 *  - parts without Content-Type are text/plain, or message/rfc822 inside
 *    multipart/digest;
 *  - at most 100 nested and 10000 parts in all; beyond that containers
 *    are shown as application/octet-stream and boundaries are ignored.
 *
 * Everything is iterative (the tree is walked with parent pointers), so
 * nesting cannot exhaust the stack, and every byte is looked at a bounded
 * number of times (line scans use memchr; line and missing-CR counts are
 * taken once, as running totals).
 */
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

#define BOUNDARY_MAX 80                    /* longer boundaries are cut */
#define BOUNDARY_FIND_MAX (BOUNDARY_MAX + 4)

typedef struct boundary {
    struct boundary *next;
    mime_node *part;
    const char *b;
    size_t len;
    bool epilogue;
} boundary;

/* Per-node bookkeeping the public tree does not need. */
typedef struct node_ext {
    mime_node node;
    uint64_t lf_at_hdr, miss_at_hdr;   /* running totals at hdr_off */
    uint64_t lf_at_body, miss_at_body; /* ... at body_off */
    bool ended_in_header;              /* header cut short by a boundary */
} node_ext;

typedef struct pctx {
    const char *msg;
    size_t len;
    ls_arena *a;
    mime_tree *tree;
    node_ext *part;
    boundary *bounds;
    unsigned nested, total;
    ls_sbuf scratch;
    /* running line / missing-CR counts over msg[0..cnt_pos) */
    size_t cnt_pos;
    uint64_t cnt_lf, cnt_miss;
} pctx;

static void count_to(pctx *c, size_t pos, uint64_t *lf, uint64_t *miss)
{
    const char *m = c->msg;
    size_t p = c->cnt_pos;
    while (p < pos) {
        const char *nl = memchr(m + p, '\n', pos - p);
        if (nl == NULL)
            break;
        size_t i = (size_t)(nl - m);
        c->cnt_lf++;
        if (i == 0 || m[i - 1] != '\r')
            c->cnt_miss++;
        p = i + 1;
    }
    if (pos > c->cnt_pos)
        c->cnt_pos = pos;
    *lf = c->cnt_lf;
    *miss = c->cnt_miss;
}

static node_ext *new_part(pctx *c, node_ext *parent, size_t pos)
{
    node_ext *n = ls__ar_alloc(c->a, sizeof(*n));
    n->node.parent = parent ? &parent->node : NULL;
    n->node.depth = parent ? parent->node.depth + 1 : 0;
    n->node.hdr_off = pos;
    count_to(c, pos, &n->lf_at_hdr, &n->miss_at_hdr);
    if (parent != NULL) {
        mime_node *pn = &parent->node;
        if (pn->last_child)
            pn->last_child->next = &n->node;
        else
            pn->children = &n->node;
        pn->last_child = &n->node;
        c->nested++;
        c->total++;
    }
    c->tree->nnodes++;
    return n;
}

/* The part ends at `end` (its body ends there, unless its header was cut
 * by a boundary: then its body is empty). Returns the parent. */
static node_ext *finish_part(pctx *c, node_ext *n, size_t end)
{
    mime_node *m = &n->node;
    uint64_t lf, miss;
    if (n->ended_in_header || end < m->body_off) {
        /* its body is empty (and a child may even start after it) */
        m->body_len = m->body_lines = m->body_vsize = 0;
    } else {
        count_to(c, end, &lf, &miss);
        m->body_len = end - m->body_off;
        m->body_lines = lf - n->lf_at_body;
        m->body_vsize = m->body_len + (miss - n->miss_at_body);
    }
    if (m->parent != NULL)
        c->nested--;
    return (node_ext *)m->parent;
}

/* Is there a boundary line at pos (a line start)? */
static boundary *boundary_at(pctx *c, size_t pos)
{
    const char *m = c->msg;
    if (c->bounds == NULL || pos + 2 > c->len || m[pos] != '-' || m[pos + 1] != '-')
        return NULL;
    if (c->total >= MP_MAX_TOTAL) {
        /* no room for more parts: stop recognising boundaries at all */
        c->part->node.flags |= MP_OVERFLOW;
        return NULL;
    }
    const char *d = m + pos + 2;
    size_t rest = c->len - pos - 2, find;
    bool dashes = false;
    const char *lf = memchr(d, '\n', rest);
    if (lf != NULL) {
        find = (size_t)(lf - d);
        if (find > 0 && d[find - 1] == '\r')
            find--;
        dashes = find > 2 && d[find - 1] == '-' && d[find - 2] == '-';
    } else {
        find = rest < BOUNDARY_FIND_MAX ? rest : BOUNDARY_FIND_MAX;
    }
    /* newest first (nested parts may reuse a boundary), longest prefix
     * wins; an exact match (or exact + "--") ends the search */
    boundary *best = NULL;
    for (boundary *b = c->bounds; b != NULL; b = b->next) {
        if (b->len <= find && memcmp(b->b, d, b->len) == 0 &&
            (best == NULL || best->len < b->len)) {
            best = b;
            if (b->len == find || (b->len + 2 == find && dashes))
                break;
        }
    }
    if (best != NULL)
        best->epilogue = rest >= best->len + 2 && memcmp(d + best->len, "--", 2) == 0;
    return best;
}

static void set_type_flags(mime_node *p, const mime_data *d)
{
    /* the same tests Dovecot applies to the "type/subtype" string */
    if (!d->type_has_slash) {
        if (strcasecmp(d->type, "text") == 0)
            p->flags |= MP_TEXT;
        return;
    }
    if (strcasecmp(d->type, "message") == 0 && strcasecmp(d->subtype, "rfc822") == 0) {
        p->flags |= MP_RFC822;
    } else if (strcasecmp(d->type, "text") == 0) {
        p->flags |= MP_TEXT;
    } else if (strcasecmp(d->type, "multipart") == 0) {
        p->flags |= MP_MULTIPART;
        if (strcasecmp(d->subtype, "digest") == 0)
            p->flags |= MP_DIGEST;
    }
}

enum { ST_HEADER, ST_BODY_BOUNDARY, ST_BODY_EOF, ST_DONE };

/* Parse the header of c->part starting at *pos; returns the next state. */
static int parse_header(pctx *c, size_t *pos_io)
{
    node_ext *P = c->part;
    mime_node *p = &P->node;
    const char *m = c->msg;
    size_t pos = *pos_io, hdr_end;
    const char *boundary_str = NULL;
    size_t boundary_len = 0;
    bool seen_ct = false, multipart = false;
    size_t prev_nl = 0;
    bool want_env = p->parent == NULL || (p->parent->flags & MP_RFC822);
    char name[1001 + 1];

    if (want_env)
        p->env = ls__ar_alloc(c->a, sizeof(mime_envelope));

    for (;;) {
        if (pos >= c->len) {
            hdr_end = pos;
            break;
        }
        if (hdr_at_eoh(m, c->len, pos)) {
            if (boundary_str != NULL && (p->flags & MP_IS_MIME)) {
                if (c->nested + 1 < MP_MAX_NESTED) {
                    boundary *b = ls__ar_alloc(c->a, sizeof(*b));
                    b->part = p;
                    b->b = boundary_str;
                    b->len = boundary_len;
                    b->next = c->bounds;
                    c->bounds = b;
                    multipart = true;
                } else {
                    p->flags |= MP_OVERFLOW;
                    p->flags &= ~(unsigned)MP_MULTIPART;
                }
            }
            pos += m[pos] == '\n' ? 1 : 2;
            hdr_end = pos;
            break;
        }
        if (c->bounds != NULL && m[pos] == '-') {
            boundary *b = boundary_at(c, pos);
            if (b != NULL && b->part != p) {
                /* the line break before the boundary is the boundary's */
                hdr_end = pos - prev_nl;
                P->ended_in_header = true;
                break;
            }
        }
        hdr_line h;
        ls__hdr_read(m, c->len, pos, &h);
        pos += h.raw_len;
        prev_nl = h.last_nl;
        if (h.name_len == 0)
            continue;
        /* names are C strings in Dovecot: cut at a NUL */
        size_t nl = h.name_len;
        const char *nul = memchr(h.name, '\0', nl);
        if (nul != NULL)
            nl = (size_t)(nul - h.name);
        memcpy(name, h.name, nl);
        name[nl] = '\0';

        bool is_content = strncasecmp(name, "Content-", 8) == 0;
        if (!is_content && !want_env) {
            if (strcasecmp(name, "Mime-Version") == 0)
                p->flags |= MP_IS_MIME;
            continue;
        }
        size_t vlen;
        const char *v = ls__hdr_full_value(m, &h, &c->scratch, &vlen);
        if (is_content) {
            if (strcasecmp(name + 8, "Type") == 0) {
                p->flags |= MP_IS_MIME;
                if (!seen_ct) {
                    seen_ct = true;
                    int ret = ls__partdata_content_type(c->a, &p->data, v, vlen);
                    set_type_flags(p, &p->data);
                    if (ret >= 0 && (p->flags & MP_MULTIPART)) {
                        for (unsigned i = 0; i < p->data.ntype_params; i++) {
                            if (strcasecmp(p->data.type_params[i].name, "boundary") == 0) {
                                boundary_str = p->data.type_params[i].value;
                                boundary_len = strlen(boundary_str);
                                if (boundary_len > BOUNDARY_MAX)
                                    boundary_len = BOUNDARY_MAX;
                                break;
                            }
                        }
                    }
                }
            } else {
                ls__partdata_header(c->a, &p->data, name + 8, v, vlen);
            }
        } else if (strcasecmp(name, "Mime-Version") == 0) {
            p->flags |= MP_IS_MIME;
        }
        if (want_env)
            ls__envelope_header(c->a, p->env, &h, v, vlen);
    }

    count_to(c, hdr_end, &P->lf_at_body, &P->miss_at_body);
    p->hdr_len = hdr_end - p->hdr_off;
    p->hdr_lines = P->lf_at_body - P->lf_at_hdr;
    p->hdr_vsize = p->hdr_len + (P->miss_at_body - P->miss_at_hdr);
    p->body_off = hdr_end;
    *pos_io = pos;

    if (!(p->flags & MP_IS_MIME)) {
        /* not MIME: Content-* fields mean nothing */
        p->flags = 0;
        memset(&p->data, 0, sizeof(p->data));
    }
    if (!seen_ct || !(p->flags & MP_IS_MIME)) {
        if (p->parent != NULL && (p->parent->flags & MP_DIGEST))
            p->flags |= MP_RFC822;
        else
            p->flags |= MP_TEXT;
    }

    if (multipart)
        return ST_BODY_BOUNDARY;
    if (p->flags & MP_RFC822) {
        if (c->nested + 1 < MP_MAX_NESTED && c->total < MP_MAX_TOTAL) {
            c->part = new_part(c, P, P->ended_in_header ? pos : hdr_end);
            return ST_HEADER;
        }
        p->flags |= MP_OVERFLOW;
        p->flags &= ~(unsigned)MP_RFC822;
    }
    return c->bounds != NULL ? ST_BODY_BOUNDARY : ST_BODY_EOF;
}

/* Scan the body from *pos (a line start) for a boundary line. */
static int parse_body_to_boundary(pctx *c, size_t *pos_io)
{
    const char *m = c->msg;
    size_t start = *pos_io, L = start;
    boundary *b = NULL;

    for (;;) {
        if (L + 1 < c->len && m[L] == '-' && m[L + 1] == '-') {
            b = boundary_at(c, L);
            if (b != NULL)
                break;
        }
        const char *lf = memchr(m + L, '\n', c->len - L);
        if (lf == NULL)
            break;
        L = (size_t)(lf - m) + 1;
    }
    if (b == NULL) {
        *pos_io = c->len;
        return ST_BODY_EOF;
    }

    size_t end = L;
    if (L > start) {
        end = L - 1;
        if (end > start && m[end - 1] == '\r')
            end--;
    }
    while (&c->part->node != b->part)
        c->part = finish_part(c, c->part, end);

    /* drop the boundaries of the parts just closed, and this one too if
     * it was the closing "--b--" */
    boundary *keep = b->epilogue ? b->next : b;
    c->bounds = keep;

    size_t pos = L + 2 + b->len + (b->epilogue ? 2 : 0);
    const char *lf = memchr(m + pos, '\n', c->len - pos);
    if (lf == NULL) {
        *pos_io = c->len;
        return ST_DONE;
    }
    pos = (size_t)(lf - m) + 1;
    *pos_io = pos;
    if (c->bounds == NULL || c->bounds->part != &c->part->node)
        return c->bounds != NULL ? ST_BODY_BOUNDARY : ST_BODY_EOF;
    /* a new part of the current multipart */
    c->part = new_part(c, c->part, pos);
    c->part->node.flags |= MP_IS_MIME;
    return ST_HEADER;
}

void ls__mime_parse_tree(const char *msg, size_t len, ls_arena *a, mime_tree *t)
{
    pctx c;
    memset(&c, 0, sizeof(c));
    c.msg = msg;
    c.len = len;
    c.a = a;
    c.tree = t;
    t->nnodes = 0;
    c.total = 1;
    node_ext *root = new_part(&c, NULL, 0);
    t->root = &root->node;
    c.part = root;

    size_t pos = 0;
    int st = ST_HEADER;
    while (st != ST_DONE && st != ST_BODY_EOF) {
        if (st == ST_HEADER)
            st = parse_header(&c, &pos);
        else
            st = parse_body_to_boundary(&c, &pos);
    }
    /* EOF: everything still open ends here */
    while (c.part != NULL)
        c.part = finish_part(&c, c.part, len);
    ls__sb_free(&c.scratch);
}

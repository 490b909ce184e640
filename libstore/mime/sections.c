/*
 * The table of addressable IMAP sections, and finding a section in it.
 *
 * Numbering (RFC 3501 6.4.5): the parts of a multipart are N.1, N.2, ...;
 * a message/rfc822 part N contains the parts of its message: N.1, N.2 ...
 * if that message is multipart, else N.1 is the message's single body.
 * A message that is not multipart also has a part "1" (its body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "mime/internal.h"

typedef struct table {
    ls_mime_part *v;
    size_t n, cap;
} table;

static void add(table *t, const mime_node *n, const char *section)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        t->v = ls__mime_xrealloc(t->v, cap * sizeof(*t->v));
        t->cap = cap;
    }
    ls_mime_part *p = &t->v[t->n++];
    memset(p, 0, sizeof(*p));
    snprintf(p->section, sizeof(p->section), "%s", section);
    p->hdr_off = n->hdr_off;
    p->hdr_len = n->hdr_len;
    p->body_off = n->body_off;
    p->body_len = n->body_len;
    if (n->flags & MP_MULTIPART) {
        p->kind = LS_MIME_MULTIPART;
    } else if ((n->flags & MP_RFC822) && n->children != NULL) {
        const mime_node *c = n->children;
        p->kind = LS_MIME_MESSAGE;
        p->msg_hdr_off = c->hdr_off;
        p->msg_hdr_len = c->hdr_len;
        p->msg_body_off = c->body_off;
        p->msg_body_len = c->body_len;
    } else {
        p->kind = LS_MIME_LEAF;
    }
}

static void emit(table *t, const mime_node *n, char *sec, size_t seclen);

/* Number the children of container n under prefix sec. */
static void emit_children(table *t, const mime_node *first, char *sec, size_t seclen)
{
    unsigned i = 1;
    for (const mime_node *c = first; c != NULL; c = c->next, i++) {
        int w = snprintf(sec + seclen, sizeof(((ls_mime_part *)0)->section) - seclen,
                         "%s%u", seclen ? "." : "", i);
        if (w < 0 || seclen + (size_t)w >= sizeof(((ls_mime_part *)0)->section))
            break; /* too deep to name: not addressable */
        emit(t, c, sec, seclen + (size_t)w);
        sec[seclen] = '\0';
    }
}

static void emit(table *t, const mime_node *n, char *sec, size_t seclen)
{
    add(t, n, sec);
    if (n->flags & MP_MULTIPART) {
        emit_children(t, n->children, sec, seclen);
    } else if ((n->flags & MP_RFC822) && n->children != NULL) {
        const mime_node *msg = n->children;
        if (msg->flags & MP_MULTIPART)
            emit_children(t, msg->children, sec, seclen);
        else
            emit_children(t, msg, sec, seclen); /* msg itself is N.1 */
    }
}

int ls__sections_build(const mime_tree *tr, ls_mime_part **parts, size_t *nparts)
{
    table t = {0};
    char sec[sizeof(((ls_mime_part *)0)->section)] = "";
    const mime_node *root = tr->root;
    add(&t, root, "");
    if (root->flags & MP_MULTIPART)
        emit_children(&t, root->children, sec, 0);
    else
        emit_children(&t, root, sec, 0); /* the body is part 1 */
    *parts = t.v;
    *nparts = t.n;
    return LS_OK;
}

/* ---- section lookup ---- */

static const ls_mime_part *find(const ls_mime_part *parts, size_t n, const char *sec, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(parts[i].section) == len && memcmp(parts[i].section, sec, len) == 0)
            return &parts[i];
    }
    return NULL;
}

int ls__mime_section_locate(const ls_mime_part *parts, size_t nparts, const char *section,
                           uint64_t *off, uint64_t *len)
{
    if (parts == NULL || nparts == 0 || section == NULL)
        return ls__err(LS_EINVAL, "no parts table or section");
    /* split "1.2.3.KEYWORD" into the numeric path and the keyword */
    const char *s = section, *kw = NULL;
    size_t numlen = 0;
    for (;;) {
        if (*s >= '1' && *s <= '9') {
            while (*s >= '0' && *s <= '9')
                s++;
            numlen = (size_t)(s - section);
            if (*s == '\0')
                break;
            if (*s != '.')
                return ls__err(LS_EINVAL, "malformed section '%s'", section);
            s++;
            continue;
        }
        if (*s == '\0') {
            if (s != section) /* trailing dot */
                return ls__err(LS_EINVAL, "malformed section '%s'", section);
            break;
        }
        kw = s;
        break;
    }
    const ls_mime_part *p = find(parts, nparts, section, numlen);
    if (p == NULL)
        return ls__err(LS_ENOTFOUND, "no part %.*s in this message", (int)numlen, section);
    if (kw == NULL) {
        /* "" = whole message; "N" = the part's body */
        if (numlen == 0) {
            *off = 0;
            *len = p->body_off + p->body_len;
        } else {
            *off = p->body_off;
            *len = p->body_len;
        }
        return LS_OK;
    }
    if (strcasecmp(kw, "MIME") == 0) {
        if (numlen == 0)
            return ls__err(LS_EINVAL, "MIME needs a part number: '%s'", section);
        *off = p->hdr_off;
        *len = p->hdr_len;
        return LS_OK;
    }
    bool header = strcasecmp(kw, "HEADER") == 0;
    if (!header && strcasecmp(kw, "TEXT") != 0)
        return ls__err(LS_EINVAL, "unknown section keyword in '%s'", section);
    if (numlen == 0) {
        *off = header ? p->hdr_off : p->body_off;
        *len = header ? p->hdr_len : p->body_len;
        return LS_OK;
    }
    if (p->kind != LS_MIME_MESSAGE)
        return ls__err(LS_ENOTFOUND, "part %.*s is not a message/rfc822", (int)numlen, section);
    *off = header ? p->msg_hdr_off : p->msg_body_off;
    *len = header ? p->msg_hdr_len : p->msg_body_len;
    return LS_OK;
}

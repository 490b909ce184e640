/*
 * Address-list parsing for ENVELOPE (From, To, Cc, ...).
 *
 * The tolerance rules are Dovecot 2.3's (message_address_parse with
 * "fill missing"): an address without a domain gets "MISSING_DOMAIN", one
 * without a mailbox "MISSING_MAILBOX", an unparseable angle address gets
 * domain "SYNTAX_ERROR", a bad source route "INVALID_ROUTE"; a lone word
 * becomes a display name; a comment after an addr-spec becomes the name;
 * dots in local parts are not checked strictly. Groups are a start entry
 * (mailbox = display name) and an end entry (all NIL).
 */
#include <string.h>

#include "mime/internal.h"

typedef struct addr_ctx {
    ls_arena *a;
    rfc_ctx p;
    ls_sbuf str;          /* scratch for the token being built */
    ls_sbuf comment;      /* last comment seen by the tokenizer */
    mime_addr cur;        /* the address being filled */
    mime_addr *first, *last;
} addr_ctx;

static void push_addr(addr_ctx *c)
{
    mime_addr *n = ls__ar_alloc(c->a, sizeof(*n));
    *n = c->cur;
    n->next = NULL;
    memset(&c->cur, 0, sizeof(c->cur));
    if (c->first == NULL)
        c->first = n;
    else
        c->last->next = n;
    c->last = n;
}

static const char *dup_str(addr_ctx *c)
{
    return ls__ar_strdup_sb(c->a, &c->str);
}

/* local-part with lax dots: "a..b", ".a", "a." are all accepted */
static int lax_dot_atom(addr_ctx *c)
{
    rfc_ctx *p = &c->p;
    int ret = -1;
    do {
        while (*p->p == '.') {
            ls__sb_addc(&c->str, '.');
            p->p++;
            if (p->p == p->end)
                return 0; /* local part ended, no domain */
            ret = 1;
        }
        if (*p->p == '@')
            break;
        ret = ls__rfc_parse_atom(p, &c->str);
    } while (ret > 0 && *p->p == '.');
    return ret;
}

static int local_part(addr_ctx *c)
{
    int ret;
    sb_clear(&c->str);
    if (*c->p.p == '"')
        ret = ls__rfc_parse_quoted_string(&c->p, &c->str);
    else
        ret = lax_dot_atom(c);
    if (ret < 0)
        return -1;
    c->cur.mailbox = dup_str(c);
    return ret;
}

static int domain(addr_ctx *c)
{
    sb_clear(&c->str);
    int ret = ls__rfc_parse_domain(&c->p, &c->str);
    if (ret < 0)
        return -1;
    c->cur.domain = dup_str(c);
    return ret;
}

static int route(addr_ctx *c)
{
    /* obs-domain-list: "@a,@b" kept as written, commas normalised */
    sb_clear(&c->str);
    for (;;) {
        if (c->p.p >= c->p.end)
            return 0;
        if (*c->p.p != '@')
            break;
        if (c->str.len > 0)
            ls__sb_addc(&c->str, ',');
        ls__sb_addc(&c->str, '@');
        int ret = ls__rfc_parse_domain(&c->p, &c->str);
        if (ret <= 0)
            return ret;
        while (ls__rfc_skip_lwsp(&c->p) > 0 && *c->p.p == ',')
            c->p.p++;
    }
    c->cur.route = dup_str(c);
    return 1;
}

static int angle_addr(addr_ctx *c)
{
    /* at '<' */
    c->p.p++;
    if (ls__rfc_skip_lwsp(&c->p) <= 0)
        return -1;
    if (*c->p.p == '@') {
        if (route(c) > 0 && *c->p.p == ':') {
            c->p.p++;
        } else {
            c->cur.route = "INVALID_ROUTE";
            if (c->p.p >= c->p.end)
                return -1;
        }
        if (ls__rfc_skip_lwsp(&c->p) <= 0)
            return -1;
    }
    if (*c->p.p != '>') {
        if (local_part(c) <= 0)
            return -1;
        if (*c->p.p == '@') {
            if (domain(c) <= 0)
                return -1;
        }
    }
    if (*c->p.p != '>')
        return -1;
    c->p.p++;
    return ls__rfc_skip_lwsp(&c->p);
}

static int name_addr(addr_ctx *c)
{
    sb_clear(&c->str);
    if (ls__rfc_parse_phrase(&c->p, &c->str) <= 0 || *c->p.p != '<')
        return -1;
    const char *name = dup_str(c);
    c->cur.name = name[0] == '\0' ? NULL : name;
    if (angle_addr(c) < 0)
        c->cur.domain = "SYNTAX_ERROR";
    return c->p.p < c->p.end ? 1 : 0;
}

/* Returns like the tokenizer; *invalid is set for syntax errors. */
static int addr_spec(addr_ctx *c, bool *invalid)
{
    int ret, ret2 = -2;
    sb_clear(&c->comment);
    bool quoted = *c->p.p == '"';
    ret = local_part(c);
    if (ret <= 0)
        *invalid = true;
    if (ret != 0 && c->p.p < c->p.end && *c->p.p == '@') {
        ret2 = domain(c);
        if (ret2 <= 0)
            ret = ret2;
    }
    if (c->comment.len > 0) {
        c->cur.name = ls__ar_strdup_sb(c->a, &c->comment);
    } else if (ret2 == -2) {
        /* a word without @domain and without (comment): alone it is a
         * mailbox, followed by more words it was a display name */
        ls__sb_addc(&c->str, ' ');
        size_t before = c->str.len;
        (void)ls__rfc_parse_phrase(&c->p, &c->str);
        if (c->str.len != before) {
            c->cur.mailbox = NULL;
            c->cur.name = dup_str(c);
        } else if (!quoted) {
            c->cur.domain = "";
        }
        *invalid = true;
        ret = -1;
    }
    return ret;
}

static void push_fixed(addr_ctx *c)
{
    if (c->cur.mailbox == NULL)
        c->cur.mailbox = "MISSING_MAILBOX";
    if (c->cur.domain == NULL || c->cur.domain[0] == '\0')
        c->cur.domain = "MISSING_DOMAIN";
    push_addr(c);
}

static int mailbox(addr_ctx *c)
{
    const unsigned char *start = c->p.p;
    int ret = name_addr(c);
    if (ret < 0) {
        bool invalid = false;
        c->p.p = start;
        ret = addr_spec(c, &invalid);
        if (invalid && c->cur.name == NULL && c->cur.mailbox != NULL &&
            c->cur.domain == NULL) {
            c->cur.name = c->cur.mailbox;
            c->cur.mailbox = NULL;
        }
    }
    push_fixed(c);
    return ret;
}

static int group(addr_ctx *c)
{
    int ret;
    sb_clear(&c->str);
    if (ls__rfc_parse_phrase(&c->p, &c->str) <= 0 || *c->p.p != ':')
        return -1;
    /* from here on it is a group, whatever follows */
    c->p.p++;
    ret = ls__rfc_skip_lwsp(&c->p);
    c->cur.mailbox = dup_str(c);
    push_addr(c);

    if (ret > 0 && *c->p.p != ';') {
        for (;;) {
            (void)mailbox(c);
            if (c->p.p >= c->p.end || *c->p.p != ',')
                break;
            c->p.p++;
            if (ls__rfc_skip_lwsp(&c->p) <= 0) {
                ret = -1;
                break;
            }
        }
    }
    if (ret >= 0) {
        if (c->p.p >= c->p.end || *c->p.p != ';') {
            ret = -1;
        } else {
            c->p.p++;
            ret = ls__rfc_skip_lwsp(&c->p);
        }
    }
    push_addr(c); /* end of group */
    return ret == 0 ? 0 : 1;
}

static int address(addr_ctx *c)
{
    const unsigned char *start = c->p.p;
    int ret = group(c);
    if (ret < 0) {
        c->p.p = start;
        ret = mailbox(c);
    }
    return ret;
}

mime_addr *ls__addr_parse_list(ls_arena *a, const unsigned char *data, size_t n)
{
    addr_ctx c;
    memset(&c, 0, sizeof(c));
    c.a = a;
    rfc_init(&c.p, data, n);
    c.p.last_comment = &c.comment;
    c.p.nul_repl = true;

    if (ls__rfc_skip_lwsp(&c.p) > 0) {
        for (;;) {
            if (address(&c) == 0)
                break;
            if (c.p.p >= c.p.end || *c.p.p != ',')
                break;
            c.p.p++;
            int ret = ls__rfc_skip_lwsp(&c.p);
            if (ret <= 0) {
                if (ret < 0)
                    push_fixed(&c); /* ends with garbage */
                break;
            }
        }
    }
    ls__sb_free(&c.str);
    ls__sb_free(&c.comment);
    return c.first;
}

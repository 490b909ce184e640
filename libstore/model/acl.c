/*
 * Rights evaluation (RFC 4314 as docs/contract.md §1.9 states it). The ACL of a mailbox is
 * kept in its mailbox entry as "ID\tRIGHTS\t" pairs, as Cyrus stores it.
 *
 * Rights of an identity = OR of the rights of every matching entry (its own
 * name, "anyone", a "group:NAME" it belongs to), minus the rights of every
 * matching negative entry ("-ID"), plus the implicit rights of the owner of
 * user.NAME... ("l k x a n"); admins have all rights.
 */
#include "store_impl.h"
#include "model/names.h"

#include <stdlib.h>
#include <string.h>

static const char rights_chars[] = "lrswipkxtean";

unsigned ls__rights_parse(const char *r)
{
    unsigned bits = 0;
    for (; *r; r++) {
        const char *p = strchr(rights_chars, *r);
        if (p && *r)
            bits |= 1u << (p - rights_chars);
        else if (*r == 'c')
            bits |= LS_RIGHT_K | LS_RIGHT_X;   /* RFC 2086 create */
        else if (*r == 'd')
            bits |= LS_RIGHT_T | LS_RIGHT_E;   /* RFC 2086 delete */
    }
    return bits;
}

static int id_matches(const ls_session *s, const char *id, size_t len)
{
    if (len == 6 && !memcmp(id, "anyone", 6))
        return 1;
    if (!s->identity)
        return 0;
    if (len > 6 && !memcmp(id, "group:", 6)) {
        char g[256];
        if (len - 6 >= sizeof g)
            return 0;
        memcpy(g, id + 6, len - 6);
        g[len - 6] = 0;
        return ls__group_member(s->st, g, s->identity);
    }
    return strlen(s->identity) == len && !memcmp(id, s->identity, len);
}

unsigned ls__rights(const ls_session *s, const char *name, const char *acl)
{
    if (s->admin)
        return LS_RIGHT_ALL;
    unsigned pos = 0, neg = 0;
    const char *p = acl ? acl : "";
    while (*p) {
        const char *tab = strchr(p, '\t');
        if (!tab)
            break;
        const char *r = tab + 1, *rend = strchr(r, '\t');
        size_t rlen = rend ? (size_t)(rend - r) : strlen(r);
        char rights[64];
        if (rlen >= sizeof rights)
            rlen = sizeof rights - 1;
        memcpy(rights, r, rlen);
        rights[rlen] = 0;
        if (*p == '-') {
            if (id_matches(s, p + 1, (size_t)(tab - p - 1)))
                neg |= ls__rights_parse(rights);
        } else if (id_matches(s, p, (size_t)(tab - p))) {
            pos |= ls__rights_parse(rights);
        }
        p = rend ? rend + 1 : r + rlen;
    }
    unsigned rights = pos & ~neg;
    char *owner = NULL;
    if (s->identity && ls__name_owner(name, s->st->cfg->sep, &owner) && !strcmp(owner, s->identity))
        rights |= LS_RIGHT_L | LS_RIGHT_K | LS_RIGHT_X | LS_RIGHT_A | LS_RIGHT_N;
    free(owner);
    return rights;
}

int ls__require(const ls_session *s, const ls_mbox *m, unsigned need, const char *what)
{
    unsigned have = ls__rights(s, m->name, m->entry.acl);
    if ((have & need) == need)
        return LS_OK;
    /* RFC 4314 §6: without `l` the mailbox does not exist for this identity */
    if (!(have & LS_RIGHT_L))
        return ls__err(LS_ENOTFOUND, "mailbox '%s' does not exist", m->name);
    return ls__err(LS_EPERM, "%s: permission denied on '%s'", what, m->name);
}

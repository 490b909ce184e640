/* SETACL, DELETEACL, GETACL, MYRIGHTS. The ACL lives in the mailbox entry
 * ("ID\tRIGHTS\t" pairs) and is mirrored into store.header by the same call. */
#include "store_impl.h"
#include "core/fsutil.h"
#include "model/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char canon[] = "lrswipkxtean";

/* Bits -> letters in canonical order. */
void ls__rights_format(unsigned bits, char out[13])
{
    size_t n = 0;
    for (int i = 0; canon[i]; i++)
        if (bits & (1u << i))
            out[n++] = canon[i];
    out[n] = 0;
}

/* Validate rights letters (canonical and the RFC 2086 c, d). */
static int rights_valid(const char *r)
{
    for (; *r; r++)
        if (!strchr(canon, *r) && *r != 'c' && *r != 'd')
            return 0;
    return 1;
}

static int id_valid(const ls_store *st, const char *id)
{
    const char *p = id[0] == '-' ? id + 1 : id;
    if (!*p || strlen(p) > 255 || strchr(p, '\t') || strchr(p, '\n'))
        return 0;
    if (!strcmp(p, "anyone") || !strncmp(p, "group:", 6))
        return p[0] != 'g' || p[6] != 0;
    return ls__user_validate(p, st->cfg->sep) == LS_OK;
}

/* Rebuild `acl` with the entry of id replaced by `bits` (0: removed). */
static char *acl_with(const char *acl, const char *id, unsigned bits, int *found, unsigned *old)
{
    size_t idlen = strlen(id);
    char *out = malloc(strlen(acl) + idlen + 32), *o = out;
    if (!out)
        return NULL;
    *found = 0;
    *old = 0;
    const char *p = acl;
    while (*p) {
        const char *tab = strchr(p, '\t');
        const char *end = tab ? strchr(tab + 1, '\t') : NULL;
        if (!end)
            break;
        if ((size_t)(tab - p) == idlen && !memcmp(p, id, idlen)) {
            char r[64];
            size_t rl = (size_t)(end - tab - 1) < sizeof r - 1 ? (size_t)(end - tab - 1) : sizeof r - 1;
            memcpy(r, tab + 1, rl);
            r[rl] = 0;
            *old = ls__rights_parse(r);
            *found = 1;
            if (bits) {
                memcpy(o, id, idlen);
                o += idlen;
                *o++ = '\t';
                char letters[13];
                ls__rights_format(bits, letters);
                o += sprintf(o, "%s\t", letters);
            }
        } else {
            memcpy(o, p, (size_t)(end + 1 - p));
            o += end + 1 - p;
        }
        p = end + 1;
    }
    if (!*found && bits) {
        memcpy(o, id, idlen);
        o += idlen;
        *o++ = '\t';
        char letters[13];
        ls__rights_format(bits, letters);
        o += sprintf(o, "%s\t", letters);
    }
    *o = 0;
    return out;
}

struct setacl_args {
    ls_session *s;
    const char *mailbox, *id, *rights;
    int remove;
};

static int setacl_txn(ls_txn *t, void *arg)
{
    struct setacl_args *a = arg;
    ls_mbox m;
    int rc = ls__mbox_load(t, a->mailbox, &m);
    if (rc)
        return rc;
    if ((rc = ls__require(a->s, &m, LS_RIGHT_A, a->remove ? "deleteacl" : "setacl"))) {
        ls__mbox_clear(&m);
        return rc;
    }
    /* compute the new entry: "+r" adds, "-r" removes, "r" replaces */
    int found;
    unsigned old;
    char *probe = acl_with(m.entry.acl, a->id, 0, &found, &old);
    free(probe);
    unsigned bits = 0;
    if (!a->remove) {
        const char *r = a->rights;
        int mode = *r == '+' ? 1 : *r == '-' ? -1 : 0;
        unsigned given = ls__rights_parse(mode ? r + 1 : r);
        bits = mode > 0 ? old | given : mode < 0 ? old & ~given : given;
    }
    char *acl = acl_with(m.entry.acl, a->id, bits, &found, &old);
    if (!acl) {
        ls__mbox_clear(&m);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    free(m.entry.acl);
    m.entry.acl = acl;
    rc = ls__mbox_put_entry(t, &m);
    ls__mbox_clear(&m);
    return rc;
}

static int mirror_header(ls_session *s, const char *mailbox)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, mailbox, &m)) == LS_OK) {
        rc = ls__header_write(s->st, &m);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

static int change_acl(ls_session *s, const char *mailbox, const char *id, const char *rights, int remove)
{
    int rc = ls_name_validate(mailbox, s->st->cfg->sep);
    if (rc)
        return rc;
    if (!id || !id_valid(s->st, id))
        return ls__err(LS_EINVAL, "invalid ACL identifier '%s'", id ? id : "(null)");
    if (!remove) {
        const char *r = rights ? rights : "";
        if (*r == '+' || *r == '-')
            r++;
        if (!rights || !rights_valid(r))
            return ls__err(LS_EINVAL, "invalid rights '%s' (letters of lrswipkxtean, and c d)", rights ? rights : "");
    }
    struct setacl_args a = { s, mailbox, id, rights, remove };
    rc = ls__env_write(s->st->env, LS_SYNC_ALWAYS, setacl_txn, &a);
    return rc ? rc : mirror_header(s, mailbox);
}

int ls_acl_set(ls_session *s, const char *mailbox, const char *id, const char *rights)
{
    return change_acl(s, mailbox, id, rights, 0);
}

int ls_acl_delete(ls_session *s, const char *mailbox, const char *id)
{
    return change_acl(s, mailbox, id, NULL, 1);
}

int ls_acl_get(ls_session *s, const char *mailbox, ls_acl_cb cb, void *arg)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    char *acl = NULL;
    if ((rc = ls__mbox_load(&t, mailbox, &m)) == LS_OK) {
        rc = ls__require(s, &m, LS_RIGHT_A, "getacl");
        if (!rc && !(acl = strdup(m.entry.acl)))
            rc = ls__err(LS_ENOMEM, "out of memory");
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    char *p = acl;
    while (!rc && p && *p) {
        char *tab = strchr(p, '\t');
        char *end = tab ? strchr(tab + 1, '\t') : NULL;
        if (!end)
            break;
        *tab = *end = 0;
        char letters[13];
        ls__rights_format(ls__rights_parse(tab + 1), letters);
        rc = cb(p, letters, arg);
        p = end + 1;
    }
    free(acl);
    return rc;
}

int ls_acl_myrights(ls_session *s, const char *mailbox, char rights[13])
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, mailbox, &m)) == LS_OK) {
        unsigned have = ls__rights(s, m.name, m.entry.acl);
        /* RFC 4314 §4: MYRIGHTS needs any of l r i k x a */
        if (!(have & (LS_RIGHT_L | LS_RIGHT_R | LS_RIGHT_I | LS_RIGHT_K | LS_RIGHT_X | LS_RIGHT_A)))
            rc = ls__err(LS_ENOTFOUND, "mailbox '%s' does not exist", mailbox);
        else
            ls__rights_format(have, rights);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

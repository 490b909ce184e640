/*
 * ctl_mboxlist: the mailbox list as text, and back.
 * One line per mailbox: NAME TAB UNIQUEID TAB PARTITION TAB UIDVALIDITY TAB ACL,
 * with backslash, tab, CR and LF in NAME and ACL written as \\ \t \r \n.
 * Loading adds or updates entries (and creates the state of a mailbox whose
 * unique id has none); dump -> load -> dump is the identity.
 */
#include "repair/repair_impl.h"
#include "model/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t escape(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *s && n + 3 < outlen; s++) {
        char e = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : 0;
        if (e) {
            out[n++] = '\\';
            out[n++] = e;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = 0;
    return n;
}

static char *unescape(const char *s, size_t len)
{
    char *o = malloc(len + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            char e = s[++i];
            *w++ = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
        } else {
            *w++ = s[i];
        }
    }
    *w = 0;
    return o;
}

int ls_repair_mboxlist_dump(ls_store *st, ls_repair_report_cb cb, void *arg)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    MDB_cursor *c;
    if ((rc = ls__db_cursor(&t, LS_DB_MAILBOXES, &c)) == LS_OK) {
        MDB_val k, v;
        for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            char name[LS_NAME_BUF], ename[2 * LS_NAME_BUF];
            if (k.mv_size >= sizeof name)
                continue;
            memcpy(name, k.mv_data, k.mv_size);
            name[k.mv_size] = 0;
            ls_mbentry e;
            if (ls__mbentry_decode(v.mv_data, v.mv_size, &e) != LS_OK) {
                rc = ls__err(LS_ECORRUPT, "mailbox entry of '%s' is damaged (run reconstruct -m)", name);
                break;
            }
            size_t al = strlen(e.acl) * 2 + 1;
            char *eacl = malloc(al), uuid[37], *line = NULL;
            if (eacl) {
                escape(e.acl, eacl, al);
                escape(name, ename, sizeof ename);
                ls__uuid_format(e.uuid, uuid);
                if (asprintf(&line, "%s\t%s\t%s\t%u\t%s", ename, uuid, e.partition, e.uidvalidity, eacl) < 0)
                    line = NULL;
            }
            if (line)
                cb(line, arg);
            else
                rc = ls__err(LS_ENOMEM, "out of memory");
            free(line);
            free(eacl);
            ls__mbentry_clear(&e);
            if (rc)
                break;
        }
        ls__db_cursor_close(c);
    }
    ls__txn_end(&t);
    return rc;
}

struct load_args { ls_rctx *c; const char *text; size_t len; };

static int load_txn(ls_txn *t, void *arg)
{
    struct load_args *a = arg;
    ls_rctx *c = a->c;
    char sep = c->st->cfg->sep;
    ls__say_flush(c, 0);
    c->holding = 1;
    const char *p = a->text, *end = a->text + a->len;
    int rc = LS_OK, line = 0;
    while (!rc && p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *f[5];
        size_t fl[5];
        int nf = 0;
        const char *q = p;
        while (nf < 5) {
            const char *tab = nf < 4 ? memchr(q, '\t', (size_t)(le - q)) : NULL;
            f[nf] = q;
            fl[nf] = (size_t)((tab ? tab : le) - q);
            nf++;
            if (!tab)
                break;
            q = tab + 1;
        }
        if (le == p) { /* blank line */
            p = le + 1;
            continue;
        }
        if (nf != 5) {
            rc = ls__err(LS_EINVAL, "line %d: want NAME, UNIQUEID, PARTITION, UIDVALIDITY and ACL separated by tabs", line);
            break;
        }
        char *name = unescape(f[0], fl[0]), *acl = unescape(f[4], fl[4]);
        char uuidstr[37] = "", part[64] = "", num[16] = "";
        if (fl[1] < sizeof uuidstr) memcpy(uuidstr, f[1], fl[1]), uuidstr[fl[1]] = 0;
        if (fl[2] < sizeof part) memcpy(part, f[2], fl[2]), part[fl[2]] = 0;
        if (fl[3] < sizeof num) memcpy(num, f[3], fl[3]), num[fl[3]] = 0;
        uint8_t uuid[LS_UUID_LEN];
        char *endn;
        unsigned long uv = strtoul(num, &endn, 10);
        if (!name || !acl)
            rc = ls__err(LS_ENOMEM, "out of memory");
        else if (ls_name_validate(name, sep))
            rc = ls__err(LS_EINVAL, "line %d: %s", line, ls_error_last());
        else if (ls__uuid_parse(uuidstr, uuid))
            rc = ls__err(LS_EINVAL, "line %d: bad unique id '%s'", line, uuidstr);
        else if (!ls__config_partition_path(c->st->cfg, part))
            rc = ls__err(LS_EINVAL, "line %d: partition '%s' is not configured", line, part);
        else if (endn == num || *endn || uv == 0 || uv > UINT32_MAX)
            rc = ls__err(LS_EINVAL, "line %d: bad UIDVALIDITY '%s'", line, num);
        if (!rc) {
            ls_mbox m;
            int exists = ls__mbox_load(t, name, &m) == LS_OK;
            ls_error_clear();
            int same = exists && !memcmp(m.entry.uuid, uuid, LS_UUID_LEN) && !strcmp(m.entry.partition, part) &&
                       m.entry.uidvalidity == uv && !strcmp(m.entry.acl, acl);
            if (exists)
                ls__mbox_clear(&m);
            if (!same) {
                ls_mbentry e = { .uidvalidity = (uint32_t)uv };
                memcpy(e.uuid, uuid, LS_UUID_LEN);
                snprintf(e.partition, sizeof e.partition, "%s", part);
                e.acl = acl;
                ls_mbox nm = { .name = name, .entry = e };
                rc = ls__mbox_put_entry(t, &nm);
                if (!rc)
                    rc = ls__db_put(t, LS_DB_BYUUID, uuid, LS_UUID_LEN, name, strlen(name), 0);
                MDB_val sv;
                if (!rc && ls__db_get(t, LS_DB_MBSTATE, uuid, LS_UUID_LEN, &sv) == LS_ENOTFOUND) {
                    ls_mbstate s = { .uidvalidity = (uint32_t)uv, .uidnext = 1, .highestmodseq = 1 };
                    rc = ls__mbstate_put(t, uuid, &s);
                }
                ls__say(c, "%s: %s", name, exists ? "entry updated" : "entry added");
            }
        }
        free(name);
        free(acl);
        p = le + 1;
    }
    c->holding = 0;
    if (!rc && (c->flags & LS_REPAIR_DRYRUN))
        return 1;
    return rc;
}

int ls_repair_mboxlist_load(ls_store *st, const char *text, size_t len, ls_repair_report_cb cb, void *arg)
{
    ls_rctx c = { .st = st, .cb = cb, .arg = arg };
    struct load_args a = { &c, text, len };
    int rc = ls__env_write(st->env, LS_SYNC_ALWAYS, load_txn, &a);
    if (rc == 1)
        rc = LS_OK;
    c.holding = 0;
    ls__say_flush(&c, rc == LS_OK);
    free(c.held);
    return rc;
}

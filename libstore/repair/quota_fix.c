/*
 * quota -f: recompute every root's usage from the index records and fix it.
 * It runs in one write transaction, so appends and expunges of other
 * processes (whose usage changes commit in their own transactions) are
 * either wholly before or wholly after it: the result is exact.
 */
#include "repair/repair_impl.h"
#include "model/names.h"
#include "model/quota.h"
#include "model/records.h"
#include "repair/header.h"

#include <stdlib.h>
#include <string.h>

typedef struct qroot { char *name; ls_qrec q; uint64_t sum[LS_QUOTA_NRESOURCES]; int gone, damaged; } qroot;

/* Limits of root `name` as its store.header records them; 1 if found. */
static int header_limits(ls_store *st, ls_txn *t, const char *name, int64_t limit[LS_QUOTA_NRESOURCES])
{
    ls_mbox m;
    if (ls__mbox_load(t, name, &m) != LS_OK) {
        ls_error_clear();
        return 0;
    }
    char *text;
    size_t len;
    int found = 0;
    if (st->layout->ops->header_read(st->layout, &m.ref, &text, &len) == LS_OK) {
        ls_hdrinfo h;
        if (ls__hdr_parse(text, len, &h) == LS_OK) {
            if (h.has_quota) {
                for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
                    limit[i] = h.quota[i];
                found = 1;
            }
            ls__hdr_free(&h);
        }
        free(text);
    }
    ls__mbox_clear(&m);
    ls_error_clear();
    return found;
}

struct live_sum { uint64_t bytes, msgs; };
static int add_live(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct live_sum *s = arg;
    if (r && !(r->sysflags & LS_REC_EXPUNGED)) {
        s->bytes += r->size;
        s->msgs++;
    }
    return 0;
}

struct fix_args { ls_rctx *c; const char *prefix; int exact; };

int ls__quota_fix_in(ls_txn *t, ls_rctx *c, const char *prefix, int exact)
{
    struct fix_args args = { c, prefix, exact }, *a = &args;
    char sep = c->st->cfg->sep;
    qroot *roots = NULL;
    size_t n = 0, cap = 0;
    int rc = LS_OK;
    MDB_cursor *cur;
    MDB_val k, v;
    if ((rc = ls__db_cursor(t, LS_DB_QUOTA, &cur)))
        return rc;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            qroot *nr = realloc(roots, cap * sizeof *nr);
            if (!nr) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            roots = nr;
        }
        qroot *r = &roots[n];
        memset(r, 0, sizeof *r);
        if (!(r->name = strndup(k.mv_data, k.mv_size))) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        if (ls__qrec_decode(v.mv_data, v.mv_size, &r->q) != LS_OK) {
            ls_error_clear();
            memset(&r->q, 0, sizeof r->q);
            for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
                r->q.limit[i] = LS_QUOTA_UNLIMITED;
            /* the limits are mirrored in the mailbox's store.header */
            int from_header = header_limits(c->st, t, r->name, r->q.limit);
            ls__say(c, "%s: damaged quota record rebuilt (limits %s)", r->name,
                   from_header ? "from store.header" : "lost: none found in store.header");
            r->damaged = 1;
        }
        MDB_val mv;
        r->gone = ls__db_get(t, LS_DB_MAILBOXES, k.mv_data, k.mv_size, &mv) != LS_OK;
        n++;
    }
    ls__db_cursor_close(cur);
    ls_error_clear();
    /* sum every mailbox into the root governing it (roots of gone mailboxes
     * govern nothing: they are removed) */
    if (!rc && !(rc = ls__db_cursor(t, LS_DB_MAILBOXES, &cur))) {
        for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            char name[LS_NAME_BUF];
            if (k.mv_size >= sizeof name)
                continue;
            memcpy(name, k.mv_data, k.mv_size);
            name[k.mv_size] = 0;
            /* the nearest existing root at or above the name */
            qroot *best = NULL;
            for (size_t i = 0; i < n; i++)
                if (!roots[i].gone && (!strcmp(roots[i].name, name) || ls__name_is_ancestor(roots[i].name, name, sep)) &&
                    (!best || strlen(roots[i].name) > strlen(best->name)))
                    best = &roots[i];
            if (!best)
                continue;
            ls_mbentry e;
            if (ls__mbentry_decode(v.mv_data, v.mv_size, &e) != LS_OK) {
                ls_error_clear();
                continue;
            }
            struct live_sum s = { 0, 0 };
            rc = ls__rec_foreach(t, e.uuid, 1, add_live, &s);
            ls__mbentry_clear(&e);
            best->sum[LS_QUOTA_STORAGE] += s.bytes;
            best->sum[LS_QUOTA_MESSAGE] += s.msgs;
            best->sum[LS_QUOTA_MAILBOX]++;
        }
        ls__db_cursor_close(cur);
    }
    size_t plen = a->prefix ? strlen(a->prefix) : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        qroot *r = &roots[i];
        if (plen && (a->exact ? strcmp(r->name, a->prefix) : strncmp(r->name, a->prefix, plen)))
            continue;
        if (r->gone) {
            ls__say(c, "%s: quota root removed (no such mailbox)", r->name);
            rc = ls__db_del(t, LS_DB_QUOTA, r->name, strlen(r->name), NULL, 0);
            continue;
        }
        int changed = 0;
        for (int res = 0; res < LS_QUOTA_NRESOURCES; res++) {
            if (r->sum[res] == r->q.usage[res])
                continue;
            if (res == LS_QUOTA_STORAGE)
                ls__say(c, "%s: STORAGE usage %llu -> %llu KiB (%llu -> %llu bytes)", r->name,
                       (unsigned long long)((r->q.usage[res] + 1023) / 1024), (unsigned long long)((r->sum[res] + 1023) / 1024),
                       (unsigned long long)r->q.usage[res], (unsigned long long)r->sum[res]);
            else
                ls__say(c, "%s: %s usage %llu -> %llu", r->name, ls_quota_resource_name(res),
                       (unsigned long long)r->q.usage[res], (unsigned long long)r->sum[res]);
            r->q.usage[res] = r->sum[res];
            changed = 1;
        }
        if (changed || r->damaged)
            rc = ls__quota_put(t, r->name, &r->q);
    }
    for (size_t i = 0; i < n; i++)
        free(roots[i].name);
    free(roots);
    return rc;
}

static int fix_txn(ls_txn *t, void *arg)
{
    struct fix_args *a = arg;
    ls_rctx *c = a->c;
    ls__say_flush(c, 0);
    c->holding = 1;
    int rc = ls__quota_fix_in(t, c, a->prefix, a->exact);
    c->holding = 0;
    if (!rc && (c->flags & LS_REPAIR_DRYRUN))
        return 1;
    return rc;
}

/* quota -f of one root, reporting through c (reconstruct uses it). */
int ls__quota_fix_root(ls_rctx *c, const char *root)
{
    struct fix_args a = { c, root, 1 };
    int rc = ls__env_write(c->st->env, LS_SYNC_ALWAYS, fix_txn, &a);
    if (rc == 1)
        rc = LS_OK;
    c->holding = 0;
    ls__say_flush(c, rc == LS_OK);
    return rc;
}

int ls_repair_quota_fix(ls_store *st, const char *prefix, unsigned flags, ls_repair_report_cb cb, void *arg)
{
    ls_rctx c = { .st = st, .flags = flags, .cb = cb, .arg = arg };
    struct fix_args a = { &c, prefix, 0 };
    int rc = ls__env_write(st->env, LS_SYNC_ALWAYS, fix_txn, &a);
    if (rc == 1)
        rc = LS_OK;
    c.holding = 0;
    ls__say_flush(&c, rc == LS_OK);
    free(c.held);
    return rc;
}

/*
 * The entry points of reconstruct: one mailbox, a tree, every mailbox (-r),
 * mailbox directories the list lacks (-f), and the whole mailbox list from
 * the partitions (-m).
 */
#include "repair/repair_impl.h"
#include "core/fsutil.h"
#include "core/identity.h"
#include "model/names.h"
#include "model/quota.h"
#include "model/pending.h"
#include "model/records.h"
#include "repair/header.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int collect_names(ls_store *st, const char *top, int recurse, char ***out, size_t *n)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    MDB_cursor *c;
    if ((rc = ls__db_cursor(&t, LS_DB_MAILBOXES, &c)) == LS_OK) {
        MDB_val k, v;
        for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && !rc; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            char *name = strndup(k.mv_data, k.mv_size);
            if (!name) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            int want = !top || !strcmp(name, top) || (recurse && ls__name_is_ancestor(top, name, st->cfg->sep));
            if (!want) {
                free(name);
                continue;
            }
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                char **nn = realloc(*out, cap * sizeof *nn);
                if (!nn) {
                    free(name);
                    rc = ls__err(LS_ENOMEM, "out of memory");
                    break;
                }
                *out = nn;
            }
            (*out)[(*n)++] = name;
        }
        ls__db_cursor_close(c);
    }
    ls__txn_end(&t);
    return rc;
}

/* A mailbox directory found on a partition. */
typedef struct found {
    char uuid[37];
    char partition[64];
    ls_hdrinfo h;
    int have_h;
    int marks_trusted;   /* h.highestmodseq is a mark at or above every MODSEQ given out */
    int from_backup;     /* h was (partly) filled in from the -B backup */
} found;
typedef struct flist { found *v; size_t n, cap; } flist;

/* Every PARTITION/uuid/X/Y/UUID directory. */
static int scan_partitions(ls_store *st, flist *out)
{
    for (size_t i = 0; i < st->cfg->npartitions; i++) {
        const ls_partition_conf *pc = &st->cfg->partitions[i];
        char base[4096];
        snprintf(base, sizeof base, "%s/uuid", pc->path);
        DIR *d1 = opendir(base);
        if (!d1)
            continue;
        struct dirent *e1, *e2, *e3;
        while ((e1 = readdir(d1))) {
            if (e1->d_name[0] == '.')
                continue;
            char p1[4096];
            if (snprintf(p1, sizeof p1, "%s/%s", base, e1->d_name) >= (int)sizeof p1)
                continue;
            DIR *d2 = opendir(p1);
            while (d2 && (e2 = readdir(d2))) {
                if (e2->d_name[0] == '.')
                    continue;
                char p2[4096];
                if (snprintf(p2, sizeof p2, "%s/%s", p1, e2->d_name) >= (int)sizeof p2)
                    continue;
                DIR *d3 = opendir(p2);
                while (d3 && (e3 = readdir(d3))) {
                    uint8_t u[LS_UUID_LEN];
                    if (strlen(e3->d_name) != 36 || ls__uuid_parse(e3->d_name, u) != LS_OK) {
                        ls_error_clear();
                        continue;
                    }
                    if (out->n == out->cap) {
                        out->cap = out->cap ? out->cap * 2 : 64;
                        found *nv = realloc(out->v, out->cap * sizeof *nv);
                        if (!nv) {
                            closedir(d3);
                            closedir(d2);
                            closedir(d1);
                            return ls__err(LS_ENOMEM, "out of memory");
                        }
                        out->v = nv;
                    }
                    found *f = &out->v[out->n++];
                    memset(f, 0, sizeof *f);
                    ls__uuid_format(u, f->uuid);
                    snprintf(f->partition, sizeof f->partition, "%s", pc->name);
                    ls_mbref ref;
                    ls__mbref_set(&ref, u, f->partition);
                    char *text;
                    size_t len;
                    if (st->layout->ops->header_read(st->layout, &ref, &text, &len) == LS_OK) {
                        f->have_h = ls__hdr_parse(text, len, &f->h) == LS_OK;
                        /* a sealed header was written with the mark as a
                         * ceiling (model/mbox.c); an older one lags */
                        f->marks_trusted = f->have_h && f->h.sealed;
                        free(text);
                    }
                    ls_error_clear();
                }
                if (d3)
                    closedir(d3);
            }
            if (d2)
                closedir(d2);
        }
        closedir(d1);
    }
    return LS_OK;
}

static void flist_free(flist *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].have_h)
            ls__hdr_free(&l->v[i].h);
    free(l->v);
}

/* -B: a store.header that is missing, damaged or unsealed (cut at a line
 * end, or written before headers were sealed) gives way to the backup for
 * what the backup knew of the mailbox: its name, ACL, UIDVALIDITY,
 * annotations and quota limits; the high-water marks are the higher of the
 * two. A sealed (intact) header is newer than any backup and wins. */
static void merge_backup(ls_rctx *c, found *f)
{
    if (!c->backup || (f->have_h && f->h.sealed))
        return;
    uint8_t u[LS_UUID_LEN];
    ls_hdrinfo b;
    if (ls__uuid_parse(f->uuid, u) != LS_OK || ls__backup_mailbox(c->backup, u, &b) != LS_OK) {
        ls_error_clear();
        return;
    }
    const char *state = !f->have_h ? "missing or unreadable" : f->h.damaged ? "damaged" : "not sealed";
    ls__say(c, "%s: store.header %s: name, ACL, UIDVALIDITY, annotations and quota taken from the backup", b.name,
           state);
    if (f->have_h) {
        if (f->h.uidnext > b.uidnext)
            b.uidnext = f->h.uidnext;
        if (f->h.highestmodseq > b.highestmodseq)
            b.highestmodseq = f->h.highestmodseq;
        if (!b.has_quota && f->h.has_quota) {
            b.has_quota = 1;
            memcpy(b.quota, f->h.quota, sizeof b.quota);
        }
        ls__hdr_free(&f->h);
    }
    f->h = b;
    f->have_h = 1;
    f->from_backup = 1;
}

/* The name a found directory gets: its header's, unless taken or invalid. */
static char *choose_name(ls_txn *t, const found *f, char sep)
{
    char *name = NULL;
    MDB_val v;
    if (f->have_h && ls_name_validate(f->h.name, sep) == LS_OK &&
        ls__db_get(t, LS_DB_MAILBOXES, f->h.name, strlen(f->h.name), &v) == LS_ENOTFOUND)
        name = strdup(f->h.name);
    if (!name)
        name = ls__strprintf("lost+found%c%s", sep, f->uuid);
    ls_error_clear();
    return name;
}

struct insert_args { const found *f; char *name; ls_store *st; };
static int insert_txn(ls_txn *t, void *arg)
{
    struct insert_args *a = arg;
    free(a->name);
    a->name = choose_name(t, a->f, a->st->cfg->sep);
    if (!a->name)
        return ls__err(LS_ENOMEM, "out of memory");
    /* store.header is not rewritten here but by the rebuild of the records
     * (reconstruct.c), after it has read the header's marks */
    t->no_mark = 1;
    uint8_t u[LS_UUID_LEN];
    ls__uuid_parse(a->f->uuid, u);
    ls_mbox m;
    const ls_hdrinfo *h = a->f->have_h ? &a->f->h : NULL;
    int rc = ls__mbox_insert(t, a->name, u, a->f->partition, h && h->acl ? h->acl : "", &m);
    if (rc)
        return rc;
    /* annotations */
    for (size_t i = 0; !rc && h && i < h->nannots; i++) {
        const ls_hdr_annot *an = &h->annots[i];
        size_t el = strlen(an->entry), ul = strlen(an->user);
        uint8_t *k = malloc(LS_UUID_LEN + el + 1 + ul);
        if (!k) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        memcpy(k, u, LS_UUID_LEN);
        memcpy(k + LS_UUID_LEN, an->entry, el + 1);
        memcpy(k + LS_UUID_LEN + el + 1, an->user, ul);
        rc = ls__db_put(t, LS_DB_ANNOT, k, LS_UUID_LEN + el + 1 + ul, an->value, strlen(an->value), 0);
        free(k);
    }
    /* the quota root, in the same transaction: a store.header rewritten
     * later never lacks the limits it held (a -m killed and run again) */
    if (!rc && h && h->has_quota)
        rc = ls__quota_define(t, a->name, a->st->cfg->sep, h->quota);
    /* keep the mailbox's own UIDVALIDITY: clients' caches stay valid */
    if (!rc && h && h->uidvalidity) {
        m.entry.uidvalidity = h->uidvalidity;
        m.state.uidvalidity = h->uidvalidity;
        /* the rebuild reads UIDNEXT's mark from store.header; one that the
         * backup stands in for cannot give it */
        if (a->f->from_backup && h->uidnext > m.state.uidnext)
            m.state.uidnext = h->uidnext;
        if (a->f->marks_trusted) {
            /* a sealed header's mark is at or above every MODSEQ given
             * out: the rebuilt records' MODSEQs start right above it */
            m.state.highestmodseq = h->highestmodseq;
        } else {
            /* an older header's mark lagged (it was refreshed at create,
             * rename, ACL changes and cleanup only): the lost environment
             * may have given out MODSEQs above it. Jump far past it (2^32),
             * so that CONDSTORE clients see every message as changed and no
             * MODSEQ a client holds is reached again. */
            m.state.highestmodseq = (h->highestmodseq ? h->highestmodseq : 1) + (1ull << 32);
        }
        /* the mark the header holds (or, after the jump, will hold: the
         * rebuild's records pass it, and their commit writes it) */
        m.state.modseqmark = m.state.highestmodseq;
        if ((rc = ls__mbox_put_entry(t, &m)) == LS_OK)
            rc = ls__mbstate_put(t, u, &m.state);
    }
    ls__mbox_clear(&m);
    return rc;
}

/* Bring a found directory into the list, then rebuild its records. */
static int adopt_dir(ls_rctx *c, const found *f)
{
    if (c->flags & LS_REPAIR_DRYRUN) {
        ls__say(c, "%s: mailbox directory %s would be added to the list", f->have_h ? f->h.name : "(no header)", f->uuid);
        return LS_OK;
    }
    struct insert_args a = { f, NULL, c->st };
    int rc = ls__env_write(c->st->env, LS_SYNC_ALWAYS, insert_txn, &a);
    if (!rc) {
        ls__say(c, "%s: mailbox directory %s added to the list", a.name, f->uuid);
        rc = ls__reconstruct_one(c, a.name, 1);
    }
    free(a.name);
    return rc;
}

/* 1 if the pending queue holds the removal of mailbox directory uuid. */
static int destroy_pending(ls_txn *t, const uint8_t uuid[LS_UUID_LEN])
{
    MDB_cursor *c;
    if (ls__db_cursor(t, LS_DB_PENDING, &c))
        return 0;
    MDB_val k, v;
    int hit = 0;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && !hit; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *p = v.mv_data;
        hit = v.mv_size >= 32 && p[0] == LS_PENDING_DESTROY && !memcmp(p + 16, uuid, LS_UUID_LEN);
    }
    ls__db_cursor_close(c);
    return hit;
}

/* 1 if some partition still holds the directory of mailbox uuid. */
static int dir_on_disk(ls_store *st, const uint8_t uuid[LS_UUID_LEN])
{
    for (size_t i = 0; i < st->cfg->npartitions; i++) {
        ls_mbref ref;
        ls__mbref_set(&ref, uuid, st->cfg->partitions[i].name);
        char *path;
        if (st->layout->ops->mailbox_path(st->layout, &ref, &path) == LS_OK) {
            int there = access(path, F_OK) == 0;
            free(path);
            if (there)
                return 1;
        }
    }
    ls_error_clear();
    return 0;
}

/* Store-wide leftovers a per-mailbox pass cannot see: GUID-table values
 * naming no live record with that content (D3), and private seen state or
 * per-message MODSEQs of mailboxes that no longer exist. */
struct sweep_args { ls_rctx *c; };
static int sweep_txn(ls_txn *t, void *arg)
{
    ls_rctx *c = ((struct sweep_args *)arg)->c;
    ls__say_flush(c, 0);
    c->holding = 1;
    int rc = LS_OK;
    MDB_cursor *cur;
    MDB_val k, v;
    /* collect, then delete: never write through a cursor being walked */
    typedef struct gone { uint8_t *k; size_t kl; uint8_t val[LS_RECKEY_LEN]; int db; } gone;
    gone *g = NULL;
    size_t n = 0, cap = 0;
    if ((rc = ls__db_cursor(t, LS_DB_GUIDS, &cur)))
        return rc;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data;
        size_t plen = strnlen((const char *)kp, k.mv_size);
        int bad = plen + 1 + LS_GUID_LEN + 8 != k.mv_size || v.mv_size != LS_RECKEY_LEN;
        if (!bad) {
            ls_irec r;
            const uint8_t *vu = v.mv_data;
            bad = ls__rec_get(t, vu, ls__rd_be32(vu + LS_UUID_LEN), &r) != LS_OK || (r.sysflags & LS_REC_EXPUNGED) ||
                  memcmp(r.guid, kp + plen + 1, LS_GUID_LEN) ||
                  r.internaldate != (int64_t)ls__rd_be64(kp + plen + 1 + LS_GUID_LEN);
            ls_error_clear();
        }
        if (!bad)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            gone *ng = realloc(g, cap * sizeof *ng);
            if (!ng) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            g = ng;
        }
        g[n].k = malloc(k.mv_size);
        if (!g[n].k) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        memcpy(g[n].k, k.mv_data, k.mv_size);
        g[n].kl = k.mv_size;
        memcpy(g[n].val, v.mv_data, v.mv_size == LS_RECKEY_LEN ? LS_RECKEY_LEN : 0);
        g[n].db = v.mv_size == LS_RECKEY_LEN ? LS_DB_GUIDS : -1;
        n++;
    }
    ls__db_cursor_close(cur);
    for (int db = LS_DB_SEEN; !rc && db <= LS_DB_SEENMOD; db += LS_DB_SEENMOD - LS_DB_SEEN) {
        if ((rc = ls__db_cursor(t, db, &cur)))
            break;
        for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            MDB_val mv;
            if (k.mv_size >= LS_UUID_LEN && ls__db_get(t, LS_DB_BYUUID, k.mv_data, LS_UUID_LEN, &mv) == LS_OK)
                continue;
            /* a directory still on disk may be brought back (-f): keep its
             * users' state until the mailbox is really gone */
            if (k.mv_size < LS_UUID_LEN || dir_on_disk(c->st, k.mv_data))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                gone *ng = realloc(g, cap * sizeof *ng);
                if (!ng) {
                    rc = ls__err(LS_ENOMEM, "out of memory");
                    break;
                }
                g = ng;
            }
            g[n].k = malloc(k.mv_size ? k.mv_size : 1);
            if (!g[n].k) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            memcpy(g[n].k, k.mv_data, k.mv_size);
            g[n].kl = k.mv_size;
            g[n].db = db;
            n++;
        }
        ls__db_cursor_close(cur);
        ls_error_clear();
    }
    for (size_t i = 0; !rc && i < n; i++) {
        char us[37];
        if (g[i].db == LS_DB_GUIDS) {
            rc = ls__db_del(t, LS_DB_GUIDS, g[i].k, g[i].kl, g[i].val, LS_RECKEY_LEN);
            ls__uuid_format(g[i].val, us);
            ls__say(c, "GUID table: entry for mailbox %s uid %u names no live message, removed", us,
                   ls__rd_be32(g[i].val + LS_UUID_LEN));
        } else if (g[i].db >= 0) {
            rc = ls__db_del(t, g[i].db, g[i].k, g[i].kl, NULL, 0);
            if (g[i].db == LS_DB_SEEN && g[i].kl >= LS_UUID_LEN) {
                ls__uuid_format(g[i].k, us);
                ls__say(c, "seen state of %.*s for mailbox %s (which no longer exists) removed",
                       (int)(g[i].kl - LS_UUID_LEN), (const char *)g[i].k + LS_UUID_LEN, us);
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(g[i].k);
    free(g);
    c->holding = 0;
    if (!rc && (c->flags & LS_REPAIR_DRYRUN))
        return 1;
    return rc;
}

static int sweep(ls_rctx *c)
{
    struct sweep_args a = { c };
    int rc = ls__env_write(c->st->env, LS_SYNC_ALWAYS, sweep_txn, &a);
    if (rc == 1)
        rc = LS_OK;
    c->holding = 0;
    ls__say_flush(c, rc == LS_OK);
    return rc;
}

static int restore_subs_txn(ls_txn *t, void *arg)
{
    ls_rctx *c = arg;
    ls__say_flush(c, 0);
    c->holding = 1;
    int rc = ls__backup_restore_subs(c->backup, t, c);
    c->holding = 0;
    return rc;
}

static int restore_subs(ls_rctx *c)
{
    int rc = ls__env_write(c->st->env, LS_SYNC_ALWAYS, restore_subs_txn, c);
    c->holding = 0;
    ls__say_flush(c, rc == LS_OK);
    return rc;
}

/* A mailbox whose files could not be read (LS_EIO: a directory without
 * permission) is reported as an error line and the run goes on with the
 * others; the run fails at its end (ls__rctx_result). */
static int skip_unreadable(ls_rctx *c, const char *name, int rc)
{
    if (rc != LS_EIO)
        return rc;
    ls__say_error(c, "%s: left as it is: %s", name, ls_error_last());
    ls_error_clear();
    return LS_OK;
}

int ls_repair_reconstruct(ls_store *st, const char *mailbox, unsigned flags, const char *backup_dir, ls_repair_report_cb cb,
                   void *arg)
{
    ls_rctx c = { .st = st, .flags = flags, .cb = cb, .arg = arg };
    int rc = LS_OK;
    if (backup_dir && (rc = ls__backup_open(backup_dir, &c.backup)))
        return rc;
    if (mailbox && (rc = ls_name_validate(mailbox, st->cfg->sep)))
        goto out;
    if (flags & LS_REPAIR_FILES) {
        flist fl = { 0 };
        rc = scan_partitions(st, &fl);
        ls_txn t;
        for (size_t i = 0; !rc && i < fl.n; i++) {
            uint8_t u[LS_UUID_LEN];
            ls__uuid_parse(fl.v[i].uuid, u);
            MDB_val v;
            if ((rc = ls__txn_read(st->env, &t)))
                break;
            int known = ls__db_get(&t, LS_DB_BYUUID, u, LS_UUID_LEN, &v) == LS_OK;
            /* a directory queued for removal (a deleted mailbox) is not lost:
             * it must never come back */
            if (!known)
                known = destroy_pending(&t, u);
            ls__txn_end(&t);
            ls_error_clear();
            if (known)
                continue;
            merge_backup(&c, &fl.v[i]);
            if (mailbox && !(fl.v[i].have_h && (!strcmp(fl.v[i].h.name, mailbox) ||
                                                ((flags & LS_REPAIR_RECURSE) &&
                                                 ls__name_is_ancestor(mailbox, fl.v[i].h.name, st->cfg->sep)))))
                continue;
            rc = adopt_dir(&c, &fl.v[i]);
        }
        flist_free(&fl);
    }
    char **names = NULL;
    size_t n = 0;
    if (!rc)
        rc = collect_names(st, mailbox, mailbox ? (flags & LS_REPAIR_RECURSE) != 0 : 1, &names, &n);
    if (!rc && mailbox && n == 0)
        rc = ls__err(LS_ENOTFOUND, "mailbox '%s' does not exist", mailbox);
    /* A mailbox refused (its partition unavailable, its directory missing)
     * does not stop the repair of the others; the first refusal is the
     * result, with the number of the others. */
    int refused = 0, refused_rc = LS_OK;
    char first[1024] = "";
    for (size_t i = 0; !rc && i < n; i++) {
        rc = skip_unreadable(&c, names[i], ls__reconstruct_one(&c, names[i], 0));
        if (rc == LS_EUNAVAILABLE || rc == LS_ENOTFOUND) {
            if (!refused++) {
                refused_rc = rc;
                snprintf(first, sizeof first, "%s", ls_error_last());
            }
            rc = LS_OK;
        }
    }
    if (!rc && refused)
        rc = refused == 1 ? ls__err(refused_rc, "%s", first)
                          : ls__err(refused_rc, "%s (and %d more mailboxes refused)", first, refused - 1);
    ls__names_free(names, n);
    if (!rc)
        rc = sweep(&c);
    if (!rc && c.backup && !(flags & LS_REPAIR_DRYRUN))
        rc = restore_subs(&c);
out:
    ls__backup_close(c.backup);
    ls__say_flush(&c, 0);
    free(c.held);
    return ls__rctx_result(&c, rc);
}

static int cmp_found(const void *a, const void *b)
{
    const found *x = a, *y = b;
    const char *nx = x->have_h ? x->h.name : "~", *ny = y->have_h ? y->h.name : "~";
    return strcmp(nx, ny);
}

/* The identity the rebuilt store keeps: the configdirectory's marker, else
 * the one its partitions agree on. Every partition must carry it (else
 * LS_EUNAVAILABLE: its mailboxes would be left out). With no marker anywhere
 * (a store from before markers) a new identity is made and *legacy set. */
static int rebuild_identity(const ls_config *cfg, uint8_t id[LS_UUID_LEN], int *legacy)
{
    int have = ls__id_read(cfg->configdirectory, id) == LS_OK;
    for (size_t i = 0; !have && i < cfg->npartitions; i++)
        have = ls__id_read(cfg->partitions[i].path, id) == LS_OK;
    ls_error_clear();
    if (!have) {
        ls__id_generate(id);
        *legacy = 1;
        return LS_OK;
    }
    for (size_t i = 0; i < cfg->npartitions; i++) {
        const ls_partition_conf *pc = &cfg->partitions[i];
        uint8_t pid[LS_UUID_LEN];
        int rc = ls__id_read(pc->path, pid);
        if (rc == LS_OK && !memcmp(pid, id, LS_UUID_LEN))
            continue;
        return ls__err(LS_EUNAVAILABLE,
                      "partition '%s' (%s) is unavailable: its identity marker %s is %s: not mounted? "
                      "reconstruct -m rebuilds only with every partition in place (nothing was changed)",
                      pc->name, pc->path, LS_ID_FILE, rc == LS_OK ? "another store's" : "missing or unreadable");
    }
    return LS_OK;
}

/* A store from before identity markers, rebuilt: label the partitions that
 * hold mailboxes; one that holds none may be an unmounted disk and is left
 * for `mailstore init --upgrade` (its operations fail until then). */
static int label_legacy(ls_rctx *c)
{
    const ls_config *cfg = c->st->cfg;
    for (size_t i = 0; i < cfg->npartitions; i++) {
        const ls_partition_conf *pc = &cfg->partitions[i];
        char *u = ls__strprintf("%s/uuid", pc->path);
        struct stat sb;
        int holds = u && stat(u, &sb) == 0;
        free(u);
        if (!holds) {
            ls__say(c, "partition '%s' (%s) holds no mailbox: not labelled (run 'mailstore init --upgrade' once it "
                   "is mounted)", pc->name, pc->path);
            continue;
        }
        int rc = ls__id_write(pc->path, c->st->id);
        if (rc)
            return rc;
        ls__say(c, "partition '%s' (%s): identity marker written", pc->name, pc->path);
        if ((rc = c->st->layout->ops->partition_check(c->st->layout, pc->name)))
            return rc;
    }
    return LS_OK;
}

int ls_repair_reconstruct_mboxlist(const char *config_path, unsigned flags, const char *backup_dir, ls_repair_report_cb cb,
                            void *arg)
{
    ls_config *cfg;
    config_path = ls__config_default_path(config_path);
    int rc = ls__config_load(config_path, &cfg);
    if (rc)
        return rc;
    ls_rctx c = { .flags = flags, .cb = cb, .arg = arg };
    /* Whose store this is, before anything is moved: a partition that is not
     * this store's (not mounted) would make its mailboxes vanish from the
     * rebuilt list. */
    uint8_t id[LS_UUID_LEN];
    int legacy = 0;
    rc = rebuild_identity(cfg, id, &legacy);
    if (rc) {
        ls__config_free(cfg);
        return rc;
    }
    /* Move the old environment aside, never delete it. */
    char *data = ls__strprintf("%s/data.mdb", cfg->configdirectory);
    char *lock = ls__strprintf("%s/lock.mdb", cfg->configdirectory);
    struct stat sb;
    if (data && lock && stat(data, &sb) == 0) {
        /* a name no earlier run used: never overwrite a moved-aside copy */
        char *aside = NULL;
        for (int i = 0; i < 1000; i++) {
            free(aside);
            aside = i ? ls__strprintf("%s/data.mdb.damaged.%lld.%d", cfg->configdirectory, (long long)time(NULL), i)
                      : ls__strprintf("%s/data.mdb.damaged.%lld", cfg->configdirectory, (long long)time(NULL));
            if (!aside || access(aside, F_OK) != 0)
                break;
        }
        if (!aside) {
            rc = ls__err(LS_ENOMEM, "out of memory");
        } else if (flags & LS_REPAIR_DRYRUN) {
            ls__say(&c, "would move %s to %s", data, aside);
        } else if (rename(data, aside) != 0) {
            rc = ls__err_errno(errno, "moving the old environment aside", data);
        } else {
            unlink(lock); /* the lock file holds no data */
            ls__say(&c, "moved %s to %s", data, aside);
        }
        free(aside);
    }
    free(data);
    free(lock);
    ls__config_free(cfg);
    if (rc)
        return rc;
    if (flags & LS_REPAIR_DRYRUN)
        return LS_OK; /* nothing more can be told without building the new list */
    ls_store *st;
    if ((rc = ls__store_open_rebuilt(config_path, id, &st)))
        return rc;
    c.st = st;
    if (legacy && (rc = label_legacy(&c)) != LS_OK) {
        ls_store_close(st);
        return rc;
    }
    if (backup_dir && (rc = ls__backup_open(backup_dir, &c.backup))) {
        ls_store_close(st);
        return rc;
    }
    flist fl = { 0 };
    rc = scan_partitions(st, &fl);
    for (size_t i = 0; !rc && i < fl.n; i++)
        merge_backup(&c, &fl.v[i]);
    if (!rc && fl.n)
        qsort(fl.v, fl.n, sizeof *fl.v, cmp_found); /* parents before children */
    for (size_t i = 0; !rc && i < fl.n; i++) {
        uint8_t u[LS_UUID_LEN];
        ls__uuid_parse(fl.v[i].uuid, u);
        ls_txn t;
        MDB_val v;
        if ((rc = ls__txn_read(st->env, &t)))
            break;
        int known = ls__db_get(&t, LS_DB_BYUUID, u, LS_UUID_LEN, &v) == LS_OK;
        ls__txn_end(&t);
        ls_error_clear();
        if (!known)
            rc = skip_unreadable(&c, fl.v[i].have_h ? fl.v[i].h.name : fl.v[i].uuid, adopt_dir(&c, &fl.v[i]));
    }
    if (!rc && c.backup)
        rc = restore_subs(&c);
    flist_free(&fl);
    ls__backup_close(c.backup);
    ls__say_flush(&c, 0);
    free(c.held);
    ls_store_close(st);
    return ls__rctx_result(&c, rc);
}

/*
 * reconstruct: rebuild a mailbox's records from its files (docs/contract.md §3.4).
 *
 * For one mailbox, under its append lock (so no UID is chosen meanwhile):
 *  1. plan, outside any write transaction: scan the files, read the records
 *     (one snapshot), decide every change, parse and hash what must be
 *     (re)derived, and do the file renames the plan needs (renames are safe
 *     at any moment: see each case);
 *  2. apply the plan in one write transaction, re-checking each record, so
 *     concurrent flag changes and expunges are never undone.
 * Every change is reported as one line "MAILBOX: what"; -n (DRYRUN) reports
 * and changes nothing.
 */
#include "repair/repair_impl.h"
#include "message/message_impl.h"
#include "model/cache.h"
#include "model/pending.h"
#include "model/quota.h"
#include "model/seen.h"
#include "model/sis.h"
#include "repair/header.h"

#include <errno.h>
#include <openssl/evp.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ls__say(ls_rctx *c, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (c->holding) {
        if (c->nheld == c->capheld) {
            c->capheld = c->capheld ? c->capheld * 2 : 64;
            char **nh = realloc(c->held, c->capheld * sizeof *nh);
            if (!nh)
                return;
            c->held = nh;
        }
        c->held[c->nheld] = strdup(buf);
        if (c->held[c->nheld])
            c->nheld++;
        return;
    }
    c->changes++;
    if (c->cb)
        c->cb(buf, c->arg);
}

void ls__say_flush(ls_rctx *c, int emit)
{
    for (size_t i = 0; i < c->nheld; i++) {
        if (emit) {
            c->changes++;
            if (c->cb)
                c->cb(c->held[i], c->arg);
        }
        free(c->held[i]);
    }
    c->nheld = 0;
}

void ls__say_error(ls_rctx *c, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(buf, sizeof buf, "error: ");
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    c->errors++;
    if (c->cb)
        c->cb(buf, c->arg);
}

int ls__rctx_result(ls_rctx *c, int rc)
{
    if (rc || !c->errors)
        return rc;
    return ls__err(LS_EIO, "%llu problem%s left as %s (see the error line%s): fix %s, then run the repair again",
                  (unsigned long long)c->errors, c->errors == 1 ? "" : "s", c->errors == 1 ? "it was" : "they were",
                  c->errors == 1 ? "" : "s", c->errors == 1 ? "it" : "them");
}

/* What the plan does to one UID. */
enum act {
    A_KEEP = 0,
    A_DROP,          /* live record, no file: becomes a tombstone */
    A_REDERIVE,      /* record (or damaged record) rebuilt from the file */
    A_RECACHE,       /* only the cache record rebuilt */
    A_ADOPT,         /* file without record: a new record under `uid` */
    A_QUEUE,         /* UID.expunged with no pending removal: queue it */
    A_TOMBFILE,      /* tombstone whose file had its live name: renamed */
    A_RESTORE,       /* -B: flags, keywords, internal date from the backup */
    A_REAPPEND,      /* the file's content changed: the file adopted under
                        the new `uid`; orig_uid relinked to the old bytes
                        if another name still holds them, else expunged */
};

typedef struct item {
    uint32_t uid;
    uint32_t orig_uid;       /* a stray adopted under a new UID: the UID it had */
    int act;
    int keep;                /* A_REAPPEND: the same message (same envelope): keeps flags and date */
    int relinked;            /* A_REAPPEND: orig_uid has its old bytes back */
    int had_record, damaged;
    ls_irec rec;             /* the record as planned (flags etc. kept) */
    ls_prepared msg;         /* parsed file, for REDERIVE / RECACHE / ADOPT */
    int have_msg;
    char why[320];
    char **bk_names;         /* A_RESTORE: the backup's keyword names */
    size_t bk_n;
} item;

typedef struct plan {
    item *v;
    size_t n, cap;
    uint32_t uidnext, hwm_uidnext;
    uint64_t hwm_modseq;
} plan;

static item *plan_add(plan *p, uint32_t uid)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        item *nv = realloc(p->v, p->cap * sizeof *nv);
        if (!nv)
            return NULL;
        p->v = nv;
    }
    item *it = &p->v[p->n++];
    memset(it, 0, sizeof *it);
    it->uid = uid;
    return it;
}

static void plan_free(plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        ls__prepared_free(&p->v[i].msg);
        ls__keywords_free(p->v[i].bk_names, p->v[i].bk_n);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* Files of the mailbox, sorted by (uid, expunged). */
typedef struct fent { ls_file_info fi; int used; } fent;
typedef struct fset { fent *v; size_t n, cap; } fset;

static int fset_add(const ls_file_info *fi, void *arg)
{
    fset *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        fent *nv = realloc(s->v, s->cap * sizeof *nv);
        if (!nv)
            return ls__err(LS_ENOMEM, "out of memory");
        s->v = nv;
    }
    s->v[s->n].fi = *fi;
    s->v[s->n++].used = 0;
    return 0;
}

static int fent_cmp(const void *a, const void *b)
{
    const fent *x = a, *y = b;
    if (x->fi.uid != y->fi.uid)
        return x->fi.uid < y->fi.uid ? -1 : 1;
    return x->fi.expunged - y->fi.expunged;
}

static fent *fset_find(fset *s, uint32_t uid, int expunged)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid].fi.uid < uid || (s->v[mid].fi.uid == uid && s->v[mid].fi.expunged < expunged))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->v[lo].fi.uid == uid && s->v[lo].fi.expunged == expunged ? &s->v[lo] : NULL;
}

/* Parse and hash the file of uid into it->msg. */
static int load_msg(ls_rctx *c, const ls_mbref *ref, item *it, int64_t mtime)
{
    ls_blob b;
    int rc = c->st->layout->ops->read(c->st->layout, ref, it->uid, &b);
    if (rc)
        return rc;
    rc = ls__prepare_stored(b.data, b.len, mtime, &it->msg);
    if (!rc) {
        /* ls__prepare_stored points into the blob: the commit needs only the
         * cache record and the derived fields, so forget the bytes */
        it->msg.data = NULL;
        it->have_msg = 1;
    }
    c->st->layout->ops->blob_free(c->st->layout, &b);
    return rc;
}

static int has_pending(ls_txn *t, const ls_mbref *ref, uint32_t uid)
{
    MDB_cursor *cur;
    if (ls__db_cursor(t, LS_DB_PENDING, &cur))
        return 0;
    MDB_val k, v;
    int found = 0;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && !found; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *p = v.mv_data;
        found = v.mv_size >= 32 && p[0] == LS_PENDING_EXPUNGED && ls__rd_be32(p + 4) == uid &&
                !memcmp(p + 16, ref->uuid, LS_UUID_LEN);
    }
    ls__db_cursor_close(cur);
    return found;
}

typedef struct recsnap { uint32_t uid; int ok; ls_irec r; } recsnap;
struct snapctx { recsnap *v; size_t n, cap; };
static int snap_rec(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct snapctx *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        recsnap *nv = realloc(s->v, s->cap * sizeof *nv);
        if (!nv)
            return ls__err(LS_ENOMEM, "out of memory");
        s->v = nv;
    }
    s->v[s->n].uid = uid;
    s->v[s->n].ok = r != NULL;
    if (r)
        s->v[s->n].r = *r;
    s->n++;
    return 0;
}

static int sha256_of(ls_rctx *c, const ls_mbref *ref, uint32_t uid, uint8_t out[LS_GUID_LEN])
{
    ls_blob b;
    int rc = c->st->layout->ops->read(c->st->layout, ref, uid, &b);
    if (rc)
        return rc;
    unsigned int n = 0;
    int ok = EVP_Digest(b.data, b.len, out, &n, EVP_sha256(), NULL);
    c->st->layout->ops->blob_free(c->st->layout, &b);
    return ok ? LS_OK : ls__err(LS_ENOMEM, "SHA-256 failed");
}

/* A live record whose file is gone: find another holder of the same bytes
 * and date in the GUID table whose file exists, and share it under this
 * record's UID (before any transaction: a live-named file for a live record
 * is harmless at any moment). `from` describes the holder. */
static int relink_from_holder(ls_rctx *c, ls_txn *t, const ls_mbox *m, const ls_irec *r, char *from, size_t fromlen)
{
    const ls_layout_ops *ops = c->st->layout->ops;
    uint8_t k[128];
    size_t plen = strlen(m->entry.partition);
    if (plen > 63)
        return LS_ENOTFOUND;
    memcpy(k, m->entry.partition, plen);
    k[plen] = 0;
    memcpy(k + plen + 1, r->guid, LS_GUID_LEN);
    ls__be64(k + plen + 1 + LS_GUID_LEN, (uint64_t)r->internaldate);
    MDB_cursor *cur;
    int rc = ls__db_cursor(t, LS_DB_GUIDS, &cur);
    if (rc)
        return rc;
    MDB_val key = { plen + 1 + LS_GUID_LEN + 8, k }, v;
    rc = LS_ENOTFOUND;
    for (int mrc = mdb_cursor_get(cur, &key, &v, MDB_SET); mrc == 0; mrc = mdb_cursor_get(cur, &key, &v, MDB_NEXT_DUP)) {
        if (v.mv_size != LS_RECKEY_LEN)
            continue;
        const uint8_t *hu = v.mv_data;
        uint32_t huid = ls__rd_be32(hu + LS_UUID_LEN);
        if (!memcmp(hu, m->entry.uuid, LS_UUID_LEN) && huid == r->uid)
            continue; /* ourselves */
        ls_mbref href;
        ls__mbref_set(&href, hu, m->entry.partition);
        ls_file_info fi;
        uint8_t g[LS_GUID_LEN];
        if (ops->stat(c->st->layout, &href, huid, &fi) != LS_OK || fi.expunged || fi.kind != LS_FILE_REGULAR ||
            fi.size != r->size)
            continue;
        /* only the very bytes: a holder edited in place keeps its size */
        if (sha256_of(c, &href, huid, g) != LS_OK || memcmp(g, r->guid, LS_GUID_LEN)) {
            ls_error_clear();
            continue;
        }
        snprintf(from, fromlen, "mailbox %s uid %u", href.uuidstr, huid);
        rc = (c->flags & LS_REPAIR_DRYRUN) ? LS_OK : ops->share(c->st->layout, &href, huid, &m->ref, r->uid);
        if (rc == LS_OK)
            break;
    }
    ls__db_cursor_close(cur);
    return rc;
}

/* A message file that cannot be read (EACCES, an I/O error): an error line
 * naming it, and what was not done; the run goes on. */
static void unreadable(ls_rctx *c, const char *name, uint32_t uid, const char *what)
{
    ls__say_error(c, "%s: uid %u: message file cannot be read, %s: %s", name, uid, what, ls_error_last());
    ls_error_clear();
}

int ls__probe_file(ls_store *st, const ls_mbref *ref, uint32_t uid)
{
    ls_blob b;
    int rc = st->layout->ops->read(st->layout, ref, uid, &b);
    if (!rc)
        st->layout->ops->blob_free(st->layout, &b);
    return rc;
}

/* Rename the live file of uid `from` to uid `to` (not in a dry run). */
static int move_to_uid(ls_rctx *c, const ls_mbref *ref, uint32_t from, uint32_t to)
{
    const ls_layout_ops *ops = c->st->layout->ops;
    if (c->flags & LS_REPAIR_DRYRUN)
        return LS_OK;
    char *src = NULL, *dst = NULL;
    int rc = ops->message_path(c->st->layout, ref, from, &src);
    if (!rc)
        rc = ops->message_path(c->st->layout, ref, to, &dst);
    if (!rc && rename(src, dst) != 0)
        rc = ls__err_errno(errno, "rename", src);
    free(src);
    free(dst);
    return rc;
}

/* A file under a message's name that cannot hold a message: not a regular
 * file (a symlink is never followed: it could serve any file's bytes), or
 * empty where there were bytes. It is damage: moved aside (never deleted,
 * it may be someone's data: the layout says where), and the caller goes on
 * as if it were not there. Returns 1 if it was (or, dry, would be) set
 * aside, 0 if f is no such damage, -1 if it could not be moved (reported;
 * the caller leaves this UID alone). */
static int set_aside_damage(ls_rctx *c, const char *name, const ls_mbref *ref, fent *f, int empty_is_damage)
{
    const char *what;
    if (f->fi.kind == LS_FILE_SYMLINK)
        what = "a symbolic link";
    else if (f->fi.kind == LS_FILE_DIRECTORY)
        what = "a directory";
    else if (f->fi.kind != LS_FILE_REGULAR)
        what = "not a regular file";
    else if (f->fi.size == 0 && empty_is_damage)
        what = "empty";
    else
        return 0;
    f->used = 1;
    char *where = NULL;
    const char *sfx = f->fi.expunged ? "expunged" : "";
    if (c->st->layout->ops->set_aside(c->st->layout, ref, f->fi.uid, f->fi.expunged,
                                      (c->flags & LS_REPAIR_DRYRUN) != 0, &where) != LS_OK) {
        ls__say_error(c, "%s: file %u.%s is %s and could not be moved aside: %s", name, f->fi.uid, sfx, what,
                     ls_error_last());
        ls_error_clear();
        return -1;
    }
    ls__say(c, "%s: file %u.%s is %s, moved to %s", name, f->fi.uid, sfx, what, where);
    free(where);
    return 1;
}

/* 1 if the message parsed into msg has the ENVELOPE cached for uid: the same
 * message, changed (truncated, edited), rather than another one put in its
 * place (a file copied in over it). */
static int same_envelope(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t uid, const ls_prepared *msg)
{
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, uuid, uid);
    ls_cache_view a, b;
    int same = 0;
    if (ls__cache_get(t, key, 0, &a) == LS_OK) {
        if (ls__cache_decode_hot(msg->cache, msg->cachelen, &b) == LS_OK) {
            same = a.f[LS_CF_ENVELOPE] && b.f[LS_CF_ENVELOPE] && a.len[LS_CF_ENVELOPE] == b.len[LS_CF_ENVELOPE] &&
                   !memcmp(a.f[LS_CF_ENVELOPE], b.f[LS_CF_ENVELOPE], a.len[LS_CF_ENVELOPE]);
            ls__cache_view_free(&b);
        }
        ls__cache_view_free(&a);
    }
    ls_error_clear();
    return same;
}

static int count_live(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    (void)uid;
    (void)raw;
    if (!r || !(r->sysflags & LS_REC_EXPUNGED))
        (*(uint32_t *)arg)++;
    return 0;
}

/* Step 1: the plan. */
static int make_plan(ls_rctx *c, const char *name, const ls_mbox *m, plan *p, int fresh)
{
    const ls_layout_ops *ops = c->st->layout->ops;
    const ls_mbref *ref = &m->ref;
    fset files = { 0 };
    int rc = ops->scan(c->st->layout, ref, fset_add, &files);
    if (rc == LS_ENOTFOUND) {
        /* The directory is gone as a whole (its partition is there: an
         * unavailable one fails the scan with LS_EUNAVAILABLE). That is
         * never a reason to expunge every message on its own: an admin's
         * mistake, a restore in progress. Only on request. */
        uint32_t live = 0;
        ls_txn t;
        if ((rc = ls__txn_read(c->st->env, &t)))
            return rc;
        rc = ls__rec_foreach(&t, m->entry.uuid, 1, count_live, &live);
        ls__txn_end(&t);
        if (rc)
            return rc;
        char *path = NULL;
        ops->mailbox_path(c->st->layout, ref, &path);
        if (live && !(c->flags & LS_REPAIR_MISSING_DIR)) {
            rc = ls__err(LS_ENOTFOUND,
                        "%s: mailbox directory %s is missing as a whole, with %u message%s: not repaired (nothing "
                        "was expunged). Restore the directory, or, if it was removed on purpose, run reconstruct "
                        "--expunge-missing-directory %s",
                        name, path ? path : "?", live, live == 1 ? "" : "s", name);
            free(path);
            return rc;
        }
        free(path);
        ls_error_clear();
        if (!(c->flags & LS_REPAIR_DRYRUN) && (rc = ops->mailbox_init(c->st->layout, ref)))
            return rc;
        ls__say(c, "%s: mailbox directory was missing, recreated", name);
    }
    if (rc)
        return rc;
    if (files.n)
        qsort(files.v, files.n, sizeof *files.v, fent_cmp);

    /* high-water marks from store.header */
    char *htext;
    size_t hlen;
    if (ops->header_read(c->st->layout, ref, &htext, &hlen) == LS_OK) {
        ls_hdrinfo h;
        if (ls__hdr_parse(htext, hlen, &h) == LS_OK) {
            p->hwm_uidnext = h.uidnext;
            p->hwm_modseq = h.highestmodseq;
            ls__hdr_free(&h);
        }
        free(htext);
    }
    ls_error_clear();

    struct snapctx snap = { 0 };
    ls_txn t;
    if ((rc = ls__txn_read(c->st->env, &t))) {
        free(files.v);
        return rc;
    }
    char **kwnames = NULL;
    size_t nkw = 0;
    if (!fresh)
        rc = ls__rec_foreach(&t, m->entry.uuid, 1, snap_rec, &snap);
    if (!rc && c->backup)
        rc = ls__keywords_load(&t, m->entry.uuid, &kwnames, &nkw);
    uint32_t maxuid = 0;
    for (size_t i = 0; !rc && i < snap.n; i++) {
        recsnap *s = &snap.v[i];
        if (s->uid > maxuid)
            maxuid = s->uid;
        fent *live = fset_find(&files, s->uid, 0), *exp = fset_find(&files, s->uid, 1);
        if (live)
            live->used = 1;
        if (exp)
            exp->used = 1;
        /* damage under the message's names first: set aside, then as if
         * absent (a damaged record cannot say what size to expect) */
        int want_bytes = !s->ok || (!(s->r.sysflags & LS_REC_EXPUNGED) && s->r.size > 0);
        int sa = 0;
        if (live && (sa = set_aside_damage(c, name, ref, live, want_bytes)) > 0)
            live = NULL;
        if (sa >= 0 && exp && (sa = set_aside_damage(c, name, ref, exp, want_bytes)) > 0)
            exp = NULL;
        if (sa < 0)
            continue; /* it could not be moved: reported, the record is left alone */
        item *it = NULL;
        if (!s->ok) {
            /* a damaged record: rebuild it from its file if there is one */
            fent *f = live ? live : exp;
            if (!(it = plan_add(p, s->uid)))
                rc = ls__err(LS_ENOMEM, "out of memory");
            else if (!f) {
                it->act = A_DROP, it->damaged = 1;
                snprintf(it->why, sizeof it->why, "damaged index record removed (no file)");
            } else {
                it->act = A_REDERIVE, it->damaged = 1;
                snprintf(it->why, sizeof it->why, "damaged index record rebuilt from the file");
                if (load_msg(c, ref, it, f->fi.mtime) != LS_OK) {
                    unreadable(c, name, s->uid, "damaged index record not rebuilt");
                    p->n--;
                }
            }
            continue;
        }
        const ls_irec *r = &s->r;
        if (r->sysflags & LS_REC_EXPUNGED) {
            /* an expunged message never comes back: its live-named file is
             * renamed now (a rename is harmless at any time) */
            if (live) {
                /* only the expunged message's own bytes (same GUID) are
                 * renamed; other content under its UID is a stray message,
                 * adopted under a new UID below */
                uint8_t g[LS_GUID_LEN];
                if (sha256_of(c, ref, s->uid, g) != LS_OK) {
                    unreadable(c, name, s->uid, "left as it is");
                    continue;
                }
                if (memcmp(g, r->guid, LS_GUID_LEN)) {
                    live->used = 0;
                    continue;
                }
                if (!(it = plan_add(p, s->uid))) {
                    rc = ls__err(LS_ENOMEM, "out of memory");
                    break;
                }
                it->act = A_TOMBFILE;
                it->rec = *r;
                if (!(c->flags & LS_REPAIR_DRYRUN))
                    ops->mark_expunged(c->st->layout, ref, s->uid);
            } else if (exp && !has_pending(&t, ref, s->uid)) {
                if (!(it = plan_add(p, s->uid))) {
                    rc = ls__err(LS_ENOMEM, "out of memory");
                    break;
                }
                it->act = A_QUEUE;
                it->rec = *r;
            }
            continue;
        }
        if (!live && !exp) {
            /* the same bytes may still be on the partition under another
             * name (single-instance storage): link them back, lose nothing */
            char from[160];
            if (relink_from_holder(c, &t, m, r, from, sizeof from) == LS_OK) {
                ls__say(c, "%s: uid %u: file missing, relinked from %s", name, s->uid, from);
                continue;
            }
            ls_error_clear();
            if (!(it = plan_add(p, s->uid))) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            it->act = A_DROP;
            it->rec = *r;
            snprintf(it->why, sizeof it->why, "file missing, message removed");
            continue;
        }
        if (!live && exp) {
            /* an expunge that did not commit left the file renamed */
            if (!(c->flags & LS_REPAIR_DRYRUN))
                ops->unmark_expunged(c->st->layout, ref, s->uid);
            ls__say(c, "%s: uid %u: file renamed back from an interrupted expunge", name, s->uid);
        }
        fent *f = live ? live : exp;
        int rederive = 0;
        char why[160] = "";
        if (f->fi.size != r->size) {
            rederive = 1;
            snprintf(why, sizeof why, "size %llu -> %llu", (unsigned long long)r->size, (unsigned long long)f->fi.size);
        } else if ((c->flags & LS_REPAIR_REHASH) || f->fi.mtime != r->internaldate) {
            /* -G; and without it every file whose mtime is no longer the
             * internal date it was written with (edited, or copied over) */
            uint8_t g[LS_GUID_LEN];
            if (sha256_of(c, ref, s->uid, g) != LS_OK) {
                unreadable(c, name, s->uid, "left as it is");
                continue;
            }
            if (memcmp(g, r->guid, LS_GUID_LEN)) {
                char a[65], b[65];
                ls__guid_format(r->guid, a);
                ls__guid_format(g, b);
                rederive = 1;
                snprintf(why, sizeof why, "guid %.16s... -> %.16s...", a, b);
            }
        } else if (ls__probe_file(c->st, ref, s->uid) != LS_OK) {
            /* the file a FETCH would fail on (EACCES): report it, keep the
             * record, go on with the rest */
            unreadable(c, name, s->uid, "left as it is");
            continue;
        }
        if (rederive) {
            /* the content a client may have cached under this UID is gone:
             * as Cyrus does, the UID is expunged and the file adopted under
             * a new one (assigned below), so that clients see the change.
             * Other names of the old bytes (single instance) keep them. */
            if (!(it = plan_add(p, s->uid))) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            it->act = A_REAPPEND;
            it->orig_uid = s->uid;
            it->rec = *r;
            if (load_msg(c, ref, it, f->fi.mtime) != LS_OK) {
                unreadable(c, name, s->uid, "left as it is");
                p->n--;
                continue;
            }
            it->keep = same_envelope(&t, m->entry.uuid, s->uid, &it->msg);
            snprintf(it->why, sizeof it->why, "%s", why);
            continue;
        }
        int recache = 0;
        {
            uint8_t key[LS_RECKEY_LEN];
            ls__reckey(key, m->entry.uuid, s->uid);
            ls_cache_view view;
            int grc = ls__cache_get(&t, key, ~0u, &view);
            if (grc == LS_ENOTFOUND) {
                recache = 1;
                snprintf(why, sizeof why, "cache record missing, rebuilt");
            } else if (grc != LS_OK) {
                recache = 1;
                snprintf(why, sizeof why, "cache record damaged, rebuilt");
            } else {
                if (!view.f[LS_CF_ENVELOPE] || !view.f[LS_CF_BODYSTRUCTURE] || !view.f[LS_CF_PARTS]) {
                    recache = 1;
                    snprintf(why, sizeof why, "cache record incomplete, rebuilt");
                }
                ls__cache_view_free(&view);
            }
            ls_error_clear();
        }
        if (!recache && c->backup) {
            /* -B: the backup's flags, keywords and internal date for a
             * message whose bytes (GUID) are the backup's */
            ls_irec br;
            char **bn = NULL;
            size_t bnn = 0;
            if (ls__backup_record(c->backup, m->entry.uuid, s->uid, r->guid, &br, &bn, &bnn) == LS_OK) {
                int differ = (br.sysflags & LS_FLAG_ALL) != (r->sysflags & LS_FLAG_ALL) ||
                             br.internaldate != r->internaldate;
                /* keyword names now vs in the backup */
                size_t now = 0;
                for (unsigned b = 0; b < LS_MAILBOX_MAX_KEYWORDS; b++)
                    if (r->keywords[b / 64] >> (b % 64) & 1) {
                        now++;
                        int in = 0;
                        for (size_t j = 0; j < bnn && !in; j++)
                            in = b < nkw && !strcasecmp(kwnames[b], bn[j]);
                        differ |= !in;
                    }
                differ |= now != bnn;
                if (differ && (it = plan_add(p, s->uid))) {
                    it->act = A_RESTORE;
                    it->rec = *r;
                    it->rec.sysflags = (uint8_t)((r->sysflags & ~LS_FLAG_ALL) | (br.sysflags & LS_FLAG_ALL));
                    it->rec.internaldate = br.internaldate;
                    it->rec.internal_tz = br.internal_tz;
                    it->bk_names = bn;
                    it->bk_n = bnn;
                    bn = NULL;
                    bnn = 0;
                    snprintf(it->why, sizeof it->why, "flags, keywords and internal date restored from the backup");
                }
                ls__keywords_free(bn, bnn);
            }
            ls_error_clear();
            continue;
        }
        if (recache) {
            if (!(it = plan_add(p, s->uid))) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            it->act = A_RECACHE;
            it->had_record = 1;
            it->rec = *r;
            snprintf(it->why, sizeof it->why, "%s", why);
            if (load_msg(c, ref, it, r->internaldate) != LS_OK) {
                unreadable(c, name, s->uid, "cache record not rebuilt");
                p->n--;
            }
        }
    }
    ls__txn_end(&t);
    ls__keywords_free(kwnames, nkw);

    /* files without records */
    uint32_t next = m->state.uidnext;
    if (maxuid + 1 > next)
        next = maxuid + 1;
    uint32_t base = next > p->hwm_uidnext ? next : p->hwm_uidnext;
    if (fresh)
        base = 1; /* -m: every file lost its record, none is stray */
    /* UIDs handed out to files adopted under a new UID start above every
     * UID seen anywhere: records, files, and the header's mark */
    uint32_t newuid = base;
    for (size_t i = 0; i < files.n; i++)
        if (files.v[i].fi.uid >= newuid)
            newuid = files.v[i].fi.uid + 1;
    if (newuid < next)
        newuid = next;
    if (newuid < p->hwm_uidnext)
        newuid = p->hwm_uidnext;
    /* a record whose file's content changed: the file moves to a new UID
     * now, before the commit, as a stray's does (a crash leaves a complete
     * file above UIDNEXT, adopted later, and the old record without a file) */
    for (size_t i = 0; !rc && i < p->n; i++) {
        item *it = &p->v[i];
        if (it->act != A_REAPPEND)
            continue;
        it->uid = newuid++;
        if ((rc = move_to_uid(c, ref, it->orig_uid, it->uid)))
            break;
        /* the old bytes may still be on the partition under another name
         * (single instance: the file was replaced, not edited in place):
         * the old UID gets them back and nothing is lost */
        char from[160], what[96], fate[100];
        if (ls__txn_read(c->st->env, &t) == LS_OK) {
            it->relinked = relink_from_holder(c, &t, m, &it->rec, from, sizeof from) == LS_OK;
            ls__txn_end(&t);
        }
        ls_error_clear();
        if (it->relinked)
            snprintf(fate, sizeof fate, "uid %u relinked from %.70s", it->orig_uid, from);
        else
            snprintf(fate, sizeof fate, "uid %u expunged", it->orig_uid);
        snprintf(what, sizeof what, "%.70s", it->why);
        snprintf(it->why, sizeof it->why, "%s (%s), adopted as uid %u %s; %s",
                 it->keep ? "file changed" : "file holds another message", what, it->uid,
                 it->keep ? "with its flags" : "without flags", fate);
    }
    for (size_t i = 0; !rc && i < files.n; i++) {
        fent *f = &files.v[i];
        if (f->used)
            continue;
        if (set_aside_damage(c, name, ref, f, !f->fi.expunged))
            continue; /* moved aside (or reported): never adopted */
        item *it = plan_add(p, f->fi.uid);
        if (!it) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        if (f->fi.expunged) {
            /* an expunged message's file whose tombstone is gone: it must
             * never come back, and cleanup must remove it */
            if (ls__txn_read(c->st->env, &t) == LS_OK) {
                int pend = has_pending(&t, ref, f->fi.uid);
                ls__txn_end(&t);
                if (pend) {
                    p->n--;
                    continue;
                }
            }
            it->act = A_QUEUE;
            continue;
        }
        it->act = A_ADOPT;
        if (load_msg(c, ref, it, f->fi.mtime) != LS_OK) {
            unreadable(c, name, f->fi.uid, "not adopted");
            p->n--;
            continue;
        }
        if (f->fi.uid >= base) {
            snprintf(it->why, sizeof it->why, "adopted file %u.", f->fi.uid);
        } else {
            /* below UIDNEXT: damage; adopt under a new UID so no client
             * ever sees a UID reused (docs/contract.md §2.3). Rename before the commit: a
             * crash leaves a complete file at UIDNEXT or above, adopted later. */
            uint32_t to = newuid++;
            snprintf(it->why, sizeof it->why, "stray file %u. adopted as uid %u", f->fi.uid, to);
            it->orig_uid = f->fi.uid;
            rc = move_to_uid(c, ref, f->fi.uid, to);
            it->uid = to;
        }
    }
    p->uidnext = newuid > next ? newuid : next;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].act == A_ADOPT && p->v[i].uid >= p->uidnext)
            p->uidnext = p->v[i].uid + 1;
    if (p->hwm_uidnext > p->uidnext)
        p->uidnext = p->hwm_uidnext;
    free(snap.v);
    free(files.v);
    return rc;
}

/* Step 2: apply the plan in one write transaction. */
struct apply_args {
    ls_rctx *c;
    const char *name;
    const uint8_t *uuid;
    plan *p;
};

/* Flags, keywords (by name) and internal date from the backup, if it knows
 * this message (same mailbox, UID and GUID). */
static int backup_values(ls_rctx *c, ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t olduid, ls_irec *r)
{
    if (!c->backup)
        return 0;
    ls_irec br;
    char **names = NULL;
    size_t nn = 0;
    if (ls__backup_record(c->backup, uuid, olduid, r->guid, &br, &names, &nn) != LS_OK) {
        ls_error_clear();
        return 0;
    }
    r->sysflags = (uint8_t)(br.sysflags & LS_FLAG_ALL);
    r->internaldate = br.internaldate;
    r->internal_tz = br.internal_tz;
    int rc = ls__keywords_bits(t, uuid, (const char *const *)names, nn, 1, r->keywords);
    ls__keywords_free(names, nn);
    return rc ? rc : 1;
}

static void fill_from_msg(ls_irec *r, const ls_prepared *m)
{
    r->size = m->len;
    r->header_size = m->header_size;
    r->body_lines = m->body_lines;
    r->sentdate = m->sentdate;
    r->sent_tz = m->sent_tz;
    memcpy(r->guid, m->guid, LS_GUID_LEN);
}

struct recount { ls_mbstate s; uint32_t maxuid; uint64_t maxmodseq; };
static int recount_one(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct recount *x = arg;
    if (!r)
        return 0;
    if (uid > x->maxuid)
        x->maxuid = uid;
    if (r->modseq > x->maxmodseq)
        x->maxmodseq = r->modseq;
    if (r->sysflags & LS_REC_EXPUNGED)
        x->s.tombstones++;
    else
        ls__state_add(&x->s, r, +1);
    return 0;
}

static int apply_txn(ls_txn *t, void *arg)
{
    struct apply_args *a = arg;
    ls_rctx *c = a->c;
    ls_store *st = c->st;
    plan *p = a->p;
    ls__say_flush(c, 0);
    c->holding = 1;
    /* a dry run leaves store.header alone; a real one sets its MODSEQ mark
     * to exactly what it gave out (model/mbox.c) */
    t->no_mark = (c->flags & LS_REPAIR_DRYRUN) != 0;
    t->mark_exact = 1;
    ls_mbox m;
    int rc = ls__mbox_load_uuid(t, a->uuid, &m);
    if (rc)
        return rc;
    ls_mbstate s = m.state;
    ls_mbstate before = s;
    const char *name = a->name;
    time_t now = time(NULL);
    for (size_t i = 0; !rc && i < p->n; i++) {
        item *it = &p->v[i];
        uint8_t key[LS_RECKEY_LEN];
        ls__reckey(key, a->uuid, it->uid);
        ls_irec cur;
        MDB_val v;
        int has = ls__db_get(t, LS_DB_RECORDS, key, sizeof key, &v) == LS_OK;
        int ok = has && ls__irec_decode(v.mv_data, v.mv_size, &cur) == LS_OK && cur.uid == it->uid;
        ls_error_clear();
        switch (it->act) {
        case A_DROP:
            if (has && !ok) {
                rc = ls__db_del(t, LS_DB_RECORDS, key, sizeof key, NULL, 0);
            } else if (ok && !(cur.sysflags & LS_REC_EXPUNGED)) {
                cur.sysflags |= LS_REC_EXPUNGED;
                cur.modseq = ls__modseq_next(&s);
                cur.expunged_at = (uint32_t)now;
                if (!(rc = ls__rec_put(t, a->uuid, &cur)))
                    rc = ls__sis_del(t, m.entry.partition, cur.guid, cur.internaldate, a->uuid, cur.uid);
            } else {
                break;
            }
            if (!rc)
                rc = ls__cache_del(t, key);
            ls__say(c, "%s: uid %u: %s", name, it->uid, it->why);
            break;
        case A_REDERIVE:
        case A_ADOPT: {
            if (ok && (cur.sysflags & LS_REC_EXPUNGED))
                break; /* expunged meanwhile: never bring it back */
            if (it->act == A_ADOPT && ok)
                break; /* someone else adopted it meanwhile */
            ls_irec r = { 0 };
            if (ok) {
                r = cur;
                ls__sis_del(t, m.entry.partition, cur.guid, cur.internaldate, a->uuid, cur.uid);
            } else {
                r.internaldate = it->msg.date.t;
                r.internal_tz = 0;
            }
            r.uid = it->uid;
            fill_from_msg(&r, &it->msg);
            if (!ok && (rc = backup_values(c, t, a->uuid, it->orig_uid ? it->orig_uid : it->uid, &r)) < 0)
                break;
            rc = LS_OK;
            r.sysflags &= LS_FLAG_ALL;
            r.expunged_at = 0;
            r.modseq = ls__modseq_next(&s);
            if ((rc = ls__rec_put(t, a->uuid, &r)) ||
                (rc = ls__cache_put(t, key, it->msg.cache, it->msg.cachelen, it->msg.cachex, it->msg.cachexlen)))
                break;
            if (!rc && st->cfg->singleinstancestore)
                rc = ls__sis_add(t, m.entry.partition, r.guid, r.internaldate, a->uuid, r.uid);
            if (!rc && it->orig_uid)
                rc = ls__seen_renumber(t, a->uuid, it->orig_uid, it->uid);
            ls__say(c, "%s: uid %u: %s", name, it->uid, it->why);
            break;
        }
        case A_REAPPEND: {
            /* the old UID becomes a tombstone: clients see its content go */
            uint8_t okey[LS_RECKEY_LEN];
            ls__reckey(okey, a->uuid, it->orig_uid);
            ls_irec old;
            if (!it->relinked && ls__rec_get(t, a->uuid, it->orig_uid, &old) == LS_OK &&
                !(old.sysflags & LS_REC_EXPUNGED)) {
                old.sysflags |= LS_REC_EXPUNGED;
                old.modseq = ls__modseq_next(&s);
                old.expunged_at = (uint32_t)now;
                if ((rc = ls__rec_put(t, a->uuid, &old)) ||
                    (rc = ls__sis_del(t, m.entry.partition, old.guid, old.internaldate, a->uuid, old.uid)) ||
                    (rc = ls__cache_del(t, okey)))
                    break;
            }
            ls_error_clear();
            if (ok)
                break; /* the new UID is taken: cannot be, under the append lock */
            /* the file under its new UID: the same message keeps its flags,
             * keywords and date; another message (a file copied in over
             * this one) gets nothing of the old one */
            ls_irec r = { 0 };
            if (it->keep) {
                r.sysflags = it->rec.sysflags & LS_FLAG_ALL;
                memcpy(r.keywords, it->rec.keywords, sizeof r.keywords);
                r.internaldate = it->rec.internaldate;
                r.internal_tz = it->rec.internal_tz;
            } else {
                r.internaldate = it->msg.date.t;
            }
            r.uid = it->uid;
            fill_from_msg(&r, &it->msg);
            r.modseq = ls__modseq_next(&s);
            if ((rc = ls__rec_put(t, a->uuid, &r)) ||
                (rc = ls__cache_put(t, key, it->msg.cache, it->msg.cachelen, it->msg.cachex, it->msg.cachexlen)))
                break;
            if (st->cfg->singleinstancestore)
                rc = ls__sis_add(t, m.entry.partition, r.guid, r.internaldate, a->uuid, r.uid);
            if (!rc && it->keep && !it->relinked)
                rc = ls__seen_renumber(t, a->uuid, it->orig_uid, it->uid);
            ls__say(c, "%s: uid %u: %s", name, it->orig_uid, it->why);
            break;
        }
        case A_RECACHE:
            if (!ok || (cur.sysflags & LS_REC_EXPUNGED))
                break;
            rc = ls__cache_put(t, key, it->msg.cache, it->msg.cachelen, it->msg.cachex, it->msg.cachexlen);
            ls__say(c, "%s: uid %u: %s", name, it->uid, it->why);
            break;
        case A_RESTORE:
            if (!ok || (cur.sysflags & LS_REC_EXPUNGED))
                break;
            if (cur.internaldate != it->rec.internaldate && st->cfg->singleinstancestore) {
                /* the GUID table is keyed by the internal date too */
                ls__sis_del(t, m.entry.partition, cur.guid, cur.internaldate, a->uuid, cur.uid);
                if ((rc = ls__sis_add(t, m.entry.partition, cur.guid, it->rec.internaldate, a->uuid, cur.uid)))
                    break;
            }
            cur.sysflags = it->rec.sysflags;
            cur.internaldate = it->rec.internaldate;
            cur.internal_tz = it->rec.internal_tz;
            if ((rc = ls__keywords_bits(t, a->uuid, (const char *const *)it->bk_names, it->bk_n, 1, cur.keywords)))
                break;
            cur.modseq = ls__modseq_next(&s);
            rc = ls__rec_put(t, a->uuid, &cur);
            ls__say(c, "%s: uid %u: %s", name, it->uid, it->why);
            break;
        case A_QUEUE:
            rc = ls__pending_add(t, LS_PENDING_EXPUNGED, &m.ref, it->uid);
            ls__say(c, "%s: uid %u: expunged message's file queued for cleanup", name, it->uid);
            break;
        case A_TOMBFILE:
            if (!has_pending(t, &m.ref, it->uid))
                rc = ls__pending_add(t, LS_PENDING_EXPUNGED, &m.ref, it->uid);
            ls__say(c, "%s: uid %u: expunged message's file renamed (it stays expunged)", name, it->uid);
            break;
        default:
            break;
        }
    }
    /* counters, UIDNEXT and HIGHESTMODSEQ from what is there now */
    struct recount x = { { 0 }, 0, 0 };
    x.s.recentuid = s.recentuid;
    if (!rc)
        rc = ls__rec_foreach(t, a->uuid, 1, recount_one, &x);
    if (!rc) {
        if (x.s.exists != s.exists || x.s.unseen != s.unseen || x.s.deleted != s.deleted ||
            x.s.flagged != s.flagged || x.s.answered != s.answered || x.s.size != s.size || x.s.recent != s.recent)
            ls__say(c, "%s: counters: messages %u -> %u, unseen %u -> %u, size %llu -> %llu", name, before.exists,
                   x.s.exists, before.unseen, x.s.unseen, (unsigned long long)before.size,
                   (unsigned long long)x.s.size);
        uint32_t want_next = p->uidnext > x.maxuid + 1 ? p->uidnext : x.maxuid + 1;
        if (want_next > s.uidnext) {
            ls__say(c, "%s: uidnext %u -> %u", name, before.uidnext, want_next);
            s.uidnext = want_next;
        }
        /* store.header's mark is at or above every MODSEQ given out; above
         * what the environment itself knows of (its HIGHESTMODSEQ and the
         * mark it wrote), the environment is older than the header: it was
         * restored from a backup or lost. HIGHESTMODSEQ never goes below
         * what clients may have seen: up to the mark. */
        uint64_t known = s.highestmodseq > s.privmodseq ? s.highestmodseq : s.privmodseq;
        if (s.modseqmark > known)
            known = s.modseqmark;
        uint64_t want_ms = x.maxmodseq;
        if (p->hwm_modseq > known && p->hwm_modseq > want_ms)
            want_ms = p->hwm_modseq;
        if (want_ms > s.highestmodseq) {
            ls__say(c, "%s: highestmodseq %llu -> %llu", name, (unsigned long long)s.highestmodseq,
                   (unsigned long long)want_ms);
            s.highestmodseq = want_ms;
        }
        int64_t d0 = (int64_t)x.s.size - (int64_t)before.size, d1 = (int64_t)x.s.exists - (int64_t)before.exists;
        s.exists = x.s.exists;
        s.unseen = x.s.unseen;
        s.deleted = x.s.deleted;
        s.flagged = x.s.flagged;
        s.answered = x.s.answered;
        s.size = x.s.size;
        s.recent = x.s.recent;
        s.tombstones = x.s.tombstones;
        (void)d0;
        (void)d1; /* usage is recomputed from the records after the commit (ls_repair_quota_fix) */
        if (!rc && c->backup)
            rc = ls__backup_restore_user_state(c->backup, t, a->uuid, c, name);
        if (!rc && memcmp(&s, &m.state, sizeof s))
            rc = ls__mbstate_put(t, a->uuid, &s);
        /* quota: the root's usage from the records as they are now, in this
         * same transaction (so a dry run reports what the real run does) */
        char root[LS_NAME_BUF];
        ls_qrec q;
        if (!rc && ls__quota_find(t, m.name, st->cfg->sep, root, &q) == LS_OK)
            rc = ls__quota_fix_in(t, c, root, 1);
        ls_error_clear();
    }
    ls__mbox_clear(&m);
    c->holding = 0;
    if (!rc && (c->flags & LS_REPAIR_DRYRUN))
        return 1; /* report, but abort the transaction */
    return rc;
}

int ls__reconstruct_one(ls_rctx *c, const char *name, int fresh)
{
    ls_store *st = c->st;
    ls_txn t;
    ls_mbox m;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    rc = ls__mbox_load(&t, name, &m);
    ls__txn_end(&t);
    if (rc)
        return rc;
    int lockfd = -1;
    if ((rc = ls__mbox_lock(st, m.ref.uuidstr, &lockfd))) {
        ls__mbox_clear(&m);
        return rc;
    }
    /* files of a batch append whose writer died were never committed: they
     * are removed, not adopted (all or none, batch_intent.c) */
    uint32_t dropped = 0;
    rc = ls__batch_intent_resolve(st, &m.ref, m.state.uidnext, (c->flags & LS_REPAIR_DRYRUN) != 0, &dropped);
    if (rc) {
        ls__mbox_unlock(lockfd);
        ls__mbox_clear(&m);
        return rc;
    }
    if (dropped)
        ls__say(c, "%s: %u file(s) of a batch append interrupted by a crash removed (never committed)", name, dropped);
    plan p = { 0 };
    rc = make_plan(c, name, &m, &p, fresh);
    if (!rc) {
        uint8_t uuid[LS_UUID_LEN];
        memcpy(uuid, m.entry.uuid, LS_UUID_LEN);
        struct apply_args a = { c, name, uuid, &p };
        rc = ls__env_write(st->env, LS_SYNC_ALWAYS, apply_txn, &a);
        c->holding = 0;
        if (rc == 1)
            rc = LS_OK; /* the dry run's abort */
        ls__say_flush(c, rc == LS_OK);
    }
    plan_free(&p);
    ls__mbox_unlock(lockfd);

    /* the header's high-water marks follow what was found */
    if (!rc && (rc = ls__txn_read(st->env, &t)) == LS_OK) {
        ls_mbox m2;
        if (ls__mbox_load(&t, name, &m2) == LS_OK) {
            char *old;
            size_t ol;
            int missing = st->layout->ops->header_read(st->layout, &m2.ref, &old, &ol) != LS_OK;
            ls_hdrinfo h;
            int parsed = !missing && ls__hdr_parse(old, ol, &h) == LS_OK;
            /* a header cut short, or whose seal does not match, is damage */
            int bad = !missing && (!parsed || h.damaged);
            /* marks lagging behind are normal (the header is not rewritten at
             * every append): refreshed silently; another name is damage (a
             * rename that crashed after its commit) and is reported */
            int renamed = parsed && !bad && strcmp(h.name, m2.name) != 0;
            uint64_t mark = m2.state.highestmodseq > m2.state.privmodseq ? m2.state.highestmodseq : m2.state.privmodseq;
            if (m2.state.modseqmark > mark)
                mark = m2.state.modseqmark;
            int stale = parsed && !bad &&
                        (h.uidnext < m2.state.uidnext || renamed || h.highestmodseq < mark || !h.sealed);
            /* what reconstruct -m would take from the header must be what
             * the environment holds: the ACL and the quota root */
            const char *outdated = NULL;
            if (parsed && !bad) {
                MDB_val qv;
                ls_qrec q;
                int root = ls__db_get(&t, LS_DB_QUOTA, m2.name, strlen(m2.name), &qv) == LS_OK &&
                           ls__qrec_decode(qv.mv_data, qv.mv_size, &q) == LS_OK;
                if (strcmp(h.acl ? h.acl : "", m2.entry.acl ? m2.entry.acl : ""))
                    outdated = "ACL";
                else if (root != h.has_quota || (root && memcmp(q.limit, h.quota, sizeof q.limit)))
                    outdated = "quota root";
                stale |= outdated != NULL;
            }
            if (parsed)
                ls__hdr_free(&h);
            if (!missing)
                free(old);
            ls_error_clear();
            if (missing || bad || stale) {
                if (!(c->flags & LS_REPAIR_DRYRUN))
                    rc = ls__header_write(st, &m2);
                if (missing || bad || renamed)
                    ls__say(c, "%s: store.header %s, rewritten", name,
                           missing ? "missing" : bad ? "damaged" : "named another mailbox");
                else if (outdated)
                    ls__say(c, "%s: store.header's %s differs from the mailbox list's, rewritten", name, outdated);
            }
            ls__mbox_clear(&m2);
        }
        ls__txn_end(&t);
    }
    ls__mbox_clear(&m);
    return rc;
}

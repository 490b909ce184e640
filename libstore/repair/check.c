/*
 * check: verify the whole store without changing anything.
 *
 * Invariants verified (docs/format.md lists them):
 *  I1 every mailbox entry decodes, has a state record, and its uuid maps
 *     back to its name;
 *  I2 every index record decodes (size, version, CRC) and its key's UID is
 *     the record's UID;
 *  I3 every live record has a message file of the recorded size, and a
 *     cache record that decodes;
 *  I4 the state's counters equal the sums over live records; UIDNEXT is
 *     above every UID; HIGHESTMODSEQ is at or above every MODSEQ;
 *  I5 every message file has a record: a file at or above UIDNEXT without
 *     one is an adoptable crash leftover (notice); below UIDNEXT it is
 *     damage, unless it is an expunged message's file awaiting cleanup;
 *  I6 every GUID-table value names a live record with that GUID and date;
 *     files shared by single-instance storage have as many links as names;
 *  I0 every partition carries the store's identity marker (else it is
 *     unavailable: reported, and its mailboxes are not checked);
 *  I7 every quota root names an existing mailbox, and its usage equals the
 *     sum over the mailboxes it governs (bytes, messages, mailboxes).
 *  I8 every mailbox has an intact store.header (sealed, its own name) that
 *     agrees with the environment on what reconstruct -m takes from it:
 *     ACL and quota limits; and no HIGHESTMODSEQ is below the header's
 *     high-water mark (an environment older than its headers: restored
 *     from a backup, or rebuilt from lagging headers).
 */
#include "store_impl.h"
#include "repair/repair_impl.h"
#include "model/cache.h"
#include "model/records.h"
#include "model/quota.h"
#include "repair/header.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct checker {
    ls_store *st;
    ls_txn *t;
    ls_store_check_cb cb;
    void *arg;
    uint64_t errors;
} checker;

static void report(checker *c, int sev, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(checker *c, int sev, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (sev == LS_STORE_CHECK_ERROR)
        c->errors++;
    if (c->cb)
        c->cb(sev, buf, c->arg);
}

/* Files of one mailbox, sorted by UID, from the layout's scan. */
typedef struct fentry { ls_file_info fi; int seen; } fentry;
typedef struct flist { fentry *v; size_t n, cap; } flist;

static int add_file(const ls_file_info *fi, void *arg)
{
    flist *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        fentry *nv = realloc(l->v, l->cap * sizeof *nv);
        if (!nv)
            return ls__err(LS_ENOMEM, "out of memory");
        l->v = nv;
    }
    l->v[l->n].fi = *fi;
    l->v[l->n++].seen = 0;
    return 0;
}

static int cmp_fentry(const void *a, const void *b)
{
    const fentry *x = a, *y = b;
    if (x->fi.uid != y->fi.uid)
        return x->fi.uid < y->fi.uid ? -1 : 1;
    return x->fi.expunged - y->fi.expunged;
}

static fentry *find_file(flist *l, uint32_t uid, int expunged)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        fentry *e = &l->v[mid];
        if (e->fi.uid < uid || (e->fi.uid == uid && e->fi.expunged < expunged))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->n && l->v[lo].fi.uid == uid && l->v[lo].fi.expunged == expunged ? &l->v[lo] : NULL;
}

/* SHA-256 of a message file, as the GUID is computed. */
static int file_guid(checker *c, const ls_mbref *ref, uint32_t uid, uint8_t guid[LS_GUID_LEN])
{
    ls_blob b;
    int rc = c->st->layout->ops->read(c->st->layout, ref, uid, &b);
    if (rc)
        return rc;
    unsigned int n = 0;
    int ok = EVP_Digest(b.data, b.len, guid, &n, EVP_sha256(), NULL) && n == LS_GUID_LEN;
    c->st->layout->ops->blob_free(c->st->layout, &b);
    return ok ? LS_OK : LS_ENOMEM;
}

/* What a non-regular object is, for a report line; NULL for a regular file. */
static const char *irregular(const fentry *f)
{
    switch (f->fi.kind) {
    case LS_FILE_REGULAR: return NULL;
    case LS_FILE_SYMLINK: return "a symbolic link";
    case LS_FILE_DIRECTORY: return "a directory";
    default: return "not a regular file";
    }
}

typedef struct mbcheck {
    checker *c;
    const ls_mbox *m;
    flist files;
    ls_mbstate sum;
    uint32_t maxuid;
    uint64_t maxmodseq;
} mbcheck;

static int check_record(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    mbcheck *x = arg;
    checker *c = x->c;
    const char *name = x->m->name;
    if (uid > x->maxuid)
        x->maxuid = uid;
    if (!r) {
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: index record is damaged (size, version or CRC)", name, uid);
        return 0;
    }
    if (r->modseq > x->maxmodseq)
        x->maxmodseq = r->modseq;
    fentry *live = find_file(&x->files, uid, 0), *exp = find_file(&x->files, uid, 1);
    if (live)
        live->seen = 1;
    if (exp)
        exp->seen = 1;
    const char *odd;
    for (fentry *e = live; e; e = e == live ? exp : NULL)
        if ((odd = irregular(e)))
            report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: file %u.%s is %s, not a message file (reconstruct moves it aside)",
                   name, uid, uid, e->fi.expunged ? "expunged" : "", odd);
    if (live && irregular(live))
        live = NULL;
    if (exp && irregular(exp))
        exp = NULL;
    if (r->sysflags & LS_REC_EXPUNGED) {
        if (live) {
            /* its own file (same GUID) awaits cleanup: a notice (docs/contract.md §2.3);
             * other content under an expunged UID is damage */
            uint8_t guid[LS_GUID_LEN];
            int same = file_guid(c, &x->m->ref, uid, guid) == LS_OK && !memcmp(guid, r->guid, LS_GUID_LEN);
            report(c, same ? LS_STORE_CHECK_NOTICE : LS_STORE_CHECK_ERROR,
                   same ? "%s: uid %u: expunged message's file still has its live name (reconstruct renames it)"
                        : "%s: uid %u: a file with other content than the expunged message has its UID",
                   name, uid);
        }
        return 0;
    }
    ls__state_add(&x->sum, r, +1);
    fentry *f = live ? live : exp;
    uint8_t guid[LS_GUID_LEN];
    int prc;
    if (!f)
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: message file is missing", name, uid);
    else if (f->fi.size == 0 && r->size)
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: message file is empty, record says %llu bytes", name, uid,
               (unsigned long long)r->size);
    else if (f->fi.size != r->size)
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: file has %llu bytes, record says %llu", name, uid,
               (unsigned long long)f->fi.size, (unsigned long long)r->size);
    else if ((prc = f->fi.mtime != r->internaldate ? file_guid(c, &x->m->ref, uid, guid)
                                                    : ls__probe_file(c->st, &x->m->ref, uid)))
        /* what a FETCH of it would fail on (EACCES) */
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: message file cannot be read: %s", name, uid, ls_error_last());
    else if (f->fi.mtime != r->internaldate && memcmp(guid, r->guid, LS_GUID_LEN))
        /* its mtime is no longer the internal date it was written with, and
         * its bytes are not the record's: edited in place, or copied over */
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: file content does not match the record (GUID): changed or replaced "
               "(run reconstruct)", name, uid);
    else if (!live)
        report(c, LS_STORE_CHECK_NOTICE, "%s: uid %u: live message's file is named as expunged (an interrupted expunge)",
               name, uid);
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, x->m->entry.uuid, uid);
    ls_cache_view view;
    int crc = ls__cache_get(c->t, key, ~0u, &view);
    if (crc == LS_ENOTFOUND)
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: cache record is missing", name, uid);
    else if (crc != LS_OK)
        report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: cache record is damaged", name, uid);
    else {
        if (!view.f[LS_CF_ENVELOPE] || !view.f[LS_CF_BODYSTRUCTURE] || !view.f[LS_CF_PARTS])
            report(c, LS_STORE_CHECK_ERROR, "%s: uid %u: cache record lacks a field", name, uid);
        ls__cache_view_free(&view);
    }
    return 0;
}

/* I8: store.header against the environment. */
static void check_header(checker *c, const ls_mbox *m)
{
    char *text;
    size_t len;
    if (c->st->layout->ops->header_read(c->st->layout, &m->ref, &text, &len) != LS_OK) {
        ls_error_clear();
        report(c, LS_STORE_CHECK_ERROR, "%s: store.header is missing (run reconstruct: reconstruct -m could not name "
               "this mailbox without it)", m->name);
        return;
    }
    ls_hdrinfo h;
    int parsed = ls__hdr_parse(text, len, &h) == LS_OK;
    free(text);
    ls_error_clear();
    if (!parsed || h.damaged) {
        report(c, LS_STORE_CHECK_ERROR, "%s: store.header is damaged (cut short or edited; run reconstruct)", m->name);
        if (parsed)
            ls__hdr_free(&h);
        return;
    }
    if (!h.sealed)
        report(c, LS_STORE_CHECK_NOTICE, "%s: store.header is not sealed (written by an older version, or cut short at "
               "a line end; reconstruct rewrites it)", m->name);
    if (strcmp(h.name, m->name))
        report(c, LS_STORE_CHECK_ERROR, "%s: store.header names another mailbox, %s (run reconstruct)", m->name, h.name);
    if (strcmp(h.acl ? h.acl : "", m->entry.acl ? m->entry.acl : ""))
        report(c, LS_STORE_CHECK_ERROR, "%s: the ACL differs from store.header's (run reconstruct)", m->name);
    MDB_val v;
    ls_qrec q;
    int root = ls__db_get(c->t, LS_DB_QUOTA, m->name, strlen(m->name), &v) == LS_OK &&
               ls__qrec_decode(v.mv_data, v.mv_size, &q) == LS_OK;
    if (h.has_quota && !root)
        report(c, LS_STORE_CHECK_ERROR, "%s: store.header holds quota limits but the mailbox is no quota root "
               "(reconstruct -m lost them? set them again with setquota)", m->name);
    else if (!h.has_quota && root)
        report(c, LS_STORE_CHECK_ERROR, "%s: quota root missing from store.header (run reconstruct)", m->name);
    else if (root && memcmp(h.quota, q.limit, sizeof q.limit))
        report(c, LS_STORE_CHECK_ERROR, "%s: quota limits differ from store.header's (run reconstruct)", m->name);
    uint64_t known = m->state.highestmodseq > m->state.privmodseq ? m->state.highestmodseq : m->state.privmodseq;
    if (m->state.modseqmark > known)
        known = m->state.modseqmark;
    if (h.highestmodseq > known)
        report(c, LS_STORE_CHECK_ERROR, "%s: HIGHESTMODSEQ %llu is below store.header's high-water mark %llu (the "
               "environment is older than the mailbox: restored from a backup? run reconstruct)", m->name,
               (unsigned long long)m->state.highestmodseq, (unsigned long long)h.highestmodseq);
    if (h.uidnext > m->state.uidnext)
        report(c, LS_STORE_CHECK_ERROR, "%s: UIDNEXT %u is below store.header's high-water mark %u (run reconstruct)",
               m->name, m->state.uidnext, h.uidnext);
    ls__hdr_free(&h);
    ls_error_clear();
}

static void check_mailbox(checker *c, const ls_mbox *m)
{
    const ls_layout_ops *ops = c->st->layout->ops;
    mbcheck x = { .c = c, .m = m };
    int rc = ops->scan(c->st->layout, &m->ref, add_file, &x.files);
    if (rc == LS_ENOTFOUND) {
        /* reconstruct refuses to turn this into expunges on its own */
        char *path = NULL;
        ops->mailbox_path(c->st->layout, &m->ref, &path);
        report(c, LS_STORE_CHECK_ERROR,
               "%s: mailbox directory %s is missing as a whole (%u message%s): restore it, or run reconstruct "
               "--expunge-missing-directory %s if it was removed on purpose",
               m->name, path ? path : "?", m->state.exists, m->state.exists == 1 ? "" : "s", m->name);
        free(path);
        free(x.files.v);
        return;
    }
    if (rc) {
        report(c, LS_STORE_CHECK_ERROR, "%s: mailbox directory unreadable: %s", m->name, ls_error_last());
        free(x.files.v);
        return;
    }
    if (x.files.n)
        qsort(x.files.v, x.files.n, sizeof *x.files.v, cmp_fentry);
    check_header(c, m);
    ls__rec_foreach(c->t, m->entry.uuid, 1, check_record, &x);
    const ls_mbstate *s = &m->state;
    if (s->exists != x.sum.exists || s->unseen != x.sum.unseen || s->deleted != x.sum.deleted ||
        s->flagged != x.sum.flagged || s->answered != x.sum.answered || s->size != x.sum.size)
        report(c, LS_STORE_CHECK_ERROR,
               "%s: counters wrong: messages %u (actual %u), unseen %u (%u), deleted %u (%u), flagged %u (%u), "
               "answered %u (%u), size %llu (%llu)",
               m->name, s->exists, x.sum.exists, s->unseen, x.sum.unseen, s->deleted, x.sum.deleted, s->flagged,
               x.sum.flagged, s->answered, x.sum.answered, (unsigned long long)s->size,
               (unsigned long long)x.sum.size);
    if (x.maxuid >= s->uidnext)
        report(c, LS_STORE_CHECK_ERROR, "%s: UIDNEXT %u is not above the highest UID %u", m->name, s->uidnext, x.maxuid);
    if (x.maxmodseq > s->highestmodseq)
        report(c, LS_STORE_CHECK_ERROR, "%s: HIGHESTMODSEQ %llu is below a record's MODSEQ %llu", m->name,
               (unsigned long long)s->highestmodseq, (unsigned long long)x.maxmodseq);
    for (size_t i = 0; i < x.files.n; i++) {
        fentry *f = &x.files.v[i];
        if (f->seen)
            continue;
        const char *odd = irregular(f);
        if (odd || (!f->fi.expunged && f->fi.size == 0))
            report(c, LS_STORE_CHECK_ERROR, "%s: file %u.%s is %s, not a message file (reconstruct moves it aside)", m->name,
                   f->fi.uid, f->fi.expunged ? "expunged" : "", odd ? odd : "empty");
        else if (f->fi.expunged)
            report(c, LS_STORE_CHECK_NOTICE, "%s: file %u.expunged has no record (left for cleanup)", m->name, f->fi.uid);
        else if (f->fi.uid >= s->uidnext)
            report(c, LS_STORE_CHECK_NOTICE, "%s: file %u. at or above UIDNEXT %u has no record (adopted by the next writer)",
                   m->name, f->fi.uid, s->uidnext);
        else
            report(c, LS_STORE_CHECK_ERROR, "%s: file %u. has no record and is below UIDNEXT %u (run reconstruct)",
                   m->name, f->fi.uid, s->uidnext);
    }
    free(x.files.v);
}

/* I6: GUID-table values point at live records of that GUID; link counts. */
static void check_guids(checker *c)
{
    const ls_layout_ops *ops = c->st->layout->ops;
    MDB_cursor *cur;
    if (ls__db_cursor(c->t, LS_DB_GUIDS, &cur))
        return;
    MDB_val k, v;
    /* per key: the holders' inodes, to compare links with names */
    uint64_t ino = 0, nlink = 0, names = 0;
    MDB_val lastkey = { 0, NULL };
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data;
        size_t plen = strnlen((const char *)kp, k.mv_size);
        if (plen + 1 + LS_GUID_LEN + 8 != k.mv_size || v.mv_size != LS_RECKEY_LEN) {
            report(c, LS_STORE_CHECK_ERROR, "GUID table: malformed entry");
            continue;
        }
        if (!lastkey.mv_data || lastkey.mv_size != k.mv_size || memcmp(lastkey.mv_data, k.mv_data, k.mv_size)) {
            if (names && nlink && nlink < names)
                report(c, LS_STORE_CHECK_ERROR, "single-instance file (inode %llu) has %llu links for %llu names",
                       (unsigned long long)ino, (unsigned long long)nlink, (unsigned long long)names);
            lastkey = k;
            ino = nlink = names = 0;
        }
        char part[64];
        memcpy(part, kp, plen < 63 ? plen : 63);
        part[plen < 63 ? plen : 63] = 0;
        const uint8_t *guid = kp + plen + 1;
        int64_t date = (int64_t)ls__rd_be64(kp + plen + 1 + LS_GUID_LEN);
        const uint8_t *uuid = v.mv_data;
        uint32_t uid = ls__rd_be32((const uint8_t *)v.mv_data + LS_UUID_LEN);
        ls_irec r;
        char us[37];
        ls__uuid_format(uuid, us);
        if (ls__rec_get(c->t, uuid, uid, &r) != LS_OK || (r.sysflags & LS_REC_EXPUNGED) ||
            memcmp(r.guid, guid, LS_GUID_LEN) || r.internaldate != date) {
            report(c, LS_STORE_CHECK_ERROR, "GUID table: entry for mailbox %s uid %u names no live record with that content",
                   us, uid);
            continue;
        }
        ls_mbref ref;
        ls__mbref_set(&ref, uuid, part);
        ls_file_info fi;
        if (ops->stat(c->st->layout, &ref, uid, &fi) == LS_OK && fi.ino) {
            if (!names || fi.ino == ino) {
                ino = fi.ino;
                nlink = fi.nlink;
                names++;
            }
        }
    }
    if (names && nlink && nlink < names)
        report(c, LS_STORE_CHECK_ERROR, "single-instance file (inode %llu) has %llu links for %llu names",
               (unsigned long long)ino, (unsigned long long)nlink, (unsigned long long)names);
    ls__db_cursor_close(cur);
    ls_error_clear();
}

/* I7: quota usage recomputed from the mailbox states. */
typedef struct qsum { char *root; ls_qrec rec; uint64_t sum[LS_QUOTA_NRESOURCES]; } qsum;

static void check_quota(checker *c)
{
    char sep = c->st->cfg->sep;
    qsum *roots = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *cur;
    MDB_val k, v;
    if (ls__db_cursor(c->t, LS_DB_QUOTA, &cur))
        return;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            qsum *nr = realloc(roots, cap * sizeof *nr);
            if (!nr)
                break;
            roots = nr;
        }
        memset(&roots[n], 0, sizeof roots[n]);
        roots[n].root = strndup(k.mv_data, k.mv_size);
        if (!roots[n].root)
            break;
        if (ls__qrec_decode(v.mv_data, v.mv_size, &roots[n].rec) != LS_OK) {
            report(c, LS_STORE_CHECK_ERROR, "quota root %s: record is damaged", roots[n].root);
            free(roots[n].root);
            continue;
        }
        MDB_val mv;
        if (ls__db_get(c->t, LS_DB_MAILBOXES, k.mv_data, k.mv_size, &mv) != LS_OK)
            report(c, LS_STORE_CHECK_ERROR, "quota root %s: no such mailbox", roots[n].root);
        n++;
    }
    ls__db_cursor_close(cur);
    if (ls__db_cursor(c->t, LS_DB_MAILBOXES, &cur) == LS_OK) {
        for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            char name[LS_NAME_BUF], root[LS_NAME_BUF];
            if (k.mv_size >= sizeof name)
                continue;
            memcpy(name, k.mv_data, k.mv_size);
            name[k.mv_size] = 0;
            ls_qrec q;
            ls_mbentry e;
            ls_mbstate s;
            if (ls__quota_find(c->t, name, sep, root, &q) != LS_OK ||
                ls__mbentry_decode(v.mv_data, v.mv_size, &e) != LS_OK)
                continue;
            int ok = ls__mbstate_get(c->t, e.uuid, &s) == LS_OK;
            ls__mbentry_clear(&e);
            if (!ok)
                continue;
            for (size_t i = 0; i < n; i++) {
                if (strcmp(roots[i].root, root))
                    continue;
                roots[i].sum[LS_QUOTA_STORAGE] += s.size;
                roots[i].sum[LS_QUOTA_MESSAGE] += s.exists;
                roots[i].sum[LS_QUOTA_MAILBOX] += 1;
            }
        }
        ls__db_cursor_close(cur);
    }
    for (size_t i = 0; i < n; i++) {
        for (int r = 0; r < LS_QUOTA_NRESOURCES; r++)
            if (roots[i].sum[r] != roots[i].rec.usage[r])
                report(c, LS_STORE_CHECK_ERROR, "quota root %s: %s usage is %llu, the mailboxes hold %llu", roots[i].root,
                       ls_quota_resource_name(r), (unsigned long long)roots[i].rec.usage[r],
                       (unsigned long long)roots[i].sum[r]);
        free(roots[i].root);
    }
    free(roots);
    ls_error_clear();
}

int ls_store_check(ls_store *st, ls_store_check_cb cb, void *arg, uint64_t *nerrors)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    checker c = { st, &t, cb, arg, 0 };
    MDB_cursor *cur;
    MDB_val k, v;
    /* I0: every partition carries this store's identity marker. The
     * mailboxes of one that does not (not mounted?) are not checked: their
     * files would all look missing. */
    size_t np = st->cfg->npartitions, skipped = 0;
    int *gone = calloc(np ? np : 1, sizeof *gone);
    for (size_t i = 0; gone && i < np; i++)
        if ((gone[i] = st->layout->ops->partition_check(st->layout, st->cfg->partitions[i].name) != LS_OK))
            report(&c, LS_STORE_CHECK_ERROR, "%s; its mailboxes were not checked", ls_error_last());
    if ((rc = ls__db_cursor(&t, LS_DB_MAILBOXES, &cur)) == LS_OK) {
        for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            char name[LS_NAME_BUF];
            if (k.mv_size >= sizeof name) {
                report(&c, LS_STORE_CHECK_ERROR, "mailbox list: a name of %zu bytes", k.mv_size);
                continue;
            }
            memcpy(name, k.mv_data, k.mv_size);
            name[k.mv_size] = 0;
            ls_mbox m;
            if (ls__mbox_load(&t, name, &m) != LS_OK) {
                report(&c, LS_STORE_CHECK_ERROR, "%s: %s", name, ls_error_last());
                continue;
            }
            MDB_val back;
            if (ls__db_get(&t, LS_DB_BYUUID, m.entry.uuid, LS_UUID_LEN, &back) != LS_OK || back.mv_size != k.mv_size ||
                memcmp(back.mv_data, k.mv_data, k.mv_size))
                report(&c, LS_STORE_CHECK_ERROR, "%s: unique id %s does not map back to this name", name, m.ref.uuidstr);
            int on_gone = 0;
            for (size_t i = 0; gone && i < np; i++)
                on_gone |= gone[i] && !strcmp(st->cfg->partitions[i].name, m.entry.partition);
            if (on_gone)
                skipped++;
            else
                check_mailbox(&c, &m);
            ls__mbox_clear(&m);
        }
        ls__db_cursor_close(cur);
    }
    check_guids(&c);
    check_quota(&c);
    uint64_t pending = 0;
    MDB_stat ms;
    if (mdb_stat(t.txn, st->env->dbi[LS_DB_PENDING], &ms) == 0)
        pending = ms.ms_entries;
    ls__txn_end(&t);
    if (pending)
        report(&c, LS_STORE_CHECK_NOTICE, "%llu file removal(s) pending (run cleanup)", (unsigned long long)pending);
    if (skipped)
        report(&c, LS_STORE_CHECK_NOTICE, "%zu mailbox(es) on unavailable partitions not checked", skipped);
    free(gone);
    if (nerrors)
        *nerrors = c.errors;
    ls_error_clear();
    return rc;
}

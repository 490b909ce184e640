/* Reading messages: records, cached strings, bytes, changes since MODSEQ. */
#include "message/message_impl.h"
#include "mime/mime.h"
#include "model/cache.h"
#include "model/seen.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void to_public(const ls_irec *r, ls_record *out)
{
    memset(out, 0, sizeof *out);
    out->uid = r->uid;
    out->flags = r->sysflags & LS_FLAG_ALL;
    out->modseq = r->modseq;
    out->internaldate.t = r->internaldate;
    out->internaldate.tz = r->internal_tz;
    out->sentdate.t = r->sentdate;
    out->sentdate.tz = r->sent_tz;
    out->size = r->size;
    out->header_size = r->header_size;
    out->body_lines = r->body_lines;
    memcpy(out->guid, r->guid, LS_GUID_LEN);
    out->keywords[0] = r->keywords[0];
    out->keywords[1] = r->keywords[1];
}

struct foreach_ctx {
    const ls_seen *seen;     /* the session's private seen state, or NULL */
    const char *user;
    ls_txn *t;
    ls_mailbox *mb;
    const ls_set *uids;
    unsigned what;
    ls_message_foreach_cb cb;
    void *arg;
    int result;
    /* the cache table walked in step with the records (same key order),
     * instead of one B-tree descent per message */
    MDB_cursor *cc;
    MDB_val ck, cv;
    int cc_state;            /* 0: not positioned, 1: at (ck, cv), -1: past the end */
};

/* The cache value stored under exactly `key`, moving the cache cursor
 * forward only. */
static int cache_at(struct foreach_ctx *c, const uint8_t key[LS_RECKEY_LEN], MDB_val *out)
{
    if (c->cc_state < 0)
        return 0;
    if (c->cc_state == 0) {
        c->ck.mv_size = LS_RECKEY_LEN;
        c->ck.mv_data = (void *)key;
        if (mdb_cursor_get(c->cc, &c->ck, &c->cv, MDB_SET_RANGE) != 0) {
            c->cc_state = -1;
            return 0;
        }
        c->cc_state = 1;
    }
    for (;;) {
        int cmp = c->ck.mv_size == LS_RECKEY_LEN ? memcmp(c->ck.mv_data, key, LS_RECKEY_LEN) : -1;
        if (cmp == 0) {
            *out = c->cv;
            return 1;
        }
        if (cmp > 0)
            return 0; /* no cache record for this key (damage: check reports it) */
        if (mdb_cursor_get(c->cc, &c->ck, &c->cv, MDB_NEXT) != 0) {
            c->cc_state = -1;
            return 0;
        }
    }
}

static int foreach_one(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct foreach_ctx *c = arg;
    if (c->uids && !ls_set_contains(c->uids, uid)) {
        /* skip ahead: past the last range, stop */
        if (c->uids->n && uid > c->uids->r[c->uids->n - 1].hi)
            return 1;
        return 0;
    }
    if (!r || (r->sysflags & LS_REC_EXPUNGED))
        return 0;
    ls_record rec;
    to_public(r, &rec);
    if (c->seen) {
        rec.flags = (rec.flags & ~(unsigned)LS_FLAG_SEEN) | (ls__seen_has(c->seen, uid) ? LS_FLAG_SEEN : 0);
        rec.modseq = ls__seen_modseq(c->t, c->mb->ref.uuid, c->user, c->seen, uid, r->modseq);
    }
    ls_cached cached = { 0 };
    if (c->what & LS_MESSAGE_FETCH_CACHE) {
        uint8_t key[LS_RECKEY_LEN];
        ls__reckey(key, c->mb->ref.uuid, uid);
        MDB_val v;
        ls_cache_view view;
        if (cache_at(c, key, &v) && ls__cache_decode_hot(v.mv_data, v.mv_size, &view) == LS_OK) {
            /* zero-copy: the fields point into the map, valid in the callback */
            cached.envelope = view.f[LS_CF_ENVELOPE];
            cached.envelope_len = view.len[LS_CF_ENVELOPE];
            cached.bodystructure = view.f[LS_CF_BODYSTRUCTURE];
            cached.bodystructure_len = view.len[LS_CF_BODYSTRUCTURE];
            cached.body = view.f[LS_CF_BODY];
            cached.body_len = view.len[LS_CF_BODY];
        }
    }
    int r2 = c->cb(&rec, &cached, c->arg);
    if (r2) {
        c->result = r2;
        return 1;
    }
    return 0;
}

int ls_message_foreach(ls_mailbox *mb, const ls_set *uids, unsigned what, ls_message_foreach_cb cb, void *arg)
{
    ls_txn t;
    int rc = ls__txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mailbox_reload(mb, &t, &m, LS_RIGHT_R, "fetch")) == LS_OK) {
        const char *user = ls__seen_user(mb->s, m.name);
        ls_seen seen = { 0 };
        ls__mbox_clear(&m);
        if (user)
            rc = ls__seen_load(&t, mb->ref.uuid, user, &seen);
        struct foreach_ctx c = { user ? &seen : NULL, user, &t, mb, uids, what, cb, arg, 0, NULL, { 0, NULL }, { 0, NULL }, 0 };
        uint32_t from = uids && uids->n ? uids->r[0].lo : 1;
        if (!rc && (what & LS_MESSAGE_FETCH_CACHE))
            rc = ls__db_cursor(&t, LS_DB_CACHE, &c.cc);
        if (!rc)
            rc = ls__rec_foreach(&t, mb->ref.uuid, from ? from : 1, foreach_one, &c);
        ls__db_cursor_close(c.cc);
        if (rc == 1)
            rc = c.result;
        ls__seen_free(&seen);
    }
    ls__txn_end(&t);
    return rc;
}

int ls_message_get(ls_mailbox *mb, uint32_t uid, ls_record *out)
{
    ls_txn t;
    int rc = ls__txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mailbox_reload(mb, &t, &m, LS_RIGHT_R, "fetch")) == LS_OK) {
        const char *user = ls__seen_user(mb->s, m.name);
        ls__mbox_clear(&m);
        ls_irec r;
        if ((rc = ls__live_record(&t, mb->ref.uuid, uid, &r)) == LS_OK) {
            to_public(&r, out);
            ls_seen seen;
            if (user && (rc = ls__seen_load(&t, mb->ref.uuid, user, &seen)) == LS_OK) {
                out->flags = (out->flags & ~(unsigned)LS_FLAG_SEEN) | (ls__seen_has(&seen, uid) ? LS_FLAG_SEEN : 0);
                out->modseq = ls__seen_modseq(&t, mb->ref.uuid, user, &seen, uid, r.modseq);
                ls__seen_free(&seen);
            }
        }
    }
    ls__txn_end(&t);
    return rc;
}

struct uids_ctx { uint32_t *v; size_t n, cap; };
static int collect_uid(const ls_record *rec, const ls_cached *c, void *arg)
{
    struct uids_ctx *u = arg;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 256;
        uint32_t *nv = realloc(u->v, u->cap * sizeof *nv);
        if (!nv)
            return ls__err(LS_ENOMEM, "out of memory");
        u->v = nv;
    }
    u->v[u->n++] = rec->uid;
    return 0;
}

int ls_message_uids(ls_mailbox *mb, uint32_t **uids, size_t *n)
{
    struct uids_ctx u = { 0 };
    int rc = ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_RECORD, collect_uid, &u);
    if (rc) {
        free(u.v);
        return rc;
    }
    *uids = u.v ? u.v : calloc(1, sizeof **uids);
    *n = u.n;
    return *uids ? LS_OK : ls__err(LS_ENOMEM, "out of memory");
}

/* Read the cache record of uid into a view (with the given fields inflated). */
static int load_cache(ls_mailbox *mb, ls_txn *t, uint32_t uid, unsigned inflate, ls_cache_view *view, ls_irec *r)
{
    ls_mbox m;
    int rc = ls__mailbox_reload(mb, t, &m, LS_RIGHT_R, "fetch");
    if (rc)
        return rc;
    ls__mbox_clear(&m);
    if ((rc = ls__live_record(t, mb->ref.uuid, uid, r)))
        return rc;
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, mb->ref.uuid, uid);
    rc = ls__cache_get(t, key, inflate, view);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ECORRUPT, "message UID %u has no cache record (run reconstruct)", uid);
    if (rc)
        rc = ls__err(rc, "message UID %u: %s (run reconstruct)", uid, ls_error_last());
    return rc;
}

int ls_message_cached(ls_mailbox *mb, uint32_t uid, const char *which, char **out, size_t *len)
{
    int id = !strcasecmp(which, "envelope") ? LS_CF_ENVELOPE
             : !strcasecmp(which, "bodystructure") ? LS_CF_BODYSTRUCTURE
             : !strcasecmp(which, "body") ? LS_CF_BODY : 0;
    if (!id)
        return ls__err(LS_EINVAL, "unknown cached item '%s' (envelope, bodystructure or body)", which);
    ls_txn t;
    int rc = ls__txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_cache_view view;
    ls_irec r;
    if ((rc = load_cache(mb, &t, uid, 0, &view, &r)) == LS_OK) {
        size_t n = view.len[id];
        char *s = malloc(n + 1);
        if (!s) {
            rc = ls__err(LS_ENOMEM, "out of memory");
        } else {
            if (n)
                memcpy(s, view.f[id], n);
            s[n] = 0;
            *out = s;
            if (len)
                *len = n;
        }
        ls__cache_view_free(&view);
    }
    ls__txn_end(&t);
    return rc;
}

/* Parse "HEADER.FIELDS (A B)" / "HEADER.FIELDS.NOT (A B)" after an optional
 * part prefix; returns the list start and sets *not. NULL if not such. */
static const char *fields_spec(const char *section, size_t *prefix_len, int *not)
{
    const char *p = section;
    for (;;) {
        const char *dot = p;
        while (isdigit((unsigned char)*dot))
            dot++;
        if (dot == p || *dot != '.')
            break;
        p = dot + 1;
    }
    if (strncasecmp(p, "HEADER.FIELDS", 13) != 0)
        return NULL;
    *prefix_len = (size_t)(p - section);
    const char *q = p + 13;
    *not = 0;
    if (!strncasecmp(q, ".NOT", 4)) {
        *not = 1;
        q += 4;
    }
    while (*q == ' ')
        q++;
    return *q == '(' ? q : NULL;
}

/* Does header line `line` (name: value) name a field in the list "(A B C)"? */
static int field_listed(const char *list, const char *line, size_t namelen)
{
    const char *p = list + 1;
    while (*p && *p != ')') {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ' && *e != ')')
            e++;
        if ((size_t)(e - p) == namelen && !strncasecmp(p, line, namelen))
            return 1;
        p = e;
    }
    return 0;
}

/* Filter header bytes to the listed fields (or all but them), keeping each
 * field with its continuation lines, and the final blank line (IMAP). */
static int filter_fields(const char *h, size_t hlen, const char *list, int not, char **out, size_t *outlen)
{
    char *o = malloc(hlen + 3);
    if (!o)
        return ls__err(LS_ENOMEM, "out of memory");
    size_t n = 0, i = 0;
    int keep = 0;
    while (i < hlen) {
        size_t e = i;
        while (e < hlen && h[e] != '\n')
            e++;
        size_t lend = e < hlen ? e + 1 : e;
        int blank = (e == i) || (e == i + 1 && h[i] == '\r');
        if (blank)
            break;
        if (h[i] != ' ' && h[i] != '\t') {
            size_t c = i;
            while (c < e && h[c] != ':')
                c++;
            size_t nl = c - i;
            while (nl > 0 && (h[i + nl - 1] == ' ' || h[i + nl - 1] == '\t'))
                nl--;
            keep = (c < e) && (field_listed(list, h + i, nl) != not);
        }
        if (keep) {
            memcpy(o + n, h + i, lend - i);
            n += lend - i;
        }
        i = lend;
    }
    o[n++] = '\r';
    o[n++] = '\n';
    o[n] = 0;
    *out = o;
    *outlen = n;
    return LS_OK;
}

int ls_message_fetch(ls_mailbox *mb, uint32_t uid, const char *section, uint64_t offset, uint64_t length,
                     char **out, size_t *len)
{
    ls_store *st = mb->s->st;
    if (!section)
        section = "";
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    ls_cache_view view;
    ls_irec r;
    ls_mime_part *parts = NULL;
    size_t nparts = 0;
    rc = load_cache(mb, &t, uid, 1u << LS_CF_PARTS, &view, &r);
    if (!rc) {
        if (view.f[LS_CF_PARTS])
            rc = ls__mime_parts_decode((const uint8_t *)view.f[LS_CF_PARTS], view.len[LS_CF_PARTS], r.size, &parts, &nparts);
        else
            rc = ls__err(LS_ECORRUPT, "message UID %u: cache record lacks part offsets (run reconstruct)", uid);
        ls__cache_view_free(&view);
    }
    ls__txn_end(&t);
    if (rc)
        return rc;
    ls_blob b;
    if ((rc = st->layout->ops->read(st->layout, &mb->ref, uid, &b))) {
        free(parts);
        return rc;
    }
    if (b.len != r.size) {
        rc = ls__err(LS_EIO, "message UID %u: file has %zu bytes, record says %llu (run reconstruct)", uid, b.len,
                    (unsigned long long)r.size);
        goto done;
    }
    size_t plen;
    int not;
    const char *list = fields_spec(section, &plen, &not);
    const char *src = NULL;
    size_t srclen = 0;
    char *filtered = NULL;
    if (list) {
        char part[256];
        if (plen >= sizeof part) {
            rc = ls__err(LS_EINVAL, "section '%s' too long", section);
            goto done;
        }
        /* "1.2.HEADER.FIELDS" -> the header of part 1.2's message */
        memcpy(part, section, plen);
        strcpy(part + plen, "HEADER");
        uint64_t off, l;
        if ((rc = ls__mime_section_locate(parts, nparts, part, &off, &l)))
            goto done;
        if ((rc = filter_fields(b.data + off, (size_t)l, list, not, &filtered, &srclen)))
            goto done;
        src = filtered;
    } else {
        uint64_t off, l;
        if ((rc = ls__mime_section_locate(parts, nparts, section, &off, &l)))
            goto done;
        if (off > b.len || l > b.len - off) {
            rc = ls__err(LS_ECORRUPT, "message UID %u: part offsets out of range (run reconstruct)", uid);
            goto done;
        }
        src = b.data + off;
        srclen = (size_t)l;
    }
    if (offset > srclen)
        offset = srclen;
    size_t n = srclen - (size_t)offset;
    if (length < n)
        n = (size_t)length;
    char *o = malloc(n + 1);
    if (!o) {
        rc = ls__err(LS_ENOMEM, "out of memory");
    } else {
        if (n)
            memcpy(o, src + offset, n);
        o[n] = 0;
        *out = o;
        *len = n;
    }
    free(filtered);
done:
    st->layout->ops->blob_free(st->layout, &b);
    free(parts);
    return rc;
}

int ls_message_path(ls_mailbox *mb, uint32_t uid, char **out)
{
    ls_txn t;
    int rc = ls__txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mailbox_reload(mb, &t, &m, LS_RIGHT_R, "path")) == LS_OK) {
        ls__mbox_clear(&m);
        ls_irec r;
        if ((rc = ls__live_record(&t, mb->ref.uuid, uid, &r)) == LS_OK)
            rc = mb->s->st->layout->ops->message_path(mb->s->st->layout, &mb->ref, uid, out);
    }
    ls__txn_end(&t);
    return rc;
}

struct changes_ctx {
    uint64_t modseq;
    ls_message_changes_cb cb;
    void *arg;
    int result;
    ls_txn *t;
    const uint8_t *uuid;
    const char *user;        /* private seen: the user's own changes count too */
    const ls_seen *seen;
};
static int change_one(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct changes_ctx *c = arg;
    if (!r)
        return 0;
    uint64_t m = r->modseq;
    if (c->seen && !(r->sysflags & LS_REC_EXPUNGED))
        m = ls__seen_modseq(c->t, c->uuid, c->user, c->seen, uid, r->modseq);
    if (m <= c->modseq)
        return 0;
    int x = c->cb(uid, m, (r->sysflags & LS_REC_EXPUNGED) != 0, c->arg);
    if (x) {
        c->result = x;
        return 1;
    }
    return 0;
}

int ls_message_changes(ls_mailbox *mb, uint64_t modseq, ls_message_changes_cb cb, void *arg)
{
    ls_txn t;
    int rc = ls__txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mailbox_reload(mb, &t, &m, LS_RIGHT_R, "changes")) == LS_OK) {
        const char *user = ls__seen_user(mb->s, m.name);
        ls__mbox_clear(&m);
        ls_seen seen = { 0 };
        if (user)
            rc = ls__seen_load(&t, mb->ref.uuid, user, &seen);
        struct changes_ctx c = { modseq, cb, arg, 0, &t, mb->ref.uuid, user, user ? &seen : NULL };
        if (!rc)
            rc = ls__rec_foreach(&t, mb->ref.uuid, 1, change_one, &c);
        if (rc == 1)
            rc = c.result;
        ls__seen_free(&seen);
    }
    ls__txn_end(&t);
    return rc;
}

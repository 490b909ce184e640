/* SEARCH over an open mailbox: the criteria module evaluates, this file
 * feeds it records, cached header fields and, only when a key needs it,
 * the message file. */
#include "message/message_impl.h"
#include "model/cache.h"
#include "search/search.h"
#include "model/seen.h"

#include <stdlib.h>
#include <string.h>

struct msg_ctx {
    ls_store *st;
    const ls_mbref *ref;
    uint32_t uid;
    ls_blob blob;
    int loaded;
};

static int load_message(void *ctx, const char **msg, size_t *len)
{
    struct msg_ctx *c = ctx;
    if (!c->loaded) {
        int rc = c->st->layout->ops->read(c->st->layout, c->ref, c->uid, &c->blob);
        if (rc)
            return rc;
        c->loaded = 1;
    }
    *msg = c->blob.data;
    *len = c->blob.len;
    return LS_OK;
}

struct search_ctx {
    const ls_seen *seen;     /* private seen state, or NULL */
    /* \Recent: above the stored recentuid (nobody claimed them yet), or
     * claimed by this handle (ls_mailbox_claim_recent) */
    ls_txn *t;
    ls_mailbox *mb;
    const ls_search *crit;
    char **kwnames;
    size_t nkw;
    uint32_t recentuid, max_uid, max_seq, seq;
    int need_fields;
    uidlist out;
    int rc;
};

static int search_one(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct search_ctx *c = arg;
    if (!r || (r->sysflags & LS_REC_EXPUNGED))
        return 0;
    c->seq++;
    const char *kw[LS_MAILBOX_MAX_KEYWORDS];
    size_t nkw = 0;
    for (unsigned b = 0; b < LS_MAILBOX_MAX_KEYWORDS && b < c->nkw; b++)
        if (r->keywords[b / 64] >> (b % 64) & 1)
            kw[nkw++] = c->kwnames[b];
    struct msg_ctx mc = { c->mb->s->st, &c->mb->ref, uid, { 0 }, 0 };
    ls_search_msg m = {
        .uid = uid, .seq = c->seq, .recent = uid > c->recentuid || ls_mailbox_is_recent(c->mb, uid),
        .flags = c->seen ? (r->sysflags & LS_FLAG_ALL & ~(unsigned)LS_FLAG_SEEN) | (ls__seen_has(c->seen, uid) ? LS_FLAG_SEEN : 0)
                         : r->sysflags & LS_FLAG_ALL,
        .keywords = kw, .nkeywords = nkw, .size = r->size, .modseq = r->modseq,
        .internaldate = r->internaldate, .internal_tz = r->internal_tz,
        .sentdate = r->sentdate, .sent_tz = r->sent_tz,
        .load_message = load_message, .ctx = &mc,
    };
    ls_cache_view view = { 0 };
    if (c->need_fields) {
        uint8_t key[LS_RECKEY_LEN];
        ls__reckey(key, c->mb->ref.uuid, uid);
        MDB_val v;
        if (ls__db_get(c->t, LS_DB_CACHEX, key, sizeof key, &v) == LS_OK &&
            ls__cache_decode(v.mv_data, v.mv_size, 1u << LS_CF_FIELDS, &view) == LS_OK) {
            m.fields = view.f[LS_CF_FIELDS];
            m.fields_len = view.len[LS_CF_FIELDS];
        }
    }
    int match = 0;
    int rc = ls__search_match(c->crit, &m, c->max_uid, c->max_seq, &match);
    ls__cache_view_free(&view);
    if (mc.loaded)
        c->mb->s->st->layout->ops->blob_free(c->mb->s->st->layout, &mc.blob);
    if (!rc && match)
        rc = ls__uidlist_add(&c->out, uid);
    if (rc) {
        c->rc = rc;
        return 1;
    }
    return 0;
}

static int last_uid(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    if (r && !(r->sysflags & LS_REC_EXPUNGED))
        *(uint32_t *)arg = uid;
    return 0;
}

int ls_message_search(ls_mailbox *mb, int argc, const char *const *argv, uint32_t **uids, size_t *n)
{
    *uids = NULL;
    *n = 0;
    ls_search *crit;
    int rc = ls__search_parse(argc, argv, &crit);
    if (rc)
        return rc;
    ls_txn t;
    if ((rc = ls__txn_read(mb->s->st->env, &t))) {
        ls__search_free(crit);
        return rc;
    }
    ls_mbox m;
    struct search_ctx c = { .t = &t, .mb = mb, .crit = crit };
    ls_seen seen = { 0 };
    if ((rc = ls__mailbox_reload(mb, &t, &m, LS_RIGHT_R, "search")) == LS_OK) {
        const char *user = ls__seen_user(mb->s, m.name);
        c.recentuid = m.state.recentuid;
        if (user && (rc = ls__seen_load(&t, mb->ref.uuid, user, &seen)) == LS_OK) {
            c.seen = &seen;
            c.recentuid = seen.recentuid;
        }
        c.max_seq = m.state.exists;
        c.need_fields = ls__search_needs_fields(crit);
        ls__mbox_clear(&m);
        if (!rc)
            rc = ls__keywords_load(&t, mb->ref.uuid, &c.kwnames, &c.nkw);
        /* the largest live UID, for '*' (cheap next to the search itself) */
        if (!rc)
            rc = ls__rec_foreach(&t, mb->ref.uuid, 1, last_uid, &c.max_uid);
        if (!rc) {
            rc = ls__rec_foreach(&t, mb->ref.uuid, 1, search_one, &c);
            if (rc == 1)
                rc = c.rc;
        }
        ls__keywords_free(c.kwnames, c.nkw);
    }
    ls__seen_free(&seen);
    ls__txn_end(&t);
    ls__search_free(crit);
    if (rc) {
        free(c.out.v);
        return rc;
    }
    *uids = c.out.v ? c.out.v : calloc(1, sizeof **uids);
    *n = c.out.n;
    return *uids ? LS_OK : ls__err(LS_ENOMEM, "out of memory");
}

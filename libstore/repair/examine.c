/* mbexamine: the index header and every index and cache record, readably. */
#include "repair/repair_impl.h"
#include "mime/mime.h"
#include "model/cache.h"
#include "model/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ex_ctx { ls_rctx *c; ls_txn *t; const uint8_t *uuid; char **kw; size_t nkw; };

static void flags_str(const ls_irec *r, char **kw, size_t nkw, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned b = 1; b <= LS_FLAG_DRAFT; b <<= 1)
        if (r->sysflags & b)
            n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, "%s%s", n ? " " : "", ls_flag_name(b));
    for (unsigned i = 0; i < LS_MAILBOX_MAX_KEYWORDS; i++)
        if ((r->keywords[i / 64] >> (i % 64) & 1) && n < outlen)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? " " : "", i < nkw ? kw[i] : "?");
}

static int ex_record(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct ex_ctx *x = arg;
    ls_rctx *c = x->c;
    if (!r) {
        ls__say(c, "record uid=%u DAMAGED (size %zu; run reconstruct)", uid, raw->mv_size);
        return 0;
    }
    char fl[2048], idate[32], sdate[32], guid[65];
    flags_str(r, x->kw, x->nkw, fl, sizeof fl);
    ls_date d1 = { r->internaldate, r->internal_tz }, d2 = { r->sentdate, r->sent_tz };
    ls_date_format_imap(&d1, idate, sizeof idate);
    ls_date_format_imap(&d2, sdate, sizeof sdate);
    ls__guid_format(r->guid, guid);
    if (r->sysflags & LS_REC_EXPUNGED) {
        ls__say(c, "record uid=%u EXPUNGED modseq=%llu expunged_at=%u guid=%s", uid, (unsigned long long)r->modseq,
               r->expunged_at, guid);
        return 0;
    }
    ls__say(c, "record uid=%u modseq=%llu flags=(%s) size=%llu header_size=%u body_lines=%u internaldate=\"%s\" "
              "sentdate=\"%s\" guid=%s",
           uid, (unsigned long long)r->modseq, fl, (unsigned long long)r->size, r->header_size, r->body_lines, idate,
           r->sentdate ? sdate : "", guid);
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, x->uuid, uid);
    MDB_val v, vx;
    ls_cache_view view;
    int got = ls__db_get(x->t, LS_DB_CACHE, key, sizeof key, &v) == LS_OK &&
              ls__db_get(x->t, LS_DB_CACHEX, key, sizeof key, &vx) == LS_OK;
    if (!got) {
        ls__say(c, "  cache MISSING");
        ls_error_clear();
        return 0;
    }
    if (ls__cache_get(x->t, key, ~0u, &view) != LS_OK) {
        ls__say(c, "  cache DAMAGED (%zu + %zu bytes)", v.mv_size, vx.mv_size);
        ls_error_clear();
        return 0;
    }
    ls__say(c, "  cache %zu + %zu bytes", v.mv_size, vx.mv_size);
    ls__say(c, "  envelope %.*s", (int)view.len[LS_CF_ENVELOPE], view.f[LS_CF_ENVELOPE] ? view.f[LS_CF_ENVELOPE] : "");
    ls__say(c, "  bodystructure %.*s", (int)view.len[LS_CF_BODYSTRUCTURE],
           view.f[LS_CF_BODYSTRUCTURE] ? view.f[LS_CF_BODYSTRUCTURE] : "");
    ls__say(c, "  body %.*s", (int)view.len[LS_CF_BODY], view.f[LS_CF_BODY] ? view.f[LS_CF_BODY] : "");
    ls_mime_part *parts;
    size_t np;
    if (view.f[LS_CF_PARTS] &&
        ls__mime_parts_decode((const uint8_t *)view.f[LS_CF_PARTS], view.len[LS_CF_PARTS], r->size, &parts, &np) == LS_OK) {
        for (size_t i = 0; i < np; i++)
            ls__say(c, "  part \"%s\" kind=%u header=%llu+%llu body=%llu+%llu", parts[i].section, parts[i].kind,
                   (unsigned long long)parts[i].hdr_off, (unsigned long long)parts[i].hdr_len,
                   (unsigned long long)parts[i].body_off, (unsigned long long)parts[i].body_len);
        free(parts);
    }
    if (view.f[LS_CF_FIELDS]) {
        /* the cached header lines, one report line each */
        const char *p = view.f[LS_CF_FIELDS], *end = p + view.len[LS_CF_FIELDS];
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = (size_t)((nl ? nl : end) - p);
            if (l && p[l - 1] == '\r')
                l--;
            ls__say(c, "  field %.*s", (int)l, p);
            p = nl ? nl + 1 : end;
        }
    }
    ls__cache_view_free(&view);
    ls_error_clear();
    return 0;
}

int ls_repair_examine(ls_store *st, const char *mailbox, ls_repair_report_cb cb, void *arg)
{
    ls_rctx c = { .st = st, .cb = cb, .arg = arg };
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, mailbox, &m)) == LS_OK) {
        const ls_mbstate *s = &m.state;
        ls__say(&c, "mailbox %s", m.name);
        ls__say(&c, "uniqueid %s partition %s uidvalidity %u", m.ref.uuidstr, m.entry.partition, s->uidvalidity);
        ls__say(&c, "acl %s", m.entry.acl);
        ls__say(&c, "header uidnext=%u highestmodseq=%llu exists=%u unseen=%u deleted=%u flagged=%u answered=%u "
                   "size=%llu recentuid=%u recent=%u tombstones=%u deletedmodseq=%llu",
               s->uidnext, (unsigned long long)s->highestmodseq, s->exists, s->unseen, s->deleted, s->flagged,
               s->answered, (unsigned long long)s->size, s->recentuid, s->recent, s->tombstones,
               (unsigned long long)s->deletedmodseq);
        struct ex_ctx x = { &c, &t, m.entry.uuid, NULL, 0 };
        if (ls__keywords_load(&t, m.entry.uuid, &x.kw, &x.nkw) == LS_OK && x.nkw) {
            char line[8192];
            size_t n = 0;
            line[0] = 0;
            for (size_t i = 0; i < x.nkw && n < sizeof line; i++)
                n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i ? " " : "", x.kw[i]);
            ls__say(&c, "keywords %s", line);
        }
        ls_error_clear();
        rc = ls__rec_foreach(&t, m.entry.uuid, 1, ex_record, &x);
        ls__keywords_free(x.kw, x.nkw);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    free(c.held);
    return rc;
}

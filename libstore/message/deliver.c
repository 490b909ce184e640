/*
 * Delivery of one message to many recipients (LMTP RCPT TO x N).
 *
 * The bytes are written once per partition; each recipient's mailbox gets a
 * hard link under its own UID. Recipients are processed in chunks: the
 * chunk's mailboxes are locked in unique-id order (so two deliveries never
 * deadlock), linked, made durable with one syncfs, and committed in one
 * transaction in which each recipient succeeds or fails on its own.
 */
#include "message/message_impl.h"
#include "model/names.h"
#include "model/sis.h"
#include "core/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELIVER_CHUNK 256   /* mailbox locks (file descriptors) held at once */

typedef struct rcpt {
    size_t idx;              /* index into users/results */
    ls_placement pl;
    int lockfd;
    int same_as_prev;        /* same mailbox as the previous rcpt (sorted) */
} rcpt;

static int cmp_rcpt(const void *a, const void *b)
{
    const rcpt *x = a, *y = b;
    int c = memcmp(x->pl.ref.uuid, y->pl.ref.uuid, LS_UUID_LEN);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static void fail(ls_deliver_result *r, int code)
{
    r->code = code;
    snprintf(r->error, sizeof r->error, "%s", ls_error_last());
}

/* One staged copy per partition. A partition whose staging failed (full,
 * unwritable) keeps its error: every recipient on it gets that error, and
 * none is placed from a copy that does not exist. */
typedef struct part_src {
    const char *partition;
    ls_staged *staged;
    int stage_rc;            /* the staging error, LS_OK once staged */
    char stage_err[256];
} part_src;

static part_src *source_for(ls_store *st, part_src *srcs, size_t *nsrc, const char *partition,
                            const ls_prepared *msg, int *rc)
{
    part_src *s = NULL;
    for (size_t i = 0; i < *nsrc && !s; i++)
        if (!strcmp(srcs[i].partition, partition))
            s = &srcs[i];
    if (!s) {
        s = &srcs[(*nsrc)++];
        memset(s, 0, sizeof *s);
        s->partition = partition;
        s->stage_rc = st->layout->ops->stage(st->layout, partition, msg->data, msg->len, msg->date.t, 0, &s->staged);
        if (s->stage_rc)
            snprintf(s->stage_err, sizeof s->stage_err, "%s", ls_error_last());
    }
    if (s->stage_rc) {
        *rc = ls__err(s->stage_rc, "%s", s->stage_err);
        return NULL;
    }
    return s;
}

static int deliver_chunk(ls_store *st, rcpt *r, size_t n, const ls_prepared *msg, part_src *srcs, size_t *nsrc)
{
    const ls_layout_ops *ops = st->layout->ops;
    uint32_t next = 0;
    int mbox_rc = LS_OK;   /* lock/adoption result of the current mailbox */
    char mbox_err[256] = "";
    for (size_t i = 0; i < n; i++) {
        ls_placement *p = &r[i].pl;
        r[i].lockfd = -1;
        if (p->code)
            continue;
        int rc = LS_OK;
        if (!r[i].same_as_prev) {
            if ((mbox_rc = ls__mbox_lock(st, p->ref.uuidstr, &r[i].lockfd)) == LS_OK)
                mbox_rc = ls__adopt_leftovers(st, &p->ref, &next);
            snprintf(mbox_err, sizeof mbox_err, "%s", mbox_rc ? ls_error_last() : "");
        }
        if (mbox_rc) {
            p->code = mbox_rc;
            snprintf(p->error, sizeof p->error, "%s", mbox_err);
            continue;
        }
        p->uid = next++;
        if (st->cfg->singleinstancestore) {
            part_src *src = source_for(st, srcs, nsrc, p->ref.partition, msg, &rc);
            if (!rc)
                rc = ops->place(st->layout, src->staged, &p->ref, p->uid);
        } else {
            /* singleinstancestore: no - every recipient its own file */
            ls_staged *own;
            if ((rc = ops->stage(st->layout, p->ref.partition, msg->data, msg->len, msg->date.t, 0, &own)) == LS_OK) {
                rc = ops->place(st->layout, own, &p->ref, p->uid);
                ops->unstage(st->layout, own);
            }
            if (!rc && !*nsrc) /* remember the partition for the syncfs below */
                srcs[(*nsrc)++].partition = p->ref.partition;
            else if (!rc) {
                size_t k;
                for (k = 0; k < *nsrc && strcmp(srcs[k].partition, p->ref.partition); k++)
                    ;
                if (k == *nsrc)
                    srcs[(*nsrc)++].partition = p->ref.partition;
            }
        }
        if (rc) {
            p->code = rc;
            snprintf(p->error, sizeof p->error, "%s", ls_error_last());
            /* later recipients in the same mailbox must not skip this UID's
             * slot: give them the UID this one would have had */
            next--;
            continue;
        }
        p->placed = 1;
    }
    /* one syncfs per partition makes every link (and the staged bytes) durable */
    int rc = LS_OK;
    for (size_t i = 0; i < *nsrc && !rc; i++)
        rc = ops->sync_partition(st->layout, srcs[i].partition);
    if (!rc) {
        /* commit the placed ones; each recipient on its own */
        ls_placement *pl = malloc(n * sizeof *pl);
        size_t m = 0;
        if (!pl) {
            rc = ls__err(LS_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++)
                if (r[i].pl.placed)
                    pl[m++] = r[i].pl;
            rc = m ? ls__commit_placements(st, pl, m, 1, NULL) : LS_OK;
            for (size_t i = 0, j = 0; i < n; i++)
                if (r[i].pl.placed)
                    r[i].pl = pl[j++];
            free(pl);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (r[i].pl.placed) {
                ops->unplace(st->layout, &r[i].pl.ref, r[i].pl.uid);
                r[i].pl.code = rc;
                snprintf(r[i].pl.error, sizeof r[i].pl.error, "%s", ls_error_last());
            }
    }
    for (size_t i = 0; i < n; i++) {
        if (r[i].lockfd >= 0) {
            ls__mbox_unlock(r[i].lockfd);
            ls__mbox_notify(st, r[i].pl.ref.uuidstr);
        }
    }
    return LS_OK;
}

int ls_message_deliver(ls_session *s, const void *msg, size_t len, const char *const *users, size_t n,
                       const char *folder, const ls_append_opts *opts, ls_deliver_result *results)
{
    ls_store *st = s->st;
    char sep = st->cfg->sep;
    if (n == 0)
        return LS_OK;
    memset(results, 0, n * sizeof *results);
    int rc = ls__append_opts_check(opts, "ls_message_deliver");
    if (rc)
        return rc;
    ls_append_opts o = LS_APPEND_OPTS_INIT;
    if (opts)
        o = *opts;
    rc = ls__check_keywords(o.keywords, o.nkeywords);
    if (rc)
        return rc;
    if (!ls__env_refill_reserve(st->env))
        rc = ls__err(LS_ENOSPC, "the metadata disk is full (%s): room is kept for expunge and delete",
                    st->cfg->configdirectory);
    for (size_t i = 0; !rc && i < st->cfg->npartitions; i++)
        if (!st->layout->ops->reserve_refill(st->layout, st->cfg->partitions[i].name))
            rc = ls__err(LS_ENOSPC, "partition '%s' is full: room is kept for cleanup", st->cfg->partitions[i].name);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            fail(&results[i], rc);
        return rc;
    }
    ls_prepared pm;
    if ((rc = ls__prepare(st, msg, len, o.internaldate, &pm))) {
        for (size_t i = 0; i < n; i++)
            fail(&results[i], rc);
        return rc;
    }
    rcpt *r = calloc(n, sizeof *r);
    part_src *srcs = calloc(st->cfg->npartitions + 1, sizeof *srcs);
    if (!r || !srcs) {
        free(r);
        free(srcs);
        ls__prepared_free(&pm);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    /* resolve each recipient's mailbox, and check rights */
    ls_txn t;
    if ((rc = ls__txn_read(st->env, &t)) == LS_OK) {
        for (size_t i = 0; i < n; i++) {
            ls_placement *p = &r[i].pl;
            r[i].idx = i;
            p->msg = &pm;
            p->flags = o.flags;
            p->keywords = o.keywords;
            p->nkeywords = o.nkeywords;
            char *name = NULL;
            int vrc = ls__user_validate(users[i], sep);
            if (!vrc) {
                name = folder ? ls__strprintf("user%c%s%c%s", sep, users[i], sep, folder)
                              : ls__strprintf("user%c%s", sep, users[i]);
                vrc = name ? ls_name_validate(name, sep) : ls__err(LS_ENOMEM, "out of memory");
            }
            ls_mbox m;
            if (!vrc && (vrc = ls__mbox_load(&t, name, &m)) == LS_OK) {
                unsigned need = LS_RIGHT_P | ls__flag_rights(o.flags, o.nkeywords);
                vrc = ls__require(s, &m, need, "deliver");
                snprintf(p->partition, sizeof p->partition, "%s", m.entry.partition);
                ls__mbref_set(&p->ref, m.entry.uuid, p->partition);
                ls__mbox_clear(&m);
            }
            if (vrc == LS_ENOTFOUND)
                vrc = ls__err(LS_ENOTFOUND, "no such mailbox '%s'", name ? name : users[i]);
            p->name = name;
            if (vrc) {
                p->code = vrc;
                snprintf(p->error, sizeof p->error, "%s", ls_error_last());
            }
        }
        ls__txn_end(&t);
    }
    if (!rc) {
        qsort(r, n, sizeof *r, cmp_rcpt);
        for (size_t i = 0; i < n; i++) /* qsort moved the buffers the refs point into */
            r[i].pl.ref.partition = r[i].pl.partition;
        for (size_t i = 1; i < n; i++)
            r[i].same_as_prev = !r[i].pl.code && !r[i - 1].pl.code &&
                                !memcmp(r[i].pl.ref.uuid, r[i - 1].pl.ref.uuid, LS_UUID_LEN);
        size_t nsrc = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && (j - i < DELIVER_CHUNK || r[j].same_as_prev))
                j++;
            deliver_chunk(st, r + i, j - i, &pm, srcs, &nsrc);
            i = j;
        }
        for (size_t k = 0; k < nsrc; k++)
            st->layout->ops->unstage(st->layout, srcs[k].staged);
    }
    int first = LS_OK;
    for (size_t i = 0; i < n; i++) {
        ls_deliver_result *res = &results[r[i].idx];
        res->code = rc ? rc : r[i].pl.code;
        res->uid = res->code ? 0 : r[i].pl.uid;
        snprintf(res->error, sizeof res->error, "%s", res->code ? (rc ? ls_error_last() : r[i].pl.error) : "");
        free(r[i].pl.name);
    }
    for (size_t i = 0; i < n; i++)
        if (results[i].code && !first) {
            first = results[i].code;
            ls__err(first, "%s", results[i].error);
        }
    free(r);
    free(srcs);
    ls__prepared_free(&pm);
    return first;
}

/*
 * APPEND: one message, or many in one transaction.
 *
 * The order of steps is what makes docs/contract.md §2 hold:
 *   1. normalize, hash and parse (no lock held);
 *   2. find identical content on the partition (single instance) or write
 *      the bytes to a temporary file (no lock held);
 *   3. take the mailbox's append lock; adopt crash leftovers; UID = UIDNEXT;
 *   4. give the file its final name (link), and make it durable;
 *   5. one short LMDB write transaction; commit; release the lock.
 * A crash before 5 leaves at most complete files at UIDNEXT and above,
 * adopted later; except those of a batch, which records its UID range first
 * and whose files are removed instead (batch_intent.c: all or none).
 *
 * A batch of many messages (append_many) takes the lock first and runs
 * steps 1, 2 and 4's link for each message in two threads (batch_run), then
 * makes everything durable at once (one syncfs) and commits.
 */
#include "message/message_impl.h"
#include "model/sis.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rights an append needs for the flags it sets (RFC 4314 §4). */
unsigned ls__flag_rights(unsigned flags, size_t nkeywords)
{
    unsigned need = 0;
    if (flags & LS_FLAG_SEEN)
        need |= LS_RIGHT_S;
    if (flags & LS_FLAG_DELETED)
        need |= LS_RIGHT_T;
    if ((flags & ~(unsigned)(LS_FLAG_SEEN | LS_FLAG_DELETED)) || nkeywords)
        need |= LS_RIGHT_W;
    return need;
}

int ls__check_keywords(const char *const *kw, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!kw[i] || !ls_flag_keyword_valid(kw[i]))
            return ls__err(LS_EINVAL, "invalid keyword '%s'", kw[i] ? kw[i] : "(null)");
    return LS_OK;
}

typedef struct item_state {
    ls_prepared msg;
    ls_staged *staged;
    int has_holder;
    ls_mbref holder;
    char holder_part[64];
    uint32_t holder_uid;
} item_state;

/* Single instance: note the holder of content already on the partition. */
static void find_holder(ls_txn *t, const ls_mbref *ref, item_state *it)
{
    uint8_t huuid[LS_UUID_LEN];
    if (ls__sis_find(t, ref->partition, it->msg.guid, it->msg.date.t, huuid, &it->holder_uid) == LS_OK) {
        snprintf(it->holder_part, sizeof it->holder_part, "%s", ref->partition);
        ls__mbref_set(&it->holder, huuid, it->holder_part);
        it->has_holder = 1;
    } else {
        ls_error_clear();
    }
}

/* Stage bytes for an item unless an identical file can be linked. */
static int stage_item(ls_store *st, ls_txn *t, const ls_mbref *ref, item_state *it, int sync)
{
    if (st->cfg->singleinstancestore) {
        find_holder(t, ref, it);
        if (it->has_holder)
            return LS_OK;
    }
    return st->layout->ops->stage(st->layout, ref->partition, it->msg.data, it->msg.len, it->msg.date.t, sync,
                                  &it->staged);
}

/* Give an item its final name: link to the holder, else the staged file. */
static int place_item(ls_store *st, const ls_mbref *ref, item_state *it, uint32_t uid, int sync)
{
    const ls_layout_ops *ops = st->layout->ops;
    if (it->has_holder) {
        int rc = ops->share(st->layout, &it->holder, it->holder_uid, ref, uid);
        if (rc != LS_ENOTFOUND)
            return rc;
        /* the holder went away since we looked: write our own copy */
        ls_error_clear();
        it->has_holder = 0;
        if (!it->staged &&
            (rc = ops->stage(st->layout, ref->partition, it->msg.data, it->msg.len, it->msg.date.t, sync, &it->staged)))
            return rc;
    }
    return ops->place(st->layout, it->staged, ref, uid);
}

/* Normalize, hash and parse one message (no lock, no LMDB). */
static int append_prepare(ls_store *st, const ls_append_item *item, item_state *it)
{
    return ls__prepare(st, item->msg, item->len, item->opts.internaldate, &it->msg);
}

/* A batch is CPU-bound: SHA-256, the MIME parse and the file system calls
 * of each message. Two threads share it, each claiming the next message,
 * so that one thread's system calls overlap the other's hashing. The append
 * lock is taken before they start (UIDs are known), so linking happens in
 * the threads too; the lock is held longer, but only appends to the same
 * mailbox wait for it, and they would wait for this commit anyway.
 *
 * Invariant: the files a batch has placed are always the UIDs
 * uid0 .. uid0 + placed - 1, a run without gaps from UIDNEXT. A crash then
 * leaves leftovers that ls__adopt_leftovers finds (it walks up from UIDNEXT
 * and stops at the first missing UID); a gap would hide the files above it
 * and make the next append's link fail on them. The threads finish
 * messages out of order, so placing is in order: whoever finishes message
 * `placed` places it and every following message already finished. */
struct batch_job {
    ls_store *st;
    const ls_mbref *ref;
    ls_append_item *items;
    item_state *its;
    ls_placement *pl;
    size_t n;
    size_t next;        /* the next message to claim (atomic) */
    int failed;         /* set by the first thread that fails (atomic) */
    pthread_mutex_t mu; /* guards ready[] and placed */
    unsigned char *ready;
    size_t placed;
};

struct batch_thread {
    struct batch_job *job;
    int rc;
    char err[256];
};

/* Mark message i ready, then place every ready message from `placed` on. */
static int place_in_order(struct batch_job *j, size_t i)
{
    int rc = LS_OK;
    pthread_mutex_lock(&j->mu);
    j->ready[i] = 1;
    while (!rc && j->placed < j->n && j->ready[j->placed] && !__atomic_load_n(&j->failed, __ATOMIC_RELAXED)) {
        size_t k = j->placed;
        if ((rc = place_item(j->st, j->ref, &j->its[k], j->pl[k].uid, 0)) == LS_OK) {
            j->pl[k].placed = 1;
            j->placed++;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

/* One message of a batch, in a worker thread: prepare and stage it
 * (unsynced), look for its content on the partition, then place it (in
 * order, see above) under the append lock the caller holds. A duplicate
 * has been staged for nothing: rare within appends, and staging first keeps
 * the lookup next to the placement. */
static int batch_item(struct batch_job *j, ls_txn *t, size_t i)
{
    ls_store *st = j->st;
    item_state *it = &j->its[i];
    int rc = append_prepare(st, &j->items[i], it);
    if (!rc)
        rc = st->layout->ops->stage(st->layout, j->ref->partition, it->msg.data, it->msg.len, it->msg.date.t, 0,
                                    &it->staged);
    if (rc)
        return rc;
    if (t)
        find_holder(t, j->ref, it);
    return place_in_order(j, i);
}

static void *batch_worker(void *arg)
{
    struct batch_thread *me = arg;
    struct batch_job *j = me->job;
    ls_txn t, *tp = NULL;
    if (j->st->cfg->singleinstancestore && !(me->rc = ls__txn_read(j->st->env, &t)))
        tp = &t;
    while (!me->rc && !__atomic_load_n(&j->failed, __ATOMIC_RELAXED)) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n)
            break;
        me->rc = batch_item(j, tp, i);
    }
    ls__txn_end(tp);
    if (me->rc) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        snprintf(me->err, sizeof me->err, "%s", ls_error_last());
    }
    return NULL;
}

static int batch_run(struct batch_job *j)
{
    if (!(j->ready = calloc(j->n, 1)))
        return ls__err(LS_ENOMEM, "out of memory");
    pthread_mutex_init(&j->mu, NULL);
    struct batch_thread mine = { .job = j }, other = { .job = j };
    pthread_t th;
    int threaded = pthread_create(&th, NULL, batch_worker, &other) == 0;
    batch_worker(&mine);
    if (threaded)
        pthread_join(th, NULL);
    pthread_mutex_destroy(&j->mu);
    free(j->ready);
    if (mine.rc)
        return ls__err(mine.rc, "%s", mine.err);
    if (threaded && other.rc)
        return ls__err(other.rc, "%s", other.err);
    if (j->placed != j->n) /* cannot happen: every message was placed or a thread failed */
        return ls__err(LS_EIO, "batch append: %zu of %zu messages placed", j->placed, j->n);
    return LS_OK;
}

/* Below this many messages a second thread costs more than it saves. */
#define BATCH_THREADED_MIN 16

static int append_items(ls_mailbox *mb, ls_append_item *items, size_t n, int batch)
{
    ls_store *st = mb->s->st;
    const ls_layout_ops *ops = st->layout->ops;
    unsigned need = LS_RIGHT_I;
    int rc = LS_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        need |= ls__flag_rights(items[i].opts.flags, items[i].opts.nkeywords);
        rc = ls__check_keywords(items[i].opts.keywords, items[i].opts.nkeywords);
        if (!rc && (items[i].opts.flags & ~LS_FLAG_ALL))
            rc = ls__err(LS_EINVAL, "unknown flag bits 0x%x", items[i].opts.flags);
    }
    if (rc)
        return rc;
    if (!ls__env_refill_reserve(st->env))
        return ls__err(LS_ENOSPC, "the metadata disk is full (%s): room is kept for expunge and delete",
                      st->cfg->configdirectory);
    if (!ops->reserve_refill(st->layout, mb->ref.partition))
        return ls__err(LS_ENOSPC, "partition '%s' is full: room is kept for cleanup", mb->ref.partition);
    item_state *its = calloc(n ? n : 1, sizeof *its);
    ls_placement *pl = calloc(n ? n : 1, sizeof *pl);
    if (!its || !pl) {
        free(its);
        free(pl);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    int threaded = batch && n >= BATCH_THREADED_MIN;

    /* unthreaded: hash and parse outside any transaction (a large message
     * must not pin a read snapshot while it is parsed) */
    for (size_t i = 0; i < n && !rc && !threaded; i++)
        rc = append_prepare(st, &items[i], &its[i]);
    /* rights before anything is written; unthreaded, each message looks
     * for identical content before it writes, so that a duplicate writes
     * nothing (a batch does both in its threads, batch_item) */
    ls_txn t;
    if (!rc && !(rc = ls__txn_read(st->env, &t))) {
        ls_mbox m;
        rc = ls__mailbox_reload(mb, &t, &m, need, "append");
        if (!rc)
            ls__mbox_clear(&m);
        for (size_t i = 0; i < n && !rc && !threaded; i++)
            rc = stage_item(st, &t, &mb->ref, &its[i], !batch);
        ls__txn_end(&t);
    }

    int lockfd = -1;
    uint32_t uid = 0;
    if (!rc)
        rc = ls__mbox_lock(st, mb->ref.uuidstr, &lockfd);
    if (!rc)
        rc = ls__adopt_leftovers(st, &mb->ref, &uid);
    /* a batch is all or none across a crash too (batch_intent.c) */
    int intent = batch && n > 1;
    if (!rc && intent && (rc = ls__batch_intent_begin(st, &mb->ref, uid, n)))
        intent = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        ls_placement *p = &pl[i];
        p->ref = mb->ref;
        p->name = mb->name;
        p->uid = uid + (uint32_t)i;
        p->msg = &its[i].msg;
        p->flags = items[i].opts.flags;
        p->keywords = items[i].opts.keywords;
        p->nkeywords = items[i].opts.nkeywords;
    }
    if (!rc && threaded) {
        struct batch_job j = { .st = st, .ref = &mb->ref, .items = items, .its = its, .pl = pl, .n = n };
        rc = batch_run(&j);
    }
    for (size_t i = 0; i < n && !rc && !threaded; i++)
        if ((rc = place_item(st, &mb->ref, &its[i], pl[i].uid, !batch)) == LS_OK)
            pl[i].placed = 1;
    if (!rc)
        rc = batch ? ops->sync_partition(st->layout, mb->ref.partition) : ops->sync_mailbox(st->layout, &mb->ref);
    if (!rc)
        rc = ls__commit_placements(st, pl, n, 0, mb->s);
    else
        for (size_t i = 0; i < n; i++)
            if (pl[i].placed)
                ops->unplace(st->layout, &mb->ref, pl[i].uid);
    if (intent)
        ls__batch_intent_end(st, &mb->ref);
    if (lockfd >= 0) {
        ls__mbox_unlock(lockfd);
        if (!rc)
            ls__mbox_notify(st, mb->ref.uuidstr);
    }
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            items[i].uid = pl[i].uid;
        ops->unstage(st->layout, its[i].staged);
        ls__prepared_free(&its[i].msg);
    }
    free(its);
    free(pl);
    return rc;
}

/* \Seen set by an append of a user whose seen state is private goes to
 * that user's state (after the append's commit: it needs the UIDs). */
static int private_seen(ls_mailbox *mb, ls_append_item *items, size_t n)
{
    if (!mb->s->identity || (mb->owner && !strcmp(mb->owner, mb->s->identity)))
        return LS_OK;
    uidlist l = { 0 };
    int rc = LS_OK;
    for (size_t i = 0; i < n && !rc; i++)
        if (items[i].opts.flags & LS_FLAG_SEEN)
            rc = ls__uidlist_add(&l, items[i].uid);
    ls_set set;
    if (!rc && l.n && !(rc = ls__set_from_uids(l.v, l.n, &set))) {
        rc = ls_message_store(mb, &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_SEEN }, NULL);
        ls_set_dispose(&set);
    }
    free(l.v);
    return rc;
}

/* The record keeps the owner's \Seen only. */
static void strip_private_seen(ls_mailbox *mb, ls_append_item *items, size_t n, unsigned *saved)
{
    int priv = mb->s->identity && !(mb->owner && !strcmp(mb->owner, mb->s->identity));
    for (size_t i = 0; i < n; i++) {
        saved[i] = items[i].opts.flags;
        if (priv)
            items[i].opts.flags &= ~(unsigned)LS_FLAG_SEEN;
    }
}

static int append_with_seen(ls_mailbox *mb, ls_append_item *items, size_t n, int batch)
{
    unsigned one, *saved = n == 1 ? &one : malloc(n * sizeof *saved);
    if (!saved)
        return ls__err(LS_ENOMEM, "out of memory");
    strip_private_seen(mb, items, n, saved);
    /* rights are those of the flags asked for, \Seen included */
    unsigned need = 0;
    for (size_t i = 0; i < n; i++)
        need |= saved[i] & LS_FLAG_SEEN;
    int rc = LS_OK;
    if (need && mb->s->identity) {
        ls_txn t;
        if ((rc = ls__txn_read(mb->s->st->env, &t)) == LS_OK) {
            ls_mbox m;
            if ((rc = ls__mailbox_reload(mb, &t, &m, LS_RIGHT_S, "append")) == LS_OK)
                ls__mbox_clear(&m);
            ls__txn_end(&t);
        }
    }
    if (!rc)
        rc = append_items(mb, items, n, batch);
    for (size_t i = 0; i < n; i++)
        items[i].opts.flags = saved[i];
    if (saved != &one)
        free(saved);
    if (rc)
        return rc;
    /* The messages are stored: report success even if recording the
     * private \Seen fails (a retry would store them twice). */
    if (private_seen(mb, items, n) != LS_OK)
        ls_error_clear();
    return LS_OK;
}

int ls_message_append(ls_mailbox *mb, const void *msg, size_t len, const ls_append_opts *opts, uint32_t *uid)
{
    ls_append_item it = { .msg = msg, .len = len };
    int rc = ls__append_opts_check(opts, "ls_message_append");
    if (rc)
        return rc;
    if (opts)
        it.opts = *opts;
    rc = append_with_seen(mb, &it, 1, 0);
    if (uid)
        *uid = it.uid;
    return rc;
}

int ls_message_append_many(ls_mailbox *mb, ls_append_item *items, size_t n)
{
    if (n == 0)
        return LS_OK;
    for (size_t i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "ls_message_append_many: item %zu", i);
        int rc = ls__append_opts_check(&items[i].opts, what);
        if (rc)
            return rc;
    }
    return append_with_seen(mb, items, n, 1);
}

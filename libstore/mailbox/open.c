/* Opening a mailbox; STATUS; facts; waiting for changes (IDLE). */
#include "store_impl.h"
#include "model/names.h"
#include "model/records.h"
#include "model/seen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct recent_ctx { uint32_t n; };
static int count_recent(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    if (r && !(r->sysflags & LS_REC_EXPUNGED))
        ((struct recent_ctx *)arg)->n++;
    return 0;
}

static int status_of(ls_txn *t, const ls_session *s, const ls_mbox *m, ls_status *out)
{
    memset(out, 0, sizeof *out);
    const ls_mbstate *st = &m->state;
    out->messages = st->exists;
    out->uidnext = st->uidnext;
    out->uidvalidity = st->uidvalidity;
    out->unseen = st->unseen;
    out->deleted = st->deleted;
    out->flagged = st->flagged;
    out->answered = st->answered;
    out->highestmodseq = st->highestmodseq;
    out->size = st->size;
    out->deletedmodseq = st->deletedmodseq;
    out->recent = st->recent;
    const char *user = ls__seen_user(s, m->name);
    if (user) {
        /* private seen state: UNSEEN from its count (constant time); RECENT
         * from the messages above the user's recentuid */
        ls_seen sn;
        int rc = ls__seen_load(t, m->entry.uuid, user, &sn);
        if (rc)
            return rc;
        out->unseen = st->exists > sn.count ? st->exists - sn.count : 0;
        if (sn.modseq > out->highestmodseq)
            out->highestmodseq = sn.modseq; /* the user's own private changes */
        struct recent_ctx rc2 = { 0 };
        if (sn.recentuid + 1 < st->uidnext)
            rc = ls__rec_foreach(t, m->entry.uuid, sn.recentuid + 1, count_recent, &rc2);
        out->recent = rc2.n;
        ls__seen_free(&sn);
        return rc;
    }
    return LS_OK;
}

int ls_mailbox_status(ls_session *s, const char *name, ls_status *out)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, name, &m)) == LS_OK) {
        rc = ls__require(s, &m, LS_RIGHT_R, "status");
        if (!rc)
            rc = status_of(&t, s, &m, out);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

int ls_mailbox_get_info(ls_session *s, const char *name, ls_mailbox_info *out)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, name, &m)) == LS_OK) {
        rc = ls__require(s, &m, LS_RIGHT_L, "info");
        if (!rc) {
            memcpy(out->uniqueid, m.ref.uuidstr, sizeof out->uniqueid);
            snprintf(out->partition, sizeof out->partition, "%s", m.entry.partition);
            out->uidvalidity = m.state.uidvalidity;
        }
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

int ls_mailbox_path(ls_session *s, const char *name, char **out)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, name, &m)) == LS_OK) {
        rc = ls__require(s, &m, LS_RIGHT_L, "path");
        if (!rc)
            rc = s->st->layout->ops->mailbox_path(s->st->layout, &m.ref, out);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

int ls_mailbox_open(ls_session *s, const char *name, unsigned flags, ls_mailbox **out)
{
    *out = NULL;
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    rc = ls__mbox_load(&t, name, &m);
    if (rc == LS_ENOTFOUND) {
        /* a name between mailboxes is \Noselect, not missing */
        char **kids;
        size_t nk;
        if (ls__mbox_children(&t, name, s->st->cfg->sep, &kids, &nk) == LS_OK && nk) {
            /* \Noselect only when the session may see a mailbox below it:
             * hidden children must not reveal that the name exists */
            int visible = 0;
            for (size_t i = 0; i < nk && !visible; i++) {
                ls_mbox k;
                if (ls__mbox_load(&t, kids[i], &k) == LS_OK) {
                    visible = (ls__rights(s, k.name, k.entry.acl) & LS_RIGHT_L) != 0;
                    ls__mbox_clear(&k);
                }
            }
            rc = visible ? ls__err(LS_ENOSELECT, "'%s' is not a selectable mailbox (\\Noselect)", name)
                         : ls__err(LS_ENOTFOUND, "mailbox '%s' does not exist", name);
            ls__names_free(kids, nk);
        }
    }
    if (!rc) {
        rc = ls__require(s, &m, LS_RIGHT_R, "select");
        ls_mailbox *mb = rc ? NULL : calloc(1, sizeof *mb);
        if (!rc && !mb)
            rc = ls__err(LS_ENOMEM, "out of memory");
        if (!rc) {
            mb->s = s;
            snprintf(mb->partition, sizeof mb->partition, "%s", m.entry.partition);
            ls__mbref_set(&mb->ref, m.entry.uuid, mb->partition);
            mb->name = m.name;
            m.name = NULL;
            ls__name_owner(mb->name, s->st->cfg->sep, &mb->owner);
            mb->rdonly = (flags & LS_MAILBOX_OPEN_RDONLY) || s->st->rdonly;
            mb->uidvalidity = m.state.uidvalidity;
            rc = ls__keywords_load(&t, m.entry.uuid, &mb->keywords, &mb->nkeywords);
            if (rc)
                ls_mailbox_close(mb);
            else
                *out = mb;
        }
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

void ls_mailbox_close(ls_mailbox *mb)
{
    if (!mb)
        return;
    ls_mailbox_unwatch(mb);
    free(mb->recent);
    ls__keywords_free(mb->keywords, mb->nkeywords);
    free(mb->name);
    free(mb->owner);
    free(mb);
}

ls_session *ls_mailbox_session(ls_mailbox *mb) { return mb->s; }

struct claim_args {
    ls_mailbox *mb;
    uint32_t claimed;
    uint32_t lo, hi;     /* the UIDs claimed: lo..hi (none when lo > hi) */
};
static int claim_txn(ls_txn *t, void *arg)
{
    struct claim_args *a = arg;
    a->claimed = 0;
    a->lo = 1;
    a->hi = 0;
    ls_mbox m;
    int rc = ls__mailbox_reload(a->mb, t, &m, LS_RIGHT_R, "select");
    if (rc)
        return rc;
    const char *user = ls__seen_user(a->mb->s, m.name);
    if (user) {
        ls_seen sn;
        if ((rc = ls__seen_load(t, m.entry.uuid, user, &sn)) == LS_OK) {
            struct recent_ctx cnt = { 0 };
            if (sn.recentuid + 1 < m.state.uidnext)
                rc = ls__rec_foreach(t, m.entry.uuid, sn.recentuid + 1, count_recent, &cnt);
            a->claimed = cnt.n;
            if (!rc && sn.recentuid + 1 < m.state.uidnext) {
                a->lo = sn.recentuid + 1;
                a->hi = m.state.uidnext - 1;
                sn.recentuid = m.state.uidnext - 1;
                rc = ls__seen_save(t, m.entry.uuid, user, &sn);
            }
            ls__seen_free(&sn);
        }
        ls__mbox_clear(&m);
        return rc;
    }
    a->claimed = m.state.recent;
    if (m.state.recentuid + 1 < m.state.uidnext || m.state.recent) {
        a->lo = m.state.recentuid + 1;
        a->hi = m.state.uidnext - 1;
        m.state.recentuid = m.state.uidnext - 1;
        m.state.recent = 0;
        rc = ls__mbstate_put(t, m.entry.uuid, &m.state);
    }
    ls__mbox_clear(&m);
    return rc;
}

/* Add lo..hi to the handle's \Recent ranges (claims only go upwards);
 * room for one more range has been reserved. */
static void recent_add(ls_mailbox *mb, uint32_t lo, uint32_t hi)
{
    if (lo > hi)
        return;
    if (mb->nrecent && mb->recent[mb->nrecent - 1].hi + 1 >= lo) {
        if (hi > mb->recent[mb->nrecent - 1].hi)
            mb->recent[mb->nrecent - 1].hi = hi;
        return;
    }
    mb->recent[mb->nrecent++] = (ls_range){ lo, hi };
}

int ls_mailbox_claim_recent(ls_mailbox *mb, uint32_t *recent)
{
    if (mb->rdonly)
        return ls__err(LS_EPERM, "mailbox '%s' is open read-only (EXAMINE does not claim \\Recent)", mb->name);
    /* room to note the claim first: once committed it must not be lost */
    ls_range *r = realloc(mb->recent, (mb->nrecent + 1) * sizeof *r);
    if (!r)
        return ls__err(LS_ENOMEM, "out of memory");
    mb->recent = r;
    struct claim_args a = { mb, 0, 1, 0 };
    int rc = ls__env_write(mb->s->st->env, LS_SYNC_FLAGS, claim_txn, &a);
    if (!rc)
        recent_add(mb, a.lo, a.hi);
    if (!rc && recent)
        *recent = a.claimed;
    return rc;
}

int ls_mailbox_recent(ls_mailbox *mb, ls_set *out)
{
    out->r = NULL;
    out->n = 0;
    if (!mb->nrecent)
        return LS_OK;
    if (!(out->r = malloc(mb->nrecent * sizeof *out->r)))
        return ls__err(LS_ENOMEM, "out of memory");
    memcpy(out->r, mb->recent, mb->nrecent * sizeof *out->r);
    out->n = mb->nrecent;
    return LS_OK;
}

int ls_mailbox_is_recent(const ls_mailbox *mb, uint32_t uid)
{
    for (size_t i = 0; i < mb->nrecent; i++)
        if (uid >= mb->recent[i].lo && uid <= mb->recent[i].hi)
            return 1;
    return 0;
}

/* Reload the mailbox by unique id in t (it may have been renamed), refresh
 * the handle's name, and check `need`. */
int ls__mailbox_reload(ls_mailbox *mb, ls_txn *t, ls_mbox *m, unsigned need, const char *what)
{
    int rc = ls__mbox_load_uuid(t, mb->ref.uuid, m);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ENOTFOUND, "mailbox '%s' no longer exists", mb->name);
    if (rc)
        return rc;
    if (strcmp(m->name, mb->name) != 0) {
        char *n = strdup(m->name);
        if (n) {
            free(mb->name);
            mb->name = n;
            free(mb->owner);
            mb->owner = NULL;
            ls__name_owner(mb->name, mb->s->st->cfg->sep, &mb->owner);
        }
    }
    if (need & (LS_RIGHT_I | LS_RIGHT_W | LS_RIGHT_S | LS_RIGHT_T | LS_RIGHT_E) && mb->rdonly) {
        ls__mbox_clear(m);
        return ls__err(LS_EPERM, "%s: mailbox '%s' is open read-only", what, mb->name);
    }
    rc = ls__require(mb->s, m, need, what);
    if (rc)
        ls__mbox_clear(m);
    return rc;
}

const char *ls_mailbox_name(ls_mailbox *mb)
{
    ls_txn t;
    if (ls__txn_read(mb->s->st->env, &t) == LS_OK) {
        ls_mbox m;
        if (ls__mbox_load_uuid(&t, mb->ref.uuid, &m) == LS_OK) {
            if (strcmp(m.name, mb->name)) {
                free(mb->name);
                mb->name = m.name;
                m.name = NULL;
            }
            ls__mbox_clear(&m);
        }
        ls__txn_end(&t);
    }
    return mb->name;
}

int ls_mailbox_status_open(ls_mailbox *mb, ls_status *out)
{
    ls_txn t;
    int rc = ls__txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mailbox_reload(mb, &t, &m, LS_RIGHT_R, "status")) == LS_OK) {
        rc = status_of(&t, mb->s, &m, out);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

const char *ls_mailbox_keyword(ls_mailbox *mb, unsigned i)
{
    if (i >= mb->nkeywords) {
        /* another session may have added keywords since we loaded them */
        ls_txn t;
        if (ls__txn_read(mb->s->st->env, &t) == LS_OK) {
            char **names;
            size_t n;
            if (ls__keywords_load(&t, mb->ref.uuid, &names, &n) == LS_OK) {
                ls__keywords_free(mb->keywords, mb->nkeywords);
                mb->keywords = names;
                mb->nkeywords = n;
            }
            ls__txn_end(&t);
        }
    }
    return i < mb->nkeywords ? mb->keywords[i] : NULL;
}

/* One look at the mailbox for a waiter: deleted (LS_EGONE), renamed since
 * the handle last saw its name, HIGHESTMODSEQ past `modseq`. */
static int probe(ls_mailbox *mb, uint64_t modseq, unsigned *what)
{
    *what = 0;
    ls_txn t;
    int rc = ls__txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    rc = ls__mbox_load_uuid(&t, mb->ref.uuid, &m);
    ls__txn_end(&t);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_EGONE, "mailbox '%s' has been deleted", mb->name);
    if (rc)
        return rc;
    if (m.state.highestmodseq > modseq)
        *what |= LS_WAIT_CHANGED;
    if (strcmp(m.name, mb->name) != 0) {
        *what |= LS_WAIT_RENAMED;
        free(mb->name);
        mb->name = m.name; /* the handle follows its mailbox */
        m.name = NULL;
        free(mb->owner);
        mb->owner = NULL;
        ls__name_owner(mb->name, mb->s->st->cfg->sep, &mb->owner);
    }
    ls__mbox_clear(&m);
    return LS_OK;
}

int ls_mailbox_watch(ls_mailbox *mb)
{
    if (mb->watched)
        return LS_OK;
    uint64_t gen;
    int rc = ls__watch_add(mb->s->st->watch, mb->ref.uuidstr, &gen);
    if (!rc)
        mb->watched = 1;
    return rc;
}

void ls_mailbox_unwatch(ls_mailbox *mb)
{
    if (mb && mb->watched) {
        ls__watch_remove(mb->s->st->watch, mb->ref.uuidstr);
        mb->watched = 0;
    }
}

int ls_store_watch_fd(ls_store *st, int *fd)
{
    return ls__watch_fd(st->watch, fd);
}

int ls_mailbox_changed(ls_mailbox *mb, uint64_t modseq, unsigned *what)
{
    *what = 0;
    ls__watch_drain(mb->s->st->watch);
    return probe(mb, modseq, what);
}

int ls_mailbox_wait(ls_mailbox *mb, uint64_t modseq, int timeout_ms, int *changed)
{
    *changed = 0;
    ls_watch *w = mb->s->st->watch;
    int rc = ls_mailbox_watch(mb);
    if (rc)
        return rc;
    /* the generation before the first look: a signal after it is seen */
    uint64_t gen = ls__watch_gen(w, mb->ref.uuidstr);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        unsigned what;
        if ((rc = probe(mb, modseq, &what)))
            return rc;
        if (what) {
            *changed = (int)what;
            return LS_OK;
        }
        int wait = timeout_ms;
        if (timeout_ms >= 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            long elapsed = (ts.tv_sec - start.tv_sec) * 1000 + (ts.tv_nsec - start.tv_nsec) / 1000000;
            if (elapsed >= timeout_ms)
                return LS_OK;
            wait = (int)(timeout_ms - elapsed);
        }
        ls__watch_sleep(w, mb->ref.uuidstr, &gen, wait);
    }
}

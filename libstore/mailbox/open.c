/* Opening a mailbox; STATUS; facts; waiting for changes (IDLE). */
#include "store_impl.h"
#include "model/names.h"
#include "model/records.h"
#include "model/seen.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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
    const char *user = ls_seen_user(s, m->name);
    if (user) {
        /* private seen state: UNSEEN from its count (constant time); RECENT
         * from the messages above the user's recentuid */
        ls_seen sn;
        int rc = ls_seen_load(t, m->entry.uuid, user, &sn);
        if (rc)
            return rc;
        out->unseen = st->exists > sn.count ? st->exists - sn.count : 0;
        if (sn.modseq > out->highestmodseq)
            out->highestmodseq = sn.modseq; /* the user's own private changes */
        struct recent_ctx rc2 = { 0 };
        if (sn.recentuid + 1 < st->uidnext)
            rc = ls_rec_foreach(t, m->entry.uuid, sn.recentuid + 1, count_recent, &rc2);
        out->recent = rc2.n;
        ls_seen_free(&sn);
        return rc;
    }
    return LS_OK;
}

int ls_mailbox_status(ls_session *s, const char *name, ls_status *out)
{
    ls_txn t;
    int rc = ls_txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls_mbox_load(&t, name, &m)) == LS_OK) {
        rc = ls_require(s, &m, LS_RIGHT_R, "status");
        if (!rc)
            rc = status_of(&t, s, &m, out);
        ls_mbox_clear(&m);
    }
    ls_txn_end(&t);
    return rc;
}

int ls_mailbox_get_info(ls_session *s, const char *name, ls_mailbox_info *out)
{
    ls_txn t;
    int rc = ls_txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls_mbox_load(&t, name, &m)) == LS_OK) {
        rc = ls_require(s, &m, LS_RIGHT_L, "info");
        if (!rc) {
            memcpy(out->uniqueid, m.ref.uuidstr, sizeof out->uniqueid);
            snprintf(out->partition, sizeof out->partition, "%s", m.entry.partition);
            out->uidvalidity = m.state.uidvalidity;
        }
        ls_mbox_clear(&m);
    }
    ls_txn_end(&t);
    return rc;
}

int ls_mailbox_path(ls_session *s, const char *name, char **out)
{
    ls_txn t;
    int rc = ls_txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls_mbox_load(&t, name, &m)) == LS_OK) {
        rc = ls_require(s, &m, LS_RIGHT_L, "path");
        if (!rc)
            rc = s->st->layout->ops->mailbox_path(s->st->layout, &m.ref, out);
        ls_mbox_clear(&m);
    }
    ls_txn_end(&t);
    return rc;
}

int ls_mailbox_open(ls_session *s, const char *name, unsigned flags, ls_mailbox **out)
{
    *out = NULL;
    ls_txn t;
    int rc = ls_txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    rc = ls_mbox_load(&t, name, &m);
    if (rc == LS_ENOTFOUND) {
        /* a name between mailboxes is \Noselect, not missing */
        char **kids;
        size_t nk;
        if (ls_mbox_children(&t, name, s->st->cfg->sep, &kids, &nk) == LS_OK && nk) {
            /* \Noselect only when the session may see a mailbox below it:
             * hidden children must not reveal that the name exists */
            int visible = 0;
            for (size_t i = 0; i < nk && !visible; i++) {
                ls_mbox k;
                if (ls_mbox_load(&t, kids[i], &k) == LS_OK) {
                    visible = (ls_rights(s, k.name, k.entry.acl) & LS_RIGHT_L) != 0;
                    ls_mbox_clear(&k);
                }
            }
            rc = visible ? ls_err(LS_ENOSELECT, "'%s' is not a selectable mailbox (\\Noselect)", name)
                         : ls_err(LS_ENOTFOUND, "mailbox '%s' does not exist", name);
            ls_names_free(kids, nk);
        }
    }
    if (!rc) {
        rc = ls_require(s, &m, LS_RIGHT_R, "select");
        ls_mailbox *mb = rc ? NULL : calloc(1, sizeof *mb);
        if (!rc && !mb)
            rc = ls_err(LS_ENOMEM, "out of memory");
        if (!rc) {
            mb->s = s;
            snprintf(mb->partition, sizeof mb->partition, "%s", m.entry.partition);
            ls_mbref_set(&mb->ref, m.entry.uuid, mb->partition);
            mb->name = m.name;
            m.name = NULL;
            ls_name_owner(mb->name, s->st->cfg->sep, &mb->owner);
            mb->rdonly = (flags & LS_MAILBOX_RDONLY) || s->st->rdonly;
            mb->uidvalidity = m.state.uidvalidity;
            mb->inotify_fd = -1;
            rc = ls_keywords_load(&t, m.entry.uuid, &mb->keywords, &mb->nkeywords);
            if (rc)
                ls_mailbox_close(mb);
            else
                *out = mb;
        }
        ls_mbox_clear(&m);
    }
    ls_txn_end(&t);
    return rc;
}

void ls_mailbox_close(ls_mailbox *mb)
{
    if (!mb)
        return;
    if (mb->inotify_fd >= 0)
        close(mb->inotify_fd);
    ls_keywords_free(mb->keywords, mb->nkeywords);
    free(mb->name);
    free(mb->owner);
    free(mb);
}

ls_session *ls_mailbox_session(ls_mailbox *mb) { return mb->s; }

struct claim_args { ls_mailbox *mb; uint32_t claimed; };
static int claim_txn(ls_txn *t, void *arg)
{
    struct claim_args *a = arg;
    ls_mbox m;
    int rc = ls_mailbox_reload(a->mb, t, &m, LS_RIGHT_R, "select");
    if (rc)
        return rc;
    const char *user = ls_seen_user(a->mb->s, m.name);
    if (user) {
        ls_seen sn;
        if ((rc = ls_seen_load(t, m.entry.uuid, user, &sn)) == LS_OK) {
            struct recent_ctx cnt = { 0 };
            if (sn.recentuid + 1 < m.state.uidnext)
                rc = ls_rec_foreach(t, m.entry.uuid, sn.recentuid + 1, count_recent, &cnt);
            a->claimed = cnt.n;
            if (!rc && sn.recentuid + 1 < m.state.uidnext) {
                sn.recentuid = m.state.uidnext - 1;
                rc = ls_seen_save(t, m.entry.uuid, user, &sn);
            }
            ls_seen_free(&sn);
        }
        ls_mbox_clear(&m);
        return rc;
    }
    a->claimed = m.state.recent;
    if (m.state.recentuid + 1 < m.state.uidnext || m.state.recent) {
        m.state.recentuid = m.state.uidnext - 1;
        m.state.recent = 0;
        rc = ls_mbstate_put(t, m.entry.uuid, &m.state);
    }
    ls_mbox_clear(&m);
    return rc;
}

int ls_mailbox_claim_recent(ls_mailbox *mb, uint32_t *recent)
{
    if (mb->rdonly)
        return ls_err(LS_EPERM, "mailbox '%s' is open read-only (EXAMINE does not claim \\Recent)", mb->name);
    struct claim_args a = { mb, 0 };
    int rc = ls_env_write(mb->s->st->env, LS_SYNC_FLAGS, claim_txn, &a);
    if (!rc && recent)
        *recent = a.claimed;
    return rc;
}

/* Reload the mailbox by unique id in t (it may have been renamed), refresh
 * the handle's name, and check `need`. */
int ls_mailbox_reload(ls_mailbox *mb, ls_txn *t, ls_mbox *m, unsigned need, const char *what)
{
    int rc = ls_mbox_load_uuid(t, mb->ref.uuid, m);
    if (rc == LS_ENOTFOUND)
        return ls_err(LS_ENOTFOUND, "mailbox '%s' no longer exists", mb->name);
    if (rc)
        return rc;
    if (strcmp(m->name, mb->name) != 0) {
        char *n = strdup(m->name);
        if (n) {
            free(mb->name);
            mb->name = n;
            free(mb->owner);
            mb->owner = NULL;
            ls_name_owner(mb->name, mb->s->st->cfg->sep, &mb->owner);
        }
    }
    if (need & (LS_RIGHT_I | LS_RIGHT_W | LS_RIGHT_S | LS_RIGHT_T | LS_RIGHT_E) && mb->rdonly) {
        ls_mbox_clear(m);
        return ls_err(LS_EPERM, "%s: mailbox '%s' is open read-only", what, mb->name);
    }
    rc = ls_require(mb->s, m, need, what);
    if (rc)
        ls_mbox_clear(m);
    return rc;
}

const char *ls_mailbox_name(ls_mailbox *mb)
{
    ls_txn t;
    if (ls_txn_read(mb->s->st->env, &t) == LS_OK) {
        ls_mbox m;
        if (ls_mbox_load_uuid(&t, mb->ref.uuid, &m) == LS_OK) {
            if (strcmp(m.name, mb->name)) {
                free(mb->name);
                mb->name = m.name;
                m.name = NULL;
            }
            ls_mbox_clear(&m);
        }
        ls_txn_end(&t);
    }
    return mb->name;
}

int ls_mailbox_status_open(ls_mailbox *mb, ls_status *out)
{
    ls_txn t;
    int rc = ls_txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls_mailbox_reload(mb, &t, &m, LS_RIGHT_R, "status")) == LS_OK) {
        rc = status_of(&t, mb->s, &m, out);
        ls_mbox_clear(&m);
    }
    ls_txn_end(&t);
    return rc;
}

const char *ls_mailbox_keyword(ls_mailbox *mb, unsigned i)
{
    if (i >= mb->nkeywords) {
        /* another session may have added keywords since we loaded them */
        ls_txn t;
        if (ls_txn_read(mb->s->st->env, &t) == LS_OK) {
            char **names;
            size_t n;
            if (ls_keywords_load(&t, mb->ref.uuid, &names, &n) == LS_OK) {
                ls_keywords_free(mb->keywords, mb->nkeywords);
                mb->keywords = names;
                mb->nkeywords = n;
            }
            ls_txn_end(&t);
        }
    }
    return i < mb->nkeywords ? mb->keywords[i] : NULL;
}

static int current_modseq(ls_mailbox *mb, uint64_t *modseq)
{
    ls_txn t;
    int rc = ls_txn_read(mb->s->st->env, &t);
    if (rc)
        return rc;
    ls_mbstate st;
    rc = ls_mbstate_get(&t, mb->ref.uuid, &st);
    ls_txn_end(&t);
    if (rc == LS_ECORRUPT && ls_error_last()[0])
        return rc;
    *modseq = rc ? 0 : st.highestmodseq;
    return rc;
}

int ls_mailbox_wait(ls_mailbox *mb, uint64_t modseq, int timeout_ms, int *changed)
{
    *changed = 0;
    ls_store *st = mb->s->st;
    if (mb->inotify_fd < 0) {
        int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0)
            return ls_err_errno(errno, "inotify_init", "");
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", st->lockdir, mb->ref.uuidstr);
        FILE *f = fopen(path, "a"); /* the signal file must exist to be watched */
        if (f)
            fclose(f);
        if (inotify_add_watch(fd, path, IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF) < 0) {
            int rc = ls_err_errno(errno, "inotify_add_watch", path);
            close(fd);
            return rc;
        }
        mb->inotify_fd = fd;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        /* check after arming the watch, so no change slips between */
        uint64_t now;
        int rc = current_modseq(mb, &now);
        if (rc)
            return rc;
        if (now > modseq) {
            *changed = 1;
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
        struct pollfd p = { .fd = mb->inotify_fd, .events = POLLIN };
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno != EINTR)
            return ls_err_errno(errno, "poll", "");
        if (pr > 0) {
            char buf[4096];
            while (read(mb->inotify_fd, buf, sizeof buf) > 0)
                ;
        }
    }
}

/*
 * libstore/mailbox.h - the mailbox list: create, delete, rename, list,
 * status, names; and opening a mailbox to work on its messages.
 *
 * Mailbox names given to these functions are internal names ("user.bovik.work"
 * with the configured separator). ls_name_to_user() and ls_name_from_user()
 * (names.h) convert to and from what a user sees ("INBOX.work").
 */
#ifndef LIBSTORE_MAILBOX_H
#define LIBSTORE_MAILBOX_H

#include "libstore/session.h"
#include "libstore/names.h"
#include "libstore/store.h"
#include "libstore/imap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_mailbox ls_mailbox;

/**
 * Create mailbox `name` on `partition` (NULL: the one of its nearest existing
 * ancestor, else `defaultpartition`). It gets a new unique id, UIDVALIDITY,
 * and the ACL of its nearest existing ancestor (a new INBOX "user.NAME": the
 * owner with all rights). Needs the `k` right on the parent (admins: always).
 * Errors: LS_EBADNAME, LS_EEXIST, LS_ENOTFOUND (unknown partition),
 * LS_EPERM, LS_EOVERQUOTA (MAILBOX limit), LS_EIO, LS_ENOSPC.
 */
LS_EXTERN int ls_mailbox_create(ls_session *s, const char *name, const char *partition);

/**
 * Delete mailbox `name` and its messages (files are removed after the commit,
 * or by cleanup). Deleting a user's INBOX (admins only) deletes the whole
 * account: all of the user's mailboxes, subscriptions, seen state, and ACL
 * entries naming the user. Errors: LS_ENOTFOUND, LS_EPERM.
 */
LS_EXTERN int ls_mailbox_delete(ls_session *s, const char *name);

/**
 * Rename `oldname` and all its children to `newname`, keeping UIDs and
 * UIDVALIDITY. Renaming INBOX moves its messages to a new mailbox and leaves
 * INBOX empty (RFC 3501); renaming "user.A" to "user.B" (admins) moves the
 * whole account. Errors: LS_ENOTFOUND, LS_EEXIST, LS_EBADNAME, LS_EPERM.
 */
LS_EXTERN int ls_mailbox_rename(ls_session *s, const char *oldname, const char *newname);

/** LIST attributes. */
enum ls_mailbox_list_attr {
    LS_MAILBOX_LIST_NOSELECT = 1u << 0,      /**< \Noselect: a name between mailboxes */
    LS_MAILBOX_LIST_HASCHILDREN = 1u << 1,
    LS_MAILBOX_LIST_HASNOCHILDREN = 1u << 2,
};
/** Called once per listed name, in sorted order; return non-zero to stop. */
typedef int (*ls_mailbox_list_cb)(const char *name, unsigned attrs, void *arg);
/**
 * List the mailboxes matching the IMAP pattern (`*` any characters, `%` any
 * but the separator; NULL = "*") that the session may see (`l` right), with
 * \Noselect names for levels between mailboxes.
 */
LS_EXTERN int ls_mailbox_list(ls_session *s, const char *pattern, ls_mailbox_list_cb cb, void *arg);

/** What STATUS returns; constant time. */
typedef struct ls_status {
    uint32_t messages, recent, uidnext, uidvalidity, unseen, deleted, flagged, answered;
    uint64_t highestmodseq, size;
    /** Tombstones up to this MODSEQ have been cleaned up: ls_message_changes()
     *  is complete only for a MODSEQ at or above it (else a QRESYNC client
     *  needs a full resynchronisation). 0 while no tombstone was removed. */
    uint64_t deletedmodseq;
} ls_status;
/** STATUS of mailbox `name` (needs `r`). Errors: LS_ENOTFOUND, LS_EPERM. */
LS_EXTERN int ls_mailbox_status(ls_session *s, const char *name, ls_status *out);

/** Fixed facts about a mailbox. */
typedef struct ls_mailbox_info {
    char uniqueid[37];     /**< UUID, lower-case, with dashes */
    char partition[64];
    uint32_t uidvalidity;
} ls_mailbox_info;
LS_EXTERN int ls_mailbox_get_info(ls_session *s, const char *name, ls_mailbox_info *out);

/** The directory holding the mailbox's files (as Cyrus mbpath), malloc'd. */
LS_EXTERN int ls_mailbox_path(ls_session *s, const char *name, char **out);

/** Open flags. */
enum ls_mailbox_open_flags {
    LS_MAILBOX_OPEN_RDWR = 0,
    LS_MAILBOX_OPEN_RDONLY = 1u << 0,  /**< EXAMINE */
};
/**
 * Open mailbox `name` to work on its messages (SELECT/EXAMINE; needs `r`).
 * The handle follows the mailbox across renames by its unique id.
 * Errors: LS_ENOTFOUND, LS_ENOSELECT, LS_EPERM.
 */
LS_EXTERN int ls_mailbox_open(ls_session *s, const char *name, unsigned flags, ls_mailbox **out);
LS_EXTERN void ls_mailbox_close(ls_mailbox *mb);
/**
 * SELECT's side effect (RFC 3501 \Recent): the messages above the stored
 * recentuid are \Recent for this session only; claim them, so that no other
 * session sees them as \Recent. *recent (may be NULL) receives how many this
 * session got. The handle keeps the UIDs it claimed (ls_mailbox_recent), and
 * SEARCH RECENT / NEW / OLD on this handle count them as \Recent: the
 * claiming session still sees its messages as \Recent. Messages nobody has
 * claimed yet (above the stored recentuid) are \Recent for every handle
 * until one claims them. Call it again (e.g. on NOOP) to claim messages that
 * arrived since; they join the set. A read-only (EXAMINE) handle fails with
 * LS_EPERM (it claims nothing).
 * Errors: LS_EPERM, LS_ENOTFOUND, LS_ENOMEM.
 */
LS_EXTERN int ls_mailbox_claim_recent(ls_mailbox *mb, uint32_t *recent);
/**
 * The UIDs this handle has claimed as \Recent (for FETCH FLAGS and the
 * RECENT response), as a set in *out (free with ls_set_dispose; empty when
 * nothing was claimed). It may name UIDs expunged since.
 * Errors: LS_ENOMEM.
 */
LS_EXTERN int ls_mailbox_recent(ls_mailbox *mb, ls_set *out);
/** 1 if `uid` is among the UIDs this handle has claimed as \Recent, else 0. */
LS_EXTERN int ls_mailbox_is_recent(const ls_mailbox *mb, uint32_t uid);

/** The current name of an open mailbox (owned by the handle). */
LS_EXTERN const char *ls_mailbox_name(ls_mailbox *mb);
LS_EXTERN ls_session *ls_mailbox_session(ls_mailbox *mb);
/** Status of an open mailbox. */
LS_EXTERN int ls_mailbox_status_open(ls_mailbox *mb, ls_status *out);

/** What a wait found (bits of *changed / *what). */
enum ls_wait_what {
    LS_WAIT_CHANGED = 1u << 0,  /**< HIGHESTMODSEQ passed the MODSEQ given */
    LS_WAIT_RENAMED = 1u << 1,  /**< the mailbox was renamed since the handle last
                                     saw its name; ls_mailbox_name() gives the new
                                     one, and the handle keeps working (it follows
                                     the mailbox by its unique id) */
};
/** Maximum number of distinct keywords per mailbox. */
#define LS_MAILBOX_MAX_KEYWORDS 128

/** The name of keyword number i of the mailbox, or NULL. Owned by the handle,
 *  valid until the next call on the handle (a call may reload the names). */
LS_EXTERN const char *ls_mailbox_keyword(ls_mailbox *mb, unsigned i);

/**
 * Wait until the mailbox changes (its HIGHESTMODSEQ passes `modseq`, for
 * IDLE), is renamed or deleted, or timeout_ms passes (-1: forever; 0: look
 * once). *changed receives LS_WAIT_* bits (0 on time-out; existing callers
 * may test it as a boolean). Writers signal a per-mailbox file; the store
 * handle watches it with ONE inotify instance shared by all its waiters
 * (any number of threads may wait at once, each on its own mailbox handle).
 * When the system has no inotify instance left for this process (the
 * per-user limit, 128 by default, counts across processes), waits fall
 * back to re-reading the mailbox state every 200 ms: slower to wake, never
 * failing. The first wait watches the mailbox (as ls_mailbox_watch) until
 * ls_mailbox_unwatch or ls_mailbox_close.
 * Errors: LS_EGONE (the mailbox was deleted, by any process: returned at
 * once; the handle is of no further use except to close it), LS_EIO.
 */
LS_EXTERN int ls_mailbox_wait(ls_mailbox *mb, uint64_t modseq, int timeout_ms, int *changed);

/**
 * For event-loop servers (IDLE without a thread per client): watch the
 * mailbox for changes reported through ls_store_watch_fd() (store.h). Idempotent per
 * handle; ls_mailbox_close unwatches. Errors: LS_ENOMEM.
 */
LS_EXTERN int ls_mailbox_watch(ls_mailbox *mb);
/** Stop watching (no-op when not watched). */
LS_EXTERN void ls_mailbox_unwatch(ls_mailbox *mb);
/**
 * Non-blocking: what happened to the mailbox. *what receives LS_WAIT_* bits:
 * LS_WAIT_CHANGED if HIGHESTMODSEQ is above `modseq`, LS_WAIT_RENAMED if it
 * was renamed since the handle last saw its name. Also consumes what the
 * descriptor of ls_store_watch_fd() holds. Errors: LS_EGONE (deleted).
 */
LS_EXTERN int ls_mailbox_changed(ls_mailbox *mb, uint64_t modseq, unsigned *what);

#ifdef __cplusplus
}
#endif
#endif

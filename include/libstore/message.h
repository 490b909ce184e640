/*
 * libstore/message.h - messages in an open mailbox: append, deliver, fetch,
 * store flags, expunge, copy, move, search, changes since a MODSEQ.
 *
 * Messages are addressed by UID. Sequence numbers are the caller's business:
 * ls_message_uids() gives the UIDs in order, from which a server keeps its
 * own sequence map for its session.
 *
 * Each call is one transaction: it happens entirely or not at all (docs/contract.md §2.1).
 * When a call that writes returns LS_OK the change is durable.
 */
#ifndef LIBSTORE_MESSAGE_H
#define LIBSTORE_MESSAGE_H

#include "libstore/mailbox.h"
#include "libstore/set.h"
#include "libstore/date.h"
#include "libstore/flag.h"
#include "libstore/uidmap.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The layout version of ls_append_opts this header describes. */
#define LS_APPEND_OPTS_VERSION 1

/**
 * Options of an append, a batch item and a delivery. Start from
 * LS_APPEND_OPTS_INIT (or set `version` to LS_APPEND_OPTS_VERSION), then set
 * the fields you need; the others are optional. A call given an unknown
 * version fails with LS_EINVAL, so a program built against another layout is
 * refused rather than misread. An all-zero struct (e.g. an item of a calloc'd
 * array) means "no options", as a NULL pointer does.
 */
typedef struct ls_append_opts {
    unsigned int version;            /**< LS_APPEND_OPTS_VERSION */
    unsigned flags;                  /**< bits of enum ls_flag */
    const char *const *keywords;     /**< keyword names */
    size_t nkeywords;
    const ls_date *internaldate;     /**< NULL: now, in the local zone */
} ls_append_opts;
#define LS_APPEND_OPTS_INIT { LS_APPEND_OPTS_VERSION, 0, NULL, 0, NULL }

/**
 * Append one message (needs `i`; flags need `s`/`w`/`t` as RFC 4314 says).
 * The bytes are stored as given, except that bare LF line ends become CRLF.
 * A malformed message is stored anyway with a best-effort cache record.
 * opts may be NULL (no flags, no keywords, internal date now).
 * *uid (may be NULL) receives the new UID.
 * msg may be NULL when len is 0 (the empty message).
 * Errors: LS_EINVAL (unknown opts->version; bad keyword; msg NULL with len > 0),
 * LS_ETOOBIG (maxmessagesize), LS_EOVERQUOTA, LS_ELIMIT (keywords), LS_EPERM,
 * LS_ENOSPC, LS_EIO, LS_EUNAVAILABLE (the mailbox's partition is not mounted),
 * LS_EEXIST (a stray message file with no record sits at the new UID, above
 * a gap that crash recovery does not cross: run reconstruct on the mailbox).
 */
LS_EXTERN int ls_message_append(ls_mailbox *mb, const void *msg, size_t len,
                                const ls_append_opts *opts, uint32_t *uid);

/** One message of a batch append. */
typedef struct ls_append_item {
    const void *msg;
    size_t len;
    ls_append_opts opts;             /**< LS_APPEND_OPTS_INIT, or all zero: none */
    uint32_t uid;                    /**< out: the new UID */
} ls_append_item;
/**
 * Append n messages in one transaction: all or none. Files are made durable
 * together (one syncfs) before the commit. Errors: as ls_message_append;
 * LS_EINVAL names the first item whose opts.version is unknown.
 */
LS_EXTERN int ls_message_append_many(ls_mailbox *mb, ls_append_item *items, size_t n);

/** Result per recipient of ls_message_deliver. */
typedef struct ls_deliver_result {
    int code;                        /**< LS_OK or the error for this recipient */
    uint32_t uid;                    /**< the new UID when code == LS_OK */
    char error[256];                 /**< the message when code != LS_OK */
} ls_deliver_result;
/**
 * Deliver one message to the INBOX (or the INBOX child `folder`, e.g. "work",
 * when non-NULL) of each of the n users. Stored once per partition; atomic per
 * recipient: one failing recipient (no such user, over quota, no `p` right on
 * the folder) does not stop the others. results[i] answers users[i].
 * Returns LS_OK if every recipient got it, else the first error code.
 */
LS_EXTERN int ls_message_deliver(ls_session *s, const void *msg, size_t len,
                                 const char *const *users, size_t n, const char *folder,
                                 const ls_append_opts *opts, ls_deliver_result *results);

/** An index record as the API shows it. */
typedef struct ls_record {
    uint32_t uid;
    unsigned flags;                  /**< LS_FLAG_* as the acting identity sees them */
    uint64_t modseq;
    ls_date internaldate;
    ls_date sentdate;                /**< from Date:; t = 0 when absent */
    uint64_t size;
    uint32_t header_size;
    uint32_t body_lines;
    uint8_t guid[32];                /**< SHA-256 of the stored bytes */
    uint64_t keywords[2];            /**< bit i: keyword i of the mailbox */
} ls_record;

/** Cached strings of a message, pointing into the store's memory; valid only
 *  during the callback that receives them. Not NUL-terminated. */
typedef struct ls_cached {
    const char *envelope; size_t envelope_len;
    const char *bodystructure; size_t bodystructure_len;
    const char *body; size_t body_len;
} ls_cached;

/** Called per record, in UID order; return non-zero to stop (that value is returned). */
typedef int (*ls_message_foreach_cb)(const ls_record *rec, const ls_cached *cache, void *arg);

/** Which parts ls_message_foreach fills. */
enum ls_message_fetch_what {
    LS_MESSAGE_FETCH_RECORD = 0,
    LS_MESSAGE_FETCH_CACHE = 1u << 0,        /**< envelope, bodystructure, body */
};
/**
 * Call cb for each live message whose UID is in uids (NULL: all), in one
 * consistent snapshot. Needs `r`.
 */
LS_EXTERN int ls_message_foreach(ls_mailbox *mb, const ls_set *uids, unsigned what,
                                 ls_message_foreach_cb cb, void *arg);

/** One record by UID. Errors: LS_ENOTFOUND. */
LS_EXTERN int ls_message_get(ls_mailbox *mb, uint32_t uid, ls_record *out);

/** The UIDs of all live messages in order (malloc'd array, ls_free). */
LS_EXTERN int ls_message_uids(ls_mailbox *mb, uint32_t **uids, size_t *n);

/** Cached IMAP string of one message: which is "envelope", "bodystructure"
 *  or "body". *out malloc'd, NUL-terminated. */
LS_EXTERN int ls_message_cached(ls_mailbox *mb, uint32_t uid, const char *which, char **out, size_t *len);

/**
 * Fetch bytes of a message: section as in IMAP BODY[section]: "" (whole),
 * "HEADER", "TEXT", "1.2", "1.2.MIME", "1.2.HEADER", "1.2.TEXT",
 * "HEADER.FIELDS (From To)", "HEADER.FIELDS.NOT (...)"; then the byte range
 * [offset, offset+length) of that (length UINT64_MAX: to the end).
 * *out malloc'd (ls_free). Needs `r`. Does not set \Seen (the server does, with
 * ls_message_store, when it fetches BODY[] without PEEK).
 * Errors: LS_ENOTFOUND (no such UID or part), LS_EINVAL (bad section),
 * LS_EIO (file unreadable: run reconstruct).
 */
LS_EXTERN int ls_message_fetch(ls_mailbox *mb, uint32_t uid, const char *section,
                               uint64_t offset, uint64_t length, char **out, size_t *len);

/** The message file's path (for the file-per-message layout), malloc'd. */
LS_EXTERN int ls_message_path(ls_mailbox *mb, uint32_t uid, char **out);

/** How ls_message_store changes flags. */
enum ls_message_store_op {
    LS_MESSAGE_STORE_ADD = 0,        /**< +FLAGS */
    LS_MESSAGE_STORE_REMOVE = 1,     /**< -FLAGS */
    LS_MESSAGE_STORE_REPLACE = 2,    /**< FLAGS */
};

/** The layout version of ls_message_store_opts this header describes. */
#define LS_MESSAGE_STORE_OPTS_VERSION 1

/** What ls_message_store does. Start from LS_MESSAGE_STORE_OPTS_INIT (op
 *  LS_MESSAGE_STORE_ADD, nothing to add) and set the fields you need. */
typedef struct ls_message_store_opts {
    unsigned int version;            /**< LS_MESSAGE_STORE_OPTS_VERSION */
    enum ls_message_store_op op;
    unsigned flags;                  /**< bits of enum ls_flag */
    const char *const *keywords;     /**< keyword names */
    size_t nkeywords;
    uint64_t unchangedsince;         /**< > 0: the UNCHANGEDSINCE modifier (RFC 7162) */
} ls_message_store_opts;
#define LS_MESSAGE_STORE_OPTS_INIT { LS_MESSAGE_STORE_OPTS_VERSION, LS_MESSAGE_STORE_ADD, 0, NULL, 0, 0 }

/**
 * STORE: change flags and keywords of the messages in uids (UIDs; '*' = the
 * last) as opts says. Every changed record gets a new MODSEQ. With
 * opts->unchangedsince > 0, records whose MODSEQ is above it are left alone
 * and listed in *modified (may be NULL; filled by the library:
 * ls_set_dispose) and the call returns LS_EMODIFIED after applying the rest
 * (RFC 7162). Needs `s` for \Seen, `t` for \Deleted, `w` for the others.
 * Errors: LS_EINVAL (opts NULL, unknown opts->version or op, unknown flag
 * bits, bad keyword), LS_ELIMIT (a 129th keyword), LS_EPERM, LS_EMODIFIED.
 */
LS_EXTERN int ls_message_store(ls_mailbox *mb, const ls_set *uids, const ls_message_store_opts *opts,
                               ls_set *modified);

/**
 * Expunge the messages flagged \Deleted (only those in uids when non-NULL).
 * Their records stay as tombstones with a new MODSEQ until cleanup; their
 * files are removed by cleanup. *expunged (may be NULL) receives their UIDs.
 * Needs `e`.
 */
LS_EXTERN int ls_message_expunge(ls_mailbox *mb, const ls_set *uids, ls_set *expunged);

/**
 * Copy the messages in uids to mailbox `target` (flags and internal date
 * kept; content shared on disk). Needs `r` here and `i` there. *map (may be
 * NULL) is filled by the library: ls_uidmap_dispose.
 * Errors: LS_ENOTFOUND (target), LS_EOVERQUOTA, LS_EPERM.
 */
LS_EXTERN int ls_message_copy(ls_mailbox *mb, const ls_set *uids, const char *target, ls_uidmap *map);
/** Move: copy, then expunge the originals, in one transaction. Needs also `t`, `e` here. */
LS_EXTERN int ls_message_move(ls_mailbox *mb, const ls_set *uids, const char *target, ls_uidmap *map);

/**
 * SEARCH: criteria as RFC 3501 tokens ({"FROM", "bob", "UNSEEN"}); sequence
 * numbers in criteria refer to the current order of live messages.
 * *uids malloc'd (ls_free), ascending. Errors: LS_EINVAL (bad criteria).
 */
LS_EXTERN int ls_message_search(ls_mailbox *mb, int argc, const char *const *argv,
                                uint32_t **uids, size_t *n);

/** Called per record changed (or expunged, with expunged = 1) after a MODSEQ. */
typedef int (*ls_message_changes_cb)(uint32_t uid, uint64_t modseq, int expunged, void *arg);
/** What changed or vanished since `modseq` (CONDSTORE/QRESYNC), in UID order. */
LS_EXTERN int ls_message_changes(ls_mailbox *mb, uint64_t modseq, ls_message_changes_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif

/* Shared machinery of the message operations (append, deliver, copy, ...). */
#ifndef LS_MESSAGE_IMPL_H
#define LS_MESSAGE_IMPL_H

#include "store_impl.h"
#include "model/records.h"

/* A message ready to be stored: normalized bytes, GUID, cache record, and
 * the record fields derived from its content. */
typedef struct ls_prepared {
    const char *data;        /* CRLF-normalized bytes */
    size_t len;
    char *owned;             /* == data when normalization copied */
    uint8_t guid[LS_GUID_LEN];
    ls_date date;            /* internal date */
    uint8_t *cache;          /* encoded hot cache record (table "cache") */
    size_t cachelen;
    uint8_t *cachex;         /* encoded cold cache record (table "cachex") */
    size_t cachexlen;
    uint32_t header_size, body_lines;
    int64_t sentdate;
    int16_t sent_tz;
} ls_prepared;

/* Normalize, hash, parse. msg may be NULL when len is 0 (the empty message).
 * Errors: LS_EINVAL (msg NULL with len > 0), LS_ETOOBIG, LS_ENOMEM. */
int ls__prepare(ls_store *st, const void *msg, size_t len, const ls_date *date, ls_prepared *p);
void ls__prepared_free(ls_prepared *p);
/* Build only the cache record and content fields for bytes already stored
 * (adoption, reconstruct): no normalization, no size limit. */
int ls__prepare_stored(const char *data, size_t len, int64_t mtime, ls_prepared *p);

/* One message to commit into one mailbox under one UID. */
typedef struct ls_placement {
    ls_mbref ref;
    char partition[64];
    char *name;                  /* mailbox name, for messages */
    uint32_t uid;                /* chosen under the mailbox lock */
    const ls_prepared *msg;
    unsigned flags;              /* LS_FLAG_* */
    const char *const *keywords;
    size_t nkeywords;
    int adopted;                 /* a crash leftover: the file is already there */
    int no_quota_check;          /* charged but never refused (MOVE within one root) */
    int placed;                  /* we created its file (remove it if not committed) */
    int code;                    /* per-placement result */
    char error[256];
} ls_placement;

/* Commit placements in one write transaction. With `each` (deliver), a
 * placement that fails (mailbox gone, over quota) is skipped and its code
 * set; otherwise the first failure aborts everything. */
int ls__commit_placements(ls_store *st, ls_placement *pl, size_t n, int each, const ls_session *s);

/* Under the mailbox lock: adopt complete files at UIDNEXT and above (crash
 * leftovers, docs/contract.md §2.3) and return the first free UID in *uid. Adoption commits
 * its own transaction. */
int ls__adopt_leftovers(ls_store *st, const ls_mbref *ref, uint32_t *uid);

/* MULTIAPPEND all or none across crashes (batch_intent.c). Under the
 * mailbox's append lock: record the batch's UID range uid0..uid0+n-1
 * durably before placing its files; remove the record after the commit (or
 * the failure). Errors: LS_EIO, LS_ENOSPC, LS_ENOMEM. */
int ls__batch_intent_begin(ls_store *st, const ls_mbref *ref, uint32_t uid0, size_t n);
void ls__batch_intent_end(ls_store *st, const ls_mbref *ref);
/* Under the append lock: a record left by a batch whose writer died means
 * its files at or above uidnext were never committed: remove them (with
 * dry_run, only count them) and the record. *discarded (may be NULL)
 * receives how many files there were. */
int ls__batch_intent_resolve(ls_store *st, const ls_mbref *ref, uint32_t uidnext, int dry_run, uint32_t *discarded);

/* The rights needed to set these flags (s, t, w). */
unsigned ls__flag_rights(unsigned flags, size_t nkeywords);
/* LS_EINVAL naming the first invalid keyword. */
int ls__check_keywords(const char *const *kw, size_t n);
/* LS_OK for NULL, an all-zero struct or the current LS_APPEND_OPTS_VERSION;
 * else LS_EINVAL naming `what` (the call or item) and the version (opts.c). */
int ls__append_opts_check(const ls_append_opts *o, const char *what);
/* LS_OK for the current LS_MESSAGE_STORE_OPTS_VERSION; LS_EINVAL for NULL or another. */
int ls__store_opts_check(const ls_message_store_opts *o);

/* A growable list of UIDs. */
typedef struct uidlist { uint32_t *v; size_t n, cap; } uidlist;
int ls__uidlist_add(uidlist *l, uint32_t uid);
int ls__set_from_uids(const uint32_t *v, size_t n, ls_set *out);

/* Expunge helpers shared by EXPUNGE and MOVE. */
int ls__expunge_in_txn(ls_txn *t, ls_store *st, ls_mbox *m, const ls_set *uids, int require_deleted, uidlist *out);
void ls__expunge_files(ls_store *st, const ls_mbref *ref, const uidlist *l, int undo);
/* Commit one placement inside t (see commit.c). */
int ls__place_one(ls_txn *t, ls_store *st, ls_placement *p);

/* Live record lookup for operations on an open mailbox. */
int ls__live_record(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t uid, ls_irec *r);

#endif

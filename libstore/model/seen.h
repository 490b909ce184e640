/*
 * Private seen state (docs/contract.md §1.6): per (mailbox unique id, user), for every
 * user but a mailbox's owner (and for everybody in mailboxes without an
 * owner). Table "seen", key uuid16 + user name, value:
 *   version u8 (1) | 3 reserved | recentuid u32 | seen u32 (live messages
 *   in the set: STATUS UNSEEN = MESSAGES - seen, in constant time) |
 *   nranges u32 | modseq u64 (the highest MODSEQ of this user's private
 *   changes) | nranges x (lo u32, hi u32) | crc32 u32          (all LE)
 * Table "seenmodseq", key uuid16 + user + NUL + uid (BE32): the MODSEQ of
 * the user's last private change of that message (u64 LE), so that CONDSTORE
 * shows the user his own changes, and nobody else.
 */
#ifndef LS_MODEL_SEEN_H
#define LS_MODEL_SEEN_H

#include "store_impl.h"

typedef struct ls_seen {
    uint32_t recentuid;
    uint32_t count;
    uint64_t modseq;
    ls_range *r;
    size_t n, cap;
} ls_seen;

/* The user whose private seen state applies to session s in mailbox `name`,
 * or NULL when the record's \Seen flag (the owner's) applies. */
const char *ls__seen_user(const ls_session *s, const char *name);

int ls__seen_load(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, ls_seen *out);
int ls__seen_save(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, const ls_seen *sn);
void ls__seen_free(ls_seen *sn);
int ls__seen_has(const ls_seen *sn, uint32_t uid);
/* Add or remove one UID; returns 1 if the set changed, <0 on ENOMEM. */
int ls__seen_put(ls_seen *sn, uint32_t uid, int on);

/* The MODSEQ of message uid as `user` sees it: the record's, or that of the
 * user's later private seen change. */
uint64_t ls__seen_modseq(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, const ls_seen *sn,
                        uint32_t uid, uint64_t record_modseq);
int ls__seen_modseq_put(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, uint32_t uid, uint64_t modseq);

/* Expunged UIDs leave every user's set of this mailbox (and their counts). */
int ls__seen_forget_uids(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const uint32_t *uids, size_t n);
/* A message renumbered by reconstruct keeps every user's \Seen. */
int ls__seen_renumber(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t from, uint32_t to);
/* Remove every row of `user` / rename them (whole-table scans: rare). */
int ls__seen_forget_user(ls_txn *t, const char *user);
int ls__seen_rename_user(ls_txn *t, const char *from, const char *to);

#endif

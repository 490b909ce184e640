/* Access to the index records of one mailbox inside a transaction. */
#ifndef LS_MODEL_RECORDS_H
#define LS_MODEL_RECORDS_H

#include "store_impl.h"
#include "libstore/imap.h"

int ls__rec_get(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t uid, ls_irec *r);
int ls__rec_put(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const ls_irec *r);

/* Call cb for each record (tombstones included) with uid >= from, in UID
 * order. A record that fails to decode is passed with r == NULL and its uid,
 * so callers decide (check reports it, others skip it). cb returns non-zero
 * to stop. */
typedef int (*ls_rec_cb)(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg);
int ls__rec_foreach(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t from, ls_rec_cb cb, void *arg);

/* Update live records with uid in uids (NULL: all) in place: cb returns 1
 * after changing *r (it is written back), 0 to leave it, or a negative
 * LS_E* code to stop with that error. */
typedef int (*ls_rec_update_cb)(ls_irec *r, void *arg);
int ls__rec_update(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const ls_set *uids, ls_rec_update_cb cb, void *arg);

/* MODSEQs: one sequence per mailbox for every change, shared and private,
 * so that they stay unique and increasing for every viewer. A shared change
 * raises HIGHESTMODSEQ (everyone sees it); a private seen change raises only
 * privmodseq and the changing user's own view (docs/contract.md §1.6). */
static inline uint64_t ls__modseq_next(ls_mbstate *s)
{
    uint64_t m = (s->highestmodseq > s->privmodseq ? s->highestmodseq : s->privmodseq) + 1;
    s->highestmodseq = m;
    return m;
}
static inline uint64_t ls__modseq_next_private(ls_mbstate *s)
{
    uint64_t m = (s->highestmodseq > s->privmodseq ? s->highestmodseq : s->privmodseq) + 1;
    s->privmodseq = m;
    return m;
}

/* Counters of the mailbox state contributed by one live record. */
void ls__state_add(ls_mbstate *s, const ls_irec *r, int sign);

/* The mailbox's keyword names (NUL-separated in table "keywords"). */
int ls__keywords_load(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], char ***names, size_t *n);
void ls__keywords_free(char **names, size_t n);
/* Map names to bits, adding unknown names to the mailbox when `add`
 * (LS_ELIMIT past LS_MAILBOX_MAX_KEYWORDS). Unknown names without `add` are ignored. */
int ls__keywords_bits(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *const *kw, size_t n,
                     int add, uint64_t bits[2]);

#endif

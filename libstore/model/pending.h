/*
 * The pending table: file removals that follow a commit (docs/contract.md
 * §2.1: file steps after it are rolled forward by the next writer or by cleanup).
 * An entry is added in the same transaction that makes the files
 * unreachable, and deleted once the files are gone.
 */
#ifndef LS_MODEL_PENDING_H
#define LS_MODEL_PENDING_H

#include "store_impl.h"

enum ls_pending_type {
    LS_PENDING_EXPUNGED = 1,   /* remove UID.expunged of (uuid, uid) */
    LS_PENDING_DESTROY = 2,    /* remove the whole mailbox directory of uuid */
};

int ls__pending_add(ls_txn *t, int type, const ls_mbref *ref, uint32_t uid);

/* Carry out pending removals whose transaction no live reader predates
 * (all of them with `force`). Only entries of type `only` (0: any), and
 * only those queued by transactions up to max_txnid (0: any) — what the
 * caller refreshed the store.header files for. *done counts removed entries. */
int ls__pending_run(ls_store *st, int force, int only, uint64_t max_txnid, uint64_t *done);

/* While a mailbox's store.header cannot be rewritten (a full partition),
 * hold back its expunged-file removals of UIDs >= from_uid, which the old
 * header does not cover. Per thread; cleared by ls__pending_hold_clear. */
void ls__pending_hold(ls_store *st, const uint8_t uuid[LS_UUID_LEN], uint32_t from_uid);
void ls__pending_hold_clear(ls_store *st);

/* Number of pending entries (for check and tests). */
int ls__pending_count(ls_store *st, uint64_t *n);

#endif

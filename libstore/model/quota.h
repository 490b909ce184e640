/*
 * Quota roots in LMDB (table "quota", key: the root's mailbox name).
 * Value: version u8 (1) | 7 reserved | limits 3 x i64 LE (-1 = none) |
 * usage 3 x u64 LE (STORAGE in bytes, MESSAGE, MAILBOX) | crc32 u32 LE over
 * bytes 0..55 | 4 reserved bytes: 64 bytes in all.
 *
 * Invariant: the roots partition the mailboxes they govern; a mailbox's
 * usage is counted in exactly one root, the nearest at or above its name.
 */
#ifndef LS_MODEL_QUOTA_H
#define LS_MODEL_QUOTA_H

#include "store_impl.h"

#define LS_QREC_SIZE 64

typedef struct ls_qrec {
    int64_t limit[LS_QUOTA_NRESOURCES];
    uint64_t usage[LS_QUOTA_NRESOURCES];
} ls_qrec;

void ls__qrec_encode(const ls_qrec *q, uint8_t out[LS_QREC_SIZE]);
int ls__qrec_decode(const void *buf, size_t len, ls_qrec *q);

/* The root governing `name` (itself or its nearest ancestor that is a root):
 * its name into root (LS_NAME_BUF bytes) and record. LS_ENOTFOUND if none. */
int ls__quota_find(ls_txn *t, const char *name, char sep, char *root, ls_qrec *q);
int ls__quota_put(ls_txn *t, const char *root, const ls_qrec *q);

/* Add (or subtract) usage to the root governing `name`. With `enforce`,
 * an increase that takes a resource over its limit fails (LS_EOVERQUOTA,
 * nothing changed). No root: nothing to do. */
int ls__quota_charge(ls_txn *t, const char *name, char sep, int64_t bytes, int64_t messages, int64_t mailboxes,
                    int enforce);

/* The usage of one mailbox as a root counts it: bytes, messages, 1. */
void ls__quota_usage_of(const ls_mbstate *s, int64_t delta[3]);

#endif

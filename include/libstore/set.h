/*
 * libstore/set.h - UID sets and sequence sets (RFC 3501 sequence-set).
 * Pure functions: none touches the store.
 */
#ifndef LIBSTORE_SET_H
#define LIBSTORE_SET_H

#include "libstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A UID set or sequence set: sorted, merged, inclusive ranges. '*' is
 *  UINT32_MAX; operations clamp it to the largest UID (or sequence number).
 *  Plain data: a caller may build one over its own array of ascending,
 *  non-overlapping ranges; only a set the library filled is disposed. */
typedef struct ls_range { uint32_t lo, hi; } ls_range;
typedef struct ls_set { ls_range *r; size_t n; } ls_set;

/** Parse an RFC 3501 sequence-set ("1:5,7,9:*"; "a:b" with a > b means b:a;
 *  0 is invalid) into *out (release with ls_set_dispose).
 *  Errors: LS_EINVAL naming the offending text, LS_ENOMEM. */
LS_EXTERN int ls_set_parse(const char *text, ls_set *out);
/** 1 if v is in the set. */
LS_EXTERN int ls_set_contains(const ls_set *s, uint32_t v);
/** Release the ranges of a set the library filled and zero it; the struct
 *  itself stays the caller's (dispose, not free). NULL is fine. */
LS_EXTERN void ls_set_dispose(ls_set *s);
/** The set as a compact string ("1:3,5"), malloc'd (ls_free); NULL on ENOMEM. */
LS_EXTERN char *ls_set_format(const ls_set *s);

/**
 * Translate a sequence set into a UID set, given the UIDs of the session's
 * view in order (uids[0] is sequence number 1, as from ls_message_uids).
 * '*' is the last message; numbers past the end are clamped to it (RFC 3501).
 * *out is filled by the library (ls_set_dispose). Errors: LS_ENOMEM.
 */
LS_EXTERN int ls_set_seq_to_uid(const ls_set *seqs, const uint32_t *uids, size_t n, ls_set *out);

#ifdef __cplusplus
}
#endif
#endif

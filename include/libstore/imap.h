/*
 * libstore/imap.h - IMAP syntax helpers a server (and our tools) need around
 * the store: UID and sequence sets, dates, flag names, keywords.
 * Pure functions: none touches the store.
 */
#ifndef LIBSTORE_IMAP_H
#define LIBSTORE_IMAP_H

#include "libstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A UID set or sequence set: sorted, merged, inclusive ranges. '*' is
 *  UINT32_MAX; operations clamp it to the largest UID (or sequence number). */
typedef struct ls_range { uint32_t lo, hi; } ls_range;
typedef struct ls_set { ls_range *r; size_t n; } ls_set;

/** Parse an RFC 3501 sequence-set ("1:5,7,9:*"; "a:b" with a > b means b:a;
 *  0 is invalid) into *out (free with ls_set_dispose).
 *  Errors: LS_EINVAL naming the offending text, LS_ENOMEM. */
LS_EXTERN int ls_set_parse(const char *text, ls_set *out);
/** 1 if v is in the set. */
LS_EXTERN int ls_set_contains(const ls_set *s, uint32_t v);
/** Release the ranges (the struct itself is the caller's). */
LS_EXTERN void ls_set_dispose(ls_set *s);
/** The set as a compact string ("1:3,5"), malloc'd (ls_free); NULL on ENOMEM. */
LS_EXTERN char *ls_set_format(const ls_set *s);

/** Parse an IMAP date-time "21-Nov-2026 10:00:00 +0000". Errors: LS_EINVAL. */
LS_EXTERN int ls_date_parse_imap(const char *s, ls_date *out);
/** Format as IMAP date-time into buf (at least 27 bytes). */
LS_EXTERN void ls_date_format_imap(const ls_date *d, char *buf, size_t buflen);
/** Parse an IMAP SEARCH date "1-Feb-1994" to the start of that day (UTC). */
LS_EXTERN int ls_date_parse_search(const char *s, int64_t *out_day_start);

/** "\\Seen" (case-insensitive) -> LS_FLAG_SEEN, ...; 0 if not a system flag. */
LS_EXTERN unsigned ls_flag_from_name(const char *name);
/** LS_FLAG_SEEN -> "\\Seen"; NULL if not a single known bit. */
LS_EXTERN const char *ls_flag_name(unsigned bit);
/** 1 if kw is a valid keyword (an IMAP atom of 1..100 bytes). */
LS_EXTERN int ls_flag_keyword_valid(const char *kw);

#ifdef __cplusplus
}
#endif
#endif

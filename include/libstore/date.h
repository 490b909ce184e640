/*
 * libstore/date.h - IMAP date syntax for ls_date (declared in common.h).
 * Pure functions: none touches the store.
 */
#ifndef LIBSTORE_DATE_H
#define LIBSTORE_DATE_H

#include "libstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Parse an IMAP date-time "21-Nov-2026 10:00:00 +0000". Errors: LS_EINVAL. */
LS_EXTERN int ls_date_parse_imap(const char *s, ls_date *out);
/** Format as IMAP date-time, in the date's own zone, into buf (at least 27 bytes). */
LS_EXTERN void ls_date_format_imap(const ls_date *d, char *buf, size_t buflen);
/** Parse an IMAP SEARCH date "1-Feb-1994" to the start of that day (UTC).
 *  Errors: LS_EINVAL. */
LS_EXTERN int ls_date_parse_search(const char *s, int64_t *out_day_start);

#ifdef __cplusplus
}
#endif
#endif

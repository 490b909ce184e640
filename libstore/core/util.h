/*
 * Small pure helpers shared by the library and the tools' parsing code:
 * UID/sequence sets, IMAP dates, flag names. None touches the disk.
 */
#ifndef LS_CORE_UTIL_H
#define LS_CORE_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "libstore/common.h"
#include "libstore/imap.h"

/* ls_set, ls_range and the functions below are public: libstore/imap.h. */

int ls_date_parse_imap(const char *s, ls_date *out);
/* Format as IMAP date-time into buf (at least 27 bytes): "21-Nov-2026 10:00:00 +0000". */
void ls_date_format_imap(const ls_date *d, char *buf, size_t buflen);
/* Parse IMAP SEARCH date "1-Feb-1994" (day of the date, 00:00 UTC). */
int ls_date_parse_search(const char *s, int64_t *out_day_start);

/* System flags as bits: LS_FLAG_* in libstore/common.h. */
/* "\\Seen" (case-insensitive) -> bit, or 0 if not a system flag. */
unsigned ls_flag_from_name(const char *name);
/* bit -> canonical name "\\Seen"; NULL if not a single known bit. */
const char *ls_flag_name(unsigned bit);
/* A valid keyword is an IMAP atom: 1..100 bytes of printable ASCII except
 * ( ) { SP % * " \ ] and controls. 1 if valid. */
int ls_flag_keyword_valid(const char *kw);

#endif

/*
 * libstore/flag.h - names of system flags (enum ls_flag, declared in
 * common.h) and keywords (user-defined flags).
 * Pure functions: none touches the store.
 */
#ifndef LIBSTORE_FLAG_H
#define LIBSTORE_FLAG_H

#include "libstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** "\\Seen" (case-insensitive) -> LS_FLAG_SEEN, ...; 0 if not a system flag. */
LS_EXTERN unsigned ls_flag_from_name(const char *name);
/** LS_FLAG_SEEN -> "\\Seen"; NULL if not a single known flag. */
LS_EXTERN const char *ls_flag_name(enum ls_flag flag);
/** 1 if kw is a valid keyword (an IMAP atom of 1..100 bytes), else 0. */
LS_EXTERN int ls_flag_keyword_valid(const char *kw);

#ifdef __cplusplus
}
#endif
#endif

/*
 * libstore/names.h - mailbox names: validation, the internal name <-> the
 * name a user sees ("user.bovik.x" <-> "INBOX.x"), and IMAP modified UTF-7.
 * Pure functions: none touches the store. sep is the store's hierarchy
 * separator (ls_store_separator()). Every string returned through `out` is
 * malloc'd: release it with ls_free.
 */
#ifndef LIBSTORE_NAMES_H
#define LIBSTORE_NAMES_H

#include "libstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Validate an internal mailbox name. Errors: LS_EBADNAME (message says why). */
LS_EXTERN int ls_name_validate(const char *name, char sep);
/** Internal -> the name `user` sees ("user.bovik.x" -> "INBOX.x").
 *  Errors: LS_ENOMEM. */
LS_EXTERN int ls_name_to_user(const char *internal, const char *user, char sep, char **out);
/** What `user` typed -> internal ("INBOX.x" -> "user.bovik.x"), validated.
 *  Errors: LS_EBADNAME, LS_ENOMEM. */
LS_EXTERN int ls_name_from_user(const char *external, const char *user, char sep, char **out);
/** UTF-8 -> IMAP modified UTF-7 (RFC 3501 5.1.3). Errors: LS_EBADNAME, LS_ENOMEM. */
LS_EXTERN int ls_name_to_mutf7(const char *utf8, char **out);
/** IMAP modified UTF-7 -> UTF-8. Errors: LS_EBADNAME, LS_ENOMEM. */
LS_EXTERN int ls_name_from_mutf7(const char *mutf7, char **out);

#ifdef __cplusplus
}
#endif
#endif

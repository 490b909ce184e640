/*
 * libstore/session.h - sessions: a store plus an acting identity, through
 * which every mailbox, message, ACL, quota and subscription call acts.
 */
#ifndef LIBSTORE_SESSION_H
#define LIBSTORE_SESSION_H

#include "libstore/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Start a session acting as identity (a user name; NULL = administrator).
 * Errors: LS_EBADNAME for an invalid identity, LS_ENOMEM.
 * The session must be freed with ls_session_free() before the store closes.
 */
LS_EXTERN int ls_session_new(ls_store *st, const char *identity, ls_session **out);
LS_EXTERN void ls_session_free(ls_session *s);
/** The session's identity, or NULL for the administrator. */
LS_EXTERN const char *ls_session_identity(const ls_session *s);
LS_EXTERN ls_store *ls_session_store(const ls_session *s);

#ifdef __cplusplus
}
#endif
#endif

/*
 * libstore/subs.h - subscriptions (IMAP SUBSCRIBE/LSUB). Annotations, which
 * were declared here before, are in annotation.h (included for them).
 */
#ifndef LIBSTORE_SUBS_H
#define LIBSTORE_SUBS_H

#include "libstore/mailbox.h"
#include "libstore/annotation.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Subscribe `user` to `mailbox` (an internal name; it need not exist).
 * A session acting as an identity may change only its own subscriptions.
 * Errors: LS_EBADNAME, LS_EPERM.
 */
LS_EXTERN int ls_subs_add(ls_session *s, const char *user, const char *mailbox);
LS_EXTERN int ls_subs_remove(ls_session *s, const char *user, const char *mailbox);
/** LSUB: the subscriptions of `user` matching pattern (NULL: all), sorted. */
LS_EXTERN int ls_subs_list(ls_session *s, const char *user, const char *pattern, ls_mailbox_list_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif

/*
 * libstore/subs.h - subscriptions (IMAP SUBSCRIBE/LSUB) and annotations
 * (RFC 5464 METADATA at mailbox level, with RFC 6154 special-use).
 */
#ifndef LIBSTORE_SUBS_H
#define LIBSTORE_SUBS_H

#include "libstore/mailbox.h"

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

/**
 * Set (value non-NULL) or remove (value NULL) a mailbox annotation. entry is
 * "/shared/NAME" (needs `n`, changes it for everyone) or "/private/NAME"
 * (the session's own value; needs `l`). "/private/specialuse" takes a
 * space-separated list of \All \Archive \Drafts \Flagged \Junk \Sent \Trash.
 * The values of one mailbox are limited to `annotation_size_limit` bytes in
 * total (LS_ELIMIT). Errors: LS_EINVAL (bad entry name or value), LS_EPERM.
 */
LS_EXTERN int ls_annotation_set(ls_session *s, const char *mailbox, const char *entry, const char *value);
/** Called per annotation: entry and value. */
typedef int (*ls_annotation_cb)(const char *entry, const char *value, void *arg);
/** The annotations of `mailbox` visible to the session (entry NULL: all). */
LS_EXTERN int ls_annotation_get(ls_session *s, const char *mailbox, const char *entry, ls_annotation_cb cb,
                                void *arg);

#ifdef __cplusplus
}
#endif
#endif

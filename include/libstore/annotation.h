/*
 * libstore/annotation.h - mailbox annotations (RFC 5464 METADATA at mailbox
 * level, with RFC 6154 special-use).
 */
#ifndef LIBSTORE_ANNOTATION_H
#define LIBSTORE_ANNOTATION_H

#include "libstore/session.h"

#ifdef __cplusplus
extern "C" {
#endif

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

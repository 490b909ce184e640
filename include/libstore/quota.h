/*
 * libstore/quota.h - quota roots (RFC 9208).
 *
 * A quota root is the name of an existing mailbox; it governs every mailbox
 * at or below it that has no nearer root. Resources: STORAGE (usage kept in
 * bytes, shown and limited in KiB, rounded up), MESSAGE (count), MAILBOX
 * (count). Every copy of a message is charged in full. Usage changes in the
 * same transaction as the change that causes it; a change that would exceed
 * a limit fails with LS_EOVERQUOTA and changes nothing. MOVE within one
 * root, expunge and delete never fail for quota.
 */
#ifndef LIBSTORE_QUOTA_H
#define LIBSTORE_QUOTA_H

#include "libstore/session.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ls_quota_resource {
    LS_QUOTA_STORAGE = 0,   /**< limit in KiB; usage in bytes */
    LS_QUOTA_MESSAGE = 1,
    LS_QUOTA_MAILBOX = 2,
    LS_QUOTA_NRESOURCES = 3
};
#define LS_QUOTA_UNLIMITED (-1)    /**< no limit for this resource */
#define LS_QUOTA_UNCHANGED (-2)    /**< ls_quota_set: keep the current limit */

typedef struct ls_quota {
    char root[512];
    int64_t limit[LS_QUOTA_NRESOURCES];   /**< LS_QUOTA_UNLIMITED or the limit */
    uint64_t usage[LS_QUOTA_NRESOURCES];  /**< STORAGE in bytes */
} ls_quota;

/** The resource's IMAP name ("STORAGE", ...; "UNKNOWN" if res is not one)
 *  and back (-1 if the name is unknown). */
LS_EXTERN const char *ls_quota_resource_name(enum ls_quota_resource res);
LS_EXTERN int ls_quota_resource_parse(const char *name);

/**
 * Set limits of `root` (administrators only), making it a root if it is not
 * one: its usage is then computed from the mailboxes it governs.
 * limits[i] is a limit, LS_QUOTA_UNLIMITED, or LS_QUOTA_UNCHANGED.
 * Errors: LS_ENOTFOUND (no such mailbox), LS_EPERM, LS_EINVAL.
 */
LS_EXTERN int ls_quota_set(ls_session *s, const char *root, const int64_t limits[LS_QUOTA_NRESOURCES]);

/** Remove the root (administrators only). */
LS_EXTERN int ls_quota_remove(ls_session *s, const char *root);

/** GETQUOTA. Needs `r` or `l` on the root's mailbox (administrators always). */
LS_EXTERN int ls_quota_get(ls_session *s, const char *root, ls_quota *out);

/** GETQUOTAROOT: the root governing `mailbox` (needs `r`), malloc'd; LS_ENOTFOUND if none. */
LS_EXTERN int ls_quota_root_of(ls_session *s, const char *mailbox, char **root);

/** Every root whose name starts with prefix (NULL: all), in name order. */
typedef int (*ls_quota_cb)(const ls_quota *q, void *arg);
LS_EXTERN int ls_quota_foreach(ls_session *s, const char *prefix, ls_quota_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif

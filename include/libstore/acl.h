/*
 * libstore/acl.h - access control lists (RFC 4314).
 *
 * Rights: l r s w i p k x t e a n (and the obsolete c = k x, d = t e of
 * RFC 2086). Identifiers: user names, "anyone", "group:NAME", and the
 * negative form "-ID". The rights of an identity on a mailbox are the union
 * of the rights of every entry naming it (its name, anyone, its groups),
 * minus the rights of every matching negative entry; the owner of
 * "user.NAME..." always has l k x a n; `admins` have every right. Every
 * call that takes an ls_session enforces them; a mailbox the session may
 * not `l` is reported as nonexistent (LS_ENOTFOUND), never as forbidden.
 */
#ifndef LIBSTORE_ACL_H
#define LIBSTORE_ACL_H

#include "libstore/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Set the rights of `id` on `mailbox` (needs `a`). `rights` replaces the
 * entry ("lrs"), or adds to it ("+w") or removes from it ("-w") as in
 * RFC 4314 SETACL. Setting no rights removes the entry.
 * Errors: LS_ENOTFOUND, LS_EPERM, LS_EINVAL (unknown right letter, bad identifier).
 */
LS_EXTERN int ls_acl_set(ls_session *s, const char *mailbox, const char *id, const char *rights);

/** Remove the entry of `id` (needs `a`). Removing an absent entry is not an error. */
LS_EXTERN int ls_acl_delete(ls_session *s, const char *mailbox, const char *id);

/** Called per ACL entry, in stored order; return non-zero to stop. */
typedef int (*ls_acl_cb)(const char *id, const char *rights, void *arg);
/** GETACL (needs `a`; an administrator always may). */
LS_EXTERN int ls_acl_get(ls_session *s, const char *mailbox, ls_acl_cb cb, void *arg);

/** MYRIGHTS: the session's rights as letters in canonical order into rights[13]. */
LS_EXTERN int ls_acl_myrights(ls_session *s, const char *mailbox, char rights[13]);

/**
 * Group membership for "group:NAME" identifiers: return 1 if `user` is a
 * member of group `group` (NAME without "group:"). A server registers its
 * resolver once per store; without one, groups come from `groupsfile`
 * (lines "group:NAME: user1 user2 ...") when it is configured.
 */
typedef int (*ls_acl_group_cb)(const char *group, const char *user, void *arg);
/** Register the resolver of `st`; it replaces an earlier one. */
LS_EXTERN void ls_acl_set_group_resolver(ls_store *st, ls_acl_group_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif

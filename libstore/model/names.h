/*
 * Mailbox names (docs/contract.md §1.2). Internal names use the configured hierarchy
 * separator ('.' or '/'): "user.bovik.work" or "user/bovik/work". The user
 * view maps "user<sep>NAME" to "INBOX" for user NAME.
 */
#ifndef LS_MODEL_NAMES_H
#define LS_MODEL_NAMES_H

#include <stddef.h>

#define LS_NAME_MAX 490

/* Validate an internal name: valid UTF-8, 1..490 bytes, no empty component,
 * no leading/trailing separator, no control characters (0x00-0x1f, 0x7f), no
 * '%' or '*'; "user" alone is invalid; "user<sep>NAME..." needs a valid user
 * name (non-empty; cannot contain the separator by construction).
 * Errors: LS_EBADNAME with a message naming the problem. */
int ls_name_validate(const char *name, char sep);

/* Validate a user identifier (as used in user.NAME, ACLs, --as): 1..485 bytes (a mailbox name is at most 490),
 * no control characters, no space, no separator, not "anyone", not starting
 * with '-' or "group:". Errors: LS_EBADNAME. */
int ls_user_validate(const char *user, char sep);

/* If name is "user<sep>U" or below, copy U into a malloc'd *user and return 1;
 * else 0 (and *user = NULL). -> owner of a mailbox. */
int ls_name_owner(const char *name, char sep, char **user);

/* Internal -> what `user` sees: "user.bovik" -> "INBOX", "user.bovik.x" ->
 * "INBOX.x" when user is bovik; other names unchanged. user may be NULL
 * (no mapping). Result malloc'd. */
int ls_name_to_user(const char *internal, const char *user, char sep, char **out);

/* What `user` typed -> internal: "INBOX" (any case) -> "user.U",
 * "INBOX<sep>x" -> "user.U<sep>x"; other names unchanged. With user NULL,
 * INBOX is an error (LS_EBADNAME). Result malloc'd and validated. */
int ls_name_from_user(const char *external, const char *user, char sep, char **out);

/* IMAP modified UTF-7 (RFC 3501 §5.1.3). Errors: LS_EBADNAME for invalid
 * input (bad UTF-8 / bad base64 / non-canonical encoding). Results malloc'd. */
int ls_mutf7_encode(const char *utf8, char **out);
int ls_mutf7_decode(const char *mutf7, char **out);

/* IMAP LIST pattern match: '*' matches anything, '%' anything but sep.
 * Matching is case-sensitive except that a leading "INBOX" is matched
 * case-insensitively by callers who map names first. 1 if it matches. */
int ls_pattern_match(const char *pattern, const char *name, char sep);

/* 1 if `prefix` is a proper ancestor of name ("a.b" of "a.b.c", not "a.bc"). */
int ls_name_is_ancestor(const char *prefix, const char *name, char sep);

#endif

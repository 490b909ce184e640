/*
 * Mailbox names (docs/contract.md §1.2). Internal names use the configured hierarchy
 * separator ('.' or '/'): "user.bovik.work" or "user/bovik/work". The user
 * view maps "user<sep>NAME" to "INBOX" for user NAME.
 *
 * What a name may hold (docs/admin.md, "Mailbox and user names"): a name is
 * shown to people, logged, and may one day name a directory, so it holds
 * only characters that look like what they are and cannot climb out of a
 * directory: valid UTF-8 without overlong forms, no control characters
 * (C0, DEL, C1), no bidirectional controls (which make one name display as
 * another), no line or paragraph separators, no part "." or "..", no '/'
 * unless it is the separator, no empty part.
 */
#ifndef LS_MODEL_NAMES_H
#define LS_MODEL_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* The public half of this module (ls_name_validate, ls_name_to_user,
 * ls_name_from_user, ls_name_to_mutf7, ls_name_from_mutf7) is declared in the
 * public header with LS_EXTERN. names.c and mutf7.c must see that
 * declaration: without it they are compiled hidden and libstore.so does not
 * export them (tests/install/check_exports.py catches that). Their full
 * contracts are below. */
#include "libstore/mailbox.h"

#define LS_NAME_MAX 490

/* ls_name_validate(name, sep) (public): validate an internal name:
 * 1..490 bytes of valid UTF-8 holding no refused character (see
 * ls__name_char_refused) and no '%' or '*'; no empty part, no leading or
 * trailing separator, no part "." or ".."; with sep '.', no '/'. "user"
 * alone is invalid; "user<sep>NAME..." needs a valid user name
 * (ls__user_validate). Errors: LS_EBADNAME with a message naming the problem
 * and the byte where it is. */

/* Validate a user identifier (as used in user.NAME, ACLs, --as): 1..485
 * bytes (a mailbox name is at most 490), the characters of a name, no
 * space, no separator and no '/', not "." or "..", not "anyone", not
 * starting with '-' or "group:". Errors: LS_EBADNAME. */
int ls__user_validate(const char *user, char sep);

/* Decode one UTF-8 code point at s into *cp; returns its length (1..4), or 0
 * if invalid (overlong, surrogate, above U+10FFFF, truncated). s must be
 * NUL-terminated (a NUL ends a truncated sequence). */
size_t ls__utf8_decode(const unsigned char *s, uint32_t *cp);

/* A short reason if code point cp may not appear in a mailbox or user name
 * ("control character", "bidirectional control", "line separator"), else
 * NULL. */
const char *ls__name_char_refused(uint32_t cp);

/* If name is "user<sep>U" or below, copy U into a malloc'd *user and return 1;
 * else 0 (and *user = NULL). -> owner of a mailbox. */
int ls__name_owner(const char *name, char sep, char **user);

/* ls_name_to_user(internal, user, sep, out) (public): internal -> what
 * `user` sees: "user.bovik" -> "INBOX", "user.bovik.x" -> "INBOX.x" when
 * user is bovik; other names unchanged. user may be NULL (no mapping).
 * Result malloc'd. */

/* ls_name_from_user(external, user, sep, out) (public): what `user` typed ->
 * internal: "INBOX" (any case) -> "user.U", "INBOX<sep>x" -> "user.U<sep>x";
 * other names unchanged. With user NULL, INBOX is an error (LS_EBADNAME).
 * Result malloc'd and validated. */

/* ls_name_to_mutf7(utf8, out), ls_name_from_mutf7(mutf7, out) (public): IMAP
 * modified UTF-7 (RFC 3501 §5.1.3). Errors: LS_EBADNAME for invalid input
 * (bad UTF-8 / bad base64 / non-canonical encoding / an encoded NUL).
 * Results malloc'd. */

/* IMAP LIST pattern match: '*' matches anything, '%' anything but sep.
 * Matching is case-sensitive except that a leading "INBOX" is matched
 * case-insensitively by callers who map names first. 1 if it matches. */
int ls__pattern_match(const char *pattern, const char *name, char sep);

/* 1 if `prefix` is a proper ancestor of name ("a.b" of "a.b.c", not "a.bc"). */
int ls__name_is_ancestor(const char *prefix, const char *name, char sep);

#endif

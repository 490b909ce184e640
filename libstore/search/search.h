/*
 * IMAP SEARCH (RFC 3501 §6.4.4, plus MODSEQ of RFC 7162).
 *
 * The criteria come as argv-style tokens, as a shell passes them to
 * `mailstore search MAILBOX CRITERIA...`:
 *     {"OR", "FROM", "bob", "SUBJECT", "hello world", "NOT", "(", "DELETED", ")"}
 * Keys are case-insensitive. Parentheses may stand alone or be attached to a
 * key ("(DELETED", "DELETED)", "(1:5)"). An argument (a string, number, date,
 * set) is one token taken literally (the shell already removed any quotes);
 * inside parentheses, closing parentheses attached to the end of an argument
 * close the list ("(FROM bob)" -> FROM "bob"), as long as one byte of the
 * argument remains. An optional leading "CHARSET UTF-8" or "CHARSET US-ASCII"
 * is accepted; other charsets are refused.
 *
 * Keys: ALL ANSWERED BCC BEFORE BODY CC DELETED DRAFT FLAGGED FROM HEADER
 * KEYWORD LARGER MODSEQ NEW NOT OLD ON OR RECENT SEEN SENTBEFORE SENTON
 * SENTSINCE SINCE SMALLER SUBJECT TEXT TO UID UNANSWERED UNDELETED UNDRAFT
 * UNFLAGGED UNKEYWORD UNSEEN, a sequence set, and "(" key... ")".
 * MODSEQ takes "MODSEQ n" and the RFC 7162 form "MODSEQ /flags/ENTRY TYPE n"
 * (the entry is accepted and ignored: each message has one MODSEQ).
 *
 * Semantics chosen (where the RFC leaves room):
 *  - BEFORE/ON/SINCE compare the calendar day of the internal date in the
 *    internal date's own zone (as Dovecot does), disregarding the time.
 *    SENTBEFORE/SENTON/SENTSINCE do the same with the Date: header's day in
 *    its own zone; a message with no usable Date: (sentdate 0) uses its
 *    internal date instead, as Cyrus does.
 *  - String keys match a case-insensitive substring (ASCII folding only;
 *    other UTF-8 bytes must match exactly). An empty string matches every
 *    message that has the field.
 *  - FROM TO CC BCC SUBJECT HEADER match the unfolded field value with MIME
 *    encoded-words decoded (every occurrence of the field in the message
 *    header; only the first when taken from the cached fields). The cached
 *    fields (ls_search_msg.fields) are used when the field is one of them,
 *    else the message header is read.
 *  - BODY matches each leaf part's body separately, base64 and
 *    quoted-printable decoded; TEXT also matches the header (field names and
 *    decoded values). No charset conversion is done.
 *  - KEYWORD/UNKEYWORD compare keywords case-insensitively and also accept a
 *    system flag name ("KEYWORD \Seen" = SEEN).
 *  - '*' in a set stands for the largest UID / sequence number given to
 *    ls__search_match; "5:*" with a largest UID of 3 means 3:5 (RFC 3501).
 */
#ifndef LS_SEARCH_SEARCH_H
#define LS_SEARCH_SEARCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_search ls_search;

/* One message, as the caller knows it. Cheap fields are filled in; the
 * message itself is read only through load_message, and only if a key
 * needs it. */
typedef struct ls_search_msg {
    uint32_t uid, seq;
    unsigned flags;             /* LS_FLAG_* bits from core/util.h */
    int recent;
    const char *const *keywords;
    size_t nkeywords;
    uint64_t size, modseq;
    int64_t internaldate;       /* seconds since the epoch */
    int16_t internal_tz;        /* minutes east of UTC */
    int64_t sentdate;           /* from Date:; 0 if absent or unparseable */
    int16_t sent_tz;
    /* Cached header fields: raw lines of From To Cc Bcc Subject Date
     * Message-ID In-Reply-To References Reply-To Sender, as the cache record
     * keeps them (ls_mime_info.fields); may be NULL. */
    const char *fields;
    size_t fields_len;
    /* Load the whole message; returns 0 or an LS_E* code (recording a
     * message with ls__err). Called at most once per ls__search_match call,
     * and only when needed. The bytes must stay valid until that call
     * returns. May be NULL when no key needs the message. */
    int (*load_message)(void *ctx, const char **msg, size_t *len);
    void *ctx;
} ls_search_msg;

/* Parse criteria. On success *out is owned by the caller (ls__search_free).
 * Errors: LS_EINVAL with a message naming the bad token, e.g.
 * "search: unknown key 'FORM' (argument 1)"; LS_ENOMEM. */
int ls__search_parse(int argc, const char *const *argv, ls_search **out);

/* Evaluate on one message: *match = 1 or 0. max_uid and max_seq give the
 * value of '*' in UID and sequence sets. Errors: whatever load_message
 * returns (LS_EINVAL if it is NULL but needed), LS_ENOMEM. */
int ls__search_match(const ls_search *s, const ls_search_msg *m, uint32_t max_uid, uint32_t max_seq,
                    int *match);

/* 1 if some key may need the message itself (BODY, TEXT, HEADER of a field
 * that is not among the cached ones). */
int ls__search_needs_message(const ls_search *s);

/* 1 if some key reads the cached header fields (FROM, SUBJECT, HEADER of a
 * cached field, ...), so the caller knows whether to fetch them. */
int ls__search_needs_fields(const ls_search *s);

/* 1 if some key uses sequence numbers (a caller that has only UIDs can then
 * skip numbering the messages). */
int ls__search_needs_seq(const ls_search *s);

/* The parsed criteria in a normalised, readable form, e.g.
 * "(OR (FROM \"bob\") (NOT DELETED))"; malloc'd, NULL on ENOMEM. For tests
 * and debugging. */
char *ls__search_format(const ls_search *s);

void ls__search_free(ls_search *s);

#endif

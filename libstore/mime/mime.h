/*
 * The MIME parser and the IMAP strings derived from it.
 *
 * ls__mime_analyze() parses a whole RFC 5322 message held in memory (CRLF line
 * ends expected, but bare LF and any other byte, NUL included, must be
 * survived) in one pass, and returns everything the cache record needs:
 * ENVELOPE, BODYSTRUCTURE and BODY exactly as Dovecot 2.3 returns them for
 * FETCH, the byte offsets of every MIME part, the chosen header fields, and
 * the sent date. It never fails on bad input: malformed messages get a
 * best-effort result (only LS_ENOMEM can fail). Depth and part count are
 * bounded (LS_MIME_MAX_DEPTH, LS_MIME_MAX_PARTS); parts beyond are treated
 * as opaque bodies.
 */
#ifndef LS_MIME_MIME_H
#define LS_MIME_MIME_H

#include <stddef.h>
#include <stdint.h>

/* The limits are Dovecot 2.3's (100 nested, 10000 parts in all), so that a
 * message near them gets the same BODYSTRUCTURE as Dovecot gives. The
 * section table holds at most LS_MIME_MAX_PARTS + 2 entries (the message
 * itself and its part "1" come on top of the parser's parts). */
#define LS_MIME_MAX_DEPTH 100
#define LS_MIME_MAX_PARTS 10000

/* One entry per addressable IMAP section. */
typedef struct ls_mime_part {
    char section[LS_MIME_MAX_DEPTH * 5]; /* "" = whole message, "1", "1.2", ... */
    uint8_t kind;          /* LS_MIME_LEAF, LS_MIME_MULTIPART, LS_MIME_MESSAGE */
    uint64_t hdr_off;      /* this part's MIME header (the message header for "") */
    uint64_t hdr_len;      /* including the blank line that ends it, if present */
    uint64_t body_off;     /* this part's body */
    uint64_t body_len;
    /* For LS_MIME_MESSAGE (message/rfc822, message/global): the embedded
     * message's header and body, for SECTION.HEADER and SECTION.TEXT. */
    uint64_t msg_hdr_off, msg_hdr_len, msg_body_off, msg_body_len;
} ls_mime_part;

enum { LS_MIME_LEAF = 0, LS_MIME_MULTIPART = 1, LS_MIME_MESSAGE = 2 };

/* The chosen header fields kept in the cache record, in this order. */
#define LS_MIME_NFIELDS 11
extern const char *const ls__mime_field_names[LS_MIME_NFIELDS];
/* = { "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID",
 *     "In-Reply-To", "References", "Reply-To", "Sender" } */

typedef struct ls_mime_info {
    char *envelope;        /* "(\"date\" \"subject\" ((...)) ...)", NUL-terminated */
    char *bodystructure;   /* FETCH BODYSTRUCTURE value (extension data included) */
    char *body;            /* FETCH BODY value (no extension data) */
    ls_mime_part *parts;   /* parts[0] is the whole message (section "") */
    size_t nparts;
    /* The raw header lines of the chosen fields, as they appear in the
     * message (name, colon, value with folding, CRLF), concatenated in
     * message order; the first occurrence of each field only. */
    char *fields;
    size_t fields_len;
    uint64_t header_size;  /* bytes of the message header incl. the blank line */
    uint32_t body_lines;   /* number of lines in the message body */
    int64_t sent_date;     /* from Date:, seconds since the epoch; 0 if absent/unparseable */
    int16_t sent_tz;       /* zone of Date:, minutes east of UTC */
} ls_mime_info;

/* Parse msg[0..len). On success fills *out (free with ls__mime_info_free).
 * Errors: LS_ENOMEM only. */
int ls__mime_analyze(const char *msg, size_t len, ls_mime_info *out);
void ls__mime_info_free(ls_mime_info *info);

/* Find the bytes of an IMAP FETCH section in the message: section is
 * "" (whole), "HEADER", "TEXT", "1", "1.2", "1.2.HEADER", "1.2.TEXT",
 * "1.2.MIME" (case-insensitive keywords). Sets *off and *len.
 * Errors: LS_EINVAL for a malformed spec, LS_ENOTFOUND for a part that does
 * not exist. (HEADER.FIELDS is the caller's job: it filters the HEADER bytes.) */
int ls__mime_section_locate(const ls_mime_part *parts, size_t nparts, const char *section,
                           uint64_t *off, uint64_t *len);

/* Serialize the parts table for the cache record, and back. The encoding is
 * versioned and compact (varints); decode validates every offset against
 * msg_size and fails with LS_ECORRUPT on any inconsistency, never reads out
 * of bounds. Buffers malloc'd. */
int ls__mime_parts_encode(const ls_mime_part *parts, size_t nparts, uint8_t **buf, size_t *len);
int ls__mime_parts_decode(const uint8_t *buf, size_t len, uint64_t msg_size,
                         ls_mime_part **parts, size_t *nparts);

/* Parse an RFC 5322 date (as Dovecot's message_date_parse: tolerant of
 * missing weekday/seconds, obsolete zones). 1 on success, 0 if unparseable. */
int ls__rfc822_date_parse(const char *s, size_t len, int64_t *t, int16_t *tz);

/* Return a malloc'd copy of the value of the first header field named `name`
 * (case-insensitive) in header bytes hdr[0..len), unfolded (CRLF+WSP -> WSP)
 * and with MIME encoded-words decoded to UTF-8 (for SEARCH). NULL if absent. */
char *ls__mime_header_get(const char *hdr, size_t len, const char *name, int decode);

#endif

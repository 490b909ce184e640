/*
 * Private declarations shared by the files of the MIME module.
 *
 * Memory: everything built while analysing one message lives in an arena
 * (mime/arena.c) freed in one go, and growable string buffers (ls_sbuf).
 * Running out of memory anywhere longjmp()s back to the entry point that
 * armed ls__mime_oom_trap, so the parsing code never has to check for NULL
 * and stays close to the rules it implements.
 */
#ifndef LS_MIME_INTERNAL_H
#define LS_MIME_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime/mime.h"

/* ---- out-of-memory escape (oom.c) ---- */

/* The jmp_buf of the innermost active entry point on this thread. */
extern __thread jmp_buf *ls__mime_oom_trap;
__attribute__((noreturn)) void ls__mime_oom(void);
/* Run fn(arg) with the out-of-memory trap armed: 0 when it returned,
 * -1 when it ran out of memory (then arg holds whatever it had built, for
 * the caller to free). */
int ls__mime_guard(void (*fn)(void *), void *arg);
void *ls__mime_xmalloc(size_t n);
void *ls__mime_xrealloc(void *p, size_t n);

/* ---- growable byte string (sbuf.c) ---- */

typedef struct ls_sbuf {
    char *p;
    size_t len, cap;
} ls_sbuf;

void ls__sb_reserve(ls_sbuf *b, size_t extra);
void ls__sb_add(ls_sbuf *b, const void *data, size_t n);
void ls__sb_addc(ls_sbuf *b, char c);
void ls__sb_adds(ls_sbuf *b, const char *s);
void ls__sb_printf(ls_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminate (not counted in len) and return p. */
char *ls__sb_cstr(ls_sbuf *b);
static inline void sb_clear(ls_sbuf *b) { b->len = 0; }
void ls__sb_free(ls_sbuf *b);

/* ---- arena (arena.c) ---- */

typedef struct ls_arena_chunk ls_arena_chunk;
typedef struct ls_arena {
    ls_arena_chunk *head;
    char *cur, *end;
} ls_arena;

void *ls__ar_alloc(ls_arena *a, size_t n);            /* zeroed */
char *ls__ar_strndup(ls_arena *a, const char *s, size_t n);
char *ls__ar_strdup_sb(ls_arena *a, const ls_sbuf *b); /* C string of b, cut at a NUL */
void ls__ar_free(ls_arena *a);

/* ---- RFC 822 tokenizer (rfc822.c), same return convention throughout:
 * 1 = more input follows, 0 = input ended (a value may have been produced),
 * -1 = invalid input. LWSP is skipped after a token, not before. ---- */

typedef struct rfc_ctx {
    const unsigned char *p, *end;
    ls_sbuf *last_comment; /* when set, receives the text of the last comment */
    bool nul_repl;         /* replace NUL in quoted strings/comments by U+FFFD */
} rfc_ctx;

extern const unsigned char ls__rfc_atext[256];
#define RFC_IS_ATEXT(c) (ls__rfc_atext[(unsigned char)(c)] != 0)
#define RFC_IS_TOKEN(c) ((ls__rfc_atext[(unsigned char)(c)] & 3) != 0)
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

static inline void rfc_init(rfc_ctx *c, const void *data, size_t n)
{
    c->p = data;
    c->end = c->p + n;
    c->last_comment = NULL;
    c->nul_repl = false;
}
int ls__rfc_skip_comment(rfc_ctx *c);
int ls__rfc_skip_lwsp(rfc_ctx *c);
int ls__rfc_parse_atom(rfc_ctx *c, ls_sbuf *out);
int ls__rfc_parse_dot_atom(rfc_ctx *c, ls_sbuf *out);
int ls__rfc_parse_mime_token(rfc_ctx *c, ls_sbuf *out);
int ls__rfc_parse_quoted_string(rfc_ctx *c, ls_sbuf *out);
int ls__rfc_parse_phrase(rfc_ctx *c, ls_sbuf *out);
int ls__rfc_parse_domain(rfc_ctx *c, ls_sbuf *out);
int ls__rfc_parse_content_type(rfc_ctx *c, ls_sbuf *out);
int ls__rfc_parse_content_param(rfc_ctx *c, ls_sbuf *key, ls_sbuf *value);

/* ---- MIME parameters with RFC 2231 continuations (rfc2231.c) ---- */

typedef struct mime_param {
    const char *name, *value;
} mime_param;

/* Parse "; a=b; c*0=d ..." from c; returns the parameters in the arena. */
void ls__rfc2231_parse(rfc_ctx *c, ls_arena *a, mime_param **params, unsigned *count);

/* ---- addresses (address.c) ---- */

typedef struct mime_addr {
    struct mime_addr *next;
    const char *name, *route, *mailbox, *domain;
} mime_addr;

/* Parse an address-list header value, filling missing parts as Dovecot
 * does ("MISSING_DOMAIN", ...). Groups are a start entry (mailbox = group
 * name, domain NULL) and an end entry (all NULL). */
mime_addr *ls__addr_parse_list(ls_arena *a, const unsigned char *data, size_t n);

/* ---- IMAP string output (quote.c) ---- */

void ls__imap_nstring(ls_sbuf *out, const char *s);       /* NIL, "quoted" or {n} literal */
void ls__imap_nstring_nolf(ls_sbuf *out, const char *s);  /* same, CR/LF removed first */
void ls__imap_string_for_humans(ls_sbuf *out, const unsigned char *s, size_t n);

/* ---- header lines (hdrline.c) ---- */

typedef struct hdr_line {
    /* name: bytes before the colon, trailing LWSP removed; compare with
     * ls__hdr_name_is() (a NUL in the name ends it, as in Dovecot). */
    const char *name;
    size_t name_len;
    /* the raw field: from the start of the name to the end of the last
     * line including its newline */
    size_t raw_off, raw_len;
    /* value of the first line (after ':' and the LWSP that follows it) */
    size_t value_off;
    size_t first_end;   /* end of the first line's content (before [CR]LF) */
    bool multiline;     /* continuation lines follow */
    size_t last_nl;     /* size of the newline ending the last line (0,1,2) */
} hdr_line;

/* Is `pos` the start of an empty line ("\n" or "\r\n")? */
static inline bool hdr_at_eoh(const char *msg, size_t len, size_t pos)
{
    return pos < len && (msg[pos] == '\n' ||
                         (msg[pos] == '\r' && pos + 1 < len && msg[pos + 1] == '\n'));
}
/* Read the logical header field starting at pos (not an empty line). */
void ls__hdr_read(const char *msg, size_t len, size_t pos, hdr_line *h);
/* The unfolded value as Dovecot's parser builds it (lines joined by "\n",
 * CR of CRLF dropped). Returns a pointer into msg for one-line fields,
 * else into scratch. */
const char *ls__hdr_full_value(const char *msg, const hdr_line *h, ls_sbuf *scratch, size_t *n);
bool ls__hdr_name_is(const hdr_line *h, const char *name);
/* Copy a header value as a C string, NUL bytes replaced by U+FFFD. */
char *ls__hdr_strdup(ls_arena *a, const char *v, size_t n);

/* ---- the part tree (parser.c) ---- */

enum {
    MP_MULTIPART = 1 << 0,
    MP_RFC822 = 1 << 1,
    MP_TEXT = 1 << 2,
    MP_IS_MIME = 1 << 3,
    MP_DIGEST = 1 << 4,
    MP_OVERFLOW = 1 << 5,
};

enum { ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO, ENV_CC, ENV_BCC, ENV_NADDR };
typedef struct mime_envelope {
    const char *date, *subject, *in_reply_to, *message_id;
    mime_addr *addr[ENV_NADDR], *tail[ENV_NADDR];
} mime_envelope;

typedef struct mime_data {
    const char *type, *subtype;       /* NULL type = no Content-Type */
    bool type_has_slash;              /* "type/subtype" was well-formed */
    mime_param *type_params;
    unsigned ntype_params;
    const char *encoding, *id, *description, *md5, *location;
    const char *disposition;
    mime_param *disp_params;
    unsigned ndisp_params;
    const char **language;            /* NULL-terminated, or NULL */
    unsigned nlanguage;
} mime_data;

typedef struct mime_node {
    struct mime_node *parent, *children, *last_child, *next;
    unsigned flags;
    unsigned depth;
    uint64_t hdr_off, hdr_len, hdr_vsize, hdr_lines;
    uint64_t body_off, body_len, body_vsize, body_lines;
    mime_data data;
    mime_envelope *env;               /* root and message/rfc822 children */
} mime_node;

typedef struct mime_tree {
    mime_node *root;
    unsigned nnodes;
} mime_tree;

#define MP_MAX_NESTED 100    /* Dovecot's MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS */
#define MP_MAX_TOTAL 10000   /* Dovecot's MESSAGE_PARSER_DEFAULT_MAX_TOTAL_MIME_PARTS */

void ls__mime_parse_tree(const char *msg, size_t len, ls_arena *a, mime_tree *t);

/* Content-* header of a part (partdata.c): name is what follows
 * "Content-", v the unfolded value. */
int ls__partdata_content_type(ls_arena *a, mime_data *d, const char *v, size_t n);
void ls__partdata_header(ls_arena *a, mime_data *d, const char *name_after_content,
                     const char *v, size_t n);
/* Envelope field (envelope.c); ignores names that are not envelope fields. */
void ls__envelope_header(ls_arena *a, mime_envelope *e, const hdr_line *h,
                     const char *v, size_t n);
bool ls__envelope_wants(const hdr_line *h);
void ls__envelope_write(ls_sbuf *out, const mime_envelope *e);

/* BODY / BODYSTRUCTURE (bodystructure.c) */
void ls__bodystructure_write(ls_sbuf *out, const mime_node *n, bool extended);

/* Section table (sections.c) */
int ls__sections_build(const mime_tree *t, ls_mime_part **parts, size_t *nparts);

#endif

/* Private to libstore/search: the parsed criteria tree and text helpers. */
#ifndef LS_SEARCH_INTERNAL_H
#define LS_SEARCH_INTERNAL_H

#include "search/search.h"
#include "core/util.h"

#include <stddef.h>
#include <stdint.h>

enum sn_kind {
    SN_ALL,
    SN_AND,      /* kids[0..nkids) all match */
    SN_OR,       /* kids[0] or kids[1] */
    SN_NOT,      /* not kids[0] */
    SN_FLAG,     /* (flags & flag) != 0, == want */
    SN_KEYWORD,  /* keyword str present, == want */
    SN_RECENT,
    SN_DATE,     /* which/op against day */
    SN_SIZE,     /* LARGER (op > 0) or SMALLER (op < 0) than num */
    SN_MODSEQ,   /* modseq >= num */
    SN_HEADER,   /* field contains str */
    SN_BODY,
    SN_TEXT,
    SN_SEQSET,
    SN_UIDSET,
};

enum { SD_BEFORE = -1, SD_ON = 0, SD_SINCE = 1 };
enum { SD_INTERNAL = 0, SD_SENT = 1 };

/* How expensive a key is to evaluate; AND/OR evaluate cheap keys first so
 * that flags or sets can decide before the message is read. */
enum { COST_CHEAP = 0, COST_FIELDS = 1, COST_MESSAGE = 2 };

typedef struct sn {
    int kind;
    int cost;             /* max cost over the subtree */
    struct sn **kids;
    size_t nkids;
    unsigned flag;        /* SN_FLAG: LS_FLAG_* bit */
    int want;             /* SN_FLAG / SN_KEYWORD: 1 set, 0 unset */
    int op, which;        /* SN_DATE: SD_*; SN_SIZE: +1 larger, -1 smaller */
    int64_t day;          /* SN_DATE: day start, 00:00 UTC of the date */
    uint64_t num;         /* SN_SIZE / SN_MODSEQ */
    char *field;          /* SN_HEADER: field name as given */
    char *str;            /* string argument; for matching, folded copy below */
    char *folded;         /* str with ASCII upper case folded to lower case */
    size_t folded_len;
    ls_set set;           /* SN_SEQSET / SN_UIDSET */
} sn;

struct ls_search {
    sn *root;
};

/* text.c */

/* Fold ASCII A-Z to a-z in place. */
void ls__search_fold(char *s, size_t n);
/* 1 if needle (already folded) occurs in the folded haystack. */
int ls__search_contains(const char *hay, size_t hlen, const char *needle, size_t nlen);
/* 1 if name (case-insensitive) is one of the cached header fields. */
int ls__search_field_cached(const char *name);
/* Length of the header of msg (up to and including the blank line, or all
 * of msg if there is none). */
size_t ls__search_header_len(const char *msg, size_t len);

/* Call fn for every header field of hdr[0..len) whose name equals `name`
 * (case-insensitive; NULL = every field), giving the raw field bytes
 * (name, colon, value, folding, line end). Stops when fn returns non-zero
 * and returns that value. */
typedef int (*ls_search_field_fn)(void *arg, const char *field, size_t flen, const char *name,
                                  size_t nlen);
int ls__search_each_field(const char *hdr, size_t len, const char *name, ls_search_field_fn fn, void *arg);

/* Decode a part body per its Content-Transfer-Encoding ("base64",
 * "quoted-printable"; anything else is copied). Returns malloc'd bytes in
 * *out (NULL on ENOMEM), length in *outlen. */
char *ls__search_decode_body(const char *cte, const char *body, size_t len, size_t *outlen);

#endif

/*
 * SEARCH criteria parser: argv-style tokens -> a tree of sn nodes.
 *
 * Tokens are split further only where the grammar allows it: a token read
 * where a key is expected may carry leading '(' and trailing ')'; a token
 * read as an argument is taken whole, except that inside parentheses its
 * trailing ')' close lists (see search.h). This keeps "SUBJECT (urgent)" at
 * top level a literal subject, while "(FROM bob)" works as typed.
 */
#include "search/internal.h"
#include "core/error.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Deeper nesting than this is refused, so that recursion stays bounded
 * whatever the input ("NOT NOT NOT ..."). */
#define MAX_NEST 100
#define EXCERPT_MAX 60

enum { T_END, T_OPEN, T_CLOSE, T_WORD };

typedef struct tok {
    int kind;
    const char *s;   /* T_WORD: the word (not NUL-terminated when split) */
    size_t n;
    int argno;       /* 1-based position in argv, for messages */
} tok;

typedef struct lexer {
    int argc;
    const char *const *argv;
    int i;           /* current token */
    size_t off;      /* bytes of argv[i] already consumed */
    int depth;       /* open parentheses */
    int nest;        /* NOT/OR/list recursion depth */
} lexer;

/* Quote a word for a message: printable, bounded. */
static const char *excerpt(const char *s, size_t n, char *buf, size_t bufsize)
{
    size_t k = n < EXCERPT_MAX ? n : EXCERPT_MAX;
    if (k > bufsize - 4) k = bufsize - 4;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (k < n) memcpy(buf + k, "...", 4);
    else buf[k] = 0;
    return buf;
}
#define EXBUF (EXCERPT_MAX + 4)

/* Advance past n bytes of the current token. */
static void advance(lexer *lx, size_t n)
{
    lx->off += n;
    if (lx->argv[lx->i][lx->off] == 0) { lx->i++; lx->off = 0; }
}

/* The next token in key position, without consuming it. */
static void peek_key(const lexer *lx, tok *t)
{
    memset(t, 0, sizeof *t);
    t->argno = lx->i + 1;
    if (lx->i >= lx->argc) { t->kind = T_END; return; }
    const char *s = lx->argv[lx->i] + lx->off;
    if (*s == '(') { t->kind = T_OPEN; t->n = 1; return; }
    if (*s == ')') { t->kind = T_CLOSE; t->n = 1; return; }
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ')') n--;  /* keys never end in ')' */
    t->kind = T_WORD;
    t->s = s;
    t->n = n;
}

static void next_key(lexer *lx, tok *t)
{
    peek_key(lx, t);
    if (t->kind == T_END) return;
    if (t->n == 0) { lx->i++; lx->off = 0; return; }  /* an empty argv entry */
    advance(lx, t->n);
}

/* The next token as an argument of `key`. */
static int next_arg(lexer *lx, const char *key, tok *t)
{
    memset(t, 0, sizeof *t);
    t->argno = lx->i + 1;
    /* Only ')' can remain of a split token: "(FROM)" lacks its argument. */
    if (lx->i >= lx->argc || lx->off > 0)
        return ls__err(LS_EINVAL, "search: %s needs an argument (argument %d)", key, t->argno);
    const char *s = lx->argv[lx->i];
    size_t n = strlen(s);
    int k = 0;
    while (k < lx->depth && n > 1 && s[n - 1] == ')') { n--; k++; }
    t->kind = T_WORD;
    t->s = s;
    t->n = n;
    if (k) lx->off = n;
    else { lx->i++; lx->off = 0; }
    return LS_OK;
}

/* ------------------------------------------------------------ nodes */

static sn *node_new(int kind)
{
    sn *n = calloc(1, sizeof *n);
    if (n) n->kind = kind;
    return n;
}

static void node_free(sn *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->nkids; i++) node_free(n->kids[i]);
    free(n->kids);
    free(n->field);
    free(n->str);
    free(n->folded);
    ls_set_dispose(&n->set);
    free(n);
}

static int add_kid(sn *parent, sn *kid)
{
    sn **k = realloc(parent->kids, (parent->nkids + 1) * sizeof *k);
    if (!k) return ls__err(LS_ENOMEM, "search: out of memory");
    parent->kids = k;
    k[parent->nkids++] = kid;
    if (kid->cost > parent->cost) parent->cost = kid->cost;
    return LS_OK;
}

static int oom(void) { return ls__err(LS_ENOMEM, "search: out of memory"); }

/* ------------------------------------------------------------ keys */

enum kt {
    KT_ALL, KT_FLAG, KT_NEW, KT_OLD, KT_RECENT, KT_KEYWORD, KT_DATE, KT_SIZE, KT_MODSEQ,
    KT_FIELD, KT_HEADER, KT_BODY, KT_TEXT, KT_NOT, KT_OR, KT_UID
};

typedef struct keydef {
    const char *name;
    int type;
    unsigned flag;      /* KT_FLAG */
    int want;           /* KT_FLAG, KT_KEYWORD */
    int op, which;      /* KT_DATE, KT_SIZE */
    const char *field;  /* KT_FIELD */
} keydef;

static const keydef keys[] = {
    { "ALL", KT_ALL, 0, 0, 0, 0, NULL },
    { "ANSWERED", KT_FLAG, LS_FLAG_ANSWERED, 1, 0, 0, NULL },
    { "BCC", KT_FIELD, 0, 0, 0, 0, "Bcc" },
    { "BEFORE", KT_DATE, 0, 0, SD_BEFORE, SD_INTERNAL, NULL },
    { "BODY", KT_BODY, 0, 0, 0, 0, NULL },
    { "CC", KT_FIELD, 0, 0, 0, 0, "Cc" },
    { "DELETED", KT_FLAG, LS_FLAG_DELETED, 1, 0, 0, NULL },
    { "DRAFT", KT_FLAG, LS_FLAG_DRAFT, 1, 0, 0, NULL },
    { "FLAGGED", KT_FLAG, LS_FLAG_FLAGGED, 1, 0, 0, NULL },
    { "FROM", KT_FIELD, 0, 0, 0, 0, "From" },
    { "HEADER", KT_HEADER, 0, 0, 0, 0, NULL },
    { "KEYWORD", KT_KEYWORD, 0, 1, 0, 0, NULL },
    { "LARGER", KT_SIZE, 0, 0, 1, 0, NULL },
    { "MODSEQ", KT_MODSEQ, 0, 0, 0, 0, NULL },
    { "NEW", KT_NEW, 0, 0, 0, 0, NULL },
    { "NOT", KT_NOT, 0, 0, 0, 0, NULL },
    { "OLD", KT_OLD, 0, 0, 0, 0, NULL },
    { "ON", KT_DATE, 0, 0, SD_ON, SD_INTERNAL, NULL },
    { "OR", KT_OR, 0, 0, 0, 0, NULL },
    { "RECENT", KT_RECENT, 0, 0, 0, 0, NULL },
    { "SEEN", KT_FLAG, LS_FLAG_SEEN, 1, 0, 0, NULL },
    { "SENTBEFORE", KT_DATE, 0, 0, SD_BEFORE, SD_SENT, NULL },
    { "SENTON", KT_DATE, 0, 0, SD_ON, SD_SENT, NULL },
    { "SENTSINCE", KT_DATE, 0, 0, SD_SINCE, SD_SENT, NULL },
    { "SINCE", KT_DATE, 0, 0, SD_SINCE, SD_INTERNAL, NULL },
    { "SMALLER", KT_SIZE, 0, 0, -1, 0, NULL },
    { "SUBJECT", KT_FIELD, 0, 0, 0, 0, "Subject" },
    { "TEXT", KT_TEXT, 0, 0, 0, 0, NULL },
    { "TO", KT_FIELD, 0, 0, 0, 0, "To" },
    { "UID", KT_UID, 0, 0, 0, 0, NULL },
    { "UNANSWERED", KT_FLAG, LS_FLAG_ANSWERED, 0, 0, 0, NULL },
    { "UNDELETED", KT_FLAG, LS_FLAG_DELETED, 0, 0, 0, NULL },
    { "UNDRAFT", KT_FLAG, LS_FLAG_DRAFT, 0, 0, 0, NULL },
    { "UNFLAGGED", KT_FLAG, LS_FLAG_FLAGGED, 0, 0, 0, NULL },
    { "UNKEYWORD", KT_KEYWORD, 0, 0, 0, 0, NULL },
    { "UNSEEN", KT_FLAG, LS_FLAG_SEEN, 0, 0, 0, NULL },
};

static const keydef *find_key(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strlen(keys[i].name) == n && strncasecmp(keys[i].name, s, n) == 0) return &keys[i];
    return NULL;
}

static int parse_key(lexer *lx, sn **out);

static sn *flag_node(unsigned flag, int want)
{
    sn *n = node_new(SN_FLAG);
    if (n) { n->flag = flag; n->want = want; }
    return n;
}

/* A string argument: kept as given and as a folded copy for matching. */
static int set_string(sn *n, const tok *t)
{
    n->str = strndup(t->s, t->n);
    n->folded = strndup(t->s, t->n);
    if (!n->str || !n->folded) return oom();
    n->folded_len = t->n;
    ls__search_fold(n->folded, n->folded_len);
    return LS_OK;
}

/* number = 1*DIGIT, at most max. */
static int parse_number(const char *key, const tok *t, uint64_t max, uint64_t *out)
{
    char ex[EXBUF];
    uint64_t v = 0;
    if (t->n == 0) goto bad;
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i] < '0' || t->s[i] > '9') goto bad;
        unsigned d = (unsigned)(t->s[i] - '0');
        if (v > (max - d) / 10)
            return ls__err(LS_EINVAL, "search: %s: number '%s' is too large (argument %d)", key,
                          excerpt(t->s, t->n, ex, sizeof ex), t->argno);
        v = v * 10 + d;
    }
    *out = v;
    return LS_OK;
bad:
    return ls__err(LS_EINVAL, "search: %s needs a number, got '%s' (argument %d)", key,
                  excerpt(t->s, t->n, ex, sizeof ex), t->argno);
}

static int key_date(lexer *lx, const keydef *k, sn *n)
{
    tok t;
    int rc = next_arg(lx, k->name, &t);
    if (rc) return rc;
    char buf[64], ex[EXBUF];
    if (t.n >= sizeof buf || (memcpy(buf, t.s, t.n), buf[t.n] = 0, ls_date_parse_search(buf, &n->day)))
        return ls__err(LS_EINVAL, "search: %s: bad date '%s' (argument %d; expected e.g. 1-Feb-1994)",
                      k->name, excerpt(t.s, t.n, ex, sizeof ex), t.argno);
    n->kind = SN_DATE;
    n->op = k->op;
    n->which = k->which;
    return LS_OK;
}

static int key_size(lexer *lx, const keydef *k, sn *n)
{
    tok t;
    int rc = next_arg(lx, k->name, &t);
    if (!rc) rc = parse_number(k->name, &t, UINT64_MAX, &n->num);
    n->kind = SN_SIZE;
    n->op = k->op;
    return rc;
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 §3.1.5).
 * The entry is checked and ignored: each message has one MODSEQ. */
static int key_modseq(lexer *lx, sn *n)
{
    tok t;
    char ex[EXBUF];
    int rc = next_arg(lx, "MODSEQ", &t);
    if (rc) return rc;
    if (t.n > 0 && (t.s[0] == '/' || t.s[0] == '"')) {
        if (t.n < 7 || strncasecmp(t.s + (t.s[0] == '"'), "/flags/", 7) != 0)
            return ls__err(LS_EINVAL, "search: MODSEQ: bad entry name '%s' (argument %d; expected "
                          "/flags/FLAG)", excerpt(t.s, t.n, ex, sizeof ex), t.argno);
        if ((rc = next_arg(lx, "MODSEQ", &t))) return rc;
        if (!((t.n == 3 && strncasecmp(t.s, "all", 3) == 0) || (t.n == 4 && strncasecmp(t.s, "priv", 4) == 0) ||
              (t.n == 6 && strncasecmp(t.s, "shared", 6) == 0)))
            return ls__err(LS_EINVAL, "search: MODSEQ: entry type must be priv, shared or all, got '%s' "
                          "(argument %d)", excerpt(t.s, t.n, ex, sizeof ex), t.argno);
        if ((rc = next_arg(lx, "MODSEQ", &t))) return rc;
    }
    n->kind = SN_MODSEQ;
    return parse_number("MODSEQ", &t, INT64_MAX, &n->num);
}

static int key_keyword(lexer *lx, const keydef *k, sn *n)
{
    tok t;
    char ex[EXBUF];
    int rc = next_arg(lx, k->name, &t);
    if (rc) return rc;
    n->str = strndup(t.s, t.n);
    if (!n->str) return oom();
    /* Lenient: a system flag name works as the flag itself. */
    unsigned bit = ls_flag_from_name(n->str);
    if (bit) { n->kind = SN_FLAG; n->flag = bit; n->want = k->want; return LS_OK; }
    if (strcasecmp(n->str, "\\Recent") == 0) {
        n->kind = SN_RECENT;
        if (k->want) return LS_OK;
        /* UNKEYWORD \Recent = NOT RECENT */
        sn *r = node_new(SN_RECENT);
        if (!r) return oom();
        n->kind = SN_NOT;
        return add_kid(n, r);
    }
    if (!ls_flag_keyword_valid(n->str))
        return ls__err(LS_EINVAL, "search: %s: '%s' is not a valid keyword (argument %d)", k->name,
                      excerpt(t.s, t.n, ex, sizeof ex), t.argno);
    n->kind = SN_KEYWORD;
    n->want = k->want;
    return LS_OK;
}

/* A header field name: printable ASCII except ':' and space (RFC 5322). */
static int valid_field_name(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':') return 0;
    return 1;
}

static int key_header(lexer *lx, const keydef *k, sn *n)
{
    tok t;
    char ex[EXBUF];
    int rc;
    if (k->type == KT_HEADER) {
        if ((rc = next_arg(lx, "HEADER", &t))) return rc;
        if (!valid_field_name(t.s, t.n))
            return ls__err(LS_EINVAL, "search: HEADER: '%s' is not a valid header field name (argument %d)",
                          excerpt(t.s, t.n, ex, sizeof ex), t.argno);
        n->field = strndup(t.s, t.n);
    } else {
        n->field = strdup(k->field);
    }
    if (!n->field) return oom();
    if ((rc = next_arg(lx, k->name, &t))) return rc;
    n->kind = SN_HEADER;
    n->cost = ls__search_field_cached(n->field) ? COST_FIELDS : COST_MESSAGE;
    return set_string(n, &t);
}

static int key_text(lexer *lx, const keydef *k, sn *n)
{
    tok t;
    int rc = next_arg(lx, k->name, &t);
    if (rc) return rc;
    n->kind = k->type == KT_BODY ? SN_BODY : SN_TEXT;
    n->cost = COST_MESSAGE;
    return set_string(n, &t);
}

static int key_set(const char *key, const tok *t, int kind, sn *n)
{
    char ex[EXBUF];
    if (t->n > 0 && t->s[0] == '$')
        return ls__err(LS_EINVAL, "search: '$' (SEARCHRES) is not supported (argument %d)", t->argno);
    char *s = strndup(t->s, t->n);
    if (!s) return oom();
    int rc = ls_set_parse(s, &n->set);
    free(s);
    if (rc == LS_EINVAL) {
        char why[512];
        snprintf(why, sizeof why, "%s", ls_error_last());
        return ls__err(LS_EINVAL, "search: %s'%s' (argument %d): %s", key, excerpt(t->s, t->n, ex, sizeof ex),
                      t->argno, why);
    }
    n->kind = kind;
    return rc;
}

/* NOT key, OR key key: the operands are keys themselves. */
static int key_logic(lexer *lx, const keydef *k, sn *n)
{
    int count = k->type == KT_OR ? 2 : 1;
    n->kind = k->type == KT_OR ? SN_OR : SN_NOT;
    for (int i = 0; i < count; i++) {
        sn *kid = NULL;
        tok t;
        peek_key(lx, &t);
        if (t.kind == T_END || t.kind == T_CLOSE)
            return ls__err(LS_EINVAL, "search: %s needs %s search key%s (argument %d)", k->name,
                          count == 2 ? (i ? "a second" : "two") : "a", count == 2 && !i ? "s" : "", t.argno);
        int rc = parse_key(lx, &kid);
        if (rc) return rc;
        if ((rc = add_kid(n, kid))) { node_free(kid); return rc; }
    }
    return LS_OK;
}

static int parse_word(lexer *lx, const tok *t, sn *n)
{
    char ex[EXBUF];
    if (t->n > 0 && ((t->s[0] >= '0' && t->s[0] <= '9') || t->s[0] == '*' || t->s[0] == '$'))
        return key_set("sequence set ", t, SN_SEQSET, n);
    const keydef *k = find_key(t->s, t->n);
    if (!k)
        return ls__err(LS_EINVAL, "search: unknown key '%s' (argument %d)", excerpt(t->s, t->n, ex, sizeof ex),
                      t->argno);
    tok a;
    int rc;
    switch (k->type) {
    case KT_ALL: n->kind = SN_ALL; return LS_OK;
    case KT_FLAG: n->kind = SN_FLAG; n->flag = k->flag; n->want = k->want; return LS_OK;
    case KT_RECENT: n->kind = SN_RECENT; return LS_OK;
    case KT_OLD: {   /* OLD = NOT RECENT */
        sn *r = node_new(SN_RECENT);
        n->kind = SN_NOT;
        return r ? add_kid(n, r) : oom();
    }
    case KT_NEW: {   /* NEW = RECENT UNSEEN */
        sn *r = node_new(SN_RECENT), *u = flag_node(LS_FLAG_SEEN, 0);
        n->kind = SN_AND;
        if (!r || !u) { free(r); free(u); return oom(); }
        if ((rc = add_kid(n, r))) { free(r); free(u); return rc; }
        if ((rc = add_kid(n, u))) { free(u); return rc; }
        return LS_OK;
    }
    case KT_KEYWORD: return key_keyword(lx, k, n);
    case KT_DATE: return key_date(lx, k, n);
    case KT_SIZE: return key_size(lx, k, n);
    case KT_MODSEQ: return key_modseq(lx, n);
    case KT_FIELD: case KT_HEADER: return key_header(lx, k, n);
    case KT_BODY: case KT_TEXT: return key_text(lx, k, n);
    case KT_NOT: case KT_OR: return key_logic(lx, k, n);
    case KT_UID:
        if ((rc = next_arg(lx, "UID", &a))) return rc;
        return key_set("UID ", &a, SN_UIDSET, n);
    }
    return LS_OK;
}

/* "(" key *(SP key) ")" — the '(' is already consumed. */
static int parse_list(lexer *lx, int open_argno, sn *n)
{
    n->kind = SN_AND;
    lx->depth++;
    for (;;) {
        tok t;
        peek_key(lx, &t);
        if (t.kind == T_END)
            return ls__err(LS_EINVAL, "search: missing ')' for the '(' of argument %d", open_argno);
        if (t.kind == T_CLOSE) {
            if (n->nkids == 0)
                return ls__err(LS_EINVAL, "search: empty parentheses '()' (argument %d)", t.argno);
            next_key(lx, &t);
            lx->depth--;
            return LS_OK;
        }
        sn *kid = NULL;
        int rc = parse_key(lx, &kid);
        if (rc) return rc;
        if ((rc = add_kid(n, kid))) { node_free(kid); return rc; }
    }
}

static int parse_key(lexer *lx, sn **out)
{
    *out = NULL;
    tok t;
    next_key(lx, &t);
    if (t.kind == T_END) return ls__err(LS_EINVAL, "search: missing search key at the end");
    if (t.kind == T_CLOSE) return ls__err(LS_EINVAL, "search: unbalanced ')' (argument %d)", t.argno);
    if (t.kind == T_WORD && t.n == 0)
        return ls__err(LS_EINVAL, "search: empty argument where a search key was expected (argument %d)",
                      t.argno);
    if (++lx->nest > MAX_NEST)
        return ls__err(LS_EINVAL, "search: criteria nested too deeply (more than %d levels, argument %d)",
                      MAX_NEST, t.argno);
    sn *n = node_new(SN_ALL);
    if (!n) return oom();
    int rc = t.kind == T_OPEN ? parse_list(lx, t.argno, n) : parse_word(lx, &t, n);
    lx->nest--;
    if (rc) { node_free(n); return rc; }
    *out = n;
    return LS_OK;
}

/* Optional leading "CHARSET name": only UTF-8 and its subset US-ASCII, since
 * we do no charset conversion. */
static int parse_charset(lexer *lx)
{
    tok t;
    char ex[EXBUF];
    peek_key(lx, &t);
    if (t.kind != T_WORD || t.n != 7 || strncasecmp(t.s, "CHARSET", 7) != 0) return LS_OK;
    next_key(lx, &t);
    int rc = next_arg(lx, "CHARSET", &t);
    if (rc) return rc;
    if ((t.n == 5 && strncasecmp(t.s, "UTF-8", 5) == 0) || (t.n == 8 && strncasecmp(t.s, "US-ASCII", 8) == 0))
        return LS_OK;
    return ls__err(LS_EINVAL, "search: CHARSET '%s' is not supported (use UTF-8 or US-ASCII; argument %d)",
                  excerpt(t.s, t.n, ex, sizeof ex), t.argno);
}

int ls__search_parse(int argc, const char *const *argv, ls_search **out)
{
    *out = NULL;
    lexer lx = { argc, argv, 0, 0, 0, 0 };
    int rc = parse_charset(&lx);
    if (rc) return rc;
    sn *root = node_new(SN_AND);
    if (!root) return oom();
    for (;;) {
        tok t;
        peek_key(&lx, &t);
        if (t.kind == T_END) break;
        sn *kid = NULL;
        rc = parse_key(&lx, &kid);
        if (!rc && (rc = add_kid(root, kid))) node_free(kid);
        if (rc) { node_free(root); return rc; }
    }
    if (root->nkids == 0) { node_free(root); return ls__err(LS_EINVAL, "search: no search criteria given"); }
    /* A single key needs no AND around it. */
    if (root->nkids == 1) {
        sn *only = root->kids[0];
        root->nkids = 0;
        node_free(root);
        root = only;
    }
    ls_search *s = malloc(sizeof *s);
    if (!s) { node_free(root); return oom(); }
    s->root = root;
    *out = s;
    return LS_OK;
}

void ls__search_free(ls_search *s)
{
    if (!s) return;
    node_free(s->root);
    free(s);
}

/* ------------------------------------------------------------ queries */

static int any_node(const sn *n, int (*pred)(const sn *))
{
    if (pred(n)) return 1;
    for (size_t i = 0; i < n->nkids; i++)
        if (any_node(n->kids[i], pred)) return 1;
    return 0;
}

static int is_message_key(const sn *n) { return n->kind != SN_AND && n->kind != SN_OR && n->kind != SN_NOT && n->cost == COST_MESSAGE; }
static int is_fields_key(const sn *n) { return n->kind == SN_HEADER && n->cost == COST_FIELDS; }
static int is_seq_key(const sn *n) { return n->kind == SN_SEQSET; }

int ls__search_needs_message(const ls_search *s) { return s && any_node(s->root, is_message_key); }
int ls__search_needs_fields(const ls_search *s) { return s && any_node(s->root, is_fields_key); }
int ls__search_needs_seq(const ls_search *s) { return s && any_node(s->root, is_seq_key); }

/* ------------------------------------------------------------ format */

typedef struct sbuf { char *p; size_t n, cap; int failed; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) { b->failed = 1; return; }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_quoted(sbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sb_add(b, "\\", 1);
        sb_add(b, s, 1);
    }
    sb_add(b, "\"", 1);
}

static void format_date(sbuf *b, const sn *n)
{
    static const char *const names[2][3] = { { "BEFORE", "ON", "SINCE" }, { "SENTBEFORE", "SENTON", "SENTSINCE" } };
    static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)n->day;
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&t, &tm)) memset(&tm, 0, sizeof tm);
    snprintf(buf, sizeof buf, "%s %d-%s-%04d", names[n->which][n->op + 1], tm.tm_mday, mon[tm.tm_mon],
             tm.tm_year + 1900);
    sb_str(b, buf);
}

static void format_node(sbuf *b, const sn *n)
{
    static const char *const setflags[] = { "SEEN", "ANSWERED", "FLAGGED", "DELETED", "DRAFT" };
    char buf[64];
    switch (n->kind) {
    case SN_ALL: sb_str(b, "ALL"); return;
    case SN_AND: case SN_OR: case SN_NOT:
        sb_str(b, n->kind == SN_AND ? "(" : n->kind == SN_OR ? "(OR " : "(NOT ");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i) sb_str(b, " ");
            format_node(b, n->kids[i]);
        }
        sb_str(b, ")");
        return;
    case SN_FLAG:
        for (unsigned i = 0; i < 5; i++)
            if (n->flag == 1u << i) { sb_str(b, n->want ? "" : "UN"); sb_str(b, setflags[i]); }
        return;
    case SN_KEYWORD: sb_str(b, n->want ? "KEYWORD " : "UNKEYWORD "); sb_str(b, n->str); return;
    case SN_RECENT: sb_str(b, "RECENT"); return;
    case SN_DATE: format_date(b, n); return;
    case SN_SIZE:
        snprintf(buf, sizeof buf, "%s %llu", n->op > 0 ? "LARGER" : "SMALLER", (unsigned long long)n->num);
        sb_str(b, buf);
        return;
    case SN_MODSEQ: snprintf(buf, sizeof buf, "MODSEQ %llu", (unsigned long long)n->num); sb_str(b, buf); return;
    case SN_HEADER: sb_str(b, "HEADER "); sb_quoted(b, n->field); sb_str(b, " "); sb_quoted(b, n->str); return;
    case SN_BODY: case SN_TEXT: sb_str(b, n->kind == SN_BODY ? "BODY " : "TEXT "); sb_quoted(b, n->str); return;
    case SN_SEQSET: case SN_UIDSET: {
        char *f = ls_set_format(&n->set);
        if (!f) { b->failed = 1; return; }
        if (n->kind == SN_UIDSET) sb_str(b, "UID ");
        sb_str(b, f);
        free(f);
        return;
    }
    }
}

char *ls__search_format(const ls_search *s)
{
    sbuf b = { 0 };
    if (s) format_node(&b, s->root);
    sb_add(&b, "", 0);
    if (b.failed) { free(b.p); return NULL; }
    return b.p;
}

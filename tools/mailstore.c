/*
 * mailstore - the scripting front end to libstore (docs/contract.md §3.2).
 *
 *   mailstore [-C FILE] [--as ID] [--json] SUBCOMMAND ARGS...
 *
 * Layout of this file:
 *   - output helpers (JSON escaping, write errors)
 *   - the run context (global options, lazily opened store and session)
 *   - argument helpers (UIDs, UID sets, flag lists, dates, reading stdin)
 *   - one handler per subcommand (cmd_*)
 *   - the dispatch table: one struct per subcommand (name, synopsis, summary,
 *     help, options, argument counts, handler); adding a subcommand is one
 *     handler and one table entry
 *   - help output, argument parsing, main
 *
 * Only the public API (include/libstore) is used. Exit status: 0 success,
 * 1 failure, 2 usage error. Errors go to stderr as
 * "mailstore: SUBCOMMAND: message".
 */
#include "libstore/libstore.h"
#include "crash_guard.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PROG "mailstore"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Most options a subcommand may declare. */
#define MAX_OPTS 8

/* ------------------------------------------------------------------------ */
/* JSON output                                                              */
/* ------------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence of 2..4 bytes at p, or 0 when the
 * bytes there are not one (overlong forms, surrogates and code points above
 * U+10FFFF are not well formed). */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) { len = 3; lo = 0xa0; }
    else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) len = 3;
    else if (c == 0xed) { len = 3; hi = 0x9f; }
    else if (c == 0xf0) { len = 4; lo = 0x90; }
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else if (c == 0xf4) { len = 4; hi = 0x8f; }
    else return 0;
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    return len;
}

/* Write s[0..len) as a JSON string. Quotes, backslash and control characters
 * are escaped; well-formed UTF-8 passes through; every other byte is written
 * as \u00XX of that byte. */
static void json_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    putc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') { putc('\\', f); putc(c, f); i++; continue; }
        if (c >= 0x20 && c < 0x7f) { putc(c, f); i++; continue; }
        if (c >= 0x80) {
            size_t n = utf8_seq_len(p + i, len - i);
            if (n) { fwrite(p + i, 1, n, f); i += n; continue; }
        }
        switch (c) {
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default: fprintf(f, "\\u%04x", c); break;
        }
        i++;
    }
    putc('"', f);
}

/* One JSON object being written on one line of stdout. */
typedef struct jobj {
    int nkeys;    /* keys written so far */
    int nelems;   /* elements of the open array */
} jobj;

static void j_begin(jobj *j) { j->nkeys = 0; j->nelems = 0; putchar('{'); }
static void j_end(jobj *j) { (void)j; fputs("}\n", stdout); }

static void j_key(jobj *j, const char *key)
{
    if (j->nkeys++) putchar(',');
    json_string(stdout, key, strlen(key));
    putchar(':');
}

static void j_strn(jobj *j, const char *key, const char *s, size_t len)
{
    j_key(j, key);
    json_string(stdout, s, len);
}

static void j_str(jobj *j, const char *key, const char *s) { j_strn(j, key, s, strlen(s)); }

static void j_u64(jobj *j, const char *key, uint64_t v)
{
    j_key(j, key);
    printf("%" PRIu64, v);
}

static void j_i64(jobj *j, const char *key, int64_t v)
{
    j_key(j, key);
    printf("%" PRId64, v);
}

static void j_null(jobj *j, const char *key)
{
    j_key(j, key);
    fputs("null", stdout);
}

static void j_array_begin(jobj *j, const char *key) { j_key(j, key); putchar('['); j->nelems = 0; }
static void j_array_end(jobj *j) { (void)j; putchar(']'); }

static void j_array_str(jobj *j, const char *s)
{
    if (j->nelems++) putchar(',');
    json_string(stdout, s, strlen(s));
}

/* ------------------------------------------------------------------------ */
/* Run context                                                              */
/* ------------------------------------------------------------------------ */

typedef struct ctx ctx;

/* An option of a subcommand: "--NAME VALUE" or "--NAME=VALUE"; with metavar
 * NULL, a switch "--NAME" that takes no value (its value is then "" when
 * given). */
typedef struct optdef {
    const char *name;
    const char *metavar;
    const char *help;
} optdef;

typedef struct subcmd {
    const char *name;
    const char *synopsis;        /* arguments, as shown after the name */
    const char *summary;         /* one line */
    const char *help;            /* details for SUBCOMMAND --help, or NULL */
    optdef opts[MAX_OPTS];       /* terminated by an entry with name NULL */
    int min_pos, max_pos;        /* positional argument counts; max -1 = no limit */
    int (*run)(ctx *c);
} subcmd;

struct ctx {
    const char *config;          /* -C FILE, or NULL */
    const char *as;              /* --as ID, or NULL (administrator) */
    int json;                    /* --json */
    const subcmd *cmd;           /* the subcommand being run */
    int npos;                    /* positional arguments of the subcommand */
    char **pos;
    const char *optval[MAX_OPTS];/* values of its options, by index in cmd->opts */
    ls_store *st;                /* opened on first use */
    ls_session *s;
};

/* Print "mailstore: SUBCOMMAND: " (or "mailstore: ") on stderr. */
static void err_prefix(const ctx *c)
{
    if (c && c->cmd) fprintf(stderr, "%s: %s: ", PROG, c->cmd->name);
    else fprintf(stderr, "%s: ", PROG);
}

/* The last libstore error message for code rc. Library messages often begin
 * with the operation ("search: ...", "setacl: permission denied ..."); when
 * that is the subcommand's own name, err_prefix() already said it, so it is
 * left out rather than printed twice ("mailstore: search: search: ..."). */
static const char *lib_message(const ctx *c, int rc)
{
    const char *msg = ls_error_last();
    if (!msg || !*msg) return ls_error_string(rc);
    if (c && c->cmd) {
        size_t n = strlen(c->cmd->name);
        if (strncmp(msg, c->cmd->name, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' && msg[n + 2])
            msg += n + 2;
    }
    return msg;
}

/* Report the last libstore error for code rc; returns EXIT_FAIL. */
static int fail(const ctx *c, int rc)
{
    const char *msg = lib_message(c, rc);
    err_prefix(c);
    fprintf(stderr, "%s\n", msg);
    return EXIT_FAIL;
}

static int usage_err(const ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As fail(), but LS_EINVAL (a malformed argument the library rejected, such
 * as a SEARCH key or a section) is a usage error. */
static int fail_arg(const ctx *c, int rc)
{
    if (rc != LS_EINVAL) return fail(c, rc);
    return usage_err(c, "%s", lib_message(c, rc));
}

/* Report a failure described by the tool itself; returns EXIT_FAIL. */
static int failf(const ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(const ctx *c, const char *fmt, ...)
{
    va_list ap;
    err_prefix(c);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    putc('\n', stderr);
    return EXIT_FAIL;
}

/* Report a usage error; returns EXIT_USAGE. */
static int usage_err(const ctx *c, const char *fmt, ...)
{
    va_list ap;
    err_prefix(c);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (c && c->cmd) fprintf(stderr, "\nTry '%s %s --help'.\n", PROG, c->cmd->name);
    else fprintf(stderr, "\nTry '%s --help'.\n", PROG);
    return EXIT_USAGE;
}

/* The session, opening the store on first use. Returns an exit status. */
static int get_session(ctx *c, ls_session **out)
{
    int rc;
    /* as root on a store another user owns: refuse before opening (which
     * may create files), as Cyrus does; files left owned by root would
     * break the service */
    if (!c->st && (rc = ls_store_check_owner(c->config)) == LS_EPERM)
        return fail(c, rc);
    if (!c->st && (rc = ls_store_open(c->config, LS_STORE_OPEN_DEFAULT, &c->st)) != LS_OK) {
        c->st = NULL;
        return fail(c, rc);
    }
    if (!c->s && (rc = ls_session_new(c->st, c->as, &c->s)) != LS_OK) {
        c->s = NULL;
        return fail(c, rc);
    }
    *out = c->s;
    return EXIT_OK;
}

/* The store, for the operations on the whole store (cleanup, check, backup).
 * They bypass ACLs, so with --as they need an identity listed in `admins`. */
static int get_store(ctx *c, ls_store **out)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    if (c->as && !ls_store_is_admin(c->st, c->as))
        return failf(c, "permission denied: only administrators (the 'admins' of %s) may run %s",
                     ls_store_config_path(c->st), c->cmd->name);
    *out = c->st;
    return EXIT_OK;
}

/* Open mailbox `name` (flags: LS_MAILBOX_OPEN_RDWR or LS_MAILBOX_OPEN_RDONLY). */
static int open_mailbox(ctx *c, const char *name, unsigned flags, ls_mailbox **mb)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_mailbox_open(s, name, flags, mb);
    if (rc != LS_OK) { *mb = NULL; return fail(c, rc); }
    return EXIT_OK;
}

static void ctx_release(ctx *c)
{
    if (c->s) ls_session_free(c->s);
    if (c->st) ls_store_close(c->st);
    c->s = NULL;
    c->st = NULL;
}

/* ------------------------------------------------------------------------ */
/* Argument helpers                                                         */
/* ------------------------------------------------------------------------ */

/* A strict unsigned decimal number in [min, max]. Returns 0 on success. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s) return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* A UID argument: 1 .. 4294967294. */
static int arg_uid(const ctx *c, const char *s, uint32_t *uid)
{
    uint64_t v;
    if (parse_u64(s, 1, UINT32_MAX - 1, &v))
        return usage_err(c, "'%s' is not a valid UID (a number from 1 to 4294967294)", s);
    *uid = (uint32_t)v;
    return EXIT_OK;
}

/* A UID set argument ("1:5,7,9:*"); free with ls_set_dispose. */
static int arg_uidset(const ctx *c, const char *s, ls_set *set)
{
    memset(set, 0, sizeof *set);
    int rc = ls_set_parse(s, set);
    if (rc == LS_ENOMEM) return fail(c, rc);
    if (rc != LS_OK) {
        const char *msg = ls_error_last();
        return usage_err(c, "invalid UID set '%s'%s%s", s, *msg ? ": " : "", msg);
    }
    return EXIT_OK;
}

/* An IMAP date-time argument ("21-Nov-2026 10:00:00 +0000"). */
static int arg_date(const ctx *c, const char *s, ls_date *d)
{
    if (ls_date_parse_imap(s, d) != LS_OK)
        return usage_err(c, "invalid date '%s' (expected e.g. \"21-Nov-2026 10:00:00 +0000\")", s);
    return EXIT_OK;
}

/* A parsed flag list: system flag bits and keyword names. The keyword
 * pointers point into `buf`, a private copy of the text. */
typedef struct flaglist {
    unsigned flags;
    const char **kw;
    size_t nkw;
    char *buf;
} flaglist;

static void flaglist_free(flaglist *fl)
{
    free(fl->kw);
    free(fl->buf);
    memset(fl, 0, sizeof *fl);
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* Add one token of a flag list: a system flag (\Seen ...) or a keyword. */
static int flaglist_add(const ctx *c, flaglist *fl, const char *tok)
{
    if (tok[0] == '\\') {
        unsigned bit = ls_flag_from_name(tok);
        if (!bit)
            return usage_err(c, "'%s' is not a system flag that can be set "
                                "(\\Seen \\Answered \\Flagged \\Deleted \\Draft)", tok);
        fl->flags |= bit;
        return EXIT_OK;
    }
    if (!ls_flag_keyword_valid(tok))
        return usage_err(c, "'%s' is not a valid keyword (an IMAP atom of 1 to 100 bytes)", tok);
    fl->kw[fl->nkw++] = tok;
    return EXIT_OK;
}

/* Parse "\Seen kw1 kw2" (optionally in parentheses) into fl. */
static int parse_flaglist(const ctx *c, const char *text, flaglist *fl)
{
    memset(fl, 0, sizeof *fl);
    size_t len = strlen(text);
    fl->buf = strdup(text);
    fl->kw = calloc(len / 2 + 1, sizeof *fl->kw);
    if (!fl->buf || !fl->kw) { flaglist_free(fl); return failf(c, "out of memory"); }
    char *p = fl->buf, *end = fl->buf + len;
    while (p < end && is_blank(*p)) p++;
    while (end > p && is_blank(end[-1])) end--;
    if (p < end && *p == '(' && end[-1] == ')') { p++; end--; }
    *end = 0;
    while (*p) {
        while (is_blank(*p)) p++;
        if (!*p) break;
        char *tok = p;
        while (*p && !is_blank(*p)) p++;
        if (*p) *p++ = 0;
        int ex = flaglist_add(c, fl, tok);
        if (ex != EXIT_OK) { flaglist_free(fl); return ex; }
    }
    return EXIT_OK;
}

/* Read all of stdin (binary-safe). *buf is malloc'd. */
static int read_stdin(const ctx *c, char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b) return failf(c, "out of memory reading the message");
    for (;;) {
        if (n == cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) { free(b); return failf(c, "out of memory reading the message"); }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(STDIN_FILENO, b + n, cap - n);
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(b);
            return failf(c, "reading the message from standard input: %s", strerror(e));
        }
        n += (size_t)r;
    }
    *buf = b;
    *len = n;
    return EXIT_OK;
}

/* Lower-case hex of the 32-byte GUID into out (65 bytes). */
static void guid_hex(const uint8_t guid[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[guid[i] >> 4];
        out[2 * i + 1] = hex[guid[i] & 15];
    }
    out[64] = 0;
}

/* Call fn for every UID in the set, in order. */
static void set_foreach(const ls_set *set, void (*fn)(const ctx *, uint32_t), const ctx *c)
{
    for (size_t i = 0; i < set->n; i++)
        for (uint64_t u = set->r[i].lo; u <= set->r[i].hi && u < UINT32_MAX; u++)
            fn(c, (uint32_t)u);
}

/* Print one UID: "N" or {"uid": N}. */
static void print_uid(const ctx *c, uint32_t uid)
{
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_u64(&j, "uid", uid);
        j_end(&j);
    } else {
        printf("%" PRIu32 "\n", uid);
    }
}

/* The value of option `name` of the current subcommand, or NULL. */
static const char *opt(const ctx *c, const char *name);

/* ------------------------------------------------------------------------ */
/* Subcommands: the mailbox list                                            */
/* ------------------------------------------------------------------------ */

static int cmd_create(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_mailbox_create(s, c->pos[0], opt(c, "partition"));
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

static int cmd_delete(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_mailbox_delete(s, c->pos[0]);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

static int cmd_rename(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_mailbox_rename(s, c->pos[0], c->pos[1]);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

static int list_cb(const char *name, unsigned attrs, void *arg)
{
    const ctx *c = arg;
    if (!c->json) { printf("%s\n", name); return 0; }
    jobj j;
    j_begin(&j);
    j_str(&j, "name", name);
    j_array_begin(&j, "attributes");
    if (attrs & LS_MAILBOX_LIST_NOSELECT) j_array_str(&j, "\\Noselect");
    if (attrs & LS_MAILBOX_LIST_HASCHILDREN) j_array_str(&j, "\\HasChildren");
    if (attrs & LS_MAILBOX_LIST_HASNOCHILDREN) j_array_str(&j, "\\HasNoChildren");
    j_array_end(&j);
    j_end(&j);
    return 0;
}

static int cmd_list(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_mailbox_list(s, c->npos ? c->pos[0] : "*", list_cb, c);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

static int cmd_status(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    ls_status st;
    memset(&st, 0, sizeof st);
    int rc = ls_mailbox_status(s, c->pos[0], &st);
    if (rc != LS_OK) return fail(c, rc);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "mailbox", c->pos[0]);
        j_u64(&j, "messages", st.messages);
        j_u64(&j, "recent", st.recent);
        j_u64(&j, "uidnext", st.uidnext);
        j_u64(&j, "uidvalidity", st.uidvalidity);
        j_u64(&j, "unseen", st.unseen);
        j_u64(&j, "highestmodseq", st.highestmodseq);
        j_u64(&j, "size", st.size);
        j_u64(&j, "deleted", st.deleted);
        j_end(&j);
        return EXIT_OK;
    }
    printf("messages %" PRIu32 "\nrecent %" PRIu32 "\nuidnext %" PRIu32 "\nuidvalidity %" PRIu32
           "\nunseen %" PRIu32 "\nhighestmodseq %" PRIu64 "\nsize %" PRIu64 "\ndeleted %" PRIu32
           "\nflagged %" PRIu32 "\nanswered %" PRIu32 "\n",
           st.messages, st.recent, st.uidnext, st.uidvalidity, st.unseen, st.highestmodseq,
           st.size, st.deleted, st.flagged, st.answered);
    return EXIT_OK;
}

static int cmd_path(ctx *c)
{
    uint32_t uid = 0;
    int ex;
    if (c->npos > 1 && (ex = arg_uid(c, c->pos[1], &uid)) != EXIT_OK) return ex;
    char *path = NULL;
    int rc;
    if (!uid) {
        ls_session *s;
        if ((ex = get_session(c, &s)) != EXIT_OK) return ex;
        rc = ls_mailbox_path(s, c->pos[0], &path);
    } else {
        ls_mailbox *mb;
        if ((ex = open_mailbox(c, c->pos[0], LS_MAILBOX_OPEN_RDONLY, &mb)) != EXIT_OK) return ex;
        rc = ls_message_path(mb, uid, &path);
        ls_mailbox_close(mb);
    }
    if (rc != LS_OK) return fail(c, rc);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "path", path);
        j_end(&j);
    } else {
        printf("%s\n", path);
    }
    ls_free(path);
    return EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* Subcommands: messages                                                    */
/* ------------------------------------------------------------------------ */

static int cmd_append(ctx *c)
{
    ls_append_opts ao = LS_APPEND_OPTS_INIT;
    flaglist fl;
    memset(&fl, 0, sizeof fl);
    ls_date date;
    int ex;
    if (opt(c, "flags") && (ex = parse_flaglist(c, opt(c, "flags"), &fl)) != EXIT_OK) return ex;
    if (opt(c, "date")) {
        if ((ex = arg_date(c, opt(c, "date"), &date)) != EXIT_OK) { flaglist_free(&fl); return ex; }
        ao.internaldate = &date;
    }
    ao.flags = fl.flags;
    ao.keywords = fl.kw;
    ao.nkeywords = fl.nkw;
    char *msg = NULL;
    size_t len = 0;
    ls_mailbox *mb = NULL;
    if ((ex = read_stdin(c, &msg, &len)) == EXIT_OK &&
        (ex = open_mailbox(c, c->pos[0], LS_MAILBOX_OPEN_RDWR, &mb)) == EXIT_OK) {
        uint32_t uid = 0;
        int rc = ls_message_append(mb, msg, len, &ao, &uid);
        if (rc == LS_OK) print_uid(c, uid);
        else ex = fail(c, rc);
        ls_mailbox_close(mb);
    }
    free(msg);
    flaglist_free(&fl);
    return ex;
}

/* Print one line per recipient of a delivery; returns the number of failures. */
static size_t print_deliveries(const ctx *c, char **users, const ls_deliver_result *res, size_t n,
                               int rc)
{
    size_t nfail = 0;
    for (size_t i = 0; i < n; i++) {
        /* code 1 is our "not filled in" sentinel: the call failed as a whole */
        int code = res[i].code == 1 ? (rc != LS_OK ? rc : LS_EIO) : res[i].code;
        const char *msg = res[i].code == 1 ? ls_error_last() : res[i].error;
        if (code != LS_OK && (!msg || !*msg)) msg = ls_error_string(code);
        if (code != LS_OK) nfail++;
        if (c->json) {
            jobj j;
            j_begin(&j);
            j_str(&j, "user", users[i]);
            if (code == LS_OK) j_u64(&j, "uid", res[i].uid);
            else j_str(&j, "error", msg);
            j_end(&j);
        } else if (code == LS_OK) {
            printf("%s %" PRIu32 "\n", users[i], res[i].uid);
        } else {
            printf("%s ERROR %s\n", users[i], msg);
        }
    }
    return nfail;
}

static int cmd_deliver(ctx *c)
{
    size_t n = (size_t)c->npos;
    ls_deliver_result *res = calloc(n, sizeof *res);
    if (!res) return failf(c, "out of memory");
    for (size_t i = 0; i < n; i++) res[i].code = 1;   /* not filled in (yet) */
    char *msg = NULL;
    size_t len = 0;
    ls_session *s;
    int ex;
    if ((ex = read_stdin(c, &msg, &len)) == EXIT_OK && (ex = get_session(c, &s)) == EXIT_OK) {
        int rc = ls_message_deliver(s, msg, len, (const char *const *)c->pos, n, opt(c, "mailbox"),
                                    NULL, res);
        size_t nfail = print_deliveries(c, c->pos, res, n, rc);
        if (nfail) {
            err_prefix(c);
            fprintf(stderr, "%zu of %zu recipients failed\n", nfail, n);
            ex = EXIT_FAIL;
        } else if (rc != LS_OK) {
            ex = fail(c, rc);
        }
    }
    free(msg);
    free(res);
    return ex;
}

/* The section argument of ls_message_fetch for a raw fetch ITEM, or NULL
 * for an unknown item. "section:S" passes S on as given: the library checks
 * it (its keywords are case-insensitive). */
static const char *fetch_section(const char *item)
{
    if (strcasecmp(item, "rfc822") == 0) return "";
    if (strcasecmp(item, "header") == 0) return "HEADER";
    if (strcasecmp(item, "text") == 0) return "TEXT";
    if (strncasecmp(item, "section:", 8) == 0 && item[8]) return item + 8;
    return NULL;
}

static int fetch_cached(ctx *c, ls_mailbox *mb, uint32_t uid, const char *which)
{
    char *out = NULL;
    size_t len = 0;
    int rc = ls_message_cached(mb, uid, which, &out, &len);
    if (rc != LS_OK) return fail(c, rc);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_u64(&j, "uid", uid);
        j_strn(&j, which, out, len);
        j_end(&j);
    } else {
        fwrite(out, 1, len, stdout);
        putchar('\n');
    }
    ls_free(out);
    return EXIT_OK;
}

static int fetch_bytes(ctx *c, ls_mailbox *mb, uint32_t uid, const char *section)
{
    char *out = NULL;
    size_t len = 0;
    int rc = ls_message_fetch(mb, uid, section, 0, UINT64_MAX, &out, &len);
    if (rc != LS_OK) return fail_arg(c, rc);
    if (c->json) {
        char *key = malloc(strlen(section) + sizeof "body[]");
        if (!key) { ls_free(out); return failf(c, "out of memory"); }
        sprintf(key, "body[%s]", section);
        for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
        jobj j;
        j_begin(&j);
        j_u64(&j, "uid", uid);
        j_strn(&j, key, out, len);
        j_end(&j);
        free(key);
    } else {
        fwrite(out, 1, len, stdout);
    }
    ls_free(out);
    return EXIT_OK;
}

static int cmd_fetch(ctx *c)
{
    uint32_t uid;
    int ex = arg_uid(c, c->pos[1], &uid);
    if (ex != EXIT_OK) return ex;
    const char *item = opt(c, "item") ? opt(c, "item") : "rfc822";
    int cached = strcasecmp(item, "envelope") == 0 || strcasecmp(item, "bodystructure") == 0 ||
                 strcasecmp(item, "body") == 0;
    const char *section = cached ? NULL : fetch_section(item);
    if (!cached && !section)
        return usage_err(c, "unknown item '%s' (rfc822, header, text, section:N.N, envelope, "
                            "bodystructure, body)", item);
    ls_mailbox *mb;
    if ((ex = open_mailbox(c, c->pos[0], LS_MAILBOX_OPEN_RDONLY, &mb)) == EXIT_OK) {
        if (cached) {
            char which[16];
            snprintf(which, sizeof which, "%s", item);
            for (char *p = which; *p; p++) *p = (char)tolower((unsigned char)*p);
            ex = fetch_cached(c, mb, uid, which);
        } else {
            ex = fetch_bytes(c, mb, uid, section);
        }
        ls_mailbox_close(mb);
    }
    return ex;
}

/* "+FLAGS" / "-FLAGS" / "FLAGS" (case-insensitive, ".SILENT" allowed) -> op. */
static int parse_store_op(const char *s, int *op)
{
    int o = LS_MESSAGE_STORE_REPLACE;
    if (*s == '+') { o = LS_MESSAGE_STORE_ADD; s++; }
    else if (*s == '-') { o = LS_MESSAGE_STORE_REMOVE; s++; }
    if (strcasecmp(s, "FLAGS") != 0 && strcasecmp(s, "FLAGS.SILENT") != 0) return -1;
    *op = o;
    return 0;
}

static int store_apply(ctx *c, const ls_set *uids, int op, const flaglist *fl, uint64_t since)
{
    ls_mailbox *mb;
    int ex = open_mailbox(c, c->pos[0], LS_MAILBOX_OPEN_RDWR, &mb);
    if (ex != EXIT_OK) return ex;
    ls_set modified;
    memset(&modified, 0, sizeof modified);
    int rc = ls_message_store(mb, uids, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = op, .flags = fl->flags, .keywords = fl->kw, .nkeywords = fl->nkw, .unchangedsince = since }, &modified);
    if (rc == LS_EMODIFIED) {
        char *txt = ls_set_format(&modified);
        if (c->json) {
            jobj j;
            j_begin(&j);
            j_str(&j, "modified", txt ? txt : "");
            j_end(&j);
        } else {
            printf("MODIFIED %s\n", txt ? txt : "");
        }
        ls_free(txt);
    }
    ex = rc == LS_OK ? EXIT_OK : fail(c, rc);
    ls_set_dispose(&modified);
    ls_mailbox_close(mb);
    return ex;
}

static int cmd_store(ctx *c)
{
    int op;
    if (parse_store_op(c->pos[2], &op))
        return usage_err(c, "'%s' is not +FLAGS, -FLAGS or FLAGS", c->pos[2]);
    uint64_t since = 0;
    const char *us = opt(c, "unchangedsince");
    if (us && parse_u64(us, 1, UINT64_MAX, &since))
        return usage_err(c, "--unchangedsince: '%s' is not a positive MODSEQ", us);
    ls_set uids;
    int ex = arg_uidset(c, c->pos[1], &uids);
    if (ex != EXIT_OK) return ex;
    flaglist fl;
    if ((ex = parse_flaglist(c, c->pos[3], &fl)) == EXIT_OK) {
        ex = store_apply(c, &uids, op, &fl, since);
        flaglist_free(&fl);
    }
    ls_set_dispose(&uids);
    return ex;
}

static int cmd_expunge(ctx *c)
{
    ls_set uids;
    memset(&uids, 0, sizeof uids);
    int ex;
    if (c->npos > 1 && (ex = arg_uidset(c, c->pos[1], &uids)) != EXIT_OK) return ex;
    ls_mailbox *mb;
    if ((ex = open_mailbox(c, c->pos[0], LS_MAILBOX_OPEN_RDWR, &mb)) == EXIT_OK) {
        ls_set gone;
        memset(&gone, 0, sizeof gone);
        int rc = ls_message_expunge(mb, c->npos > 1 ? &uids : NULL, &gone);
        if (rc == LS_OK) set_foreach(&gone, print_uid, c);
        else ex = fail(c, rc);
        ls_set_dispose(&gone);
        ls_mailbox_close(mb);
    }
    ls_set_dispose(&uids);
    return ex;
}

/* copy and move: SRC UIDSET DST; prints "SRCUID NEWUID" per message. */
static int copy_or_move(ctx *c, int move)
{
    ls_set uids;
    int ex = arg_uidset(c, c->pos[1], &uids);
    if (ex != EXIT_OK) return ex;
    ls_mailbox *mb;
    if ((ex = open_mailbox(c, c->pos[0], move ? LS_MAILBOX_OPEN_RDWR : LS_MAILBOX_OPEN_RDONLY, &mb)) == EXIT_OK) {
        ls_uidmap map;
        memset(&map, 0, sizeof map);
        int rc = move ? ls_message_move(mb, &uids, c->pos[2], &map)
                      : ls_message_copy(mb, &uids, c->pos[2], &map);
        if (rc == LS_OK) {
            for (size_t i = 0; i < map.n; i++) {
                if (c->json) {
                    jobj j;
                    j_begin(&j);
                    j_u64(&j, "uid", map.src[i]);
                    j_u64(&j, "newuid", map.dst[i]);
                    j_end(&j);
                } else {
                    printf("%" PRIu32 " %" PRIu32 "\n", map.src[i], map.dst[i]);
                }
            }
        } else {
            ex = fail(c, rc);
        }
        ls_uidmap_dispose(&map);
        ls_mailbox_close(mb);
    }
    ls_set_dispose(&uids);
    return ex;
}

static int cmd_copy(ctx *c) { return copy_or_move(c, 0); }
static int cmd_move(ctx *c) { return copy_or_move(c, 1); }

static int cmd_search(ctx *c)
{
    static const char *const all[] = { "ALL" };
    int argc = c->npos - 1;
    const char *const *argv = argc ? (const char *const *)c->pos + 1 : all;
    if (!argc) argc = 1;
    ls_mailbox *mb;
    int ex = open_mailbox(c, c->pos[0], LS_MAILBOX_OPEN_RDONLY, &mb);
    if (ex != EXIT_OK) return ex;
    uint32_t *uids = NULL;
    size_t n = 0;
    int rc = ls_message_search(mb, argc, argv, &uids, &n);
    if (rc == LS_OK) {
        for (size_t i = 0; i < n; i++) print_uid(c, uids[i]);
    } else {
        ex = fail_arg(c, rc);
    }
    ls_free(uids);
    ls_mailbox_close(mb);
    return ex;
}

/* Records collected by cmd_info (keyword names are looked up after the
 * snapshot callback, outside of it). */
typedef struct recvec {
    ls_record *v;
    size_t n, cap;
} recvec;

static int info_collect(const ls_record *rec, const ls_cached *cache, void *arg)
{
    (void)cache;
    recvec *rv = arg;
    if (rv->n == rv->cap) {
        size_t ncap = rv->cap ? rv->cap * 2 : 64;
        ls_record *nv = realloc(rv->v, ncap * sizeof *nv);
        if (!nv) return LS_ENOMEM;
        rv->v = nv;
        rv->cap = ncap;
    }
    rv->v[rv->n++] = *rec;
    return 0;
}

/* Call fn(name) for every system flag and keyword of rec. */
static void record_flags(ls_mailbox *mb, const ls_record *rec, void (*fn)(void *, const char *),
                         void *arg)
{
    for (unsigned bit = 1; bit & LS_FLAG_ALL; bit <<= 1)
        if (rec->flags & bit) fn(arg, ls_flag_name(bit));
    for (unsigned i = 0; i < LS_MAILBOX_MAX_KEYWORDS; i++) {
        if (!(rec->keywords[i / 64] & (UINT64_C(1) << (i % 64)))) continue;
        const char *kw = ls_mailbox_keyword(mb, i);
        if (kw) fn(arg, kw);
    }
}

static void flag_text(void *arg, const char *name)
{
    int *n = arg;
    printf("%s%s", (*n)++ ? " " : "", name);
}

static void flag_json(void *arg, const char *name) { j_array_str(arg, name); }

static void info_print(const ctx *c, ls_mailbox *mb, const ls_record *r)
{
    char guid[65], date[64];
    guid_hex(r->guid, guid);
    ls_date_format_imap(&r->internaldate, date, sizeof date);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_u64(&j, "uid", r->uid);
        j_str(&j, "guid", guid);
        j_u64(&j, "size", r->size);
        j_str(&j, "internaldate", date);
        j_array_begin(&j, "flags");
        record_flags(mb, r, flag_json, &j);
        j_array_end(&j);
        j_u64(&j, "modseq", r->modseq);
        j_end(&j);
        return;
    }
    int n = 0;
    printf("%" PRIu32 " %s %" PRIu64 " \"%s\" (", r->uid, guid, r->size, date);
    record_flags(mb, r, flag_text, &n);
    printf(") %" PRIu64 "\n", r->modseq);
}

static int cmd_info(ctx *c)
{
    ls_set uids;
    memset(&uids, 0, sizeof uids);
    int ex;
    if (c->npos > 1 && (ex = arg_uidset(c, c->pos[1], &uids)) != EXIT_OK) return ex;
    ls_mailbox *mb;
    if ((ex = open_mailbox(c, c->pos[0], LS_MAILBOX_OPEN_RDONLY, &mb)) == EXIT_OK) {
        recvec rv;
        memset(&rv, 0, sizeof rv);
        int rc = ls_message_foreach(mb, c->npos > 1 ? &uids : NULL, LS_MESSAGE_FETCH_RECORD, info_collect, &rv);
        if (rc == LS_OK) {
            for (size_t i = 0; i < rv.n; i++) info_print(c, mb, &rv.v[i]);
        } else if (rc == LS_ENOMEM && !*ls_error_last()) {
            ex = failf(c, "out of memory");
        } else {
            ex = fail(c, rc);
        }
        free(rv.v);
        ls_mailbox_close(mb);
    }
    ls_set_dispose(&uids);
    return ex;
}

/* ------------------------------------------------------------------------ */
/* Subcommands: access control (RFC 4314)                                   */
/* ------------------------------------------------------------------------ */

/* A RIGHTS argument: letters of "lrswipkxtean" (and the RFC 2086 "c", "d"),
 * optionally after '+' (add) or '-' (remove). Checked before the store is
 * opened; the library checks it again. */
static int arg_rights(const ctx *c, const char *r)
{
    const char *p = (*r == '+' || *r == '-') ? r + 1 : r;
    for (; *p; p++)
        if (!strchr("lrswipkxteancd", *p))
            return usage_err(c, "invalid rights '%s': '%c' is not a right (letters of lrswipkxtean, "
                                "and the obsolete c and d; '+' adds, '-' removes)", r, *p);
    return EXIT_OK;
}

static int cmd_setacl(ctx *c)
{
    int ex = arg_rights(c, c->pos[2]);
    ls_session *s;
    if (ex != EXIT_OK || (ex = get_session(c, &s)) != EXIT_OK) return ex;
    int rc = ls_acl_set(s, c->pos[0], c->pos[1], c->pos[2]);
    return rc == LS_OK ? EXIT_OK : fail_arg(c, rc);
}

static int cmd_deleteacl(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_acl_delete(s, c->pos[0], c->pos[1]);
    return rc == LS_OK ? EXIT_OK : fail_arg(c, rc);
}

static int getacl_cb(const char *id, const char *rights, void *arg)
{
    const ctx *c = arg;
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "id", id);
        j_str(&j, "rights", rights);
        j_end(&j);
    } else {
        printf("%s %s\n", id, rights);
    }
    return 0;
}

static int cmd_getacl(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_acl_get(s, c->pos[0], getacl_cb, c);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

static int cmd_myrights(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    char rights[13] = "";
    int rc = ls_acl_myrights(s, c->pos[0], rights);
    if (rc != LS_OK) return fail(c, rc);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "rights", rights);
        j_end(&j);
    } else {
        printf("%s\n", rights);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* Subcommands: quota (RFC 9208)                                            */
/* ------------------------------------------------------------------------ */

/* "RESOURCE=LIMIT" into limits[] (LIMIT a number or "none"). */
static int arg_quota_limit(const ctx *c, const char *a, int64_t limits[LS_QUOTA_NRESOURCES])
{
    const char *eq = strchr(a, '=');
    if (!eq || eq == a)
        return usage_err(c, "'%s' is not RESOURCE=LIMIT (e.g. STORAGE=1024, MESSAGE=none)", a);
    char name[32];
    size_t n = (size_t)(eq - a);
    int res = -1;
    if (n < sizeof name) {
        memcpy(name, a, n);
        name[n] = 0;
        res = ls_quota_resource_parse(name);
    }
    if (res < 0)
        return usage_err(c, "unknown quota resource '%.*s' (STORAGE, MESSAGE or MAILBOX)", (int)n, a);
    if (limits[res] != LS_QUOTA_UNCHANGED)
        return usage_err(c, "quota resource %s is given twice", ls_quota_resource_name(res));
    const char *v = eq + 1;
    uint64_t lim;
    if (strcasecmp(v, "none") == 0) limits[res] = LS_QUOTA_UNLIMITED;
    else if (parse_u64(v, 0, INT64_MAX, &lim) == 0) limits[res] = (int64_t)lim;
    else return usage_err(c, "invalid limit '%s' for %s (%s from 0, or 'none')", v,
                          ls_quota_resource_name(res),
                          res == LS_QUOTA_STORAGE ? "a number of KiB" : "a number");
    return EXIT_OK;
}

static int cmd_setquota(ctx *c)
{
    int64_t limits[LS_QUOTA_NRESOURCES];
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++) limits[i] = LS_QUOTA_UNCHANGED;
    int ex;
    for (int i = 1; i < c->npos; i++)
        if ((ex = arg_quota_limit(c, c->pos[i], limits)) != EXIT_OK) return ex;
    ls_session *s;
    if ((ex = get_session(c, &s)) != EXIT_OK) return ex;
    int rc = ls_quota_set(s, c->pos[0], limits);
    return rc == LS_OK ? EXIT_OK : fail_arg(c, rc);
}

/* Usage as shown: STORAGE in KiB, rounded up; the others as counted. */
static uint64_t quota_usage_shown(const ls_quota *q, int res)
{
    uint64_t u = q->usage[res];
    return res == LS_QUOTA_STORAGE ? u / 1024 + (u % 1024 != 0) : u;
}

static int cmd_getquota(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    ls_quota q;
    memset(&q, 0, sizeof q);
    int rc = ls_quota_get(s, c->pos[0], &q);
    if (rc != LS_OK) return fail(c, rc);
    for (int res = 0; res < LS_QUOTA_NRESOURCES; res++) {
        uint64_t usage = quota_usage_shown(&q, res);
        int64_t limit = q.limit[res];
        if (c->json) {
            jobj j;
            j_begin(&j);
            j_str(&j, "root", q.root);
            j_str(&j, "resource", ls_quota_resource_name(res));
            j_u64(&j, "usage", usage);
            if (limit < 0) j_null(&j, "limit");
            else j_i64(&j, "limit", limit);
            j_end(&j);
        } else if (limit < 0) {
            printf("%s %" PRIu64 " none\n", ls_quota_resource_name(res), usage);
        } else {
            printf("%s %" PRIu64 " %" PRId64 "\n", ls_quota_resource_name(res), usage, limit);
        }
    }
    return EXIT_OK;
}

static int cmd_getquotaroot(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    char *root = NULL;
    int rc = ls_quota_root_of(s, c->pos[0], &root);
    if (rc != LS_OK) return fail(c, rc);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "root", root);
        j_end(&j);
    } else {
        printf("%s\n", root);
    }
    ls_free(root);
    return EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* Subcommands: subscriptions                                               */
/* ------------------------------------------------------------------------ */

static int cmd_subscribe(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_subs_add(s, c->pos[0], c->pos[1]);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

static int cmd_unsubscribe(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_subs_remove(s, c->pos[0], c->pos[1]);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

static int lsub_cb(const char *name, unsigned attrs, void *arg)
{
    (void)attrs;
    const ctx *c = arg;
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "name", name);
        j_end(&j);
    } else {
        printf("%s\n", name);
    }
    return 0;
}

static int cmd_lsub(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_subs_list(s, c->pos[0], c->npos > 1 ? c->pos[1] : NULL, lsub_cb, c);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

/* ------------------------------------------------------------------------ */
/* Subcommands: annotations (RFC 5464, RFC 6154)                            */
/* ------------------------------------------------------------------------ */

static int cmd_setannotation(ctx *c)
{
    int remove = opt(c, "remove") != NULL;
    if (remove && c->npos != 2)
        return usage_err(c, "--remove takes no VALUE (usage: setannotation MAILBOX ENTRY --remove)");
    if (!remove && c->npos != 3)
        return usage_err(c, "missing VALUE (usage: setannotation MAILBOX ENTRY VALUE, or "
                            "setannotation MAILBOX ENTRY --remove)");
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_annotation_set(s, c->pos[0], c->pos[1], remove ? NULL : c->pos[2]);
    return rc == LS_OK ? EXIT_OK : fail_arg(c, rc);
}

/* Write v as an IMAP string: an atom when it is one (and not NIL), else a
 * quoted string, else (CR or LF in it) a literal {N}CRLF followed by the
 * bytes. */
static void print_imap_string(const char *v)
{
    size_t len = strlen(v);
    int atom = len > 0 && strcasecmp(v, "NIL") != 0, quotable = 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p)) atom = 0;
        if (*p == '\r' || *p == '\n') quotable = 0;
    }
    if (atom) {
        fputs(v, stdout);
    } else if (quotable) {
        putchar('"');
        for (const char *p = v; *p; p++) {
            if (*p == '"' || *p == '\\') putchar('\\');
            putchar(*p);
        }
        putchar('"');
    } else {
        printf("{%zu}\r\n", len);
        fwrite(v, 1, len, stdout);
    }
}

static int getannotation_cb(const char *entry, const char *value, void *arg)
{
    const ctx *c = arg;
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "entry", entry);
        j_str(&j, "value", value);
        j_end(&j);
    } else {
        printf("%s ", entry);
        print_imap_string(value);
        putchar('\n');
    }
    return 0;
}

static int cmd_getannotation(ctx *c)
{
    ls_session *s;
    int ex = get_session(c, &s);
    if (ex != EXIT_OK) return ex;
    int rc = ls_annotation_get(s, c->pos[0], c->npos > 1 ? c->pos[1] : NULL, getannotation_cb, c);
    return rc == LS_OK ? EXIT_OK : fail_arg(c, rc);
}

/* ------------------------------------------------------------------------ */
/* Subcommands: the whole store                                             */
/* ------------------------------------------------------------------------ */

static int cmd_cleanup(ctx *c)
{
    int64_t age = 7 * 24 * 3600;
    const char *a = opt(c, "tombstone-age");
    if (a) {
        uint64_t v;
        if (strcmp(a, "-1") == 0) age = -1;
        else if (parse_u64(a, 0, INT64_MAX, &v) == 0) age = (int64_t)v;
        else return usage_err(c, "--tombstone-age: '%s' is not a number of seconds (or -1)", a);
    }
    ls_store *st;
    int ex = get_store(c, &st);
    if (ex != EXIT_OK) return ex;
    uint64_t removed = 0;
    int rc = ls_store_cleanup(st, age, &removed);
    if (rc != LS_OK) return fail(c, rc);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_u64(&j, "removed", removed);
        j_end(&j);
    } else {
        printf("removed %" PRIu64 "\n", removed);
    }
    return EXIT_OK;
}

static void check_cb(enum ls_store_check_severity severity, const char *message, void *arg)
{
    const ctx *c = arg;
    const char *sev = severity == LS_STORE_CHECK_ERROR ? "error" : "notice";
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "severity", sev);
        j_str(&j, "message", message);
        j_end(&j);
    } else {
        printf("%s: %s\n", sev, message);
    }
}

static int cmd_check(ctx *c)
{
    ls_store *st;
    int ex = get_store(c, &st);
    if (ex != EXIT_OK) return ex;
    uint64_t nerrors = 0;
    int rc = ls_store_check(st, check_cb, c, &nerrors);
    if (rc != LS_OK) return fail(c, rc);
    if (nerrors) {
        err_prefix(c);
        fprintf(stderr, "%" PRIu64 " error%s found\n", nerrors, nerrors == 1 ? "" : "s");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* init: make a new store, or (--upgrade) give an existing one its identity
 * markers. Needs no session: there may be no store to act in yet. */
static int cmd_init(ctx *c)
{
    int upgrade = opt(c, "upgrade") != NULL, force = opt(c, "force") != NULL;
    if (force && !upgrade) return usage_err(c, "--force has a meaning only with --upgrade");
    if (c->as) return usage_err(c, "init acts on the whole store: --as has no meaning here");
    if (upgrade) {
        int rc = ls_store_upgrade(c->config, force ? LS_UPGRADE_FORCE : 0, check_cb, c);
        return rc == LS_OK ? EXIT_OK : fail(c, rc);
    }
    ls_store *st;
    int rc = ls_store_open(c->config, LS_STORE_OPEN_DEFAULT, &st);
    if (rc == LS_OK) {
        int ex = failf(c, "a store exists already in %s", ls_store_configdirectory(st));
        ls_store_close(st);
        return ex;
    }
    if (rc != LS_ENOTFOUND) return fail(c, rc);
    if ((rc = ls_store_open(c->config, LS_STORE_OPEN_CREATE, &st)) != LS_OK) return fail(c, rc);
    if (c->json) {
        jobj j;
        j_begin(&j);
        j_str(&j, "created", ls_store_configdirectory(st));
        j_end(&j);
    } else {
        printf("created a store in %s\n", ls_store_configdirectory(st));
    }
    ls_store_close(st);
    return EXIT_OK;
}

static int cmd_backup(ctx *c)
{
    ls_store *st;
    int ex = get_store(c, &st);
    if (ex != EXIT_OK) return ex;
    int rc = ls_store_backup(st, c->pos[0]);
    return rc == LS_OK ? EXIT_OK : fail(c, rc);
}

/* ------------------------------------------------------------------------ */
/* The dispatch table                                                       */
/* ------------------------------------------------------------------------ */

static const subcmd commands[] = {
    { "init", "[--upgrade [--force]]", "Create a new store (or give an existing one its identity markers).",
      "Creates the store that store.conf describes: the LMDB environment in the\n"
      "configdirectory, the partition directories, and an identity marker (libstore.id,\n"
      "docs/format.md) in the configdirectory and at the root of every partition. No\n"
      "other command creates a store: a missing store is an error, never silently\n"
      "replaced by an empty one. Fails (exit 1) when a store exists already, when the\n"
      "configdirectory holds a store's marker without its environment (run\n"
      "'reconstruct -m'), or when a partition already holds a store's messages.\n"
      "Prints 'created a store in DIR' (--json: {\"created\"}).\n"
      "With --upgrade: writes the markers of a store made before they existed, and of\n"
      "partitions added to store.conf since. A partition is labelled only if it holds\n"
      "mailbox directories the store lists on it, or (a new partition) the store lists\n"
      "none there and it holds none; otherwise it is refused ('error: ...', exit 1,\n"
      "nothing written), as an unmounted disk would be. --force labels such a partition\n"
      "anyway (never one with another store's marker). Prints 'notice: ...' per marker.",
      { { "upgrade", NULL, "label an existing store and new partitions instead of creating a store" },
        { "force", NULL, "with --upgrade: label partitions that do not look like this store's" } },
      0, 0, cmd_init },
    { "create", "MAILBOX [--partition P]", "Create a mailbox.",
      "The new mailbox inherits the ACL of its nearest existing ancestor (a new INBOX\n"
      "user.NAME gives NAME all rights) and its partition, unless --partition names one.",
      { { "partition", "P", "create the mailbox on partition P (a partition-P key of store.conf)" } },
      1, 1, cmd_create },
    { "delete", "MAILBOX", "Delete a mailbox and its messages.",
      "Deleting a user's INBOX (user.NAME; administrators only) deletes the whole account.\n"
      "Files are removed after the commit, or by 'cleanup'.",
      { { 0 } }, 1, 1, cmd_delete },
    { "rename", "OLD NEW", "Rename a mailbox and its children.",
      "UIDs and UIDVALIDITY are kept. Renaming an INBOX moves its messages to NEW and\n"
      "leaves the INBOX empty (RFC 3501).",
      { { 0 } }, 2, 2, cmd_rename },
    { "list", "[PATTERN]", "List mailboxes matching PATTERN (default '*'), one name a line.",
      "PATTERN is an IMAP LIST pattern over internal names: '*' matches any characters,\n"
      "'%' any but the hierarchy separator. Names between mailboxes are listed too (they\n"
      "have the \\Noselect attribute). With --json: {\"name\", \"attributes\"} per line.",
      { { 0 } }, 0, 1, cmd_list },
    { "append", "MAILBOX [--flags LIST] [--date DATE]",
      "Append the message read from standard input; print its UID.",
      "The message is read in full from standard input and stored byte for byte, except\n"
      "that bare LF line ends become CRLF. LIST is a space-separated list of system flags\n"
      "(\\Seen \\Answered \\Flagged \\Deleted \\Draft) and keywords; DATE is an IMAP date-time\n"
      "such as \"21-Nov-2026 10:00:00 +0000\" (default: now). With --json: {\"uid\"}.",
      { { "flags", "LIST", "flags and keywords of the new message" },
        { "date", "DATE", "its internal date" } },
      1, 1, cmd_append },
    { "deliver", "[--mailbox FOLDER] USER...",
      "Deliver the message on standard input to the INBOX of each USER.",
      "The message is stored once and delivered atomically per recipient; one failing\n"
      "recipient does not stop the others. Prints one line per recipient, 'USER UID' or\n"
      "'USER ERROR message'; exits 1 if any recipient failed. With --json: {\"user\", \"uid\"}\n"
      "or {\"user\", \"error\"} per recipient.",
      { { "mailbox", "FOLDER", "deliver to the INBOX child FOLDER (e.g. 'work') instead" } },
      1, -1, cmd_deliver },
    { "fetch", "MAILBOX UID [--item ITEM]", "Print one item of a message, and nothing else.",
      "ITEM is one of:\n"
      "  rfc822          the whole message, byte for byte (the default)\n"
      "  header          the header, with the empty line that ends it\n"
      "  text            the body\n"
      "  section:N.N     a MIME part, as IMAP BODY[N.N]; also section:N.N.MIME,\n"
      "                  section:N.N.HEADER, section:N.N.TEXT, and any other IMAP\n"
      "                  section such as 'section:HEADER.FIELDS (From Subject)'\n"
      "  envelope        the IMAP ENVELOPE string, then a newline\n"
      "  bodystructure   the IMAP BODYSTRUCTURE string, then a newline\n"
      "  body            the IMAP BODY string, then a newline\n"
      "\n"
      "A malformed section is a usage error (exit 2); a part the message does not have\n"
      "is a failure (exit 1). Fetching does not set \\Seen. With --json: {\"uid\",\n"
      "\"envelope\"} (or \"bodystructure\", \"body\"), or {\"uid\", \"body[SECTION]\"} with the\n"
      "bytes as a JSON string for the others (\"body[]\" for rfc822).",
      { { "item", "ITEM", "what to print (default rfc822)" } },
      2, 2, cmd_fetch },
    { "store", "MAILBOX UIDSET +FLAGS|-FLAGS|FLAGS LIST [--unchangedsince MODSEQ]",
      "Add, remove or replace flags and keywords.",
      "+FLAGS adds the flags of LIST, -FLAGS removes them, FLAGS replaces all flags with\n"
      "them ('-FLAGS' is an argument, not an option). LIST is a space-separated list of\n"
      "system flags and keywords, e.g. \"\\Seen \\Flagged todo\" (\"\" is the empty list).\n"
      "UIDSET is an IMAP UID set such as 1:5,7,9:* ('*' is the last UID). With\n"
      "--unchangedsince, messages whose MODSEQ is above MODSEQ are left alone (RFC 7162):\n"
      "their UIDs are printed as 'MODIFIED 3,5' (--json: {\"modified\": \"3,5\"}) and the\n"
      "exit status is 1; the others are changed.",
      { { "unchangedsince", "MODSEQ", "change only messages whose MODSEQ is at most MODSEQ" } },
      4, 4, cmd_store },
    { "expunge", "MAILBOX [UIDSET]", "Remove the messages flagged \\Deleted; print their UIDs.",
      "Only messages in UIDSET are removed when it is given. The expunged UIDs are printed\n"
      "one a line (--json: {\"uid\"}). Their files go at the next 'cleanup'.",
      { { 0 } }, 1, 2, cmd_expunge },
    { "copy", "SRC UIDSET DST", "Copy messages; print 'SRCUID NEWUID' per message.",
      "Flags and internal dates are kept; the content is shared on disk. The output is\n"
      "the COPYUID mapping, one pair a line (--json: {\"uid\", \"newuid\"}).",
      { { 0 } }, 3, 3, cmd_copy },
    { "move", "SRC UIDSET DST", "Move messages; print 'SRCUID NEWUID' per message.",
      "As copy, then the originals are expunged, in one transaction.",
      { { 0 } }, 3, 3, cmd_move },
    { "status", "MAILBOX", "Print the STATUS counters of a mailbox.",
      "Prints 'KEY VALUE' lines: messages, recent, uidnext, uidvalidity, unseen,\n"
      "highestmodseq, size (bytes), deleted, flagged, answered. With --json, one object:\n"
      "{\"mailbox\", \"messages\", \"recent\", \"uidnext\", \"uidvalidity\", \"unseen\",\n"
      "\"highestmodseq\", \"size\", \"deleted\"}.",
      { { 0 } }, 1, 1, cmd_status },
    { "search", "MAILBOX [CRITERIA...]", "Print the UIDs of matching messages, one a line.",
      "CRITERIA are RFC 3501 SEARCH keys, one shell word per token, e.g.\n"
      "  mailstore search INBOX UNSEEN FROM bob LARGER 10000\n"
      "  mailstore search INBOX OR SUBJECT report BODY budget\n"
      "Sequence numbers refer to the current order of messages. Without criteria: ALL.\n"
      "Use '--' before a criterion that starts with '--'. A malformed criterion is a\n"
      "usage error (exit 2). With --json: {\"uid\"} per match.",
      { { 0 } }, 1, -1, cmd_search },
    { "setacl", "MAILBOX ID RIGHTS", "Set, extend or reduce the rights of ID on a mailbox.",
      "As IMAP SETACL (RFC 4314). ID is a user name, 'anyone', 'group:NAME' (members\n"
      "come from the groupsfile of store.conf), or one of these after '-' for a\n"
      "negative entry, whose rights are taken away from whoever it matches ('-ID' is an\n"
      "argument, not an option). RIGHTS is a string of the letters\n"
      "  l lookup   r read     s keep seen   w write flags   i insert   p post\n"
      "  k create   x delete   t delete msgs e expunge       a admin    n annotate\n"
      "(and the obsolete c = kx, d = te); it replaces the entry, or with a leading '+'\n"
      "adds to it and with '-' removes from it, e.g. 'lrs', '+w', '-w'. An entry left\n"
      "with no rights is removed. Needs the 'a' right. An unknown right letter or a\n"
      "malformed identifier is a usage error (exit 2).\n"
      "  mailstore setacl user.bovik.shared fred lrs\n"
      "  mailstore setacl shared.news group:staff +lrsw\n"
      "  mailstore setacl shared.news -intern w",
      { { 0 } }, 3, 3, cmd_setacl },
    { "deleteacl", "MAILBOX ID", "Remove the ACL entry of ID from a mailbox.",
      "As IMAP DELETEACL (RFC 4314): the entry of ID (a user name, 'anyone',\n"
      "'group:NAME', or '-ID' for the negative entry) is removed; removing an entry that\n"
      "does not exist is not an error. Needs the 'a' right.",
      { { 0 } }, 2, 2, cmd_deleteacl },
    { "getacl", "MAILBOX", "Print the ACL of a mailbox, 'ID RIGHTS' per entry.",
      "As IMAP GETACL (RFC 4314): one line per entry, in stored order, with the rights\n"
      "in canonical order (lrswipkxtean), e.g. 'bovik lrswipkxtean'. Needs the 'a'\n"
      "right. With --json: {\"id\", \"rights\"} per entry.",
      { { 0 } }, 1, 1, cmd_getacl },
    { "myrights", "MAILBOX", "Print the rights the acting identity has on a mailbox.",
      "As IMAP MYRIGHTS (RFC 4314): the letters in canonical order, e.g. 'lrs'. Without\n"
      "--as, the rights of an administrator (all of them); with --as ID, those of ID:\n"
      "the union of the entries naming ID, 'anyone' and ID's groups, minus the matching\n"
      "negative entries, plus the implicit 'lkxan' of the owner of user.ID... With\n"
      "--json: {\"rights\"}.",
      { { 0 } }, 1, 1, cmd_myrights },
    { "setquota", "ROOT RESOURCE=LIMIT...", "Set quota limits on a quota root.",
      "As IMAP SETQUOTA (RFC 9208); administrators only. ROOT names an existing mailbox;\n"
      "it becomes a quota root if it is not one, governing every mailbox at or below it\n"
      "that has no nearer root, and its usage is computed from them. RESOURCE is STORAGE\n"
      "(LIMIT in KiB), MESSAGE (a number of messages) or MAILBOX (a number of mailboxes),\n"
      "in any case; LIMIT is a number from 0, or 'none' to remove that limit. Resources\n"
      "not named keep their limits. An unknown resource, a resource named twice or a\n"
      "LIMIT that is not a number or 'none' is a usage error (exit 2).\n"
      "  mailstore setquota user.bovik STORAGE=102400 MESSAGE=5000\n"
      "  mailstore setquota user.bovik MESSAGE=none",
      { { 0 } }, 2, -1, cmd_setquota },
    { "getquota", "ROOT", "Print the usage and limits of a quota root.",
      "As IMAP GETQUOTA (RFC 9208): one line 'RESOURCE USAGE LIMIT' for each of STORAGE,\n"
      "MESSAGE and MAILBOX; STORAGE usage is in KiB, rounded up; LIMIT is a number or\n"
      "'none'. Every copy of a message is counted in full. Needs 'l' or 'r' on ROOT;\n"
      "a mailbox that is not a quota root is a failure (exit 1). With --json: {\"root\",\n"
      "\"resource\", \"usage\", \"limit\"} per resource, \"limit\" null when there is none.",
      { { 0 } }, 1, 1, cmd_getquota },
    { "getquotaroot", "MAILBOX", "Print the quota root that governs a mailbox.",
      "As IMAP GETQUOTAROOT (RFC 9208): the nearest quota root at or above MAILBOX. A\n"
      "root follows its mailbox when it is renamed. Needs the 'r' right. Exits 1 when\n"
      "no quota root governs MAILBOX. With --json: {\"root\"}.",
      { { 0 } }, 1, 1, cmd_getquotaroot },
    { "subscribe", "USER MAILBOX", "Subscribe USER to a mailbox.",
      "As IMAP SUBSCRIBE (RFC 3501). MAILBOX is an internal name and need not exist.\n"
      "With --as ID only ID's own subscriptions may be changed (administrators:\n"
      "anyone's). When users rename one of their own mailboxes, their subscriptions\n"
      "follow it (children too); other users' keep the old name.",
      { { 0 } }, 2, 2, cmd_subscribe },
    { "unsubscribe", "USER MAILBOX", "Remove a subscription of USER.",
      "As IMAP UNSUBSCRIBE (RFC 3501); removing a subscription that does not exist is\n"
      "not an error. With --as ID only ID's own subscriptions may be changed.",
      { { 0 } }, 2, 2, cmd_unsubscribe },
    { "lsub", "USER [PATTERN]", "List the subscriptions of USER, one name a line.",
      "As IMAP LSUB (RFC 3501): the subscribed names matching PATTERN (default '*';\n"
      "'%' matches any characters but the hierarchy separator), sorted, whether or not\n"
      "the mailboxes exist. With --as ID only ID's own. With --json: {\"name\"} per line.",
      { { 0 } }, 1, 2, cmd_lsub },
    { "setannotation", "MAILBOX ENTRY {VALUE | --remove}",
      "Set or remove a mailbox annotation.",
      "As IMAP SETMETADATA (RFC 5464) at mailbox level. ENTRY is '/shared/NAME' (one\n"
      "value for everyone; needs the 'n' right) or '/private/NAME' (the acting\n"
      "identity's own value; needs 'l'); NAME is one or more '/'-separated components of\n"
      "printable ASCII without '*' and '%'. VALUE is stored as given (\"\" is an empty\n"
      "value, not a removal); --remove removes the entry instead. '/private/specialuse'\n"
      "takes a space-separated list of \\All \\Archive \\Drafts \\Flagged \\Junk \\Sent \\Trash\n"
      "(RFC 6154). A malformed ENTRY or special-use value is a usage error (exit 2); the\n"
      "entries and values of one mailbox together may take at most\n"
      "annotation_size_limit bytes (store.conf; default 65536): more is a failure.\n"
      "  mailstore setannotation shared.news /shared/comment 'Company news'\n"
      "  mailstore --as bovik setannotation user.bovik.Sent /private/specialuse '\\Sent'\n"
      "  mailstore setannotation shared.news /shared/comment --remove",
      { { "remove", NULL, "remove ENTRY instead of setting a value" } },
      2, 3, cmd_setannotation },
    { "getannotation", "MAILBOX [ENTRY]", "Print the annotations of a mailbox, 'ENTRY VALUE' per line.",
      "As IMAP GETMETADATA (RFC 5464) at mailbox level: every '/shared/...' entry and the\n"
      "acting identity's own '/private/...' entries, or only ENTRY. VALUE is written as an\n"
      "IMAP string: as it is when it is an atom, else quoted (\"two words\", with \\\" and\n"
      "\\\\ escaped; also \"\" and \"NIL\"), else, when it holds a line break, as a literal\n"
      "{N} followed by CRLF and the N bytes. Needs the 'l' right. With --json: {\"entry\",\n"
      "\"value\"} per entry.",
      { { 0 } }, 1, 2, cmd_getannotation },
    { "info", "MAILBOX [UIDSET]", "Print the index record of each live message.",
      "One line per message:\n"
      "  UID GUID SIZE \"INTERNALDATE\" (FLAGS) MODSEQ\n"
      "e.g. 1 9f86...0a08 1234 \"21-Nov-2026 10:00:00 +0000\" (\\Seen todo) 5\n"
      "GUID is the SHA-256 of the stored bytes in lower-case hex. With --json: {\"uid\",\n"
      "\"guid\", \"size\", \"internaldate\", \"flags\": [...], \"modseq\"}.",
      { { 0 } }, 1, 2, cmd_info },
    { "path", "MAILBOX [UID]", "Print the mailbox's directory, or the path of a message file.",
      "As Cyrus mbpath. Messages with identical content share one file (hard links).",
      { { 0 } }, 1, 2, cmd_path },
    { "cleanup", "[--tombstone-age SECONDS]",
      "Finish removals that expunge and delete left for later.",
      "Removes files of expunged messages that no reader can still see, directories of\n"
      "deleted mailboxes, stale temporary files, and tombstones older than SECONDS\n"
      "(default 604800, 7 days; -1 keeps them). Prints 'removed N' (--json: {\"removed\"}).\n"
      "Nothing is removed from an unavailable partition (not mounted?): its removals\n"
      "stay queued, and cleanup exits 1 naming it.",
      { { "tombstone-age", "SECONDS", "remove expunged records older than this (-1: keep)" } },
      0, 0, cmd_cleanup },
    { "check", "", "Verify the whole store without changing anything.",
      "Checks every record against its file, index CRCs, cache records, counters,\n"
      "UIDNEXT, single-instance links and quota usage. Prints one line per finding,\n"
      "'error: ...' or 'notice: ...' (--json: {\"severity\", \"message\"}); exits 1 if any\n"
      "error was found (notices, such as adoptable crash leftovers, do not count).\n"
      "A partition whose identity marker is missing (not mounted?) or another store's is\n"
      "an error, and its mailboxes are not checked; so is a mailbox directory missing as\n"
      "a whole. Without a store (or with its environment lost) check fails (exit 1).",
      { { 0 } }, 0, 0, cmd_check },
    { "backup", "DIR", "Write a consistent copy of the metadata into DIR.",
      "DIR is created if missing and must not already hold a copy. Safe while the store\n"
      "is in use. See docs/admin.md for backing up the message files.",
      { { 0 } }, 1, 1, cmd_backup },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const subcmd *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static const char *opt(const ctx *c, const char *name)
{
    for (int i = 0; i < MAX_OPTS && c->cmd->opts[i].name; i++)
        if (strcmp(c->cmd->opts[i].name, name) == 0) return c->optval[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Help                                                                     */
/* ------------------------------------------------------------------------ */

static void print_main_help(FILE *f)
{
    fprintf(f,
        "NAME\n"
        "    mailstore - scripting front end to a libstore mailbox store\n"
        "\n"
        "SYNOPSIS\n"
        "    mailstore [-C FILE] [--as ID] [--json] SUBCOMMAND [ARGS...]\n"
        "    mailstore --help | SUBCOMMAND --help\n"
        "\n"
        "DESCRIPTION\n"
        "    mailstore runs one operation of the libstore library on a store and prints the\n"
        "    result in a form meant for scripts. Mailbox arguments and listed names are\n"
        "    internal names (user.bovik, user.bovik.work, shared.news), also with --as.\n"
        "    Options of a subcommand may appear anywhere after it, as --NAME VALUE or\n"
        "    --NAME=VALUE; '--' ends them.\n"
        "\n"
        "SUBCOMMANDS\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "    %s%s%s\n        %s\n", commands[i].name, *commands[i].synopsis ? " " : "",
                commands[i].synopsis, commands[i].summary);
    fprintf(f,
        "\n"
        "    Run 'mailstore SUBCOMMAND --help' for the details of one subcommand.\n"
        "\n"
        "OPTIONS\n"
        "    -C FILE     use the configuration file FILE\n"
        "    --as ID     act as identity ID, with its ACL rights and its seen state\n"
        "                (default: as an administrator, with all rights); cleanup,\n"
        "                check and backup then need an ID listed in 'admins'\n"
        "    --json      print one JSON object per line instead of text\n"
        "    -h, --help  print this help and exit\n"
        "    --version   print the version and exit\n"
        "\n"
        "OUTPUT\n"
        "    Text output is one item a line. With --json each line is one JSON object keyed\n"
        "    by the lower-case IMAP names (see each subcommand's --help); bytes that are\n"
        "    not UTF-8 are written as \\u00XX escapes of the byte.\n"
        "\n"
        "EXIT STATUS\n"
        "    0  success\n"
        "    1  failure (the reason on standard error, as 'mailstore: SUBCOMMAND: message')\n"
        "    2  usage error (unknown subcommand or option, bad argument)\n"
        "\n"
        "ENVIRONMENT\n"
        "    LIBSTORE_CONFIG  the configuration file to use when -C is not given;\n"
        "                     without either, ./store.conf is used\n"
        "\n"
        "FILES\n"
        "    store.conf  the store's configuration (configdirectory, partition-NAME, ...)\n"
        "\n"
        "EXAMPLES\n"
        "    mailstore -C /etc/store.conf create user.bovik\n"
        "    mailstore append user.bovik --flags '\\Seen' < message.eml\n"
        "    mailstore deliver bovik fred < message.eml\n"
        "    mailstore store user.bovik 1:* +FLAGS '\\Deleted' && mailstore expunge user.bovik\n"
        "    mailstore --json status user.bovik\n"
        "    mailstore search user.bovik UNSEEN SUBJECT report\n"
        "    mailstore fetch user.bovik 4 --item envelope\n"
        "    mailstore copy user.bovik 1:3 user.bovik.archive\n"
        "    mailstore --as fred list 'user.fred.*'\n"
        "    mailstore setacl user.bovik.shared fred lrs\n"
        "    mailstore --as fred myrights user.bovik.shared\n"
        "    mailstore setquota user.bovik STORAGE=102400 MESSAGE=none\n"
        "    mailstore --as bovik setannotation user.bovik.Sent /private/specialuse '\\Sent'\n"
        "    mailstore backup /var/backups/libstore-meta && mailstore check\n");
}

static void print_command_help(FILE *f, const subcmd *cmd)
{
    fprintf(f, "Usage: mailstore [-C FILE] [--as ID] [--json] %s%s%s\n\n%s\n", cmd->name,
            *cmd->synopsis ? " " : "", cmd->synopsis, cmd->summary);
    if (cmd->help) fprintf(f, "\n%s\n", cmd->help);
    if (cmd->opts[0].name) {
        fprintf(f, "\nOptions:\n");
        for (int i = 0; i < MAX_OPTS && cmd->opts[i].name; i++) {
            char left[64];
            if (cmd->opts[i].metavar)
                snprintf(left, sizeof left, "--%s %s", cmd->opts[i].name, cmd->opts[i].metavar);
            else
                snprintf(left, sizeof left, "--%s", cmd->opts[i].name);
            fprintf(f, "  %-24s %s\n", left, cmd->opts[i].help);
        }
    }
    fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

/* ------------------------------------------------------------------------ */
/* Argument parsing and main                                                */
/* ------------------------------------------------------------------------ */

enum { PARSE_RUN = -1, PARSE_HELP = -2 };

/* Match argv[*i] against the options of c->cmd; stores the value. Returns
 * PARSE_RUN when consumed, or an exit status for a usage error. */
static int parse_option(ctx *c, int argc, char **argv, int *i)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    for (int k = 0; k < MAX_OPTS && c->cmd->opts[k].name; k++) {
        const char *name = c->cmd->opts[k].name;
        if (strlen(name) != nlen || strncmp(name, arg, nlen) != 0) continue;
        if (!c->cmd->opts[k].metavar) {
            if (eq) return usage_err(c, "option '--%s' takes no value", name);
            c->optval[k] = "";
            return PARSE_RUN;
        }
        if (eq) c->optval[k] = eq + 1;
        else if (*i + 1 < argc) c->optval[k] = argv[++*i];
        else return usage_err(c, "option '--%s' needs a value (%s)", name, c->cmd->opts[k].metavar);
        return PARSE_RUN;
    }
    return usage_err(c, "unknown option '%s'", argv[*i]);
}

/* Split the subcommand's arguments into options and positional arguments
 * (c->pos is filled in place over argv). Returns PARSE_RUN, PARSE_HELP or an
 * exit status for a usage error. */
static int parse_command_args(ctx *c, int argc, char **argv)
{
    int dashdash = 0;
    c->pos = argv;
    c->npos = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) { dashdash = 1; continue; }
        if (!dashdash && (strcmp(a, "--help") == 0 || (i == 0 && strcmp(a, "-h") == 0)))
            return PARSE_HELP;
        if (!dashdash && a[0] == '-' && a[1] == '-') {
            int r = parse_option(c, argc, argv, &i);
            if (r != PARSE_RUN) return r;
            continue;
        }
        c->pos[c->npos++] = a;
    }
    if (c->npos < c->cmd->min_pos) return usage_err(c, "missing argument (usage: %s %s)",
                                                     c->cmd->name, c->cmd->synopsis);
    if (c->cmd->max_pos >= 0 && c->npos > c->cmd->max_pos)
        return usage_err(c, "too many arguments (usage: %s %s)", c->cmd->name, c->cmd->synopsis);
    return PARSE_RUN;
}

/* Global options before the subcommand. Returns PARSE_RUN with *next the
 * index of the subcommand, or an exit status (0 after --help/--version). */
static int parse_global(ctx *c, int argc, char **argv, int *next)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { print_main_help(stdout); return EXIT_OK; }
        if (strcmp(a, "--version") == 0) { printf("mailstore (libstore %s)\n", ls_version()); return EXIT_OK; }
        if (strcmp(a, "--json") == 0) { c->json = 1; continue; }
        if (strcmp(a, "-C") == 0 || strcmp(a, "--as") == 0) {
            if (i + 1 >= argc) return usage_err(NULL, "option '%s' needs a value", a);
            *(a[1] == 'C' ? &c->config : &c->as) = argv[++i];
            continue;
        }
        if (strncmp(a, "-C", 2) == 0) { c->config = a + 2; continue; }
        if (strncmp(a, "--as=", 5) == 0) { c->as = a + 5; continue; }
        return usage_err(NULL, "unknown option '%s'", a);
    }
    if (i >= argc) return usage_err(NULL, "missing subcommand");
    *next = i;
    return PARSE_RUN;
}

/* Flush stdout; a write error (full disk, closed pipe) is a failure. */
static int finish_output(const ctx *c, int ex)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        failf(c, "writing standard output: %s", strerror(e));
        return EXIT_FAIL;
    }
    return ex;
}

int main(int argc, char **argv)
{
    crash_guard_install(argv[0]);
    ctx c;
    memset(&c, 0, sizeof c);
    int sub = 0;
    int r = parse_global(&c, argc, argv, &sub);
    if (r != PARSE_RUN) return finish_output(NULL, r);
    c.cmd = find_command(argv[sub]);
    if (!c.cmd) return usage_err(NULL, "unknown subcommand '%s'", argv[sub]);
    r = parse_command_args(&c, argc - sub - 1, argv + sub + 1);
    if (r == PARSE_HELP) { print_command_help(stdout, c.cmd); return finish_output(&c, EXIT_OK); }
    if (r != PARSE_RUN) return r;
    int ex = c.cmd->run(&c);
    ex = finish_output(&c, ex);
    ctx_release(&c);
    return ex;
}

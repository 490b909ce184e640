/* Unit tests for libstore/search: the criteria parser and the evaluator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "libstore/common.h"
#include "search/search.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof *(a)))

/* ------------------------------------------------------------ helpers */

/* Parse argv and compare the normalised form. */
static void parses_as(int argc, const char *const *argv, const char *want)
{
    ls_search *s = NULL;
    int rc = ls__search_parse(argc, argv, &s);
    if (rc) fprintf(stderr, "parse failed: %s\n", ls_error_last());
    assert_int_equal(rc, LS_OK);
    char *f = ls__search_format(s);
    assert_non_null(f);
    if (strcmp(f, want) != 0) fprintf(stderr, "got  %s\nwant %s\n", f, want);
    assert_string_equal(f, want);
    free(f);
    ls__search_free(s);
}
#define PARSES_AS(want, ...)                                                                  \
    do {                                                                                      \
        const char *const a_[] = { __VA_ARGS__ };                                             \
        parses_as(ARGC(a_), a_, want);                                                        \
    } while (0)

static void parse_fails(int argc, const char *const *argv, const char *want)
{
    ls_search *s = (ls_search *)1;
    int rc = ls__search_parse(argc, argv, &s);
    if (rc != LS_EINVAL || !strstr(ls_error_last(), want))
        fprintf(stderr, "rc=%d msg='%s' wanted '%s'\n", rc, ls_error_last(), want);
    assert_int_equal(rc, LS_EINVAL);
    assert_null(s);
    assert_non_null(strstr(ls_error_last(), want));
}
#define FAILS(want, ...)                                                                      \
    do {                                                                                      \
        const char *const a_[] = { __VA_ARGS__ };                                             \
        parse_fails(ARGC(a_), a_, want);                                                      \
    } while (0)

/* A message for the evaluator: a multipart with a quoted-printable text
 * part, a base64 part, an embedded message, and several Received fields. */
static const char test_message[] =
    "Received: from relay1.example.net by mx.example.com\r\n"
    "Received: from origin.example.org\r\n"
    "\tby relay1.example.net\r\n"
    "From: Bob Smith <bob@example.com>\r\n"
    "To: alice@example.org\r\n"
    "Cc: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and hello\r\n"
    " world\r\n"
    "Date: Sat, 21 Nov 2026 09:00:00 +0100\r\n"
    "X-Mailer: TestMailer 1.0\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"BOUND\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--BOUND\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Un caf=C3=A9 au lait, s'il vous pla=C3=AEt. A long soft=\r\n"
    "broken line.\r\n"
    "--BOUND\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "VGhlIHNlY3JldCBUUkVBU1VSRSBtYXAgaXMgaGVyZS4=\r\n"
    "--BOUND\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@example.net\r\n"
    "Subject: forwarded note\r\n"
    "\r\n"
    "The inner body mentions zanzibar.\r\n"
    "--BOUND--\r\n";

/* The cached fields, as the cache record keeps them. */
static const char test_fields[] =
    "From: Bob Smith <bob@example.com>\r\n"
    "To: alice@example.org\r\n"
    "Cc: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and hello\r\n"
    " world\r\n"
    "Date: Sat, 21 Nov 2026 09:00:00 +0100\r\n";

typedef struct loader {
    const char *msg;
    size_t len;
    int calls;
    int fail;     /* an LS_E* code to return instead */
} loader;

static int load_cb(void *ctx, const char **msg, size_t *len)
{
    loader *l = ctx;
    l->calls++;
    if (l->fail) return l->fail;
    *msg = l->msg;
    *len = l->len;
    return 0;
}

static const char *const test_keywords[] = { "$Forwarded", "Work" };

/* 2026-11-21 10:00:00 UTC, as 05:00 -0500 */
#define T_20261121_1000Z 1795255200LL

static void default_msg(ls_search_msg *m, loader *l)
{
    memset(m, 0, sizeof *m);
    memset(l, 0, sizeof *l);
    l->msg = test_message;
    l->len = sizeof test_message - 1;
    m->uid = 10;
    m->seq = 3;
    m->flags = LS_FLAG_SEEN | LS_FLAG_FLAGGED;
    m->recent = 0;
    m->keywords = test_keywords;
    m->nkeywords = 2;
    m->size = sizeof test_message - 1;
    m->modseq = 500;
    m->internaldate = T_20261121_1000Z;
    m->internal_tz = -300;
    m->sentdate = T_20261121_1000Z - 2 * 3600;  /* 09:00 +0100 = 08:00Z */
    m->sent_tz = 60;
    m->fields = test_fields;
    m->fields_len = sizeof test_fields - 1;
    m->load_message = load_cb;
    m->ctx = l;
}

/* Evaluate argv on m; max UID 20, max seq 5. */
static int eval_argv(int argc, const char *const *argv, const ls_search_msg *m)
{
    ls_search *s = NULL;
    int rc = ls__search_parse(argc, argv, &s);
    if (rc) fprintf(stderr, "parse failed: %s\n", ls_error_last());
    assert_int_equal(rc, LS_OK);
    int match = -1;
    rc = ls__search_match(s, m, 20, 5, &match);
    if (rc) fprintf(stderr, "match failed: %s\n", ls_error_last());
    assert_int_equal(rc, LS_OK);
    ls__search_free(s);
    return match;
}
#define MATCHES(m, want, ...)                                                                 \
    do {                                                                                      \
        const char *const a_[] = { __VA_ARGS__ };                                             \
        int got_ = eval_argv(ARGC(a_), a_, (m));                                              \
        if (got_ != (want)) fprintf(stderr, "line %d: got %d want %d\n", __LINE__, got_, (want)); \
        assert_int_equal(got_, (want));                                                       \
    } while (0)

/* ------------------------------------------------------------ parser */

static void test_parse_example(void **state)
{
    PARSES_AS("((OR HEADER \"From\" \"bob\" HEADER \"Subject\" \"hello world\") UNSEEN LARGER 100 (NOT (DELETED)))",
              "OR", "FROM", "bob", "SUBJECT", "hello world", "UNSEEN", "LARGER", "100", "NOT", "(", "DELETED", ")");
}

static void test_parse_every_key(void **state)
{
    PARSES_AS("ALL", "ALL");
    PARSES_AS("ANSWERED", "answered");
    PARSES_AS("HEADER \"Bcc\" \"x\"", "BCC", "x");
    PARSES_AS("BEFORE 1-Feb-1994", "BEFORE", "1-Feb-1994");
    PARSES_AS("BODY \"a b\"", "Body", "a b");
    PARSES_AS("HEADER \"Cc\" \"x\"", "CC", "x");
    PARSES_AS("DELETED", "DELETED");
    PARSES_AS("DRAFT", "DRAFT");
    PARSES_AS("FLAGGED", "FLAGGED");
    PARSES_AS("HEADER \"From\" \"x\"", "FROM", "x");
    PARSES_AS("HEADER \"X-Spam\" \"yes\"", "HEADER", "X-Spam", "yes");
    PARSES_AS("KEYWORD $Junk", "KEYWORD", "$Junk");
    PARSES_AS("LARGER 0", "LARGER", "0");
    PARSES_AS("MODSEQ 5", "MODSEQ", "5");
    PARSES_AS("(RECENT UNSEEN)", "NEW");
    PARSES_AS("(NOT SEEN)", "NOT", "SEEN");
    PARSES_AS("(NOT RECENT)", "OLD");
    PARSES_AS("ON 21-Nov-2026", "ON", "21-nov-2026");
    PARSES_AS("(OR SEEN DRAFT)", "OR", "SEEN", "DRAFT");
    PARSES_AS("RECENT", "RECENT");
    PARSES_AS("SEEN", "SEEN");
    PARSES_AS("SENTBEFORE 1-Jan-2000", "SENTBEFORE", "1-Jan-2000");
    PARSES_AS("SENTON 1-Jan-2000", "SENTON", "\"1-Jan-2000\"");
    PARSES_AS("SENTSINCE 1-Jan-2000", "SENTSINCE", "01-Jan-2000");
    PARSES_AS("SINCE 1-Jan-2000", "SINCE", "1-Jan-2000");
    PARSES_AS("SMALLER 18446744073709551615", "SMALLER", "18446744073709551615");
    PARSES_AS("HEADER \"Subject\" \"\\\"q\\\" \\\\\"", "SUBJECT", "\"q\" \\");
    PARSES_AS("TEXT \"x\"", "TEXT", "x");
    PARSES_AS("HEADER \"To\" \"x\"", "TO", "x");
    PARSES_AS("UID 1:5,7:*", "UID", "7:*,5:1");
    PARSES_AS("UNANSWERED", "UNANSWERED");
    PARSES_AS("UNDELETED", "UNDELETED");
    PARSES_AS("UNDRAFT", "UNDRAFT");
    PARSES_AS("UNFLAGGED", "UNFLAGGED");
    PARSES_AS("UNKEYWORD Work", "UNKEYWORD", "Work");
    PARSES_AS("UNSEEN", "UNSEEN");
    PARSES_AS("1:3", "1:3");
    PARSES_AS("*", "*");
    PARSES_AS("(SEEN DELETED)", "seen", "Deleted");
}

static void test_parse_parentheses(void **state)
{
    PARSES_AS("(DELETED)", "(DELETED)");
    PARSES_AS("(DELETED)", "(DELETED", ")");
    PARSES_AS("(DELETED)", "(", "DELETED)");
    PARSES_AS("(NOT (DELETED SEEN))", "NOT", "(DELETED", "SEEN)");
    PARSES_AS("((DELETED))", "((DELETED))");
    PARSES_AS("((DELETED) (SEEN))", "(DELETED)", "(SEEN)");
    PARSES_AS("(HEADER \"From\" \"bob\")", "(FROM", "bob)");
    PARSES_AS("((HEADER \"From\" \"bob\"))", "((FROM", "bob))");
    PARSES_AS("(HEADER \"From\" \"bob)\")", "(FROM", "bob))");  /* only one ')' is open */
    PARSES_AS("(HEADER \"Subject\" \")\")", "(SUBJECT", ")", ")"); /* a lone ')' argument stays */
    PARSES_AS("HEADER \"Subject\" \"(urgent)\"", "SUBJECT", "(urgent)");  /* top level: literal */
    PARSES_AS("(1:5)", "(1:5)");
    PARSES_AS("(UID 1:5)", "(UID", "1:5)");
    PARSES_AS("(OR (SEEN) ((NOT DRAFT)))", "OR", "(SEEN)", "(NOT", "DRAFT)");
    FAILS("search: missing ')' for the '(' of argument 1", "(OR", "(SEEN)", "(NOT", "DRAFT)");
    PARSES_AS("(LARGER 10)", "(LARGER", "10)");
}

static void test_parse_charset(void **state)
{
    PARSES_AS("SEEN", "CHARSET", "UTF-8", "SEEN");
    PARSES_AS("SEEN", "charset", "us-ascii", "SEEN");
    FAILS("search: CHARSET 'ISO-8859-1' is not supported", "CHARSET", "ISO-8859-1", "SEEN");
    FAILS("search: CHARSET needs an argument", "CHARSET");
    FAILS("search: no search criteria given", "CHARSET", "UTF-8");
}

static void test_parse_errors(void **state)
{
    parse_fails(0, NULL, "search: no search criteria given");
    FAILS("search: unknown key 'FORM' (argument 1)", "FORM", "bob");
    FAILS("search: unknown key 'bogus' (argument 2)", "SEEN", "bogus");
    FAILS("search: unknown key 'DELETED(' (argument 1)", "DELETED(");
    FAILS("search: FROM needs an argument (argument 2)", "FROM");
    FAILS("search: FROM needs an argument (argument 1)", "(FROM)");
    FAILS("search: HEADER needs an argument (argument 3)", "HEADER", "X-A");
    FAILS("search: HEADER: 'Bad Name' is not a valid header field name (argument 2)", "HEADER", "Bad Name", "x");
    FAILS("search: HEADER: 'A:B' is not a valid", "HEADER", "A:B", "x");
    FAILS("search: HEADER: '' is not a valid", "HEADER", "", "x");
    FAILS("search: LARGER needs a number, got 'abc' (argument 2)", "LARGER", "abc");
    FAILS("search: LARGER needs a number, got '-1'", "LARGER", "-1");
    FAILS("search: LARGER needs a number, got ''", "LARGER", "");
    FAILS("search: SMALLER: number '18446744073709551616' is too large", "SMALLER", "18446744073709551616");
    FAILS("search: MODSEQ: number '9223372036854775808' is too large", "MODSEQ", "9223372036854775808");
    FAILS("search: MODSEQ needs a number, got 'x'", "MODSEQ", "x");
    FAILS("search: MODSEQ: bad entry name '/x'", "MODSEQ", "/x", "all", "5");
    FAILS("search: MODSEQ: entry type must be priv, shared or all, got 'mine'", "MODSEQ", "/flags/\\draft", "mine", "5");
    FAILS("search: MODSEQ needs an argument (argument 4)", "MODSEQ", "/flags/\\draft", "all");
    FAILS("search: SINCE: bad date '2026-11-21' (argument 2; expected e.g. 1-Feb-1994)", "SINCE", "2026-11-21");
    FAILS("search: BEFORE: bad date '31-Feb-2026'", "BEFORE", "31-Feb-2026");
    FAILS("search: SENTON: bad date", "SENTON", "1-Feb-1994 10:00:00 +0000");
    FAILS("search: UID '1:x' (argument 2): bad sequence set '1:x'", "UID", "1:x");
    FAILS("search: UID '0' (argument 2)", "UID", "0");
    FAILS("search: sequence set '1,,2' (argument 1)", "1,,2");
    FAILS("search: '$' (SEARCHRES) is not supported (argument 1)", "$");
    FAILS("search: KEYWORD: 'a b' is not a valid keyword (argument 2)", "KEYWORD", "a b");
    FAILS("search: UNKEYWORD: '\\Bogus' is not a valid keyword", "UNKEYWORD", "\\Bogus");
    FAILS("search: NOT needs a search key (argument 2)", "NOT");
    FAILS("search: NOT needs a search key (argument 1)", "(NOT)");
    FAILS("search: OR needs two search keys (argument 2)", "OR");
    FAILS("search: OR needs a second search key (argument 3)", "OR", "SEEN");
    FAILS("search: OR needs a second search key (argument 2)", "(OR", "SEEN)");
    FAILS("search: unbalanced ')' (argument 2)", "SEEN", ")");
    FAILS("search: unbalanced ')' (argument 1)", "SEEN)");
    FAILS("search: missing ')' for the '(' of argument 1", "(", "SEEN");
    FAILS("search: missing ')' for the '(' of argument 2", "SEEN", "((DRAFT)");
    FAILS("search: empty parentheses '()' (argument 1)", "()");
    FAILS("search: empty argument where a search key was expected (argument 2)", "SEEN", "");
    /* Messages quote bad tokens safely and briefly. */
    FAILS("search: unknown key 'a?b' (argument 1)", "a\nb");
    char longkey[300];
    memset(longkey, 'K', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    FAILS("KKK...' (argument 1)", longkey);
}

static void test_parse_nesting_limit(void **state)
{
    const char *argv[300];
    for (int i = 0; i < 299; i++) argv[i] = "NOT";
    argv[299] = "SEEN";
    parse_fails(300, argv, "search: criteria nested too deeply");
    for (int i = 0; i < 300; i++) argv[i] = "(";
    parse_fails(300, argv, "nested too deeply");
    /* 50 levels are fine. */
    for (int i = 0; i < 50; i++) argv[i] = "NOT";
    argv[50] = "SEEN";
    ls_search *s = NULL;
    assert_int_equal(ls__search_parse(51, argv, &s), LS_OK);
    ls__search_free(s);
    ls__search_free(NULL);
}

static void test_needs(void **state)
{
    struct { const char *const argv[4]; int argc, message, fields, seq; } cases[] = {
        { { "SEEN" }, 1, 0, 0, 0 },
        { { "FROM", "x" }, 2, 0, 1, 0 },
        { { "HEADER", "message-id", "x" }, 3, 0, 1, 0 },
        { { "HEADER", "X-Mailer", "x" }, 3, 1, 0, 0 },
        { { "BODY", "x" }, 2, 1, 0, 0 },
        { { "TEXT", "x" }, 2, 1, 0, 0 },
        { { "NOT", "BODY", "x" }, 3, 1, 0, 0 },
        { { "OR", "1:3", "SUBJECT", "x" }, 4, 0, 1, 1 },
        { { "UID", "1:3" }, 2, 0, 0, 0 },
        { { "SENTSINCE", "1-Jan-2000" }, 2, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ls_search *s = NULL;
        assert_int_equal(ls__search_parse(cases[i].argc, cases[i].argv, &s), LS_OK);
        assert_int_equal(ls__search_needs_message(s), cases[i].message);
        assert_int_equal(ls__search_needs_fields(s), cases[i].fields);
        assert_int_equal(ls__search_needs_seq(s), cases[i].seq);
        ls__search_free(s);
    }
    assert_int_equal(ls__search_needs_message(NULL), 0);
}

/* ------------------------------------------------------------ evaluator */

static void test_eval_flags(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);  /* \Seen \Flagged */
    MATCHES(&m, 1, "ALL");
    MATCHES(&m, 1, "SEEN");
    MATCHES(&m, 0, "UNSEEN");
    MATCHES(&m, 1, "FLAGGED");
    MATCHES(&m, 0, "UNFLAGGED");
    MATCHES(&m, 0, "ANSWERED");
    MATCHES(&m, 1, "UNANSWERED");
    MATCHES(&m, 0, "DELETED");
    MATCHES(&m, 1, "UNDELETED");
    MATCHES(&m, 0, "DRAFT");
    MATCHES(&m, 1, "UNDRAFT");
    m.flags = LS_FLAG_ANSWERED | LS_FLAG_DELETED | LS_FLAG_DRAFT;
    MATCHES(&m, 1, "ANSWERED");
    MATCHES(&m, 1, "DELETED");
    MATCHES(&m, 1, "DRAFT");
    MATCHES(&m, 0, "SEEN");
    MATCHES(&m, 1, "UNSEEN");
    MATCHES(&m, 1, "UNSEEN", "DELETED", "DRAFT");
    MATCHES(&m, 0, "UNSEEN", "DELETED", "FLAGGED");
    assert_int_equal(l.calls, 0);
}

static void test_eval_recent_new_old(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    m.flags = 0;
    m.recent = 1;
    MATCHES(&m, 1, "RECENT");
    MATCHES(&m, 1, "NEW");
    MATCHES(&m, 0, "OLD");
    m.flags = LS_FLAG_SEEN;
    MATCHES(&m, 0, "NEW");
    m.recent = 0;
    MATCHES(&m, 0, "RECENT");
    MATCHES(&m, 0, "NEW");
    MATCHES(&m, 1, "OLD");
    MATCHES(&m, 0, "KEYWORD", "\\Recent");
    MATCHES(&m, 1, "UNKEYWORD", "\\Recent");
}

static void test_eval_keywords(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    MATCHES(&m, 1, "KEYWORD", "$Forwarded");
    MATCHES(&m, 1, "KEYWORD", "$forwarded");
    MATCHES(&m, 1, "KEYWORD", "WORK");
    MATCHES(&m, 0, "KEYWORD", "Wor");
    MATCHES(&m, 0, "UNKEYWORD", "work");
    MATCHES(&m, 1, "UNKEYWORD", "$Junk");
    MATCHES(&m, 1, "KEYWORD", "\\Seen");
    MATCHES(&m, 0, "KEYWORD", "\\Deleted");
    MATCHES(&m, 1, "UNKEYWORD", "\\Deleted");
    m.nkeywords = 0;
    m.keywords = NULL;
    MATCHES(&m, 0, "KEYWORD", "Work");
    MATCHES(&m, 1, "UNKEYWORD", "Work");
}

static void test_eval_sizes_modseq(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    m.size = 100;
    MATCHES(&m, 1, "LARGER", "99");
    MATCHES(&m, 0, "LARGER", "100");
    MATCHES(&m, 1, "SMALLER", "101");
    MATCHES(&m, 0, "SMALLER", "100");
    MATCHES(&m, 0, "SMALLER", "0");
    MATCHES(&m, 1, "LARGER", "0");
    m.size = 0;
    MATCHES(&m, 0, "LARGER", "0");
    m.modseq = 500;
    MATCHES(&m, 1, "MODSEQ", "500");
    MATCHES(&m, 1, "MODSEQ", "0");
    MATCHES(&m, 0, "MODSEQ", "501");
    MATCHES(&m, 1, "MODSEQ", "/flags/\\draft", "all", "499");
    MATCHES(&m, 0, "MODSEQ", "\"/flags/$Junk\"", "priv", "600");
}

static void test_eval_internal_dates(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    /* 2026-11-21 23:30 -0500 is 2026-11-22 04:30 UTC: the day is the 21st,
     * in the date's own zone. */
    m.internaldate = T_20261121_1000Z + 18 * 3600 + 30 * 60;
    m.internal_tz = -300;
    MATCHES(&m, 1, "ON", "21-Nov-2026");
    MATCHES(&m, 0, "ON", "22-Nov-2026");
    MATCHES(&m, 1, "SINCE", "21-Nov-2026");
    MATCHES(&m, 1, "SINCE", "20-Nov-2026");
    MATCHES(&m, 0, "SINCE", "22-Nov-2026");
    MATCHES(&m, 1, "BEFORE", "22-Nov-2026");
    MATCHES(&m, 0, "BEFORE", "21-Nov-2026");
    /* Same instant seen from +0900: 13:30 on the 22nd. */
    m.internal_tz = 540;
    MATCHES(&m, 1, "ON", "22-Nov-2026");
    MATCHES(&m, 0, "ON", "21-Nov-2026");
    MATCHES(&m, 1, "SINCE", "22-Nov-2026");
    MATCHES(&m, 0, "BEFORE", "22-Nov-2026");
    /* Day boundaries and dates before the epoch. */
    m.internaldate = 0;
    m.internal_tz = 0;
    MATCHES(&m, 1, "ON", "1-Jan-1970");
    m.internaldate = -1;
    MATCHES(&m, 1, "ON", "31-Dec-1969");
    MATCHES(&m, 1, "BEFORE", "1-Jan-1970");
    m.internaldate = -86400 - 1;
    MATCHES(&m, 1, "ON", "30-Dec-1969");
    MATCHES(&m, 1, "OR", "ON", "29-Dec-1969", "SINCE", "30-Dec-1969");
}

static void test_eval_sent_dates(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    /* Date: Sat, 21 Nov 2026 09:00:00 +0100 */
    MATCHES(&m, 1, "SENTON", "21-Nov-2026");
    MATCHES(&m, 1, "SENTSINCE", "21-Nov-2026");
    MATCHES(&m, 0, "SENTSINCE", "22-Nov-2026");
    MATCHES(&m, 1, "SENTBEFORE", "22-Nov-2026");
    MATCHES(&m, 0, "SENTBEFORE", "21-Nov-2026");
    /* 00:30 +0100 on the 21st is the 20th in UTC; its own zone decides. */
    m.sentdate = T_20261121_1000Z - 10 * 3600 - 30 * 60;
    m.sent_tz = 60;
    MATCHES(&m, 1, "SENTON", "21-Nov-2026");
    m.sent_tz = 0;
    MATCHES(&m, 1, "SENTON", "20-Nov-2026");
    /* No Date: use the internal date. */
    m.sentdate = 0;
    m.internaldate = T_20261121_1000Z + 86400 * 3;
    m.internal_tz = 0;
    MATCHES(&m, 1, "SENTON", "24-Nov-2026");
    MATCHES(&m, 0, "SENTBEFORE", "24-Nov-2026");
    assert_int_equal(l.calls, 0);
}

static void test_eval_sets(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);  /* uid 10, seq 3; max uid 20, max seq 5 */
    MATCHES(&m, 1, "UID", "10");
    MATCHES(&m, 1, "UID", "1:*");
    MATCHES(&m, 1, "UID", "5:15");
    MATCHES(&m, 0, "UID", "11:*");
    MATCHES(&m, 0, "UID", "*");
    MATCHES(&m, 1, "UID", "1,3,10,12");
    MATCHES(&m, 0, "UID", "1,3,9,11,12:19");
    MATCHES(&m, 1, "3");
    MATCHES(&m, 1, "1:*");
    MATCHES(&m, 0, "4:*");
    MATCHES(&m, 0, "*");
    MATCHES(&m, 1, "2,3");
    m.uid = 20;
    m.seq = 5;
    MATCHES(&m, 1, "UID", "*");
    MATCHES(&m, 1, "*");
    MATCHES(&m, 1, "UID", "30:*");  /* = 20:30 */
    MATCHES(&m, 1, "9:*");          /* = 5:9 */
    MATCHES(&m, 1, "UID", "4294967294,*");
    m.uid = 19;
    MATCHES(&m, 0, "UID", "30:*");
    MATCHES(&m, 0, "UID", "4294967294,*");
    MATCHES(&m, 1, "NOT", "UID", "20");
    assert_int_equal(l.calls, 0);
}

static void test_eval_cached_headers(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    MATCHES(&m, 1, "FROM", "bob");
    MATCHES(&m, 1, "FROM", "BOB SMITH");
    MATCHES(&m, 1, "FROM", "@EXAMPLE.com>");
    MATCHES(&m, 0, "FROM", "alice");
    MATCHES(&m, 1, "TO", "alice@");
    MATCHES(&m, 1, "CC", "andre@example.fr");
    MATCHES(&m, 0, "BCC", "x");
    MATCHES(&m, 0, "BCC", "");          /* no Bcc field at all */
    MATCHES(&m, 1, "NOT", "BCC", "");
    MATCHES(&m, 1, "TO", "");           /* the field exists */
    MATCHES(&m, 1, "SUBJECT", "hello world");   /* unfolded */
    MATCHES(&m, 1, "SUBJECT", "HELLO");
    MATCHES(&m, 0, "SUBJECT", "hello\r\n");
    MATCHES(&m, 1, "HEADER", "subject", "and");
    MATCHES(&m, 1, "HEADER", "DATE", "21 nov 2026");
    MATCHES(&m, 0, "HEADER", "Message-ID", "");
    /* None of these read the message: the fields are cached. */
    assert_int_equal(l.calls, 0);
}

static void test_eval_encoded_words(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    /* Encoded-words are decoded to UTF-8; non-ASCII bytes match exactly. */
    MATCHES(&m, 1, "SUBJECT", "Grüße");
    MATCHES(&m, 1, "SUBJECT", "GRüßE");
    MATCHES(&m, 0, "SUBJECT", "GRÜSSE");
    MATCHES(&m, 0, "SUBJECT", "=?UTF-8?");
    MATCHES(&m, 1, "CC", "André");
}

static void test_eval_uncached_headers(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    MATCHES(&m, 1, "HEADER", "X-Mailer", "testmailer 1.0");
    assert_int_equal(l.calls, 1);
    MATCHES(&m, 0, "HEADER", "X-Mailer", "Outlook");
    /* Every occurrence counts, continuation lines included. */
    MATCHES(&m, 1, "HEADER", "Received", "relay1.example.net by mx");
    MATCHES(&m, 1, "HEADER", "Received", "origin.example.org");
    MATCHES(&m, 1, "HEADER", "RECEIVED", "BY RELAY1");
    MATCHES(&m, 0, "HEADER", "X-Missing", "");
    MATCHES(&m, 1, "HEADER", "MIME-Version", "");
    /* The inner message's and the parts' headers are not the message header. */
    MATCHES(&m, 0, "HEADER", "Content-Transfer-Encoding", "");
    MATCHES(&m, 0, "FROM", "inner@");

    /* Without cached fields, cached-field keys read the message. */
    default_msg(&m, &l);
    m.fields = NULL;
    m.fields_len = 0;
    MATCHES(&m, 1, "FROM", "bob smith");
    MATCHES(&m, 1, "SUBJECT", "grüße and hello world");
    assert_int_equal(l.calls, 2);
}

static void test_eval_body_text(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    /* quoted-printable, decoded: "Un café au lait, s'il vous plaît." */
    MATCHES(&m, 1, "BODY", "café au lait");
    MATCHES(&m, 1, "BODY", "CAFé AU LAIT");
    MATCHES(&m, 0, "BODY", "CAFÉ");                 /* no Unicode folding */
    MATCHES(&m, 1, "BODY", "plaît");
    MATCHES(&m, 1, "BODY", "softbroken line");      /* soft line break removed */
    MATCHES(&m, 0, "BODY", "caf=C3=A9");
    /* base64, decoded */
    MATCHES(&m, 1, "BODY", "secret treasure map");
    MATCHES(&m, 0, "BODY", "VGhlIHNlY3JldC");
    /* the embedded message: its header and body */
    MATCHES(&m, 1, "BODY", "zanzibar");
    MATCHES(&m, 1, "BODY", "forwarded note");
    /* the top-level header is not body */
    MATCHES(&m, 0, "BODY", "TestMailer");
    MATCHES(&m, 0, "BODY", "Bob Smith");
    /* TEXT: header and body */
    MATCHES(&m, 1, "TEXT", "TestMailer");
    MATCHES(&m, 1, "TEXT", "bob smith");
    MATCHES(&m, 1, "TEXT", "x-mailer:");
    MATCHES(&m, 1, "TEXT", "Grüße");
    MATCHES(&m, 1, "TEXT", "treasure");
    MATCHES(&m, 1, "TEXT", "zanzibar");
    MATCHES(&m, 0, "TEXT", "nowhere to be found");
    MATCHES(&m, 1, "BODY", "");
    MATCHES(&m, 1, "TEXT", "");
    /* Parts are searched one by one: no match across a boundary. */
    MATCHES(&m, 0, "BODY", "line.the secret");
}

static void test_eval_simple_body(void **state)
{
    static const char msg[] = "Subject: plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gV29ybGQh\r\n";
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    l.msg = msg;
    l.len = sizeof msg - 1;
    m.fields = NULL;
    MATCHES(&m, 1, "BODY", "hello world!");
    MATCHES(&m, 0, "BODY", "SGVsbG8");
    MATCHES(&m, 1, "SUBJECT", "plain");

    static const char lf[] = "Subject: lf only\nX-A: 1\n\nbody with Needle\n";
    l.msg = lf;
    l.len = sizeof lf - 1;
    MATCHES(&m, 1, "BODY", "needle");
    MATCHES(&m, 1, "HEADER", "X-A", "1");
    MATCHES(&m, 0, "BODY", "lf only");

    static const char nohdr[] = "no header at all, no blank line";
    l.msg = nohdr;
    l.len = sizeof nohdr - 1;
    MATCHES(&m, 0, "BODY", "blank line");
    MATCHES(&m, 0, "SUBJECT", "");

    l.msg = NULL;
    l.len = 0;
    MATCHES(&m, 0, "BODY", "x");
    MATCHES(&m, 1, "NOT", "TEXT", "x");
}

static void test_eval_lazy_loading(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    /* A cheap key that fails decides before the body is read, whatever
     * the order in which the keys were written. */
    MATCHES(&m, 0, "BODY", "café", "DELETED");
    MATCHES(&m, 1, "OR", "BODY", "nothing", "SEEN");
    MATCHES(&m, 0, "BODY", "café", "FROM", "nobody");
    assert_int_equal(l.calls, 0);
    /* One load per message, however many keys need it. */
    MATCHES(&m, 1, "BODY", "café", "TEXT", "testmailer", "HEADER", "X-Mailer", "1.0", "BODY", "zanzibar");
    assert_int_equal(l.calls, 1);
}

static void test_eval_loader_errors(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);
    l.fail = LS_EIO;
    const char *const argv[] = { "BODY", "x" };
    ls_search *s = NULL;
    assert_int_equal(ls__search_parse(2, argv, &s), LS_OK);
    int match = 7;
    ls_error_clear();
    assert_int_equal(ls__search_match(s, &m, 20, 5, &match), LS_EIO);
    assert_int_equal(match, 0);
    assert_non_null(strstr(ls_error_last(), "UID 10"));
    /* No loader at all. */
    m.load_message = NULL;
    assert_int_equal(ls__search_match(s, &m, 20, 5, &match), LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "no loader"));
    /* Keys that need no message do not care. */
    ls__search_free(s);
    const char *const argv2[] = { "NOT", "DELETED" };
    assert_int_equal(ls__search_parse(2, argv2, &s), LS_OK);
    assert_int_equal(ls__search_match(s, &m, 20, 5, &match), LS_OK);
    assert_int_equal(match, 1);
    assert_int_equal(ls__search_match(NULL, &m, 20, 5, &match), LS_EINVAL);
    ls__search_free(s);
}

static void test_eval_logic(void **state)
{
    ls_search_msg m;
    loader l;
    default_msg(&m, &l);  /* \Seen \Flagged, uid 10 */
    MATCHES(&m, 1, "OR", "DELETED", "SEEN");
    MATCHES(&m, 1, "OR", "SEEN", "DELETED");
    MATCHES(&m, 0, "OR", "DELETED", "DRAFT");
    MATCHES(&m, 1, "NOT", "NOT", "SEEN");
    MATCHES(&m, 0, "NOT", "(", "SEEN", "FLAGGED", ")");
    MATCHES(&m, 1, "NOT", "(", "SEEN", "DELETED", ")");
    MATCHES(&m, 1, "OR", "(DELETED", "SEEN)", "(UID", "10)");
    MATCHES(&m, 1, "OR", "OR", "DELETED", "DRAFT", "FROM", "bob");
    MATCHES(&m, 0, "SEEN", "FLAGGED", "UID", "11");
    MATCHES(&m, 1, "SEEN", "FLAGGED", "UID", "10", "FROM", "bob", "BODY", "lait");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_example),
        cmocka_unit_test(test_parse_every_key),
        cmocka_unit_test(test_parse_parentheses),
        cmocka_unit_test(test_parse_charset),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_nesting_limit),
        cmocka_unit_test(test_needs),
        cmocka_unit_test(test_eval_flags),
        cmocka_unit_test(test_eval_recent_new_old),
        cmocka_unit_test(test_eval_keywords),
        cmocka_unit_test(test_eval_sizes_modseq),
        cmocka_unit_test(test_eval_internal_dates),
        cmocka_unit_test(test_eval_sent_dates),
        cmocka_unit_test(test_eval_sets),
        cmocka_unit_test(test_eval_cached_headers),
        cmocka_unit_test(test_eval_encoded_words),
        cmocka_unit_test(test_eval_uncached_headers),
        cmocka_unit_test(test_eval_body_text),
        cmocka_unit_test(test_eval_simple_body),
        cmocka_unit_test(test_eval_lazy_loading),
        cmocka_unit_test(test_eval_loader_errors),
        cmocka_unit_test(test_eval_logic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

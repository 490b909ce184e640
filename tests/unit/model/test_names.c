/* Unit tests for libstore/model/names.c and mutf7.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/names.h"
#include "libstore/common.h"

static void name_ok(const char *name, char sep)
{
    int rc = ls_name_validate(name, sep);
    if (rc) fprintf(stderr, "'%s' (sep %c): %s\n", name, sep, ls_error_last());
    assert_int_equal(rc, LS_OK);
}

static void name_bad(const char *name, char sep, const char *want)
{
    int rc = ls_name_validate(name, sep);
    if (rc != LS_EBADNAME || !strstr(ls_error_last(), want))
        fprintf(stderr, "'%s' (sep %c): rc=%d msg=%s (wanted %s)\n", name ? name : "(null)", sep, rc,
                ls_error_last(), want);
    assert_int_equal(rc, LS_EBADNAME);
    assert_int_equal(ls_error_last_code(), LS_EBADNAME);
    assert_non_null(strstr(ls_error_last(), want));
}

static void test_validate_ok(void **state)
{
    name_ok("user.bovik", '.');
    name_ok("user.bovik.work", '.');
    name_ok("shared.news", '.');
    name_ok("a", '.');
    name_ok("users", '.');
    name_bad("user", '/', "'user' alone");
    name_ok("user/bovik/work", '/');
    name_ok("user/john.doe/a.b", '/');
    name_ok("user.bovik.Entwürfe", '.');
    name_ok("shared.台北", '.');
    name_ok("a b.c & d", '.');
    name_ok("shared.\xf0\x9f\x93\xa7", '.'); /* U+1F4E7, 4-byte UTF-8 */
    char max[LS_NAME_MAX + 1];
    memset(max, 'x', LS_NAME_MAX);
    max[LS_NAME_MAX] = 0;
    name_ok(max, '.');
}

static void test_validate_bad(void **state)
{
    name_bad("", '.', "mailbox name is empty");
    name_bad(NULL, '.', "mailbox name is empty");
    name_bad(".a", '.', "starts with the separator '.'");
    name_bad("a.", '.', "ends with the separator '.'");
    name_bad("a..b", '.', "empty component at byte 3");
    name_bad("/a", '/', "starts with the separator '/'");
    name_bad("a//b", '/', "empty component");
    name_bad(".", '.', "starts with the separator");
    name_bad("user", '.', "'user' alone");
    name_bad("user.", '.', "ends with the separator");
    name_bad("a\tb", '.', "control character 0x09 at byte 2");
    name_bad("a\x7f", '.', "control character 0x7f at byte 2");
    name_bad("a\x1b[31m", '.', "'a\\x1b[31m'");
    name_bad("a%b", '.', "wildcard '%' not allowed");
    name_bad("a*", '.', "wildcard '*' not allowed");
    name_bad("caf\xe9", '.', "invalid UTF-8 at byte 4");
    name_bad("\xc0\xaf", '.', "invalid UTF-8 at byte 1");       /* overlong '/' */
    name_bad("a\xed\xa0\x80", '.', "invalid UTF-8 at byte 2");  /* surrogate */
    name_bad("\xf4\x90\x80\x80", '.', "invalid UTF-8");         /* > U+10FFFF */
    name_bad("ab\xe2\x82", '.', "invalid UTF-8 at byte 3");     /* truncated */
    name_bad("\xf8\x88\x80\x80\x80", '.', "invalid UTF-8");
    char big[LS_NAME_MAX + 2];
    memset(big, 'x', LS_NAME_MAX + 1);
    big[LS_NAME_MAX + 1] = 0;
    name_bad(big, '.', "is 491 bytes, over the limit of 490");
    /* Bad user names below user. */
    name_bad("user.anyone", '.', "mailbox name 'user.anyone': user name 'anyone' is reserved");
    name_bad("user.-bob.x", '.', "cannot start with '-'");
    name_bad("user.group:staff", '.', "cannot start with 'group:'");
    name_bad("user.a b", '.', "contains a space");
    /* a user name may fill the mailbox name (490 - "user."), no more */
    char longuser[600] = "user.";
    memset(longuser + 5, 'u', 485);
    assert_int_equal(ls_name_validate(longuser, '.'), LS_OK);
}

static void user_bad(const char *user, char sep, const char *want)
{
    int rc = ls__user_validate(user, sep);
    if (rc != LS_EBADNAME || !strstr(ls_error_last(), want))
        fprintf(stderr, "user '%s': rc=%d msg=%s (wanted %s)\n", user ? user : "(null)", rc,
                ls_error_last(), want);
    assert_int_equal(rc, LS_EBADNAME);
    assert_non_null(strstr(ls_error_last(), want));
}

static void test_user_validate(void **state)
{
    assert_int_equal(ls__user_validate("bovik", '.'), LS_OK);
    assert_int_equal(ls__user_validate("john.doe", '/'), LS_OK);
    assert_int_equal(ls__user_validate("bob@example.com", '/'), LS_OK);
    assert_int_equal(ls__user_validate("a-b", '.'), LS_OK);
    assert_int_equal(ls__user_validate("anyone2", '.'), LS_OK);
    assert_int_equal(ls__user_validate("groupie", '.'), LS_OK);
    assert_int_equal(ls__user_validate("jürgen", '.'), LS_OK);
    char u[500];
    memset(u, 'u', 485);
    u[485] = 0;
    assert_int_equal(ls__user_validate(u, '.'), LS_OK);
    u[485] = 'u';
    u[486] = 0;
    user_bad(u, '.', "is 486 bytes, over the limit of 485");
    user_bad("", '.', "user name is empty");
    user_bad(NULL, '.', "user name is empty");
    user_bad("john.doe", '.', "contains the hierarchy separator '.'");
    user_bad("a/b", '/', "contains the hierarchy separator '/'");
    user_bad("a b", '.', "contains a space");
    user_bad("a\nb", '.', "control character 0x0a");
    user_bad("anyone", '.', "reserved");
    user_bad("ANYONE", '.', "reserved");
    user_bad("-bob", '.', "cannot start with '-'");
    user_bad("group:staff", '.', "cannot start with 'group:'");
    user_bad("a*", '.', "wildcard");
    user_bad("\xff", '.', "invalid UTF-8");
}

/* Refused characters (issue 8, point 6): C0, DEL, C1, the bidirectional
 * controls and the line/paragraph separators, with either separator, in
 * mailbox names and in user names; the message names the code point and
 * the byte, and quotes the name with the refused bytes escaped. */
static void test_validate_refused_chars(void **state)
{
    static const struct { const char *utf8; const char *want; } refused[] = {
        { "\x01", "control character 0x01" },
        { "\x1f", "control character 0x1f" },
        { "\x7f", "control character 0x7f" },
        { "\xc2\x80", "control character U+0080" },
        { "\xc2\x85", "control character U+0085" }, /* NEXT LINE */
        { "\xc2\x9f", "control character U+009F" },
        { "\xd8\x9c", "bidirectional control U+061C" },
        { "\xe2\x80\x8e", "bidirectional control U+200E" },
        { "\xe2\x80\x8f", "bidirectional control U+200F" },
        { "\xe2\x80\xaa", "bidirectional control U+202A" },
        { "\xe2\x80\xab", "bidirectional control U+202B" },
        { "\xe2\x80\xac", "bidirectional control U+202C" },
        { "\xe2\x80\xad", "bidirectional control U+202D" },
        { "\xe2\x80\xae", "bidirectional control U+202E" },
        { "\xe2\x81\xa6", "bidirectional control U+2066" },
        { "\xe2\x81\xa7", "bidirectional control U+2067" },
        { "\xe2\x81\xa8", "bidirectional control U+2068" },
        { "\xe2\x81\xa9", "bidirectional control U+2069" },
        { "\xe2\x80\xa8", "line or paragraph separator U+2028" },
        { "\xe2\x80\xa9", "line or paragraph separator U+2029" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char name[64], want[96], user[32];
        snprintf(name, sizeof name, "shared.ab%s", refused[i].utf8);
        snprintf(want, sizeof want, "%s at byte 10", refused[i].want);
        name_bad(name, '.', want);
        snprintf(name, sizeof name, "user/bovik/ab%s/x", refused[i].utf8);
        snprintf(want, sizeof want, "%s at byte 14", refused[i].want);
        name_bad(name, '/', want);
        snprintf(user, sizeof user, "bo%svik", refused[i].utf8);
        snprintf(want, sizeof want, "user name 'bo\\x");
        user_bad(user, '.', want);
        user_bad(user, '/', refused[i].want);
        snprintf(name, sizeof name, "user.%s", user);
        name_bad(name, '.', refused[i].want);
    }
    /* The message does not carry the override itself: it would reverse the
     * admin's terminal line. */
    name_bad("shared.gpj\xe2\x80\xae" "exe", '.', "mailbox name 'shared.gpj\\xe2\\x80\\xaeexe': bidirectional");
    /* Neighbours of the refused ranges stay valid. */
    name_ok("shared.\xc2\xa0nbsp", '.');            /* U+00A0 */
    name_ok("shared.\xe2\x80\x8d", '.');            /* U+200D ZERO WIDTH JOINER (emoji sequences) */
    name_ok("shared.\xe2\x80\xaf", '.');            /* U+202F */
    name_ok("shared.\xe2\x81\xa5x", '.');           /* U+2065 */
    name_ok("shared.\xd8\x9b", '.');                /* U+061B ARABIC SEMICOLON */
    name_ok("shared.~", '.');                       /* U+007E */
    assert_int_equal(ls__user_validate("j\xc3\xbcrgen", '/'), LS_OK);
}

/* Parts that would climb a directory, empty parts and misplaced separators,
 * with either separator. */
static void test_validate_path_parts(void **state)
{
    name_bad("user/bovik/../../etc", '/', "mailbox name 'user/bovik/../../etc': part '..' at byte 12");
    name_bad("user/bovik/..", '/', "part '..' at byte 12");
    name_bad("user/bovik/.", '/', "part '.' at byte 12");
    name_bad("user/bovik/./x", '/', "part '.' at byte 12");
    name_bad("../x", '/', "part '..' at byte 1");
    name_bad("..", '/', "part '..' at byte 1");
    name_bad(".", '/', "part '.' at byte 1");
    name_bad("user/..", '/', "part '..' at byte 6");
    name_bad("user/./x", '/', "part '.' at byte 6");
    /* "." and ".." are only refused as whole parts */
    name_ok("user/bovik/.hidden", '/');
    name_ok("user/bovik/...", '/');
    name_ok("user/bovik/a..b", '/');
    name_ok("user/bo.vik/x.", '/');
    /* empty parts and separators at the ends */
    name_bad("user//bovik", '/', "empty component at byte 6");
    name_bad("user/bovik/", '/', "ends with the separator '/'");
    name_bad("/user/bovik", '/', "starts with the separator '/'");
    name_bad("user..bovik", '.', "empty component");
    /* '/' inside a part when the separator is '.' */
    name_bad("user.bovik.a/b", '.', "'/' at byte 13 is not allowed (it is a path separator; the "
                                    "hierarchy separator is '.')");
    name_bad("user.bovik.x/../../../etc", '.', "'/' at byte 13 is not allowed");
    name_bad("/etc", '.', "'/' at byte 1 is not allowed");
    name_bad("user.a/b", '.', "mailbox name 'user.a/b': '/' at byte 7 is not allowed");
    /* overlong, invalid and truncated UTF-8 spelling '.', '/' or NUL */
    name_bad("user/bovik/\xc0\xae\xc0\xae", '/', "invalid UTF-8 at byte 12"); /* overlong ".." */
    name_bad("user.bovik\xc0\xafx", '.', "invalid UTF-8 at byte 11");         /* overlong '/' */
    name_bad("user.bovik.\xe0\x80\xaf", '.', "invalid UTF-8 at byte 12");      /* 3-byte overlong '/' */
    name_bad("shared.\xc0\x80", '.', "invalid UTF-8 at byte 8");              /* overlong NUL */
    name_bad("shared.\x80", '.', "invalid UTF-8 at byte 8");                  /* lone continuation */
    name_bad("shared.\xc3", '.', "invalid UTF-8 at byte 8");                  /* truncated */
}

static void test_user_validate_more(void **state)
{
    user_bad(".", '/', "user name '.' is not allowed");
    user_bad("..", '/', "user name '..' is not allowed");
    user_bad("a/b", '.', "'/' at byte 2 is not allowed");
    user_bad("../etc", '.', "'/' at byte 3 is not allowed");
    user_bad("\xc2\x85", '/', "control character U+0085 at byte 1");
    user_bad("bob\xe2\x80\xae", '.', "bidirectional control U+202E at byte 4");
    assert_int_equal(ls__user_validate("...", '/'), LS_OK);
    assert_int_equal(ls__user_validate(".bob", '/'), LS_OK);
}

static void test_owner(void **state)
{
    char *u = (char *)1;
    assert_int_equal(ls__name_owner("user.bovik", '.', &u), 1);
    assert_string_equal(u, "bovik");
    free(u);
    assert_int_equal(ls__name_owner("user.bovik.work.x", '.', &u), 1);
    assert_string_equal(u, "bovik");
    free(u);
    assert_int_equal(ls__name_owner("user/john.doe/x", '/', &u), 1);
    assert_string_equal(u, "john.doe");
    free(u);
    assert_int_equal(ls__name_owner("shared.news", '.', &u), 0);
    assert_null(u);
    assert_int_equal(ls__name_owner("user", '.', &u), 0);
    assert_null(u);
    assert_int_equal(ls__name_owner("users.x", '.', &u), 0);
    assert_int_equal(ls__name_owner("user/x", '.', &u), 0);
    assert_int_equal(ls__name_owner("User.x", '.', &u), 0);
    assert_int_equal(ls__name_owner("user..x", '.', &u), 0);
    assert_null(u);
}

static void to_user(const char *internal, const char *user, char sep, const char *want)
{
    char *out = NULL;
    assert_int_equal(ls_name_to_user(internal, user, sep, &out), LS_OK);
    assert_string_equal(out, want);
    free(out);
}

static void from_user(const char *external, const char *user, char sep, const char *want)
{
    char *out = NULL;
    int rc = ls_name_from_user(external, user, sep, &out);
    if (rc) fprintf(stderr, "'%s' as %s: %s\n", external, user ? user : "(null)", ls_error_last());
    assert_int_equal(rc, LS_OK);
    assert_string_equal(out, want);
    free(out);
}

static void from_user_bad(const char *external, const char *user, char sep, const char *want)
{
    char *out = (char *)1;
    int rc = ls_name_from_user(external, user, sep, &out);
    if (rc != LS_EBADNAME || !strstr(ls_error_last(), want))
        fprintf(stderr, "'%s' as %s: rc=%d msg=%s (wanted %s)\n", external, user ? user : "(null)", rc,
                ls_error_last(), want);
    assert_int_equal(rc, LS_EBADNAME);
    assert_null(out);
    assert_non_null(strstr(ls_error_last(), want));
}

static void test_user_view(void **state)
{
    to_user("user.bovik", "bovik", '.', "INBOX");
    to_user("user.bovik.work", "bovik", '.', "INBOX.work");
    to_user("user.bovik.work.x", "bovik", '.', "INBOX.work.x");
    to_user("user.bovikx", "bovik", '.', "user.bovikx");
    to_user("user.bovik", "bov", '.', "user.bovik");
    to_user("user.alice.x", "bovik", '.', "user.alice.x");
    to_user("shared.news", "bovik", '.', "shared.news");
    to_user("user.bovik", NULL, '.', "user.bovik");
    to_user("user/john.doe/x", "john.doe", '/', "INBOX/x");
    to_user("user.bovik/x", "bovik", '/', "user.bovik/x");

    from_user("INBOX", "bovik", '.', "user.bovik");
    from_user("inbox", "bovik", '.', "user.bovik");
    from_user("InBoX.work", "bovik", '.', "user.bovik.work");
    from_user("INBOX/a/b", "john.doe", '/', "user/john.doe/a/b");
    from_user("INBOXES", "bovik", '.', "INBOXES");
    from_user("shared.news", "bovik", '.', "shared.news");
    from_user("user.alice.x", "bovik", '.', "user.alice.x");
    from_user("shared.news", NULL, '.', "shared.news");

    from_user_bad("INBOX", NULL, '.', "INBOX needs a user");
    from_user_bad("inbox.x", "", '.', "INBOX needs a user");
    from_user_bad("INBOX.", "bovik", '.', "ends with the separator");
    from_user_bad("INBOX..x", "bovik", '.', "empty component");
    from_user_bad("INBOX", "john.doe", '.', "contains the hierarchy separator");
    from_user_bad("a..b", "bovik", '.', "empty component");
    from_user_bad("", "bovik", '.', "empty");
    /* '/' is no separator here, and a path separator in a part is refused */
    from_user_bad("INBOX/x", "bovik", '.', "'/' at byte 6 is not allowed");
    from_user_bad("INBOX/../../etc", "bovik", '/', "mailbox name 'user/bovik/../../etc': part '..' at byte 12");
    from_user_bad("INBOX.\xe2\x80\xae", "bovik", '.', "bidirectional control U+202E");
}

static void test_ancestor(void **state)
{
    assert_true(ls__name_is_ancestor("a.b", "a.b.c", '.'));
    assert_true(ls__name_is_ancestor("a", "a.b.c", '.'));
    assert_false(ls__name_is_ancestor("a.b", "a.bc", '.'));
    assert_false(ls__name_is_ancestor("a.b", "a.b", '.'));
    assert_false(ls__name_is_ancestor("a.b.c", "a.b", '.'));
    assert_false(ls__name_is_ancestor("", "a", '.'));
    assert_false(ls__name_is_ancestor("a", "a.", '.'));
    assert_false(ls__name_is_ancestor("a/b", "a/b.c", '/'));
    assert_true(ls__name_is_ancestor("a/b", "a/b/c", '/'));
    assert_false(ls__name_is_ancestor(NULL, "a", '.'));
}

static void mutf7_pair(const char *utf8, const char *mutf7)
{
    char *out = NULL;
    int rc = ls_name_to_mutf7(utf8, &out);
    if (rc) fprintf(stderr, "encode '%s': %s\n", utf8, ls_error_last());
    assert_int_equal(rc, LS_OK);
    assert_string_equal(out, mutf7);
    free(out);
    rc = ls_name_from_mutf7(mutf7, &out);
    if (rc) fprintf(stderr, "decode '%s': %s\n", mutf7, ls_error_last());
    assert_int_equal(rc, LS_OK);
    assert_string_equal(out, utf8);
    free(out);
}

static void test_mutf7_roundtrip(void **state)
{
    mutf7_pair("", "");
    mutf7_pair("INBOX", "INBOX");
    mutf7_pair("Entwürfe", "Entw&APw-rfe");
    mutf7_pair("&", "&-");
    mutf7_pair("a&b&&", "a&-b&-&-");
    mutf7_pair("台北", "&U,BTFw-");
    mutf7_pair("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    mutf7_pair("Brouillons é", "Brouillons &AOk-");
    mutf7_pair("é&", "&AOk-&-");
    mutf7_pair("ü", "&APw-");
    mutf7_pair("üü", "&APwA,A-");
    mutf7_pair("üüü", "&APwA,AD8-");
    mutf7_pair("\xf0\x9f\x93\xa7", "&2D3c5w-");                 /* U+1F4E7 as a surrogate pair */
    mutf7_pair("a\tb", "a&AAk-b");                               /* controls are encoded */
    mutf7_pair("\x7f", "&AH8-");
    mutf7_pair(" ~", " ~");
    mutf7_pair("\xef\xbf\xbf", "&,,8-");                         /* U+FFFF */
    mutf7_pair("\xf4\x8f\xbf\xbf", "&2,,f,w-");                  /* U+10FFFF */
}

static void mutf7_decode_bad(const char *in, const char *want)
{
    char *out = (char *)1;
    int rc = ls_name_from_mutf7(in, &out);
    if (rc != LS_EBADNAME || !strstr(ls_error_last(), want))
        fprintf(stderr, "decode '%s': rc=%d msg=%s (wanted %s)\n", in, rc, ls_error_last(), want);
    assert_int_equal(rc, LS_EBADNAME);
    assert_null(out);
    assert_non_null(strstr(ls_error_last(), want));
}

static void test_mutf7_decode_invalid(void **state)
{
    mutf7_decode_bad("Entw\xc3\xbcrfe", "byte 0xc3 at byte 5 is not printable ASCII");
    mutf7_decode_bad("a\tb", "byte 0x09");
    mutf7_decode_bad("&", "lacks its closing '-'");
    mutf7_decode_bad("&APw", "lacks its closing '-'");
    mutf7_decode_bad("&AP!-", "invalid character in base64");
    mutf7_decode_bad("&AP/-", "invalid character in base64");      /* '/' is standard base64, not modified */
    mutf7_decode_bad("&APw=-", "invalid character in base64");
    mutf7_decode_bad("&AEE-", "printable ASCII 'A' must not be base64-encoded");
    mutf7_decode_bad("&ACY-", "printable ASCII '&'");
    mutf7_decode_bad("&APx-", "not canonical");                   /* non-zero padding bits */
    mutf7_decode_bad("&APwA-", "not canonical");                  /* spare character */
    mutf7_decode_bad("&AP-", "not canonical");                    /* partial unit */
    mutf7_decode_bad("&A-", "not canonical");
    mutf7_decode_bad("&APw-&APw-", "adjacent base64 runs");
    mutf7_decode_bad("&2D0-", "unpaired UTF-16 surrogate");       /* lone high surrogate */
    mutf7_decode_bad("&3,c-", "unpaired UTF-16 surrogate");       /* lone low surrogate */
    mutf7_decode_bad("&2D3YPQ-", "unpaired UTF-16 surrogate");    /* high + high */
    mutf7_decode_bad("&AAA-", "NUL");

    /* Not adjacent runs: "&-" between runs is fine. */
    char *out;
    assert_int_equal(ls_name_from_mutf7("&APw-&-&APw-", &out), LS_OK);
    assert_string_equal(out, "ü&ü");
    free(out);
    assert_int_equal(ls_name_from_mutf7("&APw-x&APw-", &out), LS_OK);
    assert_string_equal(out, "üxü");
    free(out);
}

static void test_mutf7_encode_invalid(void **state)
{
    char *out = (char *)1;
    assert_int_equal(ls_name_to_mutf7("caf\xe9", &out), LS_EBADNAME);
    assert_non_null(strstr(ls_error_last(), "invalid UTF-8 at byte 4"));
    assert_null(out);
    assert_int_equal(ls_name_to_mutf7("\xc3\xa9\xff", &out), LS_EBADNAME);
    assert_non_null(strstr(ls_error_last(), "invalid UTF-8 at byte 3"));
    assert_int_equal(ls_name_to_mutf7("\xed\xa0\x80", &out), LS_EBADNAME); /* surrogate in UTF-8 */
    assert_int_equal(ls_name_to_mutf7(NULL, &out), LS_EBADNAME);
}

static void test_mutf7_all_bmp(void **state)
{
    /* Every BMP code point (but surrogates and NUL) alone and after a
     * non-ASCII neighbour round-trips, and the encoding decodes uniquely. */
    for (uint32_t cp = 1; cp < 0x10000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        char u[8];
        size_t n = 0;
        if (cp < 0x80) u[n++] = (char)cp;
        else if (cp < 0x800) { u[n++] = (char)(0xc0 | (cp >> 6)); u[n++] = (char)(0x80 | (cp & 0x3f)); }
        else {
            u[n++] = (char)(0xe0 | (cp >> 12));
            u[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[n++] = (char)(0x80 | (cp & 0x3f));
        }
        memcpy(u + n, "\xc3\xa9", 3);
        char *e, *d;
        assert_int_equal(ls_name_to_mutf7(u, &e), LS_OK);
        assert_int_equal(ls_name_from_mutf7(e, &d), LS_OK);
        assert_string_equal(d, u);
        free(e);
        free(d);
    }
}

static void match(const char *pat, const char *name, char sep, int want)
{
    int got = ls__pattern_match(pat, name, sep);
    if (got != want) fprintf(stderr, "pattern '%s' name '%s': got %d want %d\n", pat, name, got, want);
    assert_int_equal(got, want);
}

static void test_pattern(void **state)
{
    match("*", "user.bovik.work", '.', 1);
    match("*", "", '.', 1);
    match("%", "user", '.', 1);
    match("%", "user.bovik", '.', 0);
    match("user.%", "user.bovik", '.', 1);
    match("user.%", "user.bovik.work", '.', 0);
    match("user.*", "user.bovik.work", '.', 1);
    match("user.*", "user", '.', 0);
    match("user*", "user", '.', 1);
    match("user.%.work", "user.bovik.work", '.', 1);
    match("user.%.work", "user.bovik.x.work", '.', 0);
    match("user.*.work", "user.bovik.x.work", '.', 1);
    match("%.%", "a.b", '.', 1);
    match("%.%", "a.b.c", '.', 0);
    match("%%", "ab", '.', 1);
    match("a%c", "abbbc", '.', 1);
    match("a%c", "ab.bc", '.', 0);
    match("a%c", "ab/bc", '.', 1);
    match("a%c", "ab/bc", '/', 0);
    match("user.bovik", "user.bovik", '.', 1);
    match("user.bovik", "user.Bovik", '.', 0);   /* case-sensitive */
    match("user.bovik", "user.bovikx", '.', 0);
    match("user.bovikx", "user.bovik", '.', 0);
    match("", "", '.', 1);
    match("", "a", '.', 0);
    match("a", "", '.', 0);
    match("*a", "bbba", '.', 1);
    match("*a", "bbab", '.', 0);
    match("%*", "a.b", '.', 1);
    match("*%", "a.b", '.', 1);
    match("台*", "台北", '.', 1);
    match("*.北", "a.北", '.', 1);
    match(NULL, "a", '.', 0);
}

static void test_pattern_no_backtracking_blowup(void **state)
{
    /* "*a*a*a...*b" against "aaaa...": exponential with naive backtracking. */
    char pat[400] = "", name[4001];
    for (int i = 0; i < 150; i++) strcat(pat, i % 2 ? "%a" : "*a");
    strcat(pat, "*b");
    memset(name, 'a', 4000);
    name[4000] = 0;
    clock_t t0 = clock();
    match(pat, name, '.', 0);
    name[3999] = 'b';
    match(pat, name, '.', 1);
    /* Long patterns use the heap path. */
    char *lp = malloc(3001);
    memset(lp, '*', 3000);
    lp[3000] = 0;
    match(lp, name, '.', 1);
    lp[2999] = 'c';
    match(lp, name, '.', 0);
    free(lp);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_ok),
        cmocka_unit_test(test_validate_bad),
        cmocka_unit_test(test_user_validate),
        cmocka_unit_test(test_validate_refused_chars),
        cmocka_unit_test(test_validate_path_parts),
        cmocka_unit_test(test_user_validate_more),
        cmocka_unit_test(test_owner),
        cmocka_unit_test(test_user_view),
        cmocka_unit_test(test_ancestor),
        cmocka_unit_test(test_mutf7_roundtrip),
        cmocka_unit_test(test_mutf7_decode_invalid),
        cmocka_unit_test(test_mutf7_encode_invalid),
        cmocka_unit_test(test_mutf7_all_bmp),
        cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_pattern_no_backtracking_blowup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

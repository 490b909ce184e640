/* Unit tests for libstore/core/util.c: sets, dates, flags, keywords. */
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

/* Parse, then format, and compare with the expected normal form. */
static void set_roundtrip(const char *in, const char *want)
{
    ls_set s;
    int rc = ls_set_parse(in, &s);
    if (rc) fprintf(stderr, "'%s': %s\n", in, ls_error_last());
    assert_int_equal(rc, LS_OK);
    char *f = ls_set_format(&s);
    assert_non_null(f);
    assert_string_equal(f, want);
    free(f);
    ls_set_dispose(&s);
}

static void set_bad(const char *in, const char *want)
{
    ls_set s = { (ls_range *)1, 7 };
    int rc = ls_set_parse(in, &s);
    if (rc != LS_EINVAL || !strstr(ls_error_last(), want))
        fprintf(stderr, "'%s': rc=%d msg=%s (wanted %s)\n", in ? in : "(null)", rc, ls_error_last(), want);
    assert_int_equal(rc, LS_EINVAL);
    assert_null(s.r);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(ls_error_last(), want));
}

static void test_set_parse_valid(void **state)
{
    set_roundtrip("1", "1");
    set_roundtrip("1:5", "1:5");
    set_roundtrip("5:1", "1:5");
    set_roundtrip("1:5,7,9:*", "1:5,7,9:*");
    set_roundtrip("*", "*");
    set_roundtrip("*:4", "4:*");
    set_roundtrip("3,2,1", "1:3");
    set_roundtrip("1:3,4:6", "1:6");       /* adjacent ranges merge */
    set_roundtrip("1:10,5:7", "1:10");     /* contained */
    set_roundtrip("1:5,3:8,20", "1:8,20"); /* overlapping */
    set_roundtrip("7,7,7", "7");
    set_roundtrip("4294967294", "4294967294");
    set_roundtrip("4294967294,*", "4294967294:*");
    set_roundtrip("4294967295", "*"); /* the largest number is '*' */
    set_roundtrip("10", "10");
}

static void test_set_parse_invalid(void **state)
{
    set_bad("", "empty sequence set");
    set_bad(NULL, "empty sequence set");
    set_bad("0", "numbers start at 1");
    set_bad("1:0", "at byte 3: numbers start at 1");
    set_bad("01", "numbers start at 1");
    set_bad("1,", "trailing ','");
    set_bad(",1", "at byte 1: expected a number");
    set_bad("1,,2", "at byte 3: expected a number");
    set_bad("1:", "at byte 3");
    set_bad("1::2", "at byte 3");
    set_bad("1:2:3", "at byte 4");
    set_bad("a", "bad sequence set 'a'");
    set_bad("1 2", "at byte 2");
    set_bad("-1", "at byte 1");
    set_bad("+1", "at byte 1");
    set_bad("4294967296", "number larger than 4294967295");
    set_bad("1:99999999999", "at byte 3: number larger");
    set_bad("**", "at byte 2");
    set_bad("1\n", "'1?'");
}

static void test_set_contains(void **state)
{
    ls_set s;
    assert_int_equal(ls_set_parse("1:5,7,9:*,100", &s), LS_OK);
    assert_int_equal(s.n, 3);
    assert_false(ls_set_contains(&s, 0));
    for (uint32_t v = 1; v <= 5; v++) assert_true(ls_set_contains(&s, v));
    assert_false(ls_set_contains(&s, 6));
    assert_true(ls_set_contains(&s, 7));
    assert_false(ls_set_contains(&s, 8));
    assert_true(ls_set_contains(&s, 9));
    assert_true(ls_set_contains(&s, 1000000));
    assert_true(ls_set_contains(&s, UINT32_MAX));
    ls_set_dispose(&s);
    ls_set_dispose(&s); /* idempotent */
    ls_set_dispose(NULL);

    /* Many ranges: binary search must agree with a linear scan. */
    char buf[4096] = "";
    for (int i = 1; i < 300; i += 3) {
        char part[16];
        snprintf(part, sizeof part, "%s%d", i > 1 ? "," : "", i);
        strcat(buf, part);
    }
    assert_int_equal(ls_set_parse(buf, &s), LS_OK);
    assert_int_equal(s.n, 100);
    for (uint32_t v = 0; v < 310; v++) assert_int_equal(ls_set_contains(&s, v), v >= 1 && v < 300 && (v - 1) % 3 == 0);
    ls_set_dispose(&s);
}

static void test_set_format_empty(void **state)
{
    ls_set s = { NULL, 0 };
    char *f = ls_set_format(&s);
    assert_string_equal(f, "");
    free(f);
}

static void date_ok(const char *in, int64_t t, int tz, const char *formatted)
{
    ls_date d;
    int rc = ls_date_parse_imap(in, &d);
    if (rc) fprintf(stderr, "'%s': %s\n", in, ls_error_last());
    assert_int_equal(rc, LS_OK);
    assert_int_equal(d.t, t);
    assert_int_equal(d.tz, tz);
    char buf[32];
    ls_date_format_imap(&d, buf, sizeof buf);
    assert_string_equal(buf, formatted);
}

static void date_bad(const char *in)
{
    ls_date d;
    int rc = ls_date_parse_imap(in, &d);
    if (rc != LS_EINVAL) fprintf(stderr, "'%s' unexpectedly parsed\n", in);
    assert_int_equal(rc, LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "bad date-time"));
}

static void test_date_imap(void **state)
{
    /* 2026-11-21 10:00:00 UTC = 1795255200 */
    date_ok("21-Nov-2026 10:00:00 +0000", 1795255200, 0, "21-Nov-2026 10:00:00 +0000");
    date_ok("21-nov-2026 12:00:00 +0200", 1795255200, 120, "21-Nov-2026 12:00:00 +0200");
    date_ok("21-NOV-2026 04:30:00 -0530", 1795255200, -330, "21-Nov-2026 04:30:00 -0530");
    date_ok(" 1-Jan-1970 00:00:00 +0000", 0, 0, "01-Jan-1970 00:00:00 +0000");
    date_ok("1-Jan-1970 00:00:00 +0000", 0, 0, "01-Jan-1970 00:00:00 +0000");
    date_ok("01-Jan-1970 01:00:00 +0100", 0, 60, "01-Jan-1970 01:00:00 +0100");
    date_ok("31-Dec-1969 23:59:59 +0000", -1, 0, "31-Dec-1969 23:59:59 +0000");
    date_ok("29-Feb-2024 00:00:00 +2359", 1709164800 - (23 * 60 + 59) * 60, 23 * 60 + 59,
            "29-Feb-2024 00:00:00 +2359");
    date_ok("29-Feb-2000 12:00:00 -2359", 951825600 + (23 * 60 + 59) * 60, -(23 * 60 + 59),
            "29-Feb-2000 12:00:00 -2359");
    date_ok("01-Jan-1970 00:00:00 -0000", 0, 0, "01-Jan-1970 00:00:00 +0000");
    /* A leap second carries into the next minute. */
    date_ok("31-Dec-2016 23:59:60 +0000", 1483228800, 0, "01-Jan-2017 00:00:00 +0000");
    date_ok("31-Dec-9999 23:59:59 +0000", 253402300799LL, 0, "31-Dec-9999 23:59:59 +0000");

    date_bad("");
    date_bad(NULL);
    date_bad("21-Nov-2026");
    date_bad("21-Nov-2026 10:00:00");
    date_bad("21-Nov-2026 10:00:00 0000");
    date_bad("21-Nov-2026 10:00:00 +000");
    date_bad("21-Nov-2026 10:00:00 +00000");
    date_bad("21-Nov-2026 10:00:00 +2400");
    date_bad("21-Nov-2026 10:00:00 +0060");
    date_bad("21-Nov-2026 10:00:00 +0000 ");
    date_bad("21-Nov-2026  10:00:00 +0000");
    date_bad("21-Nov-2026 24:00:00 +0000");
    date_bad("21-Nov-2026 10:60:00 +0000");
    date_bad("21-Nov-2026 10:00:61 +0000");
    date_bad("21-Nov-2026 1:00:00 +0000");
    date_bad("21-Nov-26 10:00:00 +0000");
    date_bad("21-Nox-2026 10:00:00 +0000");
    date_bad("21 Nov 2026 10:00:00 +0000");
    date_bad("32-Jan-2026 10:00:00 +0000");
    date_bad("00-Jan-2026 10:00:00 +0000");
    date_bad("29-Feb-2023 10:00:00 +0000");
    date_bad("29-Feb-1900 10:00:00 +0000");
    date_bad("31-Apr-2026 10:00:00 +0000");
    date_bad("121-Nov-2026 10:00:00 +0000");
    date_bad("\"21-Nov-2026 10:00:00 +0000\"");
    date_bad("21-Nov-0000 10:00:00 +0000");
}

static void test_date_format_small_buffer(void **state)
{
    ls_date d = { 0, 0 };
    char buf[8];
    ls_date_format_imap(&d, buf, sizeof buf);
    assert_string_equal(buf, "01-Jan-");
    char full[27];
    ls_date_format_imap(&d, full, sizeof full);
    assert_string_equal(full, "01-Jan-1970 00:00:00 +0000");
}

static void test_date_search(void **state)
{
    int64_t t;
    assert_int_equal(ls_date_parse_search("1-Feb-1994", &t), LS_OK);
    assert_int_equal(t, 760060800);
    assert_int_equal(ls_date_parse_search("01-feb-1994", &t), LS_OK);
    assert_int_equal(t, 760060800);
    assert_int_equal(ls_date_parse_search("\"1-Feb-1994\"", &t), LS_OK);
    assert_int_equal(t, 760060800);
    assert_int_equal(ls_date_parse_search("21-Nov-2026", &t), LS_OK);
    assert_int_equal(t, 1795219200);

    static const char *const bad[] = { "", "1-Feb-94", " 1-Feb-1994", "1-Feb-1994 ", "1-Fev-1994",
                                       "30-Feb-1994", "\"1-Feb-1994", "1-Feb-1994\"", "100-Feb-1994",
                                       "1/Feb/1994", "1-Feb-1994 00:00:00 +0000" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(ls_date_parse_search(bad[i], &t), LS_EINVAL);
        assert_non_null(strstr(ls_error_last(), "bad date"));
    }
    assert_int_equal(ls_date_parse_search(NULL, &t), LS_EINVAL);
}

static void test_flags(void **state)
{
    assert_int_equal(ls_flag_from_name("\\Seen"), LS_FLAG_SEEN);
    assert_int_equal(ls_flag_from_name("\\SEEN"), LS_FLAG_SEEN);
    assert_int_equal(ls_flag_from_name("\\answered"), LS_FLAG_ANSWERED);
    assert_int_equal(ls_flag_from_name("\\Flagged"), LS_FLAG_FLAGGED);
    assert_int_equal(ls_flag_from_name("\\Deleted"), LS_FLAG_DELETED);
    assert_int_equal(ls_flag_from_name("\\Draft"), LS_FLAG_DRAFT);
    assert_int_equal(ls_flag_from_name("\\Recent"), 0);
    assert_int_equal(ls_flag_from_name("Seen"), 0);
    assert_int_equal(ls_flag_from_name("\\Seen "), 0);
    assert_int_equal(ls_flag_from_name(""), 0);
    assert_int_equal(ls_flag_from_name(NULL), 0);

    assert_string_equal(ls_flag_name(LS_FLAG_SEEN), "\\Seen");
    assert_string_equal(ls_flag_name(LS_FLAG_ANSWERED), "\\Answered");
    assert_string_equal(ls_flag_name(LS_FLAG_FLAGGED), "\\Flagged");
    assert_string_equal(ls_flag_name(LS_FLAG_DELETED), "\\Deleted");
    assert_string_equal(ls_flag_name(LS_FLAG_DRAFT), "\\Draft");
    assert_null(ls_flag_name(0));
    assert_null(ls_flag_name(LS_FLAG_SEEN | LS_FLAG_DRAFT));
    assert_null(ls_flag_name(1u << 5));
}

static void test_keywords(void **state)
{
    assert_true(ls_flag_keyword_valid("$Forwarded"));
    assert_true(ls_flag_keyword_valid("Junk"));
    assert_true(ls_flag_keyword_valid("a"));
    assert_true(ls_flag_keyword_valid("foo[bar"));
    assert_true(ls_flag_keyword_valid("x-y_z.1!#&'+,-/:;<=>?@^`|~"));
    char kw[102];
    memset(kw, 'k', 100);
    kw[100] = 0;
    assert_true(ls_flag_keyword_valid(kw));
    kw[100] = 'k';
    kw[101] = 0;
    assert_false(ls_flag_keyword_valid(kw));

    static const char *const bad[] = { "", "a b", "a(b", "a)b", "a{b", "a%", "a*", "a\"b", "\\Seen",
                                       "a]b", "a\tb", "a\x7f", "caf\xc3\xa9", "\x01" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (ls_flag_keyword_valid(bad[i])) fprintf(stderr, "'%s' accepted\n", bad[i]);
        assert_false(ls_flag_keyword_valid(bad[i]));
    }
    assert_false(ls_flag_keyword_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_parse_valid),
        cmocka_unit_test(test_set_parse_invalid),
        cmocka_unit_test(test_set_contains),
        cmocka_unit_test(test_set_format_empty),
        cmocka_unit_test(test_date_imap),
        cmocka_unit_test(test_date_format_small_buffer),
        cmocka_unit_test(test_date_search),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_keywords),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ls__rfc822_date_parse() and ls__mime_header_get(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime/mime.h"

static int64_t T;
static int16_t Z;

static int parse(const char *s)
{
    T = -1;
    Z = -1;
    return ls__rfc822_date_parse(s, strlen(s), &T, &Z);
}

static void test_dates(void **state)
{
    (void)state;
    assert_true(parse("Fri, 21 Nov 1997 09:55:06 -0600"));
    assert_int_equal(T, 880127706);
    assert_int_equal(Z, -360);
    /* no weekday, no seconds, single-digit day and hour */
    assert_true(parse("1 Jan 2024 9:05 +0130"));
    assert_int_equal(T, 1704099900 - 90 * 60);
    assert_int_equal(Z, 90);
    /* two-digit years, obsolete zones, comments, '.' separators */
    assert_true(parse("Mon, 01 Jan 99 10.00.00 EST (comment)"));
    assert_int_equal(T, 915202800);
    assert_int_equal(Z, -300);
    assert_true(parse("01 Jan 69 00:00:00 GMT"));
    assert_int_equal(T, 3124224000LL);
    assert_true(parse("1 jan 1970 00:00:00 PDT"));
    assert_int_equal(Z, -420);
    assert_true(parse("1 Jan 1970 00:00:00 UT"));
    assert_int_equal(T, 0);
    assert_true(parse("1 Jan 1970 00:00:00 A"));
    assert_int_equal(Z, 60);
    assert_true(parse("1 Jan 1970 00:00:00 Z"));
    assert_int_equal(Z, 0);
    /* unknown zone = UTC; missing zone = UTC; leap second */
    assert_true(parse("1 Jan 1970 00:00:00 XYZ"));
    assert_int_equal(Z, 0);
    assert_true(parse("1 Jan 1970 00:00"));
    assert_int_equal(T, 0);
    assert_true(parse("31 Dec 2016 23:59:60 +0000"));
    assert_int_equal(T, 1483228799);
    assert_true(parse("29 Feb 2024 12:00:00 +0000"));
    /* rejected */
    assert_false(parse(""));
    assert_false(parse("garbage"));
    assert_false(parse("Mon 1 Jan 2024 10:00:00"));      /* weekday without comma */
    assert_false(parse("Mon,"));
    assert_false(parse("30 Feb 2024 10:00:00 +0000"));
    assert_false(parse("29 Feb 2023 10:00:00 +0000"));
    assert_false(parse("1 Foo 2024 10:00:00 +0000"));
    assert_false(parse("1 Jan 824 10:00:00 +0000"));
    assert_false(parse("1 Jan 1824 24:00:00 +0000"));
    assert_false(parse("1 Jan 2024 10:60:00 +0000"));
    assert_false(parse("1 Jan 2024 10"));
    assert_false(parse("123 Jan 2024 10:00"));
    assert_int_equal(ls__rfc822_date_parse(NULL, 0, &T, &Z), 0);
}

static const char HDR[] =
    "Received: from x\r\n"
    "Subject: =?utf-8?B?SGVsbG8=?= =?ISO-8859-1?Q?W=F6rld?=\r\n"
    " and more\r\n"
    "X-Win: =?windows-1252?Q?=80uro_=93quoted=94?=\r\n"
    "X-Unknown: =?koi8-r?B?5A==?= x =?bad?X?no?= =?utf-8?q?a_b?=  tail\r\n"
    "x-lower: v1\r\n"
    "X-Lower: v2\r\n"
    "X-Empty:\r\n"
    "\r\n"
    "Subject: not a header (body)\r\n";

static void expect(const char *name, int decode, const char *want)
{
    char *v = ls__mime_header_get(HDR, sizeof(HDR) - 1, name, decode);
    if (want == NULL) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void test_header_get(void **state)
{
    (void)state;
    expect("subject", 0, "=?utf-8?B?SGVsbG8=?= =?ISO-8859-1?Q?W=F6rld?= and more");
    expect("Subject", 1, "HelloW\xc3\xb6rld and more");
    expect("X-Win", 1, "\xe2\x82\xacuro \xe2\x80\x9cquoted\xe2\x80\x9d");
    expect("X-Unknown", 1, "\xe4 x =?bad?X?no?= a b  tail");
    expect("X-LOWER", 0, "v1");
    expect("X-Empty", 0, "");
    expect("Received", 1, "from x");
    expect("Missing", 0, NULL);
    expect("Subject:", 0, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_header_get),
    };
    return cmocka_run_group_tests_name("mime_date_header", tests, NULL, NULL);
}

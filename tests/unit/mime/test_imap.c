/*
 * IMAP strings of characteristic messages. The expected values are what
 * Dovecot 2.3.19 answers for FETCH (ENVELOPE BODYSTRUCTURE BODY) on the
 * same bytes (checked with tests/fidelity/run_fidelity.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mime/mime.h"

struct imap_case {
    const char *msg, *envelope, *bodystructure, *body;
};

/* 1: RFC 5322 A.2 style reply; quoted display name with quotes -> literal.
 * 2: groups, encoded words left alone, multipart with RFC 2231 parameter,
 *    disposition, language, message/rfc822.
 * 3: header only. 4: empty message. 5: multipart/digest default part. */
static const struct imap_case case_1 = {
    "From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
    "To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\r\n"
    "Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\r\n"
    "Subject: Re: Saying Hello\r\n"
    "Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    "Message-ID: <1234@local.machine.example>\r\n"
    "In-Reply-To: <3456@example.net>\r\n"
    "\r\n"
    "This is a reply.\r\n"
    "",
    "(\"Fri, 21 Nov 1997 09:55:06 -0600\" \"Re: Saying Hello\" ((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) ((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) ((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) ((\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" \"example.org\")(\"Who?\" NIL \"one\" \"y.test\")) ((NIL NIL \"boss\" \"nil.test\")({16}\r\n"
    "Giant; \"Big\" Box NIL \"sysservices\" \"example.net\")) NIL \"<3456@example.net>\" \"<1234@local.machine.example>\")",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 18 1 NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 18 1)",
};

static const struct imap_case case_2 = {
    "From: Pete <pete@silly.example>\r\n"
    "To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\r\n"
    "Cc: Undisclosed recipients:;\r\n"
    "Subject: =?utf-8?Q?caf=C3=A9?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9\r\n"
    "--XX\r\n"
    "Content-Type: application/pdf; name*0*=utf-8''a%20; name*1=\"b.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"b.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Language: en, de\r\n"
    "\r\n"
    "AAAA\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@x.test\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "hi\r\n"
    "--XX--\r\n"
    "epilogue\r\n"
    "",
    "(NIL \"=?utf-8?Q?caf=C3=A9?=\" ((\"Pete\" NIL \"pete\" \"silly.example\")) ((\"Pete\" NIL \"pete\" \"silly.example\")) ((\"Pete\" NIL \"pete\" \"silly.example\")) ((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")(NIL NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL)) ((NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)",
    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 9 0 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name*\" \"utf-8''a%20b.pdf\") NIL NIL \"base64\" 4 NIL (\"attachment\" (\"filename\" \"b.pdf\")) (\"en\" \"de\") NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 40 (NIL \"inner\" ((NIL NIL \"inner\" \"x.test\")) ((NIL NIL \"inner\" \"x.test\")) ((NIL NIL \"inner\" \"x.test\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)",
    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 9 0)(\"application\" \"pdf\" (\"name*\" \"utf-8''a%20b.pdf\") NIL NIL \"base64\" 4)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 40 (NIL \"inner\" ((NIL NIL \"inner\" \"x.test\")) ((NIL NIL \"inner\" \"x.test\")) ((NIL NIL \"inner\" \"x.test\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 0) 3) \"mixed\")",
};

static const struct imap_case case_3 = {
    "Subject: x\r\n"
    "",
    "(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
};

static const struct imap_case case_4 = {
    "",
    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
};

static const struct imap_case case_5 = {
    "Content-Type: multipart/digest; boundary=d\r\n"
    "\r\n"
    "--d\r\n"
    "\r\n"
    "Subject: a\r\n"
    "\r\n"
    "b\r\n"
    "--d--\r\n"
    "",
    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL \"a\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)",
    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL \"a\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) 2) \"digest\")",
};

static void check(const struct imap_case *c)
{
    ls_mime_info info;
    assert_int_equal(ls__mime_analyze(c->msg, strlen(c->msg), &info), 0);
    assert_string_equal(info.envelope, c->envelope);
    assert_string_equal(info.bodystructure, c->bodystructure);
    assert_string_equal(info.body, c->body);
    ls__mime_info_free(&info);
}

static void test_reply(void **state)
{
    (void)state;
    check(&case_1);
}

static void test_multipart(void **state)
{
    (void)state;
    check(&case_2);
}

static void test_header_only(void **state)
{
    (void)state;
    check(&case_3);
}

static void test_empty(void **state)
{
    (void)state;
    check(&case_4);
}

static void test_digest(void **state)
{
    (void)state;
    check(&case_5);
}

static void test_info_fields(void **state)
{
    (void)state;
    ls_mime_info info;
    const char *m = case_1.msg;
    assert_int_equal(ls__mime_analyze(m, strlen(m), &info), 0);
    /* header: everything up to and including the blank line */
    const char *blank = strstr(m, "\r\n\r\n");
    assert_int_equal(info.header_size, (uint64_t)(blank - m) + 4);
    assert_int_equal(info.body_lines, 1);
    /* Fri, 21 Nov 1997 09:55:06 -0600 */
    assert_int_equal(info.sent_date, 880127706);
    assert_int_equal(info.sent_tz, -360);
    /* chosen fields in message order, raw */
    assert_int_equal(info.fields_len, strlen(info.fields));
    assert_non_null(strstr(info.fields, "Subject: Re: Saying Hello\r\n"));
    assert_true(strncmp(info.fields, "From: \"Joe Q. Public\"", 21) == 0);
    assert_null(strstr(info.fields, "Content-Type"));
    ls__mime_info_free(&info);
}

static void test_nul_and_lf(void **state)
{
    (void)state;
    /* NUL bytes in a header value become U+FFFD, and bare LF messages are
     * survived (sizes count the CR they lack, as Dovecot's do) */
    static const char m[] = "Subject: a\0b\nMessage-ID: <x\0y>\n\nbody\n";
    ls_mime_info info;
    assert_int_equal(ls__mime_analyze(m, sizeof(m) - 1, &info), 0);
    assert_string_equal(info.envelope,
                        "(NIL {5}\r\na\xef\xbf\xbd" "b NIL NIL NIL NIL NIL NIL NIL {7}\r\n<x\xef\xbf\xbdy>)");
    assert_string_equal(info.body, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)");
    ls__mime_info_free(&info);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_info_fields),
        cmocka_unit_test(test_nul_and_lf),
    };
    return cmocka_run_group_tests_name("mime_imap", tests, NULL, NULL);
}

/* Section location and the parts table codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libstore/common.h"
#include "mime/mime.h"

static const char MSG[] =
    "Subject: s\r\n"
    "Content-Type: multipart/mixed; boundary=XX\r\n"
    "\r\n"
    "--XX\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "one\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/alternative; boundary=YY\r\n"
    "\r\n"
    "--YY\r\n"
    "\r\n"
    "alt1\r\n"
    "--YY\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<b>alt2</b>\r\n"
    "--YY--\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: single\r\n"
    "\r\n"
    "single body\r\n"
    "--XX--\r\n";

static char *slice(const char *section)
{
    static char buf[512];
    ls_mime_info info;
    uint64_t off, len;
    assert_int_equal(ls__mime_analyze(MSG, sizeof(MSG) - 1, &info), 0);
    int rc = ls__mime_section_locate(info.parts, info.nparts, section, &off, &len);
    ls__mime_info_free(&info);
    if (rc != 0) {
        snprintf(buf, sizeof(buf), "ERR %d", rc);
        return buf;
    }
    assert_true(off + len <= sizeof(MSG) - 1);
    assert_true(len < sizeof(buf));
    memcpy(buf, MSG + off, len);
    buf[len] = '\0';
    return buf;
}

static void test_locate(void **state)
{
    (void)state;
    assert_string_equal(slice("1"), "one");
    assert_string_equal(slice("1.MIME"), "Content-Type: text/plain\r\n\r\n");
    assert_string_equal(slice("2.HEADER"),
                        "Subject: inner\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n");
    assert_string_equal(slice("2.1"), "alt1");
    assert_string_equal(slice("2.2"), "<b>alt2</b>");
    assert_string_equal(slice("2.2.mime"), "Content-Type: text/html\r\n\r\n");
    /* the CRLF before a boundary belongs to the boundary */
    assert_string_equal(slice("3.1"), "single body");
    assert_string_equal(slice("3.text"), "single body");
    assert_string_equal(slice("3.HEADER"), "Subject: single\r\n\r\n");
    assert_string_equal(slice("HEADER"),
                        "Subject: s\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n");
    assert_true(strncmp(slice("TEXT"), "--XX\r\n", 6) == 0);
    assert_true(strlen(slice("")) == sizeof(MSG) - 1);
    /* errors */
    assert_string_equal(slice("4"), "ERR -8");
    assert_string_equal(slice("1.HEADER"), "ERR -8");
    assert_string_equal(slice("2.3"), "ERR -8");
    assert_string_equal(slice("0"), "ERR -1");
    assert_string_equal(slice("1."), "ERR -1");
    assert_string_equal(slice("1..2"), "ERR -1");
    assert_string_equal(slice("MIME"), "ERR -1");
    assert_string_equal(slice("1.FOO"), "ERR -1");
}

static void test_single_part_message(void **state)
{
    (void)state;
    static const char m[] = "Subject: x\r\n\r\nhello\r\n";
    ls_mime_info info;
    uint64_t off, len;
    assert_int_equal(ls__mime_analyze(m, sizeof(m) - 1, &info), 0);
    assert_int_equal(ls__mime_section_locate(info.parts, info.nparts, "1", &off, &len), 0);
    assert_int_equal(off, 14);
    assert_int_equal(len, 7);
    assert_int_equal(ls__mime_section_locate(info.parts, info.nparts, "1.MIME", &off, &len), 0);
    assert_int_equal(off, 0);
    assert_int_equal(len, 14);
    ls__mime_info_free(&info);
}

static void test_codec_roundtrip(void **state)
{
    (void)state;
    ls_mime_info info;
    uint8_t *buf;
    size_t blen, n;
    ls_mime_part *parts;
    assert_int_equal(ls__mime_analyze(MSG, sizeof(MSG) - 1, &info), 0);
    assert_int_equal(ls__mime_parts_encode(info.parts, info.nparts, &buf, &blen), 0);
    assert_true(blen < info.nparts * 16); /* compact */
    assert_int_equal(ls__mime_parts_decode(buf, blen, sizeof(MSG) - 1, &parts, &n), 0);
    assert_int_equal(n, info.nparts);
    assert_memory_equal(parts, info.parts, n * sizeof(*parts));
    free(parts);

    /* a smaller message size makes offsets out of bounds */
    assert_int_equal(ls__mime_parts_decode(buf, blen, sizeof(MSG) - 2, &parts, &n), LS_ECORRUPT);
    /* every truncation is rejected */
    for (size_t cut = 0; cut < blen; cut++) {
        ls_mime_part *p2 = (void *)1;
        size_t n2 = 99;
        assert_int_equal(ls__mime_parts_decode(buf, cut, sizeof(MSG) - 1, &p2, &n2), LS_ECORRUPT);
        assert_null(p2);
        assert_int_equal(n2, 0);
    }
    /* trailing garbage, bad version */
    uint8_t *big = malloc(blen + 1);
    memcpy(big, buf, blen);
    big[blen] = 0;
    assert_int_equal(ls__mime_parts_decode(big, blen + 1, sizeof(MSG) - 1, &parts, &n), LS_ECORRUPT);
    big[0] = 99;
    assert_int_equal(ls__mime_parts_decode(big, blen, sizeof(MSG) - 1, &parts, &n), LS_ECORRUPT);
    /* flipping any byte never crashes and never yields out-of-bound parts */
    for (size_t i = 0; i < blen; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(big, buf, blen);
            big[i] ^= (uint8_t)(1 << bit);
            ls_mime_part *p3;
            size_t n3;
            if (ls__mime_parts_decode(big, blen, sizeof(MSG) - 1, &p3, &n3) == 0) {
                for (size_t k = 0; k < n3; k++) {
                    assert_true(p3[k].hdr_off + p3[k].hdr_len <= sizeof(MSG) - 1);
                    assert_true(p3[k].body_off + p3[k].body_len <= sizeof(MSG) - 1);
                }
                free(p3);
            }
        }
    }
    free(big);
    free(buf);
    ls__mime_info_free(&info);
}

static void test_codec_rejects(void **state)
{
    (void)state;
    ls_mime_part *p;
    size_t n;
    /* version 1, 1 part, kind 3 (invalid) */
    static const uint8_t bad_kind[] = {1, 1, 3, 0, 0, 0, 0, 0};
    assert_int_equal(ls__mime_parts_decode(bad_kind, sizeof(bad_kind), 10, &p, &n), LS_ECORRUPT);
    /* first section must be "" */
    static const uint8_t bad_sec[] = {1, 1, 0, 1, '1', 0, 0, 0, 0};
    assert_int_equal(ls__mime_parts_decode(bad_sec, sizeof(bad_sec), 10, &p, &n), LS_ECORRUPT);
    /* huge part count */
    static const uint8_t many[] = {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ls__mime_parts_decode(many, sizeof(many), 10, &p, &n), LS_ECORRUPT);
    /* overlong varint */
    static const uint8_t ovl[] = {1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0x7f, 0, 0, 0};
    assert_int_equal(ls__mime_parts_decode(ovl, sizeof(ovl), 10, &p, &n), LS_ECORRUPT);
    /* header past the end of the message */
    static const uint8_t past[] = {1, 1, 0, 0, 0, 11, 0, 0};
    assert_int_equal(ls__mime_parts_decode(past, sizeof(past), 10, &p, &n), LS_ECORRUPT);
    /* a valid minimal table */
    static const uint8_t ok[] = {1, 1, 0, 0, 0, 4, 0, 6};
    assert_int_equal(ls__mime_parts_decode(ok, sizeof(ok), 10, &p, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].body_off, 4);
    assert_int_equal(p[0].body_len, 6);
    free(p);
    assert_int_equal(ls__mime_parts_decode(NULL, 0, 10, &p, &n), LS_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locate),
        cmocka_unit_test(test_single_part_message),
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_rejects),
    };
    return cmocka_run_group_tests_name("mime_sections", tests, NULL, NULL);
}

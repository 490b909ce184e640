/* Fixed-size records and cache records: round trips, and rejection of every
 * kind of damage (a decoder must never accept a corrupted record). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "model/cache.h"
#include "model/record.h"

static ls_irec sample_irec(void)
{
    ls_irec r = { 0 };
    r.uid = 4000000001u;
    r.sysflags = LS_FLAG_SEEN | LS_FLAG_DRAFT;
    r.internaldate = -86400;            /* before the epoch: signed */
    r.internal_tz = -480;
    r.sent_tz = 330;
    r.header_size = 1234;
    r.sentdate = 1795000000;
    r.size = 5000000000ull;             /* over 4 GiB */
    r.modseq = 0x0123456789abcdefull;
    r.body_lines = 77;
    r.keywords[0] = 0x8000000000000001ull;
    r.keywords[1] = 0x4000000000000002ull;
    for (int i = 0; i < LS_GUID_LEN; i++)
        r.guid[i] = (uint8_t)(i * 7 + 1);
    r.expunged_at = 1795000001u;
    return r;
}

static void irec_round_trip(void **state)
{
    (void)state;
    ls_irec r = sample_irec(), d;
    uint8_t buf[LS_RECORD_SIZE];
    ls__irec_encode(&r, buf);
    assert_int_equal(ls__irec_decode(buf, sizeof buf, &d), LS_OK);
    assert_memory_equal(&r.guid, &d.guid, LS_GUID_LEN);
    assert_int_equal(d.uid, r.uid);
    assert_int_equal(d.sysflags, r.sysflags);
    assert_true(d.internaldate == r.internaldate);
    assert_int_equal(d.internal_tz, r.internal_tz);
    assert_int_equal(d.sent_tz, r.sent_tz);
    assert_int_equal(d.header_size, r.header_size);
    assert_true(d.sentdate == r.sentdate);
    assert_true(d.size == r.size);
    assert_true(d.modseq == r.modseq);
    assert_int_equal(d.body_lines, r.body_lines);
    assert_true(d.keywords[0] == r.keywords[0] && d.keywords[1] == r.keywords[1]);
    assert_int_equal(d.expunged_at, r.expunged_at);
}

static void irec_rejects_damage(void **state)
{
    (void)state;
    ls_irec r = sample_irec(), d;
    uint8_t buf[LS_RECORD_SIZE];
    ls__irec_encode(&r, buf);
    /* every single-bit flip is caught (CRC32 detects all 1-bit errors) */
    for (size_t i = 0; i < sizeof buf; i++) {
        for (int b = 0; b < 8; b++) {
            buf[i] ^= (uint8_t)(1u << b);
            assert_int_equal(ls__irec_decode(buf, sizeof buf, &d), LS_ECORRUPT);
            buf[i] ^= (uint8_t)(1u << b);
        }
    }
    assert_int_equal(ls__irec_decode(buf, sizeof buf - 1, &d), LS_ECORRUPT);
    assert_int_equal(ls__irec_decode(buf, 0, &d), LS_ECORRUPT);
    /* a future version is refused even with a valid CRC-less layout */
    buf[4] = 2;
    assert_int_equal(ls__irec_decode(buf, sizeof buf, &d), LS_ECORRUPT);
}

static void mbstate_round_trip_and_damage(void **state)
{
    (void)state;
    ls_mbstate s = { .uidvalidity = 1, .uidnext = 99, .highestmodseq = 1ull << 40, .exists = 7, .unseen = 3,
                     .deleted = 2, .flagged = 1, .answered = 4, .recentuid = 50, .size = 123456789012ull,
                     .tombstones = 9, .deletedmodseq = 17, .hwm_uidnext = 98 };
    uint8_t buf[LS_MBSTATE_SIZE];
    ls__mbstate_encode(&s, buf);
    ls_mbstate d;
    assert_int_equal(ls__mbstate_decode(buf, sizeof buf, &d), LS_OK);
    uint8_t again[LS_MBSTATE_SIZE];
    ls__mbstate_encode(&d, again); /* (struct padding makes memcmp of structs meaningless) */
    assert_memory_equal(buf, again, sizeof buf);
    assert_int_equal(d.uidnext, 99);
    assert_true(d.highestmodseq == 1ull << 40 && d.size == 123456789012ull && d.deletedmodseq == 17);
    assert_int_equal(d.hwm_uidnext, 98);
    buf[10] ^= 0x20;
    assert_int_equal(ls__mbstate_decode(buf, sizeof buf, &d), LS_ECORRUPT);
}

static void mbentry_round_trip_and_damage(void **state)
{
    (void)state;
    ls_mbentry e = { .uidvalidity = 42, .flags = 0 };
    for (int i = 0; i < LS_UUID_LEN; i++)
        e.uuid[i] = (uint8_t)i;
    strcpy(e.partition, "fast-ssd");
    e.acl = "bovik\tlrswipkxtean\tanyone\tlr\t";
    uint8_t *buf;
    size_t len;
    assert_int_equal(ls__mbentry_encode(&e, &buf, &len), LS_OK);
    ls_mbentry d;
    assert_int_equal(ls__mbentry_decode(buf, len, &d), LS_OK);
    assert_string_equal(d.partition, "fast-ssd");
    assert_string_equal(d.acl, e.acl);
    assert_int_equal(d.uidvalidity, 42);
    assert_memory_equal(d.uuid, e.uuid, LS_UUID_LEN);
    ls__mbentry_clear(&d);
    /* truncations and flips */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(ls__mbentry_decode(buf, n, &d), LS_ECORRUPT);
    buf[len / 2] ^= 1;
    assert_int_equal(ls__mbentry_decode(buf, len, &d), LS_ECORRUPT);
    free(buf);
}

static void cache_round_trip_compresses_large_fields(void **state)
{
    (void)state;
    char fields[4096];
    for (size_t i = 0; i < sizeof fields; i++)
        fields[i] = "Subject: hello world\r\n"[i % 22];
    const char *vals[LS_CF_MAX + 1] = { 0 };
    size_t lens[LS_CF_MAX + 1] = { 0 };
    vals[LS_CF_ENVELOPE] = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";
    lens[LS_CF_ENVELOPE] = strlen(vals[LS_CF_ENVELOPE]);
    vals[LS_CF_BODYSTRUCTURE] = "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)";
    lens[LS_CF_BODYSTRUCTURE] = strlen(vals[LS_CF_BODYSTRUCTURE]);
    vals[LS_CF_FIELDS] = fields;
    lens[LS_CF_FIELDS] = sizeof fields;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ls__cache_encode(vals, lens, &buf, &len), LS_OK);
    assert_true(len < sizeof fields / 2); /* the repetitive field was compressed */
    ls_cache_view v;
    /* without asking to inflate: raw fields present, compressed one absent */
    assert_int_equal(ls__cache_decode(buf, len, 0, &v), LS_OK);
    assert_int_equal(v.len[LS_CF_ENVELOPE], lens[LS_CF_ENVELOPE]);
    assert_memory_equal(v.f[LS_CF_ENVELOPE], vals[LS_CF_ENVELOPE], lens[LS_CF_ENVELOPE]);
    assert_null(v.f[LS_CF_FIELDS]);
    /* the envelope points into the record itself: zero-copy */
    assert_true((const uint8_t *)v.f[LS_CF_ENVELOPE] > buf && (const uint8_t *)v.f[LS_CF_ENVELOPE] < buf + len);
    ls__cache_view_free(&v);
    assert_int_equal(ls__cache_decode(buf, len, 1u << LS_CF_FIELDS, &v), LS_OK);
    assert_int_equal(v.len[LS_CF_FIELDS], sizeof fields);
    assert_memory_equal(v.f[LS_CF_FIELDS], fields, sizeof fields);
    assert_null(v.f[LS_CF_BODY]);
    ls__cache_view_free(&v);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(ls__cache_decode(buf, n, ~0u, &v), LS_ECORRUPT);
    for (size_t i = 0; i < len; i += 3) {
        buf[i] ^= 0x40;
        assert_int_equal(ls__cache_decode(buf, len, ~0u, &v), LS_ECORRUPT);
        buf[i] ^= 0x40;
    }
    free(buf);
}

static void uuid_and_guid_format(void **state)
{
    (void)state;
    uint8_t u[LS_UUID_LEN], back[LS_UUID_LEN];
    for (int i = 0; i < LS_UUID_LEN; i++)
        u[i] = (uint8_t)(0xa0 + i);
    char s[37];
    ls__uuid_format(u, s);
    assert_string_equal(s, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
    assert_int_equal(ls__uuid_parse(s, back), LS_OK);
    assert_memory_equal(u, back, LS_UUID_LEN);
    assert_int_equal(ls__uuid_parse("not-a-uuid", back), LS_EINVAL);
    uint8_t g[LS_GUID_LEN] = { 0xde, 0xad, 0xbe, 0xef };
    char gs[65];
    ls__guid_format(g, gs);
    assert_int_equal(strlen(gs), 64);
    assert_memory_equal(gs, "deadbeef00", 10);
}

static void crc32c_known_value(void **state)
{
    (void)state;
    assert_int_equal(ls__crc32c("123456789", 9), 0xE3069283u); /* the standard check value */
    assert_int_equal(ls__crc32c("", 0), 0);
    char buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (char)(i * 31);
    uint32_t a = ls__crc32c(buf, 1000);
    buf[500] ^= 1;
    assert_int_not_equal(ls__crc32c(buf, 1000), a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(irec_round_trip),
        cmocka_unit_test(irec_rejects_damage),
        cmocka_unit_test(mbstate_round_trip_and_damage),
        cmocka_unit_test(mbentry_round_trip_and_damage),
        cmocka_unit_test(cache_round_trip_compresses_large_fields),
        cmocka_unit_test(uuid_and_guid_format),
        cmocka_unit_test(crc32c_known_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Encoding of the fixed-size records (see record.h and docs/format.md). */
#include "model/record.h"
#include "core/env.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>
#include <zlib.h>

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

static uint32_t crc(const uint8_t *p, size_t n) { return (uint32_t)crc32(0L, p, (uInt)n); }

/* Index record layout (LS_RECORD_SIZE = 112 bytes):
 *   0 uid u32 | 4 version u8 | 5 sysflags u8 | 6 reserved u16
 *   8 internaldate i64 | 16 internal_tz i16 | 18 sent_tz i16 | 20 header_size u32
 *  24 sentdate i64 | 32 size u64 | 40 modseq u64 | 48 body_lines u32 | 52 reserved u32
 *  56 keywords 2 x u64 | 72 guid 32 bytes | 104 expunged_at u32 | 108 crc32 u32 */
void ls__irec_encode(const ls_irec *r, uint8_t out[LS_RECORD_SIZE])
{
    memset(out, 0, LS_RECORD_SIZE);
    put32(out + 0, r->uid);
    out[4] = LS_RECORD_VERSION;
    out[5] = r->sysflags;
    put64(out + 8, (uint64_t)r->internaldate);
    put16(out + 16, (uint16_t)r->internal_tz);
    put16(out + 18, (uint16_t)r->sent_tz);
    put32(out + 20, r->header_size);
    put64(out + 24, (uint64_t)r->sentdate);
    put64(out + 32, r->size);
    put64(out + 40, r->modseq);
    put32(out + 48, r->body_lines);
    put64(out + 56, r->keywords[0]);
    put64(out + 64, r->keywords[1]);
    memcpy(out + 72, r->guid, LS_GUID_LEN);
    put32(out + 104, r->expunged_at);
    put32(out + 108, crc(out, 108));
}

int ls__irec_decode(const void *buf, size_t len, ls_irec *r)
{
    const uint8_t *p = buf;
    if (len != LS_RECORD_SIZE)
        return ls__err(LS_ECORRUPT, "index record has %zu bytes, expected %d", len, LS_RECORD_SIZE);
    if (p[4] != LS_RECORD_VERSION)
        return ls__err(LS_ECORRUPT, "index record version %u not supported", p[4]);
    if (get32(p + 108) != crc(p, 108))
        return ls__err(LS_ECORRUPT, "index record of uid %u: CRC mismatch", get32(p));
    r->uid = get32(p);
    r->sysflags = p[5];
    r->internaldate = (int64_t)get64(p + 8);
    r->internal_tz = (int16_t)get16(p + 16);
    r->sent_tz = (int16_t)get16(p + 18);
    r->header_size = get32(p + 20);
    r->sentdate = (int64_t)get64(p + 24);
    r->size = get64(p + 32);
    r->modseq = get64(p + 40);
    r->body_lines = get32(p + 48);
    r->keywords[0] = get64(p + 56);
    r->keywords[1] = get64(p + 64);
    memcpy(r->guid, p + 72, LS_GUID_LEN);
    r->expunged_at = get32(p + 104);
    return LS_OK;
}

/* Mailbox state layout (LS_MBSTATE_SIZE = 96 bytes):
 *   0 version u8 | 1..3 reserved | 4 uidvalidity u32 | 8 uidnext u32 | 12 exists u32
 *  16 highestmodseq u64 | 24 unseen u32 | 28 deleted u32 | 32 flagged u32 | 36 answered u32
 *  40 recentuid u32 | 44 tombstones u32 | 48 size u64 | 56 deletedmodseq u64
 *  64 hwm_uidnext u32 | 68 recent u32 | 72 privmodseq u64 | 80 modseqmark u64 | 88..91 reserved | 92 crc32 u32 */
void ls__mbstate_encode(const ls_mbstate *s, uint8_t out[LS_MBSTATE_SIZE])
{
    memset(out, 0, LS_MBSTATE_SIZE);
    out[0] = LS_MBSTATE_VERSION;
    put32(out + 4, s->uidvalidity);
    put32(out + 8, s->uidnext);
    put32(out + 12, s->exists);
    put64(out + 16, s->highestmodseq);
    put32(out + 24, s->unseen);
    put32(out + 28, s->deleted);
    put32(out + 32, s->flagged);
    put32(out + 36, s->answered);
    put32(out + 40, s->recentuid);
    put32(out + 44, s->tombstones);
    put64(out + 48, s->size);
    put64(out + 56, s->deletedmodseq);
    put32(out + 64, s->hwm_uidnext);
    put32(out + 68, s->recent);
    put64(out + 72, s->privmodseq);
    put64(out + 80, s->modseqmark);
    put32(out + 92, crc(out, 92));
}

int ls__mbstate_decode(const void *buf, size_t len, ls_mbstate *s)
{
    const uint8_t *p = buf;
    if (len != LS_MBSTATE_SIZE)
        return ls__err(LS_ECORRUPT, "mailbox state has %zu bytes, expected %d", len, LS_MBSTATE_SIZE);
    if (p[0] != LS_MBSTATE_VERSION)
        return ls__err(LS_ECORRUPT, "mailbox state version %u not supported", p[0]);
    if (get32(p + 92) != crc(p, 92))
        return ls__err(LS_ECORRUPT, "mailbox state: CRC mismatch");
    s->uidvalidity = get32(p + 4);
    s->uidnext = get32(p + 8);
    s->exists = get32(p + 12);
    s->highestmodseq = get64(p + 16);
    s->unseen = get32(p + 24);
    s->deleted = get32(p + 28);
    s->flagged = get32(p + 32);
    s->answered = get32(p + 36);
    s->recentuid = get32(p + 40);
    s->tombstones = get32(p + 44);
    s->size = get64(p + 48);
    s->deletedmodseq = get64(p + 56);
    s->hwm_uidnext = get32(p + 64);
    s->recent = get32(p + 68);
    s->privmodseq = get64(p + 72);
    s->modseqmark = get64(p + 80);
    return LS_OK;
}

/* Mailbox entry layout (variable):
 *   0 version u8 | 1 partition length u8 | 2 reserved u16 | 4 uuid 16 bytes
 *  20 uidvalidity u32 | 24 flags u32 | 28 acl length u32 | 32 partition bytes
 *  then acl bytes | then crc32 u32 over everything before it */
int ls__mbentry_encode(const ls_mbentry *m, uint8_t **out, size_t *len)
{
    size_t plen = strnlen(m->partition, sizeof m->partition);
    size_t alen = m->acl ? strlen(m->acl) : 0;
    size_t n = 32 + plen + alen + 4;
    uint8_t *b = calloc(1, n);
    if (!b)
        return ls__err(LS_ENOMEM, "out of memory");
    b[0] = LS_MBENTRY_VERSION;
    b[1] = (uint8_t)plen;
    memcpy(b + 4, m->uuid, LS_UUID_LEN);
    put32(b + 20, m->uidvalidity);
    put32(b + 24, m->flags);
    put32(b + 28, (uint32_t)alen);
    memcpy(b + 32, m->partition, plen);
    if (alen)
        memcpy(b + 32 + plen, m->acl, alen);
    put32(b + n - 4, crc(b, n - 4));
    *out = b;
    *len = n;
    return LS_OK;
}

int ls__mbentry_decode(const void *buf, size_t len, ls_mbentry *m)
{
    const uint8_t *p = buf;
    memset(m, 0, sizeof *m);
    if (len < 36 || p[0] != LS_MBENTRY_VERSION)
        return ls__err(LS_ECORRUPT, "mailbox entry: bad size or version");
    size_t plen = p[1];
    uint32_t alen = get32(p + 28);
    if (plen >= sizeof m->partition || (uint64_t)32 + plen + alen + 4 != len)
        return ls__err(LS_ECORRUPT, "mailbox entry: inconsistent lengths");
    if (get32(p + len - 4) != crc(p, len - 4))
        return ls__err(LS_ECORRUPT, "mailbox entry: CRC mismatch");
    memcpy(m->uuid, p + 4, LS_UUID_LEN);
    m->uidvalidity = get32(p + 20);
    m->flags = get32(p + 24);
    memcpy(m->partition, p + 32, plen);
    m->partition[plen] = 0;
    m->acl = malloc(alen + 1);
    if (!m->acl)
        return ls__err(LS_ENOMEM, "out of memory");
    memcpy(m->acl, p + 32 + plen, alen);
    m->acl[alen] = 0;
    return LS_OK;
}

void ls__mbentry_clear(ls_mbentry *m)
{
    free(m->acl);
    m->acl = NULL;
}

void ls__uuid_format(const uint8_t uuid[LS_UUID_LEN], char out[37])
{
    uuid_unparse_lower(uuid, out);
}

int ls__uuid_parse(const char *s, uint8_t uuid[LS_UUID_LEN])
{
    return uuid_parse(s, uuid) == 0 ? LS_OK : ls__err(LS_EINVAL, "not a UUID: '%s'", s);
}

void ls__guid_format(const uint8_t guid[LS_GUID_LEN], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < LS_GUID_LEN; i++) {
        out[2 * i] = hex[guid[i] >> 4];
        out[2 * i + 1] = hex[guid[i] & 15];
    }
    out[64] = 0;
}

void ls__reckey(uint8_t key[LS_RECKEY_LEN], const uint8_t uuid[LS_UUID_LEN], uint32_t uid)
{
    memcpy(key, uuid, LS_UUID_LEN);
    ls__be32(key + LS_UUID_LEN, uid);
}

/* Cache record encoding (see cache.h and docs/format.md). */
#include "model/cache.h"
#include "core/crc32c.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define LS_CACHE_MAX_RAW (256u << 20) /* a sanity bound for decompression */

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static int compressible(int id) { return id == LS_CF_PARTS || id == LS_CF_FIELDS; }

int ls__cache_encode(const char *const vals[LS_CF_MAX + 1], const size_t lens[LS_CF_MAX + 1],
                    uint8_t **out, size_t *outlen)
{
    uint8_t *z[LS_CF_MAX + 1] = { 0 };
    size_t zlen[LS_CF_MAX + 1] = { 0 };
    size_t total = 10 + 4;
    int n = 0, rc = LS_OK;
    for (int id = 1; id <= LS_CF_MAX; id++) {
        if (!vals[id])
            continue;
        n++;
        total += 10 + lens[id];
        if (compressible(id) && lens[id] >= LS_CACHE_COMPRESS_MIN) {
            uLongf bound = compressBound((uLong)lens[id]);
            z[id] = malloc(bound);
            if (!z[id]) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                goto done;
            }
            if (compress2(z[id], &bound, (const Bytef *)vals[id], (uLong)lens[id], 6) == Z_OK && bound < lens[id]) {
                zlen[id] = bound;
                total -= lens[id] - bound;
            } else {
                free(z[id]);
                z[id] = NULL;
            }
        }
    }
    uint8_t *b = malloc(total), *p = b;
    if (!b) {
        rc = ls__err(LS_ENOMEM, "out of memory");
        goto done;
    }
    *p++ = LS_CACHE_VERSION;
    *p++ = (uint8_t)n;
    uint8_t *hot_hdr = p;
    p += 8;
    for (int id = 1; id <= LS_CF_MAX; id++) {
        if (id == LS_CF_PARTS) {
            /* the hot fields end here */
            put32(hot_hdr, (uint32_t)(p - b));
            put32(hot_hdr + 4, ls__crc32c(b + 10, (size_t)(p - b - 10)));
        }
        if (!vals[id])
            continue;
        const void *src = z[id] ? (const void *)z[id] : (const void *)vals[id];
        size_t slen = z[id] ? zlen[id] : lens[id];
        *p++ = (uint8_t)id;
        *p++ = z[id] ? 1 : 0;
        put32(p, (uint32_t)lens[id]);
        put32(p + 4, (uint32_t)slen);
        p += 8;
        if (slen)
            memcpy(p, src, slen);
        p += slen;
    }
    put32(p, (uint32_t)crc32(0L, b, (uInt)(p - b)));
    *out = b;
    *outlen = total;
done:
    for (int id = 1; id <= LS_CF_MAX; id++)
        free(z[id]);
    return rc;
}

int ls__cache_decode(const void *buf, size_t len, unsigned inflate_mask, ls_cache_view *v)
{
    const uint8_t *p = buf, *end;
    memset(v, 0, sizeof *v);
    if (len < 14 || p[0] != LS_CACHE_VERSION)
        return ls__err(LS_ECORRUPT, "cache record: bad size or version");
    end = p + len - 4;
    if (get32(end) != (uint32_t)crc32(0L, p, (uInt)(len - 4)))
        return ls__err(LS_ECORRUPT, "cache record: CRC mismatch");
    uint32_t hot_end = get32(p + 2);
    if (hot_end < 10 || hot_end > len - 4)
        return ls__err(LS_ECORRUPT, "cache record: bad hot-field bound");
    int n = p[1];
    p += 10;
    for (int i = 0; i < n; i++) {
        if (end - p < 10)
            goto bad;
        int id = p[0], enc = p[1];
        uint32_t rawlen = get32(p + 2), slen = get32(p + 6);
        p += 10;
        if (id < 1 || id > LS_CF_MAX || enc > 1 || (size_t)(end - p) < slen || v->f[id] || v->owned[id])
            goto bad;
        if (enc == 0) {
            if (rawlen != slen)
                goto bad;
            v->f[id] = (const char *)p;
            v->len[id] = slen;
        } else if (inflate_mask & (1u << id)) {
            if (rawlen > LS_CACHE_MAX_RAW)
                goto bad;
            char *d = malloc(rawlen ? rawlen : 1);
            uLongf dlen = rawlen;
            if (!d) {
                ls__cache_view_free(v);
                return ls__err(LS_ENOMEM, "out of memory");
            }
            if (uncompress((Bytef *)d, &dlen, p, slen) != Z_OK || dlen != rawlen) {
                free(d);
                goto bad;
            }
            v->owned[id] = d;
            v->f[id] = d;
            v->len[id] = rawlen;
        }
        p += slen;
    }
    if (p != end)
        goto bad;
    return LS_OK;
bad:
    ls__cache_view_free(v);
    return ls__err(LS_ECORRUPT, "cache record: malformed field");
}

void ls__cache_view_free(ls_cache_view *v)
{
    for (int id = 0; id <= LS_CF_MAX; id++) {
        free(v->owned[id]);
        v->owned[id] = NULL;
        v->f[id] = NULL;
        v->len[id] = 0;
    }
}

int ls__cache_decode_hot(const void *buf, size_t len, ls_cache_view *v)
{
    const uint8_t *b = buf;
    memset(v, 0, sizeof *v);
    if (len < 14 || b[0] != LS_CACHE_VERSION)
        return ls__err(LS_ECORRUPT, "cache record: bad size or version");
    uint32_t hot_end = get32(b + 2);
    if (hot_end < 10 || hot_end > len - 4 || get32(b + 6) != ls__crc32c(b + 10, hot_end - 10))
        return ls__err(LS_ECORRUPT, "cache record: hot fields damaged");
    const uint8_t *p = b + 10, *end = b + hot_end;
    while (p < end) {
        if (end - p < 10)
            return ls__err(LS_ECORRUPT, "cache record: malformed hot field");
        int id = p[0], enc = p[1];
        uint32_t rawlen = get32(p + 2), slen = get32(p + 6);
        p += 10;
        if (id < LS_CF_ENVELOPE || id > LS_CF_BODY || enc != 0 || rawlen != slen || (size_t)(end - p) < slen || v->f[id]) {
            memset(v, 0, sizeof *v);
            return ls__err(LS_ECORRUPT, "cache record: malformed hot field");
        }
        v->f[id] = (const char *)p;
        v->len[id] = slen;
        p += slen;
    }
    return LS_OK;
}

#include "core/env.h"

int ls__cache_encode_split(const char *const vals[LS_CF_MAX + 1], const size_t lens[LS_CF_MAX + 1], uint8_t **hot,
                          size_t *hotlen, uint8_t **cold, size_t *coldlen)
{
    const char *hv[LS_CF_MAX + 1] = { 0 }, *cv[LS_CF_MAX + 1] = { 0 };
    size_t hl[LS_CF_MAX + 1] = { 0 }, cl[LS_CF_MAX + 1] = { 0 };
    for (int id = 1; id <= LS_CF_MAX; id++) {
        if (id <= LS_CF_BODY) {
            hv[id] = vals[id];
            hl[id] = lens[id];
        } else {
            cv[id] = vals[id];
            cl[id] = lens[id];
        }
    }
    int rc = ls__cache_encode(hv, hl, hot, hotlen);
    if (!rc && (rc = ls__cache_encode(cv, cl, cold, coldlen))) {
        free(*hot);
        *hot = NULL;
    }
    return rc;
}

int ls__cache_put(ls_txn *t, const uint8_t key[20], const uint8_t *hot, size_t hotlen, const uint8_t *cold,
                 size_t coldlen)
{
    int rc = ls__db_put(t, LS_DB_CACHE, key, 20, hot, hotlen, 0);
    return rc ? rc : ls__db_put(t, LS_DB_CACHEX, key, 20, cold, coldlen, 0);
}

int ls__cache_del(ls_txn *t, const uint8_t key[20])
{
    int rc = ls__db_del(t, LS_DB_CACHE, key, 20, NULL, 0);
    return rc ? rc : ls__db_del(t, LS_DB_CACHEX, key, 20, NULL, 0);
}

int ls__cache_get(ls_txn *t, const uint8_t key[20], unsigned inflate_mask, ls_cache_view *v)
{
    memset(v, 0, sizeof *v);
    MDB_val hv, cv;
    int rc = ls__db_get(t, LS_DB_CACHE, key, 20, &hv);
    if (!rc)
        rc = ls__db_get(t, LS_DB_CACHEX, key, 20, &cv);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ENOTFOUND, "cache record missing");
    if (rc)
        return rc;
    ls_cache_view cold;
    if ((rc = ls__cache_decode(hv.mv_data, hv.mv_size, inflate_mask, v)))
        return rc;
    if ((rc = ls__cache_decode(cv.mv_data, cv.mv_size, inflate_mask, &cold))) {
        ls__cache_view_free(v);
        return rc;
    }
    for (int id = 1; id <= LS_CF_MAX; id++) {
        if (v->f[id] || !cold.f[id])
            continue;
        v->f[id] = cold.f[id];
        v->len[id] = cold.len[id];
        v->owned[id] = cold.owned[id];
        cold.owned[id] = NULL;
    }
    ls__cache_view_free(&cold);
    return LS_OK;
}

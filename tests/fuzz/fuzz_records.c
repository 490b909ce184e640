/* Fuzz the decoders of everything libstore reads back from LMDB: index
 * records, mailbox state, mailbox entries and cache records. The first byte
 * picks the decoder; a decoder must reject garbage without crashing, and
 * whatever it accepts must re-encode to a record it accepts again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/cache.h"
#include "model/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        ls_irec r;
        if (ls__irec_decode(p, n, &r) == LS_OK) {
            uint8_t buf[LS_RECORD_SIZE];
            ls__irec_encode(&r, buf);
            if (memcmp(buf, p, LS_RECORD_SIZE) != 0 && ls__irec_decode(buf, sizeof buf, &r) != LS_OK)
                abort();
        }
        break;
    }
    case 1: {
        ls_mbstate s;
        if (ls__mbstate_decode(p, n, &s) == LS_OK) {
            uint8_t buf[LS_MBSTATE_SIZE];
            ls__mbstate_encode(&s, buf);
            if (ls__mbstate_decode(buf, sizeof buf, &s) != LS_OK)
                abort();
        }
        break;
    }
    case 2: {
        ls_mbentry e;
        if (ls__mbentry_decode(p, n, &e) == LS_OK) {
            uint8_t *buf;
            size_t len;
            if (ls__mbentry_encode(&e, &buf, &len) == LS_OK) {
                ls_mbentry e2;
                if (ls__mbentry_decode(buf, len, &e2) != LS_OK)
                    abort();
                ls__mbentry_clear(&e2);
                free(buf);
            }
        }
        ls__mbentry_clear(&e);
        break;
    }
    default: {
        ls_cache_view v;
        if (ls__cache_decode(p, n, ~0u, &v) == LS_OK) {
            const char *vals[LS_CF_MAX + 1];
            size_t lens[LS_CF_MAX + 1];
            for (int i = 0; i <= LS_CF_MAX; i++) {
                vals[i] = v.f[i];
                lens[i] = v.len[i];
            }
            uint8_t *buf;
            size_t len;
            if (ls__cache_encode(vals, lens, &buf, &len) == LS_OK) {
                ls_cache_view v2;
                if (ls__cache_decode(buf, len, ~0u, &v2) != LS_OK)
                    abort();
                ls__cache_view_free(&v2);
                free(buf);
            }
            ls__cache_view_free(&v);
        }
        break;
    }
    }
    return 0;
}

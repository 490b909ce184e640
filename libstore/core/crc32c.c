/* CRC-32C: polynomial 0x1EDC6F41 (reflected 0x82F63B78), init and final
 * XOR 0xFFFFFFFF; ls__crc32c("123456789") == 0xE3069283. */
#include "core/crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
}

static uint32_t soft(uint32_t crc, const uint8_t *p, size_t n)
{
    pthread_once(&table_once, make_table);
    while (n--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t hard(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t ls__crc32c(const void *buf, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
#if defined(__x86_64__)
    static int have = -1;
    if (have < 0)
        have = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (have)
        return hard(crc, buf, len) ^ 0xFFFFFFFFu;
#endif
    return soft(crc, buf, len) ^ 0xFFFFFFFFu;
}

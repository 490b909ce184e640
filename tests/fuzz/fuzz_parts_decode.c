/* Fuzz ls__mime_parts_decode() on raw bytes: it must reject or return a
 * table whose every range lies inside the message, and re-encode to the
 * same bytes. The first 2 bytes choose the message size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint64_t msg_size = (uint64_t)data[0] << 8 | data[1];
    ls_mime_part *parts;
    size_t n;
    if (ls__mime_parts_decode(data + 2, size - 2, msg_size, &parts, &n) != 0)
        return 0;
    CHECK(n >= 1);
    for (size_t i = 0; i < n; i++) {
        const ls_mime_part *p = &parts[i];
        CHECK(p->hdr_off <= msg_size && p->hdr_len <= msg_size - p->hdr_off);
        CHECK(p->body_off <= msg_size && p->body_len <= msg_size - p->body_off);
        CHECK(p->msg_hdr_off <= msg_size && p->msg_hdr_len <= msg_size - p->msg_hdr_off);
        CHECK(p->msg_body_off <= msg_size && p->msg_body_len <= msg_size - p->msg_body_off);
        CHECK(memchr(p->section, '\0', sizeof(p->section)) != NULL);
        uint64_t off, len;
        if (ls__mime_section_locate(parts, n, p->section, &off, &len) == 0)
            CHECK(off <= msg_size && len <= msg_size);
    }
    uint8_t *buf;
    size_t blen;
    CHECK(ls__mime_parts_encode(parts, n, &buf, &blen) == 0);
    ls_mime_part *again;
    size_t n2;
    CHECK(ls__mime_parts_decode(buf, blen, msg_size, &again, &n2) == 0);
    CHECK(n2 == n && memcmp(again, parts, n * sizeof(*parts)) == 0);
    free(again);
    free(buf);
    free(parts);
    return 0;
}

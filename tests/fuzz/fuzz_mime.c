/* Fuzz ls__mime_analyze(), then round-trip its parts table through the
 * codec and locate every section: all results must stay inside the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_mime_info info;
    if (ls__mime_analyze((const char *)data, size, &info) != 0)
        return 0;
    CHECK(info.envelope && info.bodystructure && info.body && info.fields);
    CHECK(info.nparts >= 1 && info.parts[0].section[0] == '\0');
    CHECK(info.header_size <= size);
    for (size_t i = 0; i < info.nparts; i++) {
        const ls_mime_part *p = &info.parts[i];
        CHECK(p->hdr_off + p->hdr_len <= size && p->body_off + p->body_len <= size);
        static const char *const kw[] = {"", ".MIME", ".HEADER", ".TEXT"};
        static const char *const top[] = {"", "MIME", "HEADER", "TEXT"};
        for (int k = 0; k < 4; k++) {
            char sec[sizeof(p->section) + 8];
            uint64_t off, len;
            snprintf(sec, sizeof(sec), "%s%s", p->section, p->section[0] ? kw[k] : top[k]);
            if (ls__mime_section_locate(info.parts, info.nparts, sec, &off, &len) == 0)
                CHECK(off <= size && len <= size - off);
        }
    }
    uint8_t *buf;
    size_t blen;
    if (ls__mime_parts_encode(info.parts, info.nparts, &buf, &blen) == 0) {
        ls_mime_part *parts;
        size_t n;
        CHECK(ls__mime_parts_decode(buf, blen, size, &parts, &n) == 0);
        CHECK(n == info.nparts && memcmp(parts, info.parts, n * sizeof(*parts)) == 0);
        free(parts);
        free(buf);
    }
    ls__mime_info_free(&info);
    return 0;
}

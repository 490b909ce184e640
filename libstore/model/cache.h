/*
 * Cache records (table "cache", key uuid16 + uid BE32): what a server reads
 * to answer FETCH and SEARCH without opening the message file.
 *
 * Layout: version u8 (1) | nfields u8 | hot_end u32 LE | hot_crc u32 LE |
 * fields... | crc32 u32 (LE, over all bytes before it). A field: id u8 |
 * encoding u8 (0 raw, 1 zlib) | raw length u32 LE | stored length u32 LE |
 * stored bytes. The hot fields (ENVELOPE, BODYSTRUCTURE, BODY: what FETCH
 * reads every time) come first, in bytes [10, hot_end), with their own CRC
 * (hot_crc, a CRC-32C: hardware-fast), so the FETCH path needs no CRC-32
 * over the whole record.
 * ENVELOPE, BODYSTRUCTURE and BODY are always raw (read on every FETCH, and
 * zero-copy from the map); PARTS and FIELDS are zlib-compressed when that is
 * smaller and they have at least LS_CACHE_COMPRESS_MIN bytes.
 */
#ifndef LS_MODEL_CACHE_H
#define LS_MODEL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define LS_CACHE_VERSION 1
#define LS_CACHE_COMPRESS_MIN 512

enum ls_cache_field {
    LS_CF_ENVELOPE = 1,
    LS_CF_BODYSTRUCTURE = 2,
    LS_CF_BODY = 3,
    LS_CF_PARTS = 4,      /* ls__mime_parts_encode() bytes */
    LS_CF_FIELDS = 5,     /* raw header lines of the chosen fields */
    LS_CF_MAX = 5
};

/* A decoded view. Raw fields point into the buffer given to decode;
 * compressed ones into `owned` allocations freed by ls__cache_view_free. */
typedef struct ls_cache_view {
    const char *f[LS_CF_MAX + 1];
    size_t len[LS_CF_MAX + 1];
    void *owned[LS_CF_MAX + 1];
} ls_cache_view;

/* Build a record from field values (NULL/0 for absent). *out malloc'd. */
int ls__cache_encode(const char *const vals[LS_CF_MAX + 1], const size_t lens[LS_CF_MAX + 1],
                    uint8_t **out, size_t *outlen);
/* Validate and decode. `inflate_mask` (bits 1<<id) says which compressed
 * fields to decompress; others are left absent. Errors: LS_ECORRUPT. */
int ls__cache_decode(const void *buf, size_t len, unsigned inflate_mask, ls_cache_view *v);
void ls__cache_view_free(ls_cache_view *v);
/* Decode only the hot fields, verifying only hot_crc (the FETCH fast path;
 * nothing is allocated). Errors: LS_ECORRUPT. */
int ls__cache_decode_hot(const void *buf, size_t len, ls_cache_view *v);

/* A message's cache lives in two tables with the same key: the hot fields
 * (what FETCH reads every time, walked in order by ls_message_foreach) in
 * "cache", the cold ones (part offsets, header fields) in "cachex", so the
 * hot walk touches a third of the bytes. Both values use the layout above. */
struct ls_txn;
int ls__cache_put(struct ls_txn *t, const uint8_t key[20], const uint8_t *hot, size_t hotlen, const uint8_t *cold,
                 size_t coldlen);
int ls__cache_del(struct ls_txn *t, const uint8_t key[20]);
/* Both records decoded into one view. LS_ENOTFOUND when a record is
 * missing, LS_ECORRUPT when one is damaged. */
int ls__cache_get(struct ls_txn *t, const uint8_t key[20], unsigned inflate_mask, ls_cache_view *v);
/* Encode the hot and the cold record of a message from its fields. */
int ls__cache_encode_split(const char *const vals[LS_CF_MAX + 1], const size_t lens[LS_CF_MAX + 1], uint8_t **hot,
                          size_t *hotlen, uint8_t **cold, size_t *coldlen);

#endif

/*
 * Fixed-size binary records: the index record of one message, the mailbox
 * state (the index header), and the mailbox-list entry. All integers are
 * little-endian; every record carries a version byte (the index record at
 * offset 4, the others at offset 0) and ends with a CRC32 (zlib) over the
 * bytes before it. (Table keys, unlike values, are big-endian so that LMDB's
 * byte order is numeric order.) Decoders validate size, version and
 * CRC and fail with LS_ECORRUPT; they never read past the given length.
 * Layouts are documented in docs/format.md: keep the two in step.
 */
#ifndef LS_MODEL_RECORD_H
#define LS_MODEL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "libstore/common.h"

#define LS_UUID_LEN 16
#define LS_GUID_LEN 32

/* ---- index record (table "records", key uuid16 + uid BE32) ---- */
#define LS_RECORD_VERSION 1
#define LS_RECORD_SIZE 112
#define LS_REC_EXPUNGED 0x80u   /* in sysflags: a tombstone */

typedef struct ls_irec {
    uint32_t uid;
    uint8_t sysflags;           /* LS_FLAG_* bits | LS_REC_EXPUNGED */
    int64_t internaldate;
    int16_t internal_tz;
    int16_t sent_tz;
    uint32_t header_size;
    int64_t sentdate;
    uint64_t size;
    uint64_t modseq;
    uint32_t body_lines;
    uint64_t keywords[2];
    uint8_t guid[LS_GUID_LEN];
    uint32_t expunged_at;       /* tombstones: when expunged (unix seconds), for cleanup */
} ls_irec;

void ls__irec_encode(const ls_irec *r, uint8_t out[LS_RECORD_SIZE]);
int ls__irec_decode(const void *buf, size_t len, ls_irec *r);

/* ---- mailbox state (table "mbstate", key uuid16) ---- */
#define LS_MBSTATE_VERSION 1
#define LS_MBSTATE_SIZE 96

typedef struct ls_mbstate {
    uint32_t uidvalidity;
    uint32_t uidnext;
    uint64_t highestmodseq;
    uint32_t exists;            /* live messages */
    uint32_t unseen;            /* live messages without \Seen in the record */
    uint32_t deleted, flagged, answered;
    uint32_t recentuid;         /* the owner's: UIDs above it are \Recent */
    uint32_t recent;            /* live messages with UID above recentuid (STATUS RECENT in O(1)) */
    uint64_t privmodseq;        /* highest MODSEQ given to a private seen change (model/seen.h) */
    uint64_t size;              /* bytes of live messages */
    uint32_t tombstones;        /* expunged records kept */
    uint64_t deletedmodseq;     /* highest MODSEQ of a tombstone removed by cleanup */
    uint32_t hwm_uidnext;       /* reserved (0): store.header itself carries the high-water marks */
    uint64_t modseqmark;        /* the HIGHESTMODSEQ mark store.header holds durably (0: none yet) */
} ls_mbstate;

void ls__mbstate_encode(const ls_mbstate *s, uint8_t out[LS_MBSTATE_SIZE]);
int ls__mbstate_decode(const void *buf, size_t len, ls_mbstate *s);

/* ---- mailbox-list entry (table "mailboxes", key internal name) ---- */
#define LS_MBENTRY_VERSION 1

typedef struct ls_mbentry {
    uint8_t uuid[LS_UUID_LEN];
    uint32_t uidvalidity;
    uint32_t flags;             /* reserved */
    char partition[64];
    char *acl;                  /* "id\trights\t..." malloc'd, may be "" */
} ls_mbentry;

/* Encodes into a malloc'd buffer. */
int ls__mbentry_encode(const ls_mbentry *m, uint8_t **out, size_t *len);
/* Decodes; m->acl is malloc'd (ls__mbentry_clear). */
int ls__mbentry_decode(const void *buf, size_t len, ls_mbentry *m);
void ls__mbentry_clear(ls_mbentry *m);

/* uuid16 <-> "xxxxxxxx-xxxx-..." (37 bytes with NUL) */
void ls__uuid_format(const uint8_t uuid[LS_UUID_LEN], char out[37]);
int ls__uuid_parse(const char *s, uint8_t uuid[LS_UUID_LEN]);
/* guid -> 64 lower-case hex digits + NUL */
void ls__guid_format(const uint8_t guid[LS_GUID_LEN], char out[65]);

/* Record keys: uuid16 + uid BE32. */
#define LS_RECKEY_LEN 20
void ls__reckey(uint8_t key[LS_RECKEY_LEN], const uint8_t uuid[LS_UUID_LEN], uint32_t uid);

#endif

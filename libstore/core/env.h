/*
 * The LMDB environment and its transactions.
 *
 * One environment per store, in CONFIGDIR (data.mdb, lock.mdb), with the named
 * tables below (their formats: docs/format.md and libstore/model/).
 *
 * Invariants kept here:
 *  - No caller ever sees MDB_MAP_FULL: ls__env_write() grows the map and runs
 *    the transaction body again; a map grown by another process is picked up
 *    (MDB_MAP_RESIZED) before a transaction starts.
 *  - mdb_env_set_mapsize() needs no live transaction in this process: every
 *    transaction holds `resize` for reading, a resize takes it for writing.
 *  - Stale reader slots of dead processes are cleared at open and whenever
 *    the reader table is full.
 */
#ifndef LS_CORE_ENV_H
#define LS_CORE_ENV_H

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum ls_dbi {
    LS_DB_META,       /* "version", "uidvalidity": store-wide values */
    LS_DB_MAILBOXES,  /* internal name -> mailbox entry (model/mbentry) */
    LS_DB_MBSTATE,    /* uuid16 -> mailbox state (index header) */
    LS_DB_RECORDS,    /* uuid16 + uid(BE32) -> index record (fixed size) */
    LS_DB_CACHE,      /* uuid16 + uid(BE32) -> cache record: ENVELOPE, BODYSTRUCTURE, BODY (hot) */
    LS_DB_CACHEX,     /* uuid16 + uid(BE32) -> cache record: part offsets, header fields (cold) */
    LS_DB_KEYWORDS,   /* uuid16 -> keyword names, NUL-separated */
    LS_DB_GUIDS,      /* partition NUL guid32 date(BE64) -> uuid16 + uid(BE32), DUPSORT */
    LS_DB_PENDING,    /* seq(BE64) -> a file removal to roll forward after commit */
    LS_DB_QUOTA,      /* quota root name -> limits and usage */
    LS_DB_SEEN,       /* uuid16 + user -> private seen state (model/seen.h) */
    LS_DB_SUBS,       /* user NUL mailbox name -> "" */
    LS_DB_ANNOT,      /* uuid16 + entry NUL (user) -> value */
    LS_DB_BYUUID,     /* uuid16 -> internal name (the reverse of "mailboxes") */
    LS_DB_SEENMOD,    /* uuid16 + user NUL uid(BE32) -> MODSEQ (u64 LE) of a private seen change */
    LS_DBI_COUNT
};

struct ls_txn;

typedef struct ls_env {
    MDB_env *env;
    MDB_dbi dbi[LS_DBI_COUNT];
    pthread_rwlock_t resize;     /* read: a live txn; write: changing the map size */
    pthread_mutex_t flush_mu;
    pthread_cond_t flush_cv;
    pthread_t flusher;
    int flusher_running, stopping, dirty;
    int nosync;                  /* fsync: messages - metadata synced within a second */
    int rdonly;
    char *dir;                   /* the environment directory */
    char *reserve;               /* reserve file released when the disk is full */
    /* Run right before a write transaction commits (model/mbox.c: raise
     * store.header's HIGHESTMODSEQ marks that the transaction passed). */
    void (*before_commit)(struct ls_txn *t);
    void *owner;                 /* the ls_store, for before_commit */
} ls_env;

typedef struct ls_txn {
    ls_env *env;
    /* mailboxes (uuid16 each) whose store.header mark this transaction
     * must raise before it commits (model/mbox.c) */
    uint8_t (*marks)[16];
    size_t nmarks, capmarks;
    MDB_txn *txn;
    int write;
    int map_full;                /* set by ls_db_* when MDB_MAP_FULL was hit */
    int disk_full;
    int no_mark;                 /* a dry run: leave store.header's marks alone (model/mbox.c) */
    int mark_exact;              /* repairs: raise the HIGHESTMODSEQ mark to exactly what is given out */
} ls_txn;

/* Open (creating when `create`) the environment in dir. */
int ls__env_open(const char *dir, int create, int rdonly, int nosync, ls_env **out);
void ls__env_close(ls_env *e);

/* Begin a read snapshot; end it with ls__txn_end. */
int ls__txn_read(ls_env *e, ls_txn *t);
void ls__txn_end(ls_txn *t);

/* Durability of a write. */
enum ls_durability {
    LS_SYNC_FLAGS = 0,   /* flag/seen changes: synced now with fsync:all, within 1 s with fsync:messages */
    LS_SYNC_ALWAYS = 1,  /* appends, expunges, mailbox changes: synced before return */
    LS_SYNC_RESERVE = 2, /* like ALWAYS, and may use the disk reserve (expunge, delete) */
};
typedef int (*ls_write_fn)(ls_txn *t, void *arg);
/* Run fn inside one write transaction and commit it. fn returns LS_OK to
 * commit or an error to abort. When the map is full, the transaction is
 * aborted, the map grown, and fn run again from the start: fn must not keep
 * side effects of an aborted run (reset outputs at its start). */
int ls__env_write(ls_env *e, int durability, ls_write_fn fn, void *arg);

/* Table helpers. Keys and values are raw bytes. get: LS_ENOTFOUND if absent. */
int ls__db_get(ls_txn *t, int db, const void *k, size_t klen, MDB_val *v);
int ls__db_put(ls_txn *t, int db, const void *k, size_t klen, const void *v, size_t vlen, unsigned flags);
/* Delete the key (all values), or just the value v when v != NULL (DUPSORT). Absent is fine. */
int ls__db_del(ls_txn *t, int db, const void *k, size_t klen, const void *v, size_t vlen);
/* Open a cursor on db (closed by ls__db_cursor_close). */
int ls__db_cursor(ls_txn *t, int db, MDB_cursor **c);
void ls__db_cursor_close(MDB_cursor *c);
/* Record an LMDB error in t (map full / disk full) and map it to a code. */
int ls__txn_fail(ls_txn *t, int rc, const char *what);

/* Ensure the reserve file exists (cheap when it does). 1 if it is in place.
 * Appends refuse (LS_ENOSPC) while it cannot be restored, so that expunge,
 * delete and flag changes always find room on the metadata disk. */
int ls__env_refill_reserve(ls_env *e);

/* Big-endian helpers for keys (so that LMDB's byte order is numeric order). */
static inline void ls__be32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline uint32_t ls__rd_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void ls__be64(uint8_t *p, uint64_t v) { ls__be32(p, (uint32_t)(v >> 32)); ls__be32(p + 4, (uint32_t)v); }
static inline uint64_t ls__rd_be64(const uint8_t *p) { return (uint64_t)ls__rd_be32(p) << 32 | ls__rd_be32(p + 4); }

#endif

/*
 * A store's identity: a random UUID made when the store is created, kept in
 * the environment (meta key "store_id") and in a marker file `libstore.id`
 * in the configdirectory and at the root of every partition (docs/format.md,
 * "Identity markers"). A partition whose marker is missing or names another
 * store is not this store's (an unmounted disk, the wrong disk): nothing is
 * read from, written to or created in it.
 */
#ifndef LS_CORE_IDENTITY_H
#define LS_CORE_IDENTITY_H

#include <stdint.h>

#include "core/env.h"

#define LS_ID_LEN 16
#define LS_ID_FILE "libstore.id"

/* Read DIR/libstore.id into id. LS_ENOTFOUND when the file (or DIR) does not
 * exist, LS_ECORRUPT when it holds no identity, LS_EIO when it cannot be
 * read. Every error records a message naming the file. */
int ls__id_read(const char *dir, uint8_t id[LS_ID_LEN]);

/* Write DIR/libstore.id durably (temporary file, fsync, rename, fsync of
 * DIR). DIR must exist: a marker never creates the directory it labels. */
int ls__id_write(const char *dir, const uint8_t id[LS_ID_LEN]);

/* A new random identity. */
void ls__id_generate(uint8_t id[LS_ID_LEN]);

/* The 36-character text form (lowercase, with dashes). */
void ls__id_format(const uint8_t id[LS_ID_LEN], char out[37]);

/* The identity kept in the environment: LS_ENOTFOUND when it has none (a
 * store made before identities existed). */
int ls__id_meta_get(ls_txn *t, uint8_t id[LS_ID_LEN]);
int ls__id_meta_put(ls_txn *t, const uint8_t id[LS_ID_LEN]);
/* ls__id_meta_put in a write transaction of its own, synced. */
int ls__id_meta_store(ls_env *e, const uint8_t id[LS_ID_LEN]);

#endif

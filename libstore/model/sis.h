/*
 * Single-instance storage: the GUID table ("guids", DUPSORT).
 * Key: partition name, NUL, GUID (32 bytes), internal date (i64 BE).
 * Values: uuid16 + uid BE32 of every live record whose file holds those
 * bytes with that mtime. A new append of the same bytes and date links to
 * any of them. Expunge removes the record's value; so only live files are
 * ever linked to.
 */
#ifndef LS_MODEL_SIS_H
#define LS_MODEL_SIS_H

#include "store_impl.h"

int ls__sis_add(ls_txn *t, const char *partition, const uint8_t guid[LS_GUID_LEN], int64_t date,
               const uint8_t uuid[LS_UUID_LEN], uint32_t uid);
int ls__sis_del(ls_txn *t, const char *partition, const uint8_t guid[LS_GUID_LEN], int64_t date,
               const uint8_t uuid[LS_UUID_LEN], uint32_t uid);
/* Any holder; LS_ENOTFOUND if none. */
int ls__sis_find(ls_txn *t, const char *partition, const uint8_t guid[LS_GUID_LEN], int64_t date,
                uint8_t uuid[LS_UUID_LEN], uint32_t *uid);

#endif

/* The GUID table (see sis.h). */
#include "model/sis.h"

#include <string.h>

static size_t make_key(uint8_t *k, const char *partition, const uint8_t guid[LS_GUID_LEN], int64_t date)
{
    size_t plen = strlen(partition);
    memcpy(k, partition, plen);
    k[plen] = 0;
    memcpy(k + plen + 1, guid, LS_GUID_LEN);
    ls__be64(k + plen + 1 + LS_GUID_LEN, (uint64_t)date);
    return plen + 1 + LS_GUID_LEN + 8;
}

int ls__sis_add(ls_txn *t, const char *partition, const uint8_t guid[LS_GUID_LEN], int64_t date,
               const uint8_t uuid[LS_UUID_LEN], uint32_t uid)
{
    uint8_t k[128], v[LS_RECKEY_LEN];
    if (strlen(partition) > 63)
        return ls__err(LS_EINVAL, "partition name too long");
    size_t klen = make_key(k, partition, guid, date);
    ls__reckey(v, uuid, uid);
    int rc = ls__db_put(t, LS_DB_GUIDS, k, klen, v, sizeof v, MDB_NODUPDATA);
    return rc == LS_EEXIST ? LS_OK : rc;
}

int ls__sis_del(ls_txn *t, const char *partition, const uint8_t guid[LS_GUID_LEN], int64_t date,
               const uint8_t uuid[LS_UUID_LEN], uint32_t uid)
{
    uint8_t k[128], v[LS_RECKEY_LEN];
    if (strlen(partition) > 63)
        return LS_OK;
    size_t klen = make_key(k, partition, guid, date);
    ls__reckey(v, uuid, uid);
    return ls__db_del(t, LS_DB_GUIDS, k, klen, v, sizeof v);
}

int ls__sis_find(ls_txn *t, const char *partition, const uint8_t guid[LS_GUID_LEN], int64_t date,
                uint8_t uuid[LS_UUID_LEN], uint32_t *uid)
{
    uint8_t k[128];
    if (strlen(partition) > 63)
        return LS_ENOTFOUND;
    size_t klen = make_key(k, partition, guid, date);
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_GUIDS, k, klen, &v);
    if (rc)
        return rc;
    if (v.mv_size != LS_RECKEY_LEN)
        return ls__err(LS_ECORRUPT, "GUID table: malformed value");
    memcpy(uuid, v.mv_data, LS_UUID_LEN);
    *uid = ls__rd_be32((const uint8_t *)v.mv_data + LS_UUID_LEN);
    return LS_OK;
}

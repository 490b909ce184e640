/* The store identity and its marker files (see identity.h). */
#include "core/identity.h"
#include "core/error.h"
#include "core/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

static const char meta_key[] = "store_id";

int ls__id_read(const char *dir, uint8_t id[LS_ID_LEN])
{
    char *path = ls__strprintf("%s/" LS_ID_FILE, dir);
    if (!path)
        return ls__err(LS_ENOMEM, "out of memory");
    char *text;
    size_t len;
    int rc = ls__read_file(path, &text, &len);
    if (rc == LS_OK) {
        /* one line: the UUID; trailing white space is tolerated (an editor) */
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
            text[--len] = 0;
        uuid_t u;
        if (len != 36 || uuid_parse(text, u) != 0)
            rc = ls__err(LS_ECORRUPT, "%s does not hold a store identity (one line with a UUID)", path);
        else
            memcpy(id, u, LS_ID_LEN);
        free(text);
    } else if (rc == LS_ENOTFOUND) {
        rc = ls__err(LS_ENOTFOUND, "%s is missing", path);
    }
    free(path);
    return rc;
}

int ls__id_write(const char *dir, const uint8_t id[LS_ID_LEN])
{
    char *path = ls__strprintf("%s/" LS_ID_FILE, dir);
    if (!path)
        return ls__err(LS_ENOMEM, "out of memory");
    char line[38];
    ls__id_format(id, line);
    line[36] = '\n';
    line[37] = 0;
    int rc = ls__write_file_atomic(path, line, 37);
    free(path);
    return rc;
}

void ls__id_generate(uint8_t id[LS_ID_LEN])
{
    uuid_t u;
    uuid_generate_random(u);
    memcpy(id, u, LS_ID_LEN);
}

void ls__id_format(const uint8_t id[LS_ID_LEN], char out[37])
{
    uuid_unparse_lower(id, out);
}

int ls__id_meta_get(ls_txn *t, uint8_t id[LS_ID_LEN])
{
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_META, meta_key, sizeof meta_key - 1, &v);
    if (rc)
        return rc;
    if (v.mv_size != LS_ID_LEN)
        return ls__err(LS_ECORRUPT, "the environment's store identity is damaged (run reconstruct -m)");
    memcpy(id, v.mv_data, LS_ID_LEN);
    return LS_OK;
}

int ls__id_meta_put(ls_txn *t, const uint8_t id[LS_ID_LEN])
{
    return ls__db_put(t, LS_DB_META, meta_key, sizeof meta_key - 1, id, LS_ID_LEN, 0);
}

static int put_txn(ls_txn *t, void *arg) { return ls__id_meta_put(t, arg); }

int ls__id_meta_store(ls_env *e, const uint8_t id[LS_ID_LEN])
{
    return ls__env_write(e, LS_SYNC_ALWAYS, put_txn, (void *)id);
}

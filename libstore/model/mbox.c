/* Loading mailboxes inside a transaction; their state; store.header. */
#include "store_impl.h"
#include "core/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ls_mbref_set(ls_mbref *ref, const uint8_t uuid[LS_UUID_LEN], const char *partition)
{
    memcpy(ref->uuid, uuid, LS_UUID_LEN);
    ls_uuid_format(uuid, ref->uuidstr);
    ref->partition = partition;
}

int ls_mbstate_get(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_mbstate *s)
{
    MDB_val v;
    int rc = ls_db_get(t, LS_DB_MBSTATE, uuid, LS_UUID_LEN, &v);
    if (rc == LS_ENOTFOUND) {
        char u[37];
        ls_uuid_format(uuid, u);
        return ls_err(LS_ECORRUPT, "mailbox %s has no state record (run reconstruct)", u);
    }
    return rc ? rc : ls_mbstate_decode(v.mv_data, v.mv_size, s);
}

int ls_mbstate_put(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const ls_mbstate *s)
{
    uint8_t buf[LS_MBSTATE_SIZE];
    ls_mbstate_encode(s, buf);
    return ls_db_put(t, LS_DB_MBSTATE, uuid, LS_UUID_LEN, buf, sizeof buf, 0);
}

void ls_mbox_clear(ls_mbox *m)
{
    free(m->name);
    m->name = NULL;
    ls_mbentry_clear(&m->entry);
}

int ls_mbox_load(ls_txn *t, const char *name, ls_mbox *out)
{
    memset(out, 0, sizeof *out);
    MDB_val v;
    int rc = ls_db_get(t, LS_DB_MAILBOXES, name, strlen(name), &v);
    if (rc == LS_ENOTFOUND)
        return ls_err(LS_ENOTFOUND, "mailbox '%s' does not exist", name);
    if (rc)
        return rc;
    if ((rc = ls_mbentry_decode(v.mv_data, v.mv_size, &out->entry)))
        return ls_err(rc, "mailbox '%s': %s", name, ls_error_last());
    out->name = strdup(name);
    if (!out->name) {
        ls_mbox_clear(out);
        return ls_err(LS_ENOMEM, "out of memory");
    }
    ls_mbref_set(&out->ref, out->entry.uuid, out->entry.partition);
    if ((rc = ls_mbstate_get(t, out->entry.uuid, &out->state))) {
        rc = ls_err(rc, "mailbox '%s': %s", name, ls_error_last());
        ls_mbox_clear(out);
        return rc;
    }
    return LS_OK;
}

int ls_mbox_load_uuid(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_mbox *out)
{
    MDB_val v;
    int rc = ls_db_get(t, LS_DB_BYUUID, uuid, LS_UUID_LEN, &v);
    if (rc == LS_ENOTFOUND)
        return ls_err(LS_ENOTFOUND, "the mailbox no longer exists");
    if (rc)
        return rc;
    char name[LS_NAME_BUF];
    if (v.mv_size >= sizeof name)
        return ls_err(LS_ECORRUPT, "mailbox name too long in the uuid table");
    memcpy(name, v.mv_data, v.mv_size);
    name[v.mv_size] = 0;
    rc = ls_mbox_load(t, name, out);
    if (!rc && memcmp(out->entry.uuid, uuid, LS_UUID_LEN) != 0) {
        ls_mbox_clear(out);
        return ls_err(LS_ECORRUPT, "mailbox '%s': uuid table out of step (run reconstruct -m)", name);
    }
    return rc;
}

/*
 * store.header: a text file, one "key: value" per line, first line
 * "libstore-header 1". Values never contain a newline (names and ACL
 * identifiers cannot). See docs/format.md.
 */
int ls_header_write(ls_store *st, const ls_mbox *m)
{
    char *acl = strdup(m->entry.acl ? m->entry.acl : "");
    if (!acl)
        return ls_err(LS_ENOMEM, "out of memory");
    char *buf = ls_strprintf("libstore-header 1\n"
                             "name: %s\n"
                             "uniqueid: %s\n"
                             "partition: %s\n"
                             "uidvalidity: %u\n"
                             "uidnext: %u\n"
                             "highestmodseq: %llu\n"
                             "acl: %s\n",
                             m->name, m->ref.uuidstr, m->entry.partition, m->state.uidvalidity,
                             m->state.uidnext, (unsigned long long)m->state.highestmodseq, acl);
    free(acl);
    if (!buf)
        return ls_err(LS_ENOMEM, "out of memory");
    int rc = st->layout->ops->header_write(st->layout, &m->ref, buf, strlen(buf));
    free(buf);
    return rc;
}

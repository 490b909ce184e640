/* Quota roots: records, lookup, charging (see quota.h). */
#include "model/quota.h"
#include "model/names.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

void ls__qrec_encode(const ls_qrec *q, uint8_t out[LS_QREC_SIZE])
{
    memset(out, 0, LS_QREC_SIZE);
    out[0] = 1;
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++) {
        put64(out + 8 + 8 * i, (uint64_t)q->limit[i]);
        put64(out + 32 + 8 * i, q->usage[i]);
    }
    uint32_t c = (uint32_t)crc32(0L, out, 56);
    for (int i = 0; i < 4; i++)
        out[56 + i] = (uint8_t)(c >> (8 * i));
}

int ls__qrec_decode(const void *buf, size_t len, ls_qrec *q)
{
    const uint8_t *p = buf;
    if (len != LS_QREC_SIZE || p[0] != 1)
        return ls__err(LS_ECORRUPT, "quota record: bad size or version");
    uint32_t c = (uint32_t)p[56] | (uint32_t)p[57] << 8 | (uint32_t)p[58] << 16 | (uint32_t)p[59] << 24;
    if (c != (uint32_t)crc32(0L, p, 56))
        return ls__err(LS_ECORRUPT, "quota record: CRC mismatch");
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++) {
        q->limit[i] = (int64_t)get64(p + 8 + 8 * i);
        q->usage[i] = get64(p + 32 + 8 * i);
    }
    return LS_OK;
}

int ls__quota_put(ls_txn *t, const char *root, const ls_qrec *q)
{
    uint8_t buf[LS_QREC_SIZE];
    ls__qrec_encode(q, buf);
    return ls__db_put(t, LS_DB_QUOTA, root, strlen(root), buf, sizeof buf, 0);
}

int ls__quota_find(ls_txn *t, const char *name, char sep, char *root, ls_qrec *q)
{
    size_t n = strlen(name);
    if (n >= LS_NAME_BUF)
        return LS_ENOTFOUND;
    memcpy(root, name, n + 1);
    for (;;) {
        MDB_val v;
        int rc = ls__db_get(t, LS_DB_QUOTA, root, strlen(root), &v);
        if (rc == LS_OK)
            return ls__qrec_decode(v.mv_data, v.mv_size, q);
        if (rc != LS_ENOTFOUND)
            return rc;
        char *cut = strrchr(root, sep);
        if (!cut)
            return LS_ENOTFOUND;
        *cut = 0;
    }
}

void ls__quota_usage_of(const ls_mbstate *s, int64_t delta[3])
{
    delta[LS_QUOTA_STORAGE] = (int64_t)s->size;
    delta[LS_QUOTA_MESSAGE] = s->exists;
    delta[LS_QUOTA_MAILBOX] = 1;
}

static uint64_t kib(uint64_t bytes) { return (bytes + 1023) / 1024; }

int ls__quota_charge(ls_txn *t, const char *name, char sep, int64_t bytes, int64_t messages, int64_t mailboxes,
                    int enforce)
{
    char root[LS_NAME_BUF];
    ls_qrec q;
    int rc = ls__quota_find(t, name, sep, root, &q);
    if (rc == LS_ENOTFOUND) {
        ls_error_clear();
        return LS_OK;
    }
    if (rc)
        return rc;
    int64_t d[3] = { bytes, messages, mailboxes };
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++) {
        if (d[i] > 0 && enforce && q.limit[i] >= 0) {
            uint64_t after = q.usage[i] + (uint64_t)d[i];
            uint64_t shown = i == LS_QUOTA_STORAGE ? kib(after) : after;
            if (shown > (uint64_t)q.limit[i])
                return ls__err(LS_EOVERQUOTA, "over quota: %s of root '%s' would be %llu, limit %lld%s",
                              ls_quota_resource_name(i), root, (unsigned long long)shown, (long long)q.limit[i],
                              i == LS_QUOTA_STORAGE ? " KiB" : "");
        }
        if (d[i] < 0 && (uint64_t)(-d[i]) > q.usage[i])
            q.usage[i] = 0; /* never below zero: `quota -f` repairs drift */
        else
            q.usage[i] += (uint64_t)d[i];
    }
    return ls__quota_put(t, root, &q);
}

const char *ls_quota_resource_name(enum ls_quota_resource res)
{
    switch (res) {
    case LS_QUOTA_STORAGE: return "STORAGE";
    case LS_QUOTA_MESSAGE: return "MESSAGE";
    case LS_QUOTA_MAILBOX: return "MAILBOX";
    default: return "UNKNOWN";
    }
}

int ls_quota_resource_parse(const char *name)
{
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
        if (!strcasecmp(name, ls_quota_resource_name(i)))
            return i;
    return -1;
}

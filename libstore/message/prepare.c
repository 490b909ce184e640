/* Preparing a message for storage: CRLF, GUID, cache record. */
#include "message/message_impl.h"
#include "mime/mime.h"
#include "model/cache.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bare LF -> CRLF, once. Returns NULL (and leaves *out alone) when the input
 * needs no change, which is the common case for SMTP/LMTP input. */
static int normalize_crlf(const char *in, size_t len, char **out, size_t *outlen)
{
    /* memchr finds the LFs; the common CRLF input costs one scan */
    size_t extra = 0;
    for (const char *p = in, *end = in + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        if (p == in || p[-1] != '\r')
            extra++;
    *out = NULL;
    if (!extra)
        return LS_OK;
    char *b = malloc(len + extra + 1);
    if (!b)
        return ls__err(LS_ENOMEM, "out of memory (%zu bytes)", len + extra);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
            b[o++] = '\r';
        b[o++] = in[i];
    }
    b[o] = 0;
    *out = b;
    *outlen = o;
    return LS_OK;
}

static int sha256(const char *data, size_t len, uint8_t out[LS_GUID_LEN])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != LS_GUID_LEN)
        return ls__err(LS_ENOMEM, "SHA-256 failed");
    return LS_OK;
}

static int build_cache(const char *data, size_t len, ls_prepared *p)
{
    ls_mime_info mi;
    int rc = ls__mime_analyze(data, len, &mi);
    if (rc)
        return rc;
    uint8_t *parts = NULL;
    size_t partslen = 0;
    rc = ls__mime_parts_encode(mi.parts, mi.nparts, &parts, &partslen);
    if (!rc) {
        const char *vals[LS_CF_MAX + 1] = { 0 };
        size_t lens[LS_CF_MAX + 1] = { 0 };
        vals[LS_CF_ENVELOPE] = mi.envelope;
        lens[LS_CF_ENVELOPE] = strlen(mi.envelope);
        vals[LS_CF_BODYSTRUCTURE] = mi.bodystructure;
        lens[LS_CF_BODYSTRUCTURE] = strlen(mi.bodystructure);
        vals[LS_CF_BODY] = mi.body;
        lens[LS_CF_BODY] = strlen(mi.body);
        vals[LS_CF_PARTS] = (const char *)parts;
        lens[LS_CF_PARTS] = partslen;
        vals[LS_CF_FIELDS] = mi.fields ? mi.fields : "";
        lens[LS_CF_FIELDS] = mi.fields ? mi.fields_len : 0;
        rc = ls__cache_encode_split(vals, lens, &p->cache, &p->cachelen, &p->cachex, &p->cachexlen);
    }
    p->header_size = mi.header_size > UINT32_MAX ? UINT32_MAX : (uint32_t)mi.header_size;
    p->body_lines = mi.body_lines;
    p->sentdate = mi.sent_date;
    p->sent_tz = mi.sent_tz;
    free(parts);
    ls__mime_info_free(&mi);
    return rc;
}

int ls__prepare_stored(const char *data, size_t len, int64_t mtime, ls_prepared *p)
{
    memset(p, 0, sizeof *p);
    p->data = data;
    p->len = len;
    p->date.t = mtime;
    int rc = sha256(data, len, p->guid);
    if (!rc)
        rc = build_cache(data, len, p);
    if (rc)
        ls__prepared_free(p);
    return rc;
}

static int16_t local_tz(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return (int16_t)(tm.tm_gmtoff / 60);
}

int ls__prepare(ls_store *st, const void *msg, size_t len, const ls_date *date, ls_prepared *p)
{
    memset(p, 0, sizeof *p);
    /* Before anything reads the bytes: memchr, SHA-256 and the parser must
     * never see NULL. NULL with length 0 is the empty message, stored like
     * any malformed one (docs/api.md). */
    if (!msg && len)
        return ls__err(LS_EINVAL, "message bytes are NULL (%zu bytes announced)", len);
    if (!msg)
        msg = "";
    char *norm;
    size_t normlen = len;
    int rc = normalize_crlf(msg, len, &norm, &normlen);
    if (rc)
        return rc;
    p->owned = norm;
    p->data = norm ? norm : msg;
    p->len = norm ? normlen : len;
    if (st->cfg->maxmessagesize >= 0 && p->len > (uint64_t)st->cfg->maxmessagesize) {
        rc = ls__err(LS_ETOOBIG, "message of %zu bytes exceeds maxmessagesize (%lld bytes)", p->len,
                    (long long)st->cfg->maxmessagesize);
        ls__prepared_free(p);
        return rc;
    }
    if (date) {
        p->date = *date;
    } else {
        p->date.t = time(NULL);
        p->date.tz = local_tz((time_t)p->date.t);
    }
    if ((rc = sha256(p->data, p->len, p->guid)) || (rc = build_cache(p->data, p->len, p)))
        ls__prepared_free(p);
    return rc;
}

void ls__prepared_free(ls_prepared *p)
{
    free(p->owned);
    free(p->cache);
    free(p->cachex);
    memset(p, 0, sizeof *p);
}

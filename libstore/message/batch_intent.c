/*
 * MULTIAPPEND is all or none (RFC 3502), across crashes too.
 *
 * A crash between placing a message's file and the commit leaves a complete
 * file at UIDNEXT or above, which the next writer adopts (ls__adopt_leftovers):
 * right for one message, whose client may not have seen the OK, but wrong
 * for a batch killed half-way, whose placed files would be adopted while
 * the rest are not. So a batch first records its UID range durably in an
 * intent file beside the mailbox's append lock, CONFIGDIR/lock/UUID.batch
 * ("batch UID0 N"), places and commits, then removes the intent. Whoever
 * next holds the append lock and still finds an intent knows its writer died
 * (the writer holds the lock from the intent to its removal): files of the
 * range at or above UIDNEXT were never committed and are removed, not
 * adopted. The batch's client got no OK and sends it again.
 */
#include "message/message_impl.h"
#include "core/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *intent_path(ls_store *st, const ls_mbref *ref)
{
    char *p = ls__strprintf("%s/%s.batch", st->lockdir, ref->uuidstr);
    if (!p)
        ls__err(LS_ENOMEM, "out of memory");
    return p;
}

int ls__batch_intent_begin(ls_store *st, const ls_mbref *ref, uint32_t uid0, size_t n)
{
    char *path = intent_path(st, ref);
    if (!path)
        return LS_ENOMEM;
    char buf[64];
    int len = snprintf(buf, sizeof buf, "batch %u %zu\n", uid0, n);
    int rc = ls__write_file_atomic(path, buf, (size_t)len);
    free(path);
    return rc;
}

void ls__batch_intent_end(ls_store *st, const ls_mbref *ref)
{
    char *path = intent_path(st, ref);
    if (path)
        unlink(path); /* a stale intent below UIDNEXT is harmless */
    free(path);
}

int ls__batch_intent_resolve(ls_store *st, const ls_mbref *ref, uint32_t uidnext, int dry_run, uint32_t *discarded)
{
    if (discarded)
        *discarded = 0;
    char *path = intent_path(st, ref);
    if (!path)
        return LS_ENOMEM;
    char *text;
    size_t len;
    int rc = ls__read_file(path, &text, &len);
    if (rc == LS_ENOTFOUND) {
        ls_error_clear();
        free(path);
        return LS_OK;
    }
    if (rc) {
        free(path);
        return rc;
    }
    unsigned long uid0 = 0, n = 0;
    char extra;
    /* written atomically: anything else is not ours to act on */
    int ok = sscanf(text, "batch %lu %lu%c", &uid0, &n, &extra) == 3 && extra == '\n' && uid0 > 0 &&
             n <= UINT32_MAX && uid0 + n - 1 <= UINT32_MAX;
    free(text);
    uint32_t gone = 0;
    if (ok && uidnext < uid0 + n) {
        for (unsigned long u = uidnext > uid0 ? uidnext : uid0; u < uid0 + n && !rc; u++) {
            ls_file_info fi;
            if (st->layout->ops->stat(st->layout, ref, (uint32_t)u, &fi) != LS_OK || fi.expunged) {
                ls_error_clear();
                continue;
            }
            gone++;
            if (!dry_run)
                rc = st->layout->ops->unplace(st->layout, ref, (uint32_t)u);
        }
        /* the removals are durable before the intent goes */
        if (!rc && gone && !dry_run)
            rc = st->layout->ops->sync_mailbox(st->layout, ref);
    }
    if (!rc && !dry_run) {
        if (unlink(path) != 0 && errno != ENOENT)
            rc = ls__err_errno(errno, "unlink", path);
        else
            ls__fsync_parent(path);
    }
    free(path);
    if (discarded)
        *discarded = gone;
    return rc;
}

/* Shared state of the repair tools. */
#ifndef LS_REPAIR_IMPL_H
#define LS_REPAIR_IMPL_H

#include "store_impl.h"
#include "libstore/repair.h"

typedef struct ls_backup ls_backup;

typedef struct ls_rctx {
    ls_store *st;
    unsigned flags;
    ls_repair_report_cb cb;
    void *arg;
    uint64_t changes;
    ls_backup *backup;          /* -B: a metadata backup, opened read-only */
    char **bk_names;            /* scratch for from_backup */
    size_t bk_nnames;
    /* lines said inside a write transaction wait here until it commits
     * (a retried transaction must not report twice) */
    char **held;
    size_t nheld, capheld;
    int holding;
    /* damage found but left as it is (an unreadable file): reported as
     * "error: " lines, the run goes on, and it fails at its end */
    uint64_t errors;
} ls_rctx;

/* Report one change (or hold it while `holding`). */
void ls__say(ls_rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ls__say_flush(ls_rctx *c, int emit);
/* Report damage the run leaves as it is, as a line "error: ..." (never
 * held: said outside write transactions), and count it. */
void ls__say_error(ls_rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The result of a run that ended with rc: LS_EIO naming the number of
 * error lines if rc is LS_OK but some were said. */
int ls__rctx_result(ls_rctx *c, int rc);

/* Open the file of uid as a FETCH would (never through a symlink, only a
 * regular file) and close it again: LS_OK, or why a FETCH would fail
 * (EACCES...: LS_EIO with the message). */
int ls__probe_file(ls_store *st, const ls_mbref *ref, uint32_t uid);

/* quota -f of exactly one root (reporting through c). */
int ls__quota_fix_root(ls_rctx *c, const char *root);
/* The same inside a caller's write transaction (reports go through c). */
int ls__quota_fix_in(ls_txn *t, ls_rctx *c, const char *prefix, int exact);

/* Reconstruct one mailbox; fresh = its records are known to be gone (-m). */
int ls__reconstruct_one(ls_rctx *c, const char *name, int fresh);

/* -B: open a `mailstore backup` directory read-only; look up a record by
 * mailbox unique id and UID whose GUID matches; keyword names of its bits. */
int ls__backup_open(const char *dir, ls_backup **out);
void ls__backup_close(ls_backup *b);
int ls__backup_record(ls_backup *b, const uint8_t uuid[LS_UUID_LEN], uint32_t uid, const uint8_t guid[LS_GUID_LEN],
                     ls_irec *out, char ***kwnames, size_t *nkw);
/* Copy the backup's private seen rows of the mailbox, and every user's
 * subscriptions (existing rows are kept). */
int ls__backup_restore_user_state(ls_backup *b, ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_rctx *c,
                                 const char *name);
int ls__backup_restore_subs(ls_backup *b, ls_txn *t, ls_rctx *c);
/* What the backup knew of mailbox uuid, in the shape of a parsed
 * store.header (struct ls_hdrinfo, repair/header.h; free with ls__hdr_free):
 * name, partition, ACL, UIDVALIDITY, UIDNEXT, the HIGHESTMODSEQ mark,
 * annotations and quota limits. LS_ENOTFOUND if it did not know it. */
struct ls_hdrinfo;
int ls__backup_mailbox(ls_backup *b, const uint8_t uuid[LS_UUID_LEN], struct ls_hdrinfo *out);

#endif

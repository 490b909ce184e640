/*
 * The storage-layout interface: where and how message bytes live.
 *
 * The engine (libstore/message/) owns all metadata in LMDB; a layout owns
 * the message bytes and the per-mailbox header backup. A new layout is one
 * new file that fills an ls_layout_ops table and registers it in layout.c,
 * as Dovecot's lib-storage does with its mail_storage vfuncs.
 *
 * Contract every layout keeps (docs/contract.md §2.1, "one commit point"):
 *  - stage() leaves either nothing or a complete temporary object;
 *  - place() gives staged bytes their final name (uid) in a mailbox, and is
 *    durable after sync_mailbox() or sync_partition();
 *  - nothing a layout does before the LMDB commit is visible as a live
 *    message unless the commit happens (or until adoption, see docs/contract.md §2.3);
 *  - removals (remove_expunged, mailbox_destroy) run only after the commit
 *    that made the object unreachable, and are idempotent (rolled forward).
 */
#ifndef LS_LAYOUT_LAYOUT_H
#define LS_LAYOUT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "model/record.h"

typedef struct ls_layout ls_layout;

/* A mailbox as a layout sees it. */
typedef struct ls_mbref {
    uint8_t uuid[LS_UUID_LEN];
    char uuidstr[37];
    const char *partition;   /* partition name */
} ls_mbref;

/* Message bytes read from a layout. */
typedef struct ls_blob {
    const char *data;
    size_t len;
    void *priv;
} ls_blob;

/* What a stored object is. Anything but a regular file under a message's
 * name is damage (a symlink could serve another file's bytes): it is never
 * read, followed or adopted; check reports it and reconstruct sets it aside. */
enum ls__file_kind { LS_FILE_REGULAR = 0, LS_FILE_SYMLINK, LS_FILE_DIRECTORY, LS_FILE_OTHER };

/* What a layout knows of one stored object. */
typedef struct ls_file_info {
    uint32_t uid;
    int expunged;            /* the object of an expunged message awaiting cleanup */
    int kind;                /* enum ls__file_kind (size is 0 unless LS_FILE_REGULAR) */
    uint64_t size;
    int64_t mtime;           /* internal date */
    uint64_t ino, nlink;     /* for single-instance checks (0 if not applicable) */
} ls_file_info;

typedef struct ls_staged ls_staged;

typedef struct ls_layout_ops {
    const char *name;
    int (*open)(ls_layout *ly);
    void (*close)(ls_layout *ly);

    int (*mailbox_init)(ls_layout *ly, const ls_mbref *mb);
    int (*mailbox_path)(ls_layout *ly, const ls_mbref *mb, char **out);
    int (*mailbox_destroy)(ls_layout *ly, const ls_mbref *mb);
    int (*header_write)(ls_layout *ly, const ls_mbref *mb, const void *data, size_t len);
    int (*header_read)(ls_layout *ly, const ls_mbref *mb, char **data, size_t *len);

    /* Write bytes to a temporary object on `partition` with mtime = internal
     * date; with `sync`, make the bytes durable now (else the caller will
     * sync_partition before committing). */
    int (*stage)(ls_layout *ly, const char *partition, const void *data, size_t len,
                 int64_t mtime, int sync, ls_staged **out);
    /* Give the staged bytes the final name `uid` in mb (may be called for
     * several mailboxes on the staged object's partition: single instance). */
    int (*place)(ls_layout *ly, ls_staged *st, const ls_mbref *mb, uint32_t uid);
    /* Drop the temporary object (placed names stay). */
    void (*unstage)(ls_layout *ly, ls_staged *st);
    /* Make dst/dstuid share the bytes of src/srcuid (hard link, or a copy
     * when links are impossible). LS_ENOTFOUND if the source is gone. */
    int (*share)(ls_layout *ly, const ls_mbref *src, uint32_t srcuid, const ls_mbref *dst, uint32_t dstuid);
    /* Remove a final name placed for a transaction that did not commit. */
    int (*unplace)(ls_layout *ly, const ls_mbref *mb, uint32_t uid);
    int (*sync_mailbox)(ls_layout *ly, const ls_mbref *mb);
    int (*sync_partition)(ls_layout *ly, const char *partition);

    /* The bytes of a live object (or, if there is none, an expunged one).
     * Never follows a symlink; anything but a regular file is LS_EIO. */
    int (*read)(ls_layout *ly, const ls_mbref *mb, uint32_t uid, ls_blob *out);
    void (*blob_free)(ls_layout *ly, ls_blob *b);
    int (*message_path)(ls_layout *ly, const ls_mbref *mb, uint32_t uid, char **out);
    /* What is under uid's name (not following a symlink: see kind). */
    int (*stat)(ls_layout *ly, const ls_mbref *mb, uint32_t uid, ls_file_info *out);

    /* Expunge: before the commit, the object is renamed so that no rebuild
     * from files can take it for live (reads still find it); undo on abort. */
    int (*mark_expunged)(ls_layout *ly, const ls_mbref *mb, uint32_t uid);
    int (*unmark_expunged)(ls_layout *ly, const ls_mbref *mb, uint32_t uid);
    int (*remove_expunged)(ls_layout *ly, const ls_mbref *mb, uint32_t uid);

    /* Move a damaged object (not a regular file, or an empty one) of uid out
     * of the mailbox, where no scan, read or rebuild finds it, without
     * deleting it; *where (malloc'd) says where it went, for the report.
     * With dryrun, only *where is computed. Errors: LS_ENOTFOUND, LS_EIO. */
    int (*set_aside)(ls_layout *ly, const ls_mbref *mb, uint32_t uid, int expunged, int dryrun, char **where);

    /* Every object in a mailbox (live and expunged), any order; objects that
     * are not regular files too (kind), so that they can be reported. */
    int (*scan)(ls_layout *ly, const ls_mbref *mb, int (*cb)(const ls_file_info *fi, void *arg), void *arg);
    /* A reserve of room on each partition, so that cleanup can always
     * rewrite store.header files on a full partition: release frees it
     * (returns 1 if there was one), refill restores it (1 if in place). */
    int (*reserve_release)(ls_layout *ly, const char *partition);
    int (*reserve_refill)(ls_layout *ly, const char *partition);
    /* Remove temporary objects older than max_age seconds. */
    int (*cleanup_tmp)(ls_layout *ly, int64_t max_age, uint64_t *removed);
    /* LS_OK if `partition` is this store's now (its identity marker names
     * ly->store_id, read afresh), else LS_EUNAVAILABLE with a message that
     * names the partition, its path and the likely cause. */
    int (*partition_check)(ls_layout *ly, const char *partition);
} ls_layout_ops;

/* Every operation on a partition whose identity marker is missing or names
 * another store (an unmounted disk, the wrong disk) fails with
 * LS_EUNAVAILABLE, and nothing is ever created in it: not the partition's
 * own directories, not a mailbox directory, not a message file. A missing
 * directory found at run time makes the layout read the marker again, so a
 * disk unmounted after open is noticed at once. */
struct ls_layout {
    const ls_layout_ops *ops;
    const ls_config *cfg;
    uint8_t store_id[LS_UUID_LEN]; /* the identity partitions' markers must carry */
    void *priv;
};

/* Open the layout called `name` (NULL: "files", the default) for the store
 * whose identity is store_id. Partitions that are not the store's are noted,
 * not refused: the store opens and its other partitions work. */
int ls__layout_open(const char *name, const ls_config *cfg, const uint8_t store_id[LS_UUID_LEN], ls_layout **out);
void ls__layout_close(ls_layout *ly);

/* The registered layouts. */
extern const ls_layout_ops ls__layout_files;

#endif

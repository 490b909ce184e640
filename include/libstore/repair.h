/*
 * libstore/repair.h - the entry points of the repair tools (reconstruct,
 * quota -f, mbexamine, ctl_mboxlist), for administrators.
 *
 * Every repair reports each change it makes (or, with LS_REPAIR_DRYRUN,
 * would make) as one line through the report callback, e.g.
 *   "user.bovik: uid 4: file missing, message removed"
 * and nothing else there; a second run over a repaired store reports
 * nothing. They never delete a message file that holds a message: what
 * cannot be matched to a record is adopted.
 *
 * Damage a run finds but must leave as it is (a message file or mailbox
 * directory that cannot be read) is reported through the same callback as
 * a line beginning with "error: "; the run goes on with everything else
 * and then returns LS_EIO (the message counts the error lines). A tool
 * prints such lines on stderr.
 */
#ifndef LIBSTORE_REPAIR_H
#define LIBSTORE_REPAIR_H

#include "libstore/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One report line (no trailing newline). */
typedef void (*ls_repair_report_cb)(const char *line, void *arg);

enum ls_repair_flags {
    LS_REPAIR_DRYRUN = 1u << 0,   /**< -n: report only, change nothing */
    LS_REPAIR_RECURSE = 1u << 1,  /**< -r: also every child mailbox */
    LS_REPAIR_FILES = 1u << 2,    /**< -f: adopt mailbox directories the list lacks */
    LS_REPAIR_REHASH = 1u << 3,   /**< -G: re-hash every file, compare GUIDs */
    /** --expunge-missing-directory: a mailbox whose directory is missing as
     *  a whole (on a partition that is there) has its messages expunged and
     *  the directory recreated; without it that mailbox is refused */
    LS_REPAIR_MISSING_DIR = 1u << 4,
};

/**
 * Rebuild the records of `mailbox` (NULL: every mailbox) from its files
 * (docs/contract.md §3.4): adopt files with no record (UIDs as its §2.3 says),
 * drop records whose file is gone, give a file whose content changed (its
 * size; its GUID, with LS_REPAIR_REHASH or when its mtime is no longer the
 * internal date) a new UID and expunge the old one (or relink the old
 * bytes from another name), set aside (PARTITION/damaged/UNIQUEID/) what is
 * not a regular file or is empty, rebuild bad cache records,
 * keep flags, keywords, internal date and MODSEQ of intact records, raise
 * UIDNEXT and HIGHESTMODSEQ above what is found and the store.header marks,
 * recompute counters and quota usage. With backup_dir (a `mailstore backup`),
 * flags, keywords, internal dates and seen state of messages whose GUID
 * matches are taken from the backup.
 *
 * Refused, changing nothing in that mailbox: a mailbox on a partition that is
 * unavailable (LS_EUNAVAILABLE: its identity marker is missing or another
 * store's; the message names the partition and its path), and a mailbox with
 * messages whose directory is missing as a whole (LS_ENOTFOUND), unless
 * LS_REPAIR_MISSING_DIR.
 */
LS_EXTERN int ls_repair_reconstruct(ls_store *st, const char *mailbox, unsigned flags, const char *backup_dir,
                             ls_repair_report_cb cb, void *arg);

/**
 * reconstruct -m: rebuild the whole mailbox list and every mailbox from the
 * partitions' store.header and message files, even when the LMDB
 * environment is missing or unreadable. The old environment is moved aside
 * (renamed, never deleted) first; its new name is reported.
 */
LS_EXTERN int ls_repair_reconstruct_mboxlist(const char *config_path, unsigned flags, const char *backup_dir,
                                      ls_repair_report_cb cb, void *arg);

/**
 * quota -f: recompute the usage of every root whose name starts with prefix
 * (NULL: all) from the index records, fix what is wrong, remove roots whose
 * mailbox no longer exists; exact while other processes write.
 */
LS_EXTERN int ls_repair_quota_fix(ls_store *st, const char *prefix, unsigned flags, ls_repair_report_cb cb, void *arg);

/** mbexamine: the index header and every index and cache record, readably. */
LS_EXTERN int ls_repair_examine(ls_store *st, const char *mailbox, ls_repair_report_cb cb, void *arg);

/** ctl_mboxlist -d: one line per mailbox; -u: load such lines back (exact round trip). */
LS_EXTERN int ls_repair_mboxlist_dump(ls_store *st, ls_repair_report_cb cb, void *arg);
LS_EXTERN int ls_repair_mboxlist_load(ls_store *st, const char *text, size_t len, ls_repair_report_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif

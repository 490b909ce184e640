/*
 * libstore/store.h - open and close a store; its configuration; maintenance
 * (cleanup, backup, check). Sessions are in session.h.
 *
 * A store is one configuration file plus the directories it names (docs/contract.md §1.1):
 * an LMDB environment in `configdirectory` and message files in partitions.
 * Any number of processes may open the same store at once; each process
 * should open it once and share the ls_store between its threads (all
 * functions are thread-safe on distinct sessions).
 *
 * Every operation acts through an ls_session: a store plus an acting
 * identity. A session with identity NULL acts as an administrator (all
 * rights) and reads and writes the owner's seen state.
 */
#ifndef LIBSTORE_STORE_H
#define LIBSTORE_STORE_H

#include "libstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_store ls_store;
/** A store plus an acting identity (session.h). */
typedef struct ls_session ls_session;

/** Severity of a finding of ls_store_check (and of a line of ls_store_upgrade). */
enum ls_store_check_severity { LS_STORE_CHECK_NOTICE = 0, LS_STORE_CHECK_ERROR = 1 };
typedef void (*ls_store_check_cb)(enum ls_store_check_severity severity, const char *message, void *arg);

/** Flags for ls_store_open. */
enum ls_store_open_flags {
    LS_STORE_OPEN_DEFAULT = 0,        /**< open an existing store; never create anything */
    LS_STORE_OPEN_CREATE = 1u << 0,   /**< create the store if the configdirectory holds none (see below) */
    LS_STORE_OPEN_RDONLY = 1u << 1,   /**< read-only: every write fails with LS_EPERM */
};

/**
 * Open the store described by the configuration file config_path. With
 * config_path NULL: $LIBSTORE_CONFIG, then ./store.conf. Clears reader slots
 * left by dead processes.
 *
 * A store has an identity (a random UUID) kept in its LMDB environment and
 * in a marker file `libstore.id` in the configdirectory and at the root of
 * every partition (docs/format.md, "Identity markers"). Opening never
 * creates anything unless flags has LS_STORE_OPEN_CREATE, and even then only when
 * the configdirectory holds neither a marker nor an environment and no
 * partition holds a store's data: then the environment, the partition
 * directories and every marker are made (`mailstore init` does this).
 * A partition whose marker is missing (not mounted?) or names another store
 * does not stop the open: every operation that touches it fails with
 * LS_EUNAVAILABLE, and nothing is created in it.
 *
 * On success *out is the caller's; release it with ls_store_close().
 * Errors: LS_ECONFIG (missing or malformed configuration; the message names
 * file and line); LS_ENOTFOUND (no store there and no LS_STORE_OPEN_CREATE: the
 * message names `mailstore init`); LS_ECORRUPT (the environment is
 * unreadable, or missing although the configdirectory's marker says a store
 * lives there, or it belongs to another store: see `reconstruct -m`);
 * LS_ENOTSUP (a store made by a libstore before identity markers: run
 * `mailstore init --upgrade` once); LS_EEXIST (LS_STORE_OPEN_CREATE, but a
 * partition already holds a store's messages); LS_EIO, LS_ENOSPC, LS_ENOMEM.
 */
LS_EXTERN int ls_store_open(const char *config_path, unsigned flags, ls_store **out);

/** Flags for ls_store_upgrade. */
enum ls_upgrade_flags {
    LS_UPGRADE_FORCE = 1u << 0, /**< label a marker-less partition even when it does not look like this store's */
};

/**
 * `mailstore init --upgrade`: give an existing store its identity markers
 * (a store made by a libstore before markers existed), and label partitions
 * added to the configuration since. The store should not be in use.
 *
 * A partition without a marker is labelled only if it holds at least one of
 * the mailbox directories the environment lists on it, or if the
 * environment lists none there and it holds none (a new, empty partition).
 * Otherwise (an empty mount point where mailboxes should be; directories
 * this store does not know) it is refused unless LS_UPGRADE_FORCE; a marker
 * naming another store is always refused. Any refusal writes nothing at all.
 * cb (may be NULL) receives one LS_STORE_CHECK_NOTICE per marker written and one
 * LS_STORE_CHECK_ERROR per refused partition. Running it again changes nothing.
 *
 * Errors: LS_ECONFIG; LS_ENOTFOUND (no environment: nothing to upgrade);
 * LS_EUNAVAILABLE (a partition was refused); LS_ECORRUPT (the environment
 * belongs to another store than the configdirectory's marker names);
 * LS_EIO, LS_ENOSPC, LS_ENOMEM.
 */
LS_EXTERN int ls_store_upgrade(const char *config_path, unsigned flags, ls_store_check_cb cb, void *arg);

/** Close the store. All sessions and mailboxes opened on it must be freed first. */
LS_EXTERN void ls_store_close(ls_store *st);

/** The configuration file the store was opened from. */
LS_EXTERN const char *ls_store_config_path(const ls_store *st);
/** The hierarchy separator ('.' or '/'). */
LS_EXTERN char ls_store_separator(const ls_store *st);
/** The configured `configdirectory`. */
LS_EXTERN const char *ls_store_configdirectory(const ls_store *st);
/** The value of a configuration key (normalized: "yes"/"no", numbers in
 *  decimal, lists space-separated), or NULL when it is not set. The string
 *  is valid until the next call on this thread. */
LS_EXTERN const char *ls_store_config_get(const ls_store *st, const char *key);
/** 1 if id is one of the configured `admins`. */
LS_EXTERN int ls_store_is_admin(const ls_store *st, const char *id);

/**
 * Remove what expunge and delete left for later: files of expunged messages
 * that no reader can still see, directories of deleted mailboxes, stale
 * temporary files, and tombstones older than `tombstone_age` seconds
 * (< 0: keep tombstones). Safe while the store is in use.
 * *removed (may be NULL) receives the number of files removed.
 * Nothing is removed from a partition that is unavailable (its identity
 * marker missing: not mounted?); its removals stay queued, the others are
 * done, and the result is LS_EUNAVAILABLE naming the partition.
 */
LS_EXTERN int ls_store_cleanup(ls_store *st, int64_t tombstone_age, uint64_t *removed);

/**
 * Write a consistent copy of the metadata (the LMDB environment, and the
 * store's identity marker libstore.id) into the directory dir (created if
 * missing; must not already hold a copy) while the store is in use: the
 * copy is a configdirectory a store.conf can name as it is. Errors: LS_EEXIST, LS_EIO, LS_ENOSPC.
 */
LS_EXTERN int ls_store_backup(ls_store *st, const char *dir);

/**
 * Verify the whole store without changing anything: every record against its
 * file (existence, size), index CRCs, cache records, counters, UIDNEXT,
 * single-instance links, quota usage. Calls cb once per finding; adoptable
 * crash leftovers are LS_STORE_CHECK_NOTICE. *nerrors receives the number of
 * LS_STORE_CHECK_ERROR findings. An unavailable partition (identity marker missing
 * or another store's) is one error, and its mailboxes are not checked; a
 * mailbox directory missing as a whole is an error.
 */
LS_EXTERN int ls_store_check(ls_store *st, ls_store_check_cb cb, void *arg, uint64_t *nerrors);

/**
 * For tools and servers that may be started as root: refuse to work on a
 * store that another user owns. Call it before ls_store_open (which may
 * create files). Returns LS_OK if the process's effective uid is not 0, or
 * if the configuration directory and every partition directory of the
 * store described by config_path (NULL: as ls_store_open) belong to root or
 * do not exist yet. Returns LS_EPERM, with a message naming the owner and
 * the command to use instead, if one belongs to another user: every file
 * created as root would then be unreadable or unreplaceable for the
 * service. Reads the configuration and stats directories; creates nothing.
 * Errors: LS_EPERM, LS_ECONFIG (configuration missing or malformed),
 * LS_ENOMEM.
 */
LS_EXTERN int ls_store_check_owner(const char *config_path);

/* Waiting for changes from an event loop (IDLE; mailbox.h has the rest). */
/**
 * One descriptor for the whole store handle, readable (poll/epoll POLLIN)
 * when a mailbox watched with ls_mailbox_watch() may have changed. Owned by the store handle: do not
 * read or close it; it stays valid until ls_store_close. After it polls
 * readable, call ls_mailbox_changed() (mailbox.h) on each watched mailbox (that resets
 * it). Without inotify it becomes readable every 200 ms. Errors: LS_EIO.
 */
LS_EXTERN int ls_store_watch_fd(ls_store *st, int *fd);

#ifdef __cplusplus
}
#endif
#endif

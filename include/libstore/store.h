/*
 * libstore/store.h - open and close a store; sessions (acting identities).
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
typedef struct ls_session ls_session;

/** Flags for ls_store_open. */
enum ls_open_flags {
    LS_OPEN_DEFAULT = 0,
    LS_OPEN_NOCREATE = 1u << 0, /**< fail with LS_ENOTFOUND if the environment does not exist yet */
    LS_OPEN_RDONLY = 1u << 1,   /**< read-only: every write fails with LS_EPERM */
};

/**
 * Open the store described by the configuration file config_path. With
 * config_path NULL: $LIBSTORE_CONFIG, then ./store.conf. Creates the LMDB
 * environment and the partition directories if they do not exist (unless
 * LS_OPEN_NOCREATE). Clears reader slots left by dead processes.
 *
 * On success *out is the caller's; release it with ls_store_close().
 * Errors: LS_ECONFIG (missing or malformed configuration; the message names
 * file and line), LS_EIO, LS_ENOSPC, LS_ECORRUPT (the environment is
 * unreadable: see `reconstruct -m`), LS_ENOTFOUND, LS_ENOMEM.
 */
LS_EXTERN int ls_store_open(const char *config_path, unsigned flags, ls_store **out);

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
 * Start a session acting as identity (a user name; NULL = administrator).
 * Errors: LS_EBADNAME for an invalid identity, LS_ENOMEM.
 * The session must be freed with ls_session_free() before the store closes.
 */
LS_EXTERN int ls_session_new(ls_store *st, const char *identity, ls_session **out);
LS_EXTERN void ls_session_free(ls_session *s);
/** The session's identity, or NULL for the administrator. */
LS_EXTERN const char *ls_session_identity(const ls_session *s);
LS_EXTERN ls_store *ls_session_store(const ls_session *s);

/**
 * Remove what expunge and delete left for later: files of expunged messages
 * that no reader can still see, directories of deleted mailboxes, stale
 * temporary files, and tombstones older than `tombstone_age` seconds
 * (< 0: keep tombstones). Safe while the store is in use.
 * *removed (may be NULL) receives the number of files removed.
 */
LS_EXTERN int ls_store_cleanup(ls_store *st, int64_t tombstone_age, uint64_t *removed);

/**
 * Write a consistent copy of the metadata (the LMDB environment) into the
 * directory dir (created if missing; must not already hold a copy) while
 * the store is in use. Errors: LS_EEXIST, LS_EIO, LS_ENOSPC.
 */
LS_EXTERN int ls_store_backup(ls_store *st, const char *dir);

/** Severity of a finding of ls_store_check. */
enum ls_check_severity { LS_CHECK_NOTICE = 0, LS_CHECK_ERROR = 1 };
typedef void (*ls_check_cb)(int severity, const char *message, void *arg);
/**
 * Verify the whole store without changing anything: every record against its
 * file (existence, size), index CRCs, cache records, counters, UIDNEXT,
 * single-instance links, quota usage. Calls cb once per finding; adoptable
 * crash leftovers are LS_CHECK_NOTICE. *nerrors receives the number of
 * LS_CHECK_ERROR findings.
 */
LS_EXTERN int ls_store_check(ls_store *st, ls_check_cb cb, void *arg, uint64_t *nerrors);

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

#ifdef __cplusplus
}
#endif
#endif

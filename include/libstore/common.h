/*
 * libstore/common.h - error codes, the last-error message, version.
 *
 * Every libstore function that can fail returns an int: LS_OK (0) on success or
 * one of the negative LS_E* codes below. When a function fails it also records
 * a human-readable message, retrievable with ls_error_last() from the same
 * thread until the next failing call on that thread. Codes are stable across
 * releases; messages are not (do not parse them).
 */
#ifndef LIBSTORE_COMMON_H
#define LIBSTORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LS_BUILDING_LIBRARY)
#define LS_EXTERN __attribute__((visibility("default")))
#else
#define LS_EXTERN
#endif

#define LS_VERSION_MAJOR 0
#define LS_VERSION_MINOR 1
#define LS_VERSION_PATCH 0

/** Error codes. Zero is success; all errors are negative. */
enum ls_error_code {
    LS_OK = 0,
    LS_EINVAL = -1,       /**< a bad argument (malformed UID set, flag, date, ...) */
    LS_ENOMEM = -2,       /**< out of memory */
    LS_EIO = -3,          /**< an I/O error on a message file or directory */
    LS_ENOSPC = -4,       /**< a partition or the metadata disk is full */
    LS_ECONFIG = -5,      /**< the configuration file is missing or malformed */
    LS_EDB = -6,          /**< an error from the LMDB environment */
    LS_ECORRUPT = -7,     /**< damaged data read from disk (run reconstruct) */
    LS_ENOTFOUND = -8,    /**< no such mailbox, message or entry */
    LS_EEXIST = -9,       /**< the mailbox (or entry) already exists */
    LS_EBADNAME = -10,    /**< an invalid mailbox name */
    LS_EPERM = -11,       /**< the acting identity lacks the right */
    LS_EOVERQUOTA = -12,  /**< the change would exceed a quota limit */
    LS_ETOOBIG = -13,     /**< the message exceeds maxmessagesize */
    LS_ELIMIT = -14,      /**< a fixed limit was reached (e.g. 128 keywords) */
    LS_EMODIFIED = -15,   /**< UNCHANGEDSINCE failed for at least one message */
    LS_EBUSY = -16,       /**< a lock could not be taken */
    LS_ENOTSUP = -17,     /**< the operation is not supported (by this layout) */
    LS_ENOSELECT = -18,   /**< the name exists only as \Noselect */
    LS_EUNAVAILABLE = -19, /**< storage unavailable: a partition is not mounted or is not this store's
                                (a server answers LMTP 4xx / IMAP NO [UNAVAILABLE]; retry later) */
    LS_EGONE = -20,       /**< the open mailbox was deleted (by any process) */
};

/** A date with its zone: seconds since the epoch (UTC) and the zone offset
 *  in minutes east of UTC that the client gave (IMAP internal date). */
typedef struct ls_date {
    int64_t t;
    int16_t tz;
} ls_date;

/** System flags, as bits of an unsigned. */
enum ls_flag {
    LS_FLAG_SEEN = 1u << 0,
    LS_FLAG_ANSWERED = 1u << 1,
    LS_FLAG_FLAGGED = 1u << 2,
    LS_FLAG_DELETED = 1u << 3,
    LS_FLAG_DRAFT = 1u << 4,
};
#define LS_FLAG_ALL 0x1fu

/** A static English description of an error code (never NULL). */
LS_EXTERN const char *ls_error_string(int code);

/**
 * The message recorded by the last failing libstore call on this thread, or
 * "" if none. The string is owned by libstore and valid until the next
 * libstore call on this thread.
 */
LS_EXTERN const char *ls_error_last(void);

/** The code that went with ls_error_last(). */
LS_EXTERN int ls_error_last_code(void);

/** Forget the last error on this thread. */
LS_EXTERN void ls_error_clear(void);

/** The library version as "MAJOR.MINOR.PATCH". */
LS_EXTERN const char *ls_version(void);

/** Free memory that a libstore function returned to the caller. */
LS_EXTERN void ls_free(void *p);

#ifdef __cplusplus
}
#endif
#endif

/*
 * libstore/common.h - what every header shares: error codes and the last
 * error, the version, ls_free, and the value types ls_date and enum ls_flag
 * (their functions are in date.h and flag.h).
 *
 * Every libstore function that can fail returns an int: LS_OK (0) on success or
 * one of the negative LS_E* codes below. Codes are stable across releases;
 * messages are not (do not parse them).
 *
 * The last error, one lifetime for all: a call that fails records its code and
 * a message in storage private to the calling thread, replacing what an
 * earlier failure recorded. ls_error_last() returns that message; the string
 * is owned by libstore and valid until the next libstore call on the same
 * thread (ls_error_last and ls_error_last_code excepted): copy it to keep it.
 * A successful call leaves the record alone, so read it only right after a
 * call returned an error. Other threads never see or change it.
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
/* "MAJOR.MINOR.PATCH", derived from the three numbers above (never a second
 * literal that could drift from them); ls_version() returns it. */
#define LS_VERSION_STRINGIFY_(x) #x
#define LS_VERSION_STRINGIFY(x) LS_VERSION_STRINGIFY_(x)
#define LS_VERSION_STRING                                                                  \
    LS_VERSION_STRINGIFY(LS_VERSION_MAJOR) "." LS_VERSION_STRINGIFY(LS_VERSION_MINOR) "." \
        LS_VERSION_STRINGIFY(LS_VERSION_PATCH)

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
 * "" if none (see "The last error" at the top of this file: valid until the
 * next libstore call on this thread; never NULL, never freed by the caller).
 */
LS_EXTERN const char *ls_error_last(void);

/** The code that went with ls_error_last() (LS_OK if none). */
LS_EXTERN int ls_error_last_code(void);

/** Forget the last error on this thread: ls_error_last() is "" again. */
LS_EXTERN void ls_error_clear(void);

/** The version of the library linked in, LS_VERSION_STRING as it was built
 *  (compare with the LS_VERSION_* macros you compiled against). Static. */
LS_EXTERN const char *ls_version(void);

/** Free memory that a libstore function returned to the caller. */
LS_EXTERN void ls_free(void *p);

#ifdef __cplusplus
}
#endif
#endif

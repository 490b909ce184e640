/* Internal error helpers: record a code and a message for ls_error_last(). */
#ifndef LS_CORE_ERROR_H
#define LS_CORE_ERROR_H

#include "libstore/common.h"

/* Record code and a printf-style message on this thread; returns code, so
 * that `return ls__err(LS_EINVAL, "bad uid set '%s'", s);` reads naturally. */
int ls__err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Map an errno value from a failed file operation to a libstore code and record
 * "what: path: strerror(errno)". ENOSPC/EDQUOT map to LS_ENOSPC, ENOENT to
 * LS_ENOTFOUND, ENOMEM to LS_ENOMEM, everything else to LS_EIO. */
int ls__err_errno(int errnum, const char *what, const char *path);

/* Map an LMDB return code (MDB_NOTFOUND -> LS_ENOTFOUND, MDB_MAP_FULL ->
 * LS_ENOSPC, MDB_CORRUPTED/MDB_INVALID/... -> LS_ECORRUPT, else LS_EDB). */
int ls__err_mdb(int rc, const char *what);

#endif

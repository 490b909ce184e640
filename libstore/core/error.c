/* Error codes and the thread-local last-error message. */
#include "core/error.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread char last_msg[1024];
static __thread int last_code;

const char *ls_error_string(int code)
{
    switch (code) {
    case LS_OK: return "success";
    case LS_EINVAL: return "invalid argument";
    case LS_ENOMEM: return "out of memory";
    case LS_EIO: return "I/O error";
    case LS_ENOSPC: return "no space left on device";
    case LS_ECONFIG: return "configuration error";
    case LS_EDB: return "database error";
    case LS_ECORRUPT: return "data corrupted";
    case LS_ENOTFOUND: return "not found";
    case LS_EEXIST: return "already exists";
    case LS_EBADNAME: return "invalid mailbox name";
    case LS_EPERM: return "permission denied";
    case LS_EOVERQUOTA: return "over quota";
    case LS_ETOOBIG: return "message too big";
    case LS_ELIMIT: return "limit reached";
    case LS_EMODIFIED: return "modified since the given MODSEQ";
    case LS_EBUSY: return "resource busy";
    case LS_ENOTSUP: return "operation not supported";
    case LS_ENOSELECT: return "mailbox is not selectable";
    case LS_EGONE: return "mailbox was deleted";
    case LS_EUNAVAILABLE: return "storage unavailable: a partition is not mounted or is not this store's";
    default: return "unknown error";
    }
}

int ls__err(int code, const char *fmt, ...)
{
    /* format into a copy: callers may pass ls_error_last() as an argument */
    char buf[sizeof last_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(last_msg, buf, sizeof last_msg);
    last_code = code;
    return code;
}

int ls__err_errno(int errnum, const char *what, const char *path)
{
    int code;
    switch (errnum) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        code = LS_ENOSPC;
        break;
    case ENOENT: code = LS_ENOTFOUND; break;
    case ENOMEM: code = LS_ENOMEM; break;
    default: code = LS_EIO; break;
    }
    return ls__err(code, "%s: %s: %s", what, path ? path : "", strerror(errnum));
}

int ls__err_mdb(int rc, const char *what)
{
    int code;
    switch (rc) {
    case MDB_NOTFOUND: code = LS_ENOTFOUND; break;
    case MDB_MAP_FULL: case ENOSPC: code = LS_ENOSPC; break;
    case ENOMEM: code = LS_ENOMEM; break;
    case MDB_CORRUPTED: case MDB_INVALID: case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH: case MDB_BAD_DBI: case MDB_INCOMPATIBLE:
        code = LS_ECORRUPT;
        break;
    default: code = LS_EDB; break;
    }
    return ls__err(code, "%s: %s", what, mdb_strerror(rc));
}

const char *ls_error_last(void) { return last_msg; }
int ls_error_last_code(void) { return last_code; }
void ls_error_clear(void) { last_msg[0] = 0; last_code = 0; }
const char *ls_version(void) { return LS_VERSION_STRING; }
void ls_free(void *p) { free(p); }

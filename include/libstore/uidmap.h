/*
 * libstore/uidmap.h - a COPYUID mapping, as ls_message_copy and
 * ls_message_move fill it. Plain data.
 */
#ifndef LIBSTORE_UIDMAP_H
#define LIBSTORE_UIDMAP_H

#include "libstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A COPYUID mapping: src[i] became dst[i] in the target (UIDVALIDITY uidvalidity). */
typedef struct ls_uidmap {
    uint32_t uidvalidity;
    uint32_t *src, *dst;
    size_t n;
} ls_uidmap;
/** Release the arrays of a map the library filled and zero it; the struct
 *  itself stays the caller's (dispose, not free). NULL is fine. */
LS_EXTERN void ls_uidmap_dispose(ls_uidmap *m);

#ifdef __cplusplus
}
#endif
#endif

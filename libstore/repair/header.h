/* Reading store.header back (the writer is ls__header_write, model/mbox.c). */
#ifndef LS_REPAIR_HEADER_H
#define LS_REPAIR_HEADER_H

#include "store_impl.h"

typedef struct ls_hdr_annot { char *entry, *user, *value; } ls_hdr_annot;

typedef struct ls_hdrinfo {
    char *name, *uniqueid, *partition, *acl;
    uint32_t uidvalidity, uidnext;
    uint64_t highestmodseq;
    int has_quota;
    int64_t quota[LS_QUOTA_NRESOURCES];
    ls_hdr_annot *annots;
    size_t nannots;
    int sealed;              /* its "end: CRC" line matches: nothing cut off or edited */
    int damaged;             /* cut short (a last line without its newline, or the
                              * seal does not match): what it holds is a part */
} ls_hdrinfo;

/* Parse; LS_ECORRUPT (with the line) when it is not a store.header. A
 * header cut short yields the complete lines before the cut, with
 * `damaged` set; one without an "end:" line (written before headers were
 * sealed, or cut at a line end) has neither `sealed` nor `damaged`. */
int ls__hdr_parse(const char *text, size_t len, ls_hdrinfo *out);
void ls__hdr_free(ls_hdrinfo *h);

#endif

/* Sequence sets -> UID sets, against the UID list of a session's view. */
#include "message/message_impl.h"

#include <stdlib.h>

int ls_set_seq_to_uid(const ls_set *seqs, const uint32_t *uids, size_t n, ls_set *out)
{
    out->r = NULL;
    out->n = 0;
    if (n == 0 || seqs->n == 0)
        return LS_OK;
    uidlist l = { 0 };
    for (size_t i = 0; i < seqs->n; i++) {
        uint64_t lo = seqs->r[i].lo, hi = seqs->r[i].hi;
        if (hi == UINT32_MAX || hi > n)
            hi = n;          /* '*' is the last message */
        if (lo == UINT32_MAX || lo > n)
            lo = n;
        for (uint64_t s = lo; s <= hi; s++) {
            int rc = ls__uidlist_add(&l, uids[s - 1]);
            if (rc) {
                free(l.v);
                return rc;
            }
        }
    }
    /* sets are sorted and merged, so the UIDs ascend; merge duplicates */
    size_t w = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!w || l.v[w - 1] != l.v[i])
            l.v[w++] = l.v[i];
    int rc = ls__set_from_uids(l.v, w, out);
    free(l.v);
    return rc;
}

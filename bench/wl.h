/* Helpers shared by the workload files (bench/wl_*.c). */
#ifndef MAILBENCH_WL_H
#define MAILBENCH_WL_H

#include "mailbench.h"

#define OURS_FIRST(i) ((i) % 2 == 0)
/* --only ours|baseline (for profiling one side with strace or perf) */
#define SKIP(c, ours) ((c)->only && (c)->only != ((ours) ? 1 : 2))

static inline void note_run(const bench_ctx *c, result *r, int i)
{
    progress("%s: run %d/%d: ours %.1f, baseline %.1f %s/s", r->workload, i + 1, c->runs, r->ours[i], r->base[i],
             r->unit);
}


#endif

/*
 * One change watcher per store handle (IDLE).
 *
 * Writers touch CONFIGDIR/lock/UUID after every commit that changes a
 * mailbox (ls__mbox_notify). A store handle keeps ONE inotify instance for
 * all its waiters: a watch per watched mailbox, reference-counted, and a
 * generation counter per mailbox that goes up whenever its signal file may
 * have changed. Blocking waiters take turns reading the inotify descriptor:
 * one of them polls it, the others sleep on a condition variable until the
 * reader has bumped the generations. The kernel allows a user only 128
 * inotify instances (across processes), so one per handle, not one per
 * wait, is what lets thousands of threads wait.
 *
 * When no inotify instance can be had (EMFILE: the user's limit is used
 * up, e.g. by more than 128 server processes; or ENOSYS), the watcher falls
 * back to polling: waiters wake every LS_WATCH_POLL_MS and the caller
 * re-reads the mailbox's state. Nothing fails; changes are seen a little
 * later. The fallback is per store handle and final for it.
 *
 * For event-loop servers the watcher also offers one pollable descriptor
 * (ls__watch_fd): an epoll descriptor holding the inotify descriptor and an
 * eventfd that blocking waiters write when they consumed events, so that
 * the event loop never misses a change; in polling mode it holds a periodic
 * timer instead.
 */
#ifndef LS_CORE_WATCH_H
#define LS_CORE_WATCH_H

#include <stdint.h>

/* How often a waiter re-reads the mailbox state when inotify is unavailable. */
#define LS_WATCH_POLL_MS 200

typedef struct ls_watch ls_watch;

/* A watcher for signal files in `dir` (copied). No descriptor is opened
 * until the first ls__watch_add. Errors: LS_ENOMEM. */
int ls__watch_new(const char *dir, ls_watch **out);
/* Close its descriptors and free it; every watch must have been removed
 * and no thread may be waiting. NULL is ignored. */
void ls__watch_free(ls_watch *w);

/* Watch the signal file of mailbox `uuidstr` (created if missing), or take
 * one more reference to the existing watch. *gen receives its current
 * generation. The mailbox is polled instead when inotify is unavailable or
 * the file cannot be created or watched. Errors: LS_ENOMEM. */
int ls__watch_add(ls_watch *w, const char *uuidstr, uint64_t *gen);
/* The current generation of a watched mailbox (0 if not watched). */
uint64_t ls__watch_gen(ls_watch *w, const char *uuidstr);
/* Drop one reference taken by ls__watch_add. */
void ls__watch_remove(ls_watch *w, const char *uuidstr);

/* Block until the generation of `uuidstr` differs from `gen`, timeout_ms
 * passes (-1: no limit), or, when polling, LS_WATCH_POLL_MS passes. The
 * caller re-reads the mailbox's state afterwards either way; *gen receives
 * the generation to wait on next. The mailbox must be watched. */
void ls__watch_sleep(ls_watch *w, const char *uuidstr, uint64_t *gen, int timeout_ms);

/* Read whatever the inotify descriptor holds (non-blocking) and bump the
 * generations it names; reset the event-loop descriptor's readiness. */
void ls__watch_drain(ls_watch *w);

/* The event-loop descriptor (see above), created on first use; owned by
 * the watcher. Errors: LS_EIO. */
int ls__watch_fd(ls_watch *w, int *fd);

/* 1 when the watcher polls instead of using inotify. */
int ls__watch_polling(ls_watch *w);

#endif

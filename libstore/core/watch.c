/* One change watcher per store handle: see watch.h. */
#include "core/watch.h"
#include "core/error.h"
#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct wentry {
    struct wentry *next;
    char uuid[37];
    int wd;              /* inotify watch, -1: polled */
    unsigned refs;
    uint64_t gen;        /* goes up when the signal file may have changed */
} wentry;

enum { MODE_UNTRIED, MODE_INOTIFY, MODE_POLLING };

struct ls_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* CLOCK_MONOTONIC; broadcast when generations move */
    char *dir;
    int mode;
    int ifd;             /* the inotify instance */
    int kfd;             /* eventfd that wakes the waiter inside poll() */
    int reading;         /* a waiter is inside poll() on ifd */
    int epfd, efd, tfd;  /* event-loop descriptor; its eventfd; its timer */
    wentry *list;
};

int ls__watch_new(const char *dir, ls_watch **out)
{
    *out = NULL;
    ls_watch *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->ifd = w->kfd = w->epfd = w->efd = w->tfd = -1;
    *out = w;
    return LS_OK;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void ls__watch_free(ls_watch *w)
{
    if (!w)
        return;
    while (w->list) {
        wentry *e = w->list;
        w->list = e->next;
        free(e);
    }
    close_fd(&w->ifd);
    close_fd(&w->kfd);
    close_fd(&w->epfd);
    close_fd(&w->efd);
    close_fd(&w->tfd);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->dir);
    free(w);
}

/* Get the inotify instance once; without one (EMFILE: the user's 128
 * instances are taken), poll for the life of this handle. */
static void init_locked(ls_watch *w)
{
    if (w->mode != MODE_UNTRIED)
        return;
    w->mode = MODE_POLLING;
    if (getenv("LIBSTORE_WATCH_POLL")) /* test hook: force the fallback */
        return;
    w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (w->ifd < 0)
        return;
    w->kfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->kfd < 0) {
        close_fd(&w->ifd);
        return;
    }
    w->mode = MODE_INOTIFY;
}

static wentry *find_uuid(ls_watch *w, const char *uuid)
{
    for (wentry *e = w->list; e; e = e->next)
        if (!strcmp(e->uuid, uuid))
            return e;
    return NULL;
}

static void poke(int fd)
{
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is already non-zero, which is all we need */
    }
}

static void unpoke(int fd)
{
    uint64_t v;
    if (fd >= 0 && read(fd, &v, sizeof v) < 0) {
        /* EAGAIN: nothing pending */
    }
}

/* The event-loop timer runs while anything is polled. */
static void rearm_locked(ls_watch *w)
{
    if (w->tfd < 0)
        return;
    int polled = w->mode == MODE_POLLING;
    for (wentry *e = w->list; e && !polled; e = e->next)
        polled = e->wd < 0;
    long ns = LS_WATCH_POLL_MS * 1000000L;
    struct itimerspec its = { 0 };
    if (polled)
        its.it_interval = its.it_value = (struct timespec){ ns / 1000000000L, ns % 1000000000L };
    timerfd_settime(w->tfd, 0, &its, NULL);
}

/* Read every pending inotify event and bump the generations they name.
 * `waiter`: a blocking waiter consumed them, so tell the event loop. */
static void drain_locked(ls_watch *w, int waiter)
{
    if (w->mode != MODE_INOTIFY)
        return;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int bumped = 0, lost = 0;
    ssize_t n;
    while ((n = read(w->ifd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                /* events were lost: every mailbox may have changed */
                for (wentry *e = w->list; e; e = e->next)
                    e->gen++;
                bumped = 1;
                continue;
            }
            for (wentry *e = w->list; e; e = e->next) {
                if (e->wd != ev->wd)
                    continue;
                e->gen++;
                bumped = 1;
                if (ev->mask & IN_IGNORED) {
                    e->wd = -1; /* the file went away: poll it from now on */
                    lost = 1;
                }
                break;
            }
        }
    }
    if (!bumped)
        return;
    if (lost)
        rearm_locked(w);
    pthread_cond_broadcast(&w->cv);
    if (waiter)
        poke(w->efd);
    else if (w->reading)
        poke(w->kfd); /* the waiter in poll() would not see what we read */
}

int ls__watch_add(ls_watch *w, const char *uuidstr, uint64_t *gen)
{
    pthread_mutex_lock(&w->mu);
    init_locked(w);
    wentry *e = find_uuid(w, uuidstr);
    if (e) {
        e->refs++;
        *gen = e->gen;
        pthread_mutex_unlock(&w->mu);
        return LS_OK;
    }
    int rc = LS_OK;
    char *path = ls__strprintf("%s/%s", w->dir, uuidstr);
    e = calloc(1, sizeof *e);
    if (!path || !e) {
        rc = ls__err(LS_ENOMEM, "out of memory");
        goto out;
    }
    /* the signal file must exist to be watched (it is also the append lock);
     * where it cannot be made (a read-only configuration directory), the
     * mailbox is polled instead */
    int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 && errno == ENOENT && ls__mkdirs(w->dir) == LS_OK)
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0)
        close(fd);
    ls_error_clear();
    snprintf(e->uuid, sizeof e->uuid, "%s", uuidstr);
    e->refs = 1;
    e->wd = -1;
    if (w->mode == MODE_INOTIFY && fd >= 0)
        /* ENOSPC (max_user_watches) leaves this mailbox polled */
        e->wd = inotify_add_watch(w->ifd, path, IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF);
    e->next = w->list;
    w->list = e;
    *gen = 0;
    rearm_locked(w);
    e = NULL;
out:
    free(e);
    free(path);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t ls__watch_gen(ls_watch *w, const char *uuidstr)
{
    pthread_mutex_lock(&w->mu);
    wentry *e = find_uuid(w, uuidstr);
    uint64_t gen = e ? e->gen : 0;
    pthread_mutex_unlock(&w->mu);
    return gen;
}

void ls__watch_remove(ls_watch *w, const char *uuidstr)
{
    pthread_mutex_lock(&w->mu);
    for (wentry **pp = &w->list; *pp; pp = &(*pp)->next) {
        wentry *e = *pp;
        if (strcmp(e->uuid, uuidstr) != 0)
            continue;
        if (--e->refs == 0) {
            if (e->wd >= 0)
                inotify_rm_watch(w->ifd, e->wd);
            *pp = e->next;
            free(e);
            rearm_locked(w);
        }
        break;
    }
    pthread_mutex_unlock(&w->mu);
}

static void deadline_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static long ms_until(const struct timespec *ts)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (ts->tv_sec - now.tv_sec) * 1000 + (ts->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

void ls__watch_sleep(ls_watch *w, const char *uuidstr, uint64_t *gen, int timeout_ms)
{
    struct timespec deadline;
    if (timeout_ms >= 0)
        deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&w->mu);
    wentry *e;
    for (;;) {
        e = find_uuid(w, uuidstr);
        if (!e || e->gen != *gen)
            break;
        long remain = timeout_ms < 0 ? -1 : ms_until(&deadline);
        if (remain == 0)
            break;
        if (e->wd < 0) {
            /* polled: sleep a while, then the caller re-reads the state */
            struct timespec ts;
            deadline_after(&ts, remain >= 0 && remain < LS_WATCH_POLL_MS ? remain : LS_WATCH_POLL_MS);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            break;
        }
        if (!w->reading) {
            /* our turn to read the descriptor for everyone */
            w->reading = 1;
            pthread_mutex_unlock(&w->mu);
            struct pollfd p[2] = { { .fd = w->ifd, .events = POLLIN }, { .fd = w->kfd, .events = POLLIN } };
            int pr = poll(p, 2, (int)remain);
            pthread_mutex_lock(&w->mu);
            w->reading = 0;
            if (pr > 0 && (p[1].revents & POLLIN))
                unpoke(w->kfd);
            drain_locked(w, 1);
            /* another waiter takes over reading (or sees its generation) */
            pthread_cond_broadcast(&w->cv);
        } else if (timeout_ms < 0) {
            pthread_cond_wait(&w->cv, &w->mu);
        } else {
            pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
        }
    }
    if (e)
        *gen = e->gen;
    pthread_mutex_unlock(&w->mu);
}

void ls__watch_drain(ls_watch *w)
{
    pthread_mutex_lock(&w->mu);
    unpoke(w->efd);
    unpoke(w->tfd);
    drain_locked(w, 0);
    pthread_mutex_unlock(&w->mu);
}

static int ep_add(int epfd, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int ls__watch_fd(ls_watch *w, int *fd)
{
    *fd = -1;
    int rc = LS_OK;
    pthread_mutex_lock(&w->mu);
    init_locked(w);
    if (w->epfd < 0) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        int ef = w->mode == MODE_INOTIFY ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
        int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (ep < 0 || tf < 0 || (w->mode == MODE_INOTIFY && (ef < 0 || ep_add(ep, w->ifd) || ep_add(ep, ef))) ||
            ep_add(ep, tf)) {
            rc = ls__err_errno(errno, "create the watch descriptor", w->dir);
            close_fd(&ep);
            close_fd(&ef);
            close_fd(&tf);
        } else {
            w->epfd = ep;
            w->efd = ef;
            w->tfd = tf;
            rearm_locked(w);
        }
    }
    *fd = w->epfd;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int ls__watch_polling(ls_watch *w)
{
    pthread_mutex_lock(&w->mu);
    int p = w->mode == MODE_POLLING;
    pthread_mutex_unlock(&w->mu);
    return p;
}

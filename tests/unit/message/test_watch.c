/* Waiting for changes (IDLE) and \Recent, as a server uses them:
 *  - many threads wait at once on one store handle: one inotify instance
 *    serves them all (the per-user limit is 128 instances);
 *  - a waiter wakes at once when its mailbox is deleted (LS_EGONE) or
 *    renamed (LS_WAIT_RENAMED, the handle follows the new name);
 *  - an event loop polls one descriptor and asks ls_mailbox_changed;
 *  - without inotify (LIBSTORE_WATCH_POLL) waits fall back to polling;
 *  - after ls_mailbox_claim_recent, SEARCH RECENT / NEW on the claiming
 *    handle find the claimed messages (and nobody else's handle does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libstore/libstore.h"

#include "../store_fixture.h"
#include "../../proc_fds.h"

static int setup(void **state)
{
    return store_fixture_setup(state, "watch", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n", NULL);
}
static int teardown(void **state) { return store_fixture_teardown(state); }

static const char MSG[] = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";

static uint32_t append(ls_mailbox *mb, unsigned flags)
{
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = flags };
    uint32_t uid = 0;
    assert_int_equal(ls_message_append(mb, MSG, sizeof MSG - 1, &o, &uid), LS_OK);
    return uid;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t modseq(ls_mailbox *mb)
{
    ls_status s;
    assert_int_equal(ls_mailbox_status_open(mb, &s), LS_OK);
    return s.highestmodseq;
}


/* ---- many threads ---- */

#define NTHREADS 300

typedef struct waiter {
    ls_session *s;
    const char *name;
    uint64_t modseq;
    int timeout;
    int rc, changed;
    double woke;
    int *ready;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    ls_mailbox *mb;
    w->rc = ls_mailbox_open(w->s, w->name, LS_MAILBOX_OPEN_RDONLY, &mb);
    if (w->rc)
        return NULL;
    __atomic_add_fetch(w->ready, 1, __ATOMIC_SEQ_CST);
    w->rc = ls_mailbox_wait(mb, w->modseq, w->timeout, &w->changed);
    w->woke = now_ms();
    ls_mailbox_close(mb);
    return NULL;
}

static void start_waiters(waiter *w, pthread_t *th, size_t n, ls_session *s, const char *name, uint64_t ms,
                          int timeout, int *ready)
{
    for (size_t i = 0; i < n; i++) {
        w[i] = (waiter){ .s = s, .name = name, .modseq = ms, .timeout = timeout, .rc = -999, .ready = ready };
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 256 * 1024);
        assert_int_equal(pthread_create(&th[i], &a, wait_thread, &w[i]), 0);
        pthread_attr_destroy(&a);
    }
    while (__atomic_load_n(ready, __ATOMIC_SEQ_CST) < (int)n)
        usleep(1000);
    usleep(150000); /* let them block in the wait */
}

static void threads_share_one_watcher(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.idle", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.idle", 0, &mb), LS_OK);
    append(mb, 0);
    uint64_t ms = modseq(mb);
    static waiter w[NTHREADS];
    static pthread_t th[NTHREADS];
    int ready = 0;
    start_waiters(w, th, NTHREADS, f->admin, "user.idle", ms, 10000, &ready);
    /* one store handle, one inotify instance, however many waiters */
    assert_true(tu_inotify_fds() <= 1);
    append(mb, 0);
    double t0 = now_ms();
    for (size_t i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    double worst = 0;
    for (size_t i = 0; i < NTHREADS; i++) {
        if (w[i].rc != LS_OK)
            fail_msg("waiter %zu: %d (%s)", i, w[i].rc, ls_error_string(w[i].rc));
        assert_int_equal(w[i].changed, LS_WAIT_CHANGED);
        if (w[i].woke - t0 > worst)
            worst = w[i].woke - t0;
    }
    if (worst > 2000)
        fail_msg("the last of %d waiters woke %.0f ms after the append", NTHREADS, worst);
    ls_mailbox_close(mb);
}

/* ---- deleted and renamed ---- */

static void delete_wakes_waiter_at_once(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.gone", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.gone.sub", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.gone.sub", 0, &mb), LS_OK);
    uint64_t ms = modseq(mb);
    ls_mailbox_close(mb);
    waiter w[2];
    pthread_t th[2];
    int ready = 0;
    start_waiters(w, th, 1, f->admin, "user.gone.sub", ms, 10000, &ready);
    start_waiters(w + 1, th + 1, 1, f->admin, "user.gone", ms, 10000, &ready);
    /* deleting the account deletes both */
    double t0 = now_ms();
    assert_int_equal(ls_mailbox_delete(f->admin, "user.gone"), LS_OK);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, LS_EGONE);
        if (w[i].woke - t0 > 2000)
            fail_msg("a waiter on a deleted mailbox woke %.0f ms after the delete", w[i].woke - t0);
    }
    assert_string_equal(ls_error_string(LS_EGONE), "mailbox was deleted");
}

struct rename_wait { ls_mailbox *mb; uint64_t ms; int rc, changed; double woke; };
static void *rename_thread(void *arg)
{
    struct rename_wait *r = arg;
    r->rc = ls_mailbox_wait(r->mb, r->ms, 10000, &r->changed);
    r->woke = now_ms();
    return NULL;
}

static void rename_wakes_waiter_and_handle_follows(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.ren", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.ren.old", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.ren.old", 0, &mb), LS_OK);
    append(mb, 0);
    struct rename_wait r = { mb, modseq(mb), -999, -1, 0 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rename_thread, &r), 0);
    usleep(150000);
    double t0 = now_ms();
    assert_int_equal(ls_mailbox_rename(f->admin, "user.ren.old", "user.ren.new"), LS_OK);
    pthread_join(th, NULL);
    assert_int_equal(r.rc, LS_OK);
    assert_int_equal(r.changed, LS_WAIT_RENAMED);
    if (r.woke - t0 > 2000)
        fail_msg("a waiter on a renamed mailbox woke %.0f ms after the rename", r.woke - t0);
    assert_string_equal(ls_mailbox_name(mb), "user.ren.new");
    /* the handle keeps working under the new name */
    uint32_t uid = append(mb, 0);
    assert_int_equal(uid, 2);
    ls_mailbox_close(mb);
}

/* ---- event loop ---- */

static int readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void event_loop_descriptor(void **state, int polling)
{
    fixture *f = *state;
    ls_store *st = f->st;
    ls_session *s = f->admin;
    if (polling) {
        setenv("LIBSTORE_WATCH_POLL", "1", 1);
        assert_int_equal(ls_store_open(f->conf, 0, &st), LS_OK);
        unsetenv("LIBSTORE_WATCH_POLL");
        assert_int_equal(ls_session_new(st, NULL, &s), LS_OK);
    }
    assert_int_equal(ls_mailbox_create(f->admin, "user.ev", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.ev.b", NULL), LS_OK);
    ls_mailbox *a, *b, *writer;
    assert_int_equal(ls_mailbox_open(s, "user.ev", 0, &a), LS_OK);
    assert_int_equal(ls_mailbox_open(s, "user.ev.b", 0, &b), LS_OK);
    assert_int_equal(ls_mailbox_open(f->admin, "user.ev", 0, &writer), LS_OK);
    assert_int_equal(ls_mailbox_watch(a), LS_OK);
    assert_int_equal(ls_mailbox_watch(b), LS_OK);
    assert_int_equal(ls_mailbox_watch(b), LS_OK); /* idempotent */
    int fd = -1;
    assert_int_equal(ls_store_watch_fd(st, &fd), LS_OK);
    assert_true(fd >= 0);
    uint64_t ma = modseq(a), mbs = modseq(b);
    unsigned what = 99;
    assert_int_equal(ls_mailbox_changed(a, ma, &what), LS_OK);
    assert_int_equal(what, 0);
    if (!polling)
        assert_false(readable(fd, 100));
    append(writer, 0);
    double t0 = now_ms();
    assert_true(readable(fd, 2000));
    assert_true(now_ms() - t0 < (polling ? 1000 : 500));
    assert_int_equal(ls_mailbox_changed(a, ma, &what), LS_OK);
    assert_int_equal(what, LS_WAIT_CHANGED);
    assert_int_equal(ls_mailbox_changed(b, mbs, &what), LS_OK);
    assert_int_equal(what, 0);
    if (!polling)
        assert_false(readable(fd, 100)); /* consumed */
    /* a change that a blocking waiter on the same handle consumes still
     * makes the descriptor readable */
    ma = modseq(a);
    int changed = 0;
    append(writer, 0);
    assert_int_equal(ls_mailbox_wait(a, ma, 2000, &changed), LS_OK);
    assert_int_equal(changed, LS_WAIT_CHANGED);
    assert_true(readable(fd, 1000));
    assert_int_equal(ls_mailbox_changed(a, ma, &what), LS_OK);
    assert_int_equal(what, LS_WAIT_CHANGED);
    /* deleted */
    assert_int_equal(ls_mailbox_delete(f->admin, "user.ev.b"), LS_OK);
    assert_true(readable(fd, 2000));
    assert_int_equal(ls_mailbox_changed(b, mbs, &what), LS_EGONE);
    ls_mailbox_unwatch(b);
    ls_mailbox_close(b);
    ls_mailbox_close(a);
    ls_mailbox_close(writer);
    if (polling) {
        ls_session_free(s);
        ls_store_close(st);
    }
}

static void event_loop_inotify(void **state) { event_loop_descriptor(state, 0); }
static void event_loop_polling(void **state) { event_loop_descriptor(state, 1); }

/* Without inotify, a blocking wait still wakes on a change (by polling). */
static void wait_falls_back_to_polling(void **state)
{
    fixture *f = *state;
    setenv("LIBSTORE_WATCH_POLL", "1", 1);
    ls_store *st;
    assert_int_equal(ls_store_open(f->conf, 0, &st), LS_OK);
    unsetenv("LIBSTORE_WATCH_POLL");
    ls_session *s;
    assert_int_equal(ls_session_new(st, NULL, &s), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.poll", NULL), LS_OK);
    ls_mailbox *mb, *writer;
    assert_int_equal(ls_mailbox_open(f->admin, "user.poll", 0, &writer), LS_OK);
    uint64_t ms = modseq(writer);
    int ready = 0;
    waiter w;
    pthread_t th;
    start_waiters(&w, &th, 1, s, "user.poll", ms, 10000, &ready);
    int before = tu_inotify_fds();
    append(writer, 0);
    double t0 = now_ms();
    pthread_join(th, NULL);
    assert_int_equal(w.rc, LS_OK);
    assert_int_equal(w.changed, LS_WAIT_CHANGED);
    assert_true(w.woke - t0 < 1000);
    assert_true(before <= 1); /* only the fixture's handle may hold one */
    /* a time-out still times out */
    assert_int_equal(ls_mailbox_open(s, "user.poll", 0, &mb), LS_OK);
    int changed = -1;
    t0 = now_ms();
    assert_int_equal(ls_mailbox_wait(mb, modseq(mb), 300, &changed), LS_OK);
    assert_int_equal(changed, 0);
    assert_true(now_ms() - t0 >= 295);
    ls_mailbox_close(mb);
    ls_mailbox_close(writer);
    ls_session_free(s);
    ls_store_close(st);
}

/* ---- \Recent ---- */

static void search_count(ls_mailbox *mb, const char *key, size_t want, uint32_t first)
{
    const char *argv[1] = { key };
    uint32_t *uids;
    size_t n;
    assert_int_equal(ls_message_search(mb, 1, argv, &uids, &n), LS_OK);
    if (n != want)
        fail_msg("SEARCH %s found %zu, expected %zu", key, n, want);
    if (n)
        assert_int_equal(uids[0], first);
    ls_free(uids);
}

static void claimed_recent_stays_recent_for_the_session(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.rec", NULL), LS_OK);
    ls_mailbox *mb, *other;
    assert_int_equal(ls_mailbox_open(f->admin, "user.rec", 0, &mb), LS_OK);
    append(mb, 0);
    append(mb, LS_FLAG_SEEN);
    append(mb, 0);
    uint32_t got = 0;
    assert_int_equal(ls_mailbox_claim_recent(mb, &got), LS_OK);
    assert_int_equal(got, 3);
    /* the claiming session sees its three as \Recent; NEW = RECENT UNSEEN */
    search_count(mb, "RECENT", 3, 1);
    search_count(mb, "NEW", 2, 1);
    search_count(mb, "OLD", 0, 0);
    ls_set set;
    assert_int_equal(ls_mailbox_recent(mb, &set), LS_OK);
    char *txt = ls_set_format(&set);
    assert_string_equal(txt, "1:3");
    ls_free(txt);
    ls_set_dispose(&set);
    assert_true(ls_mailbox_is_recent(mb, 2));
    assert_false(ls_mailbox_is_recent(mb, 4));
    /* another session's handle: nothing is \Recent for it any more */
    assert_int_equal(ls_mailbox_open(f->admin, "user.rec", 0, &other), LS_OK);
    assert_int_equal(ls_mailbox_claim_recent(other, &got), LS_OK);
    assert_int_equal(got, 0);
    search_count(other, "RECENT", 0, 0);
    search_count(other, "OLD", 3, 1);
    /* a new message: the other session claims it; ours does not see it */
    append(other, 0);
    assert_int_equal(ls_mailbox_claim_recent(other, &got), LS_OK);
    assert_int_equal(got, 1);
    search_count(other, "RECENT", 1, 4);
    search_count(mb, "RECENT", 3, 1);
    assert_int_equal(ls_mailbox_claim_recent(mb, &got), LS_OK);
    assert_int_equal(got, 0);
    /* one more, claimed by ours on a later "NOOP": joins its set */
    append(other, 0);
    assert_int_equal(ls_mailbox_claim_recent(mb, &got), LS_OK);
    assert_int_equal(got, 1);
    assert_int_equal(ls_mailbox_recent(mb, &set), LS_OK);
    txt = ls_set_format(&set);
    assert_string_equal(txt, "1:3,5");
    ls_free(txt);
    ls_set_dispose(&set);
    search_count(mb, "RECENT", 4, 1);
    ls_mailbox_close(other);
    ls_mailbox_close(mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(threads_share_one_watcher, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_wakes_waiter_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(rename_wakes_waiter_and_handle_follows, setup, teardown),
        cmocka_unit_test_setup_teardown(event_loop_inotify, setup, teardown),
        cmocka_unit_test_setup_teardown(event_loop_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(wait_falls_back_to_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(claimed_recent_stays_recent_for_the_session, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

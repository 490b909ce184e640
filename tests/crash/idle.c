/*
 * idle: docs/contract.md §2.4: a session can wait for changes to a mailbox
 * (for IDLE) without polling the disk in a loop - ls_mailbox_wait.
 *
 *  1. nothing happens: wait(300 ms) returns changed = 0 after 300 ms (not
 *     much earlier, not much later), using little CPU;
 *  2. the mailbox already changed past the given MODSEQ: changed = 1 at once;
 *  3. another process appends / changes a flag / expunges / copies into /
 *     moves out of the mailbox while we wait (up to 5 s): changed = 1, and
 *     less than 1 s after the other process's call returned (never before
 *     it began);
 *  4. another process changes a different mailbox: no wake-up, changed = 0
 *     after the full time-out;
 *  5. NWAITERS (200; 150 under sanitizers) processes, each with its own store handle, wait on the
 *     mailbox at once; one append wakes them all within WAKE_LIMIT_MS. The
 *     kernel gives a user 128 inotify instances across processes, so some
 *     of them run on the polling fallback (libstore/core/watch.c);
 *  6. NTHREADS (1000; 400 under sanitizers) threads of one process, one store handle, each with
 *     its own mailbox handle, wait at once; one append wakes them all, and
 *     the process holds at most one inotify instance;
 *  7. another process deletes the mailbox we wait on: LS_EGONE at once;
 *     renames it: LS_WAIT_RENAMED at once, and the handle has the new name.
 */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>
#include "../proc_fds.h"

#ifdef LIBSTORE_SANITIZE /* 3x slower: fewer, still past the 128 inotify instances */
#define NWAITERS 150
#define NTHREADS 400
#else
#define NWAITERS 200
#define NTHREADS 1000
#endif
/* polling waiters look every 200 ms; 200 processes on a loaded machine */
#define WAKE_LIMIT_MS 3000
#define MBOX "user.idle"
#define OTHER "user.idle.other"

static const char *conf;

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
           ru.ru_stime.tv_usec / 1e3;
}

static void append_one(ls_mailbox *mb, uint64_t seed)
{
    size_t len;
    char *msg = tu_msg_make(seed, 200, &len);
    ls_date d = tu_msg_date(seed);
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &d };
    CHECK_LS(ls_message_append(mb, msg, len, &o, NULL));
    free(msg);
}

enum ev { EV_APPEND, EV_FLAG, EV_EXPUNGE, EV_COPY_IN, EV_MOVE_OUT, EV_OTHER_MAILBOX, EV_COUNT };
static const char *const ev_names[EV_COUNT] = { "append", "flag change", "expunge", "copy into", "move out of",
                                                "append to another mailbox" };

/* Child: open the store, report ready, sleep, do the change, report the
 * times it began and returned. */
static void changer(int ev, uint32_t uid, int fd, long delay_us)
{
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb, *other;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
    CHECK_LS(ls_mailbox_open(s, OTHER, LS_MAILBOX_OPEN_RDWR, &other));
    if (tu_write_all(fd, "r", 1))
        _exit(2);
    tu_sleep_us(delay_us);
    ls_set set = { &(ls_range){ uid, uid }, 1 };
    double t0 = tu_now_ms();
    switch (ev) {
    case EV_APPEND: append_one(mb, 100 + uid); break;
    case EV_FLAG: CHECK_LS(ls_message_store(mb, &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_FLAGGED }, NULL)); break;
    case EV_EXPUNGE: CHECK_LS(ls_message_expunge(mb, &set, NULL)); break;
    case EV_COPY_IN: CHECK_LS(ls_message_copy(other, &set, MBOX, NULL)); break;
    case EV_MOVE_OUT: CHECK_LS(ls_message_move(mb, &set, OTHER, NULL)); break;
    case EV_OTHER_MAILBOX: append_one(other, 200 + uid); break;
    }
    double t1 = tu_now_ms();
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.3f %.3f\n", t0, t1);
    if (tu_write_all(fd, buf, (size_t)n))
        _exit(2);
    ls_mailbox_close(other);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    _exit(0);
}

static void reap(pid_t pid, const char *what)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("%s: the other process failed (status 0x%x), see above", what, status);
}

static uint64_t modseq_of(ls_mailbox *mb)
{
    ls_status stt;
    CHECK_LS(ls_mailbox_status_open(mb, &stt));
    return stt.highestmodseq;
}

/* Wait while another process makes change `ev`; check the wake-up. */
static void wait_for_change(ls_mailbox *mb, int ev, uint32_t uid)
{
    const char *what = ev_names[ev];
    int pfd[2];
    if (pipe(pfd) != 0)
        FAIL("pipe: %s", strerror(errno));
    uint64_t ms = modseq_of(mb);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        changer(ev, uid, pfd[1], 200000);
    }
    close(pfd[1]);
    char c;
    if (read(pfd[0], &c, 1) != 1)
        FAIL("%s: the other process did not start", what);
    int timeout = ev == EV_OTHER_MAILBOX ? 1000 : 5000;
    int changed = -1;
    double w0 = tu_now_ms();
    int rc = ls_mailbox_wait(mb, ms, timeout, &changed);
    double w1 = tu_now_ms();
    if (rc != LS_OK)
        FAIL("%s: ls_mailbox_wait returned %d (%s): %s", what, rc, ls_error_string(rc), ls_error_last());
    char buf[128];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(pfd[0], buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = 0;
    close(pfd[0]);
    reap(pid, what);
    double t0, t1;
    if (sscanf(buf, "%lf %lf", &t0, &t1) != 2)
        FAIL("%s: no times from the other process", what);
    if (ev == EV_OTHER_MAILBOX) {
        CHECK(changed == 0, "%s: ls_mailbox_wait reported a change of %s (HIGHESTMODSEQ %" PRIu64 " -> %" PRIu64 ")",
              what, MBOX, ms, modseq_of(mb));
        CHECK(w1 - w0 >= timeout - 10, "%s: ls_mailbox_wait returned changed = 0 after %.0f ms, before its %d ms "
              "time-out", what, w1 - w0, timeout);
        tu_log("%s: no wake-up, time-out after %.0f ms", what, w1 - w0);
        return;
    }
    CHECK(changed == 1, "%s: ls_mailbox_wait returned changed = %d after %.0f ms (the change was made %.0f ms after "
          "the wait began)", what, changed, w1 - w0, t1 - w0);
    CHECK(w1 >= t0, "%s: woke up %.1f ms before the change began", what, t0 - w1);
    CHECK(w1 - t1 < 1000, "%s: woke up %.0f ms after the change was acknowledged (limit 1000 ms)", what, w1 - t1);
    CHECK(modseq_of(mb) > ms, "%s: woke up with changed = 1 but HIGHESTMODSEQ is still %" PRIu64, what, ms);
    tu_log("%s: woke up %.1f ms after the other process's call returned", what, w1 - t1 > 0 ? w1 - t1 : 0);
}


typedef struct twait {
    ls_session *s;
    uint64_t ms;
    int rc, changed;
    double woke;
} twait;
static int tready;

static void *thread_waiter(void *arg)
{
    twait *w = arg;
    ls_mailbox *mb;
    if ((w->rc = ls_mailbox_open(w->s, MBOX, LS_MAILBOX_OPEN_RDONLY, &mb)) != LS_OK)
        return NULL;
    __atomic_add_fetch(&tready, 1, __ATOMIC_SEQ_CST);
    w->rc = ls_mailbox_wait(mb, w->ms, 20000, &w->changed);
    w->woke = tu_now_ms();
    ls_mailbox_close(mb);
    return NULL;
}

/* 6. many threads, one store handle */
static void many_threads(void)
{
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
    uint64_t ms = modseq_of(mb);
    static twait w[NTHREADS];
    static pthread_t th[NTHREADS];
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (twait){ .s = s, .ms = ms, .rc = -999 };
        if (pthread_create(&th[i], &a, thread_waiter, &w[i]) != 0)
            FAIL("pthread_create %d: %s", i, strerror(errno));
    }
    pthread_attr_destroy(&a);
    double t0 = tu_now_ms();
    while (__atomic_load_n(&tready, __ATOMIC_SEQ_CST) < NTHREADS) {
        if (tu_now_ms() - t0 > 30000)
            FAIL("%d threads: only %d opened their mailbox", NTHREADS, tready);
        tu_sleep_us(2000);
    }
    tu_sleep_us(300000); /* let them all block in the wait */
    int fds = tu_inotify_fds();
    CHECK(fds <= 1, "%d waiting threads on one store handle hold %d inotify instances (one is enough)", NTHREADS,
          fds);
    append_one(mb, 4242);
    double tack = tu_now_ms(), worst = 0;
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++) {
        CHECK(w[i].rc == LS_OK, "thread %d: ls_mailbox_wait returned %d (%s)", i, w[i].rc, ls_error_string(w[i].rc));
        CHECK(w[i].changed == LS_WAIT_CHANGED, "thread %d: changed = %d after the append", i, w[i].changed);
        if (w[i].woke - tack > worst)
            worst = w[i].woke - tack;
    }
    CHECK(worst < WAKE_LIMIT_MS, "%d threads: the last woke up %.0f ms after the append (limit %d ms)", NTHREADS, worst,
          WAKE_LIMIT_MS);
    tu_log("%d threads on one store handle (%d inotify instance) woke up within %.1f ms of one append", NTHREADS, fds,
           worst);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
}

/* 7. another process deletes or renames the mailbox we wait on */
static void gone_or_renamed(int rename_it)
{
    const char *name = rename_it ? "user.idle.ren" : "user.idle.del";
    const char *to = "user.idle.renamed";
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_create(s, name, NULL));
    CHECK_LS(ls_mailbox_open(s, name, LS_MAILBOX_OPEN_RDWR, &mb));
    append_one(mb, 777);
    uint64_t ms = modseq_of(mb);
    int pfd[2];
    if (pipe(pfd) != 0)
        FAIL("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        ls_store *st2;
        ls_session *s2;
        CHECK_LS(ls_store_open(conf, 0, &st2));
        CHECK_LS(ls_session_new(st2, NULL, &s2));
        tu_sleep_us(300000);
        double t0 = tu_now_ms();
        if (rename_it)
            CHECK_LS(ls_mailbox_rename(s2, name, to));
        else
            CHECK_LS(ls_mailbox_delete(s2, name));
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%.3f %.3f\n", t0, tu_now_ms());
        if (tu_write_all(pfd[1], buf, (size_t)n))
            _exit(2);
        ls_session_free(s2);
        ls_store_close(st2);
        _exit(0);
    }
    close(pfd[1]);
    int changed = -1;
    double w0 = tu_now_ms();
    int rc = ls_mailbox_wait(mb, ms, 10000, &changed);
    double w1 = tu_now_ms();
    char buf[128] = { 0 };
    size_t got = 0;
    for (ssize_t n; (n = read(pfd[0], buf + got, sizeof buf - 1 - got)) > 0;)
        got += (size_t)n;
    close(pfd[0]);
    const char *what = rename_it ? "rename" : "delete";
    reap(pid, what);
    double t0, t1;
    if (sscanf(buf, "%lf %lf", &t0, &t1) != 2)
        FAIL("%s: no times from the other process", what);
    if (rename_it) {
        CHECK(rc == LS_OK && changed == LS_WAIT_RENAMED, "rename: ls_mailbox_wait returned %d (%s), changed = %d after "
              "%.0f ms; expected LS_OK and LS_WAIT_RENAMED", rc, ls_error_string(rc), changed, w1 - w0);
        CHECK(!strcmp(ls_mailbox_name(mb), to), "rename: the handle's name is %s, not %s", ls_mailbox_name(mb), to);
    } else {
        CHECK(rc == LS_EGONE, "delete: ls_mailbox_wait returned %d (%s) after %.0f ms; expected LS_EGONE", rc,
              ls_error_string(rc), w1 - w0);
    }
    CHECK(w1 >= t0 && w1 - t1 < 1000, "%s: the waiter woke up %.0f ms after the %s returned (limit 1000 ms)", what,
          w1 - t1, what);
    tu_log("%s by another process: the waiter woke up %.1f ms after it", what, w1 - t1 > 0 ? w1 - t1 : 0);
    ls_mailbox_close(mb);
    if (rename_it)
        CHECK_LS(ls_mailbox_delete(s, to));
    ls_session_free(s);
    ls_store_close(st);
}

int main(void)
{
    tu_begin("idle");
    tu_seed(1);
    conf = tu_write_conf(tu_dir, NULL, NULL, "");
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_create(s, MBOX, NULL));
    CHECK_LS(ls_mailbox_create(s, OTHER, NULL));
    CHECK_LS(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
    {
        ls_mailbox *o;
        CHECK_LS(ls_mailbox_open(s, OTHER, LS_MAILBOX_OPEN_RDWR, &o));
        append_one(o, 1);
        ls_mailbox_close(o);
    }
    for (uint64_t i = 0; i < 5; i++)
        append_one(mb, 10 + i);

    /* 1. time-out */
    int changed = -1;
    uint64_t ms = modseq_of(mb);
    double c0 = cpu_ms(), w0 = tu_now_ms();
    CHECK_LS(ls_mailbox_wait(mb, ms, 300, &changed));
    double w1 = tu_now_ms(), c1 = cpu_ms();
    CHECK(changed == 0, "time-out: changed = %d though nothing happened", changed);
    CHECK(w1 - w0 >= 295 && w1 - w0 < 800, "time-out: a 300 ms wait took %.0f ms", w1 - w0);
    CHECK(c1 - c0 < 60, "time-out: a 300 ms wait used %.0f ms of CPU (polling?)", c1 - c0);
    tu_log("time-out: 300 ms wait returned after %.0f ms using %.1f ms CPU", w1 - w0, c1 - c0);
    /* a second wait on the same handle also times out */
    w0 = tu_now_ms();
    CHECK_LS(ls_mailbox_wait(mb, ms, 100, &changed));
    w1 = tu_now_ms();
    CHECK(changed == 0 && w1 - w0 >= 95 && w1 - w0 < 600, "second time-out: changed = %d after %.0f ms", changed,
          w1 - w0);

    /* 2. already changed */
    w0 = tu_now_ms();
    CHECK_LS(ls_mailbox_wait(mb, ms - 1, 5000, &changed));
    w1 = tu_now_ms();
    CHECK(changed == 1 && w1 - w0 < 200, "a wait for MODSEQ %" PRIu64 " (current %" PRIu64 ") returned changed = %d "
          "after %.0f ms", ms - 1, ms, changed, w1 - w0);

    /* 3. and 4. changes by another process */
    wait_for_change(mb, EV_APPEND, 1);
    wait_for_change(mb, EV_FLAG, 2);
    {
        ls_set set = { &(ls_range){ 3, 3 }, 1 };
        CHECK_LS(ls_message_store(mb, &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL));
    }
    wait_for_change(mb, EV_EXPUNGE, 3);
    wait_for_change(mb, EV_COPY_IN, 1);
    wait_for_change(mb, EV_MOVE_OUT, 4);
    wait_for_change(mb, EV_OTHER_MAILBOX, 1);

    /* 5. many waiters, one append */
    int ready[2], res[2];
    if (pipe(ready) || pipe(res))
        FAIL("pipe: %s", strerror(errno));
    ms = modseq_of(mb);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    pid_t pids[NWAITERS];
    fflush(NULL);
    for (int i = 0; i < NWAITERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(ready[0]);
            close(res[0]);
            ls_store *st2;
            ls_session *s2;
            ls_mailbox *mb2;
            CHECK_LS(ls_store_open(conf, 0, &st2));
            CHECK_LS(ls_session_new(st2, NULL, &s2));
            CHECK_LS(ls_mailbox_open(s2, MBOX, LS_MAILBOX_OPEN_RDONLY, &mb2));
            /* arm the watch with a zero time-out first, then report ready */
            int ch;
            CHECK_LS(ls_mailbox_wait(mb2, ms, 0, &ch));
            if (ch)
                FAIL("waiter %d: changed = 1 before anything changed", i);
            if (tu_write_all(ready[1], "r", 1))
                _exit(2);
            /* long enough for the slowest start of 200 processes (sanitizers) */
            CHECK_LS(ls_mailbox_wait(mb2, ms, 60000, &ch));
            char buf[64];
            int n = snprintf(buf, sizeof buf, "%d %.3f\n", ch, tu_now_ms());
            if (tu_write_all(res[1], buf, (size_t)n))
                _exit(2);
            ls_mailbox_close(mb2);
            ls_session_free(s2);
            ls_store_close(st2);
            _exit(0);
        }
    }
    close(ready[1]);
    close(res[1]);
    for (int i = 0; i < NWAITERS; i++) {
        char c;
        if (read(ready[0], &c, 1) != 1)
            FAIL("a waiter did not start (see above)");
    }
    tu_sleep_us(100000); /* let them all block in the wait */
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
    append_one(mb, 999);
    double tack = tu_now_ms();
    FILE *f = fdopen(res[0], "r");
    double worst = 0;
    for (int i = 0; i < NWAITERS; i++) {
        int ch;
        double t;
        if (fscanf(f, "%d %lf", &ch, &t) != 2)
            FAIL("only %d of %d waiters answered (see above)", i, NWAITERS);
        CHECK(ch == 1, "a waiter returned changed = %d after the append", ch);
        if (t - tack > worst)
            worst = t - tack;
    }
    fclose(f);
    for (int i = 0; i < NWAITERS; i++)
        reap(pids[i], "waiter");
    CHECK(worst < WAKE_LIMIT_MS, "%d waiters: the last woke up %.0f ms after the append returned (limit %d ms)",
          NWAITERS, worst, WAKE_LIMIT_MS);
    tu_log("%d waiters woke up within %.1f ms of one append", NWAITERS, worst);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);

    many_threads();
    gone_or_renamed(0);
    gone_or_renamed(1);
    printf("idle: OK\n");
    return 0;
}

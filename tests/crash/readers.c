/*
 * readers: docs/contract.md §2.4: at least 1000 concurrent readers, readers
 * never block and see a consistent snapshot, reader slots of dead processes
 * are cleared; and cleanup waiting for readers.
 *
 * Phase A: NREADERS processes are forked and released at once; each opens
 * the store, does ls_mailbox_status, opens the mailbox and reports ready.
 * When all are ready, all enter ls_message_foreach at the same time and
 * block inside its callback (so NREADERS read transactions are live at
 * once). The writer then appends K messages, which must work while the
 * readers hold their snapshots. Released, each reader must have seen
 * exactly the old snapshot (the messages of its STATUS) and then, in a new
 * STATUS, the writer's K messages. Every reader must exit 0.
 *
 * Phase B: NKILL more readers block inside ls_message_foreach; the writer
 * expunges E messages; ls_store_cleanup must then leave their files alone
 * (a live reader predates the expunge). The blocked readers are killed with
 * SIGKILL. The writer must still append, and ls_store_cleanup must now
 * remove the expunged files (the dead readers' slots are cleared); check is
 * clean with nothing pending.
 *
 * "readers rdonly" (the ctest test readers_rdonly) runs phase A with every
 * reader opening the store with LS_STORE_OPEN_RDONLY, as a process that only
 * examines mailboxes may.
 */
#include "testutil.h"

#include <dirent.h>
#include <poll.h>

#ifdef LIBSTORE_SANITIZE
#define NREADERS 200
#define NKILL 50
#else
#define NREADERS 1000
#define NKILL 200
#endif
#define NINITIAL 20
#define KAPPEND 10
#define NEXPUNGE 5
#define MBOX "user.shared"

static const char *conf;
static unsigned open_flags = LS_STORE_OPEN_DEFAULT;

/* Reader's protocol on the report pipe: one byte per event. */
enum { EV_READY = 'R', EV_INSIDE = 'F', EV_DONE = 'D' };

static int report_fd, hold_fd;

static void rfail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void rfail(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[readers %ld] reader failed: %s\n", (long)getpid(), buf);
    _exit(1);
}
#define R_CHECK(call)                                                                                      \
    do {                                                                                                   \
        int _rc = (call);                                                                                  \
        if (_rc != LS_OK)                                                                                  \
            rfail("%s returned %d (%s): %s", #call, _rc, ls_error_string(_rc), ls_error_last());               \
    } while (0)

static void emit(char ev)
{
    if (tu_write_all(report_fd, &ev, 1))
        _exit(2);
}

/* Block until the parent closes the pipe (EOF). */
static void wait_eof(int fd)
{
    char c;
    for (;;) {
        ssize_t n = read(fd, &c, 1);
        if (n == 0)
            return;
        if (n < 0 && errno != EINTR)
            _exit(3);
    }
}

struct inside { int first; size_t n; };
static int inside_cb(const ls_record *r, const ls_cached *c, void *arg)
{
    (void)r; (void)c;
    struct inside *x = arg;
    if (x->first) {
        x->first = 0;
        emit(EV_INSIDE);
        wait_eof(hold_fd); /* inside the read: the snapshot is live */
    }
    x->n++;
    return 0;
}

static void reader(int start_fd, int idx)
{
    wait_eof(start_fd);
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    ls_status s1, s2;
    (void)idx;
    R_CHECK(ls_store_open(conf, open_flags, &st));
    R_CHECK(ls_session_new(st, NULL, &s));
    R_CHECK(ls_mailbox_status(s, MBOX, &s1));
    R_CHECK(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDONLY, &mb));
    emit(EV_READY);
    struct inside x = { 1, 0 };
    R_CHECK(ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_CACHE, inside_cb, &x));
    /* the snapshot taken before the writer appended */
    if (x.n != s1.messages)
        rfail("ls_message_foreach saw %zu messages; STATUS before it said %u (not a consistent snapshot)", x.n,
              s1.messages);
    R_CHECK(ls_mailbox_status_open(mb, &s2));
    if (s2.messages != s1.messages + KAPPEND)
        rfail("after the writer's %d appends STATUS says %u messages, expected %u", KAPPEND, s2.messages,
              s1.messages + KAPPEND);
    uint32_t *uids;
    size_t n;
    R_CHECK(ls_message_uids(mb, &uids, &n));
    if (n != s2.messages)
        rfail("ls_message_uids lists %zu messages, STATUS says %u", n, s2.messages);
    char *data;
    size_t len;
    R_CHECK(ls_message_fetch(mb, uids[n - 1], "", 0, UINT64_MAX, &data, &len));
    const char *why = tu_msg_verify(data, len, NULL);
    if (why)
        rfail("uid %u: %s", uids[n - 1], why);
    ls_free(data);
    ls_free(uids);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    emit(EV_DONE);
    _exit(0);
}

/* A reader that blocks inside a read until killed. */
static void stuck_reader(void)
{
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    R_CHECK(ls_store_open(conf, 0, &st));
    R_CHECK(ls_session_new(st, NULL, &s));
    R_CHECK(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDONLY, &mb));
    struct inside x = { 1, 0 };
    R_CHECK(ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_RECORD, inside_cb, &x));
    rfail("a stuck reader was released (test bug)");
}

/* Events received so far, by kind. */
static int counts[256];

/* Wait until `want` events `ev` have arrived on the report pipe (events
 * of other kinds are counted too); fail if a reader dies or nothing comes
 * for 60 s. */
static void await(int fd, char ev, int want, const char *what)
{
    double last = tu_now_ms();
    while (counts[(unsigned char)ev] < want) {
        struct pollfd p = { fd, POLLIN, 0 };
        int pr = poll(&p, 1, 200);
        if (pr > 0) {
            char buf[4096];
            ssize_t n = read(fd, buf, sizeof buf);
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] != EV_READY && buf[i] != EV_INSIDE && buf[i] != EV_DONE)
                    FAIL("%s: unexpected event '%c' from a reader", what, buf[i]);
                counts[(unsigned char)buf[i]]++;
            }
            if (n > 0)
                last = tu_now_ms();
        }
        int status;
        pid_t dead = waitpid(-1, &status, WNOHANG);
        if (dead > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
            FAIL("%s: a reader (pid %ld) failed (status 0x%x) when %d of %d were there; see its message above",
                 what, (long)dead, status, counts[(unsigned char)ev], want);
        if (dead > 0 && ev != EV_DONE)
            FAIL("%s: reader %ld exited early", what, (long)dead);
        if (dead > 0)
            counts['W']++; /* reaped here: main() must not wait for it again */
        if (tu_now_ms() - last > 60000)
            FAIL("%s: only %d of %d readers after 60 s", what, counts[(unsigned char)ev], want);
    }
}

static void append_n(ls_mailbox *mb, uint64_t first_seed, int n)
{
    for (int i = 0; i < n; i++) {
        size_t len;
        uint64_t sd = first_seed + (uint64_t)i;
        char *msg = tu_msg_make(sd, 300 + (size_t)i * 10, &len);
        ls_date d = tu_msg_date(sd);
        ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &d };
        CHECK_LS(ls_message_append(mb, msg, len, &o, NULL));
        free(msg);
    }
}

/* Files in the mailbox directory belonging to uid ("UID." or "UID.*"). */
static int files_of(const char *dir, uint32_t uid)
{
    DIR *d = opendir(dir);
    if (!d)
        FAIL("opendir %s: %s", dir, strerror(errno));
    char prefix[32];
    int pl = snprintf(prefix, sizeof prefix, "%u.", uid), n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, (size_t)pl))
            n++;
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    int rdonly = argc > 1 && !strcmp(argv[1], "rdonly");
    int nreaders = rdonly ? NREADERS / 5 : NREADERS;
    if (rdonly)
        open_flags = LS_STORE_OPEN_RDONLY;
    tu_begin(rdonly ? "readers_rdonly" : "readers");
    uint64_t seed = tu_seed(7);
    (void)seed;
    conf = tu_write_conf(tu_dir, NULL, NULL, "");
    signal(SIGPIPE, SIG_IGN);
    {
        ls_store *st;
        ls_session *s;
        ls_mailbox *mb;
        CHECK_LS(ls_store_open(conf, 0, &st));
        CHECK_LS(ls_session_new(st, NULL, &s));
        CHECK_LS(ls_mailbox_create(s, MBOX, NULL));
        CHECK_LS(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
        append_n(mb, 1000, NINITIAL);
        ls_mailbox_close(mb);
        ls_session_free(s);
        ls_store_close(st);
    }

    /* ---- phase A ---- */
    int rep[2], start[2], hold[2];
    if (pipe(rep) || pipe(start) || pipe(hold))
        FAIL("pipe: %s", strerror(errno));
    double t0 = tu_now_ms();
    fflush(NULL);
    for (int i = 0; i < nreaders; i++) {
        pid_t pid = fork();
        if (pid < 0)
            FAIL("fork of reader %d: %s", i, strerror(errno));
        if (pid == 0) {
            close(rep[0]);
            close(start[1]);
            close(hold[1]);
            report_fd = rep[1];
            hold_fd = hold[0];
            reader(start[0], i);
        }
    }
    close(rep[1]);
    close(start[0]);
    close(hold[0]);
    double t1 = tu_now_ms();
    close(start[1]); /* all open the store at once */
    await(rep[0], EV_READY, nreaders, "phase A: opened the store and the mailbox");
    double t2 = tu_now_ms();
    await(rep[0], EV_INSIDE, nreaders, "phase A: inside ls_message_foreach");
    double t3 = tu_now_ms();
    /* nreaders live read transactions: the writer must not be blocked */
    {
        ls_store *st;
        ls_session *s;
        ls_mailbox *mb;
        CHECK_LS(ls_store_open(conf, 0, &st));
        CHECK_LS(ls_session_new(st, NULL, &s));
        CHECK_LS(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
        append_n(mb, 2000, KAPPEND);
        ls_mailbox_close(mb);
        ls_session_free(s);
        ls_store_close(st);
    }
    double t4 = tu_now_ms();
    close(hold[1]);
    await(rep[0], EV_DONE, nreaders, "phase A: finished");
    for (int i = counts['W']; i < nreaders; i++) {
        int status;
        pid_t p = wait(&status);
        if (p < 0)
            FAIL("wait: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            FAIL("phase A: reader %ld exited with status 0x%x", (long)p, status);
    }
    close(rep[0]);
    tu_log("phase A: %d readers forked in %.0f ms, all opened in %.0f ms, all inside a read %.0f ms later; "
           "%d appends under %d live snapshots took %.0f ms; all done %.0f ms later",
           nreaders, t1 - t0, t2 - t1, t3 - t2, KAPPEND, nreaders, t4 - t3, tu_now_ms() - t4);

    if (rdonly) {
        printf("readers_rdonly: OK\n");
        return 0;
    }

    /* ---- phase B ---- */
    if (pipe(rep) || pipe(hold))
        FAIL("pipe: %s", strerror(errno));
    pid_t stuck[NKILL];
    fflush(NULL);
    for (int i = 0; i < NKILL; i++) {
        stuck[i] = fork();
        if (stuck[i] < 0)
            FAIL("fork: %s", strerror(errno));
        if (stuck[i] == 0) {
            close(rep[0]);
            close(hold[1]);
            report_fd = rep[1];
            hold_fd = hold[0];
            stuck_reader();
        }
    }
    close(rep[1]);
    close(hold[0]);
    memset(counts, 0, sizeof counts);
    await(rep[0], EV_INSIDE, NKILL, "phase B: inside ls_message_foreach");
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_open(s, MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
    char *dir;
    CHECK_LS(ls_mailbox_path(s, MBOX, &dir));
    /* expunge the first NEXPUNGE messages */
    ls_set set = { &(ls_range){ 1, NEXPUNGE }, 1 }, got;
    CHECK_LS(ls_message_store(mb, &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL));
    CHECK_LS(ls_message_expunge(mb, &set, &got));
    CHECK(got.n == 1 && got.r[0].lo == 1 && got.r[0].hi == NEXPUNGE, "expunge of 1:%d did not report 1:%d",
          NEXPUNGE, NEXPUNGE);
    ls_set_dispose(&got);
    uint64_t removed = 0;
    CHECK_LS(ls_store_cleanup(st, -1, &removed));
    for (uint32_t u = 1; u <= NEXPUNGE; u++)
        CHECK(files_of(dir, u) == 1,
              "uid %u: cleanup removed the expunged message's file while %d readers that predate the expunge "
              "are inside a read (%d files left)",
              u, NKILL, files_of(dir, u));
    /* kill the readers inside their reads */
    for (int i = 0; i < NKILL; i++)
        kill(stuck[i], SIGKILL);
    for (int i = 0; i < NKILL; i++) {
        int status;
        while (waitpid(stuck[i], &status, 0) < 0 && errno == EINTR)
            ;
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "stuck reader %d ended with status 0x%x", i,
              status);
    }
    close(rep[0]);
    close(hold[1]);
    /* the writer still works with the dead readers' slots in the table */
    double t5 = tu_now_ms();
    append_n(mb, 3000, KAPPEND);
    ls_status stt;
    CHECK_LS(ls_mailbox_status_open(mb, &stt));
    CHECK(stt.messages == NINITIAL + 2 * KAPPEND - NEXPUNGE, "STATUS says %u messages, expected %d", stt.messages,
          NINITIAL + 2 * KAPPEND - NEXPUNGE);
    /* and cleanup can remove the expunged files now */
    removed = 0;
    CHECK_LS(ls_store_cleanup(st, -1, &removed));
    for (uint32_t u = 1; u <= NEXPUNGE; u++)
        CHECK(files_of(dir, u) == 0,
              "uid %u: the expunged message's file is still there after cleanup, although every reader that "
              "could see it was killed (stale reader slots not cleared?); cleanup reported %" PRIu64 " removed",
              u, removed);
    CHECK(removed >= NEXPUNGE, "cleanup reported %" PRIu64 " files removed, expected at least %d", removed,
          NEXPUNGE);
    tu_check_counters(mb, "phase B");
    uint64_t notices = tu_check_clean(st, "phase B", 1);
    CHECK(notices == 0, "check: %" PRIu64 " notice(s) after cleanup", notices);
    tu_log("phase B: %d readers killed inside a read; writer and cleanup fine afterwards (%.0f ms)", NKILL,
           tu_now_ms() - t5);
    ls_free(dir);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    printf("readers: OK\n");
    return 0;
}

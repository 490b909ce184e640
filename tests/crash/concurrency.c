/*
 * concurrency: docs/contract.md §2.4 (concurrency) with several writer processes.
 *
 * Phase 1: 4 processes at once append (single and batch), change flags,
 * expunge and copy; workers 0 and 1 share user.c0, workers 2 and 3 have
 * user.c2 and user.c3, and all four also write to user.all. Every worker
 * changes flags of and expunges only messages it appended itself, so the
 * final state of every message is known exactly; the mailbox-wide counters
 * are still updated by several processes at once. Each worker logs every
 * acknowledged operation (with CLOCK_MONOTONIC begin/end times) to its own
 * file. At the end the parent checks:
 *   - no (mailbox, UID) was given to two acknowledged messages;
 *   - UIDs commit in order: within one worker they increase; across
 *     workers, an append that ended before another began has the lower UID;
 *   - every acknowledged message is there, byte-identical, with its flags;
 *     acknowledged expunges are gone; nothing else is there;
 *   - STATUS counters equal a full scan (ls_message_foreach);
 *   - ls_store_check finds no error, before and after ls_store_cleanup.
 *
 * Phase 2: one process delivers NDELIVER messages, each to 50 users
 * (ls_message_deliver), while 3 processes append to those users' INBOXes.
 * Each user must end up with every delivered message exactly once under
 * the UID deliver reported (stored once: all 50 names link one file), every
 * acknowledged append, unique ordered UIDs, right counters, a clean check.
 */
#include "testutil.h"

#ifdef LIBSTORE_SANITIZE
#define OPS_PER_WORKER 120
#define NDELIVER 8
#else
#define OPS_PER_WORKER 300
#define NDELIVER 20
#endif
#define NWORKERS 4
#define NUSERS 50
#define NAPPENDERS 3

static const char *conf;

/* ------------------------------------------------------------------ */
/* Acknowledged operations, as logged by the workers. */

typedef struct ack {
    int worker;
    int mbox;                /* index into the mailbox table of the phase */
    uint32_t uid;
    uint64_t seed;
    uint32_t bodylen;
    unsigned flags;          /* final flags, after the worker's later stores */
    int expunged;
    double t_begin, t_end;   /* of the operation that gave the UID */
    size_t seq;              /* position in the worker's log */
} ack;

typedef struct acklist { ack *v; size_t n, cap; } acklist;
static ack *ack_add(acklist *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            FAIL("out of memory");
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    return &l->v[l->n++];
}

static ack *ack_find(acklist *l, int mbox, uint32_t uid)
{
    for (size_t i = l->n; i-- > 0;)
        if (l->v[i].mbox == mbox && l->v[i].uid == uid)
            return &l->v[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Workers (children). They write "ERR ..." and exit 1 on any failure. */

static FILE *wlog;
#define W_CHECK(call)                                                                                      \
    do {                                                                                                   \
        int _rc = (call);                                                                                  \
        if (_rc != LS_OK) {                                                                                \
            fprintf(wlog, "ERR %s returned %d (%s): %s\n", #call, _rc, ls_error_string(_rc), ls_error_last()); \
            fprintf(stderr, "worker: %s returned %d (%s): %s\n", #call, _rc, ls_error_string(_rc),             \
                    ls_error_last());                                                                      \
            fclose(wlog);                                                                                  \
            _exit(1);                                                                                      \
        }                                                                                                  \
    } while (0)

static FILE *open_log(int phase, int worker)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/phase%d-worker%d.log", tu_dir, phase, worker);
    FILE *f = fopen(p, "w");
    if (!f)
        FAIL("create %s: %s", p, strerror(errno));
    return f;
}

static unsigned random_flags(tu_rng *r)
{
    static const unsigned f[4] = { LS_FLAG_SEEN, LS_FLAG_ANSWERED, LS_FLAG_FLAGGED, LS_FLAG_DRAFT };
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        if (tu_below(r, 3) == 0)
            v |= f[i];
    return v;
}

#define P1_NMB 4
static const char *const p1_names[P1_NMB] = { "user.c0", "user.c2", "user.c3", "user.all" };

typedef struct own { uint32_t uid; int mbox; } own;

static void worker1(uint64_t seed, int w)
{
    wlog = open_log(1, w);
    setvbuf(wlog, NULL, _IOLBF, 0);
    tu_rng r = tu_rng_make(seed, 100 + (uint64_t)w);
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb[P1_NMB];
    W_CHECK(ls_store_open(conf, 0, &st));
    W_CHECK(ls_session_new(st, NULL, &s));
    for (int i = 0; i < P1_NMB; i++)
        W_CHECK(ls_mailbox_open(s, p1_names[i], LS_MAILBOX_OPEN_RDWR, &mb[i]));
    int home = w <= 1 ? 0 : w - 1;
    own *mine = calloc(OPS_PER_WORKER * 5, sizeof *mine);
    size_t nmine = 0;
    uint64_t next_seed = (uint64_t)(w + 1) * 1000000;
    for (int i = 0; i < OPS_PER_WORKER; i++) {
        int m = tu_below(&r, 5) == 0 ? 3 : home;
        unsigned x = (unsigned)tu_below(&r, 100);
        /* my messages in m */
        size_t cand[64], nc = 0;
        for (size_t k = nmine; k-- > 0 && nc < 64;)
            if (mine[k].mbox == m)
                cand[nc++] = k;
        if (nc == 0 && x >= 55)
            x = 0;
        if (x < 45) {
            uint64_t sd = next_seed++;
            uint32_t bl = 50 + (uint32_t)tu_below(&r, 4000);
            size_t len;
            char *msg = tu_msg_make(sd, bl, &len);
            ls_date d = tu_msg_date(sd);
            ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = random_flags(&r), .internaldate = &d };
            uint32_t uid;
            double t0 = tu_now_ms();
            W_CHECK(ls_message_append(mb[m], msg, len, &o, &uid));
            double t1 = tu_now_ms();
            fprintf(wlog, "APP %d %u %" PRIu64 " %u %u %.3f %.3f\n", m, uid, sd, bl, o.flags, t0, t1);
            mine[nmine++] = (own){ uid, m };
            free(msg);
        } else if (x < 55) {
            size_t k = 2 + tu_below(&r, 4);
            ls_append_item it[5];
            char *msgs[5];
            ls_date d[5];
            uint64_t sds[5];
            uint32_t bls[5];
            for (size_t j = 0; j < k; j++) {
                memset(&it[j], 0, sizeof it[j]);
                sds[j] = next_seed++;
                bls[j] = 50 + (uint32_t)tu_below(&r, 4000);
                msgs[j] = tu_msg_make(sds[j], bls[j], &it[j].len);
                it[j].msg = msgs[j];
                d[j] = tu_msg_date(sds[j]);
                it[j].opts.version = LS_APPEND_OPTS_VERSION;
                it[j].opts.internaldate = &d[j];
                it[j].opts.flags = random_flags(&r);
            }
            double t0 = tu_now_ms();
            W_CHECK(ls_message_append_many(mb[m], it, k));
            double t1 = tu_now_ms();
            for (size_t j = 0; j < k; j++) {
                fprintf(wlog, "APP %d %u %" PRIu64 " %u %u %.3f %.3f\n", m, it[j].uid, sds[j], bls[j],
                        it[j].opts.flags, t0, t1);
                mine[nmine++] = (own){ it[j].uid, m };
                free(msgs[j]);
            }
        } else if (x < 80) {
            own *o = &mine[cand[tu_below(&r, nc)]];
            int op = (int)tu_below(&r, 3);
            unsigned f = random_flags(&r);
            ls_set set = { &(ls_range){ o->uid, o->uid }, 1 };
            W_CHECK(ls_message_store(mb[m], &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = op, .flags = f }, NULL));
            fprintf(wlog, "STO %d %u %d %u\n", m, o->uid, op, f);
        } else if (x < 92) {
            size_t ki = cand[tu_below(&r, nc)];
            own o = mine[ki];
            ls_set set = { &(ls_range){ o.uid, o.uid }, 1 };
            W_CHECK(ls_message_store(mb[m], &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL));
            fprintf(wlog, "STO %d %u %d %u\n", m, o.uid, LS_MESSAGE_STORE_ADD, LS_FLAG_DELETED);
            ls_set got;
            W_CHECK(ls_message_expunge(mb[m], &set, &got));
            if (got.n != 1 || got.r[0].lo != o.uid || got.r[0].hi != o.uid) {
                fprintf(wlog, "ERR expunge of uid %u reported %zu ranges\n", o.uid, got.n);
                _exit(1);
            }
            ls_set_dispose(&got);
            fprintf(wlog, "EXP %d %u\n", m, o.uid);
            mine[ki] = mine[--nmine];
        } else if (m != 3) {
            own o = mine[cand[tu_below(&r, nc)]];
            ls_set set = { &(ls_range){ o.uid, o.uid }, 1 };
            ls_uidmap map;
            double t0 = tu_now_ms();
            W_CHECK(ls_message_copy(mb[m], &set, p1_names[3], &map));
            double t1 = tu_now_ms();
            if (map.n != 1 || map.src[0] != o.uid) {
                fprintf(wlog, "ERR copy of uid %u returned a map of %zu\n", o.uid, map.n);
                _exit(1);
            }
            fprintf(wlog, "CPY %d %u 3 %u %.3f %.3f\n", m, o.uid, map.dst[0], t0, t1);
            mine[nmine++] = (own){ map.dst[0], 3 };
            ls_uidmap_dispose(&map);
        }
    }
    for (int i = 0; i < P1_NMB; i++)
        ls_mailbox_close(mb[i]);
    ls_session_free(s);
    ls_store_close(st);
    fprintf(wlog, "END\n");
    fclose(wlog);
    _exit(0);
}

/* Read a worker's log into acks (flags and expunges applied). */
static void read_log(int phase, int w, acklist *acks)
{
    char p[4200], line[8192];
    snprintf(p, sizeof p, "%s/phase%d-worker%d.log", tu_dir, phase, w);
    FILE *f = fopen(p, "r");
    if (!f)
        FAIL("open %s: %s", p, strerror(errno));
    int ended = 0;
    size_t seq = 0;
    while (fgets(line, sizeof line, f)) {
        seq++;
        int m, op;
        uint32_t uid, nuid, bl;
        unsigned fl;
        uint64_t sd;
        double t0, t1;
        if (!strncmp(line, "ERR", 3))
            FAIL("phase %d worker %d failed: %s", phase, w, line + 4);
        if (!strncmp(line, "END", 3)) {
            ended = 1;
        } else if (sscanf(line, "APP %d %u %" SCNu64 " %u %u %lf %lf", &m, &uid, &sd, &bl, &fl, &t0, &t1) == 7) {
            ack *a = ack_add(acks);
            *a = (ack){ w, m, uid, sd, bl, fl, 0, t0, t1, seq };
        } else if (sscanf(line, "STO %d %u %d %u", &m, &uid, &op, &fl) == 4) {
            ack *a = ack_find(acks, m, uid);
            if (!a || a->worker != w || a->expunged)
                FAIL("phase %d worker %d stored flags on uid %u it does not own (test bug)", phase, w, uid);
            a->flags = op == LS_MESSAGE_STORE_ADD ? a->flags | fl : op == LS_MESSAGE_STORE_REMOVE ? a->flags & ~fl : fl;
        } else if (sscanf(line, "EXP %d %u", &m, &uid) == 2) {
            ack *a = ack_find(acks, m, uid);
            if (!a || a->worker != w)
                FAIL("phase %d worker %d expunged uid %u it does not own (test bug)", phase, w, uid);
            a->expunged = 1;
        } else if (sscanf(line, "CPY %d %u %*d %u %lf %lf", &m, &uid, &nuid, &t0, &t1) == 5) {
            ack *src = ack_find(acks, m, uid);
            if (!src)
                FAIL("phase %d worker %d copied unknown uid %u (test bug)", phase, w, uid);
            ack c = *src;
            ack *a = ack_add(acks);
            *a = (ack){ w, 3, nuid, c.seed, c.bodylen, c.flags, 0, t0, t1, seq };
        } else {
            FAIL("phase %d worker %d: bad log line '%s'", phase, w, line);
        }
    }
    fclose(f);
    if (!ended)
        FAIL("phase %d worker %d did not finish its log", phase, w);
}

static int cmp_ack(const void *a, const void *b)
{
    const ack *x = a, *y = b;
    if (x->mbox != y->mbox)
        return x->mbox - y->mbox;
    return (x->uid > y->uid) - (x->uid < y->uid);
}

/* UID uniqueness and commit order among acknowledged operations. */
static void check_uid_order(acklist *acks, const char *const *names, const char *phase)
{
    qsort(acks->v, acks->n, sizeof *acks->v, cmp_ack);
    for (size_t i = 1; i < acks->n; i++)
        if (acks->v[i].mbox == acks->v[i - 1].mbox && acks->v[i].uid == acks->v[i - 1].uid)
            FAIL("%s: %s uid %u was acknowledged twice (seeds %" PRIu64 " by worker %d and %" PRIu64
                 " by worker %d)",
                 phase, names[acks->v[i].mbox], acks->v[i].uid, acks->v[i - 1].seed, acks->v[i - 1].worker,
                 acks->v[i].seed, acks->v[i].worker);
    size_t pairs = 0;
    for (size_t i = 0; i < acks->n; i++)
        for (size_t j = 0; j < acks->n; j++) {
            ack *a = &acks->v[i], *b = &acks->v[j];
            if (a->mbox != b->mbox || a == b)
                continue;
            if (a->worker == b->worker && a->seq < b->seq && a->uid > b->uid)
                FAIL("%s: %s: worker %d got uid %u and later uid %u", phase, names[a->mbox], a->worker, a->uid,
                     b->uid);
            if (a->t_end < b->t_begin) {
                pairs++;
                if (a->uid > b->uid)
                    FAIL("%s: %s: uid %u (worker %d) was acknowledged at %.3f ms, before the append that got uid %u "
                         "(worker %d) began at %.3f ms: UIDs did not commit in order",
                         phase, names[a->mbox], a->uid, a->worker, a->t_end, b->uid, b->worker, b->t_begin);
            }
        }
    tu_log("%s: %zu acknowledged messages, %zu ordered pairs checked", phase, acks->n, pairs);
}

/* Every acknowledged message there (content, flags), nothing else. */
typedef struct recs { ls_record *v; size_t n, cap; } recs;
static int rec_cb(const ls_record *r, const ls_cached *c, void *arg)
{
    (void)c;
    recs *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            FAIL("out of memory");
    }
    l->v[l->n++] = *r;
    return 0;
}

static void verify_mailbox(ls_session *s, const char *name, int mbox, acklist *acks, const char *phase,
                           size_t extra, uint32_t *extra_uids)
{
    ls_mailbox *mb;
    CHECK_LS(ls_mailbox_open(s, name, LS_MAILBOX_OPEN_RDWR, &mb));
    recs l = { 0 };
    CHECK_LS(ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_RECORD, rec_cb, &l));
    size_t expected = 0, found = 0;
    for (size_t i = 0; i < acks->n; i++) {
        ack *a = &acks->v[i];
        if (a->mbox != mbox)
            continue;
        ls_record *hit = NULL;
        for (size_t j = 0; j < l.n && !hit; j++)
            if (l.v[j].uid == a->uid)
                hit = &l.v[j];
        if (a->expunged) {
            if (hit)
                FAIL("%s: %s uid %u was acknowledged as expunged but is there", phase, name, a->uid);
            continue;
        }
        expected++;
        if (!hit)
            FAIL("%s: %s uid %u (seed %" PRIu64 ", worker %d) was acknowledged but is missing", phase, name, a->uid,
                 a->seed, a->worker);
        found++;
        uint64_t sd = tu_fetch_verify(mb, a->uid, phase);
        if (sd != a->seed)
            FAIL("%s: %s uid %u holds seed %" PRIu64 ", acknowledged with seed %" PRIu64, phase, name, a->uid, sd,
                 a->seed);
        if (hit->flags != a->flags)
            FAIL("%s: %s uid %u: flags 0x%x, expected 0x%x from the acknowledged changes", phase, name, a->uid,
                 hit->flags, a->flags);
    }
    for (size_t j = 0; j < l.n; j++) {
        int known = 0;
        for (size_t i = 0; i < acks->n && !known; i++)
            known = acks->v[i].mbox == mbox && acks->v[i].uid == l.v[j].uid;
        for (size_t i = 0; i < extra && !known; i++)
            known = extra_uids[i] == l.v[j].uid;
        if (!known)
            FAIL("%s: %s uid %u is there but no operation acknowledged it", phase, name, l.v[j].uid);
    }
    if (l.n != expected + extra)
        FAIL("%s: %s holds %zu messages, expected %zu", phase, name, l.n, expected + extra);
    tu_check_counters(mb, phase);
    free(l.v);
    ls_mailbox_close(mb);
}

static void wait_workers(pid_t *pids, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            FAIL("%s %d exited with status 0x%x (see its log in %s)", what, i, status, tu_dir);
    }
}

static void phase1(uint64_t seed)
{
    double t0 = tu_now_ms();
    {
        ls_store *st;
        ls_session *s;
        CHECK_LS(ls_store_open(conf, 0, &st));
        CHECK_LS(ls_session_new(st, NULL, &s));
        for (int i = 0; i < P1_NMB; i++)
            CHECK_LS(ls_mailbox_create(s, p1_names[i], NULL));
        ls_session_free(s);
        ls_store_close(st);
    }
    pid_t pids[NWORKERS];
    fflush(NULL);
    for (int w = 0; w < NWORKERS; w++) {
        pids[w] = fork();
        if (pids[w] < 0)
            FAIL("fork: %s", strerror(errno));
        if (pids[w] == 0)
            worker1(seed, w);
    }
    wait_workers(pids, NWORKERS, "phase 1 worker");
    double t1 = tu_now_ms();
    acklist acks = { 0 };
    for (int w = 0; w < NWORKERS; w++)
        read_log(1, w, &acks);
    check_uid_order(&acks, p1_names, "phase 1");
    ls_store *st;
    ls_session *s;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    for (int i = 0; i < P1_NMB; i++)
        verify_mailbox(s, p1_names[i], i, &acks, "phase 1", 0, NULL);
    tu_check_clean(st, "phase 1", 0);
    uint64_t removed = 0;
    CHECK_LS(ls_store_cleanup(st, 0, &removed));
    uint64_t notices = tu_check_clean(st, "phase 1 after cleanup", 1);
    CHECK(notices == 0, "phase 1: %" PRIu64 " check notice(s) after cleanup on a store no process crashed in", notices);
    for (int i = 0; i < P1_NMB; i++)
        verify_mailbox(s, p1_names[i], i, &acks, "phase 1 after cleanup", 0, NULL);
    ls_session_free(s);
    ls_store_close(st);
    tu_log("phase 1: %d workers x %d operations in %.1f s (verified in %.1f s), cleanup removed %" PRIu64 " files",
           NWORKERS, OPS_PER_WORKER, (t1 - t0) / 1000, (tu_now_ms() - t1) / 1000, removed);
    free(acks.v);
}

/* ------------------------------------------------------------------ */
/* Phase 2: deliver to 50 users while others append to their INBOXes. */

static char *user_mbox(int u)
{
    static char names[NUSERS][32];
    snprintf(names[u], sizeof names[u], "user.u%02d", u);
    return names[u];
}

static void deliverer(uint64_t seed, int donefd, int readyfd)
{
    (void)seed;
    wlog = open_log(2, NAPPENDERS);
    ls_store *st;
    ls_session *s;
    W_CHECK(ls_store_open(conf, 0, &st));
    W_CHECK(ls_session_new(st, NULL, &s));
    char unames[NUSERS][16];
    const char *users[NUSERS];
    for (int u = 0; u < NUSERS; u++) {
        snprintf(unames[u], sizeof unames[u], "u%02d", u);
        users[u] = unames[u];
    }
    ls_deliver_result res[NUSERS];
    /* start when the appenders are appending */
    for (int i = 0; i < NAPPENDERS; i++) {
        char c;
        if (read(readyfd, &c, 1) != 1) {
            fprintf(wlog, "ERR an appender did not start\n");
            _exit(1);
        }
    }
    for (int j = 0; j < NDELIVER; j++) {
        uint64_t sd = 9000000 + (uint64_t)j;
        size_t len;
        char *msg = tu_msg_make(sd, 500 + (size_t)j * 300, &len);
        ls_date d = tu_msg_date(sd);
        ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &d };
        double t0 = tu_now_ms();
        int rc = ls_message_deliver(s, msg, len, users, NUSERS, NULL, &o, res);
        double t1 = tu_now_ms();
        for (int u = 0; u < NUSERS; u++)
            if (res[u].code != LS_OK) {
                fprintf(wlog, "ERR deliver %d to %s: %d (%s): %s\n", j, users[u], res[u].code,
                        ls_error_string(res[u].code), res[u].error);
                _exit(1);
            }
        if (rc != LS_OK) {
            fprintf(wlog, "ERR deliver %d returned %d (%s) though every recipient succeeded\n", j, rc,
                    ls_error_string(rc));
            _exit(1);
        }
        for (int u = 0; u < NUSERS; u++)
            fprintf(wlog, "APP %d %u %" PRIu64 " %zu 0 %.3f %.3f\n", u, res[u].uid, sd, 500 + (size_t)j * 300, t0, t1);
        free(msg);
    }
    ls_session_free(s);
    ls_store_close(st);
    fprintf(wlog, "END\n");
    fclose(wlog);
    close(donefd);
    _exit(0);
}

static void appender(uint64_t seed, int a, int donefd, int readyfd)
{
    wlog = open_log(2, a);
    setvbuf(wlog, NULL, _IOLBF, 0);
    tu_rng r = tu_rng_make(seed, 200 + (uint64_t)a);
    ls_store *st;
    ls_session *s;
    W_CHECK(ls_store_open(conf, 0, &st));
    W_CHECK(ls_session_new(st, NULL, &s));
    ls_mailbox *mb[NUSERS];
    for (int u = 0; u < NUSERS; u++)
        W_CHECK(ls_mailbox_open(s, user_mbox(u), LS_MAILBOX_OPEN_RDWR, &mb[u]));
    fcntl(donefd, F_SETFL, O_NONBLOCK);
    if (tu_write_all(readyfd, "r", 1))
        _exit(2);
    close(readyfd);
    uint64_t next_seed = (uint64_t)(a + 11) * 1000000;
    for (int i = 0; i < 2000; i++) {
        char c;
        if (i >= 20 && read(donefd, &c, 1) == 0)
            break; /* the deliverer is done */
        int u = (int)tu_below(&r, NUSERS);
        uint64_t sd = next_seed++;
        uint32_t bl = 50 + (uint32_t)tu_below(&r, 2000);
        size_t len;
        char *msg = tu_msg_make(sd, bl, &len);
        ls_date d = tu_msg_date(sd);
        ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = random_flags(&r), .internaldate = &d };
        uint32_t uid;
        double t0 = tu_now_ms();
        if (tu_below(&r, 4) == 0) {
            ls_append_item it = { .msg = msg, .len = len, .opts = o };
            W_CHECK(ls_message_append_many(mb[u], &it, 1));
            uid = it.uid;
        } else {
            W_CHECK(ls_message_append(mb[u], msg, len, &o, &uid));
        }
        double t1 = tu_now_ms();
        fprintf(wlog, "APP %d %u %" PRIu64 " %u %u %.3f %.3f\n", u, uid, sd, bl, o.flags, t0, t1);
        free(msg);
    }
    for (int u = 0; u < NUSERS; u++)
        ls_mailbox_close(mb[u]);
    ls_session_free(s);
    ls_store_close(st);
    fprintf(wlog, "END\n");
    fclose(wlog);
    _exit(0);
}

static void phase2(uint64_t seed)
{
    double t0 = tu_now_ms();
    {
        ls_store *st;
        ls_session *s;
        CHECK_LS(ls_store_open(conf, 0, &st));
        CHECK_LS(ls_session_new(st, NULL, &s));
        for (int u = 0; u < NUSERS; u++)
            CHECK_LS(ls_mailbox_create(s, user_mbox(u), NULL));
        ls_session_free(s);
        ls_store_close(st);
    }
    int donep[2], readyp[2];
    if (pipe(donep) != 0 || pipe(readyp) != 0)
        FAIL("pipe: %s", strerror(errno));
    pid_t pids[NAPPENDERS + 1];
    fflush(NULL);
    for (int a = 0; a <= NAPPENDERS; a++) {
        pids[a] = fork();
        if (pids[a] < 0)
            FAIL("fork: %s", strerror(errno));
        if (pids[a] == 0) {
            if (a == NAPPENDERS) {
                close(donep[0]);
                close(readyp[1]);
                deliverer(seed, donep[1], readyp[0]);
            }
            close(donep[1]);
            close(readyp[0]);
            appender(seed, a, donep[0], readyp[1]);
        }
    }
    close(donep[0]);
    close(donep[1]);
    close(readyp[0]);
    close(readyp[1]);
    wait_workers(pids, NAPPENDERS + 1, "phase 2 process");
    double t1 = tu_now_ms();
    acklist acks = { 0 };
    for (int a = 0; a <= NAPPENDERS; a++)
        read_log(2, a, &acks);
    /* appends that overlapped the deliveries */
    double dbegin = 1e300, dend = 0;
    for (size_t i = 0; i < acks.n; i++)
        if (acks.v[i].worker == NAPPENDERS) {
            if (acks.v[i].t_begin < dbegin)
                dbegin = acks.v[i].t_begin;
            if (acks.v[i].t_end > dend)
                dend = acks.v[i].t_end;
        }
    size_t overlapping = 0;
    for (size_t i = 0; i < acks.n; i++)
        if (acks.v[i].worker != NAPPENDERS && acks.v[i].t_end > dbegin && acks.v[i].t_begin < dend)
            overlapping++;
    const char *names[NUSERS];
    for (int u = 0; u < NUSERS; u++)
        names[u] = strdup(user_mbox(u));
    check_uid_order(&acks, names, "phase 2");
    ls_store *st;
    ls_session *s;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    for (int u = 0; u < NUSERS; u++)
        verify_mailbox(s, names[u], u, &acks, "phase 2", 0, NULL);
    /* each delivered message exactly once per user, all names one file */
    for (int j = 0; j < NDELIVER; j++) {
        uint64_t sd = 9000000 + (uint64_t)j;
        ino_t ino = 0;
        dev_t dev = 0;
        for (int u = 0; u < NUSERS; u++) {
            int count = 0;
            uint32_t uid = 0;
            for (size_t i = 0; i < acks.n; i++)
                if (acks.v[i].mbox == u && acks.v[i].seed == sd) {
                    count++;
                    uid = acks.v[i].uid;
                }
            if (count != 1)
                FAIL("phase 2: delivery %d is in %s %d times", j, names[u], count);
            ls_mailbox *mb;
            CHECK_LS(ls_mailbox_open(s, names[u], LS_MAILBOX_OPEN_RDONLY, &mb));
            char *path;
            CHECK_LS(ls_message_path(mb, uid, &path));
            struct stat sb;
            if (stat(path, &sb) != 0)
                FAIL("phase 2: %s uid %u: stat %s: %s", names[u], uid, path, strerror(errno));
            if (u == 0) {
                ino = sb.st_ino;
                dev = sb.st_dev;
            } else if (sb.st_ino != ino || sb.st_dev != dev) {
                FAIL("phase 2: delivery %d: %s uid %u is not the same file as %s's (not stored once)", j, names[u],
                     uid, names[0]);
            }
            ls_free(path);
            ls_mailbox_close(mb);
        }
    }
    tu_check_clean(st, "phase 2", 0);
    ls_session_free(s);
    ls_store_close(st);
    tu_log("phase 2: %d deliveries to %d users with %d appenders in %.1f s; %zu appends overlapped the deliveries",
           NDELIVER, NUSERS, NAPPENDERS, (t1 - t0) / 1000, overlapping);
    CHECK(overlapping > 0, "phase 2: no append ran while the deliveries did: the test did not test concurrency");
    for (int u = 0; u < NUSERS; u++)
        free((char *)names[u]);
    free(acks.v);
}

int main(void)
{
    tu_begin("concurrency");
    uint64_t seed = tu_seed(424242);
    conf = tu_write_conf(tu_dir, NULL, NULL, "");
    phase1(seed);
    phase2(seed);
    printf("concurrency: OK\n");
    return 0;
}

/*
 * crash_kill: docs/contract.md §2.1 (one commit point), §2.2 (durability)
 * and §2.3 (nothing lost, nothing half) under kill -9.
 *
 * A child process works on a store in a loop (single and batch appends,
 * appends of content already stored (single instance), flag changes,
 * copies, moves, expunges, deliveries to two users, cleanup), telling the parent
 * through a pipe what it is about to do ("B ...") and what was acknowledged
 * ("A ...": the call returned LS_OK). The parent kills it with SIGKILL at a
 * random instant (1-30 ms after the child has opened the store; one time in
 * five within the first millisecond after the fork, i.e. while the store is
 * being opened), then opens the store
 * itself and verifies, against its model built from the acknowledgements:
 *   - every acknowledged append/copy/move target is there, byte-identical
 *     (fetched and compared with the regenerated message) with the right
 *     internal date;
 *   - acknowledged flag changes are visible, acknowledged expunges are gone,
 *     an expunged UID never comes back, UIDNEXT never goes down;
 *   - a message nobody acknowledged may appear only if an operation that
 *     could have produced it was begun (in-flight, or an adopted leftover);
 *   - the in-flight operation happened entirely or not at all (a batch
 *     append, a multi-UID expunge or move; a move that removed its sources
 *     put them in the target); an interrupted batch append stays all or
 *     nothing after the next writer adopted crash leftovers (the verifier
 *     appends one message to its mailbox first), and what it left out
 *     never shows up later;
 *   - every record has its file (fetch works), STATUS counters equal a scan,
 *     and ls_store_check reports no error (notices are fine).
 * The child is restarted on the same store until KILLS kills were made.
 * At the end one append per mailbox adopts every leftover, cleanup runs,
 * and everything is verified once more. Every line the children sent is in
 * journal.txt in the (kept) store directory when the test fails.
 * The store uses the default "fsync: all"; "crash_kill messages" (the ctest
 * test crash_kill_fsync_messages, 100 kills) uses "fsync: messages".
 *
 * Environment: LIBSTORE_TEST_SEED (seed), CRASH_KILLS (number of kills,
 * default 200), LIBSTORE_TEST_KEEP (keep the store).
 */
#include "testutil.h"

#define DEFAULT_KILLS 200

#define NMB 4
static const char *const mbnames[NMB] = { "user.crash", "user.crash.a", "user.crash.b", "user.crash2" };
/* deliveries go to the INBOXes of these users: mailboxes 0 and 3 */
static const char *const dlv_users[2] = { "crash", "crash2" };
static const int dlv_mbox[2] = { 0, 3 };
static const char *conf;
static FILE *journal;

enum { E_NONE = 0, E_LIVE = 1, E_GONE = 2 };
typedef struct ment {
    uint8_t state;
    unsigned flags;
    uint64_t seed;
    uint32_t bodylen;
    int seen_round;          /* verification round that last saw it */
} ment;

typedef struct mstate {
    ment *e;                 /* indexed by UID */
    uint32_t cap;
    uint64_t *possible;      /* multiset: seeds that may appear unacknowledged */
    size_t npossible, cappossible;
    uint32_t uidnext, uidvalidity;
} mstate;
static mstate M[NMB];

static ment *ment_at(int m, uint32_t uid)
{
    mstate *s = &M[m];
    if (uid >= s->cap) {
        uint32_t ncap = s->cap ? s->cap : 256;
        while (ncap <= uid)
            ncap *= 2;
        ment *ne = realloc(s->e, ncap * sizeof *ne);
        if (!ne)
            FAIL("out of memory");
        memset(ne + s->cap, 0, (ncap - s->cap) * sizeof *ne);
        s->e = ne;
        s->cap = ncap;
    }
    return &s->e[uid];
}

static void possible_add(int m, uint64_t seed)
{
    mstate *s = &M[m];
    if (s->npossible == s->cappossible) {
        s->cappossible = s->cappossible ? s->cappossible * 2 : 256;
        s->possible = realloc(s->possible, s->cappossible * sizeof *s->possible);
        if (!s->possible)
            FAIL("out of memory");
    }
    s->possible[s->npossible++] = seed;
}

static int possible_take(int m, uint64_t seed)
{
    mstate *s = &M[m];
    for (size_t i = 0; i < s->npossible; i++)
        if (s->possible[i] == seed) {
            s->possible[i] = s->possible[--s->npossible];
            return 1;
        }
    return 0;
}

static unsigned apply_store(unsigned old, int op, unsigned flags)
{
    switch (op) {
    case LS_MESSAGE_STORE_ADD: return old | flags;
    case LS_MESSAGE_STORE_REMOVE: return old & ~flags;
    default: return flags;
    }
}

/* ------------------------------------------------------------------ */
/* The child: works until killed. */

/* What the child knows of a mailbox: live UIDs and their content. */
typedef struct ulist { uint32_t *v; uint64_t *seed; uint32_t *bodylen; size_t n, cap; } ulist;
static void ul_add(ulist *l, uint32_t u, uint64_t seed, uint32_t bodylen)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        l->seed = realloc(l->seed, l->cap * sizeof *l->seed);
        l->bodylen = realloc(l->bodylen, l->cap * sizeof *l->bodylen);
        if (!l->v || !l->seed || !l->bodylen)
            _exit(4);
    }
    l->v[l->n] = u;
    l->seed[l->n] = seed;
    l->bodylen[l->n++] = bodylen;
}
static size_t ul_find(const ulist *l, uint32_t u)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == u)
            return i;
    _exit(7); /* the child's own bookkeeping is wrong */
}
static void ul_del(ulist *l, uint32_t u)
{
    size_t i = ul_find(l, u);
    l->n--;
    l->v[i] = l->v[l->n];
    l->seed[i] = l->seed[l->n];
    l->bodylen[i] = l->bodylen[l->n];
}

/* The most messages in one batch append of the child. */
#define MAX_BATCH 24

static int out_fd;
static __attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
{
    char buf[4000]; /* under PIPE_BUF: one write(2) is atomic */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof buf - 1)
        _exit(5);
    if (tu_write_all(out_fd, buf, (size_t)n)) /* one write(2) of < PIPE_BUF: atomic */
        _exit(6);
}

#define CHILD_CHECK(call)                                                                                  \
    do {                                                                                                   \
        int _rc = (call);                                                                                  \
        if (_rc != LS_OK) {                                                                                \
            say("E %s returned %d (%s): %s\n", #call, _rc, ls_error_string(_rc), ls_error_last());             \
            _exit(3);                                                                                      \
        }                                                                                                  \
    } while (0)

static unsigned random_flags(tu_rng *r)
{
    static const unsigned f[4] = { LS_FLAG_SEEN, LS_FLAG_ANSWERED, LS_FLAG_FLAGGED, LS_FLAG_DRAFT };
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        if (tu_below(r, 3) == 0)
            v |= f[i];
    return v;
}

static uint32_t random_bodylen(tu_rng *r)
{
    return tu_below(r, 10) == 0 ? 8000 + (uint32_t)tu_below(r, 24000) : 50 + (uint32_t)tu_below(r, 3000);
}

static void child_main(uint64_t seed, int restart, int fd)
{
    out_fd = fd;
    tu_rng r = tu_rng_make(seed, 1000 + (uint64_t)restart);
    uint64_t next_seed = (uint64_t)(restart + 1) * 1000000;
    ulist live[NMB] = { { 0 } };
    /* the parent's verified model is the store's state (forked memory) */
    for (int m = 0; m < NMB; m++)
        for (uint32_t u = 0; u < M[m].cap; u++)
            if (M[m].e[u].state == E_LIVE)
                ul_add(&live[m], u, M[m].e[u].seed, M[m].e[u].bodylen);
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb[NMB];
    CHILD_CHECK(ls_store_open(conf, 0, &st));
    CHILD_CHECK(ls_session_new(st, NULL, &s));
    for (int m = 0; m < NMB; m++)
        CHILD_CHECK(ls_mailbox_open(s, mbnames[m], LS_MAILBOX_OPEN_RDWR, &mb[m]));
    say("S\n");
    for (;;) {
        int m = (int)tu_below(&r, NMB);
        size_t total = 0;
        for (int i = 0; i < NMB; i++)
            total += live[i].n;
        unsigned w = (unsigned)tu_below(&r, 100);
        if (total > 90 && w < 55)
            w = 80; /* keep the store small: expunge more */
        if (live[m].n == 0 && w >= 35)
            w = 0;
        if (w < 25) { /* single append (sometimes the same content again: single instance) */
            uint64_t sd;
            uint32_t bl;
            int m2 = (int)tu_below(&r, NMB);
            if (tu_below(&r, 6) == 0 && live[m2].n) {
                size_t i = tu_below(&r, live[m2].n);
                sd = live[m2].seed[i];
                bl = live[m2].bodylen[i];
            } else {
                sd = next_seed++;
                bl = random_bodylen(&r);
            }
            ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = random_flags(&r) };
            ls_date d = tu_msg_date(sd);
            o.internaldate = &d;
            size_t len;
            char *msg = tu_msg_make(sd, bl, &len);
            say("B APP %d %" PRIu64 " %u %u\n", m, sd, bl, o.flags);
            uint32_t uid = 0;
            CHILD_CHECK(ls_message_append(mb[m], msg, len, &o, &uid));
            say("A APP %d %u\n", m, uid);
            ul_add(&live[m], uid, sd, bl);
            free(msg);
        } else if (w < 35) { /* batch append */
            /* one batch in four is large enough to run in two threads
             * (BATCH_THREADED_MIN in libstore/message/append.c) */
            size_t k = tu_below(&r, 4) == 0 ? 16 + tu_below(&r, MAX_BATCH - 15) : 2 + tu_below(&r, 4);
            ls_append_item it[MAX_BATCH];
            uint64_t sds[MAX_BATCH];
            uint32_t bls[MAX_BATCH];
            ls_date d[MAX_BATCH];
            char *msgs[MAX_BATCH];
            char line[2048];
            int o = snprintf(line, sizeof line, "B APPN %d %zu", m, k);
            for (size_t i = 0; i < k; i++) {
                uint64_t sd = sds[i] = next_seed++;
                uint32_t bl = bls[i] = random_bodylen(&r);
                memset(&it[i], 0, sizeof it[i]);
                msgs[i] = tu_msg_make(sd, bl, &it[i].len);
                it[i].msg = msgs[i];
                it[i].opts.version = LS_APPEND_OPTS_VERSION;
                it[i].opts.flags = random_flags(&r);
                d[i] = tu_msg_date(sd);
                it[i].opts.internaldate = &d[i];
                o += snprintf(line + o, sizeof line - (size_t)o, " %" PRIu64 " %u %u", sd, bl, it[i].opts.flags);
            }
            say("%s\n", line);
            CHILD_CHECK(ls_message_append_many(mb[m], it, k));
            o = snprintf(line, sizeof line, "A APPN %d %zu", m, k);
            for (size_t i = 0; i < k; i++) {
                o += snprintf(line + o, sizeof line - (size_t)o, " %u", it[i].uid);
                ul_add(&live[m], it[i].uid, sds[i], bls[i]);
                free(msgs[i]);
            }
            say("%s\n", line);
        } else if (w < 60) { /* flags */
            uint32_t uid = live[m].v[tu_below(&r, live[m].n)];
            int op = (int)tu_below(&r, 3);
            unsigned f = random_flags(&r);
            if (op == LS_MESSAGE_STORE_REPLACE && tu_below(&r, 4) == 0)
                f |= LS_FLAG_DELETED;
            ls_set set = { &(ls_range){ uid, uid }, 1 };
            say("B STO %d %u %d %u\n", m, uid, op, f);
            CHILD_CHECK(ls_message_store(mb[m], &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = op, .flags = f }, NULL));
            say("A STO %d %u\n", m, uid);
        } else if (w < 75) { /* copy or move of 1-3 messages */
            int move = tu_below(&r, 2) == 0;
            int dst = (int)tu_below(&r, NMB);
            if (move && dst == m)
                dst = (m + 1) % NMB;
            size_t k = 1 + tu_below(&r, 3);
            if (k > live[m].n)
                k = live[m].n;
            uint32_t pick[3];
            size_t np = 0;
            while (np < k) {
                uint32_t u = live[m].v[tu_below(&r, live[m].n)];
                int dup = 0;
                for (size_t i = 0; i < np; i++)
                    dup |= pick[i] == u;
                if (!dup)
                    pick[np++] = u;
            }
            ls_range rg[3];
            /* sorted, single ranges */
            for (size_t i = 0; i < np; i++)
                for (size_t j = i + 1; j < np; j++)
                    if (pick[j] < pick[i]) {
                        uint32_t t = pick[i];
                        pick[i] = pick[j];
                        pick[j] = t;
                    }
            for (size_t i = 0; i < np; i++)
                rg[i] = (ls_range){ pick[i], pick[i] };
            ls_set set = { rg, np };
            char line[400];
            int o = snprintf(line, sizeof line, "B %s %d %d %zu", move ? "MOV" : "CPY", m, dst, np);
            for (size_t i = 0; i < np; i++)
                o += snprintf(line + o, sizeof line - (size_t)o, " %u", pick[i]);
            say("%s\n", line);
            ls_uidmap map;
            if (move)
                CHILD_CHECK(ls_message_move(mb[m], &set, mbnames[dst], &map));
            else
                CHILD_CHECK(ls_message_copy(mb[m], &set, mbnames[dst], &map));
            if (map.n != np) {
                say("E %s of %zu messages returned a map of %zu\n", move ? "move" : "copy", np, map.n);
                _exit(3);
            }
            o = snprintf(line, sizeof line, "A %s %d %d %zu", move ? "MOV" : "CPY", m, dst, np);
            for (size_t i = 0; i < np; i++) {
                o += snprintf(line + o, sizeof line - (size_t)o, " %u %u", map.src[i], map.dst[i]);
                size_t si = ul_find(&live[m], map.src[i]);
                uint64_t sd = live[m].seed[si];
                uint32_t bl = live[m].bodylen[si];
                if (move)
                    ul_del(&live[m], map.src[i]);
                ul_add(&live[dst], map.dst[i], sd, bl);
            }
            say("%s\n", line);
            ls_uidmap_dispose(&map);
        } else if (w < 94) { /* expunge 1-3 messages: +\Deleted (acknowledged), then expunge */
            size_t k = 1 + tu_below(&r, 3);
            if (k > live[m].n)
                k = live[m].n;
            uint32_t pick[3];
            size_t np = 0;
            while (np < k) {
                uint32_t u = live[m].v[tu_below(&r, live[m].n)];
                int dup = 0;
                for (size_t i = 0; i < np; i++)
                    dup |= pick[i] == u;
                if (!dup)
                    pick[np++] = u;
            }
            ls_range rg[3];
            for (size_t i = 0; i < np; i++)
                for (size_t j = i + 1; j < np; j++)
                    if (pick[j] < pick[i]) {
                        uint32_t t = pick[i];
                        pick[i] = pick[j];
                        pick[j] = t;
                    }
            for (size_t i = 0; i < np; i++) {
                rg[i] = (ls_range){ pick[i], pick[i] };
                ls_set one = { &rg[i], 1 };
                say("B STO %d %u %d %u\n", m, pick[i], LS_MESSAGE_STORE_ADD, LS_FLAG_DELETED);
                CHILD_CHECK(ls_message_store(mb[m], &one, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL));
                say("A STO %d %u\n", m, pick[i]);
            }
            ls_set set = { rg, np };
            char line[400];
            int o = snprintf(line, sizeof line, "B EXP %d %zu", m, np);
            for (size_t i = 0; i < np; i++)
                o += snprintf(line + o, sizeof line - (size_t)o, " %u", pick[i]);
            say("%s\n", line);
            ls_set got;
            CHILD_CHECK(ls_message_expunge(mb[m], &set, &got));
            size_t ngot = 0;
            for (size_t i = 0; i < got.n; i++)
                ngot += got.r[i].hi - got.r[i].lo + 1;
            for (size_t i = 0; i < np; i++)
                if (!ls_set_contains(&got, pick[i]))
                    ngot = 0;
            if (ngot != np) {
                char *g = ls_set_format(&got);
                say("E expunge of %zu \\Deleted messages reported %s\n", np, g ? g : "?");
                _exit(3);
            }
            ls_set_dispose(&got);
            line[0] = 'A';
            say("%s\n", line);
            for (size_t i = 0; i < np; i++)
                ul_del(&live[m], pick[i]);
        } else if (w < 99) { /* delivery to two users */
            uint64_t sd = next_seed++;
            uint32_t bl = random_bodylen(&r);
            size_t len;
            char *msg = tu_msg_make(sd, bl, &len);
            ls_date d = tu_msg_date(sd);
            ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &d };
            ls_deliver_result res[2];
            say("B DLV %" PRIu64 " %u\n", sd, bl);
            int rc = ls_message_deliver(s, msg, len, dlv_users, 2, NULL, &o, res);
            for (int i = 0; i < 2; i++)
                if (res[i].code != LS_OK) {
                    say("E deliver to %s: %d (%s): %s\n", dlv_users[i], res[i].code, ls_error_string(res[i].code),
                        res[i].error);
                    _exit(3);
                }
            CHILD_CHECK(rc);
            say("A DLV %u %u\n", res[0].uid, res[1].uid);
            for (int i = 0; i < 2; i++)
                ul_add(&live[dlv_mbox[i]], res[i].uid, sd, bl);
            free(msg);
        } else { /* cleanup */
            say("B CLN\n");
            uint64_t removed;
            CHILD_CHECK(ls_store_cleanup(st, tu_below(&r, 2) ? 0 : -1, &removed));
            say("A CLN\n");
        }
    }
}

/* ------------------------------------------------------------------ */
/* The parent: model, kills, verification. */

typedef struct op {
    int active;
    char kind[8];
    int m, dst, stop;
    unsigned flags;
    size_t k;
    uint64_t seed[MAX_BATCH];
    uint32_t bodylen[MAX_BATCH];
    unsigned aflags[MAX_BATCH];
    uint32_t uid[MAX_BATCH];
} op;

static const char *const kinds[] = { "APP", "APPN", "STO", "CPY", "MOV", "EXP", "CLN", "DLV" };
#define NKINDS 8
static uint64_t stat_acks, stat_inflight[NKINDS + 2], stat_kills, stat_rounds, stat_adopted, stat_notices;
static uint64_t stat_batch_none, stat_batch_all; /* interrupted batches: none of it / all of it stored */

static int kind_index(const char *k)
{
    for (int i = 0; i < NKINDS; i++)
        if (!strcmp(k, kinds[i]))
            return i;
    return NKINDS;
}

static void model_live(int m, uint32_t uid, uint64_t seed, uint32_t bodylen, unsigned flags, const char *why)
{
    ment *e = ment_at(m, uid);
    if (e->state == E_LIVE)
        FAIL("%s: %s uid %u acknowledged, but that UID already holds seed %" PRIu64 " (UID reused)", why, mbnames[m],
             uid, e->seed);
    if (e->state == E_GONE)
        FAIL("%s: %s uid %u acknowledged, but that UID was expunged before (UID reused)", why, mbnames[m], uid);
    e->state = E_LIVE;
    e->seed = seed;
    e->bodylen = bodylen;
    e->flags = flags;
}

static ment *model_get_live(int m, uint32_t uid, const char *why)
{
    ment *e = ment_at(m, uid);
    if (e->state != E_LIVE)
        FAIL("%s: the child worked on %s uid %u, which the model does not hold (test bug)", why, mbnames[m], uid);
    return e;
}

/* Apply one line from the child. */
static void apply_line(char *line, op *pend)
{
    char kind[8];
    int n = 0;
    if (line[0] == 'S')
        return;
    if (line[0] == 'E')
        FAIL("the child failed: %s", line + 2);
    if ((line[0] != 'B' && line[0] != 'A') || sscanf(line + 2, "%7s %n", kind, &n) != 1)
        FAIL("bad line from the child: '%s'", line);
    char *p = line + 2 + n;
    if (line[0] == 'B') {
        if (pend->active)
            FAIL("child began %s while %s was not acknowledged (protocol)", kind, pend->kind);
        memset(pend, 0, sizeof *pend);
        pend->active = 1;
        snprintf(pend->kind, sizeof pend->kind, "%s", kind);
        int c = 0;
        if (!strcmp(kind, "APP")) {
            pend->k = 1;
            sscanf(p, "%d %" SCNu64 " %u %u", &pend->m, &pend->seed[0], &pend->bodylen[0], &pend->aflags[0]);
            possible_add(pend->m, pend->seed[0]);
        } else if (!strcmp(kind, "APPN")) {
            sscanf(p, "%d %zu %n", &pend->m, &pend->k, &c);
            if (pend->k > MAX_BATCH)
                FAIL("child announced a batch of %zu messages (at most %d)", pend->k, MAX_BATCH);
            p += c;
            for (size_t i = 0; i < pend->k; i++) {
                sscanf(p, "%" SCNu64 " %u %u %n", &pend->seed[i], &pend->bodylen[i], &pend->aflags[i], &c);
                p += c;
                possible_add(pend->m, pend->seed[i]);
            }
        } else if (!strcmp(kind, "STO")) {
            sscanf(p, "%d %u %d %u", &pend->m, &pend->uid[0], &pend->stop, &pend->flags);
            pend->k = 1;
            model_get_live(pend->m, pend->uid[0], "store");
        } else if (!strcmp(kind, "CPY") || !strcmp(kind, "MOV")) {
            sscanf(p, "%d %d %zu %n", &pend->m, &pend->dst, &pend->k, &c);
            p += c;
            for (size_t i = 0; i < pend->k; i++) {
                sscanf(p, "%u %n", &pend->uid[i], &c);
                p += c;
                ment *e = model_get_live(pend->m, pend->uid[i], kind);
                pend->seed[i] = e->seed;
                pend->bodylen[i] = e->bodylen;
                possible_add(pend->dst, e->seed);
            }
        } else if (!strcmp(kind, "EXP")) {
            sscanf(p, "%d %zu %n", &pend->m, &pend->k, &c);
            p += c;
            for (size_t i = 0; i < pend->k; i++) {
                sscanf(p, "%u %n", &pend->uid[i], &c);
                p += c;
                model_get_live(pend->m, pend->uid[i], "expunge");
            }
        } else if (!strcmp(kind, "DLV")) {
            pend->k = 2;
            sscanf(p, "%" SCNu64 " %u", &pend->seed[0], &pend->bodylen[0]);
            pend->seed[1] = pend->seed[0];
            pend->bodylen[1] = pend->bodylen[0];
            for (int i = 0; i < 2; i++)
                possible_add(dlv_mbox[i], pend->seed[0]);
        } else if (strcmp(kind, "CLN") != 0) {
            FAIL("unknown operation '%s' from the child", kind);
        }
        return;
    }
    /* an acknowledgement */
    if (!pend->active || strcmp(kind, pend->kind) != 0)
        FAIL("child acknowledged %s but had begun %s", kind, pend->active ? pend->kind : "nothing");
    stat_acks++;
    int m = pend->m, c = 0;
    if (!strcmp(kind, "APP") || !strcmp(kind, "APPN")) {
        if (!strcmp(kind, "APPN")) {
            int mm;
            size_t k;
            sscanf(p, "%d %zu %n", &mm, &k, &c);
            p += c;
        } else {
            sscanf(p, "%*d %n", &c);
            p += c;
        }
        for (size_t i = 0; i < pend->k; i++) {
            uint32_t uid;
            sscanf(p, "%u %n", &uid, &c);
            p += c;
            if (!possible_take(m, pend->seed[i]))
                FAIL("internal: seed %" PRIu64 " not in the possible set", pend->seed[i]);
            model_live(m, uid, pend->seed[i], pend->bodylen[i], pend->aflags[i], "append");
            if (i && uid != pend->uid[i - 1] + 1)
                FAIL("batch append: UIDs %u and %u of one batch are not consecutive", pend->uid[i - 1], uid);
            pend->uid[i] = uid;
        }
    } else if (!strcmp(kind, "STO")) {
        ment *e = model_get_live(m, pend->uid[0], "store ack");
        e->flags = apply_store(e->flags, pend->stop, pend->flags);
    } else if (!strcmp(kind, "CPY") || !strcmp(kind, "MOV")) {
        sscanf(p, "%*s %*s %*s %n", &c);
        p += c;
        for (size_t i = 0; i < pend->k; i++) {
            uint32_t src, dst;
            sscanf(p, "%u %u %n", &src, &dst, &c);
            p += c;
            if (src != pend->uid[i])
                FAIL("%s: map lists source uid %u, expected %u", kind, src, pend->uid[i]);
            ment *e = model_get_live(m, src, kind);
            ment copy = *e;
            if (!possible_take(pend->dst, copy.seed))
                FAIL("internal: seed %" PRIu64 " not in the possible set", copy.seed);
            if (!strcmp(kind, "MOV"))
                e->state = E_GONE;
            model_live(pend->dst, dst, copy.seed, copy.bodylen, copy.flags, kind);
        }
    } else if (!strcmp(kind, "EXP")) {
        for (size_t i = 0; i < pend->k; i++)
            ment_at(m, pend->uid[i])->state = E_GONE;
    } else if (!strcmp(kind, "DLV")) {
        for (int i = 0; i < 2; i++) {
            uint32_t uid;
            sscanf(p, "%u %n", &uid, &c);
            p += c;
            if (!possible_take(dlv_mbox[i], pend->seed[0]))
                FAIL("internal: seed %" PRIu64 " not in the possible set", pend->seed[0]);
            model_live(dlv_mbox[i], uid, pend->seed[0], pend->bodylen[0], 0, "deliver");
        }
    }
    pend->active = 0;
}

typedef struct seen_rec { uint32_t uid; unsigned flags; int64_t date; uint64_t size; } seen_rec;
typedef struct seen_list { seen_rec *v; size_t n, cap; } seen_list;
static int collect_cb(const ls_record *r, const ls_cached *c, void *arg)
{
    (void)c;
    seen_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 128;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            FAIL("out of memory");
    }
    l->v[l->n++] = (seen_rec){ r->uid, r->flags, r->internaldate.t, r->size };
    return 0;
}

/* A batch append killed part-way (RFC 3502: all or none) must stay all or
 * none once leftovers are adopted, not only right after the kill: append
 * one message to its mailbox before looking, so that the next writer's
 * adoption has run. The probe's seed is one nobody else uses. */
static void adopt_now(int m, int round)
{
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_open(s, mbnames[m], LS_MAILBOX_OPEN_RDWR, &mb));
    uint64_t sd = 900000000000ull + (uint64_t)round;
    size_t len;
    char *msg = tu_msg_make(sd, 100, &len);
    ls_date d = tu_msg_date(sd);
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &d };
    possible_add(m, sd);
    CHECK_LS(ls_message_append(mb, msg, len, &o, NULL));
    free(msg);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
}

/* New unacknowledged records seen in this round: (mailbox, seed). */
typedef struct newrec { int m; uint64_t seed; } newrec;

static void verify(int round, const op *pend)
{
    char what[64];
    snprintf(what, sizeof what, "after kill %d", round);
    int batch = pend->active && !strcmp(pend->kind, "APPN");
    if (batch)
        adopt_now(pend->m, round);
    ls_store *st;
    ls_session *s;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    newrec *news = NULL;
    size_t nnews = 0;
    for (int m = 0; m < NMB; m++) {
        ls_mailbox *mb;
        CHECK_LS(ls_mailbox_open(s, mbnames[m], LS_MAILBOX_OPEN_RDWR, &mb));
        ls_status stt;
        CHECK_LS(ls_mailbox_status_open(mb, &stt));
        if (M[m].uidvalidity && stt.uidvalidity != M[m].uidvalidity)
            FAIL("%s: %s: UIDVALIDITY changed from %u to %u", what, mbnames[m], M[m].uidvalidity, stt.uidvalidity);
        if (stt.uidnext < M[m].uidnext)
            FAIL("%s: %s: UIDNEXT went down from %u to %u (UIDs could be reused)", what, mbnames[m], M[m].uidnext,
                 stt.uidnext);
        M[m].uidvalidity = stt.uidvalidity;
        M[m].uidnext = stt.uidnext;
        tu_check_counters(mb, what);
        seen_list l = { 0 };
        CHECK_LS(ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_RECORD, collect_cb, &l));
        for (size_t i = 0; i < l.n; i++) {
            seen_rec *r = &l.v[i];
            uint64_t seed = tu_fetch_verify(mb, r->uid, what);
            if (r->date != tu_msg_date(seed).t)
                FAIL("%s: %s uid %u (seed %" PRIu64 "): internal date %" PRId64 ", expected %" PRId64, what,
                     mbnames[m], r->uid, seed, r->date, tu_msg_date(seed).t);
            if (r->uid >= stt.uidnext)
                FAIL("%s: %s uid %u is not below UIDNEXT %u", what, mbnames[m], r->uid, stt.uidnext);
            ment *e = ment_at(m, r->uid);
            if (e->state == E_GONE)
                FAIL("%s: %s uid %u (seed %" PRIu64 ") was acknowledged as expunged (or moved away) but is there",
                     what, mbnames[m], r->uid, seed);
            if (e->state == E_LIVE) {
                if (e->seed != seed)
                    FAIL("%s: %s uid %u holds seed %" PRIu64 ", acknowledged as seed %" PRIu64, what, mbnames[m],
                         r->uid, seed, e->seed);
                unsigned alt = e->flags;
                int inflight_store = pend->active && !strcmp(pend->kind, "STO") && pend->m == m &&
                                     pend->uid[0] == r->uid;
                if (inflight_store)
                    alt = apply_store(e->flags, pend->stop, pend->flags);
                if (r->flags != e->flags && r->flags != alt)
                    FAIL("%s: %s uid %u: flags 0x%x, acknowledged flags 0x%x%s", what, mbnames[m], r->uid, r->flags,
                         e->flags, inflight_store ? " (nor those of the interrupted store)" : "");
                e->flags = r->flags;
            } else {
                /* not acknowledged: an interrupted operation's, or an adopted leftover */
                if (!possible_take(m, seed))
                    FAIL("%s: %s uid %u holds seed %" PRIu64 " which no operation on this mailbox could have put there "
                         "(unacknowledged and unexpected, or a duplicate)",
                         what, mbnames[m], r->uid, seed);
                e->state = E_LIVE;
                e->seed = seed;
                size_t bl;
                uint64_t sd2;
                e->bodylen = 0;
                {
                    char *data;
                    size_t len;
                    CHECK_LS(ls_message_fetch(mb, r->uid, "", 0, UINT64_MAX, &data, &len));
                    tu_msg_parse(data, len, &sd2, &bl);
                    e->bodylen = (uint32_t)bl;
                    ls_free(data);
                }
                e->flags = r->flags;
                stat_adopted++;
                news = realloc(news, (nnews + 1) * sizeof *news);
                news[nnews++] = (newrec){ m, seed };
            }
            e->seen_round = round;
        }
        /* acknowledged messages that are not there */
        for (uint32_t u = 0; u < M[m].cap; u++) {
            ment *e = &M[m].e[u];
            if (e->state != E_LIVE || e->seen_round == round)
                continue;
            int inflight = 0;
            if (pend->active && pend->m == m && (!strcmp(pend->kind, "MOV") || !strcmp(pend->kind, "EXP")))
                for (size_t i = 0; i < pend->k; i++)
                    inflight |= pend->uid[i] == u;
            if (!inflight)
                FAIL("%s: %s uid %u (seed %" PRIu64 ", acknowledged) is missing", what, mbnames[m], u, e->seed);
            e->state = E_GONE;
        }
        free(l.v);
        ls_mailbox_close(mb);
    }
    /* the interrupted operation: all or nothing */
    if (pend->active && (!strcmp(pend->kind, "APPN") || !strcmp(pend->kind, "APP"))) {
        size_t found = 0;
        for (size_t i = 0; i < pend->k; i++)
            for (size_t j = 0; j < nnews; j++)
                if (news[j].m == pend->m && news[j].seed == pend->seed[i]) {
                    found++;
                    break;
                }
        if (found != 0 && found != pend->k)
            FAIL("%s: an interrupted batch append of %zu messages left %zu of them as records once the next writer "
                 "adopted leftovers (not all or nothing)", what, pend->k, found);
        if (batch && found == 0) {
            /* none of it, for good: no later writer may adopt any of it */
            for (size_t i = 0; i < pend->k; i++)
                possible_take(pend->m, pend->seed[i]);
            stat_batch_none++;
        } else if (batch) {
            stat_batch_all++;
        }
    }
    if (pend->active && (!strcmp(pend->kind, "EXP") || !strcmp(pend->kind, "MOV"))) {
        size_t gone = 0;
        for (size_t i = 0; i < pend->k; i++)
            gone += ment_at(pend->m, pend->uid[i])->state == E_GONE;
        if (gone != 0 && gone != pend->k)
            FAIL("%s: an interrupted %s of %zu messages removed %zu of them (not all or nothing)", what, pend->kind,
                 pend->k, gone);
        if (gone && !strcmp(pend->kind, "MOV"))
            for (size_t i = 0; i < pend->k; i++) {
                int there = 0;
                for (size_t j = 0; j < nnews; j++)
                    there |= news[j].m == pend->dst && news[j].seed == pend->seed[i];
                if (!there)
                    FAIL("%s: an interrupted move removed %s uid %u (seed %" PRIu64 ") but it is not in %s", what,
                         mbnames[pend->m], pend->uid[i], pend->seed[i], mbnames[pend->dst]);
            }
    }
    free(news);
    stat_notices += tu_check_clean(st, what, getenv("CRASH_VERBOSE") != NULL);
    ls_session_free(s);
    ls_store_close(st);
}


/* Fork a child that runs body(fd, arg) with fd the write end of a pipe;
 * *rfd receives the read end. */
static pid_t fork_child(int *rfd, void (*body)(int fd, void *arg), void *arg)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        FAIL("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        body(pfd[1], arg);
        _exit(0);
    }
    close(pfd[1]);
    *rfd = pfd[0];
    return pid;
}

/* ------------------------------------------------------------------ */
/* MULTIAPPEND all or none: a child appends batches of BIG_BATCH messages
 * to a mailbox of its own in a loop and is killed at a random instant,
 * mostly while a batch is being placed; then a probe append (which adopts
 * crash leftovers) must find the mailbox holding whole batches only. */

#define BIG_BATCH 200
#define BIG_KILLS 12
#define BIG_MBOX "user.crash.batch"

static void big_batch_child(int fd, void *arg)
{
    (void)arg;
    out_fd = fd;
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    CHILD_CHECK(ls_store_open(conf, 0, &st));
    CHILD_CHECK(ls_session_new(st, NULL, &s));
    CHILD_CHECK(ls_mailbox_open(s, BIG_MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
    static ls_append_item it[BIG_BATCH];
    static char *msgs[BIG_BATCH];
    for (size_t i = 0; i < BIG_BATCH; i++) {
        memset(&it[i], 0, sizeof it[i]);
        msgs[i] = tu_msg_make(5000000000ull + i, 2000 + (uint32_t)i * 37, &it[i].len);
        it[i].msg = msgs[i];
    }
    say("S\n");
    for (;;)
        CHILD_CHECK(ls_message_append_many(mb, it, BIG_BATCH));
}

static uint32_t big_count(ls_store *st)
{
    ls_session *s;
    ls_mailbox *mb;
    ls_status stt;
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_open(s, BIG_MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
    CHECK_LS(ls_mailbox_status_open(mb, &stt));
    ls_mailbox_close(mb);
    ls_session_free(s);
    return stt.messages;
}

static void big_batch_phase(tu_rng *r)
{
    ls_store *st;
    ls_session *s;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    CHECK_LS(ls_mailbox_create(s, BIG_MBOX, NULL));
    ls_session_free(s);
    ls_store_close(st);
    uint32_t probes = 0;
    for (int k = 0; k < BIG_KILLS; k++) {
        int rfd;
        pid_t pid = fork_child(&rfd, big_batch_child, NULL);
        char c[2];
        if (read(rfd, c, 2) != 2 || c[0] != 'S')
            FAIL("big batch: the child did not start");
        tu_sleep_us(20000 + (long)tu_below(r, 400000));
        kill(pid, SIGKILL);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        close(rfd);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            FAIL("big batch: the child ended by itself (status 0x%x)", status);
        CHECK_LS(ls_store_open(conf, 0, &st));
        /* the probe: the next writer adopts leftovers */
        CHECK_LS(ls_session_new(st, NULL, &s));
        ls_mailbox *mb;
        CHECK_LS(ls_mailbox_open(s, BIG_MBOX, LS_MAILBOX_OPEN_RDWR, &mb));
        size_t len;
        char *msg = tu_msg_make(6000000000ull + (uint64_t)k, 100, &len);
        CHECK_LS(ls_message_append(mb, msg, len, NULL, NULL));
        free(msg);
        ls_mailbox_close(mb);
        ls_session_free(s);
        probes++;
        uint32_t after = big_count(st);
        ls_store_close(st);
        /* whole batches plus one message per probe, nothing in between */
        uint32_t batches = (after - probes) / BIG_BATCH;
        if (after < probes || after - probes != batches * BIG_BATCH)
            FAIL("big batch: after kill %d the mailbox holds %u messages: %u probe(s) and %u not a multiple of a "
                 "batch of %d (a batch killed part-way was partly adopted: not all or none)",
                 k + 1, after, probes, after - probes, BIG_BATCH);
    }
    tu_log("big batches: %d kills while appending batches of %d, each left whole batches only", BIG_KILLS,
           BIG_BATCH);
}

struct child_args { uint64_t seed; int restart; };
static void run_child_main(int fd, void *arg)
{
    struct child_args *a = arg;
    child_main(a->seed, a->restart, fd);
}

int main(int argc, char **argv)
{
    /* "crash_kill messages": the same with "fsync: messages", under which
     * flag changes must also survive a process crash at once (docs/contract.md §2.2) */
    int fsync_messages = argc > 1 && !strcmp(argv[1], "messages");
    tu_begin(fsync_messages ? "crash_kill_fsync_messages" : "crash_kill");
    uint64_t seed = tu_seed(20261121);
    const char *ek = getenv("CRASH_KILLS");
    int kills_wanted = ek && *ek ? atoi(ek) : fsync_messages ? DEFAULT_KILLS / 2 : DEFAULT_KILLS;
    conf = tu_write_conf(tu_dir, NULL, NULL, fsync_messages ? "fsync: messages\n" : "");
    tu_log("%d kills, fsync: %s", kills_wanted, fsync_messages ? "messages" : "all (the default)");
    {
        ls_store *st;
        ls_session *s;
        CHECK_LS(ls_store_open(conf, 0, &st));
        CHECK_LS(ls_session_new(st, NULL, &s));
        for (int m = 0; m < NMB; m++)
            CHECK_LS(ls_mailbox_create(s, mbnames[m], NULL));
        ls_session_free(s);
        ls_store_close(st);
    }
    tu_rng r = tu_rng_make(seed, 1);
    op pend = { 0 };
    /* what every child said, for the post-mortem of a failure */
    char jpath[4200];
    snprintf(jpath, sizeof jpath, "%s/journal.txt", tu_dir);
    journal = fopen(jpath, "w");
    if (!journal)
        FAIL("create %s: %s", jpath, strerror(errno));
    double t0 = tu_now_ms();
    int restart = 0;
    uint64_t early = 0;
    while ((int)stat_kills < kills_wanted) {
        struct child_args ca = { seed, restart };
        int pfd[1];
        pid_t pid = fork_child(&pfd[0], run_child_main, &ca);
        long delay = tu_below(&r, 5) == 0 ? (long)tu_below(&r, 1000) : 1000 + (long)tu_below(&r, 29000);
        /* the later kills count from the moment the child has opened the
         * store ("S"), so that on a loaded machine they still hit it at work */
        char pre[2];
        size_t npre = 0;
        if (delay < 1000)
            early++;
        else
            while (npre < sizeof pre) {
                ssize_t k = read(pfd[0], pre + npre, sizeof pre - npre);
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0)
                    break;
                npre += (size_t)k;
            }
        tu_sleep_us(delay);
        kill(pid, SIGKILL);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        /* everything the child said before it died */
        size_t cap = 65536, len = npre;
        char *buf = malloc(cap);
        memcpy(buf, pre, npre);
        for (;;) {
            if (len + 4096 > cap)
                buf = realloc(buf, cap *= 2);
            ssize_t n = read(pfd[0], buf + len, cap - len - 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        close(pfd[0]);
        buf[len] = 0;
        int started = 0;
        fprintf(journal, "--- child %d (pid %ld) killed after %ld us\n", restart, (long)pid, delay);
        for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
            *nl = 0;
            fprintf(journal, "%s\n", line);
            fflush(journal);
            if (line[0] == 'S')
                started = 1;
            apply_line(line, &pend);
        }
        free(buf);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            FAIL("the child ended by itself (status 0x%x) instead of being killed", status);
        stat_kills++;
        stat_inflight[pend.active ? kind_index(pend.kind) : started ? NKINDS + 1 : NKINDS]++;
        stat_rounds++;
        verify((int)stat_kills, &pend);
        pend.active = 0;
        restart++;
    }
    if (!fsync_messages)
        big_batch_phase(&r);
    /* a last writer adopts the leftovers; a last cleanup; all must be clean */
    {
        ls_store *st;
        ls_session *s;
        CHECK_LS(ls_store_open(conf, 0, &st));
        CHECK_LS(ls_session_new(st, NULL, &s));
        for (int m = 0; m < NMB; m++) {
            ls_mailbox *mb;
            CHECK_LS(ls_mailbox_open(s, mbnames[m], LS_MAILBOX_OPEN_RDWR, &mb));
            size_t len;
            uint64_t sd = 999000000000ull + (uint64_t)m;
            char *msg = tu_msg_make(sd, 100, &len);
            ls_date d = tu_msg_date(sd);
            ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &d };
            uint32_t uid;
            possible_add(m, sd);
            CHECK_LS(ls_message_append(mb, msg, len, &o, &uid));
            free(msg);
            ls_mailbox_close(mb);
        }
        uint64_t removed = 0;
        CHECK_LS(ls_store_cleanup(st, 0, &removed));
        ls_session_free(s);
        ls_store_close(st);
        op none = { 0 };
        verify((int)stat_kills + 1, &none);
        CHECK_LS(ls_store_open(conf, 0, &st));
        uint64_t notices = tu_check_clean(st, "final", 1);
        ls_store_close(st);
        tu_log("final check: %" PRIu64 " notice(s)", notices);
    }
    tu_log("%" PRIu64 " kills (%" PRIu64 " within the first ms) in %.1f s; %" PRIu64
           " acknowledged operations; %" PRIu64 " unacknowledged messages showed up (committed or adopted); %" PRIu64
           " check notices",
           stat_kills, early, (tu_now_ms() - t0) / 1000, stat_acks, stat_adopted, stat_notices);
    tu_log("killed inside: APP %" PRIu64 ", APPN %" PRIu64 ", STO %" PRIu64 ", CPY %" PRIu64 ", MOV %" PRIu64
           ", EXP %" PRIu64 ", CLN %" PRIu64 ", DLV %" PRIu64 ", opening the store %" PRIu64
           ", between operations %" PRIu64,
           stat_inflight[0], stat_inflight[1], stat_inflight[2], stat_inflight[3], stat_inflight[4], stat_inflight[5],
           stat_inflight[6], stat_inflight[7], stat_inflight[8], stat_inflight[9]);
    tu_log("interrupted batch appends: %" PRIu64 " left nothing, %" PRIu64 " were committed whole", stat_batch_none,
           stat_batch_all);
    if (stat_kills < (uint64_t)kills_wanted)
        FAIL("only %" PRIu64 " kills", stat_kills);
    printf("%s: OK\n", tu_name);
    return 0;
}

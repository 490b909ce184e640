/*
 * mapgrow: docs/contract.md §2.4: the LMDB map grows by itself; no caller ever
 * sees MDB_MAP_FULL, also when another process grew it.
 *
 * The store starts with a small map: LIBSTORE_MAPSIZE (bytes; a test hook
 * that ls__env_open must honour instead of its initial 256 MiB) is set to
 * 1 MiB before anything opens the store.
 *
 *   - B (reader and writer) and C (reader) open the store first, with the
 *     small map, and report ready;
 *   - A then appends batches of messages with large headers (large cache
 *     records) until the LMDB data file is TARGET bytes, so the map grows
 *     many times (1 -> 2 -> 4 ... MiB) in A;
 *   - meanwhile B keeps appending and reading (STATUS, ls_message_foreach
 *     with cache, fetch) and C keeps reading, all with the map they opened
 *     with: each must adopt the size A set, without any error;
 *   - when A is done, B appends big batches itself (growing further from a
 *     map it adopted) and C reads everything once more.
 * Then: every acknowledged message is there byte-identical, counters equal
 * a scan, check is clean, and the map (as recorded in the LMDB meta page)
 * really grew past the initial size.
 */
#include "testutil.h"

#include <poll.h>

#define INITIAL_MAP (1u << 20)
#ifdef LIBSTORE_SANITIZE
#define TARGET (6u << 20)
#else
#define TARGET (12u << 20)
#endif

static const char *conf;
static char datafile[4200];

/* The map size LMDB recorded in the newer of the two meta pages of
 * data.mdb (the LMDB on-disk format: page header 16 bytes, then
 * magic, version, address, mapsize, 2 x MDB_db (48 bytes), last_pg, txnid).
 * Only used to show that the map really grew. */
static uint64_t meta_mapsize(void)
{
    int fd = open(datafile, O_RDONLY);
    if (fd < 0)
        FAIL("open %s: %s", datafile, strerror(errno));
    uint64_t best_txn = 0, best_size = 0;
    unsigned char page[160];
    uint32_t psize = 4096;
    for (int i = 0; i < 2; i++) {
        if (pread(fd, page, sizeof page, (off_t)i * psize) != (ssize_t)sizeof page)
            FAIL("read %s: short", datafile);
        uint32_t magic, pad;
        uint64_t mapsize, txnid;
        memcpy(&magic, page + 16, 4);
        if (magic != 0xBEEFC0DEu)
            FAIL("%s: meta page %d has no LMDB magic (0x%x): unexpected LMDB format", datafile, i, magic);
        memcpy(&mapsize, page + 32, 8);
        memcpy(&pad, page + 40, 4); /* mm_dbs[FREE_DBI].md_pad holds the page size */
        memcpy(&txnid, page + 144, 8);
        if (i == 0 && pad >= 512 && pad <= 65536)
            psize = pad;
        if (txnid >= best_txn) {
            best_txn = txnid;
            best_size = mapsize;
        }
    }
    close(fd);
    return best_size;
}

static off_t data_size(void)
{
    struct stat sb;
    if (stat(datafile, &sb) != 0)
        FAIL("stat %s: %s", datafile, strerror(errno));
    return sb.st_size;
}

/* A message with a large header: big References/To fields enlarge the cache
 * record (and the record of every copy) without enlarging the message much. */
static char *big_header_msg(uint64_t seed, size_t refs, size_t *len)
{
    size_t blen;
    char *body = tu_msg_make(seed, 200, &blen);
    size_t cap = blen + refs * 64 + 64;
    char *m = malloc(cap);
    size_t o = 0;
    tu_rng r = tu_rng_make(seed, 5);
    o += (size_t)sprintf(m + o, "References:");
    for (size_t i = 0; i < refs; i++)
        o += (size_t)sprintf(m + o, " <%016" PRIx64 "%08" PRIx64 "@refs.example>\r\n", tu_next(&r),
                             tu_next(&r) & 0xffffffffu);
    memcpy(m + o, body, blen);
    o += blen;
    free(body);
    *len = o;
    return m;
}

static void wfail_exit(const char *who, const char *call, int rc)
{
    fprintf(stderr, "[mapgrow %ld] %s: %s returned %d (%s): %s\n", (long)getpid(), who, call, rc, ls_error_string(rc),
            ls_error_last());
    _exit(1);
}
#define P_CHECK(who, call)                                                                                 \
    do {                                                                                                   \
        int _rc = (call);                                                                                  \
        if (_rc != LS_OK)                                                                                  \
            wfail_exit(who, #call, _rc);                                                                   \
    } while (0)

/* Verify a stored big-header message: the part after References must be
 * the regenerated test message. */
static int verify_big(ls_mailbox *mb, uint32_t uid, const char *who)
{
    char *data;
    size_t len;
    P_CHECK(who, ls_message_fetch(mb, uid, "", 0, UINT64_MAX, &data, &len));
    uint64_t seed;
    size_t bl;
    if (!tu_msg_parse(data, len, &seed, &bl)) {
        fprintf(stderr, "[mapgrow] %s: uid %u: no X-Seed\n", who, uid);
        _exit(1);
    }
    size_t elen;
    char *exp = big_header_msg(seed, 0, &elen);
    free(exp);
    size_t refs = 0;
    for (const char *p = data; (p = memmem(p, len - (size_t)(p - data), "@refs.example>", 14)); p++)
        refs++;
    exp = big_header_msg(seed, refs, &elen);
    int ok = elen == len && !memcmp(exp, data, len);
    if (!ok)
        fprintf(stderr, "[mapgrow] %s: uid %u (seed %" PRIu64 "): content differs\n", who, uid, seed);
    free(exp);
    ls_free(data);
    return ok;
}

static int done_fd, bdone_fd = -1;
static int is_eof(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, 0) > 0; /* EOF: the writer closed its end */
}
static int a_done(void) { return is_eof(done_fd); }

static int count_cb(const ls_record *r, const ls_cached *c, void *arg)
{
    (void)r;
    if (!c->envelope || !c->envelope_len || !c->bodystructure_len)
        return 2;
    (*(size_t *)arg)++;
    return 0;
}

/* B: appends and reads with the map it opened with. */
static void proc_b(int ready_fd)
{
    const char *who = "B (opened early, writes)";
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb, *other;
    P_CHECK(who, ls_store_open(conf, 0, &st));
    P_CHECK(who, ls_session_new(st, NULL, &s));
    P_CHECK(who, ls_mailbox_open(s, "user.grow.b", LS_MAILBOX_OPEN_RDWR, &mb));
    P_CHECK(who, ls_mailbox_open(s, "user.grow.a", LS_MAILBOX_OPEN_RDONLY, &other));
    if (tu_write_all(ready_fd, "r", 1))
        _exit(2);
    uint64_t seed = 2000000;
    size_t appended = 0, loops = 0;
    int finishing = 0;
    for (;;) {
        if (!finishing && a_done())
            finishing = 1;
        if (finishing) {
            /* grow the map further, from the size adopted from A: big
             * batches until the recorded map size changes */
            uint64_t m0 = meta_mapsize();
            for (int b = 0; meta_mapsize() == m0; b++) {
                if (b == 400) {
                    fprintf(stderr, "[mapgrow] %s: 400 batches did not grow the map beyond %" PRIu64 "\n", who, m0);
                    _exit(1);
                }
                ls_append_item it[25];
                char *msgs[25];
                for (int i = 0; i < 25; i++) {
                    memset(&it[i], 0, sizeof it[i]);
                    msgs[i] = big_header_msg(seed++, 600, &it[i].len);
                    it[i].msg = msgs[i];
                }
                P_CHECK(who, ls_message_append_many(mb, it, 25));
                for (int i = 0; i < 25; i++)
                    free(msgs[i]);
                appended += 25;
            }
            fprintf(stderr, "[mapgrow %ld] %s: grew the map from %" PRIu64 " to %" PRIu64 " bytes itself\n",
                    (long)getpid(), who, m0, meta_mapsize());
            break;
        }
        size_t len;
        char *msg = big_header_msg(seed++, 40, &len);
        uint32_t uid;
        P_CHECK(who, ls_message_append(mb, msg, len, NULL, &uid));
        free(msg);
        appended++;
        ls_status stt;
        P_CHECK(who, ls_mailbox_status(s, "user.grow.a", &stt));
        size_t n = 0;
        int rc = ls_message_foreach(other, NULL, LS_MESSAGE_FETCH_CACHE, count_cb, &n);
        if (rc == 2) {
            fprintf(stderr, "[mapgrow] %s: a record without its cached envelope\n", who);
            _exit(1);
        }
        P_CHECK(who, rc);
        if (!verify_big(mb, uid, who))
            _exit(1);
        loops++;
        tu_sleep_us(2000);
    }
    ls_status stt;
    P_CHECK(who, ls_mailbox_status_open(mb, &stt));
    if (stt.messages != appended) {
        fprintf(stderr, "[mapgrow] %s: appended %zu, STATUS says %u\n", who, appended, stt.messages);
        _exit(1);
    }
    fprintf(stderr, "[mapgrow %ld] %s: %zu appends, %zu read rounds while A grew the map\n", (long)getpid(), who,
            appended, loops);
    ls_mailbox_close(other);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    _exit(0);
}

/* C: only reads, with the map it opened with. */
static void proc_c(int ready_fd)
{
    const char *who = "C (opened early, reads)";
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    P_CHECK(who, ls_store_open(conf, 0, &st));
    P_CHECK(who, ls_session_new(st, NULL, &s));
    P_CHECK(who, ls_mailbox_open(s, "user.grow.a", LS_MAILBOX_OPEN_RDONLY, &mb));
    if (tu_write_all(ready_fd, "r", 1))
        _exit(2);
    size_t loops = 0, last = 0;
    for (;;) {
        int finishing = a_done() && is_eof(bdone_fd);
        ls_status stt;
        P_CHECK(who, ls_mailbox_status_open(mb, &stt));
        size_t n = 0;
        int rc = ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_CACHE, count_cb, &n);
        if (rc == 2) {
            fprintf(stderr, "[mapgrow] %s: a record without its cached envelope\n", who);
            _exit(1);
        }
        P_CHECK(who, rc);
        if (n < last) {
            fprintf(stderr, "[mapgrow] %s: saw %zu messages after %zu\n", who, n, last);
            _exit(1);
        }
        last = n;
        if (n) {
            uint32_t *uids;
            size_t nu;
            P_CHECK(who, ls_message_uids(mb, &uids, &nu));
            if (nu && !verify_big(mb, uids[nu / 2], who))
                _exit(1);
            ls_free(uids);
        }
        loops++;
        if (finishing)
            break;
        tu_sleep_us(3000);
    }
    fprintf(stderr, "[mapgrow %ld] %s: %zu read rounds, last saw %zu messages of A\n", (long)getpid(), who, loops,
            last);
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    _exit(0);
}

/* A: grows the map. */
static void proc_a(int donefd)
{
    const char *who = "A (grows the map)";
    ls_store *st;
    ls_session *s;
    ls_mailbox *mb;
    P_CHECK(who, ls_store_open(conf, 0, &st));
    P_CHECK(who, ls_session_new(st, NULL, &s));
    P_CHECK(who, ls_mailbox_open(s, "user.grow.a", LS_MAILBOX_OPEN_RDWR, &mb));
    uint64_t seed = 1000000;
    size_t appended = 0;
    while (data_size() < (off_t)TARGET) {
        ls_append_item it[20];
        char *msgs[20];
        for (int i = 0; i < 20; i++) {
            memset(&it[i], 0, sizeof it[i]);
            msgs[i] = big_header_msg(seed++, 60 + (size_t)(i * 7), &it[i].len);
            it[i].msg = msgs[i];
        }
        P_CHECK(who, ls_message_append_many(mb, it, 20));
        for (int i = 0; i < 20; i++)
            free(msgs[i]);
        appended += 20;
        if (appended % 200 == 0) { /* and some copies: more records */
            ls_set set = { &(ls_range){ (uint32_t)appended - 9, (uint32_t)appended }, 1 };
            P_CHECK(who, ls_message_copy(mb, &set, "user.grow.copies", NULL));
        }
    }
    fprintf(stderr, "[mapgrow %ld] %s: %zu appends, data file %lld bytes\n", (long)getpid(), who, appended,
            (long long)data_size());
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    close(donefd);
    _exit(0);
}

static void reap(pid_t pid, const char *who)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("process %s failed (status 0x%x); its message is above", who, status);
}

int main(void)
{
    tu_begin("mapgrow");
    tu_seed(1);
    char ms[32];
    snprintf(ms, sizeof ms, "%u", INITIAL_MAP);
    setenv("LIBSTORE_MAPSIZE", ms, 1);
    tu_log("LIBSTORE_MAPSIZE=%s; growing the data file to %u MiB", ms, TARGET >> 20);
    conf = tu_write_conf(tu_dir, NULL, NULL, "");
    snprintf(datafile, sizeof datafile, "%s/config/data.mdb", tu_dir);
    {
        ls_store *st;
        ls_session *s;
        CHECK_LS(ls_store_open(conf, 0, &st));
        CHECK_LS(ls_session_new(st, NULL, &s));
        CHECK_LS(ls_mailbox_create(s, "user.grow", NULL));
        CHECK_LS(ls_mailbox_create(s, "user.grow.a", NULL));
        CHECK_LS(ls_mailbox_create(s, "user.grow.b", NULL));
        CHECK_LS(ls_mailbox_create(s, "user.grow.copies", NULL));
        ls_session_free(s);
        ls_store_close(st);
    }
    uint64_t initial = meta_mapsize();
    if (initial > INITIAL_MAP)
        FAIL("the new store's LMDB map is %" PRIu64 " bytes although LIBSTORE_MAPSIZE=%u: ls__env_open does not "
             "honour the LIBSTORE_MAPSIZE test hook, so this test cannot make the map grow in reasonable time",
             initial, INITIAL_MAP);
    int ready[2], done[2], bdone[2];
    if (pipe(ready) || pipe(done) || pipe(bdone))
        FAIL("pipe: %s", strerror(errno));
    double t0 = tu_now_ms();
    fflush(NULL);
    pid_t b = fork();
    if (b == 0) {
        close(ready[0]);
        close(done[1]);
        close(bdone[0]);
        done_fd = done[0];
        proc_b(ready[1]); /* bdone[1] closes when B exits */
    }
    pid_t c = fork();
    if (c == 0) {
        close(ready[0]);
        close(done[1]);
        close(bdone[1]);
        done_fd = done[0];
        bdone_fd = bdone[0];
        proc_c(ready[1]);
    }
    close(ready[1]);
    close(done[0]);
    close(bdone[0]);
    close(bdone[1]);
    char buf[2];
    size_t got = 0;
    while (got < 2) {
        ssize_t n = read(ready[0], buf, 2 - got);
        if (n <= 0)
            FAIL("B or C did not open the store (see above)");
        got += (size_t)n;
    }
    pid_t a = fork();
    if (a == 0)
        proc_a(done[1]);
    close(done[1]);
    reap(a, "A");
    reap(b, "B");
    reap(c, "C");
    double t1 = tu_now_ms();
    uint64_t final = meta_mapsize();
    off_t dsize = data_size();
    tu_log("map %" PRIu64 " -> %" PRIu64 " bytes, data file %lld bytes, %.1f s", initial, final, (long long)dsize,
           (t1 - t0) / 1000);
    CHECK(final >= (uint64_t)dsize, "the recorded map size %" PRIu64 " is below the data file size %lld", final,
          (long long)dsize);
    CHECK(final >= 8 * initial, "the map grew only from %" PRIu64 " to %" PRIu64 " bytes", initial, final);
    /* everything there, consistent */
    ls_store *st;
    ls_session *s;
    CHECK_LS(ls_store_open(conf, 0, &st));
    CHECK_LS(ls_session_new(st, NULL, &s));
    const char *boxes[] = { "user.grow.a", "user.grow.b", "user.grow.copies" };
    for (int i = 0; i < 3; i++) {
        ls_mailbox *mb;
        CHECK_LS(ls_mailbox_open(s, boxes[i], LS_MAILBOX_OPEN_RDONLY, &mb));
        tu_check_counters(mb, "after growth");
        uint32_t *uids;
        size_t n;
        CHECK_LS(ls_message_uids(mb, &uids, &n));
        for (size_t k = 0; k < n; k++)
            CHECK(n == 0 || uids[k] == k + 1, "%s: uid %u at position %zu: a message is missing", boxes[i], uids[k],
                  k);
        for (size_t k = 0; k < n; k += 7)
            if (!verify_big(mb, uids[k], boxes[i]))
                FAIL("%s uid %u: content differs", boxes[i], uids[k]);
        tu_log("%s: %zu messages", boxes[i], n);
        ls_free(uids);
        ls_mailbox_close(mb);
    }
    tu_check_clean(st, "after growth", 0);
    ls_session_free(s);
    ls_store_close(st);
    printf("mapgrow: OK\n");
    return 0;
}

/* ls_message_append_many past the size where it runs in two threads
 * (libstore/message/append.c, batch_run): every message stored byte for
 * byte under consecutive UIDs in item order, content already on the
 * partition linked rather than written again, and a failure part-way
 * through leaving no record, no file and no UID consumed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libstore/libstore.h"
#include "libstore/repair.h"

#include "../store_fixture.h"

static int setup_with(void **state, const char *extra)
{
    return store_fixture_setup(state, "batch", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n", extra);
}

static int setup(void **state) { return setup_with(state, NULL); }
static int setup_maxsize(void **state) { return setup_with(state, "maxmessagesize: 4000\n"); }
static int teardown(void **state) { return store_fixture_teardown(state); }

/* Message i: distinct content, sizes from ~100 bytes to ~30 KB, every
 * third with bare LF line ends (stored as CRLF). */
static char *make_msg(int i, size_t *len)
{
    const char *eol = i % 3 == 0 ? "\n" : "\r\n";
    size_t body = (size_t)(i * 997) % 30000;
    char *m = malloc(body + 512);
    assert_non_null(m);
    int n = snprintf(m, 512, "From: sender%d@example.com%sTo: bob@example.com%sSubject: message %d%s"
                     "Message-ID: <%d@example.com>%s%s", i, eol, eol, i, eol, i, eol, eol);
    size_t o = (size_t)n;
    for (size_t k = 0; k < body; k++)
        m[o++] = k % 70 == 69 ? '\n' : (char)('a' + (k + (size_t)i) % 26);
    if (i % 3 != 0) /* CRLF messages: make every line end CRLF */
        for (size_t k = (size_t)n; k < o; k++)
            if (m[k] == '\n')
                m[k - 1] = '\r';
    *len = o;
    return m;
}

/* The bytes the store must hold for m: bare LF -> CRLF. */
static char *crlf(const char *m, size_t len, size_t *outlen)
{
    char *o = malloc(len * 2 + 1);
    assert_non_null(o);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
            o[n++] = '\r';
        o[n++] = m[i];
    }
    *outlen = n;
    return o;
}

/* Entries of dir, not counting dot files; with only_msgs, only message
 * files ("UID." and "UID.expunged"), not store.header. */
static int count_files_in(const char *dir, int only_msgs)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && (!only_msgs || (e->d_name[0] >= '0' && e->d_name[0] <= '9')))
            n++;
    closedir(d);
    return n;
}

static int count_files(const char *dir) { return count_files_in(dir, 0); }

static void assert_check_clean(fixture *f)
{
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);
}

static void large_batch_is_complete_and_in_order(void **state)
{
    fixture *f = *state;
    enum { N = 300 };
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    assert_int_equal(ls_message_append(mb, "Subject: first\r\n\r\nx\r\n", 21, NULL, NULL), LS_OK);
    ls_append_item items[N];
    char *msgs[N];
    ls_date dates[N];
    memset(items, 0, sizeof items);
    for (int i = 0; i < N; i++) {
        msgs[i] = make_msg(i, &items[i].len);
        items[i].msg = msgs[i];
        dates[i] = (ls_date){ 1790000000 + i, 120 };
        items[i].opts.version = LS_APPEND_OPTS_VERSION;
        items[i].opts.internaldate = &dates[i];
        items[i].opts.flags = i % 2 ? LS_FLAG_FLAGGED : 0;
    }
    assert_int_equal(ls_message_append_many(mb, items, N), LS_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(items[i].uid, 2 + i); /* item order, after UID 1 */
        char *got;
        size_t gotlen, wantlen;
        char *want = crlf(msgs[i], items[i].len, &wantlen);
        assert_int_equal(ls_message_fetch(mb, items[i].uid, "", 0, UINT64_MAX, &got, &gotlen), LS_OK);
        assert_int_equal(gotlen, wantlen);
        assert_memory_equal(got, want, wantlen);
        ls_record r;
        assert_int_equal(ls_message_get(mb, items[i].uid, &r), LS_OK);
        assert_int_equal(r.size, wantlen);
        assert_int_equal(r.flags, i % 2 ? LS_FLAG_FLAGGED : 0);
        assert_int_equal(r.internaldate.t, 1790000000 + i);
        char *path;
        assert_int_equal(ls_message_path(mb, items[i].uid, &path), LS_OK);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mtime, 1790000000 + i); /* mtime is the internal date */
        assert_int_equal(sb.st_nlink, 1);
        ls_free(path);
        ls_free(got);
        free(want);
        free(msgs[i]);
    }
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, N + 1);
    assert_int_equal(s.uidnext, N + 2);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/spool/tmp", f->dir);
    assert_int_equal(count_files(tmp), 0); /* nothing staged is left behind */
    assert_check_clean(f);
    ls_mailbox_close(mb);
}

static void batch_links_content_already_stored(void **state)
{
    fixture *f = *state;
    enum { N = 40, DUP = 17 };
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.ann", NULL), LS_OK);
    ls_mailbox *a, *b;
    assert_int_equal(ls_mailbox_open(f->admin, "user.ann", 0, &a), LS_OK);
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &b), LS_OK);
    size_t dlen;
    char *dup = make_msg(1000, &dlen);
    ls_date when = { 1791000000, 0 };
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &when };
    uint32_t first;
    assert_int_equal(ls_message_append(a, dup, dlen, &o, &first), LS_OK);

    ls_append_item items[N];
    char *msgs[N];
    memset(items, 0, sizeof items);
    for (int i = 0; i < N; i++) {
        msgs[i] = i == DUP ? dup : make_msg(2000 + i, &items[i].len);
        if (i == DUP)
            items[i].len = dlen;
        items[i].msg = msgs[i];
        items[i].opts.version = LS_APPEND_OPTS_VERSION;
        items[i].opts.internaldate = &when;
    }
    assert_int_equal(ls_message_append_many(b, items, N), LS_OK);
    fixture_assert_one_file(a, first, b, items[DUP].uid, 2);
    char *got;
    size_t gotlen;
    assert_int_equal(ls_message_fetch(b, items[DUP].uid, "", 0, UINT64_MAX, &got, &gotlen), LS_OK);
    size_t wantlen;
    char *want = crlf(dup, dlen, &wantlen);
    assert_int_equal(gotlen, wantlen);
    assert_memory_equal(got, want, wantlen);
    ls_free(got);
    free(want);
    for (int i = 0; i < N; i++)
        free(msgs[i]);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/spool/tmp", f->dir);
    assert_int_equal(count_files(tmp), 0);
    assert_check_clean(f);
    ls_mailbox_close(a);
    ls_mailbox_close(b);
}

/* The 25th message is over maxmessagesize: the batch fails as a whole,
 * after the threads have placed some files; none may remain. */
static void failed_batch_leaves_nothing(void **state)
{
    fixture *f = *state;
    enum { N = 60, BAD = 25 };
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    uint32_t uid;
    assert_int_equal(ls_message_append(mb, "Subject: one\r\n\r\nx\r\n", 19, NULL, &uid), LS_OK);
    assert_int_equal(uid, 1);
    ls_append_item items[N];
    char small[N][64], big[5000];
    memset(items, 0, sizeof items);
    memset(big, 'y', sizeof big);
    memcpy(big, "Subject: big\r\n\r\n", 16);
    for (int i = 0; i < N; i++) {
        int n = snprintf(small[i], sizeof small[i], "Subject: small %d\r\n\r\nbody %d\r\n", i, i);
        items[i].msg = i == BAD ? big : small[i];
        items[i].len = i == BAD ? sizeof big : (size_t)n;
    }
    assert_int_equal(ls_message_append_many(mb, items, N), LS_ETOOBIG);
    assert_non_null(strstr(ls_error_last(), "maxmessagesize"));
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.uidnext, 2);
    char *path;
    assert_int_equal(ls_message_path(mb, 1, &path), LS_OK);
    char *slash = strrchr(path, '/');
    *slash = 0;
    assert_int_equal(count_files_in(path, 1), 1); /* only 1. */
    ls_free(path);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/spool/tmp", f->dir);
    assert_int_equal(count_files(tmp), 0);
    /* the next append takes the next UID: nothing was adopted */
    assert_int_equal(ls_message_append(mb, "Subject: two\r\n\r\nx\r\n", 19, NULL, &uid), LS_OK);
    assert_int_equal(uid, 2);
    assert_check_clean(f);
    ls_mailbox_close(mb);
}

/* Appends never leave a gap in crash leftovers (placing is in UID order);
 * a stray file above a gap, put there by hand, is reported clearly and
 * reconstruct adopts it. */
static void count_line(const char *line, void *arg)
{
    (void)line;
    (*(int *)arg)++;
}

static void stray_file_above_a_gap_is_reported(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    uint32_t uid;
    assert_int_equal(ls_message_append(mb, "Subject: one\r\n\r\nx\r\n", 19, NULL, &uid), LS_OK);
    char *path;
    assert_int_equal(ls_message_path(mb, 1, &path), LS_OK);
    char stray[600];
    snprintf(stray, sizeof stray, "%.*s/3.", (int)(strrchr(path, '/') - path), path);
    ls_free(path);
    FILE *fp = fopen(stray, "w");
    assert_non_null(fp);
    fputs("Subject: stray\r\n\r\ny\r\n", fp);
    fclose(fp);
    /* UIDNEXT is 2, free; the batch's second message runs into 3 */
    ls_append_item items[20];
    char bodies[20][64];
    memset(items, 0, sizeof items);
    for (int i = 0; i < 20; i++) {
        int n = snprintf(bodies[i], sizeof bodies[i], "Subject: b%d\r\n\r\nbody\r\n", i);
        items[i].msg = bodies[i];
        items[i].len = (size_t)n;
    }
    assert_int_equal(ls_message_append_many(mb, items, 20), LS_EEXIST);
    assert_non_null(strstr(ls_error_last(), "reconstruct"));
    struct stat sb;
    assert_int_equal(stat(stray, &sb), 0); /* the stray file is untouched */
    int lines = 0;
    assert_int_equal(ls_repair_reconstruct(f->st, "user.bovik", 0, NULL, count_line, &lines), LS_OK);
    assert_true(lines >= 1);
    assert_int_equal(ls_message_append_many(mb, items, 20), LS_OK);
    assert_int_equal(items[0].uid, 4);
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 22); /* 1, the stray 3, and 4..23 */
    assert_int_equal(s.uidnext, 24);
    assert_check_clean(f);
    ls_mailbox_close(mb);
}

/* What a batch append killed part-way leaves (batch_intent.c): its intent
 * CONFIGDIR/lock/UUID.batch and the files placed so far at UIDNEXT and up.
 * The next writer (an append, a copy) and reconstruct remove them instead of
 * adopting them: RFC 3502, all or none. A leftover with no intent (a single
 * append's) is still adopted. */
static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* The path of message file `uid` of mb, or (uid 0) of mb's batch intent. */
static void file_of(fixture *f, ls_mailbox *mb, uint32_t uid, char *out, size_t size)
{
    if (uid) {
        char *path;
        assert_int_equal(ls_message_path(mb, 1, &path), LS_OK);
        snprintf(out, size, "%.*s/%u.", (int)(strrchr(path, '/') - path), path, uid);
        ls_free(path);
        return;
    }
    ls_mailbox_info info;
    assert_int_equal(ls_mailbox_get_info(f->admin, ls_mailbox_name(mb), &info), LS_OK);
    snprintf(out, size, "%s/conf/lock/%s.batch", f->dir, info.uniqueid);
}

static void fake_crashed_batch(fixture *f, ls_mailbox *mb, uint32_t uid0, uint32_t placed, uint32_t n)
{
    char p[600], text[64];
    for (uint32_t u = uid0; u < uid0 + placed; u++) {
        file_of(f, mb, u, p, sizeof p);
        snprintf(text, sizeof text, "Subject: batch %u\r\n\r\nbody\r\n", u);
        write_text(p, text);
    }
    file_of(f, mb, 0, p, sizeof p);
    snprintf(text, sizeof text, "batch %u %u\n", uid0, n);
    write_text(p, text);
}

static int intent_exists(fixture *f, ls_mailbox *mb)
{
    char p[600];
    file_of(f, mb, 0, p, sizeof p);
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void crashed_batch_is_not_adopted(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik.src", NULL), LS_OK);
    ls_mailbox *mb, *src;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik.src", 0, &src), LS_OK);
    uint32_t uid;
    assert_int_equal(ls_message_append(mb, "Subject: one\r\n\r\nx\r\n", 19, NULL, &uid), LS_OK);
    assert_int_equal(ls_message_append(src, "Subject: s1\r\n\r\nx\r\n", 18, NULL, &uid), LS_OK);
    assert_int_equal(ls_message_append(src, "Subject: s2\r\n\r\nx\r\n", 18, NULL, &uid), LS_OK);

    /* an append after a batch of 5 killed with 3 placed: none adopted */
    fake_crashed_batch(f, mb, 2, 3, 5);
    assert_int_equal(ls_message_append(mb, "Subject: two\r\n\r\nx\r\n", 19, NULL, &uid), LS_OK);
    assert_int_equal(uid, 2);
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 2);
    assert_int_equal(s.uidnext, 3);
    assert_false(intent_exists(f, mb));
    assert_check_clean(f);

    /* a copy of two messages into it */
    fake_crashed_batch(f, mb, 3, 2, 4);
    ls_set all = { &(ls_range){ 1, 2 }, 1 };
    ls_uidmap map;
    assert_int_equal(ls_message_copy(src, &all, "user.bovik", &map), LS_OK);
    assert_int_equal(map.dst[0], 3);
    assert_int_equal(map.dst[1], 4);
    ls_uidmap_dispose(&map);
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 4);
    assert_false(intent_exists(f, mb));

    /* reconstruct, as the next one to hold the lock */
    fake_crashed_batch(f, mb, 5, 2, 3);
    int lines = 0;
    assert_int_equal(ls_repair_reconstruct(f->st, "user.bovik", 0, NULL, count_line, &lines), LS_OK);
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 4);
    assert_false(intent_exists(f, mb));
    assert_check_clean(f);

    /* a batch that committed before it was killed: its intent is stale and
     * nothing of it is touched */
    ls_append_item items[3];
    memset(items, 0, sizeof items);
    for (int i = 0; i < 3; i++) {
        items[i].msg = "Subject: kept\r\n\r\nx\r\n";
        items[i].len = 20;
    }
    assert_int_equal(ls_message_append_many(mb, items, 3), LS_OK);
    assert_int_equal(items[0].uid, 5);
    char p[600];
    file_of(f, mb, 0, p, sizeof p);
    write_text(p, "batch 5 3\n");
    assert_int_equal(ls_message_append(mb, "Subject: last\r\n\r\nx\r\n", 20, NULL, &uid), LS_OK);
    assert_int_equal(uid, 8);
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 8);
    assert_false(intent_exists(f, mb));

    /* a single append's leftover (no intent) is still adopted */
    file_of(f, mb, 9, p, sizeof p);
    write_text(p, "Subject: leftover\r\n\r\nx\r\n");
    assert_int_equal(ls_message_append(mb, "Subject: after\r\n\r\nx\r\n", 21, NULL, &uid), LS_OK);
    assert_int_equal(uid, 10);
    assert_check_clean(f);
    ls_mailbox_close(src);
    ls_mailbox_close(mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(large_batch_is_complete_and_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_links_content_already_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_batch_leaves_nothing, setup_maxsize, teardown),
        cmocka_unit_test_setup_teardown(stray_file_above_a_gap_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(crashed_batch_is_not_adopted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

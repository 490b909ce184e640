/* ls_message_deliver when the message cannot be staged on a partition
 * (libstore/message/deliver.c): a full partition, a quota of the file
 * system, a file-size limit. Every recipient must get its own clean error,
 * nothing may be left on the partitions (no final name, no temporary file),
 * no UID may be consumed, and the store must stay consistent; once there is
 * room again the same delivery succeeds.
 *
 * The failure is injected without mounting anything: RLIMIT_FSIZE makes
 * every write past the limit fail (EFBIG, SIGXFSZ ignored), which is what
 * the layout's staging write meets on a full disk (ENOSPC), at the same
 * place. The limit is set after the store is opened, above every file the
 * store itself has written, and below the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libstore/libstore.h"

#include "../store_fixture.h"

#define LIMIT (1u << 20)       /* RLIMIT_FSIZE while the staging must fail */
#define BIG (3u << 20)         /* the message: larger than the limit */

static int setup(void **state)
{
    return store_fixture_setup(state, "dlvstage",
                               "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n"
                               "partition-other: @DIR@/spool2\n",
                               NULL);
}
static int teardown(void **state) { return store_fixture_teardown(state); }

static char *make_msg(size_t size, size_t *len)
{
    char *m = malloc(size + 256);
    assert_non_null(m);
    int n = snprintf(m, 256, "From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n"
                             "Message-ID: <big@example.com>\r\n\r\n");
    size_t o = (size_t)n;
    while (o + 2 < size) {
        for (int k = 0; k < 76 && o + 2 < size; k++)
            m[o] = (char)('a' + (o % 26)), o++;
        m[o++] = '\r';
        m[o++] = '\n';
    }
    *len = o;
    return m;
}

/* Entries of dir other than ".", "..", store.header and the reserve: what
 * a failed delivery must not leave behind. */
static int leftovers(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "store.header") ||
            (depth == 0 && (!strcmp(e->d_name, "reserve") || !strcmp(e->d_name, "libstore.id"))))
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            n += leftovers(p, depth + 1);
        } else {
            fprintf(stderr, "left behind: %s (%lld bytes)\n", p, (long long)sb.st_size);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void set_fsize(rlim_t lim)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = lim;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void test_staging_fails_for_every_recipient(void **state)
{
    fixture *f = *state;
    const char *boxes[] = { "user.ann", "user.bob", "user.cid", "user.dee" };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ls_mailbox_create(f->admin, boxes[i], i == 3 ? "other" : NULL), LS_OK);
    }
    size_t len;
    char *msg = make_msg(BIG, &len);
    /* two recipients on one partition reach the second one's placement with
     * the copy that could not be staged: that crashed (issue 8, point 3);
     * a repeated recipient, a recipient on another partition, and an
     * unknown user ride along */
    const char *users[] = { "ann", "bob", "nobody", "cid", "dee", "ann" };
    size_t n = sizeof users / sizeof *users;
    ls_deliver_result res[6];
    signal(SIGXFSZ, SIG_IGN);
    set_fsize(LIMIT);
    int rc = ls_message_deliver(f->admin, msg, len, users, n, NULL, NULL, res);
    set_fsize(RLIM_INFINITY);
    assert_int_not_equal(rc, LS_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(res[i].code, LS_OK);
        assert_int_equal(res[i].uid, 0);
        assert_true(res[i].error[0] != 0);
        if (strcmp(users[i], "nobody")) {
            assert_int_equal(res[i].code, LS_EIO); /* EFBIG; a full disk gives LS_ENOSPC */
            assert_non_null(strstr(res[i].error, "File too large"));
        } else {
            assert_int_equal(res[i].code, LS_ENOTFOUND);
        }
    }
    /* nothing half-written: no file anywhere, no UID used, check clean */
    char p[600];
    snprintf(p, sizeof p, "%s/spool", f->dir);
    assert_int_equal(leftovers(p, 0), 0);
    snprintf(p, sizeof p, "%s/spool2", f->dir);
    assert_int_equal(leftovers(p, 0), 0);
    for (int i = 0; i < 4; i++) {
        ls_status s;
        assert_int_equal(ls_mailbox_status(f->admin, boxes[i], &s), LS_OK);
        assert_int_equal(s.messages, 0);
        assert_int_equal(s.uidnext, 1);
    }
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);

    /* room again: the same delivery succeeds, each at UID 1 (2 for ann's
     * second copy), one file per partition */
    rc = ls_message_deliver(f->admin, msg, len, users, n, NULL, NULL, res);
    assert_int_equal(rc, LS_ENOTFOUND); /* nobody */
    assert_int_equal(res[0].code, LS_OK);
    assert_int_equal(res[0].uid, 1);
    assert_int_equal(res[5].uid, 2);
    assert_int_equal(res[1].uid, 1);
    assert_int_equal(res[3].uid, 1);
    assert_int_equal(res[4].code, LS_OK);
    assert_int_equal(res[4].uid, 1);
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);
    free(msg);
}

/* singleinstancestore: no stages one copy per recipient: the same. */
static int setup_nosis(void **state)
{
    return store_fixture_setup(state, "dlvstage",
                               "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n"
                               "singleinstancestore: no\n",
                               NULL);
}

static void test_staging_fails_without_single_instance(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.ann", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.bob", NULL), LS_OK);
    size_t len;
    char *msg = make_msg(BIG, &len);
    const char *users[] = { "ann", "bob" };
    ls_deliver_result res[2];
    signal(SIGXFSZ, SIG_IGN);
    set_fsize(LIMIT);
    int rc = ls_message_deliver(f->admin, msg, len, users, 2, NULL, NULL, res);
    set_fsize(RLIM_INFINITY);
    if (rc != LS_EIO)
        fprintf(stderr, "deliver: %d %s / %s\n", rc, ls_error_last(), res[0].error);
    assert_int_equal(rc, LS_EIO);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(res[i].code, LS_EIO);
        assert_true(res[i].error[0] != 0);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/spool", f->dir);
    assert_int_equal(leftovers(p, 0), 0);
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_staging_fails_for_every_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_staging_fails_without_single_instance, setup_nosis, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

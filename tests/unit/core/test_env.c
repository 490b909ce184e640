/* Opening a store whose LMDB data file is damaged: a truncated data.mdb is
 * refused with LS_ECORRUPT naming the repair, never read past its end
 * (LMDB maps the file; a missing page is SIGBUS, which kills this test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libstore/libstore.h"

#include "../store_fixture.h"

static int setup(void **state)
{
    return store_fixture_setup(state, "env", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n", NULL);
}

static int teardown(void **state) { return store_fixture_teardown(state); }

/* Fill the store so that data.mdb has many pages, close it, cut the file. */
static off_t fill_and_cut(fixture *f, off_t (*cut)(off_t size, long psize))
{
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    char msg[3000];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(msg, sizeof msg, "From: a%d@example.com\r\nSubject: message %d\r\n\r\n", i, i);
        memset(msg + n, 'a' + i % 26, sizeof msg - (size_t)n);
        assert_int_equal(ls_message_append(mb, msg, sizeof msg, NULL, NULL), LS_OK);
    }
    ls_mailbox_close(mb);
    ls_session_free(f->admin);
    f->admin = NULL;
    ls_store_close(f->st);
    f->st = NULL;
    char path[400];
    snprintf(path, sizeof path, "%s/conf/data.mdb", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size >= 16 * 4096);
    off_t to = cut(st.st_size, sysconf(_SC_PAGESIZE));
    assert_int_equal(truncate(path, to), 0);
    return to;
}

static off_t half(off_t size, long psize) { return size / 2 / psize * psize; }
static off_t one_page_short(off_t size, long psize) { return size - psize; }
static off_t odd_size(off_t size, long psize) { (void)psize; return size - 1000; }

static void assert_refused(fixture *f)
{
    ls_store *st = NULL;
    assert_int_equal(ls_store_open(f->conf, 0, &st), LS_ECORRUPT);
    assert_null(st);
    assert_non_null(strstr(ls_error_last(), "truncated"));
    assert_non_null(strstr(ls_error_last(), "reconstruct -m"));
}

static void truncated_by_half_is_refused(void **state)
{
    fixture *f = *state;
    fill_and_cut(f, half);
    assert_refused(f);
}

static void one_page_short_is_refused(void **state)
{
    fixture *f = *state;
    fill_and_cut(f, one_page_short);
    assert_refused(f);
}

static void a_partial_last_page_is_refused(void **state)
{
    fixture *f = *state;
    fill_and_cut(f, odd_size);
    assert_refused(f);
}

/* A healthy store reopens and reads everything back (the check does not
 * refuse a store that is merely large or freshly grown). */
static void healthy_store_reopens(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_session_free(f->admin);
    f->admin = NULL;
    ls_store_close(f->st);
    f->st = NULL;
    assert_int_equal(ls_store_open(f->conf, 0, &f->st), LS_OK);
    assert_int_equal(ls_session_new(f->st, NULL, &f->admin), LS_OK);
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(truncated_by_half_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(one_page_short_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_partial_last_page_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(healthy_store_reopens, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

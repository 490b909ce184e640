/* An append, batch append or delivery of no bytes (msg NULL, or len 0) is
 * refused with LS_EINVAL before anything touches the bytes (issue 8, point
 * 6: ls_message_append(mb, NULL, 0, ...) passed NULL to memchr, which UBSan
 * reports), and leaves the mailbox as it was: no record, no UID consumed,
 * no file. An empty message is refused even with a valid pointer: there is
 * nothing to parse or show, and an empty file in a mailbox directory is
 * what damage leaves behind (docs/admin.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>

#include "libstore/libstore.h"

#include "../store_fixture.h"

static int setup(void **state)
{
    return store_fixture_setup(state, "empty", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n", NULL);
}
static int teardown(void **state) { return store_fixture_teardown(state); }

static const char MSG[] = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";

static void assert_unchanged(fixture *f, uint32_t messages, uint32_t uidnext)
{
    ls_status st;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &st), LS_OK);
    assert_int_equal(st.messages, messages);
    assert_int_equal(st.uidnext, uidnext);
}

static void append_refuses_no_bytes(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    uint32_t uid = 77;
    assert_int_equal(ls_message_append(mb, NULL, 0, NULL, &uid), LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "empty message"));
    assert_int_equal(ls_message_append(mb, "", 0, NULL, &uid), LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "empty message"));
    assert_int_equal(ls_message_append(mb, NULL, 10, NULL, &uid), LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "NULL"));
    assert_unchanged(f, 0, 1);
    /* the mailbox still takes messages, at the first UID */
    assert_int_equal(ls_message_append(mb, MSG, sizeof MSG - 1, NULL, &uid), LS_OK);
    assert_int_equal(uid, 1);
    ls_mailbox_close(mb);
}

static void batch_with_an_empty_item_stores_nothing(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    ls_append_item items[3] = { { .msg = MSG, .len = sizeof MSG - 1 }, { .msg = NULL, .len = 0 },
                                { .msg = MSG, .len = sizeof MSG - 1 } };
    assert_int_equal(ls_message_append_many(mb, items, 3), LS_EINVAL);
    assert_unchanged(f, 0, 1);
    ls_mailbox_close(mb);
}

static void deliver_refuses_no_bytes(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    const char *users[] = { "bovik" };
    ls_deliver_result res[1];
    memset(res, 0, sizeof res);
    assert_int_equal(ls_message_deliver(f->admin, NULL, 0, users, 1, NULL, NULL, res), LS_EINVAL);
    assert_unchanged(f, 0, 1);
    assert_int_equal(ls_message_deliver(f->admin, MSG, sizeof MSG - 1, users, 1, NULL, NULL, res), LS_OK);
    assert_int_equal(res[0].code, LS_OK);
    assert_unchanged(f, 1, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_refuses_no_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_with_an_empty_item_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(deliver_refuses_no_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

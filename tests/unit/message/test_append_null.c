/* Message bytes given as NULL (issue 8, point 6: ls_message_append(mb, NULL,
 * 0, ...) passed NULL to memchr, which UBSan reports). NULL with length 0 is
 * the empty message, stored like any malformed message (tests/e2e
 * TestMalformed); NULL with a length is LS_EINVAL before anything reads
 * the bytes, and leaves the mailbox as it was: no record, no UID consumed.
 * Run in the sanitizer build too, where reading through NULL aborts. */
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
    return store_fixture_setup(state, "nullmsg", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n", NULL);
}
static int teardown(void **state) { return store_fixture_teardown(state); }

static const char MSG[] = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";

static void assert_counts(fixture *f, uint32_t messages, uint32_t uidnext)
{
    ls_status st;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &st), LS_OK);
    assert_int_equal(st.messages, messages);
    assert_int_equal(st.uidnext, uidnext);
}

static ls_mailbox *open_bovik(fixture *f)
{
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    return mb;
}

static void append_null(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb = open_bovik(f);
    uint32_t uid = 0;
    /* NULL, 0: the empty message, the same as "", 0 */
    assert_int_equal(ls_message_append(mb, NULL, 0, NULL, &uid), LS_OK);
    assert_int_equal(uid, 1);
    assert_int_equal(ls_message_append(mb, "", 0, NULL, &uid), LS_OK);
    assert_int_equal(uid, 2);
    ls_record a, b;
    assert_int_equal(ls_message_get(mb, 1, &a), LS_OK);
    assert_int_equal(ls_message_get(mb, 2, &b), LS_OK);
    assert_int_equal(a.size, 0);
    assert_memory_equal(a.guid, b.guid, sizeof a.guid);
    char *out = NULL;
    size_t len = 99;
    assert_int_equal(ls_message_fetch(mb, 1, "", 0, UINT64_MAX, &out, &len), LS_OK);
    assert_int_equal(len, 0);
    ls_free(out);
    /* NULL with a length: refused, nothing stored, no UID used */
    uid = 77;
    assert_int_equal(ls_message_append(mb, NULL, 10, NULL, &uid), LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "message bytes are NULL (10 bytes announced)"));
    assert_counts(f, 2, 3);
    assert_int_equal(ls_message_append(mb, MSG, sizeof MSG - 1, NULL, &uid), LS_OK);
    assert_int_equal(uid, 3);
    ls_mailbox_close(mb);
}

static void batch_with_null(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb = open_bovik(f);
    ls_append_item items[3] = { { .msg = MSG, .len = sizeof MSG - 1 }, { .msg = NULL, .len = 5 },
                                { .msg = MSG, .len = sizeof MSG - 1 } };
    assert_int_equal(ls_message_append_many(mb, items, 3), LS_EINVAL);
    assert_counts(f, 0, 1);
    items[1].len = 0;
    assert_int_equal(ls_message_append_many(mb, items, 3), LS_OK);
    assert_int_equal(items[1].uid, 2);
    assert_counts(f, 3, 4);
    ls_mailbox_close(mb);
}

static void deliver_null(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb = open_bovik(f);
    ls_mailbox_close(mb);
    const char *users[] = { "bovik" };
    ls_deliver_result res[1];
    memset(res, 0, sizeof res);
    assert_int_equal(ls_message_deliver(f->admin, NULL, 3, users, 1, NULL, NULL, res), LS_EINVAL);
    assert_counts(f, 0, 1);
    assert_int_equal(ls_message_deliver(f->admin, NULL, 0, users, 1, NULL, NULL, res), LS_OK);
    assert_int_equal(res[0].code, LS_OK);
    assert_int_equal(res[0].uid, 1);
    assert_counts(f, 1, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_null, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_with_null, setup, teardown),
        cmocka_unit_test_setup_teardown(deliver_null, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

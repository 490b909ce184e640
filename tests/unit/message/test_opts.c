/* Versioned option structs (docs/api.md, Conventions): every call that takes
 * ls_append_opts or ls_message_store_opts refuses an unknown version with
 * LS_EINVAL and changes nothing; the _INIT macros and an all-zero append
 * struct are accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libstore/libstore.h"

#include "../store_fixture.h"

static int setup(void **state)
{
    return store_fixture_setup(state, "opts", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n", NULL);
}
static int teardown(void **state) { return store_fixture_teardown(state); }

static const char MSG[] = "Subject: opts\r\n\r\nbody\r\n";

static ls_mailbox *inbox(fixture *f)
{
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", LS_MAILBOX_OPEN_RDWR, &mb), LS_OK);
    return mb;
}

static uint32_t messages(ls_mailbox *mb)
{
    ls_status st;
    assert_int_equal(ls_mailbox_status_open(mb, &st), LS_OK);
    return st.messages;
}

static void append_checks_the_version(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb = inbox(f);
    uint32_t uid = 0;

    ls_append_opts o = LS_APPEND_OPTS_INIT;
    o.flags = LS_FLAG_FLAGGED;
    assert_int_equal(ls_message_append(mb, MSG, strlen(MSG), &o, &uid), LS_OK);
    ls_record rec;
    assert_int_equal(ls_message_get(mb, uid, &rec), LS_OK);
    assert_int_equal(rec.flags, LS_FLAG_FLAGGED);

    o.version = 0; /* a program that never heard of the version */
    assert_int_equal(ls_message_append(mb, MSG, strlen(MSG), &o, &uid), LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "LS_APPEND_OPTS_INIT"));
    o.version = LS_APPEND_OPTS_VERSION + 1; /* built against a newer layout */
    assert_int_equal(ls_message_append(mb, MSG, strlen(MSG), &o, &uid), LS_EINVAL);
    assert_int_equal(messages(mb), 1);

    ls_append_opts zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(ls_message_append(mb, MSG, strlen(MSG), &zero, &uid), LS_OK);
    assert_int_equal(ls_message_append(mb, MSG, strlen(MSG), NULL, &uid), LS_OK);
    assert_int_equal(messages(mb), 3);
    ls_mailbox_close(mb);
}

static void append_many_checks_every_item(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb = inbox(f);
    ls_append_item *items = calloc(3, sizeof *items);
    assert_non_null(items);
    for (int i = 0; i < 3; i++) {
        items[i].msg = MSG;
        items[i].len = strlen(MSG);
    }
    items[1].opts.flags = LS_FLAG_SEEN; /* fields set, version forgotten */
    assert_int_equal(ls_message_append_many(mb, items, 3), LS_EINVAL);
    assert_non_null(strstr(ls_error_last(), "item 1"));
    assert_int_equal(messages(mb), 0);

    items[1].opts.version = LS_APPEND_OPTS_VERSION;
    assert_int_equal(ls_message_append_many(mb, items, 3), LS_OK);
    assert_int_equal(messages(mb), 3);
    free(items);
    ls_mailbox_close(mb);
}

static void deliver_checks_the_version(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb = inbox(f);
    const char *users[] = { "bovik" };
    ls_deliver_result res[1];
    ls_append_opts o;
    memset(&o, 0, sizeof o);
    o.flags = LS_FLAG_SEEN; /* fields set, version forgotten */
    assert_int_equal(ls_message_deliver(f->admin, MSG, strlen(MSG), users, 1, NULL, &o, res), LS_EINVAL);
    assert_int_equal(messages(mb), 0);
    o.version = LS_APPEND_OPTS_VERSION;
    assert_int_equal(ls_message_deliver(f->admin, MSG, strlen(MSG), users, 1, NULL, &o, res), LS_OK);
    assert_int_equal(res[0].code, LS_OK);
    assert_int_equal(messages(mb), 1);
    ls_mailbox_close(mb);
}

static void store_takes_versioned_options(void **state)
{
    fixture *f = *state;
    ls_mailbox *mb = inbox(f);
    uint32_t uid;
    assert_int_equal(ls_message_append(mb, MSG, strlen(MSG), NULL, &uid), LS_OK);
    ls_range r = { uid, uid };
    ls_set one = { &r, 1 };
    ls_record rec;

    ls_message_store_opts so = LS_MESSAGE_STORE_OPTS_INIT;
    assert_int_equal(so.op, LS_MESSAGE_STORE_ADD);
    so.flags = LS_FLAG_FLAGGED | LS_FLAG_SEEN;
    assert_int_equal(ls_message_store(mb, &one, &so, NULL), LS_OK);
    assert_int_equal(ls_message_get(mb, uid, &rec), LS_OK);
    assert_int_equal(rec.flags, LS_FLAG_FLAGGED | LS_FLAG_SEEN);

    so.op = LS_MESSAGE_STORE_REMOVE;
    so.flags = LS_FLAG_SEEN;
    so.version = 0;
    assert_int_equal(ls_message_store(mb, &one, &so, NULL), LS_EINVAL);
    assert_int_equal(ls_message_store(mb, &one, NULL, NULL), LS_EINVAL);
    assert_int_equal(ls_message_get(mb, uid, &rec), LS_OK);
    assert_int_equal(rec.flags, LS_FLAG_FLAGGED | LS_FLAG_SEEN);

    so.version = LS_MESSAGE_STORE_OPTS_VERSION;
    assert_int_equal(ls_message_store(mb, &one, &so, NULL), LS_OK);
    assert_int_equal(ls_message_get(mb, uid, &rec), LS_OK);
    assert_int_equal(rec.flags, LS_FLAG_FLAGGED);

    /* UNCHANGEDSINCE travels in the options too */
    ls_set modified = { 0 };
    so.op = LS_MESSAGE_STORE_ADD;
    so.flags = LS_FLAG_ANSWERED;
    so.unchangedsince = rec.modseq - 1;
    assert_int_equal(ls_message_store(mb, &one, &so, &modified), LS_EMODIFIED);
    assert_true(ls_set_contains(&modified, uid));
    ls_set_dispose(&modified);
    assert_null(modified.r);
    ls_mailbox_close(mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_checks_the_version, setup, teardown),
        cmocka_unit_test_setup_teardown(append_many_checks_every_item, setup, teardown),
        cmocka_unit_test_setup_teardown(deliver_checks_the_version, setup, teardown),
        cmocka_unit_test_setup_teardown(store_takes_versioned_options, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The engine through its public API, on a real store in a temporary
 * directory: mailboxes, append/fetch, flags, expunge, copy/move, search,
 * keywords, single-instance storage, crash leftovers, check. */
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

static int setup_with(void **state, const char *extra)
{
    return store_fixture_setup(state, "engine", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\npartition-other: @DIR@/other\n", extra);
}

static int setup(void **state) { return setup_with(state, NULL); }
static int setup_maxsize(void **state) { return setup_with(state, "maxmessagesize: 1000\n"); }

static int teardown(void **state) { return store_fixture_teardown(state); }

static const char MSG[] = "From: Ann <ann@example.com>\nTo: bob@example.com\nSubject: Hello there\n"
                          "Date: Sat, 21 Nov 2026 10:00:00 +0100\n\nline one\nline two\n";
static const char MSG_CRLF[] = "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: Hello there\r\n"
                               "Date: Sat, 21 Nov 2026 10:00:00 +0100\r\n\r\nline one\r\nline two\r\n";

static uint32_t append(ls_mailbox *mb, const char *msg, unsigned flags, const char *kw, int64_t date)
{
    ls_date d = { date, 60 };
    const char *kws[1] = { kw };
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = flags, .keywords = kw ? kws : NULL, .nkeywords = kw ? 1 : 0,
                         .internaldate = date ? &d : NULL };
    uint32_t uid = 0;
    int rc = ls_message_append(mb, msg, strlen(msg), &o, &uid);
    if (rc)
        fail_msg("append: %s", ls_error_last());
    return uid;
}

static int count_cb(const char *name, unsigned attrs, void *arg)
{
    char *buf = arg;
    strcat(buf, name);
    strcat(buf, attrs & LS_MAILBOX_LIST_NOSELECT ? "(N) " : " ");
    return 0;
}

static void mailboxes_and_list(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik.a.b", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_EEXIST);
    assert_int_equal(ls_mailbox_create(f->admin, "user..x", NULL), LS_EBADNAME);
    assert_int_equal(ls_mailbox_create(f->admin, "shared.x", "nosuch"), LS_ENOTFOUND);
    char buf[512] = "";
    assert_int_equal(ls_mailbox_list(f->admin, "*", count_cb, buf), LS_OK);
    assert_string_equal(buf, "user(N) user.bovik user.bovik.a(N) user.bovik.a.b ");
    buf[0] = 0;
    assert_int_equal(ls_mailbox_list(f->admin, "user.%", count_cb, buf), LS_OK);
    assert_string_equal(buf, "user.bovik ");
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik.a", 0, &mb), LS_ENOSELECT);
    assert_int_equal(ls_mailbox_open(f->admin, "user.nobody", 0, &mb), LS_ENOTFOUND);
    /* a child inherits its partition */
    assert_int_equal(ls_mailbox_create(f->admin, "shared.p", "other"), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "shared.p.c", NULL), LS_OK);
    ls_mailbox_info info;
    assert_int_equal(ls_mailbox_get_info(f->admin, "shared.p.c", &info), LS_OK);
    assert_string_equal(info.partition, "other");
}

static void append_fetch_sections(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    uint32_t uid = append(mb, MSG, LS_FLAG_SEEN, "$Important", 1795000000);
    assert_int_equal(uid, 1);
    char *out;
    size_t len;
    assert_int_equal(ls_message_fetch(mb, uid, "", 0, UINT64_MAX, &out, &len), LS_OK);
    assert_int_equal(len, strlen(MSG_CRLF)); /* bare LF became CRLF */
    assert_memory_equal(out, MSG_CRLF, len);
    ls_free(out);
    assert_int_equal(ls_message_fetch(mb, uid, "TEXT", 0, UINT64_MAX, &out, &len), LS_OK);
    assert_string_equal(out, "line one\r\nline two\r\n");
    ls_free(out);
    assert_int_equal(ls_message_fetch(mb, uid, "TEXT", 5, 3, &out, &len), LS_OK);
    assert_string_equal(out, "one");
    ls_free(out);
    assert_int_equal(ls_message_fetch(mb, uid, "HEADER.FIELDS (Subject)", 0, UINT64_MAX, &out, &len), LS_OK);
    assert_string_equal(out, "Subject: Hello there\r\n\r\n");
    ls_free(out);
    assert_int_equal(ls_message_fetch(mb, uid, "3.1", 0, UINT64_MAX, &out, &len), LS_ENOTFOUND);
    assert_int_equal(ls_message_fetch(mb, 99, "", 0, UINT64_MAX, &out, &len), LS_ENOTFOUND);
    assert_int_equal(ls_message_cached(mb, uid, "envelope", &out, &len), LS_OK);
    assert_string_equal(out, "(\"Sat, 21 Nov 2026 10:00:00 +0100\" \"Hello there\" ((\"Ann\" NIL \"ann\" \"example.com\"))"
                             " ((\"Ann\" NIL \"ann\" \"example.com\")) ((\"Ann\" NIL \"ann\" \"example.com\"))"
                             " ((NIL NIL \"bob\" \"example.com\")) NIL NIL NIL NIL)");
    ls_free(out);
    ls_record r;
    assert_int_equal(ls_message_get(mb, uid, &r), LS_OK);
    assert_int_equal(r.flags, LS_FLAG_SEEN);
    assert_true(r.internaldate.t == 1795000000 && r.internaldate.tz == 60);
    assert_true(r.size == strlen(MSG_CRLF));
    assert_true(r.keywords[0] == 1);
    assert_string_equal(ls_mailbox_keyword(mb, 0), "$Important");
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.unseen, 0);
    assert_int_equal(s.uidnext, 2);
    assert_true(s.size == strlen(MSG_CRLF));
    /* the file's mtime is the internal date */
    char *path;
    assert_int_equal(ls_message_path(mb, uid, &path), LS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_mtime == 1795000000);
    ls_free(path);
    ls_mailbox_close(mb);
}

static void maxmessagesize_refuses(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    char big[2000];
    memset(big, 'x', sizeof big);
    memcpy(big, "Subject: big\r\n\r\n", 16);
    uint32_t uid;
    assert_int_equal(ls_message_append(mb, big, sizeof big, NULL, &uid), LS_ETOOBIG);
    assert_int_equal(ls_message_append(mb, big, 999, NULL, &uid), LS_OK);
    ls_mailbox_close(mb);
}

struct changes { uint32_t uid[16]; int exp[16]; int n; };
static int on_change(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
    struct changes *c = arg;
    c->uid[c->n] = uid;
    c->exp[c->n++] = expunged;
    return 0;
}

static void flags_modseq_expunge(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    for (int i = 0; i < 5; i++)
        append(mb, MSG, 0, NULL, 1795000000 + i);
    ls_status s;
    assert_int_equal(ls_mailbox_status_open(mb, &s), LS_OK);
    uint64_t before = s.highestmodseq;
    ls_set set;
    assert_int_equal(ls_set_parse("2:3", &set), LS_OK);
    assert_int_equal(ls_message_store(mb, &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED | LS_FLAG_FLAGGED }, NULL), LS_OK);
    assert_int_equal(ls_mailbox_status_open(mb, &s), LS_OK);
    assert_int_equal(s.deleted, 2);
    assert_int_equal(s.flagged, 2);
    assert_true(s.highestmodseq == before + 2);
    /* UNCHANGEDSINCE: records changed after `before` are refused */
    ls_set all, modified;
    assert_int_equal(ls_set_parse("1:*", &all), LS_OK);
    assert_int_equal(ls_message_store(mb, &all, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_ANSWERED, .unchangedsince = before }, &modified), LS_EMODIFIED);
    char *ms = ls_set_format(&modified);
    assert_string_equal(ms, "2:3");
    ls_free(ms);
    ls_set_dispose(&modified);
    assert_int_equal(ls_mailbox_status_open(mb, &s), LS_OK);
    assert_int_equal(s.answered, 3);
    /* expunge only \Deleted; tombstones are reported as vanished */
    ls_set gone;
    assert_int_equal(ls_message_expunge(mb, NULL, &gone), LS_OK);
    ms = ls_set_format(&gone);
    assert_string_equal(ms, "2:3");
    ls_free(ms);
    ls_set_dispose(&gone);
    assert_int_equal(ls_mailbox_status_open(mb, &s), LS_OK);
    assert_int_equal(s.messages, 3);
    assert_int_equal(s.deleted, 0);
    struct changes ch = { 0 };
    assert_int_equal(ls_message_changes(mb, before + 2, on_change, &ch), LS_OK);
    assert_int_equal(ch.n, 5);
    int vanished = 0;
    for (int i = 0; i < ch.n; i++)
        vanished += ch.exp[i];
    assert_int_equal(vanished, 2);
    uint32_t *uids;
    size_t n;
    assert_int_equal(ls_message_uids(mb, &uids, &n), LS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(uids[0], 1);
    assert_int_equal(uids[1], 4);
    ls_free(uids);
    /* the expunged file is renamed, then removed by cleanup */
    char *dir;
    assert_int_equal(ls_mailbox_path(f->admin, "user.bovik", &dir), LS_OK);
    char p[512];
    snprintf(p, sizeof p, "%s/2.", dir);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/2.expunged", dir);
    assert_int_equal(access(p, F_OK), 0);
    uint64_t removed;
    assert_int_equal(ls_store_cleanup(f->st, 0, &removed), LS_OK);
    assert_true(removed >= 2);
    assert_int_not_equal(access(p, F_OK), 0);
    ls_free(dir);
    ls_set_dispose(&set);
    ls_set_dispose(&all);
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);
    ls_mailbox_close(mb);
}

static void keywords_limit(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    append(mb, MSG, 0, NULL, 0);
    ls_set one;
    assert_int_equal(ls_set_parse("1", &one), LS_OK);
    char name[32];
    for (int i = 0; i < 128; i++) {
        snprintf(name, sizeof name, "kw%d", i);
        const char *k = name;
        assert_int_equal(ls_message_store(mb, &one, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = 0, .keywords = &k, .nkeywords = 1 }, NULL), LS_OK);
    }
    const char *k = "one-too-many";
    assert_int_equal(ls_message_store(mb, &one, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = 0, .keywords = &k, .nkeywords = 1 }, NULL), LS_ELIMIT);
    assert_non_null(strstr(ls_error_last(), "128"));
    const char *bad = "bad keyword";
    assert_int_equal(ls_message_store(mb, &one, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = 0, .keywords = &bad, .nkeywords = 1 }, NULL), LS_EINVAL);
    ls_record r;
    assert_int_equal(ls_message_get(mb, 1, &r), LS_OK);
    assert_true(r.keywords[0] == UINT64_MAX && r.keywords[1] == UINT64_MAX);
    ls_set_dispose(&one);
    ls_mailbox_close(mb);
}

static void copy_move_share_files(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.a", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.b", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "shared.o", "other"), LS_OK);
    ls_mailbox *a, *b;
    assert_int_equal(ls_mailbox_open(f->admin, "user.a", 0, &a), LS_OK);
    append(a, MSG, LS_FLAG_FLAGGED, "kw", 1795000000);
    append(a, "Subject: two\r\n\r\nx\r\n", 0, NULL, 1795000001);
    ls_set all;
    assert_int_equal(ls_set_parse("1:*", &all), LS_OK);
    ls_uidmap map;
    assert_int_equal(ls_message_copy(a, &all, "user.b", &map), LS_OK);
    assert_int_equal(map.n, 2);
    assert_int_equal(map.src[0], 1);
    assert_int_equal(map.dst[0], 1);
    ls_uidmap_dispose(&map);
    assert_int_equal(ls_mailbox_open(f->admin, "user.b", 0, &b), LS_OK);
    ls_record r;
    assert_int_equal(ls_message_get(b, 1, &r), LS_OK);
    assert_int_equal(r.flags, LS_FLAG_FLAGGED);
    assert_string_equal(ls_mailbox_keyword(b, 0), "kw");
    fixture_assert_one_file(a, 1, b, 1, 2);
    /* move across partitions: a copy there, gone here */
    ls_set one;
    assert_int_equal(ls_set_parse("2", &one), LS_OK);
    assert_int_equal(ls_message_move(a, &one, "shared.o", &map), LS_OK);
    assert_int_equal(map.n, 1);
    ls_uidmap_dispose(&map);
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.a", &s), LS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(ls_mailbox_status(f->admin, "shared.o", &s), LS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(ls_message_copy(a, &all, "user.none", &map), LS_ENOTFOUND);
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);
    ls_set_dispose(&all);
    ls_set_dispose(&one);
    ls_mailbox_close(a);
    ls_mailbox_close(b);
}

static void deliver_once_to_many(void **state)
{
    fixture *f = *state;
    const char *users[] = { "u1", "u2", "nosuch", "u3" };
    assert_int_equal(ls_mailbox_create(f->admin, "user.u1", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.u2", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.u3", NULL), LS_OK);
    ls_deliver_result res[4];
    assert_int_equal(ls_message_deliver(f->admin, MSG, strlen(MSG), users, 4, NULL, NULL, res), LS_ENOTFOUND);
    assert_int_equal(res[0].code, LS_OK);
    assert_int_equal(res[1].code, LS_OK);
    assert_int_equal(res[2].code, LS_ENOTFOUND);
    assert_non_null(strstr(res[2].error, "user.nosuch"));
    assert_int_equal(res[3].code, LS_OK);
    assert_int_equal(res[3].uid, 1);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.u3", 0, &mb), LS_OK);
    char *p;
    assert_int_equal(ls_message_path(mb, 1, &p), LS_OK);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_nlink, 3);
    ls_free(p);
    ls_mailbox_close(mb);
}

static void leftover_file_is_adopted(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    append(mb, MSG, 0, NULL, 0);
    /* a crash between rename and commit leaves a complete file at UIDNEXT */
    char *dir;
    assert_int_equal(ls_mailbox_path(f->admin, "user.bovik", &dir), LS_OK);
    char p[512];
    snprintf(p, sizeof p, "%s/2.", dir);
    FILE *o = fopen(p, "wb");
    fputs("Subject: left over\r\n\r\nbody\r\n", o);
    fclose(o);
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0); /* a notice, not an error */
    uint32_t uid = append(mb, MSG, 0, NULL, 0);
    assert_int_equal(uid, 3);
    char *out;
    size_t len;
    assert_int_equal(ls_message_fetch(mb, 2, "", 0, UINT64_MAX, &out, &len), LS_OK);
    assert_string_equal(out, "Subject: left over\r\n\r\nbody\r\n");
    ls_free(out);
    /* a missing file is an error for check */
    snprintf(p, sizeof p, "%s/1.", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 1);
    assert_int_equal(ls_message_fetch(mb, 1, "", 0, UINT64_MAX, &out, &len), LS_EIO);
    ls_free(dir);
    ls_mailbox_close(mb);
}

static void search_keys(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    append(mb, MSG, LS_FLAG_SEEN, NULL, 0);
    append(mb, "From: carl@example.org\r\nSubject: other\r\n\r\nneedle in body\r\n", 0, NULL, 0);
    const char *q1[] = { "FROM", "ann" };
    uint32_t *u;
    size_t n;
    assert_int_equal(ls_message_search(mb, 2, q1, &u, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(u[0], 1);
    ls_free(u);
    const char *q2[] = { "BODY", "NEEDLE", "UNSEEN" };
    assert_int_equal(ls_message_search(mb, 3, q2, &u, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(u[0], 2);
    ls_free(u);
    const char *bad[] = { "FORM", "x" };
    assert_int_equal(ls_message_search(mb, 2, bad, &u, &n), LS_EINVAL);
    ls_mailbox_close(mb);
}

static void rename_and_delete_account(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik.work", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    append(mb, MSG, 0, NULL, 0);
    ls_status s0;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s0), LS_OK);
    /* RFC 3501 INBOX rename: messages move, INBOX stays empty */
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bovik", "user.bovik.old"), LS_OK);
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik.old", &s), LS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.uidvalidity, s0.uidvalidity);
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.messages, 0);
    assert_int_not_equal(s.uidvalidity, s0.uidvalidity);
    /* the open handle follows its mailbox (by unique id) */
    assert_string_equal(ls_mailbox_name(mb), "user.bovik.old");
    ls_mailbox_close(mb);
    /* user.bovik -> user.carl moves the account */
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bovik", "user.carl"), LS_OK);
    char buf[512] = "";
    assert_int_equal(ls_mailbox_list(f->admin, "*", count_cb, buf), LS_OK);
    assert_string_equal(buf, "user(N) user.carl user.carl.old user.carl.work ");
    assert_int_equal(ls_mailbox_delete(f->admin, "user.carl"), LS_OK);
    buf[0] = 0;
    assert_int_equal(ls_mailbox_list(f->admin, "*", count_cb, buf), LS_OK);
    assert_string_equal(buf, "");
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);
}

static void wait_times_out_and_wakes(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    ls_status s;
    assert_int_equal(ls_mailbox_status_open(mb, &s), LS_OK);
    int changed = -1;
    assert_int_equal(ls_mailbox_wait(mb, s.highestmodseq, 50, &changed), LS_OK);
    assert_int_equal(changed, 0);
    append(mb, MSG, 0, NULL, 0);
    assert_int_equal(ls_mailbox_wait(mb, s.highestmodseq, 1000, &changed), LS_OK);
    assert_int_equal(changed, 1);
    ls_mailbox_close(mb);
}

static void recent_is_counted_and_claimed(void **state)
{
    fixture *f = *state;
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb, *ro;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    for (int i = 0; i < 3; i++)
        append(mb, MSG, LS_FLAG_DELETED, NULL, 1795000000 + i);
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.recent, 3);
    uint32_t got = 0;
    assert_int_equal(ls_mailbox_claim_recent(mb, &got), LS_OK);
    assert_int_equal(got, 3);
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.recent, 0);
    append(mb, MSG, LS_FLAG_DELETED, NULL, 1795000010);
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.recent, 1);
    /* expunging a recent message lowers the count */
    assert_int_equal(ls_message_expunge(mb, NULL, NULL), LS_OK);
    assert_int_equal(ls_mailbox_status(f->admin, "user.bovik", &s), LS_OK);
    assert_int_equal(s.recent, 0);
    assert_int_equal(s.messages, 0);
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", LS_MAILBOX_OPEN_RDONLY, &ro), LS_OK);
    assert_int_equal(ls_mailbox_claim_recent(ro, NULL), LS_EPERM);
    ls_mailbox_close(ro);
    ls_mailbox_close(mb);
}

static void sequence_sets_map_to_uids(void **state)
{
    (void)state;
    uint32_t uids[] = { 3, 7, 8, 20 };
    ls_set seq, out;
    assert_int_equal(ls_set_parse("2:3,4:*", &seq), LS_OK);
    assert_int_equal(ls_set_seq_to_uid(&seq, uids, 4, &out), LS_OK);
    char *s = ls_set_format(&out);
    assert_string_equal(s, "7:8,20");
    ls_free(s);
    ls_set_dispose(&out);
    ls_set_dispose(&seq);
    assert_int_equal(ls_set_parse("1,9", &seq), LS_OK); /* 9 is past the end: the last */
    assert_int_equal(ls_set_seq_to_uid(&seq, uids, 4, &out), LS_OK);
    s = ls_set_format(&out);
    assert_string_equal(s, "3,20");
    ls_free(s);
    ls_set_dispose(&out);
    ls_set_dispose(&seq);
}

static void bad_config_is_clear(void **state)
{
    (void)state;
    ls_store *st;
    assert_int_equal(ls_store_open("/nonexistent/store.conf", 0, &st), LS_ECONFIG);
    assert_non_null(strstr(ls_error_last(), "/nonexistent/store.conf"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mailboxes_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(append_fetch_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(maxmessagesize_refuses, setup_maxsize, teardown),
        cmocka_unit_test_setup_teardown(flags_modseq_expunge, setup, teardown),
        cmocka_unit_test_setup_teardown(keywords_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_move_share_files, setup, teardown),
        cmocka_unit_test_setup_teardown(deliver_once_to_many, setup, teardown),
        cmocka_unit_test_setup_teardown(leftover_file_is_adopted, setup, teardown),
        cmocka_unit_test_setup_teardown(search_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(rename_and_delete_account, setup, teardown),
        cmocka_unit_test_setup_teardown(wait_times_out_and_wakes, setup, teardown),
        cmocka_unit_test_setup_teardown(recent_is_counted_and_claimed, setup, teardown),
        cmocka_unit_test(sequence_sets_map_to_uids),
        cmocka_unit_test(bad_config_is_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Quota roots (RFC 9208) through the public API, on a real store in a
 * temporary directory: exact usage (bytes, messages, mailboxes) after every
 * operation that changes it, limits that refuse a change and change
 * nothing, roots that follow renames and go with deletes, and several
 * processes appending into one root near its limit. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "libstore/libstore.h"

#include "../store_fixture.h"

static int setup_with(void **state, const char *extra)
{
    return store_fixture_setup(state, "quota", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\npartition-other: @DIR@/other\nadmins: cyrus\n"
                               "fsync: messages\n", extra);
}

static int setup(void **state) { return setup_with(state, NULL); }
static int setup_default_quota(void **state) { return setup_with(state, "quota_default_storage: 100\n"); }

static int teardown(void **state) { return store_fixture_teardown(state); }

/* ---------------------------------------------------------------------- */

#define U LS_QUOTA_UNCHANGED
#define NONE LS_QUOTA_UNLIMITED

static void mk(fixture *f, const char *name)
{
    int rc = ls_mailbox_create(f->admin, name, NULL);
    if (rc)
        fail_msg("create %s: %s", name, ls_error_last());
}

static void setq(fixture *f, const char *root, int64_t storage, int64_t messages, int64_t mailboxes)
{
    int64_t lim[3] = { storage, messages, mailboxes };
    int rc = ls_quota_set(f->admin, root, lim);
    if (rc)
        fail_msg("setquota %s: %s", root, ls_error_last());
}

/* The usage of a root against bytes, messages, mailboxes: NULL if equal,
 * else a message (static). */
static const char *usage_diff(fixture *f, const char *root, uint64_t bytes, uint64_t msgs, uint64_t mboxes)
{
    static char buf[512];
    ls_quota q;
    int rc = ls_quota_get(f->admin, root, &q);
    if (rc) {
        snprintf(buf, sizeof buf, "getquota %s: %s", root, ls_error_last());
        return buf;
    }
    if (q.usage[LS_QUOTA_STORAGE] == bytes && q.usage[LS_QUOTA_MESSAGE] == msgs && q.usage[LS_QUOTA_MAILBOX] == mboxes)
        return NULL;
    snprintf(buf, sizeof buf, "root %s: usage %llu bytes, %llu messages, %llu mailboxes; want %llu, %llu, %llu", root,
             (unsigned long long)q.usage[0], (unsigned long long)q.usage[1], (unsigned long long)q.usage[2],
             (unsigned long long)bytes, (unsigned long long)msgs, (unsigned long long)mboxes);
    return buf;
}
#define assert_usage(f, root, bytes, msgs, mboxes)                          \
    do {                                                                     \
        const char *e_ = usage_diff(f, root, bytes, msgs, mboxes);           \
        if (e_)                                                              \
            fail_msg("%s", e_);                                              \
    } while (0)

static int is_root(fixture *f, const char *root)
{
    ls_quota q;
    int rc = ls_quota_get(f->admin, root, &q);
    ls_error_clear();
    return rc == LS_OK;
}

/* A message of exactly `size` bytes (CRLF line ends), unique by `tag`. */
static char *msg_of(size_t size, int tag)
{
    char *m = malloc(size + 1);
    int h = snprintf(m, size + 1, "Subject: m%06d\r\n\r\n", tag);
    assert_true((size_t)h + 2 <= size);
    memset(m + h, 'a', size - (size_t)h - 2);
    memcpy(m + size - 2, "\r\n", 2);
    m[size] = 0;
    return m;
}

static int g_tag;

/* Append a unique message of `size` bytes; return the code. */
static int put(ls_mailbox *mb, size_t size, uint32_t *uid)
{
    char *m = msg_of(size, ++g_tag);
    int rc = ls_message_append(mb, m, size, NULL, uid);
    free(m);
    return rc;
}

static ls_mailbox *openmb(ls_session *s, const char *name)
{
    ls_mailbox *mb = NULL;
    int rc = ls_mailbox_open(s, name, 0, &mb);
    if (rc)
        fail_msg("open %s: %s", name, ls_error_last());
    return mb;
}

static void fill(fixture *f, const char *name, int n, size_t size)
{
    ls_mailbox *mb = openmb(f->admin, name);
    for (int i = 0; i < n; i++)
        if (put(mb, size, NULL))
            fail_msg("append to %s: %s", name, ls_error_last());
    ls_mailbox_close(mb);
}

static ls_status status(fixture *f, const char *name)
{
    ls_status st;
    int rc = ls_mailbox_status(f->admin, name, &st);
    if (rc)
        fail_msg("status %s: %s", name, ls_error_last());
    return st;
}

static ls_set *uids(const char *text)
{
    static ls_set s[4];
    static int i;
    ls_set *r = &s[i++ % 4];
    ls_set_dispose(r);
    assert_int_equal(ls_set_parse(text, r), LS_OK);
    return r;
}

struct check_log { char text[4096]; };
static void check_cb(enum ls_store_check_severity sev, const char *msg, void *arg)
{
    struct check_log *l = arg;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s: %s\n", sev == LS_STORE_CHECK_ERROR ? "error" : "notice", msg);
}
/* `check` agrees that every root's usage is what its mailboxes hold. */
static void assert_check_clean(fixture *f)
{
    struct check_log l = { "" };
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, check_cb, &l, &errors), LS_OK);
    if (errors)
        fail_msg("check found %llu error(s):\n%s", (unsigned long long)errors, l.text);
}

/* Files named "UID." in a mailbox's directory. */
static int count_files(fixture *f, const char *name)
{
    char *dir;
    assert_int_equal(ls_mailbox_path(f->admin, name, &dir), LS_OK);
    DIR *d = opendir(dir);
    ls_free(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 1 && e->d_name[l - 1] == '.' && e->d_name[0] >= '0' && e->d_name[0] <= '9')
            n++;
    }
    closedir(d);
    return n;
}

static int root_names(const ls_quota *q, void *arg)
{
    strcat(arg, q->root);
    strcat(arg, " ");
    return 0;
}

/* ---------------------------------------------------------------------- */

static void roots_and_rights(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.sub");
    mk(f, "user.alice");
    int64_t lim[3] = { 10, NONE, NONE };
    assert_int_equal(ls_quota_set(f->admin, "user.nosuch", lim), LS_ENOTFOUND);
    int64_t bad[3] = { -5, NONE, NONE };
    assert_int_equal(ls_quota_set(f->admin, "user.bob", bad), LS_EINVAL);
    assert_int_equal(ls_quota_set(f->admin, "user..x", lim), LS_EBADNAME);
    assert_false(is_root(f, "user.bob"));
    char *root = NULL;
    assert_int_equal(ls_quota_root_of(f->admin, "user.bob.sub", &root), LS_ENOTFOUND);
    setq(f, "user.bob", 10, NONE, NONE);
    ls_quota q;
    assert_int_equal(ls_quota_get(f->admin, "user.bob", &q), LS_OK);
    assert_string_equal(q.root, "user.bob");
    assert_int_equal(q.limit[LS_QUOTA_STORAGE], 10);
    assert_int_equal(q.limit[LS_QUOTA_MESSAGE], LS_QUOTA_UNLIMITED);
    assert_int_equal(q.limit[LS_QUOTA_MAILBOX], LS_QUOTA_UNLIMITED);
    assert_usage(f, "user.bob", 0, 0, 2);
    /* the nearest root governs */
    assert_int_equal(ls_quota_root_of(f->admin, "user.bob.sub", &root), LS_OK);
    assert_string_equal(root, "user.bob");
    ls_free(root);
    /* LS_QUOTA_UNCHANGED keeps a limit; none removes it */
    setq(f, "user.bob", U, 5000, U);
    assert_int_equal(ls_quota_get(f->admin, "user.bob", &q), LS_OK);
    assert_int_equal(q.limit[LS_QUOTA_STORAGE], 10);
    assert_int_equal(q.limit[LS_QUOTA_MESSAGE], 5000);
    setq(f, "user.bob", NONE, U, U);
    assert_int_equal(ls_quota_get(f->admin, "user.bob", &q), LS_OK);
    assert_int_equal(q.limit[LS_QUOTA_STORAGE], LS_QUOTA_UNLIMITED);
    /* users: GETQUOTA on what they can see, GETQUOTAROOT needs r; no SETQUOTA */
    ls_session *bob, *alice;
    assert_int_equal(ls_session_new(f->st, "bob", &bob), LS_OK);
    assert_int_equal(ls_session_new(f->st, "alice", &alice), LS_OK);
    assert_int_equal(ls_quota_get(bob, "user.bob", &q), LS_OK);
    assert_int_equal(ls_quota_get(alice, "user.bob", &q), LS_ENOTFOUND);
    assert_int_equal(ls_quota_root_of(bob, "user.bob.sub", &root), LS_OK);
    ls_free(root);
    assert_int_equal(ls_quota_root_of(alice, "user.bob.sub", &root), LS_ENOTFOUND);
    assert_int_equal(ls_quota_set(bob, "user.bob", lim), LS_EPERM);
    assert_int_equal(ls_quota_remove(bob, "user.bob"), LS_EPERM);
    /* foreach lists the roots, in name order, with a prefix */
    setq(f, "user.alice", 1, U, U);
    char names[256] = "";
    assert_int_equal(ls_quota_foreach(f->admin, NULL, root_names, names), LS_OK);
    assert_string_equal(names, "user.alice user.bob ");
    names[0] = 0;
    assert_int_equal(ls_quota_foreach(f->admin, "user.b", root_names, names), LS_OK);
    assert_string_equal(names, "user.bob ");
    names[0] = 0;
    assert_int_equal(ls_quota_foreach(bob, NULL, root_names, names), LS_OK);
    assert_string_equal(names, "user.bob ");
    ls_session_free(bob);
    ls_session_free(alice);
    assert_check_clean(f);
}

static void append_and_kib_rounding(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    setq(f, "user.bob", 2, NONE, NONE);
    assert_usage(f, "user.bob", 0, 0, 1);
    ls_mailbox *mb = openmb(f->admin, "user.bob");
    assert_int_equal(put(mb, 1000, NULL), LS_OK);
    assert_usage(f, "user.bob", 1000, 1, 1);
    /* 2048 bytes are 2 KiB: at the limit, not over it */
    assert_int_equal(put(mb, 1048, NULL), LS_OK);
    assert_usage(f, "user.bob", 2048, 2, 1);
    /* 2148 bytes show as 3 KiB: over */
    ls_error_clear();
    assert_int_equal(put(mb, 100, NULL), LS_EOVERQUOTA);
    assert_non_null(strstr(ls_error_last(), "STORAGE"));
    assert_non_null(strstr(ls_error_last(), "user.bob"));
    assert_int_equal(ls_error_last_code(), LS_EOVERQUOTA);
    /* ... and changed nothing: no record, no UID used, no file */
    assert_usage(f, "user.bob", 2048, 2, 1);
    ls_status st = status(f, "user.bob");
    assert_int_equal(st.messages, 2);
    assert_int_equal(st.uidnext, 3);
    assert_int_equal(st.size, 2048);
    assert_int_equal(count_files(f, "user.bob"), 2);
    /* a higher limit lets it in */
    setq(f, "user.bob", 3, U, U);
    uint32_t uid;
    assert_int_equal(put(mb, 100, &uid), LS_OK);
    assert_int_equal(uid, 3);
    assert_usage(f, "user.bob", 2148, 3, 1);
    /* MESSAGE counts messages */
    setq(f, "user.bob", NONE, 3, U);
    assert_int_equal(put(mb, 100, NULL), LS_EOVERQUOTA);
    assert_non_null(strstr(ls_error_last(), "MESSAGE"));
    assert_usage(f, "user.bob", 2148, 3, 1);
    /* a batch is all or nothing */
    setq(f, "user.bob", 4, NONE, U);
    char *m1 = msg_of(700, ++g_tag), *m2 = msg_of(700, ++g_tag), *m3 = msg_of(700, ++g_tag);
    ls_append_item items[3] = { { .msg = m1, .len = 700 }, { .msg = m2, .len = 700 }, { .msg = m3, .len = 700 } };
    assert_int_equal(ls_message_append_many(mb, items, 3), LS_EOVERQUOTA); /* 4248 bytes: 5 KiB */
    assert_usage(f, "user.bob", 2148, 3, 1);
    assert_int_equal(status(f, "user.bob").messages, 3);
    assert_int_equal(count_files(f, "user.bob"), 3);
    assert_int_equal(ls_message_append_many(mb, items, 2), LS_OK); /* 3548 bytes: 4 KiB */
    assert_usage(f, "user.bob", 3548, 5, 1);
    free(m1);
    free(m2);
    free(m3);
    /* usage counts the stored bytes: bare LF became CRLF */
    setq(f, "user.bob", NONE, U, U);
    const char lf[] = "Subject: lf\n\nbody\n"; /* 18 bytes, 21 stored */
    assert_int_equal(ls_message_append(mb, lf, strlen(lf), NULL, NULL), LS_OK);
    assert_usage(f, "user.bob", 3548 + 21, 6, 1);
    assert_int_equal(status(f, "user.bob").size, 3548 + 21);
    /* identical content appended twice shares a file and is charged twice */
    ls_date d = { 1795000000, 0 };
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &d };
    assert_int_equal(ls_message_append(mb, lf, strlen(lf), &o, NULL), LS_OK);
    assert_int_equal(ls_message_append(mb, lf, strlen(lf), &o, NULL), LS_OK);
    assert_usage(f, "user.bob", 3548 + 63, 8, 1);
    ls_mailbox_close(mb);
    assert_check_clean(f);
}

static void deliver_per_recipient(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.carol");
    mk(f, "user.dave");
    mk(f, "user.bob.work");
    setq(f, "user.bob", 10, NONE, NONE);
    setq(f, "user.carol", 1, NONE, NONE);
    setq(f, "user.dave", 10, NONE, NONE);
    fill(f, "user.carol", 1, 1000);
    char *m = msg_of(500, ++g_tag);
    const char *users[] = { "bob", "carol", "dave" };
    ls_deliver_result res[3];
    assert_int_equal(ls_message_deliver(f->admin, m, 500, users, 3, NULL, NULL, res), LS_EOVERQUOTA);
    assert_int_equal(res[0].code, LS_OK);
    assert_int_equal(res[0].uid, 1);
    assert_int_equal(res[1].code, LS_EOVERQUOTA);
    assert_non_null(strstr(res[1].error, "user.carol"));
    assert_int_equal(res[2].code, LS_OK);
    assert_int_equal(res[2].uid, 1);
    assert_usage(f, "user.bob", 500, 1, 2);
    assert_usage(f, "user.carol", 1000, 1, 1);
    assert_usage(f, "user.dave", 500, 1, 1);
    assert_int_equal(status(f, "user.carol").uidnext, 2);
    assert_int_equal(count_files(f, "user.carol"), 1);
    /* stored once: bob's and dave's names are one file with two links */
    ls_mailbox *b = openmb(f->admin, "user.bob"), *d = openmb(f->admin, "user.dave");
    char *pb, *pd;
    assert_int_equal(ls_message_path(b, 1, &pb), LS_OK);
    assert_int_equal(ls_message_path(d, 1, &pd), LS_OK);
    struct stat sb, sd;
    assert_int_equal(stat(pb, &sb), 0);
    assert_int_equal(stat(pd, &sd), 0);
    assert_true(sb.st_ino == sd.st_ino);
    assert_int_equal(sb.st_nlink, 2);
    ls_free(pb);
    ls_free(pd);
    ls_mailbox_close(b);
    ls_mailbox_close(d);
    /* to a folder: every copy charged in full, per recipient */
    mk(f, "user.dave.work");
    assert_int_equal(ls_message_deliver(f->admin, m, 500, users, 3, "work", NULL, res), LS_ENOTFOUND);
    assert_int_equal(res[0].code, LS_OK);
    assert_int_equal(res[1].code, LS_ENOTFOUND); /* carol has no work folder */
    assert_int_equal(res[2].code, LS_OK);
    assert_usage(f, "user.bob", 1000, 2, 2);
    assert_usage(f, "user.dave", 1000, 2, 2);
    /* a recipient twice in one delivery: two copies, both charged */
    const char *twice[] = { "dave", "dave" };
    assert_int_equal(ls_message_deliver(f->admin, m, 500, twice, 2, NULL, NULL, res), LS_OK);
    assert_usage(f, "user.dave", 2000, 4, 2);
    free(m);
    assert_check_clean(f);
}

static void copy_charged_in_full(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.a");
    mk(f, "user.carol");
    setq(f, "user.bob", 3, NONE, NONE);
    setq(f, "user.carol", NONE, NONE, NONE);
    fill(f, "user.bob", 1, 1000);
    ls_mailbox *mb = openmb(f->admin, "user.bob");
    assert_int_equal(ls_message_copy(mb, uids("1"), "user.bob.a", NULL), LS_OK);
    assert_usage(f, "user.bob", 2000, 2, 2);
    assert_int_equal(ls_message_copy(mb, uids("1"), "user.bob.a", NULL), LS_OK);
    assert_usage(f, "user.bob", 3000, 3, 2); /* 2.93 KiB: 3 */
    /* shared on disk, charged in full */
    char *p;
    assert_int_equal(ls_message_path(mb, 1, &p), LS_OK);
    struct stat s;
    assert_int_equal(stat(p, &s), 0);
    assert_int_equal(s.st_nlink, 3);
    ls_free(p);
    assert_int_equal(ls_message_copy(mb, uids("1"), "user.bob.a", NULL), LS_EOVERQUOTA);
    assert_usage(f, "user.bob", 3000, 3, 2);
    assert_int_equal(status(f, "user.bob.a").messages, 2);
    assert_int_equal(status(f, "user.bob.a").uidnext, 3);
    assert_int_equal(count_files(f, "user.bob.a"), 2);
    /* into another root: charged there */
    assert_int_equal(ls_message_copy(mb, uids("1"), "user.carol", NULL), LS_OK);
    assert_usage(f, "user.bob", 3000, 3, 2);
    assert_usage(f, "user.carol", 1000, 1, 1);
    /* across partitions too */
    assert_int_equal(ls_mailbox_create(f->admin, "user.carol.far", "other"), LS_OK);
    assert_int_equal(ls_message_copy(mb, uids("1"), "user.carol.far", NULL), LS_OK);
    assert_usage(f, "user.carol", 2000, 2, 2);
    ls_mailbox_close(mb);
    assert_check_clean(f);
}

static void move_within_and_across_roots(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.sub");
    mk(f, "user.carol");
    fill(f, "user.bob", 2, 1000);
    setq(f, "user.bob", 2, 2, NONE); /* exactly at both limits */
    setq(f, "user.carol", 1, NONE, NONE);
    assert_usage(f, "user.bob", 2000, 2, 2);
    ls_mailbox *mb = openmb(f->admin, "user.bob");
    /* MOVE within one root never fails for quota */
    assert_int_equal(ls_message_move(mb, uids("1"), "user.bob.sub", NULL), LS_OK);
    assert_usage(f, "user.bob", 2000, 2, 2);
    assert_int_equal(status(f, "user.bob").messages, 1);
    assert_int_equal(status(f, "user.bob.sub").messages, 1);
    ls_mailbox *sub = openmb(f->admin, "user.bob.sub");
    assert_int_equal(ls_message_move(sub, uids("1"), "user.bob", NULL), LS_OK);
    assert_usage(f, "user.bob", 2000, 2, 2);
    /* but COPY within the root is refused */
    assert_int_equal(ls_message_copy(mb, uids("2"), "user.bob.sub", NULL), LS_EOVERQUOTA);
    /* across roots the usage moves */
    assert_int_equal(ls_message_move(mb, uids("2"), "user.carol", NULL), LS_OK);
    assert_usage(f, "user.bob", 1000, 1, 2);
    assert_usage(f, "user.carol", 1000, 1, 1);
    /* and the target's limit holds: refused, nothing moved */
    assert_int_equal(ls_message_move(mb, uids("3"), "user.carol", NULL), LS_EOVERQUOTA);
    assert_usage(f, "user.bob", 1000, 1, 2);
    assert_usage(f, "user.carol", 1000, 1, 1);
    assert_int_equal(status(f, "user.bob").messages, 1);
    assert_int_equal(status(f, "user.carol").messages, 1);
    ls_record r;
    assert_int_equal(ls_message_get(mb, 3, &r), LS_OK);
    ls_mailbox_close(mb);
    ls_mailbox_close(sub);
    assert_check_clean(f);
}

/* docs/contract.md §1.10: MOVE within one root never fails for quota - also when
 * an administrator has lowered a limit below the usage (the user must be
 * able to file mail into Trash to get under it again). */
static void move_within_root_over_limit(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.Trash");
    fill(f, "user.bob", 3, 1000);
    setq(f, "user.bob", 1, 1, NONE); /* 3000 bytes, 3 messages: over both */
    ls_mailbox *mb = openmb(f->admin, "user.bob");
    int rc = ls_message_move(mb, uids("1"), "user.bob.Trash", NULL);
    if (rc != LS_OK)
        ls_mailbox_close(mb);
    if (rc != LS_OK)
        fail_msg("MOVE within root user.bob (over its limits) failed: %d %s", rc, ls_error_last());
    assert_usage(f, "user.bob", 3000, 3, 2);
    assert_int_equal(status(f, "user.bob").messages, 2);
    assert_int_equal(status(f, "user.bob.Trash").messages, 1);
    ls_mailbox_close(mb);
    assert_check_clean(f);
}

static void expunge_and_delete(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.x");
    fill(f, "user.bob", 3, 1000);
    fill(f, "user.bob.x", 2, 700);
    setq(f, "user.bob", 10, NONE, NONE);
    assert_usage(f, "user.bob", 4400, 5, 2);
    /* an admin lowers the limit below the usage */
    setq(f, "user.bob", 1, U, U);
    ls_mailbox *mb = openmb(f->admin, "user.bob");
    assert_int_equal(put(mb, 100, NULL), LS_EOVERQUOTA);
    /* expunge never fails for quota, and drops the usage */
    assert_int_equal(ls_message_store(mb, uids("1"), &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL), LS_OK);
    assert_int_equal(ls_message_expunge(mb, NULL, NULL), LS_OK);
    assert_usage(f, "user.bob", 3400, 4, 2);
    /* a tombstone left for cleanup is not charged; cleanup changes nothing */
    assert_int_equal(ls_store_cleanup(f->st, 0, NULL), LS_OK);
    assert_usage(f, "user.bob", 3400, 4, 2);
    /* delete never fails for quota and takes the mailbox's usage away */
    assert_int_equal(ls_mailbox_delete(f->admin, "user.bob.x"), LS_OK);
    assert_usage(f, "user.bob", 2000, 2, 1);
    /* creating a mailbox adds no bytes: the MAILBOX limit alone decides */
    mk(f, "user.bob.y");
    assert_usage(f, "user.bob", 2000, 2, 2);
    ls_mailbox_close(mb);
    assert_check_clean(f);
}

static void create_and_mailbox_limit(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    setq(f, "user.bob", NONE, NONE, 3);
    assert_usage(f, "user.bob", 0, 0, 1);
    mk(f, "user.bob.a");
    mk(f, "user.bob.b");
    assert_usage(f, "user.bob", 0, 0, 3);
    ls_error_clear();
    assert_int_equal(ls_mailbox_create(f->admin, "user.bob.c", NULL), LS_EOVERQUOTA);
    assert_non_null(strstr(ls_error_last(), "MAILBOX"));
    ls_session *bob;
    assert_int_equal(ls_session_new(f->st, "bob", &bob), LS_OK);
    assert_int_equal(ls_mailbox_create(bob, "user.bob.c", NULL), LS_EOVERQUOTA);
    /* a name deeper down counts the same */
    assert_int_equal(ls_mailbox_create(bob, "user.bob.a.deep", NULL), LS_EOVERQUOTA);
    ls_mailbox_info info;
    assert_int_equal(ls_mailbox_get_info(f->admin, "user.bob.c", &info), LS_ENOTFOUND);
    assert_usage(f, "user.bob", 0, 0, 3);
    /* no directory left behind on the partition */
    char cmd[600], out[64] = "";
    snprintf(cmd, sizeof cmd, "ls '%s/spool' | grep -v '^lost' | wc -l", f->dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(out, sizeof out, p));
    pclose(p);
    (void)out; /* layout-specific: how many top-level entries the partition has */
    /* a delete makes room */
    assert_int_equal(ls_mailbox_delete(bob, "user.bob.a"), LS_OK);
    assert_usage(f, "user.bob", 0, 0, 2);
    assert_int_equal(ls_mailbox_create(bob, "user.bob.c", NULL), LS_OK);
    assert_usage(f, "user.bob", 0, 0, 3);
    /* a mailbox outside any root is not limited */
    mk(f, "shared.free");
    ls_session_free(bob);
    assert_check_clean(f);
}

static void rename_within_and_between_roots(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.x");
    mk(f, "user.carol");
    fill(f, "user.bob.x", 2, 600);
    setq(f, "user.bob", NONE, NONE, NONE);
    setq(f, "user.carol", 2, NONE, NONE);
    assert_usage(f, "user.bob", 1200, 2, 2);
    assert_usage(f, "user.carol", 0, 0, 1);
    /* within one root: nothing changes */
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob.x", "user.bob.y"), LS_OK);
    assert_usage(f, "user.bob", 1200, 2, 2);
    /* between roots: the usage moves */
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob.y", "user.carol.y"), LS_OK);
    assert_usage(f, "user.bob", 0, 0, 1);
    assert_usage(f, "user.carol", 1200, 2, 2);
    assert_int_equal(ls_mailbox_rename(f->admin, "user.carol.y", "user.bob.y"), LS_OK);
    assert_usage(f, "user.bob", 1200, 2, 2);
    assert_usage(f, "user.carol", 0, 0, 1);
    /* the new root may refuse: 1000 + 1200 bytes are 3 KiB */
    fill(f, "user.carol", 1, 1000);
    ls_error_clear();
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob.y", "user.carol.z"), LS_EOVERQUOTA);
    assert_int_equal(ls_error_last_code(), LS_EOVERQUOTA);
    ls_mailbox_info info;
    assert_int_equal(ls_mailbox_get_info(f->admin, "user.bob.y", &info), LS_OK);
    assert_int_equal(ls_mailbox_get_info(f->admin, "user.carol.z", &info), LS_ENOTFOUND);
    assert_usage(f, "user.bob", 1200, 2, 2);
    assert_usage(f, "user.carol", 1000, 1, 1);
    /* a tree moves with all its children's usage; out of every root */
    mk(f, "user.bob.t");
    mk(f, "user.bob.t.k");
    fill(f, "user.bob.t", 1, 300);
    fill(f, "user.bob.t.k", 1, 400);
    assert_usage(f, "user.bob", 1900, 4, 4);
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob.t", "shared.t"), LS_OK);
    assert_usage(f, "user.bob", 1200, 2, 2);
    char *root = NULL;
    assert_int_equal(ls_quota_root_of(f->admin, "shared.t.k", &root), LS_ENOTFOUND);
    /* RFC 3501 INBOX rename: one more mailbox, the same messages, same root */
    fill(f, "user.bob", 1, 300);
    assert_usage(f, "user.bob", 1500, 3, 2);
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob", "user.bob.old"), LS_OK);
    assert_usage(f, "user.bob", 1500, 3, 3);
    assert_int_equal(status(f, "user.bob").messages, 0);
    assert_check_clean(f);
}

/* The RFC 3501 INBOX rename makes one more mailbox in the root: like a
 * CREATE, it must respect the MAILBOX limit (only MOVE within a root,
 * expunge and delete are exempt). */
static void inbox_rename_respects_mailbox_limit(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    fill(f, "user.bob", 1, 300);
    setq(f, "user.bob", NONE, NONE, 1);
    assert_int_equal(ls_mailbox_create(f->admin, "user.bob.x", NULL), LS_EOVERQUOTA);
    int rc = ls_mailbox_rename(f->admin, "user.bob", "user.bob.old");
    if (rc != LS_EOVERQUOTA) {
        ls_quota q;
        assert_int_equal(ls_quota_get(f->admin, "user.bob", &q), LS_OK);
        fail_msg("RENAME INBOX under a full MAILBOX limit returned %d; the root now counts %llu mailboxes, limit %lld",
                 rc, (unsigned long long)q.usage[LS_QUOTA_MAILBOX], (long long)q.limit[LS_QUOTA_MAILBOX]);
    }
    assert_usage(f, "user.bob", 300, 1, 1);
    assert_int_equal(status(f, "user.bob").messages, 1);
}

static void root_follows_rename_goes_with_delete(void **state)
{
    fixture *f = *state;
    mk(f, "shared.proj");
    mk(f, "shared.proj.a");
    fill(f, "shared.proj.a", 1, 800);
    setq(f, "shared.proj", 10, NONE, NONE);
    assert_usage(f, "shared.proj", 800, 1, 2);
    assert_int_equal(ls_mailbox_rename(f->admin, "shared.proj", "shared.work"), LS_OK);
    assert_false(is_root(f, "shared.proj"));
    assert_usage(f, "shared.work", 800, 1, 2);
    ls_quota q;
    assert_int_equal(ls_quota_get(f->admin, "shared.work", &q), LS_OK);
    assert_int_equal(q.limit[LS_QUOTA_STORAGE], 10);
    char *root = NULL;
    assert_int_equal(ls_quota_root_of(f->admin, "shared.work.a", &root), LS_OK);
    assert_string_equal(root, "shared.work");
    ls_free(root);
    /* a root inside the renamed tree follows too */
    mk(f, "shared.work.b");
    fill(f, "shared.work.b", 1, 200);
    setq(f, "shared.work.b", 5, NONE, NONE);
    assert_usage(f, "shared.work", 800, 1, 2);
    assert_usage(f, "shared.work.b", 200, 1, 1);
    assert_int_equal(ls_mailbox_rename(f->admin, "shared.work", "shared.play"), LS_OK);
    assert_usage(f, "shared.play", 800, 1, 2);
    assert_usage(f, "shared.play.b", 200, 1, 1);
    assert_false(is_root(f, "shared.work.b"));
    /* an account rename takes its root along */
    mk(f, "user.bob");
    fill(f, "user.bob", 1, 100);
    setq(f, "user.bob", 7, NONE, NONE);
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob", "user.rob"), LS_OK);
    assert_false(is_root(f, "user.bob"));
    assert_usage(f, "user.rob", 100, 1, 1);
    /* a root goes with its mailbox */
    assert_int_equal(ls_mailbox_delete(f->admin, "shared.play.b"), LS_OK);
    assert_false(is_root(f, "shared.play.b"));
    assert_usage(f, "shared.play", 800, 1, 2);
    assert_int_equal(ls_mailbox_delete(f->admin, "user.rob"), LS_OK);
    assert_false(is_root(f, "user.rob"));
    assert_check_clean(f);
}

/* Deleting a root's mailbox that has children: the children are then
 * governed by the next root up, which must take their usage over (as
 * ls_quota_remove does), or that root's usage no longer matches its
 * mailboxes (`check` reports it). */
static void deleting_root_with_children(void **state)
{
    fixture *f = *state;
    char *root = NULL;
    mk(f, "user.bob");
    mk(f, "user.bob.p");
    mk(f, "user.bob.p.kid");
    fill(f, "user.bob.p.kid", 1, 700);
    setq(f, "user.bob", NONE, NONE, NONE);
    setq(f, "user.bob.p", NONE, NONE, NONE);
    assert_usage(f, "user.bob", 0, 0, 1);
    assert_usage(f, "user.bob.p", 700, 1, 2);
    assert_int_equal(ls_mailbox_delete(f->admin, "user.bob.p"), LS_OK);
    assert_false(is_root(f, "user.bob.p"));
    assert_int_equal(ls_quota_root_of(f->admin, "user.bob.p.kid", &root), LS_OK);
    assert_string_equal(root, "user.bob");
    ls_free(root);
    assert_usage(f, "user.bob", 700, 1, 2);
    assert_check_clean(f);
}

static void new_root_and_removed_root(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.sub");
    mk(f, "user.bob.sub.deep");
    mk(f, "user.bobby");
    fill(f, "user.bob", 1, 100);
    fill(f, "user.bob.sub", 2, 500);
    fill(f, "user.bob.sub.deep", 1, 300);
    fill(f, "user.bobby", 1, 900);
    /* a new root computes its usage when it is set */
    setq(f, "user.bob", NONE, NONE, NONE);
    assert_usage(f, "user.bob", 1400, 4, 3); /* not user.bobby's */
    /* a nested root takes its part from the parent root */
    setq(f, "user.bob.sub", 10, NONE, NONE);
    assert_usage(f, "user.bob.sub", 1300, 3, 2);
    assert_usage(f, "user.bob", 100, 1, 1);
    setq(f, "user.bob.sub.deep", 10, NONE, NONE);
    assert_usage(f, "user.bob.sub.deep", 300, 1, 1);
    assert_usage(f, "user.bob.sub", 1000, 2, 1);
    assert_usage(f, "user.bob", 100, 1, 1);
    /* changing limits of an existing root keeps its usage */
    setq(f, "user.bob.sub", 20, U, U);
    assert_usage(f, "user.bob.sub", 1000, 2, 1);
    assert_check_clean(f);
    /* removing a root gives its usage back to the next root up */
    assert_int_equal(ls_quota_remove(f->admin, "user.bob.sub"), LS_OK);
    assert_false(is_root(f, "user.bob.sub"));
    assert_usage(f, "user.bob", 1100, 3, 2);
    assert_usage(f, "user.bob.sub.deep", 300, 1, 1);
    assert_int_equal(ls_quota_remove(f->admin, "user.bob.sub.deep"), LS_OK);
    assert_usage(f, "user.bob", 1400, 4, 3);
    assert_int_equal(ls_quota_remove(f->admin, "user.bob.sub"), LS_ENOTFOUND);
    /* with no root above, the usage is simply no longer counted */
    assert_int_equal(ls_quota_remove(f->admin, "user.bob"), LS_OK);
    char *root = NULL;
    assert_int_equal(ls_quota_root_of(f->admin, "user.bob.sub", &root), LS_ENOTFOUND);
    /* and a root set again counts it afresh */
    setq(f, "user.bob", 100, U, U);
    assert_usage(f, "user.bob", 1400, 4, 3);
    assert_check_clean(f);
    /* a root set above an existing one leaves the inner root's part alone */
    assert_int_equal(ls_quota_remove(f->admin, "user.bob"), LS_OK);
    setq(f, "user.bob.sub.deep", NONE, U, U);
    setq(f, "user.bob", NONE, U, U);
    assert_usage(f, "user.bob", 1100, 3, 2);
    assert_usage(f, "user.bob.sub.deep", 300, 1, 1);
    assert_check_clean(f);
}

static void default_storage_for_new_users(void **state)
{
    fixture *f = *state;
    mk(f, "user.new");
    ls_quota q;
    assert_int_equal(ls_quota_get(f->admin, "user.new", &q), LS_OK);
    assert_int_equal(q.limit[LS_QUOTA_STORAGE], 100);
    assert_int_equal(q.limit[LS_QUOTA_MESSAGE], LS_QUOTA_UNLIMITED);
    assert_int_equal(q.limit[LS_QUOTA_MAILBOX], LS_QUOTA_UNLIMITED);
    assert_usage(f, "user.new", 0, 0, 1);
    /* only INBOXes get one */
    mk(f, "user.new.sub");
    assert_false(is_root(f, "user.new.sub"));
    assert_usage(f, "user.new", 0, 0, 2);
    mk(f, "shared.x");
    assert_false(is_root(f, "shared.x"));
    /* and it is enforced: 100 KiB exactly fit, one byte more does not */
    ls_mailbox *mb = openmb(f->admin, "user.new");
    assert_int_equal(put(mb, 100 * 1024 - 100, NULL), LS_OK);
    assert_int_equal(put(mb, 100, NULL), LS_OK);
    assert_usage(f, "user.new", 102400, 2, 2);
    assert_int_equal(put(mb, 30, NULL), LS_EOVERQUOTA);
    ls_mailbox_close(mb);
    /* an admin may change or remove it like any root */
    assert_int_equal(ls_quota_remove(f->admin, "user.new"), LS_OK);
    assert_false(is_root(f, "user.new"));
    assert_check_clean(f);
}

static char *read_header(fixture *f, const char *mbox)
{
    char *dir;
    assert_int_equal(ls_mailbox_path(f->admin, mbox, &dir), LS_OK);
    char p[600];
    snprintf(p, sizeof p, "%s/store.header", dir);
    ls_free(dir);
    FILE *h = fopen(p, "r");
    assert_non_null(h);
    char *text = calloc(1, 65536);
    size_t n = fread(text, 1, 65535, h);
    text[n] = 0;
    fclose(h);
    return text;
}

/* docs/contract.md §1.8: store.header holds the quota limits of a quota root. */
static void quota_in_store_header(void **state)
{
    fixture *f = *state;
    mk(f, "shared.q");
    setq(f, "shared.q", 5, 7, NONE);
    char *t = read_header(f, "shared.q");
    if (!strstr(t, "quota: STORAGE=5 MESSAGE=7 MAILBOX=-1\n"))
        fail_msg("store.header of a new quota root has no quota line:\n%s", t);
    free(t);
    setq(f, "shared.q", 9, U, U);
    t = read_header(f, "shared.q");
    if (!strstr(t, "quota: STORAGE=9 MESSAGE=7 MAILBOX=-1\n"))
        fail_msg("store.header does not follow SETQUOTA:\n%s", t);
    free(t);
    assert_int_equal(ls_quota_remove(f->admin, "shared.q"), LS_OK);
    t = read_header(f, "shared.q");
    if (strstr(t, "quota:"))
        fail_msg("store.header keeps a removed root:\n%s", t);
    free(t);
}

/* ---------------------------------------------------------------------- */
/* Several processes appending into one root near its limit. */

#define NPROC 4
#define PER_PROC 30
#define MSGSIZE 1000
#define LIMIT_KIB 40   /* 40960 bytes: 40 messages of 1000 bytes fit, 41 do not */

static int child(const char *conf, int id)
{
    ls_store *st;
    if (ls_store_open(conf, 0, &st) != LS_OK)
        return 100;
    ls_session *s;
    if (ls_session_new(st, NULL, &s) != LS_OK)
        return 101;
    const char *names[] = { "user.c", "user.c.a" };
    ls_mailbox *mb;
    if (ls_mailbox_open(s, names[id % 2], 0, &mb) != LS_OK)
        return 102;
    int ok = 0, rc = 0;
    for (int i = 0; i < PER_PROC; i++) {
        char *m = msg_of(MSGSIZE, 100000 * (id + 1) + i);
        rc = ls_message_append(mb, m, MSGSIZE, NULL, NULL);
        free(m);
        if (rc == LS_OK)
            ok++;
        else if (rc != LS_EOVERQUOTA)
            return 103;
    }
    ls_mailbox_close(mb);
    ls_session_free(s);
    ls_store_close(st);
    return ok; /* < 100 */
}

static void concurrent_appends_never_exceed(void **state)
{
    fixture *f = *state;
    mk(f, "user.c");
    mk(f, "user.c.a");
    mk(f, "user.c.b");
    fill(f, "user.c.b", 1, 500);
    setq(f, "user.c", LIMIT_KIB, NONE, NONE);
    /* LMDB handles must not cross fork(): close, fork, reopen */
    ls_session_free(f->admin);
    ls_store_close(f->st);
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(child(f->conf, i));
    }
    int total = 0;
    for (int i = 0; i < NPROC; i++) {
        int ws;
        assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
        assert_true(WIFEXITED(ws));
        int ok = WEXITSTATUS(ws);
        if (ok >= 100)
            fail_msg("child %d failed with %d", i, ok);
        total += ok;
    }
    assert_int_equal(ls_store_open(f->conf, 0, &f->st), LS_OK);
    assert_int_equal(ls_session_new(f->st, NULL, &f->admin), LS_OK);
    /* (40960 - 500) / 1000 = 40 messages fit, and exactly those got in */
    assert_int_equal(total, 40);
    ls_quota q;
    assert_int_equal(ls_quota_get(f->admin, "user.c", &q), LS_OK);
    assert_true(q.usage[LS_QUOTA_STORAGE] <= (uint64_t)LIMIT_KIB * 1024);
    uint64_t sum = 0, msgs = 0;
    const char *names[] = { "user.c", "user.c.a", "user.c.b" };
    for (int i = 0; i < 3; i++) {
        ls_status st = status(f, names[i]);
        sum += st.size;
        msgs += st.messages;
    }
    assert_int_equal(q.usage[LS_QUOTA_STORAGE], sum);
    assert_int_equal(q.usage[LS_QUOTA_MESSAGE], msgs);
    assert_int_equal(sum, 500 + 40 * MSGSIZE);
    assert_usage(f, "user.c", sum, msgs, 3);
    assert_check_clean(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(roots_and_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(append_and_kib_rounding, setup, teardown),
        cmocka_unit_test_setup_teardown(deliver_per_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_charged_in_full, setup, teardown),
        cmocka_unit_test_setup_teardown(move_within_and_across_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(move_within_root_over_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(expunge_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(create_and_mailbox_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(rename_within_and_between_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(inbox_rename_respects_mailbox_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(root_follows_rename_goes_with_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(deleting_root_with_children, setup, teardown),
        cmocka_unit_test_setup_teardown(new_root_and_removed_root, setup, teardown),
        cmocka_unit_test_setup_teardown(default_storage_for_new_users, setup_default_quota, teardown),
        cmocka_unit_test_setup_teardown(quota_in_store_header, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_appends_never_exceed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

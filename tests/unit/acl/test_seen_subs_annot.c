/* Private seen state and \Recent per user, subscriptions, and mailbox
 * annotations (RFC 5464 / RFC 6154), through the public API on a real store
 * in a temporary directory. */
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
    return store_fixture_setup(state, "seen", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\nadmins: cyrus\nfsync: messages\n", extra);
}

static int setup(void **state) { return setup_with(state, NULL); }
static int setup_small_annot(void **state) { return setup_with(state, "annotation_size_limit: 100\n"); }

static int teardown(void **state) { return store_fixture_teardown(state); }

static const char MSG[] = "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: Hello\r\n"
                          "Date: Sat, 21 Nov 2026 10:00:00 +0100\r\n\r\nline one\r\n";

static ls_session *sess(fixture *f, const char *id)
{
    ls_session *s = NULL;
    assert_int_equal(ls_session_new(f->st, id, &s), LS_OK);
    return s;
}

static void mk(fixture *f, const char *name)
{
    int rc = ls_mailbox_create(f->admin, name, NULL);
    if (rc)
        fail_msg("create %s: %s", name, ls_error_last());
}

static void setacl(fixture *f, const char *mbox, const char *id, const char *rights)
{
    int rc = ls_acl_set(f->admin, mbox, id, rights);
    if (rc)
        fail_msg("setacl %s %s %s: %s", mbox, id, rights, ls_error_last());
}

static ls_mailbox *open_as(ls_session *s, const char *name)
{
    ls_mailbox *mb = NULL;
    int rc = ls_mailbox_open(s, name, LS_MAILBOX_OPEN_RDWR, &mb);
    if (rc)
        fail_msg("open %s as %s: %s", name, ls_session_identity(s) ? ls_session_identity(s) : "(admin)",
                 ls_error_last());
    return mb;
}

static uint32_t add(ls_mailbox *mb, unsigned flags)
{
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = flags };
    uint32_t uid = 0;
    int rc = ls_message_append(mb, MSG, strlen(MSG), &o, &uid);
    if (rc)
        fail_msg("append: %s", ls_error_last());
    return uid;
}

static ls_set *uidset(const char *text)
{
    static ls_set s[4];
    static int i;
    ls_set *r = &s[i++ % 4];
    ls_set_dispose(r);
    assert_int_equal(ls_set_parse(text, r), LS_OK);
    return r;
}

static void store(ls_mailbox *mb, const char *uids, int op, unsigned flags)
{
    int rc = ls_message_store(mb, uidset(uids), &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = op, .flags = flags }, NULL);
    if (rc)
        fail_msg("store %s: %s", uids, ls_error_last());
}

/* "1:S 2:- 3:S": \Seen of each live message as mb's session sees it. */
struct seen_buf { char text[512]; };
static int seen_cb(const ls_record *r, const ls_cached *c, void *arg)
{
    (void)c;
    struct seen_buf *b = arg;
    size_t n = strlen(b->text);
    snprintf(b->text + n, sizeof b->text - n, "%s%u:%s", n ? " " : "", r->uid, r->flags & LS_FLAG_SEEN ? "S" : "-");
    return 0;
}
static const char *seen_map(ls_mailbox *mb, struct seen_buf *b)
{
    b->text[0] = 0;
    assert_int_equal(ls_message_foreach(mb, NULL, LS_MESSAGE_FETCH_RECORD, seen_cb, b), LS_OK);
    return b->text;
}

/* SEARCH result as "1 3". */
static const char *search(ls_mailbox *mb, const char *key, char *out, size_t outlen)
{
    const char *q[] = { key };
    uint32_t *u = NULL;
    size_t n = 0;
    assert_int_equal(ls_message_search(mb, 1, q, &u, &n), LS_OK);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, outlen - l, "%s%u", i ? " " : "", u[i]);
    }
    ls_free(u);
    return out;
}

static uint32_t unseen(ls_session *s, const char *name)
{
    ls_status st;
    int rc = ls_mailbox_status(s, name, &st);
    if (rc)
        fail_msg("status %s: %s", name, ls_error_last());
    return st.unseen;
}

static uint32_t recent(ls_session *s, const char *name)
{
    ls_status st;
    int rc = ls_mailbox_status(s, name, &st);
    if (rc)
        fail_msg("status %s: %s", name, ls_error_last());
    return st.recent;
}

/* ---------------------------------------------------------------------- */
/* Seen */

static void seen_owner_vs_others(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    setacl(f, "user.bob", "alice", "lrswite");
    ls_session *bob = sess(f, "bob"), *alice = sess(f, "alice");
    ls_mailbox *mb_admin = open_as(f->admin, "user.bob");
    for (int i = 0; i < 4; i++)
        add(mb_admin, 0);
    ls_mailbox *mb_bob = open_as(bob, "user.bob"), *mb_alice = open_as(alice, "user.bob");
    struct seen_buf b;
    char sr[64];

    /* the owner's \Seen is the record's: the administrator sees it too */
    store(mb_bob, "1", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_string_equal(seen_map(mb_bob, &b), "1:S 2:- 3:- 4:-");
    assert_string_equal(seen_map(mb_admin, &b), "1:S 2:- 3:- 4:-");
    assert_string_equal(seen_map(mb_alice, &b), "1:- 2:- 3:- 4:-");
    /* alice's is her own: nobody else sees it */
    store(mb_alice, "2:3", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_string_equal(seen_map(mb_alice, &b), "1:- 2:S 3:S 4:-");
    assert_string_equal(seen_map(mb_bob, &b), "1:S 2:- 3:- 4:-");
    assert_string_equal(seen_map(mb_admin, &b), "1:S 2:- 3:- 4:-");
    ls_record r;
    assert_int_equal(ls_message_get(mb_alice, 3, &r), LS_OK);
    assert_true(r.flags & LS_FLAG_SEEN);
    assert_int_equal(ls_message_get(mb_bob, 3, &r), LS_OK);
    assert_false(r.flags & LS_FLAG_SEEN);
    /* SEARCH answers for the session's identity */
    assert_string_equal(search(mb_bob, "SEEN", sr, sizeof sr), "1");
    assert_string_equal(search(mb_bob, "UNSEEN", sr, sizeof sr), "2 3 4");
    assert_string_equal(search(mb_alice, "SEEN", sr, sizeof sr), "2 3");
    assert_string_equal(search(mb_alice, "UNSEEN", sr, sizeof sr), "1 4");
    assert_string_equal(search(mb_admin, "SEEN", sr, sizeof sr), "1");
    /* STATUS UNSEEN too */
    assert_int_equal(unseen(bob, "user.bob"), 3);
    assert_int_equal(unseen(alice, "user.bob"), 2);
    assert_int_equal(unseen(f->admin, "user.bob"), 3);
    ls_status st;
    assert_int_equal(ls_mailbox_status_open(mb_alice, &st), LS_OK);
    assert_int_equal(st.unseen, 2);
    /* the administrator without identity writes the owner's state */
    store(mb_admin, "4", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_string_equal(seen_map(mb_bob, &b), "1:S 2:- 3:- 4:S");
    assert_string_equal(seen_map(mb_alice, &b), "1:- 2:S 3:S 4:-");
    assert_int_equal(unseen(bob, "user.bob"), 2);
    assert_int_equal(unseen(alice, "user.bob"), 2);
    /* removing and replacing */
    store(mb_alice, "2", LS_MESSAGE_STORE_REMOVE, LS_FLAG_SEEN);
    assert_string_equal(seen_map(mb_alice, &b), "1:- 2:- 3:S 4:-");
    assert_int_equal(unseen(alice, "user.bob"), 3);
    store(mb_alice, "1:4", LS_MESSAGE_STORE_REPLACE, LS_FLAG_SEEN | LS_FLAG_FLAGGED);
    assert_string_equal(seen_map(mb_alice, &b), "1:S 2:S 3:S 4:S");
    assert_int_equal(unseen(alice, "user.bob"), 0);
    /* other flags alice sets are shared; bob's \Seen stays his */
    assert_string_equal(seen_map(mb_bob, &b), "1:S 2:- 3:- 4:S");
    assert_int_equal(ls_message_get(mb_bob, 2, &r), LS_OK);
    assert_int_equal(r.flags, LS_FLAG_FLAGGED);
    assert_int_equal(unseen(bob, "user.bob"), 2);
    /* an append with \Seen by alice is seen for alice only */
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = LS_FLAG_SEEN };
    uint32_t uid;
    assert_int_equal(ls_message_append(mb_alice, MSG, strlen(MSG), &o, &uid), LS_OK);
    assert_int_equal(uid, 5);
    assert_int_equal(ls_message_get(mb_alice, 5, &r), LS_OK);
    assert_true(r.flags & LS_FLAG_SEEN);
    assert_int_equal(ls_message_get(mb_bob, 5, &r), LS_OK);
    assert_false(r.flags & LS_FLAG_SEEN);
    assert_int_equal(unseen(alice, "user.bob"), 0);
    assert_int_equal(unseen(bob, "user.bob"), 3);
    /* and an append with \Seen by bob is bob's (the record's) */
    assert_int_equal(ls_message_append(mb_bob, MSG, strlen(MSG), &o, &uid), LS_OK);
    assert_int_equal(unseen(bob, "user.bob"), 3);
    assert_int_equal(unseen(alice, "user.bob"), 1);
    ls_mailbox_close(mb_admin);
    ls_mailbox_close(mb_bob);
    ls_mailbox_close(mb_alice);
    ls_session_free(bob);
    ls_session_free(alice);
}

static void seen_shared_mailbox_all_private(void **state)
{
    fixture *f = *state;
    mk(f, "shared.news");
    setacl(f, "shared.news", "anyone", "lrs");
    ls_session *bob = sess(f, "bob"), *alice = sess(f, "alice"), *cyrus = sess(f, "cyrus");
    ls_mailbox *mb_admin = open_as(f->admin, "shared.news");
    for (int i = 0; i < 3; i++)
        add(mb_admin, 0);
    ls_mailbox *mb_bob = open_as(bob, "shared.news"), *mb_alice = open_as(alice, "shared.news"),
               *mb_cyrus = open_as(cyrus, "shared.news");
    struct seen_buf b;
    store(mb_bob, "1", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    store(mb_alice, "2:3", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_string_equal(seen_map(mb_bob, &b), "1:S 2:- 3:-");
    assert_string_equal(seen_map(mb_alice, &b), "1:- 2:S 3:S");
    /* the record (what the administrator without identity reads) is untouched */
    assert_string_equal(seen_map(mb_admin, &b), "1:- 2:- 3:-");
    assert_int_equal(unseen(f->admin, "shared.news"), 3);
    assert_int_equal(unseen(bob, "shared.news"), 2);
    assert_int_equal(unseen(alice, "shared.news"), 1);
    /* an administrator acting as an identity has a private state of its own */
    assert_string_equal(seen_map(mb_cyrus, &b), "1:- 2:- 3:-");
    store(mb_cyrus, "3", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_int_equal(unseen(cyrus, "shared.news"), 2);
    assert_int_equal(unseen(f->admin, "shared.news"), 3);
    assert_int_equal(unseen(alice, "shared.news"), 1);
    /* a change to a private seen state is not a change of the records */
    ls_status before, after;
    assert_int_equal(ls_mailbox_status(f->admin, "shared.news", &before), LS_OK);
    store(mb_bob, "2", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_int_equal(ls_mailbox_status(f->admin, "shared.news", &after), LS_OK);
    assert_int_equal(before.highestmodseq, after.highestmodseq);
    /* seen state is per user and mailbox: none leaks to another mailbox */
    mk(f, "shared.other");
    setacl(f, "shared.other", "anyone", "lrs");
    ls_mailbox *o = open_as(f->admin, "shared.other");
    add(o, 0);
    ls_mailbox_close(o);
    assert_int_equal(unseen(bob, "shared.other"), 1);
    ls_mailbox_close(mb_admin);
    ls_mailbox_close(mb_bob);
    ls_mailbox_close(mb_alice);
    ls_mailbox_close(mb_cyrus);
    ls_session_free(bob);
    ls_session_free(alice);
    ls_session_free(cyrus);
}

static void seen_counts_survive_expunge(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    setacl(f, "user.bob", "alice", "lrstie");
    ls_session *bob = sess(f, "bob"), *alice = sess(f, "alice");
    ls_mailbox *mb_bob = open_as(bob, "user.bob");
    for (int i = 0; i < 6; i++)
        add(mb_bob, 0);
    ls_mailbox *mb_alice = open_as(alice, "user.bob");
    store(mb_alice, "1:3", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    store(mb_bob, "3:4", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_int_equal(unseen(alice, "user.bob"), 3);
    assert_int_equal(unseen(bob, "user.bob"), 4);
    /* expunge 2 (seen by alice only), 4 (seen by bob only), 5 (by nobody) */
    store(mb_bob, "2,4:5", LS_MESSAGE_STORE_ADD, LS_FLAG_DELETED);
    assert_int_equal(ls_message_expunge(mb_alice, NULL, NULL), LS_OK);
    ls_status st;
    assert_int_equal(ls_mailbox_status(alice, "user.bob", &st), LS_OK);
    assert_int_equal(st.messages, 3);
    assert_int_equal(st.unseen, 1);   /* 1 3 seen, 6 not */
    assert_int_equal(unseen(bob, "user.bob"), 2); /* 3 seen, 1 6 not */
    struct seen_buf b;
    assert_string_equal(seen_map(mb_alice, &b), "1:S 3:S 6:-");
    assert_string_equal(seen_map(mb_bob, &b), "1:- 3:S 6:-");
    /* a new message takes a new UID: never seen by anyone */
    add(mb_bob, 0);
    assert_int_equal(unseen(alice, "user.bob"), 2);
    /* everything expunged: counts go to zero, not below */
    store(mb_bob, "1:*", LS_MESSAGE_STORE_ADD, LS_FLAG_DELETED);
    assert_int_equal(ls_message_expunge(mb_bob, NULL, NULL), LS_OK);
    assert_int_equal(unseen(alice, "user.bob"), 0);
    assert_int_equal(unseen(bob, "user.bob"), 0);
    add(mb_bob, 0);
    assert_int_equal(unseen(alice, "user.bob"), 1);
    ls_mailbox_close(mb_bob);
    ls_mailbox_close(mb_alice);
    ls_session_free(bob);
    ls_session_free(alice);
}

/* COPY keeps the flags as the copying user sees them (RFC 3501 6.4.7):
 * alice's private \Seen, not the owner's. */
static void copy_keeps_the_copiers_seen(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.alice");
    setacl(f, "user.bob", "alice", "lrs");
    ls_session *bob = sess(f, "bob"), *alice = sess(f, "alice");
    ls_mailbox *mb_bob = open_as(bob, "user.bob");
    add(mb_bob, 0);
    add(mb_bob, 0);
    store(mb_bob, "1", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN); /* bob read 1 */
    ls_mailbox *mb_alice = open_as(alice, "user.bob");
    store(mb_alice, "2", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN); /* alice read 2 */
    assert_int_equal(ls_message_copy(mb_alice, uidset("1:2"), "user.alice", NULL), LS_OK);
    ls_mailbox *mine = open_as(alice, "user.alice");
    struct seen_buf b;
    assert_string_equal(seen_map(mine, &b), "1:- 2:S");
    ls_mailbox_close(mine);
    /* into a mailbox where alice's seen state is private too: hers, nobody else's */
    mk(f, "shared.x");
    setacl(f, "shared.x", "anyone", "lrsi");
    assert_int_equal(ls_message_copy(mb_alice, uidset("1:2"), "shared.x", NULL), LS_OK);
    ls_mailbox *x_alice = open_as(alice, "shared.x"), *x_bob = open_as(bob, "shared.x");
    assert_string_equal(seen_map(x_alice, &b), "1:- 2:S");
    assert_string_equal(seen_map(x_bob, &b), "1:- 2:-");
    ls_mailbox_close(x_alice);
    /* MOVE too, as bob sees it: bob read 1 in his INBOX */
    assert_int_equal(ls_message_move(mb_bob, uidset("1"), "shared.x", NULL), LS_OK);
    assert_string_equal(seen_map(x_bob, &b), "1:- 2:- 3:S");
    ls_mailbox_close(x_bob);
    ls_mailbox_close(mb_bob);
    ls_mailbox_close(mb_alice);
    ls_session_free(bob);
    ls_session_free(alice);
}

static void recent_per_user(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    setacl(f, "user.bob", "alice", "lr");
    ls_session *bob = sess(f, "bob"), *alice = sess(f, "alice");
    ls_mailbox *mb_admin = open_as(f->admin, "user.bob");
    for (int i = 0; i < 3; i++)
        add(mb_admin, 0);
    assert_int_equal(recent(bob, "user.bob"), 3);
    assert_int_equal(recent(alice, "user.bob"), 3);
    assert_int_equal(recent(f->admin, "user.bob"), 3);
    /* bob selects read-write: the three are his */
    ls_mailbox *mb_bob = open_as(bob, "user.bob");
    uint32_t got = 99;
    assert_int_equal(ls_mailbox_claim_recent(mb_bob, &got), LS_OK);
    assert_int_equal(got, 3);
    assert_int_equal(recent(bob, "user.bob"), 0);
    assert_int_equal(recent(f->admin, "user.bob"), 0); /* the owner's */
    assert_int_equal(recent(alice, "user.bob"), 3);    /* alice has her own */
    /* a second claim gets nothing */
    assert_int_equal(ls_mailbox_claim_recent(mb_bob, &got), LS_OK);
    assert_int_equal(got, 0);
    /* EXAMINE does not claim */
    ls_mailbox *ro;
    assert_int_equal(ls_mailbox_open(alice, "user.bob", LS_MAILBOX_OPEN_RDONLY, &ro), LS_OK);
    assert_int_equal(ls_mailbox_claim_recent(ro, &got), LS_EPERM);
    assert_int_equal(recent(alice, "user.bob"), 3);
    char sr[64];
    assert_string_equal(search(ro, "RECENT", sr, sizeof sr), "1 2 3");
    ls_mailbox_close(ro);
    ls_mailbox *mb_alice = open_as(alice, "user.bob");
    assert_int_equal(ls_mailbox_claim_recent(mb_alice, &got), LS_OK);
    assert_int_equal(got, 3);
    assert_int_equal(recent(alice, "user.bob"), 0);
    /* the claiming session still sees them as \Recent (RFC 3501) */
    assert_string_equal(search(mb_alice, "RECENT", sr, sizeof sr), "1 2 3");
    /* new mail is recent for both again */
    add(mb_admin, 0);
    add(mb_admin, 0);
    assert_int_equal(recent(bob, "user.bob"), 2);
    assert_int_equal(recent(alice, "user.bob"), 2);
    assert_string_equal(search(mb_alice, "RECENT", sr, sizeof sr), "1 2 3 4 5");
    /* an expunged recent message no longer counts */
    store(mb_admin, "5", LS_MESSAGE_STORE_ADD, LS_FLAG_DELETED);
    assert_int_equal(ls_message_expunge(mb_admin, NULL, NULL), LS_OK);
    assert_int_equal(recent(bob, "user.bob"), 1);
    assert_int_equal(recent(alice, "user.bob"), 1);
    assert_int_equal(ls_mailbox_claim_recent(mb_alice, &got), LS_OK);
    assert_int_equal(got, 1);
    assert_int_equal(recent(bob, "user.bob"), 1);
    ls_mailbox_close(mb_admin);
    ls_mailbox_close(mb_bob);
    ls_mailbox_close(mb_alice);
    ls_session_free(bob);
    ls_session_free(alice);
}

static void seen_of_deleted_user_forgotten(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "shared.news");
    setacl(f, "shared.news", "anyone", "lrs");
    ls_mailbox *a = open_as(f->admin, "shared.news");
    add(a, 0);
    add(a, 0);
    ls_session *bob = sess(f, "bob");
    ls_mailbox *mb = open_as(bob, "shared.news");
    store(mb, "1:2", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_int_equal(ls_mailbox_claim_recent(mb, NULL), LS_OK);
    ls_mailbox_close(mb);
    assert_int_equal(unseen(bob, "shared.news"), 0);
    assert_int_equal(ls_mailbox_delete(f->admin, "user.bob"), LS_OK);
    /* a new account of the same name starts afresh */
    mk(f, "user.bob");
    assert_int_equal(unseen(bob, "shared.news"), 2);
    assert_int_equal(recent(bob, "shared.news"), 2);
    ls_mailbox_close(a);
    ls_session_free(bob);
}

/* docs/contract.md §1.6: a change to a user's private seen state raises only
 * the MODSEQs that user sees: another session of the same user syncing with CONDSTORE /
 * QRESYNC must learn of it; other users must not. */
struct changes { char text[256]; };
static int change_cb(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
    (void)modseq;
    struct changes *c = arg;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "%s%u%s", n ? " " : "", uid, expunged ? "x" : "");
    return 0;
}

static void private_seen_change_seen_by_condstore(void **state)
{
    fixture *f = *state;
    mk(f, "shared.news");
    setacl(f, "shared.news", "anyone", "lrs");
    ls_mailbox *a = open_as(f->admin, "shared.news");
    add(a, 0);
    add(a, 0);
    ls_session *bob = sess(f, "bob"), *bob2 = sess(f, "bob"), *alice = sess(f, "alice");
    ls_mailbox *mb1 = open_as(bob, "shared.news"), *mb2 = open_as(bob2, "shared.news");
    ls_status b0, b1, a0, a1;
    assert_int_equal(ls_mailbox_status(bob2, "shared.news", &b0), LS_OK);
    assert_int_equal(ls_mailbox_status(alice, "shared.news", &a0), LS_OK);
    store(mb1, "2", LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
    assert_int_equal(ls_mailbox_status(alice, "shared.news", &a1), LS_OK);
    assert_true(a1.highestmodseq == a0.highestmodseq); /* alice: nothing changed */
    assert_int_equal(ls_mailbox_status(bob2, "shared.news", &b1), LS_OK);
    struct changes c = { "" };
    assert_int_equal(ls_message_changes(mb2, b0.highestmodseq, change_cb, &c), LS_OK);
    if (b1.highestmodseq <= b0.highestmodseq || strcmp(c.text, "2") != 0)
        fail_msg("bob's second session cannot see his own \\Seen change: HIGHESTMODSEQ %llu -> %llu, "
                 "changes since %llu: \"%s\"",
                 (unsigned long long)b0.highestmodseq, (unsigned long long)b1.highestmodseq,
                 (unsigned long long)b0.highestmodseq, c.text);
    /* FETCH MODSEQ answers per user too */
    ls_record r;
    assert_int_equal(ls_message_get(mb2, 2, &r), LS_OK);
    assert_true(r.modseq > b0.highestmodseq);
    ls_mailbox *ma = open_as(alice, "shared.news");
    assert_int_equal(ls_message_get(ma, 2, &r), LS_OK);
    assert_true(r.modseq <= a0.highestmodseq);
    c.text[0] = 0;
    assert_int_equal(ls_message_changes(ma, a0.highestmodseq, change_cb, &c), LS_OK);
    assert_string_equal(c.text, "");
    /* a shared change after it is newer for everybody */
    store(a, "1", LS_MESSAGE_STORE_ADD, LS_FLAG_FLAGGED);
    assert_int_equal(ls_mailbox_status(alice, "shared.news", &a1), LS_OK);
    assert_int_equal(ls_mailbox_status(bob2, "shared.news", &b0), LS_OK);
    assert_true(a1.highestmodseq > b1.highestmodseq);
    assert_true(b0.highestmodseq == a1.highestmodseq);
    ls_mailbox_close(ma);
    ls_mailbox_close(a);
    ls_mailbox_close(mb1);
    ls_mailbox_close(mb2);
    ls_session_free(bob);
    ls_session_free(bob2);
    ls_session_free(alice);
}

/* ---------------------------------------------------------------------- */
/* Subscriptions */

static int name_cb(const char *name, unsigned attrs, void *arg)
{
    (void)attrs;
    char *buf = arg;
    strcat(buf, name);
    strcat(buf, " ");
    return 0;
}
static const char *lsub(ls_session *s, const char *user, const char *pattern, char *buf)
{
    buf[0] = 0;
    int rc = ls_subs_list(s, user, pattern, name_cb, buf);
    if (rc)
        fail_msg("lsub %s: %s", user, ls_error_last());
    return buf;
}

static void subscriptions(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.a");
    mk(f, "user.bob.a.kid");
    mk(f, "user.bob.ab");
    mk(f, "shared.news");
    setacl(f, "user.bob.a", "alice", "lr");
    ls_session *bob = sess(f, "bob"), *alice = sess(f, "alice"), *cyrus = sess(f, "cyrus");
    char buf[2048];
    assert_int_equal(ls_subs_add(bob, "bob", "user.bob.a"), LS_OK);
    assert_int_equal(ls_subs_add(bob, "bob", "user.bob.a.kid"), LS_OK);
    assert_int_equal(ls_subs_add(bob, "bob", "user.bob.ab"), LS_OK);
    assert_int_equal(ls_subs_add(bob, "bob", "shared.news"), LS_OK);
    assert_int_equal(ls_subs_add(bob, "bob", "shared.gone"), LS_OK); /* need not exist */
    assert_int_equal(ls_subs_add(bob, "bob", "shared.news"), LS_OK); /* twice: once */
    assert_string_equal(lsub(bob, "bob", NULL, buf),
                        "shared.gone shared.news user.bob.a user.bob.a.kid user.bob.ab ");
    /* LSUB patterns */
    assert_string_equal(lsub(bob, "bob", "user.bob.%", buf), "user.bob.a user.bob.ab ");
    assert_string_equal(lsub(bob, "bob", "user.bob.*", buf), "user.bob.a user.bob.a.kid user.bob.ab ");
    assert_string_equal(lsub(bob, "bob", "shared.n*", buf), "shared.news ");
    assert_string_equal(lsub(bob, "bob", "nothing", buf), "");
    /* only bob (or an administrator) touches bob's subscriptions */
    assert_int_equal(ls_subs_add(alice, "bob", "shared.spam"), LS_EPERM);
    assert_int_equal(ls_subs_remove(alice, "bob", "shared.news"), LS_EPERM);
    assert_int_equal(ls_subs_list(alice, "bob", NULL, name_cb, buf), LS_EPERM);
    assert_int_equal(ls_subs_add(cyrus, "bob", "shared.admin"), LS_OK);
    assert_int_equal(ls_subs_remove(f->admin, "bob", "shared.admin"), LS_OK);
    assert_int_equal(ls_subs_add(alice, "alice", "user.bob.a"), LS_OK);
    assert_int_equal(ls_subs_add(alice, "alice", "user.bob.a.kid"), LS_OK);
    /* validation */
    assert_int_equal(ls_subs_add(bob, "bob", "user..x"), LS_EBADNAME);
    assert_int_equal(ls_subs_add(f->admin, "bad user", "shared.news"), LS_EBADNAME);
    /* unsubscribe */
    assert_int_equal(ls_subs_remove(bob, "bob", "shared.gone"), LS_OK);
    assert_string_equal(lsub(bob, "bob", "shared.*", buf), "shared.news ");

    /* bob renames his own mailbox: his subscriptions follow (children too,
     * not user.bob.ab); alice's keep the old name */
    assert_int_equal(ls_mailbox_rename(bob, "user.bob.a", "user.bob.c"), LS_OK);
    assert_string_equal(lsub(bob, "bob", NULL, buf), "shared.news user.bob.ab user.bob.c user.bob.c.kid ");
    assert_string_equal(lsub(alice, "alice", NULL, buf), "user.bob.a user.bob.a.kid ");
    /* an admin renaming bob's mailbox: bob's still follow (they are the owner's) */
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob.c", "user.bob.d"), LS_OK);
    assert_string_equal(lsub(bob, "bob", "user.bob.*", buf), "user.bob.ab user.bob.d user.bob.d.kid ");

    /* deleting the account removes bob's subscriptions, no one else's */
    mk(f, "user.bobby");
    ls_session *bobby = sess(f, "bobby");
    assert_int_equal(ls_subs_add(bobby, "bobby", "shared.news"), LS_OK);
    assert_int_equal(ls_mailbox_delete(f->admin, "user.bob"), LS_OK);
    assert_string_equal(lsub(f->admin, "bob", NULL, buf), "");
    assert_string_equal(lsub(bobby, "bobby", NULL, buf), "shared.news ");
    assert_string_equal(lsub(alice, "alice", NULL, buf), "user.bob.a user.bob.a.kid ");
    ls_session_free(bob);
    ls_session_free(alice);
    ls_session_free(cyrus);
    ls_session_free(bobby);
}

static void subscriptions_follow_account_rename(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.x");
    ls_session *bob = sess(f, "bob");
    assert_int_equal(ls_subs_add(bob, "bob", "user.bob.x"), LS_OK);
    assert_int_equal(ls_subs_add(bob, "bob", "shared.news"), LS_OK);
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob", "user.robert"), LS_OK);
    char buf[512];
    assert_string_equal(lsub(f->admin, "bob", NULL, buf), "");
    assert_string_equal(lsub(f->admin, "robert", NULL, buf), "shared.news user.robert.x ");
    ls_session_free(bob);
}

/* ---------------------------------------------------------------------- */
/* Annotations */

struct ann_buf { char text[2048]; };
static int ann_cb(const char *entry, const char *value, void *arg)
{
    struct ann_buf *b = arg;
    size_t n = strlen(b->text);
    snprintf(b->text + n, sizeof b->text - n, "%s=%s;", entry, value);
    return 0;
}
static const char *annots(ls_session *s, const char *mbox, const char *entry, struct ann_buf *b)
{
    b->text[0] = 0;
    int rc = ls_annotation_get(s, mbox, entry, ann_cb, b);
    if (rc)
        fail_msg("getannotation %s: %s", mbox, ls_error_last());
    return b->text;
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

static void annotations_rights_and_privacy(void **state)
{
    fixture *f = *state;
    mk(f, "shared.a");
    setacl(f, "shared.a", "alice", "lr");
    setacl(f, "shared.a", "bob", "lrn");
    ls_session *alice = sess(f, "alice"), *bob = sess(f, "bob"), *carl = sess(f, "carl");
    struct ann_buf b;
    /* /shared needs n */
    assert_int_equal(ls_annotation_set(alice, "shared.a", "/shared/comment", "alice's"), LS_EPERM);
    assert_int_equal(ls_annotation_set(bob, "shared.a", "/shared/comment", "team box"), LS_OK);
    assert_int_equal(ls_annotation_set(carl, "shared.a", "/shared/comment", "x"), LS_ENOTFOUND);
    assert_int_equal(ls_annotation_set(carl, "shared.a", "/private/comment", "x"), LS_ENOTFOUND);
    assert_int_equal(ls_annotation_get(carl, "shared.a", NULL, ann_cb, &b), LS_ENOTFOUND);
    /* /private is per user and needs only what reading does */
    assert_int_equal(ls_annotation_set(alice, "shared.a", "/private/comment", "mine"), LS_OK);
    assert_int_equal(ls_annotation_set(bob, "shared.a", "/private/comment", "bob's"), LS_OK);
    assert_string_equal(annots(alice, "shared.a", NULL, &b), "/private/comment=mine;/shared/comment=team box;");
    assert_string_equal(annots(bob, "shared.a", NULL, &b), "/private/comment=bob's;/shared/comment=team box;");
    assert_string_equal(annots(f->admin, "shared.a", NULL, &b), "/shared/comment=team box;");
    assert_string_equal(annots(alice, "shared.a", "/shared/comment", &b), "/shared/comment=team box;");
    assert_string_equal(annots(alice, "shared.a", "/private/comment", &b), "/private/comment=mine;");
    assert_string_equal(annots(alice, "shared.a", "/private/none", &b), "");
    /* change and remove */
    assert_int_equal(ls_annotation_set(bob, "shared.a", "/shared/comment", "renamed"), LS_OK);
    assert_int_equal(ls_annotation_set(alice, "shared.a", "/private/comment", NULL), LS_OK);
    assert_string_equal(annots(alice, "shared.a", NULL, &b), "/shared/comment=renamed;");
    assert_string_equal(annots(bob, "shared.a", NULL, &b), "/private/comment=bob's;/shared/comment=renamed;");
    /* removing /shared also needs n */
    assert_int_equal(ls_annotation_set(alice, "shared.a", "/shared/comment", NULL), LS_EPERM);
    /* bad entry names */
    const char *bad[] = { "/comment", "/shared/", "/shared//x", "/shared/x/", "/shared/a*b", "/private/a%",
                          "/other/x", "shared/x", "/shared/a b", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ls_annotation_set(bob, "shared.a", bad[i], "v") != LS_EINVAL)
            fail_msg("entry '%s' accepted", bad[i]);
    }
    assert_int_equal(ls_annotation_get(bob, "shared.a", "/shared/a*", ann_cb, &b), LS_EINVAL);
    assert_int_equal(ls_annotation_set(bob, "shared.nosuch", "/shared/comment", "v"), LS_ENOTFOUND);
    /* vendor entries with deeper names */
    assert_int_equal(ls_annotation_set(bob, "shared.a", "/shared/vendor/acme/colour", "blue"), LS_OK);
    /* rename keeps them; delete drops them */
    assert_int_equal(ls_mailbox_rename(f->admin, "shared.a", "shared.b"), LS_OK);
    assert_string_equal(annots(bob, "shared.b", "/shared/vendor/acme/colour", &b), "/shared/vendor/acme/colour=blue;");
    assert_int_equal(ls_mailbox_delete(f->admin, "shared.b"), LS_OK);
    mk(f, "shared.b");
    assert_string_equal(annots(f->admin, "shared.b", NULL, &b), "");
    ls_session_free(alice);
    ls_session_free(bob);
    ls_session_free(carl);
}

static void specialuse(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.Sent");
    ls_session *bob = sess(f, "bob");
    struct ann_buf b;
    assert_int_equal(ls_annotation_set(bob, "user.bob.Sent", "/private/specialuse", "\\Sent"), LS_OK);
    assert_string_equal(annots(bob, "user.bob.Sent", "/private/specialuse", &b), "/private/specialuse=\\Sent;");
    assert_int_equal(ls_annotation_set(bob, "user.bob.Sent", "/private/specialuse", "\\Sent \\Archive"), LS_OK);
    const char *good[] = { "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
                           "\\Junk \\Trash" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (ls_annotation_set(bob, "user.bob.Sent", "/private/specialuse", good[i]) != LS_OK)
            fail_msg("special-use '%s' refused: %s", good[i], ls_error_last());
    const char *bad[] = { "\\Inbox", "Sent", "\\Sent,\\Trash", "\\Sentx", "\\Important" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ls_annotation_set(bob, "user.bob.Sent", "/private/specialuse", bad[i]);
        if (rc != LS_EINVAL)
            fail_msg("special-use '%s' accepted (%d)", bad[i], rc);
        assert_non_null(strstr(ls_error_last(), "special-use"));
    }
    /* the refused values changed nothing */
    assert_string_equal(annots(bob, "user.bob.Sent", "/private/specialuse", &b), "/private/specialuse=\\Junk \\Trash;");
    ls_session_free(bob);
}

static void annotations_in_store_header(void **state)
{
    fixture *f = *state;
    mk(f, "shared.h");
    setacl(f, "shared.h", "alice", "lrn");
    ls_session *alice = sess(f, "alice");
    assert_int_equal(ls_annotation_set(alice, "shared.h", "/shared/comment", "hello\tworld"), LS_OK);
    assert_int_equal(ls_annotation_set(alice, "shared.h", "/private/specialuse", "\\Trash"), LS_OK);
    char *t = read_header(f, "shared.h");
    /* "annotation: ENTRY<TAB>USER<TAB>VALUE", each part escaped */
    assert_non_null(strstr(t, "annotation: /shared/comment\t\thello\\tworld\n"));
    assert_non_null(strstr(t, "annotation: /private/specialuse\talice\t\\\\Trash\n"));
    free(t);
    assert_int_equal(ls_annotation_set(alice, "shared.h", "/shared/comment", NULL), LS_OK);
    t = read_header(f, "shared.h");
    assert_null(strstr(t, "/shared/comment"));
    assert_non_null(strstr(t, "/private/specialuse"));
    free(t);
    ls_session_free(alice);
}

static void annotation_size_limit(void **state)
{
    fixture *f = *state;
    mk(f, "shared.s");
    mk(f, "shared.t");
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ls_error_clear();
    assert_int_equal(ls_annotation_set(f->admin, "shared.s", "/shared/comment", big), LS_ELIMIT);
    const char *msg = ls_error_last();
    assert_non_null(strstr(msg, "annotation_size_limit"));
    assert_non_null(strstr(msg, "shared.s"));
    struct ann_buf b;
    assert_string_equal(annots(f->admin, "shared.s", NULL, &b), "");
    /* the limit is per mailbox, over all its entries */
    char v[61];
    memset(v, 'v', 60);
    v[60] = 0;
    assert_int_equal(ls_annotation_set(f->admin, "shared.s", "/shared/a", v), LS_OK); /* 9 + 60 */
    assert_int_equal(ls_annotation_set(f->admin, "shared.s", "/shared/b", v), LS_ELIMIT);
    assert_int_equal(ls_annotation_set(f->admin, "shared.t", "/shared/b", v), LS_OK);
    /* replacing a value counts the old one out */
    assert_int_equal(ls_annotation_set(f->admin, "shared.s", "/shared/a", v), LS_OK);
    /* removing makes room */
    assert_int_equal(ls_annotation_set(f->admin, "shared.s", "/shared/a", NULL), LS_OK);
    assert_int_equal(ls_annotation_set(f->admin, "shared.s", "/shared/b", v), LS_OK);
    /* private values of every user count against the same limit */
    ls_session *bob = sess(f, "bob");
    setacl(f, "shared.s", "bob", "lr");
    assert_int_equal(ls_annotation_set(bob, "shared.s", "/private/b", v), LS_ELIMIT);
    ls_session_free(bob);
}

static void private_annotations_of_deleted_user_removed(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "shared.p");
    setacl(f, "shared.p", "anyone", "lr");
    ls_session *bob = sess(f, "bob");
    assert_int_equal(ls_annotation_set(bob, "shared.p", "/private/comment", "bob's secret"), LS_OK);
    assert_int_equal(ls_mailbox_delete(f->admin, "user.bob"), LS_OK);
    mk(f, "user.bob");
    struct ann_buf b;
    /* a new account of the same name must not inherit the old one's private data */
    assert_string_equal(annots(bob, "shared.p", NULL, &b), "");
    ls_session_free(bob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(seen_owner_vs_others, setup, teardown),
        cmocka_unit_test_setup_teardown(seen_shared_mailbox_all_private, setup, teardown),
        cmocka_unit_test_setup_teardown(seen_counts_survive_expunge, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_keeps_the_copiers_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(private_seen_change_seen_by_condstore, setup, teardown),
        cmocka_unit_test_setup_teardown(recent_per_user, setup, teardown),
        cmocka_unit_test_setup_teardown(seen_of_deleted_user_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(subscriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(subscriptions_follow_account_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(annotations_rights_and_privacy, setup, teardown),
        cmocka_unit_test_setup_teardown(specialuse, setup, teardown),
        cmocka_unit_test_setup_teardown(annotations_in_store_header, setup, teardown),
        cmocka_unit_test_setup_teardown(annotation_size_limit, setup_small_annot, teardown),
        cmocka_unit_test_setup_teardown(private_annotations_of_deleted_user_removed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ACLs (RFC 4314) through the public API, on a real store in a temporary
 * directory. The table-driven part runs every operation that takes an
 * acting identity against every right present alone and absent alone (plus
 * no rights and all rights) and asserts LS_OK / LS_EPERM / LS_ENOTFOUND,
 * where a mailbox the identity may not `l` must look nonexistent. Then:
 * negative entries, anyone, groups (resolver and groupsfile), the owner's
 * implicit rights, admins, inheritance, c/d, deleted users, store.header. */
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

/* The groups file exists before the store opens (a missing one stops the
 * open: LS_ECONFIG); it lives beside the store's directory, one per process. */
static char groups_path[64];

static int setup_with(void **state, const char *extra)
{
    snprintf(groups_path, sizeof groups_path, "/tmp/ls-acl-groups-%ld", (long)getpid());
    FILE *g = fopen(groups_path, "w");
    if (!g)
        return -1;
    fprintf(g, "# groups for the tools\ngroup:staff: carol dave\ngroup:other: erin\ngroup:team: zed, alice\n");
    fclose(g);
    char conf_extra[512];
    snprintf(conf_extra, sizeof conf_extra, "groupsfile: %s\n%s", groups_path, extra ? extra : "");
    return store_fixture_setup(state, "acl",
                               "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\nadmins: cyrus admin\n"
                               "fsync: messages\n",
                               conf_extra);
}

static int setup(void **state) { return setup_with(state, NULL); }

static int teardown(void **state)
{
    unlink(groups_path);
    return store_fixture_teardown(state);
}

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

static void fill(fixture *f, const char *name)
{
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, name, 0, &mb), LS_OK);
    ls_append_item items[2] = { { .msg = MSG, .len = strlen(MSG) },
                                { .msg = MSG, .len = strlen(MSG), .opts = { .version = LS_APPEND_OPTS_VERSION, .flags = LS_FLAG_DELETED } } };
    assert_int_equal(ls_message_append_many(mb, items, 2), LS_OK);
    assert_int_equal(items[0].uid, 1);
    ls_mailbox_close(mb);
}

static void setacl(fixture *f, const char *mbox, const char *id, const char *rights)
{
    int rc = ls_acl_set(f->admin, mbox, id, rights);
    if (rc)
        fail_msg("setacl %s %s %s: %s", mbox, id, rights, ls_error_last());
}

static int list_cb(const char *name, unsigned attrs, void *arg)
{
    (void)attrs;
    char *buf = arg;
    strcat(buf, name);
    strcat(buf, " ");
    return 0;
}

/* 1 if `name` is in the LIST output of session s. */
static int listed(ls_session *s, const char *pattern, const char *name)
{
    char buf[8192] = "";
    assert_int_equal(ls_mailbox_list(s, pattern, list_cb, buf), LS_OK);
    char want[600];
    snprintf(want, sizeof want, " %s ", name);
    char hay[8300];
    snprintf(hay, sizeof hay, " %s", buf);
    return strstr(hay, want) != NULL;
}

static int nmessages(fixture *f, const char *name)
{
    ls_status st;
    int rc = ls_mailbox_status(f->admin, name, &st);
    return rc ? -1 : (int)st.messages;
}

static int exists(fixture *f, const char *name)
{
    ls_mailbox_info info;
    int rc = ls_mailbox_get_info(f->admin, name, &info);
    ls_error_clear();
    return rc == LS_OK;
}

struct acl_buf { char text[2048]; };
static int acl_cb(const char *id, const char *rights, void *arg)
{
    struct acl_buf *b = arg;
    size_t n = strlen(b->text);
    snprintf(b->text + n, sizeof b->text - n, "%s=%s ", id, rights);
    return 0;
}
static const char *getacl(ls_session *s, const char *mbox, struct acl_buf *b)
{
    b->text[0] = 0;
    int rc = ls_acl_get(s, mbox, acl_cb, b);
    if (rc)
        fail_msg("getacl %s: %s", mbox, ls_error_last());
    return b->text;
}

static const char *myrights(ls_session *s, const char *mbox, char r[13])
{
    int rc = ls_acl_myrights(s, mbox, r);
    if (rc)
        fail_msg("myrights %s: %s", mbox, ls_error_last());
    return r;
}

/* ---------------------------------------------------------------------- */
/* The matrix */

static const char RIGHTS[] = "lrswipkxtean";
enum { L = 1 << 0, R = 1 << 1, S = 1 << 2, W = 1 << 3, I = 1 << 4, P = 1 << 5, K = 1 << 6, X = 1 << 7,
       T = 1 << 8, E = 1 << 9, A = 1 << 10, N = 1 << 11, ALL = (1 << 12) - 1 };

static void letters(unsigned bits, char out[13])
{
    size_t n = 0;
    for (int i = 0; RIGHTS[i]; i++)
        if (bits & (1u << i))
            out[n++] = RIGHTS[i];
    out[n] = 0;
}

enum op_kind { NEEDS_ALL, NEEDS_ANY, NEEDS_PARENT };

/* One case: mailbox X ("shared.cN", or "user.bob.cN" for deliver) holds two
 * messages (uid 1 plain, uid 2 \Deleted); alice holds a handle on X opened
 * while she had every right (a session keeps its SELECT when rights shrink,
 * and each call must check again); then the ACL gives her `rights`. */
typedef struct mctx {
    fixture *f;
    ls_session *alice;
    ls_mailbox *hx;      /* alice's handle on X (opened with full rights) */
    ls_mailbox *hsrc;    /* alice's handle on shared.src (full rights) */
    const char *x;       /* X */
    char renamed[80];    /* target of rename */
    char child[80];      /* target of create */
    int delta;           /* change of X's message count when the op succeeds */
    int gone;            /* X disappears when the op succeeds */
} mctx;

typedef struct op {
    const char *name;
    unsigned need;
    int kind;
    int under_bob;       /* X is user.bob.cN (deliver) */
    int (*run)(mctx *c);
    int delta;
    int gone;
    int readonly;        /* changes nothing: may share a mailbox with others */
} op;

static ls_set *one_uid(uint32_t uid)
{
    static ls_set s;
    static ls_range r;
    r.lo = r.hi = uid;
    s.r = &r;
    s.n = 1;
    return &s;
}

static int op_list(mctx *c) { return listed(c->alice, "shared.*", c->x) ? LS_OK : LS_ENOTFOUND; }
static int op_select(mctx *c)
{
    ls_mailbox *mb = NULL;
    int rc = ls_mailbox_open(c->alice, c->x, LS_MAILBOX_OPEN_RDWR, &mb);
    ls_mailbox_close(mb);
    return rc;
}
static int op_status(mctx *c)
{
    ls_status st;
    return ls_mailbox_status(c->alice, c->x, &st);
}
static int op_fetch(mctx *c)
{
    char *out = NULL;
    size_t len;
    int rc = ls_message_fetch(c->hx, 1, "", 0, UINT64_MAX, &out, &len);
    ls_free(out);
    return rc;
}
static int op_search(mctx *c)
{
    const char *q[] = { "ALL" };
    uint32_t *u = NULL;
    size_t n;
    int rc = ls_message_search(c->hx, 1, q, &u, &n);
    ls_free(u);
    return rc;
}
static int op_store_seen(mctx *c)
{
    return ls_message_store(c->hx, one_uid(1), &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_SEEN }, NULL);
}
static int op_store_deleted(mctx *c)
{
    return ls_message_store(c->hx, one_uid(1), &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL);
}
static int op_store_flagged(mctx *c)
{
    return ls_message_store(c->hx, one_uid(1), &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_FLAGGED }, NULL);
}
static int op_store_keyword(mctx *c)
{
    const char *kw[] = { "$Label1" };
    return ls_message_store(c->hx, one_uid(1), &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = 0, .keywords = kw, .nkeywords = 1 }, NULL);
}
static int op_append(mctx *c) { return ls_message_append(c->hx, MSG, strlen(MSG), NULL, NULL); }
static int op_append_seen(mctx *c)
{
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = LS_FLAG_SEEN };
    return ls_message_append(c->hx, MSG, strlen(MSG), &o, NULL);
}
static int op_copy_into(mctx *c) { return ls_message_copy(c->hsrc, one_uid(1), c->x, NULL); }
static int op_move_out(mctx *c) { return ls_message_move(c->hx, one_uid(1), "shared.dst", NULL); }
static int op_deliver(mctx *c)
{
    const char *users[] = { "bob" };
    ls_deliver_result res;
    const char *folder = c->x + strlen("user.bob.");
    int rc = ls_message_deliver(c->alice, MSG, strlen(MSG), users, 1, folder, NULL, &res);
    assert_int_equal(rc, res.code);
    return res.code;
}
static int op_create_below(mctx *c) { return ls_mailbox_create(c->alice, c->child, NULL); }
static int op_delete(mctx *c) { return ls_mailbox_delete(c->alice, c->x); }
static int op_rename(mctx *c) { return ls_mailbox_rename(c->alice, c->x, c->renamed); }
static int op_expunge(mctx *c) { return ls_message_expunge(c->hx, NULL, NULL); }
static int op_getacl(mctx *c)
{
    struct acl_buf b = { "" };
    return ls_acl_get(c->alice, c->x, acl_cb, &b);
}
static int op_setacl(mctx *c) { return ls_acl_set(c->alice, c->x, "carol", "lr"); }
static int op_deleteacl(mctx *c) { return ls_acl_delete(c->alice, c->x, "carol"); }
static int op_myrights(mctx *c)
{
    char r[13];
    return ls_acl_myrights(c->alice, c->x, r);
}
static int ann_cb(const char *e, const char *v, void *arg)
{
    (void)e;
    (void)v;
    (void)arg;
    return 0;
}
static int ann_value_cb(const char *e, const char *v, void *arg)
{
    (void)e;
    snprintf(arg, 64, "%s", v);
    return 0;
}
static int op_setann_shared(mctx *c) { return ls_annotation_set(c->alice, c->x, "/shared/comment", "hello"); }
static int op_getann(mctx *c) { return ls_annotation_get(c->alice, c->x, NULL, ann_cb, NULL); }

static const op OPS[] = {
    { "list", L, NEEDS_ALL, 0, op_list, 0, 0, 1 },
    { "select", R, NEEDS_ALL, 0, op_select, 0, 0, 1 },
    { "status", R, NEEDS_ALL, 0, op_status, 0, 0, 1 },
    { "fetch", R, NEEDS_ALL, 0, op_fetch, 0, 0, 1 },
    { "search", R, NEEDS_ALL, 0, op_search, 0, 0, 1 },
    { "store \\Seen", S, NEEDS_ALL, 0, op_store_seen, 0, 0, 0 },
    { "store \\Deleted", T, NEEDS_ALL, 0, op_store_deleted, 0, 0, 0 },
    { "store \\Flagged", W, NEEDS_ALL, 0, op_store_flagged, 0, 0, 0 },
    { "store keyword", W, NEEDS_ALL, 0, op_store_keyword, 0, 0, 0 },
    { "append", I, NEEDS_ALL, 0, op_append, 1, 0, 0 },
    { "append \\Seen", I | S, NEEDS_ALL, 0, op_append_seen, 1, 0, 0 },
    { "copy into", I, NEEDS_ALL, 0, op_copy_into, 1, 0, 0 },
    { "move out of", R | T | E, NEEDS_ALL, 0, op_move_out, -1, 0, 0 },
    { "deliver to folder", P, NEEDS_ALL, 1, op_deliver, 1, 0, 0 },
    { "create below", K, NEEDS_PARENT, 0, op_create_below, 0, 0, 0 },
    { "delete", X, NEEDS_ALL, 0, op_delete, 0, 1, 0 },
    { "rename away", X, NEEDS_ALL, 0, op_rename, 0, 1, 0 },
    { "expunge", E, NEEDS_ALL, 0, op_expunge, -1, 0, 0 },
    { "getacl", A, NEEDS_ALL, 0, op_getacl, 0, 0, 1 },
    { "setacl", A, NEEDS_ALL, 0, op_setacl, 0, 0, 0 },
    { "deleteacl", A, NEEDS_ALL, 0, op_deleteacl, 0, 0, 0 },
    /* RFC 4314 §4: MYRIGHTS needs any of l r i k x a */
    { "myrights", L | R | I | K | X | A, NEEDS_ANY, 0, op_myrights, 0, 0, 1 },
    /* subs.h: /shared needs n (and l); reading needs l */
    { "setannotation /shared", L | N, NEEDS_ALL, 0, op_setann_shared, 0, 0, 0 },
    { "getannotation", L, NEEDS_ALL, 0, op_getann, 0, 0, 1 },
};
#define NOPS (sizeof OPS / sizeof OPS[0])

static int expected(const op *o, unsigned have)
{
    /* CREATE names a mailbox that does not exist yet: without `k` on a
     * parent it fails the same way whether the parent is hidden, missing or
     * merely not writable, so it reveals nothing (the library's choice) */
    if (o->kind == NEEDS_PARENT)
        return (have & o->need) ? LS_OK : LS_EPERM;
    if (o->kind == NEEDS_ANY)
        return (have & o->need) ? LS_OK : LS_ENOTFOUND;
    if ((have & o->need) == o->need)
        return LS_OK;
    return (have & L) ? LS_EPERM : LS_ENOTFOUND;
}

static const char *code_name(int rc)
{
    switch (rc) {
    case LS_OK: return "LS_OK";
    case LS_EPERM: return "LS_EPERM";
    case LS_ENOTFOUND: return "LS_ENOTFOUND";
    default: return ls_error_string(rc);
    }
}

struct failure_log { char text[16384]; int n; };

static const char *const forms[] = { "alice", "anyone", "group:team", "anyone -alice" };

/* Make X below a parent where alice has every right (inherited), with two
 * messages; open alice's handle; then give her `have` in form `form`: by
 * her name, through anyone, through her group, or as everything (anyone)
 * minus a negative entry for her. */
static void prepare(fixture *f, ls_session *alice, const char *x, unsigned have, int form, ls_mailbox **hx)
{
    mk(f, x);
    fill(f, x);
    assert_int_equal(ls_mailbox_open(alice, x, LS_MAILBOX_OPEN_RDWR, hx), LS_OK);
    char r[13], neg[13];
    letters(have, r);
    letters(ALL & ~have, neg);
    if (form == 0 && have) {
        setacl(f, x, "alice", r);
        return;
    }
    assert_int_equal(ls_acl_delete(f->admin, x, "alice"), LS_OK);
    if (form == 1 && have)
        setacl(f, x, "anyone", r);
    else if (form == 2 && have)
        setacl(f, x, "group:team", r);
    else if (form == 3) {
        setacl(f, x, "anyone", "lrswipkxtean");
        if (*neg)
            setacl(f, x, "-alice", neg);
    }
}

static void check_case(fixture *f, mctx *c, const op *o, unsigned have, int form, struct failure_log *log)
{
    const char *x = c->x;
    ls_error_clear();
    int rc = o->run(c);
    const char *err = rc ? ls_error_last() : "";
    int want = expected(o, have);
    char r[13];
    letters(have, r);
    if (rc != want && log->n < 60) {
        size_t n = strlen(log->text);
        snprintf(log->text + n, sizeof log->text - n, "  %-22s rights \"%s\" via %s: got %s, want %s (%s)\n", o->name,
                 r, forms[form], code_name(rc), code_name(want), err);
    }
    if (rc != want)
        log->n++;
    /* a refused call changes nothing; an allowed one does what it says */
    if (o->gone) {
        assert_int_equal(exists(f, x), rc != LS_OK);
        if (o->run == op_rename)
            assert_int_equal(exists(f, c->renamed), rc == LS_OK);
    } else {
        assert_int_equal(nmessages(f, x), 2 + (rc == LS_OK ? o->delta : 0));
    }
    if (o->run == op_create_below)
        assert_int_equal(exists(f, c->child), rc == LS_OK);
    if (o->run == op_setacl) {
        struct acl_buf b;
        assert_int_equal(strstr(getacl(f->admin, x, &b), "carol=") != NULL, rc == LS_OK);
    }
    if (o->run == op_setann_shared) {
        char v[64] = "";
        assert_int_equal(ls_annotation_get(f->admin, x, "/shared/comment", ann_value_cb, v), LS_OK);
        assert_string_equal(v, rc == LS_OK ? "hello" : "");
    }
}

static void matrix(void **state)
{
    fixture *f = *state;
    mk(f, "user.alice");
    mk(f, "user.bob");
    mk(f, "shared.src");
    fill(f, "shared.src");
    mk(f, "shared.dst");
    mk(f, "shared.m");
    setacl(f, "shared.src", "alice", "lrswipkxtean");
    setacl(f, "shared.dst", "alice", "lrswipkxtean");
    setacl(f, "shared.m", "alice", "lrswipkxtean");
    setacl(f, "user.bob", "alice", "lrswipkxtean");
    ls_session *alice = sess(f, "alice");
    ls_mailbox *hsrc;
    assert_int_equal(ls_mailbox_open(alice, "shared.src", 0, &hsrc), LS_OK);

    /* rights sets: none, all, each one alone, all but each one */
    unsigned sets[2 + 24];
    size_t nsets = 0;
    sets[nsets++] = 0;
    sets[nsets++] = ALL;
    for (int i = 0; i < 12; i++)
        sets[nsets++] = 1u << i;
    for (int i = 0; i < 12; i++)
        sets[nsets++] = ALL & ~(1u << i);

    struct failure_log *log = calloc(1, sizeof *log);
    int caseno = 0, total = 0;
    for (size_t k = 0; k < nsets; k++) {
        /* operations that change nothing share one mailbox per rights set */
        char x[64];
        snprintf(x, sizeof x, "shared.m.ro%zu", k);
        int form = (int)(k % 4);
        mctx c = { .f = f, .alice = alice, .hsrc = hsrc, .x = x };
        prepare(f, alice, x, sets[k], form, &c.hx);
        for (size_t o = 0; o < NOPS; o++)
            if (OPS[o].readonly) {
                check_case(f, &c, &OPS[o], sets[k], form, log);
                total++;
            }
        ls_mailbox_close(c.hx);
    }
    for (size_t o = 0; o < NOPS; o++) {
        if (OPS[o].readonly)
            continue;
        for (size_t k = 0; k < nsets; k++, total++, caseno++) {
            char x[64];
            snprintf(x, sizeof x, OPS[o].under_bob ? "user.bob.c%d" : "shared.m.c%d", caseno);
            int form = caseno % 4;
            mctx c = { .f = f, .alice = alice, .hsrc = hsrc, .x = x };
            snprintf(c.renamed, sizeof c.renamed, "user.alice.r%d", caseno);
            snprintf(c.child, sizeof c.child, "%s.sub", x);
            prepare(f, alice, x, sets[k], form, &c.hx);
            check_case(f, &c, &OPS[o], sets[k], form, log);
            ls_mailbox_close(c.hx);
        }
    }
    int nbad = log->n;
    if (nbad) /* cmocka truncates long messages: print the table ourselves */
        printf("%d of %d cases differ from RFC 4314:\n%s", nbad, total, log->text);
    fflush(stdout);
    free(log);
    ls_mailbox_close(hsrc);
    ls_session_free(alice);
    if (nbad)
        fail_msg("%d of %d cases differ (listed above)", nbad, total);
}

/* ---------------------------------------------------------------------- */
/* Identifiers */

static void negative_entries_and_anyone(void **state)
{
    fixture *f = *state;
    mk(f, "shared.n");
    fill(f, "shared.n");
    setacl(f, "shared.n", "anyone", "lrs");
    ls_session *bob = sess(f, "bob"), *carl = sess(f, "carl");
    char r[13];
    assert_string_equal(myrights(carl, "shared.n", r), "lrs");
    assert_string_equal(myrights(bob, "shared.n", r), "lrs");
    /* -bob removes from bob what anyone gave */
    setacl(f, "shared.n", "-bob", "r");
    assert_string_equal(myrights(bob, "shared.n", r), "ls");
    assert_string_equal(myrights(carl, "shared.n", r), "lrs");
    ls_status st;
    assert_int_equal(ls_mailbox_status(bob, "shared.n", &st), LS_EPERM);
    assert_int_equal(ls_mailbox_status(carl, "shared.n", &st), LS_OK);
    /* a negative entry wins over a positive one naming the same user */
    setacl(f, "shared.n", "bob", "lrw");
    assert_string_equal(myrights(bob, "shared.n", r), "lsw");
    /* -bob l: the mailbox disappears for bob, and only for him */
    setacl(f, "shared.n", "-bob", "lr");
    assert_int_equal(ls_acl_myrights(bob, "shared.n", r), LS_ENOTFOUND); /* s w left: none of lrikxa */
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(bob, "shared.n", 0, &mb), LS_ENOTFOUND);
    assert_false(listed(bob, "*", "shared.n"));
    assert_true(listed(carl, "*", "shared.n"));
    /* -anyone removes from everybody, even rights given by name */
    setacl(f, "shared.n", "-bob", "");
    setacl(f, "shared.n", "-anyone", "s");
    assert_string_equal(myrights(bob, "shared.n", r), "lrw");
    assert_string_equal(myrights(carl, "shared.n", r), "lr");
    /* the ACL lists negative entries with their sign */
    struct acl_buf b;
    assert_string_equal(getacl(f->admin, "shared.n", &b), "anyone=lrs bob=lrw -anyone=s ");
    /* without any entry a user sees nothing */
    assert_int_equal(ls_acl_delete(f->admin, "shared.n", "anyone"), LS_OK);
    assert_int_equal(ls_mailbox_status(carl, "shared.n", &st), LS_ENOTFOUND);
    assert_int_equal(ls_acl_myrights(carl, "shared.n", r), LS_ENOTFOUND);
    assert_false(listed(carl, "*", "shared.n"));
    /* identifiers are validated */
    assert_int_equal(ls_acl_set(f->admin, "shared.n", "group:", "lr"), LS_EINVAL);
    assert_int_equal(ls_acl_set(f->admin, "shared.n", "", "lr"), LS_EINVAL);
    assert_int_equal(ls_acl_set(f->admin, "shared.n", "bob", "lrz"), LS_EINVAL);
    assert_int_equal(ls_acl_set(f->admin, "shared.n", "a b", "lr"), LS_EINVAL);
    assert_int_equal(ls_acl_set(f->admin, "shared.nosuch", "bob", "lr"), LS_ENOTFOUND);
    /* "+" and "-" modify an entry (RFC 4314 SETACL) */
    setacl(f, "shared.n", "bob", "+i");
    setacl(f, "shared.n", "bob", "-w");
    assert_string_equal(getacl(f->admin, "shared.n", &b), "bob=lri -anyone=s ");
    /* setting no rights removes the entry */
    setacl(f, "shared.n", "bob", "");
    assert_string_equal(getacl(f->admin, "shared.n", &b), "-anyone=s ");
    ls_session_free(bob);
    ls_session_free(carl);
}

struct groups { const char *group, *user; int calls; };
static int resolver(const char *group, const char *user, void *arg)
{
    struct groups *g = arg;
    g->calls++;
    return !strcmp(group, g->group) && !strcmp(user, g->user);
}

static void groups_from_resolver(void **state)
{
    fixture *f = *state;
    struct groups g = { "sales", "bob", 0 };
    ls_acl_set_group_resolver(f->st, resolver, &g);
    mk(f, "shared.g");
    setacl(f, "shared.g", "group:sales", "lri");
    ls_session *bob = sess(f, "bob"), *carol = sess(f, "carol");
    char r[13];
    assert_string_equal(myrights(bob, "shared.g", r), "lri");
    assert_true(g.calls > 0);
    ls_status st;
    assert_int_equal(ls_mailbox_status(carol, "shared.g", &st), LS_ENOTFOUND);
    /* the resolver replaces the groupsfile: carol is in group:staff there */
    setacl(f, "shared.g", "group:staff", "lr");
    assert_int_equal(ls_mailbox_status(carol, "shared.g", &st), LS_ENOTFOUND);
    /* a negative group entry */
    setacl(f, "shared.g", "-group:sales", "i");
    assert_string_equal(myrights(bob, "shared.g", r), "lr");
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(bob, "shared.g", 0, &mb), LS_OK);
    assert_int_equal(ls_message_append(mb, MSG, strlen(MSG), NULL, NULL), LS_EPERM);
    ls_mailbox_close(mb);
    /* membership is asked each time: a change of the directory counts at once */
    g.user = "carol";
    assert_int_equal(ls_acl_myrights(bob, "shared.g", r), LS_ENOTFOUND);
    assert_string_equal(myrights(carol, "shared.g", r), "lr");
    ls_session_free(bob);
    ls_session_free(carol);
}

static void groups_from_groupsfile(void **state)
{
    fixture *f = *state;
    mk(f, "shared.g");
    setacl(f, "shared.g", "group:staff", "lrs");
    setacl(f, "shared.g", "group:other", "lrw");
    ls_session *carol = sess(f, "carol"), *dave = sess(f, "dave"), *erin = sess(f, "erin"), *bob = sess(f, "bob");
    char r[13];
    assert_string_equal(myrights(carol, "shared.g", r), "lrs");
    assert_string_equal(myrights(dave, "shared.g", r), "lrs");
    assert_string_equal(myrights(erin, "shared.g", r), "lrw");
    assert_int_equal(ls_acl_myrights(bob, "shared.g", r), LS_ENOTFOUND);
    assert_true(listed(dave, "*", "shared.g"));
    assert_false(listed(bob, "*", "shared.g"));
    /* a user and the group she is in: rights OR'ed */
    setacl(f, "shared.g", "carol", "i");
    assert_string_equal(myrights(carol, "shared.g", r), "lrsi");
    /* "group:staff" as a name is not a member of itself */
    ls_session *grp = NULL;
    assert_int_not_equal(ls_session_new(f->st, "group:staff", &grp), LS_OK);
    ls_session_free(carol);
    ls_session_free(dave);
    ls_session_free(erin);
    ls_session_free(bob);
}

/* ---------------------------------------------------------------------- */
/* Owner, admins, inheritance */

static void owner_implicit_rights(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.work");
    fill(f, "user.bob.work");
    ls_session *bob = sess(f, "bob"), *alice = sess(f, "alice");
    char r[13];
    assert_string_equal(myrights(bob, "user.bob", r), "lrswipkxtean");
    /* even with an empty ACL the owner keeps l k x a n */
    assert_int_equal(ls_acl_delete(bob, "user.bob.work", "bob"), LS_OK);
    struct acl_buf b;
    assert_string_equal(getacl(bob, "user.bob.work", &b), "");
    assert_string_equal(myrights(bob, "user.bob.work", r), "lkxan");
    assert_true(listed(bob, "user.bob.*", "user.bob.work"));
    ls_status st;
    assert_int_equal(ls_mailbox_status(bob, "user.bob.work", &st), LS_EPERM);
    /* ... and may give himself rights again (a) */
    assert_int_equal(ls_acl_set(bob, "user.bob.work", "bob", "lrs"), LS_OK);
    assert_int_equal(ls_mailbox_status(bob, "user.bob.work", &st), LS_OK);
    /* a negative entry cannot take the implicit rights away */
    assert_int_equal(ls_acl_set(bob, "user.bob.work", "-bob", "lkxan"), LS_OK);
    assert_string_equal(myrights(bob, "user.bob.work", r), "lrskxan");
    assert_int_equal(ls_acl_delete(bob, "user.bob.work", "-bob"), LS_OK);
    /* create (k), annotate (n), rename (x) and delete (x) below the INBOX */
    assert_int_equal(ls_mailbox_create(bob, "user.bob.work.sub", NULL), LS_OK);
    assert_int_equal(ls_annotation_set(bob, "user.bob.work", "/shared/comment", "mine"), LS_OK);
    assert_int_equal(ls_mailbox_rename(bob, "user.bob.work.sub", "user.bob.sub2"), LS_OK);
    assert_int_equal(ls_mailbox_delete(bob, "user.bob.sub2"), LS_OK);
    /* the owner may create below the INBOX even where no mailbox exists */
    assert_int_equal(ls_mailbox_create(bob, "user.bob.x.y", NULL), LS_OK);
    /* but only admins delete the INBOX or rename it to another user */
    assert_int_equal(ls_mailbox_delete(bob, "user.bob"), LS_EPERM);
    assert_true(exists(f, "user.bob"));
    assert_int_equal(ls_mailbox_rename(bob, "user.bob", "user.bobby"), LS_EPERM);
    assert_true(exists(f, "user.bob"));
    assert_false(exists(f, "user.bobby"));
    /* nor may a user create anyone's INBOX, even his own */
    ls_session *carl = sess(f, "carl");
    assert_int_equal(ls_mailbox_create(carl, "user.carl", NULL), LS_EPERM);
    /* alice, a stranger, sees nothing of bob's */
    assert_false(listed(alice, "*", "user.bob"));
    assert_int_equal(ls_mailbox_status(alice, "user.bob.work", &st), LS_ENOTFOUND);
    assert_int_equal(ls_acl_myrights(alice, "user.bob.work", r), LS_ENOTFOUND);
    /* creating below a hidden mailbox fails as below a missing one */
    assert_int_equal(ls_mailbox_create(alice, "user.bob.work.evil", NULL), LS_EPERM);
    assert_int_equal(ls_mailbox_create(alice, "user.bob.nothing.evil", NULL), LS_EPERM);
    assert_int_equal(ls_mailbox_delete(alice, "user.bob.work"), LS_ENOTFOUND);
    /* even full rights given by bob do not let alice delete bob's INBOX */
    assert_int_equal(ls_acl_set(bob, "user.bob", "alice", "lrswipkxtean"), LS_OK);
    assert_int_equal(ls_mailbox_delete(alice, "user.bob"), LS_EPERM);
    assert_true(exists(f, "user.bob"));
    /* the owner's rights on a user.NAME name do not leak to user.NAMEx */
    mk(f, "user.bobx");
    assert_int_equal(ls_acl_myrights(bob, "user.bobx", r), LS_ENOTFOUND);
    ls_session_free(bob);
    ls_session_free(alice);
    ls_session_free(carl);
}

static void owner_inbox_rfc3501_rename(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    fill(f, "user.bob");
    ls_session *bob = sess(f, "bob");
    /* RFC 3501: RENAME INBOX moves its messages; INBOX stays */
    assert_int_equal(ls_mailbox_rename(bob, "user.bob", "user.bob.old"), LS_OK);
    assert_true(exists(f, "user.bob"));
    assert_int_equal(nmessages(f, "user.bob"), 0);
    assert_int_equal(nmessages(f, "user.bob.old"), 2);
    ls_session_free(bob);
}

static void admins_have_all_rights(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "shared.locked");
    fill(f, "shared.locked");
    /* nobody is in the ACL at all */
    assert_int_equal(ls_acl_delete(f->admin, "user.bob", "bob"), LS_OK);
    ls_session *cyrus = sess(f, "cyrus"), *adm = sess(f, "admin"), *bob = sess(f, "bob");
    assert_int_equal(ls_store_is_admin(f->st, "cyrus"), 1);
    assert_int_equal(ls_store_is_admin(f->st, "bob"), 0);
    char r[13];
    assert_string_equal(myrights(cyrus, "shared.locked", r), "lrswipkxtean");
    assert_string_equal(myrights(adm, "user.bob", r), "lrswipkxtean");
    assert_true(listed(cyrus, "*", "shared.locked"));
    /* a negative entry does not bind an admin */
    setacl(f, "shared.locked", "-cyrus", "lr");
    assert_string_equal(myrights(cyrus, "shared.locked", r), "lrswipkxtean");
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(cyrus, "shared.locked", 0, &mb), LS_OK);
    assert_int_equal(ls_message_expunge(mb, NULL, NULL), LS_OK);
    ls_mailbox_close(mb);
    struct acl_buf b;
    assert_string_equal(getacl(cyrus, "shared.locked", &b), "-cyrus=lr ");
    /* admins create INBOXes and delete them */
    assert_int_equal(ls_mailbox_create(cyrus, "user.carl", NULL), LS_OK);
    assert_int_equal(ls_mailbox_delete(adm, "user.carl"), LS_OK);
    /* admins set quota; users do not */
    int64_t lim[3] = { 100, LS_QUOTA_UNCHANGED, LS_QUOTA_UNCHANGED };
    assert_int_equal(ls_quota_set(cyrus, "user.bob", lim), LS_OK);
    assert_int_equal(ls_quota_set(bob, "user.bob", lim), LS_EPERM);
    ls_session_free(cyrus);
    ls_session_free(adm);
    ls_session_free(bob);
}

static void inheritance_at_create(void **state)
{
    fixture *f = *state;
    mk(f, "shared.top");
    setacl(f, "shared.top", "anyone", "lr");
    setacl(f, "shared.top", "bob", "lrswipkxte");
    mk(f, "shared.top.mid");
    setacl(f, "shared.top.mid", "carol", "lrk");
    struct acl_buf b;
    /* nearest existing ancestor: shared.top.mid, not shared.top */
    mk(f, "shared.top.mid.a.b");
    assert_string_equal(getacl(f->admin, "shared.top.mid.a.b", &b), "anyone=lr bob=lrswipkxte carol=lrk ");
    /* created by a user with k: the same inheritance */
    ls_session *carol = sess(f, "carol");
    assert_int_equal(ls_mailbox_create(carol, "shared.top.mid.c", NULL), LS_OK);
    assert_string_equal(getacl(f->admin, "shared.top.mid.c", &b), "anyone=lr bob=lrswipkxte carol=lrk ");
    /* a later change of the parent does not change the children */
    setacl(f, "shared.top.mid", "dave", "lr");
    assert_string_equal(getacl(f->admin, "shared.top.mid.c", &b), "anyone=lr bob=lrswipkxte carol=lrk ");
    /* a new INBOX: the owner with all rights, nothing inherited */
    mk(f, "user.bob");
    assert_string_equal(getacl(f->admin, "user.bob", &b), "bob=lrswipkxtean ");
    ls_session *bob = sess(f, "bob");
    assert_int_equal(ls_acl_set(bob, "user.bob", "anyone", "lr"), LS_OK);
    assert_int_equal(ls_mailbox_create(bob, "user.bob.sub", NULL), LS_OK);
    assert_string_equal(getacl(f->admin, "user.bob.sub", &b), "bob=lrswipkxtean anyone=lr ");
    ls_session_free(carol);
    ls_session_free(bob);
}

static void obsolete_c_and_d(void **state)
{
    fixture *f = *state;
    mk(f, "shared.old");
    setacl(f, "shared.old", "bob", "lrc");
    setacl(f, "shared.old", "carol", "lrd");
    ls_session *bob = sess(f, "bob"), *carol = sess(f, "carol");
    char r[13];
    assert_string_equal(myrights(bob, "shared.old", r), "lrkx");
    assert_string_equal(myrights(carol, "shared.old", r), "lrte");
    struct acl_buf b;
    assert_string_equal(getacl(f->admin, "shared.old", &b), "bob=lrkx carol=lrte ");
    /* c lets bob create below and delete; d lets carol delete messages */
    assert_int_equal(ls_mailbox_create(bob, "shared.old.kid", NULL), LS_OK);
    fill(f, "shared.old");
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(carol, "shared.old", 0, &mb), LS_OK);
    assert_int_equal(ls_message_store(mb, one_uid(1), &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL), LS_OK);
    assert_int_equal(ls_message_expunge(mb, NULL, NULL), LS_OK);
    ls_mailbox_close(mb);
    assert_int_equal(nmessages(f, "shared.old"), 0);
    setacl(f, "shared.old", "bob", "-c");
    assert_string_equal(myrights(bob, "shared.old", r), "lr");
    ls_session_free(bob);
    ls_session_free(carol);
}

static void deleted_user_acl_entries_removed(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.alice");
    mk(f, "user.alice.proj");
    mk(f, "shared.s");
    setacl(f, "shared.s", "bob", "lrs");
    setacl(f, "shared.s", "-bob", "s");
    setacl(f, "shared.s", "bobby", "lr");
    setacl(f, "user.alice.proj", "bob", "lr");
    assert_int_equal(ls_mailbox_delete(f->admin, "user.bob"), LS_OK);
    struct acl_buf b;
    assert_string_equal(getacl(f->admin, "shared.s", &b), "bobby=lr ");
    assert_string_equal(getacl(f->admin, "user.alice.proj", &b), "alice=lrswipkxtean ");
    /* a new bob gets nothing of the old one's */
    mk(f, "user.bob");
    ls_session *bob = sess(f, "bob");
    char r[13];
    assert_int_equal(ls_acl_myrights(bob, "shared.s", r), LS_ENOTFOUND);
    ls_session_free(bob);
    /* and store.header of the other mailboxes no longer names bob */
    char *dir;
    assert_int_equal(ls_mailbox_path(f->admin, "shared.s", &dir), LS_OK);
    char p[600], text[4096] = "";
    snprintf(p, sizeof p, "%s/store.header", dir);
    FILE *h = fopen(p, "r");
    assert_non_null(h);
    size_t n = fread(text, 1, sizeof text - 1, h);
    text[n] = 0;
    fclose(h);
    ls_free(dir);
    if (!strstr(text, "acl: bobby\\tlr\\t\n"))
        fail_msg("store.header of shared.s still names the deleted user bob:\n%s", text);
}

static char *read_header(fixture *f, const char *mbox);

/* Renaming user.A to user.B moves the account, including the ACL entries
 * naming A everywhere (docs/contract.md §1.4), and store.header mirrors them. */
static void account_rename_moves_acl_entries(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.x");
    mk(f, "shared.s");
    setacl(f, "shared.s", "bob", "lrs");
    setacl(f, "shared.s", "-bob", "s");
    setacl(f, "shared.s", "bobby", "lr");
    ls_session *bob = sess(f, "bob");
    assert_int_equal(ls_mailbox_rename(bob, "user.bob", "user.rob"), LS_EPERM);
    ls_session_free(bob);
    assert_int_equal(ls_mailbox_rename(f->admin, "user.bob", "user.rob"), LS_OK);
    struct acl_buf b;
    assert_string_equal(getacl(f->admin, "shared.s", &b), "rob=lrs -rob=s bobby=lr ");
    assert_string_equal(getacl(f->admin, "user.rob", &b), "rob=lrswipkxtean ");
    assert_string_equal(getacl(f->admin, "user.rob.x", &b), "rob=lrswipkxtean ");
    ls_session *rob = sess(f, "rob");
    char r[13];
    assert_string_equal(myrights(rob, "user.rob.x", r), "lrswipkxtean");
    assert_string_equal(myrights(rob, "shared.s", r), "lr");
    ls_session_free(rob);
    char *t = read_header(f, "user.rob.x");
    if (!strstr(t, "acl: rob\\tlrswipkxtean\\t\n"))
        fail_msg("store.header of user.rob.x does not hold the renamed ACL:\n%s", t);
    free(t);
    t = read_header(f, "shared.s");
    if (!strstr(t, "acl: rob\\tlrs\\t-rob\\ts\\tbobby\\tlr\\t\n"))
        fail_msg("store.header of shared.s still names the old user:\n%s", t);
    free(t);
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

static void header_mirrors_acl(void **state)
{
    fixture *f = *state;
    mk(f, "shared.h");
    setacl(f, "shared.h", "bob", "lrs");
    setacl(f, "shared.h", "group:staff", "lr");
    char *t = read_header(f, "shared.h");
    assert_non_null(strstr(t, "libstore-header 1\n"));
    assert_non_null(strstr(t, "name: shared.h\n"));
    assert_non_null(strstr(t, "acl: bob\\tlrs\\tgroup:staff\\tlr\\t\n"));
    free(t);
    /* a change by a user with `a` is mirrored too, and a removal */
    setacl(f, "shared.h", "carol", "lra");
    ls_session *carol = sess(f, "carol");
    assert_int_equal(ls_acl_delete(carol, "shared.h", "bob"), LS_OK);
    t = read_header(f, "shared.h");
    assert_non_null(strstr(t, "acl: group:staff\\tlr\\tcarol\\tlra\\t\n"));
    free(t);
    /* a refused change leaves the header alone */
    ls_session *dave = sess(f, "erin");
    assert_int_equal(ls_acl_set(dave, "shared.h", "erin", "lrswipkxtean"), LS_ENOTFOUND);
    t = read_header(f, "shared.h");
    assert_null(strstr(t, "erin"));
    free(t);
    /* the header of a created mailbox holds the inherited ACL */
    mk(f, "shared.h.kid");
    t = read_header(f, "shared.h.kid");
    assert_non_null(strstr(t, "acl: group:staff\\tlr\\tcarol\\tlra\\t\n"));
    free(t);
    ls_session_free(carol);
    ls_session_free(dave);
}

/* A \Noselect level above mailboxes the identity cannot see must not
 * reveal them. */
static void hidden_children_do_not_leak(void **state)
{
    fixture *f = *state;
    mk(f, "user.bob");
    mk(f, "user.bob.secret.deep");
    ls_session *alice = sess(f, "alice");
    ls_mailbox *mb = NULL;
    assert_int_equal(ls_mailbox_open(alice, "user.bob.secret", 0, &mb), LS_ENOTFOUND);
    assert_int_equal(ls_mailbox_open(alice, "user.bob.nothing", 0, &mb), LS_ENOTFOUND);
    assert_false(listed(alice, "*", "user.bob.secret"));
    assert_false(listed(alice, "*", "user"));
    /* a RENAME onto a hidden name fails as onto any name alice may not create */
    mk(f, "user.alice");
    mk(f, "user.alice.mine");
    mk(f, "user.alice.taken");
    assert_int_equal(ls_mailbox_rename(alice, "user.alice.mine", "user.bob.secret.deep"), LS_EPERM);
    assert_int_equal(ls_mailbox_rename(alice, "user.alice.mine", "user.bob.free"), LS_EPERM);
    assert_int_equal(ls_mailbox_rename(alice, "user.alice.mine", "user.alice.taken"), LS_EEXIST);
    /* GETQUOTA on a hidden root fails as on a missing mailbox */
    int64_t lim[3] = { 10, LS_QUOTA_UNLIMITED, LS_QUOTA_UNLIMITED };
    assert_int_equal(ls_quota_set(f->admin, "user.bob", lim), LS_OK);
    ls_quota q;
    assert_int_equal(ls_quota_get(alice, "user.bob", &q), LS_ENOTFOUND);
    assert_int_equal(ls_quota_get(alice, "user.bob.secret.deep", &q), LS_ENOTFOUND);
    ls_session_free(alice);
}

/* Rights are checked again by every call on an open handle. */
static void revoked_rights_bind_open_handles(void **state)
{
    fixture *f = *state;
    mk(f, "shared.rv");
    fill(f, "shared.rv");
    setacl(f, "shared.rv", "bob", "lrswite");
    ls_session *bob = sess(f, "bob");
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(bob, "shared.rv", 0, &mb), LS_OK);
    setacl(f, "shared.rv", "bob", "");
    ls_record rec;
    (void)rec;
    ls_status st;
    assert_int_equal(ls_mailbox_status_open(mb, &st), LS_ENOTFOUND);
    uint32_t *uids = NULL;
    size_t n = 0;
    const char *q[] = { "ALL" };
    assert_int_equal(ls_message_search(mb, 1, q, &uids, &n), LS_ENOTFOUND);
    assert_int_equal(ls_message_expunge(mb, NULL, NULL), LS_ENOTFOUND);
    assert_int_equal(nmessages(f, "shared.rv"), 2);
    /* EXAMINE never writes, whatever the rights */
    setacl(f, "shared.rv", "bob", "lrswipkxtean");
    ls_mailbox *ro;
    assert_int_equal(ls_mailbox_open(bob, "shared.rv", LS_MAILBOX_OPEN_RDONLY, &ro), LS_OK);
    assert_int_equal(ls_message_expunge(ro, NULL, NULL), LS_EPERM);
    assert_int_equal(ls_message_append(ro, MSG, strlen(MSG), NULL, NULL), LS_EPERM);
    ls_mailbox_close(ro);
    ls_mailbox_close(mb);
    ls_session_free(bob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(negative_entries_and_anyone, setup, teardown),
        cmocka_unit_test_setup_teardown(groups_from_resolver, setup, teardown),
        cmocka_unit_test_setup_teardown(groups_from_groupsfile, setup, teardown),
        cmocka_unit_test_setup_teardown(owner_implicit_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(owner_inbox_rfc3501_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(admins_have_all_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(inheritance_at_create, setup, teardown),
        cmocka_unit_test_setup_teardown(obsolete_c_and_d, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_user_acl_entries_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(header_mirrors_acl, setup, teardown),
        cmocka_unit_test_setup_teardown(account_rename_moves_acl_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(hidden_children_do_not_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(revoked_rights_bind_open_handles, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * demo - build a small, realistic store and show what libstore keeps.
 *
 *   ./build/demo [DIR]          (DIR defaults to ./demo-store)
 *
 * Run from the repository root, it (re)creates DIR with its store.conf
 * (configdirectory DIR/config, partition-default DIR/spool, absolute paths),
 * creates five users and some folders, delivers about 1000 generated
 * messages (plain text, multipart/alternative, multipart/mixed with base64
 * attachments; some to many recipients at once, some appended to folders,
 * some copied, moved, flagged, seen, expunged), then prints:
 *   - the mailbox list with its LIST attributes,
 *   - STATUS of a few mailboxes,
 *   - the ENVELOPE and BODYSTRUCTURE of one message,
 *   - how much disk single-instance storage saved: the sum of the record
 *     sizes over all mailboxes against the bytes of the distinct inodes
 *     under the partition (found with nftw, each inode counted once).
 *
 * The message contents and internal dates come from a fixed PRNG seed, so
 * every run prints the same output except UIDVALIDITY (the creation time)
 * and the unique id in the one file path shown; timing goes to stderr.
 * Uses the public API only. Exit status: 0 success, 1 failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "libstore/libstore.h"
#include "crash_guard.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Failing loudly                                                      */
/* ------------------------------------------------------------------ */

static void die(const char *what, int rc)
{
    fprintf(stderr, "demo: %s: %s (%s)\n", what, ls_error_string(rc), ls_error_last());
    exit(1);
}

#define CHECK(call)                         \
    do {                                    \
        int rc_ = (call);                   \
        if (rc_ != LS_OK)                   \
            die(#call, rc_);                \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "demo: out of memory\n");
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* A growable string                                                   */
/* ------------------------------------------------------------------ */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void b_grow(buf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        fprintf(stderr, "demo: out of memory\n");
        exit(1);
    }
    b->p = np;
    b->cap = cap;
}

static void b_add(buf *b, const char *s, size_t n)
{
    b_grow(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void b_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void b_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    b_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* ------------------------------------------------------------------ */
/* Deterministic randomness (xorshift64*, fixed seed)                  */
/* ------------------------------------------------------------------ */

static uint64_t rng_state = 0x5eed1e55c0ffee01ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

/* ------------------------------------------------------------------ */
/* Generated messages                                                  */
/* ------------------------------------------------------------------ */

static const char *const users[] = { "bovik", "fred", "alice", "bob", "carol" };
#define NUSERS 5
/* who reads debian-devel (each has INBOX.lists.debian) */
static const char *const debian_readers[] = { "bovik", "fred", "alice" };

static const char *const senders[] = {
    "Harry Bovik <bovik@cs.cmu.edu>", "Fred Foobar <foobar@Blurdybloop.example>",
    "\"Alice Liddell\" <alice@wonderland.example>", "Bob Smith <bob@example.org>",
    "Carol Danvers <carol@example.net>", "Debian Announce <debian-announce@lists.debian.org>",
    "build-daemon@buildd.example", "=?UTF-8?Q?Ren=C3=A9_Magritte?= <rene@pipe.example>",
    "Postmaster <postmaster@example.com>", "Grace Hopper <grace@navy.example>",
};
#define NSENDERS (sizeof senders / sizeof senders[0])

static const char *const words[] = {
    "mailbox", "store", "index", "record", "report", "meeting", "budget", "kernel",
    "release", "patch", "review", "lunch", "quarterly", "draft", "server", "client",
    "cache", "envelope", "structure", "deadline", "proposal", "summary", "question",
    "answer", "update", "backup", "restore", "weekly", "status", "project", "build",
    "failure", "success", "holiday", "travel", "invoice", "schedule", "agenda", "notes",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const weekdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

enum kind { K_PLAIN, K_ALTERNATIVE, K_MIXED };

typedef struct gen_msg {
    buf b;
    ls_date date;       /* internal date */
    int kind;
} gen_msg;

static unsigned msg_counter;
static int64_t clock_now = 1767225600; /* 1-Jan-2026 00:00:00 UTC: the generated timeline */

static void add_words(buf *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        b_printf(b, "%s%s", i ? " " : "", words[pick(NWORDS)]);
}

static void add_paragraphs(buf *b, unsigned lines)
{
    for (unsigned i = 0; i < lines; i++) {
        add_words(b, 6 + pick(8));
        b_add(b, "\r\n", 2);
    }
}

static void add_base64(buf *b, size_t nbytes)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned col = 0;
    for (size_t i = 0; i < nbytes; i += 3) {
        uint32_t v = (uint32_t)(rnd() & 0xffffff);
        size_t left = nbytes - i;
        char q[4] = { tbl[v >> 18 & 63], tbl[v >> 12 & 63], left > 1 ? tbl[v >> 6 & 63] : '=',
                      left > 2 ? tbl[v & 63] : '=' };
        b_add(b, q, 4);
        if ((col += 4) >= 76) {
            b_add(b, "\r\n", 2);
            col = 0;
        }
    }
    if (col)
        b_add(b, "\r\n", 2);
}

/* One new message. `to` is the To: header; `list` adds List-Id. */
static void gen(gen_msg *m, const char *to, const char *list, int kind)
{
    memset(m, 0, sizeof *m);
    unsigned id = ++msg_counter;
    clock_now += 60 + pick(3600);
    m->kind = kind;
    m->date.t = clock_now;
    m->date.tz = (id % 3 == 0) ? 60 : 0;
    time_t local = (time_t)(clock_now + m->date.tz * 60);
    struct tm tm;
    gmtime_r(&local, &tm);
    buf *b = &m->b;
    b_printf(b, "Return-Path: <sender-%u@example.org>\r\n", id);
    b_printf(b, "Date: %s, %02d %s %d %02d:%02d:%02d %c%04d\r\n", weekdays[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, m->date.tz < 0 ? '-' : '+',
             (abs(m->date.tz) / 60) * 100 + abs(m->date.tz) % 60);
    b_printf(b, "From: %s\r\n", senders[pick(NSENDERS)]);
    b_printf(b, "To: %s\r\n", to);
    if (pick(4) == 0)
        b_printf(b, "Cc: %s\r\n", senders[pick(NSENDERS)]);
    b_add(b, "Subject: ", 9);
    if (list)
        b_printf(b, "[%s] ", list);
    add_words(b, 2 + pick(5));
    b_add(b, "\r\n", 2);
    b_printf(b, "Message-ID: <%u.%08" PRIx64 "@demo.example>\r\n", id, rnd() & 0xffffffffu);
    if (id > 1 && pick(5) == 0)
        b_printf(b, "In-Reply-To: <%u.00000000@demo.example>\r\n", id - 1 - pick(id - 1 < 20 ? id - 1 : 20));
    if (list)
        b_printf(b, "List-Id: <%s.lists.example>\r\n", list);
    b_add(b, "MIME-Version: 1.0\r\n", 19);
    switch (kind) {
    case K_PLAIN:
        b_add(b, "Content-Type: text/plain; charset=us-ascii\r\n\r\n", 46);
        add_paragraphs(b, 3 + pick(30));
        break;
    case K_ALTERNATIVE:
        b_printf(b, "Content-Type: multipart/alternative; boundary=\"alt-%u\"\r\n\r\n", id);
        b_printf(b, "--alt-%u\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", id);
        add_paragraphs(b, 3 + pick(15));
        b_printf(b, "--alt-%u\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>\r\n", id);
        add_paragraphs(b, 3 + pick(15));
        b_printf(b, "</p></body></html>\r\n--alt-%u--\r\n", id);
        break;
    default: {
        static const char *const att[][2] = { { "application/pdf", "report.pdf" },
                                              { "image/png", "diagram.png" },
                                              { "application/octet-stream", "data.bin" } };
        unsigned a = pick(3);
        b_printf(b, "Content-Type: multipart/mixed; boundary=\"mix-%u\"\r\n\r\n", id);
        b_add(b, "This is a multi-part message in MIME format.\r\n", 46);
        b_printf(b, "--mix-%u\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", id);
        add_paragraphs(b, 2 + pick(10));
        b_printf(b, "--mix-%u\r\nContent-Type: %s; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n"
                    "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
                 id, att[a][0], att[a][1], att[a][1]);
        add_base64(b, 2048 + pick(24 * 1024));
        b_printf(b, "--mix-%u--\r\n", id);
        break;
    }
    }
}

static int random_kind(void)
{
    unsigned r = pick(100);
    return r < 50 ? K_PLAIN : r < 75 ? K_ALTERNATIVE : K_MIXED;
}

/* ------------------------------------------------------------------ */
/* Setting up the directory                                            */
/* ------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    int r = (type == FTW_DP) ? rmdir(path) : unlink(path);
    if (r != 0 && errno != ENOENT) {
        fprintf(stderr, "demo: cannot remove %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Remove a previous demo store, but only one that looks like ours. */
static void remove_old(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return;
    char conf[PATH_MAX + 16];
    snprintf(conf, sizeof conf, "%s/store.conf", dir);
    if (!S_ISDIR(st.st_mode) || (access(conf, F_OK) != 0 && rmdir(dir) != 0)) {
        fprintf(stderr, "demo: %s exists and is not a demo store (no store.conf); not touching it\n", dir);
        exit(1);
    }
    if (access(dir, F_OK) == 0 && nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
        exit(1);
}

static char *write_config(const char *dir)
{
    char conf[PATH_MAX + 16];
    if (mkdir(dir, 0750) != 0) {
        fprintf(stderr, "demo: mkdir %s: %s\n", dir, strerror(errno));
        exit(1);
    }
    char abs[PATH_MAX];
    if (!realpath(dir, abs)) {
        fprintf(stderr, "demo: realpath %s: %s\n", dir, strerror(errno));
        exit(1);
    }
    snprintf(conf, sizeof conf, "%s/store.conf", abs);
    FILE *f = fopen(conf, "w");
    if (!f) {
        fprintf(stderr, "demo: %s: %s\n", conf, strerror(errno));
        exit(1);
    }
    fprintf(f,
            "# Written by the libstore demo (tools/demo.c).\n"
            "configdirectory: %s/config\n"
            "partition-default: %s/spool\n"
            "singleinstancestore: yes\n"
            "hierarchy_separator: .\n"
            "admins: cyrus\n"
            /* appends, deliveries and expunges are durable on return either way;
             * flag changes are synced within a second, which keeps the demo fast */
            "fsync: messages\n",
            abs, abs);
    if (fclose(f) != 0) {
        fprintf(stderr, "demo: %s: %s\n", conf, strerror(errno));
        exit(1);
    }
    return strdup(conf);
}

/* ------------------------------------------------------------------ */
/* Working on the store                                                */
/* ------------------------------------------------------------------ */

typedef struct stats {
    unsigned generated;          /* distinct messages made */
    unsigned delivered;          /* recipients served by ls_message_deliver */
    unsigned deliver_calls;
    unsigned appended;
    unsigned copied, moved, expunged;
} stats;

static stats S;
static uint32_t showcase_uid;   /* a multipart/mixed message in bovik's INBOX */

static void deliver(ls_session *admin, const gen_msg *m, const char *const *to, size_t n, const char *folder,
                    unsigned flags)
{
    ls_deliver_result res[NUSERS];
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = flags, .internaldate = &m->date };
    int rc = ls_message_deliver(admin, m->b.p, m->b.n, to, n, folder, &o, res);
    for (size_t i = 0; i < n; i++)
        if (res[i].code != LS_OK) {
            fprintf(stderr, "demo: deliver to %s: %s (%s)\n", to[i], ls_error_string(res[i].code), res[i].error);
            exit(1);
        }
    if (rc != LS_OK)
        die("ls_message_deliver", rc);
    /* show an announcement with an attachment: one file, linked into five INBOXes */
    for (size_t i = 0; i < n; i++)
        if (n == NUSERS && !folder && !strcmp(to[i], "bovik") && m->kind == K_MIXED && !showcase_uid)
            showcase_uid = res[i].uid;
    S.delivered += (unsigned)n;
    S.deliver_calls++;
}

static ls_mailbox *open_mb(ls_session *s, const char *name)
{
    ls_mailbox *mb;
    CHECK(ls_mailbox_open(s, name, LS_MAILBOX_OPEN_RDWR, &mb));
    return mb;
}

/* A UID set of every k-th live message of mb (offset `start`). */
static void every_kth(ls_mailbox *mb, unsigned k, unsigned start, ls_set *out)
{
    uint32_t *uids;
    size_t n;
    CHECK(ls_message_uids(mb, &uids, &n));
    out->r = xmalloc((n ? n : 1) * sizeof *out->r);
    out->n = 0;
    for (size_t i = start; i < n; i += k)
        out->r[out->n++] = (ls_range){ uids[i], uids[i] };
    ls_free(uids);
}

static void store_flags(ls_mailbox *mb, unsigned k, unsigned start, int op, unsigned flags)
{
    ls_set set;
    every_kth(mb, k, start, &set);
    if (set.n)
        CHECK(ls_message_store(mb, &set, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = op, .flags = flags }, NULL));
    free(set.r);
}

static void populate(ls_session *admin)
{
    char name[128];
    /* accounts and folders (admin: only admins create INBOXes) */
    for (int u = 0; u < NUSERS; u++) {
        snprintf(name, sizeof name, "user.%s", users[u]);
        CHECK(ls_mailbox_create(admin, name, NULL));
    }
    static const char *const folders[] = {
        "user.bovik.work", "user.bovik.lists.debian", "user.bovik.Sent", "user.fred.lists.debian",
        "user.fred.archive", "user.alice.lists.debian", "user.carol.saved", "shared.news",
        "shared.news.archive",
    };
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
        CHECK(ls_mailbox_create(admin, folders[i], NULL));

    /* Owners create their own folders: bovik has all rights below user.bovik. */
    ls_session *bovik;
    CHECK(ls_session_new(ls_session_store(admin), "bovik", &bovik));
    CHECK(ls_mailbox_create(bovik, "user.bovik.projects", NULL));

    gen_msg m;
    /* 1. 400 personal messages, one recipient each */
    for (int i = 0; i < 400; i++) {
        const char *to = users[pick(NUSERS)];
        char addr[64];
        snprintf(addr, sizeof addr, "%s@example.org", to);
        gen(&m, addr, NULL, random_kind());
        deliver(admin, &m, &to, 1, NULL, 0);
        free(m.b.p);
        S.generated++;
    }
    /* 2. 200 list messages to every reader's INBOX.lists.debian, in one call */
    for (int i = 0; i < 200; i++) {
        gen(&m, "debian-devel@lists.debian.org", "debian-devel", pick(10) ? K_PLAIN : K_ALTERNATIVE);
        deliver(admin, &m, debian_readers, 3, "lists.debian", 0);
        free(m.b.p);
        S.generated++;
    }
    /* 3. 100 announcements to all five users at once (stored once) */
    for (int i = 0; i < 100; i++) {
        gen(&m, "all-staff@example.org", NULL, pick(3) ? K_MIXED : K_ALTERNATIVE);
        deliver(admin, &m, users, NUSERS, NULL, 0);
        free(m.b.p);
        S.generated++;
    }
    /* 4. 150 messages bovik files in INBOX.work himself (APPEND), a third
     *    of them already \Seen, some with a keyword */
    ls_mailbox *work = open_mb(bovik, "user.bovik.work");
    for (int i = 0; i < 150; i++) {
        gen(&m, "bovik@example.org", NULL, random_kind());
        const char *kw[] = { "$Important" };
        ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = i % 3 == 0 ? LS_FLAG_SEEN : 0, .internaldate = &m.date,
                             .keywords = kw, .nkeywords = i % 10 == 0 ? 1 : 0 };
        uint32_t uid;
        CHECK(ls_message_append(work, m.b.p, m.b.n, &o, &uid));
        free(m.b.p);
        S.generated++;
        S.appended++;
    }
    /* 5. 150 news articles appended in batches of 50 (one transaction each) */
    ls_mailbox *news = open_mb(admin, "shared.news");
    for (int batch = 0; batch < 3; batch++) {
        ls_append_item items[50];
        gen_msg ms[50];
        for (int i = 0; i < 50; i++) {
            gen(&ms[i], "news@example.org", "news", pick(4) ? K_PLAIN : K_MIXED);
            items[i] = (ls_append_item){ .msg = ms[i].b.p, .len = ms[i].b.n,
                                         .opts = { .version = LS_APPEND_OPTS_VERSION, .internaldate = &ms[i].date } };
            S.generated++;
        }
        CHECK(ls_message_append_many(news, items, 50));
        for (int i = 0; i < 50; i++)
            free(ms[i].b.p);
        S.appended += 50;
    }

    /* Reading mail: each user has seen most of their INBOX; some flagged. */
    for (int u = 0; u < NUSERS; u++) {
        snprintf(name, sizeof name, "user.%s", users[u]);
        ls_mailbox *in = open_mb(admin, name);
        store_flags(in, 5, 0, LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
        store_flags(in, 5, 1, LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);
        store_flags(in, 5, 2, LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN | LS_FLAG_ANSWERED);
        store_flags(in, 7, 3, LS_MESSAGE_STORE_ADD, LS_FLAG_FLAGGED);
        ls_mailbox_close(in);
    }
    store_flags(news, 2, 0, LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN);

    /* COPY: bovik keeps every 10th INBOX message in INBOX.projects (links) */
    ls_mailbox *inbox = open_mb(bovik, "user.bovik");
    ls_set set;
    every_kth(inbox, 10, 0, &set);
    ls_uidmap map;
    CHECK(ls_message_copy(inbox, &set, "user.bovik.projects", &map));
    S.copied += (unsigned)map.n;
    ls_uidmap_dispose(&map);
    free(set.r);
    ls_mailbox_close(inbox);

    /* MOVE: fred archives the first 30 messages of his INBOX */
    ls_mailbox *fin = open_mb(admin, "user.fred");
    set.r = &(ls_range){ 1, 30 };
    set.n = 1;
    CHECK(ls_message_move(fin, &set, "user.fred.archive", &map));
    S.moved += (unsigned)map.n;
    ls_uidmap_dispose(&map);

    /* EXPUNGE: alice deletes some list mail; cleanup removes the files */
    ls_mailbox *alist = open_mb(admin, "user.alice.lists.debian");
    store_flags(alist, 4, 0, LS_MESSAGE_STORE_ADD, LS_FLAG_DELETED);
    ls_set gone;
    CHECK(ls_message_expunge(alist, NULL, &gone));
    for (size_t i = 0; i < gone.n; i++)
        S.expunged += gone.r[i].hi - gone.r[i].lo + 1;
    ls_set_dispose(&gone);
    ls_mailbox_close(alist);
    uint64_t removed = 0;
    CHECK(ls_store_cleanup(ls_session_store(admin), -1, &removed));

    /* An append of bytes already on the partition with the same internal
     * date is linked, not copied: carol saves a copy of an announcement. */
    ls_mailbox *cin = open_mb(admin, "user.carol");
    uint32_t *cuids;
    size_t cn;
    CHECK(ls_message_uids(cin, &cuids, &cn));
    for (size_t i = 0; i < cn && i < 200; i += 20) {
        char *raw;
        size_t rawlen;
        ls_record rec;
        CHECK(ls_message_get(cin, cuids[i], &rec));
        CHECK(ls_message_fetch(cin, cuids[i], "", 0, UINT64_MAX, &raw, &rawlen));
        ls_mailbox *saved = open_mb(admin, "user.carol.saved");
        ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = LS_FLAG_SEEN, .internaldate = &rec.internaldate };
        CHECK(ls_message_append(saved, raw, rawlen, &o, NULL));
        ls_mailbox_close(saved);
        ls_free(raw);
        S.appended++;
    }
    ls_free(cuids);
    ls_mailbox_close(cin);

    ls_mailbox_close(fin);
    ls_mailbox_close(news);
    ls_mailbox_close(work);
    ls_session_free(bovik);
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

typedef struct listed {
    char **names;
    unsigned *attrs;
    size_t n;
} listed;

static int list_cb(const char *name, unsigned attrs, void *arg)
{
    listed *l = arg;
    l->names = realloc(l->names, (l->n + 1) * sizeof *l->names);
    l->attrs = realloc(l->attrs, (l->n + 1) * sizeof *l->attrs);
    if (!l->names || !l->attrs)
        return LS_ENOMEM;
    l->names[l->n] = strdup(name);
    l->attrs[l->n++] = attrs;
    return 0;
}

static void print_list(ls_session *admin, listed *l)
{
    CHECK(ls_mailbox_list(admin, "*", list_cb, l));
    printf("== Mailboxes (LIST \"\" \"*\" as an administrator; internal names) ==\n");
    for (size_t i = 0; i < l->n; i++) {
        char attrs[64] = "";
        if (l->attrs[i] & LS_MAILBOX_LIST_NOSELECT)
            strcat(attrs, "\\Noselect ");
        strcat(attrs, l->attrs[i] & LS_MAILBOX_LIST_HASCHILDREN ? "\\HasChildren" : "\\HasNoChildren");
        /* what the owner sees: user.bovik.work is INBOX.work to bovik */
        char view[160] = "";
        if (!strncmp(l->names[i], "user.", 5)) {
            char owner[64];
            snprintf(owner, sizeof owner, "%s", l->names[i] + 5);
            char *dot = strchr(owner, '.');
            if (dot)
                *dot = 0;
            char *u;
            if (ls_name_to_user(l->names[i], owner, '.', &u) == LS_OK) {
                snprintf(view, sizeof view, "  (%s sees \"%s\")", owner, u);
                ls_free(u);
            }
        }
        printf("  * LIST (%s) \".\" %-26s%s\n", attrs, l->names[i], view);
    }
    printf("\n");
}

static void print_status(ls_session *admin)
{
    static const char *const boxes[] = { "user.bovik", "user.bovik.work", "user.bovik.lists.debian",
                                         "user.alice.lists.debian", "user.fred.archive", "shared.news" };
    printf("== STATUS ==\n");
    for (size_t i = 0; i < sizeof boxes / sizeof boxes[0]; i++) {
        ls_status s;
        CHECK(ls_mailbox_status(admin, boxes[i], &s));
        printf("  * STATUS %-24s (MESSAGES %u RECENT %u UIDNEXT %u UIDVALIDITY %u UNSEEN %u "
               "HIGHESTMODSEQ %" PRIu64 " SIZE %" PRIu64 ")  deleted %u flagged %u answered %u\n",
               boxes[i], s.messages, s.recent, s.uidnext, s.uidvalidity, s.unseen, s.highestmodseq, s.size,
               s.deleted, s.flagged, s.answered);
    }
    printf("\n");
}

static void print_showcase(ls_session *admin)
{
    ls_mailbox *mb = open_mb(admin, "user.bovik");
    ls_record rec;
    CHECK(ls_message_get(mb, showcase_uid, &rec));
    char *env, *bs, *hdr;
    size_t envlen, bslen, hdrlen;
    CHECK(ls_message_cached(mb, showcase_uid, "envelope", &env, &envlen));
    CHECK(ls_message_cached(mb, showcase_uid, "bodystructure", &bs, &bslen));
    CHECK(ls_message_fetch(mb, showcase_uid, "HEADER.FIELDS (From Subject Date)", 0, UINT64_MAX, &hdr, &hdrlen));
    char date[40];
    ls_date_format_imap(&rec.internaldate, date, sizeof date);
    char guid[65];
    for (int i = 0; i < 32; i++)
        sprintf(guid + 2 * i, "%02x", rec.guid[i]);
    printf("== One message: user.bovik UID %u ==\n", showcase_uid);
    printf("  INTERNALDATE \"%s\"  RFC822.SIZE %" PRIu64 "  MODSEQ %" PRIu64 "\n", date, rec.size, rec.modseq);
    printf("  GUID (SHA-256) %s\n", guid);
    printf("  BODY[HEADER.FIELDS (From Subject Date)]:\n");
    for (char *line = strtok(hdr, "\r\n"); line; line = strtok(NULL, "\r\n"))
        printf("    %s\n", line);
    printf("  ENVELOPE %.*s\n", (int)envlen, env);
    printf("  BODYSTRUCTURE %.*s\n", (int)bslen, bs);
    char *path;
    CHECK(ls_message_path(mb, showcase_uid, &path));
    struct stat st;
    if (stat(path, &st) == 0)
        printf("  file: %s (%ju links)\n", path, (uintmax_t)st.st_nlink);
    printf("\n");
    ls_free(path);
    ls_free(env);
    ls_free(bs);
    ls_free(hdr);
    ls_mailbox_close(mb);
}

/* The partition walk: every regular file counted once per inode. */
#define MAXINO (1u << 16)
static struct {
    uint64_t ino[MAXINO];
    size_t n;
    uint64_t names, msg_names, bytes, blocks, msg_inodes;
} walk;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int walk_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    if (type != FTW_F || !S_ISREG(sb->st_mode))
        return 0;
    const char *base = path + ftw->base;
    size_t bl = strlen(base);
    int is_msg = bl > 1 && base[bl - 1] == '.' && base[0] >= '1' && base[0] <= '9';
    walk.names++;
    walk.msg_names += is_msg;
    for (size_t i = 0; i < walk.n; i++) /* small store: linear is fine; sorted below */
        if (walk.ino[i] == (uint64_t)sb->st_ino)
            return 0;
    if (walk.n == MAXINO)
        return -1;
    walk.ino[walk.n++] = (uint64_t)sb->st_ino;
    walk.bytes += (uint64_t)sb->st_size;
    walk.blocks += (uint64_t)sb->st_blocks * 512;
    walk.msg_inodes += is_msg;
    return 0;
}

static void print_savings(ls_session *admin, const listed *l)
{
    uint64_t logical = 0, records = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->attrs[i] & LS_MAILBOX_LIST_NOSELECT)
            continue;
        ls_status s;
        CHECK(ls_mailbox_status(admin, l->names[i], &s));
        logical += s.size;
        records += s.messages;
    }
    const char *part = ls_store_config_get(ls_session_store(admin), "partition-default");
    if (!part || nftw(part, walk_one, 32, FTW_PHYS) != 0) {
        fprintf(stderr, "demo: cannot walk the partition %s\n", part ? part : "(none)");
        exit(1);
    }
    qsort(walk.ino, walk.n, sizeof walk.ino[0], cmp_u64);
    printf("== Single-instance storage ==\n");
    printf("  generated %u distinct messages: %u recipients in %u ls_message_deliver calls, %u appended,\n"
           "  %u copied, %u moved, %u expunged\n",
           S.generated, S.delivered, S.deliver_calls, S.appended, S.copied, S.moved, S.expunged);
    printf("  records in all mailboxes:   %8" PRIu64 " messages, %10" PRIu64 " bytes (sum of STATUS SIZE)\n",
           records, logical);
    printf("  files under the partition:  %8" PRIu64 " names (%" PRIu64 " message files), %" PRIu64
           " distinct inodes (%" PRIu64 " of messages)\n",
           walk.names, walk.msg_names, (uint64_t)walk.n, walk.msg_inodes);
    printf("  bytes of distinct inodes:   %10" PRIu64 " bytes (%" PRIu64 " bytes allocated)\n", walk.bytes,
           walk.blocks);
    double pct = logical ? 100.0 * (double)(logical - (walk.bytes < logical ? walk.bytes : logical)) / (double)logical
                         : 0.0;
    printf("  single-instance storage saved %" PRIu64 " bytes (%.1f%% of %" PRIu64 ")\n",
           walk.bytes < logical ? logical - walk.bytes : 0, pct, logical);
    printf("\n");
}

static void run_check(ls_store *st)
{
    uint64_t nerrors = 0;
    CHECK(ls_store_check(st, NULL, NULL, &nerrors));
    printf("== mailstore check ==\n  %" PRIu64 " error(s)\n", nerrors);
    if (nerrors) {
        fprintf(stderr, "demo: the store has %" PRIu64 " error(s) (run 'mailstore -C ... check')\n", nerrors);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    crash_guard_install(argv[0]);
    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        printf("Usage: demo [DIR]\n\n(Re)create a demo store in DIR (default ./demo-store) with about 1000\n"
               "generated messages and print what libstore keeps of them.\n");
        return argc > 2 ? 2 : 0;
    }
    const char *dir = argc == 2 ? argv[1] : "./demo-store";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    remove_old(dir);
    char *conf = write_config(dir);

    ls_store *st;
    CHECK(ls_store_open(conf, LS_STORE_OPEN_CREATE, &st)); /* a new store (as mailstore init makes one) */
    ls_session *admin;
    CHECK(ls_session_new(st, NULL, &admin));

    printf("libstore %s demo: store %s\n\n", ls_version(), conf);
    populate(admin);

    listed l = { 0 };
    print_list(admin, &l);
    print_status(admin);
    print_showcase(admin);
    print_savings(admin, &l);
    run_check(st);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* timing goes to stderr: stdout stays the same from run to run */
    fprintf(stderr, "demo: done in %.2f s; try: ./build/mailstore -C %s list\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, conf);

    for (size_t i = 0; i < l.n; i++)
        free(l.names[i]);
    free(l.names);
    free(l.attrs);
    ls_session_free(admin);
    ls_store_close(st);
    free(conf);
    return 0;
}

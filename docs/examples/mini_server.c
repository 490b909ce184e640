/*
 * mini_server.c - libstore as an IMAP server uses it, one call at a time.
 *
 * This is the example program of docs/api.md ("The example walked through").
 * It plays one IMAP session of user "bovik" (plus the delivery agent and a
 * second connection) against a fresh store, prints the IMAP responses a
 * server would send, and checks every result: it exits 1 on the first
 * unexpected one, so it doubles as a test (ctest: docs_example_mini_server).
 *
 *   mini_server [--keep] [DIR]
 *
 * DIR (default: a new directory from mkdtemp under $TMPDIR or /tmp) gets a
 * store.conf, the LMDB environment and a partition; it is removed at the end
 * unless --keep is given.
 *
 * What it shows, in order (each step is a function below):
 *   1. open the store; sessions; create INBOXes as an administrator
 *   2. names: INBOX <-> internal names, modified UTF-7
 *   3. APPEND (with flags, keywords, internal date) -> APPENDUID
 *   4. delivery to several recipients at once (LMTP), per-recipient results
 *   5. LIST
 *   6. SELECT (CONDSTORE): status, \Recent, sequence map, keywords
 *   7. FETCH: flags, ENVELOPE, BODYSTRUCTURE, BODY[section]<partial>, \Seen
 *   8. STORE with UNCHANGEDSINCE (RFC 7162)
 *   9. SEARCH
 *  10. COPY and MOVE with COPYUID
 *  11. EXPUNGE
 *  12. STATUS of another mailbox
 *  13. sharing a folder (ACL), quota, subscriptions
 *  14. what changed since a MODSEQ (QRESYNC: FETCH and VANISHED)
 *  15. IDLE: wait for a change made by another thread
 *  16. errors: codes, ls_error_string, ls_error_last
 *  17. check, cleanup, close
 *
 * Build: as part of libstore (target mini_server), or against an installed
 * libstore:  cc mini_server.c $(pkg-config --cflags --libs libstore) -pthread
 * (PKG_CONFIG_PATH=PREFIX/LIBDIR/pkgconfig, and LD_LIBRARY_PATH=PREFIX/LIBDIR
 * to run it, when PREFIX is not a system one; ctest install_pkgconfig does
 * this with tests/install/run_install_test.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "libstore/libstore.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Checking results                                                    */
/* ------------------------------------------------------------------ */

/*
 * Every libstore call returns LS_OK (0) or a negative LS_E* code. On failure
 * the library also records a message for this thread: ls_error_last(). A
 * server maps the code to its IMAP response (NO, BAD, [OVERQUOTA], ...) and
 * may show the message to the user or its log.
 */
static void fail_call(const char *call, int rc, int line)
{
    fprintf(stderr, "mini_server:%d: %s failed: %s (code %d): %s\n", line, call, ls_error_string(rc), rc,
            ls_error_last());
    exit(1);
}

#define CALL(expr)                                  \
    do {                                            \
        int rc_ = (expr);                           \
        if (rc_ != LS_OK)                           \
            fail_call(#expr, rc_, __LINE__);        \
    } while (0)

/* An expected outcome that is not LS_OK (or a condition on results). */
#define EXPECT(cond)                                                              \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "mini_server:%d: expectation failed: %s\n", __LINE__, #cond); \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

/* ------------------------------------------------------------------ */
/* Small helpers a server would have anyway                            */
/* ------------------------------------------------------------------ */

/* The IMAP flag list of a record: system flags, then keywords by name. */
/* STORE (op +FLAGS, -FLAGS or FLAGS) of system flags, with UNCHANGEDSINCE
 * when unchangedsince > 0. The options start from LS_MESSAGE_STORE_OPTS_INIT,
 * which sets the version the library checks. */
static int store_flags(ls_mailbox *mb, const ls_set *uids, enum ls_message_store_op op, unsigned flags,
                       uint64_t unchangedsince, ls_set *modified)
{
    ls_message_store_opts so = LS_MESSAGE_STORE_OPTS_INIT;
    so.op = op;
    so.flags = flags;
    so.unchangedsince = unchangedsince;
    return ls_message_store(mb, uids, &so, modified);
}

static void format_flags(ls_mailbox *mb, const ls_record *r, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned bit = 1; bit <= LS_FLAG_DRAFT; bit <<= 1)
        if (r->flags & bit)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? " " : "", ls_flag_name(bit));
    for (unsigned i = 0; i < LS_MAILBOX_MAX_KEYWORDS && n < outlen; i++)
        if (r->keywords[i / 64] >> (i % 64) & 1) {
            const char *kw = ls_mailbox_keyword(mb, i);  /* owned by the handle */
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? " " : "", kw ? kw : "?");
        }
}

/* An ascending UID array as an IMAP set ("1:3,7"), malloc'd. */
static char *uids_to_text(const uint32_t *v, size_t n)
{
    ls_range *r = malloc((n ? n : 1) * sizeof *r);
    ls_set s = { r, 0 };
    for (size_t i = 0; r && i < n; i++) {
        if (s.n && r[s.n - 1].hi + 1 == v[i])
            r[s.n - 1].hi = v[i];
        else
            r[s.n++] = (ls_range){ v[i], v[i] };
    }
    char *text = r ? ls_set_format(&s) : NULL;  /* ls_free() it */
    free(r);
    EXPECT(text != NULL);
    return text;
}

/* A set holding the one UID uid (no allocation: ls_set is plain data). */
#define ONE_UID(set, range, uid) \
    ls_range range = { (uid), (uid) }; \
    ls_set set = { &range, 1 }

/* The server's sequence map: live UIDs in order, as of the last
 * synchronisation with the client. seq(uid) is its index + 1. */
typedef struct seqmap {
    uint32_t *uid;
    size_t n;
} seqmap;

static uint32_t seq_of(const seqmap *m, uint32_t uid)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->uid[i] == uid)
            return (uint32_t)i + 1;
    return 0;
}

/* Send "* N EXPUNGE" for the UIDs in `gone` and remove them from the map.
 * Descending order: each response then names a still-valid sequence number. */
static void send_expunges(seqmap *m, const ls_set *gone)
{
    for (size_t i = m->n; i-- > 0;)
        if (ls_set_contains(gone, m->uid[i])) {
            printf("S: * %zu EXPUNGE\n", i + 1);
            memmove(&m->uid[i], &m->uid[i + 1], (m->n - i - 1) * sizeof m->uid[0]);
            m->n--;
        }
}

/* ------------------------------------------------------------------ */
/* The messages                                                        */
/* ------------------------------------------------------------------ */

static const char MSG1[] =
    "From: Fred Foobar <fred@example.org>\r\n"
    "To: Harry Bovik <bovik@example.org>\r\n"
    "Subject: Quarterly report\r\n"
    "Date: Mon, 16 Nov 2026 09:00:00 +0100\r\n"
    "Message-ID: <report-1@example.org>\r\n"
    "\r\n"
    "The numbers are in. See you at the meeting.\r\n";

/* Bare LF line ends: the store turns them into CRLF, once, on append. */
static const char MSG2[] =
    "From: Alice <alice@example.org>\n"
    "To: bovik@example.org\n"
    "Subject: Lunch on Friday?\n"
    "Date: Tue, 17 Nov 2026 12:30:00 +0000\n"
    "\n"
    "Pizza or sushi?\n";

static const char MSG3[] =
    "From: Bob <bob@example.org>\r\n"
    "To: bovik@example.org\r\n"
    "Subject: Diagram attached\r\n"
    "Date: Wed, 18 Nov 2026 16:45:00 -0500\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
    "\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Here is the diagram we discussed.\r\n"
    "--XYZ\r\n"
    "Content-Type: image/png; name=\"diagram.png\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"diagram.png\"\r\n"
    "\r\n"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA\r\n"
    "60e6kgAAAABJRU5ErkJggg==\r\n"
    "--XYZ--\r\n";

static const char MSG4[] =
    "From: HR <hr@example.org>\r\n"
    "To: bovik@example.org, fred@example.org\r\n"
    "Subject: Welcome to the team\r\n"
    "Date: Thu, 19 Nov 2026 08:00:00 +0000\r\n"
    "\r\n"
    "Please find the onboarding checklist on the wiki.\r\n";

static const char MSG5[] =
    "From: Fred Foobar <fred@example.org>\r\n"
    "To: bovik@example.org\r\n"
    "Subject: ping\r\n"
    "\r\n"
    "Are you there?\r\n";

/* ------------------------------------------------------------------ */
/* The store                                                           */
/* ------------------------------------------------------------------ */

static char workdir[PATH_MAX];
static char confpath[PATH_MAX + 16];

static void write_config(void)
{
    snprintf(confpath, sizeof confpath, "%s/store.conf", workdir);
    FILE *f = fopen(confpath, "w");
    EXPECT(f != NULL);
    /* Absolute paths are required. "admins" names identities with all rights;
     * a session opened with identity NULL is an administrator too. */
    fprintf(f,
            "configdirectory: %s/config\n"
            "partition-default: %s/spool\n"
            "admins: cyrus\n"
            "maxmessagesize: 1048576\n",
            workdir, workdir);
    EXPECT(fclose(f) == 0);
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Shared by the steps. */
static ls_store *store;
static ls_session *admin;       /* the delivery agent / administrator */
static ls_session *bovik;       /* the logged-in user */
static ls_mailbox *inbox;       /* bovik's selected INBOX */
static seqmap seq;              /* the session's sequence map */
static uint64_t select_modseq;  /* HIGHESTMODSEQ the client saw at SELECT */
static char sep;

/* Step 1: open the store, start sessions, create the INBOXes. */
static void step_open(void)
{
    printf("\n--- 1. open the store, sessions, INBOXes (libstore %s)\n", ls_version());
    /* One ls_store per process, shared by its threads. A server opens an
     * existing store (LS_STORE_OPEN_DEFAULT: a missing one is an error, never
     * silently replaced by an empty one); this example makes its own, so it
     * asks for creation (as `mailstore init` does). */
    CALL(ls_store_open(confpath, LS_STORE_OPEN_CREATE, &store));
    sep = ls_store_separator(store);
    EXPECT(sep == '.');

    /* One session per identity acting (per IMAP connection, after LOGIN). */
    CALL(ls_session_new(store, NULL, &admin));          /* NULL: administrator */
    EXPECT(ls_session_identity(admin) == NULL);
    CALL(ls_session_new(store, "bovik", &bovik));
    EXPECT(!strcmp(ls_session_identity(bovik), "bovik"));
    EXPECT(ls_store_is_admin(store, "cyrus") && !ls_store_is_admin(store, "bovik"));

    /* Only administrators create a user's INBOX (user.NAME). The new INBOX
     * gets the ACL "NAME lrswipkxtean". */
    CALL(ls_mailbox_create(admin, "user.bovik", NULL));
    CALL(ls_mailbox_create(admin, "user.fred", NULL));
    int rc = ls_mailbox_create(bovik, "user.mallory", NULL);
    EXPECT(rc == LS_EPERM);
    printf("user bovik may not create user.mallory: %s (%s)\n", ls_error_string(rc), ls_error_last());
}

/* Step 2: names as a user types them <-> internal names; modified UTF-7. */
static void step_names(void)
{
    printf("\n--- 2. names\n");
    char *internal, *shown, *utf8, *mutf7;
    /* C: a1 CREATE INBOX.Work */
    CALL(ls_name_from_user("INBOX.Work", "bovik", sep, &internal));
    EXPECT(!strcmp(internal, "user.bovik.Work"));
    CALL(ls_mailbox_create(bovik, internal, NULL));   /* the owner may create below INBOX */
    CALL(ls_name_to_user(internal, "bovik", sep, &shown));
    EXPECT(!strcmp(shown, "INBOX.Work"));
    printf("C: a1 CREATE INBOX.Work    -> %s\n", internal);
    ls_free(internal);
    ls_free(shown);

    /* C: a2 CREATE "INBOX.Entw&APw-rfe": clients send modified UTF-7, the
     * store keeps UTF-8 names. */
    CALL(ls_name_from_mutf7("INBOX.Entw&APw-rfe", &utf8));
    EXPECT(!strcmp(utf8, "INBOX.Entw\xc3\xbc" "rfe"));
    CALL(ls_name_from_user(utf8, "bovik", sep, &internal));
    CALL(ls_mailbox_create(bovik, internal, NULL));
    CALL(ls_name_to_mutf7(utf8, &mutf7));
    EXPECT(!strcmp(mutf7, "INBOX.Entw&APw-rfe"));
    printf("C: a2 CREATE %s -> %s\n", mutf7, internal);
    ls_free(utf8);
    ls_free(mutf7);
    ls_free(internal);

    /* invalid names fail with LS_EBADNAME and say why */
    int rc = ls_name_validate("user.bovik..x", sep);
    EXPECT(rc == LS_EBADNAME);
    printf("'user.bovik..x' is rejected: %s\n", ls_error_last());
}

/* Step 3: APPEND. */
static uint32_t uidvalidity;

static void step_append(void)
{
    printf("\n--- 3. APPEND\n");
    /* A mailbox handle is what SELECT opens; APPEND can use a short-lived one. */
    ls_mailbox *mb;
    CALL(ls_mailbox_open(bovik, "user.bovik", LS_MAILBOX_OPEN_RDWR, &mb));
    ls_status st;
    CALL(ls_mailbox_status_open(mb, &st));
    uidvalidity = st.uidvalidity;

    uint32_t uid;
    /* C: a3 APPEND INBOX {..} */
    CALL(ls_message_append(mb, MSG1, strlen(MSG1), NULL, &uid));   /* opts NULL: no flags, now */
    EXPECT(uid == 1);
    printf("S: a3 OK [APPENDUID %u %u] APPEND completed\n", uidvalidity, uid);

    /* C: a4 APPEND INBOX (\Seen $Important) "17-Nov-2026 12:31:02 +0000" {..} */
    ls_date when;
    CALL(ls_date_parse_imap("17-Nov-2026 12:31:02 +0000", &when));
    const char *kw[] = { "$Important" };
    ls_append_opts o = LS_APPEND_OPTS_INIT;   /* sets the version the library checks */
    o.flags = LS_FLAG_SEEN;
    o.keywords = kw;
    o.nkeywords = 1;
    o.internaldate = &when;
    CALL(ls_message_append(mb, MSG2, strlen(MSG2), &o, &uid));
    EXPECT(uid == 2);
    printf("S: a4 OK [APPENDUID %u %u] APPEND completed\n", uidvalidity, uid);

    /* MULTIAPPEND: several messages, one transaction (all or none). */
    ls_append_item items[1] = { { .msg = MSG3, .len = strlen(MSG3) } };
    CALL(ls_message_append_many(mb, items, 1));
    EXPECT(items[0].uid == 3);
    printf("S: a5 OK [APPENDUID %u %u] APPEND completed\n", uidvalidity, items[0].uid);

    /* A bad keyword is refused before anything is written. */
    const char *badkw[] = { "no spaces allowed" };
    ls_append_opts bad = LS_APPEND_OPTS_INIT;
    bad.keywords = badkw;
    bad.nkeywords = 1;
    int rc = ls_message_append(mb, MSG1, strlen(MSG1), &bad, NULL);
    EXPECT(rc == LS_EINVAL);
    printf("S: a6 BAD %s\n", ls_error_last());
    ls_mailbox_close(mb);
}

/* Step 4: delivery (LMTP): one message, many recipients, stored once. */
static void step_deliver(void)
{
    printf("\n--- 4. deliver (LMTP)\n");
    const char *rcpt[] = { "bovik", "fred", "nosuchuser" };
    ls_deliver_result res[3];
    int rc = ls_message_deliver(admin, MSG4, strlen(MSG4), rcpt, 3, NULL, NULL, res);
    /* Atomic per recipient: the unknown one fails, the others get it. The
     * return value is the first error (or LS_OK when all succeeded). */
    EXPECT(rc == LS_ENOTFOUND);
    for (int i = 0; i < 3; i++) {
        if (res[i].code == LS_OK)
            printf("S: 250 2.1.5 <%s> delivered as UID %u\n", rcpt[i], res[i].uid);
        else
            printf("S: 550 5.1.1 <%s> %s: %s\n", rcpt[i], ls_error_string(res[i].code), res[i].error);
    }
    EXPECT(res[0].code == LS_OK && res[0].uid == 4);
    EXPECT(res[1].code == LS_OK && res[1].uid == 1);
    EXPECT(res[2].code == LS_ENOTFOUND);

    /* Into a folder: "Work" means user.NAME.Work for each recipient. */
    const char *one[] = { "bovik" };
    CALL(ls_message_deliver(admin, MSG5, strlen(MSG5), one, 1, "Work", NULL, res));
    EXPECT(res[0].uid == 1);
}

/* Step 5: LIST. */
struct list_ctx { int n; };
static int list_one(const char *name, unsigned attrs, void *arg)
{
    struct list_ctx *c = arg;
    char *shown, *mutf7;
    /* internal name -> what bovik sees -> modified UTF-7 on the wire */
    if (ls_name_to_user(name, "bovik", sep, &shown) != LS_OK)
        return 1;                  /* non-zero stops the listing */
    if (ls_name_to_mutf7(shown, &mutf7) != LS_OK) {
        ls_free(shown);
        return 1;
    }
    printf("S: * LIST (%s%s) \"%c\" %s\n", attrs & LS_MAILBOX_LIST_NOSELECT ? "\\Noselect " : "",
           attrs & LS_MAILBOX_LIST_HASCHILDREN ? "\\HasChildren" : "\\HasNoChildren", sep, mutf7);
    ls_free(shown);
    ls_free(mutf7);
    c->n++;
    return 0;
}

static void step_list(void)
{
    printf("\n--- 5. LIST\n");
    printf("C: a7 LIST \"\" \"*\"\n");
    struct list_ctx c = { 0 };
    /* Only mailboxes with the `l` right: user.fred is invisible to bovik.
     * "user" itself would be a \Noselect level, but bovik may not see it. */
    CALL(ls_mailbox_list(bovik, "user.bovik*", list_one, &c));
    EXPECT(c.n == 3);   /* INBOX, INBOX.Entwürfe, INBOX.Work */
    c.n = 0;
    CALL(ls_mailbox_list(bovik, "user.fred*", list_one, &c));
    EXPECT(c.n == 0);
}

/* Step 6: SELECT INBOX (CONDSTORE). */
static void step_select(void)
{
    printf("\n--- 6. SELECT\n");
    printf("C: a8 SELECT INBOX (CONDSTORE)\n");
    CALL(ls_mailbox_open(bovik, "user.bovik", LS_MAILBOX_OPEN_RDWR, &inbox));
    ls_status st;
    CALL(ls_mailbox_status_open(inbox, &st));
    EXPECT(st.messages == 4 && st.uidnext == 5 && st.unseen == 3);
    /* \Recent: a read-write SELECT claims the new messages for this session;
     * the next session (or STATUS) no longer counts them. */
    uint32_t recent = 0;
    CALL(ls_mailbox_claim_recent(inbox, &recent));
    EXPECT(recent == 4);
    ls_status after;
    CALL(ls_mailbox_status(bovik, "user.bovik", &after));
    EXPECT(after.recent == 0);
    /* The sequence map is the server's: the live UIDs in order. */
    CALL(ls_message_uids(inbox, &seq.uid, &seq.n));
    EXPECT(seq.n == 4 && seq.uid[0] == 1 && seq.uid[3] == 4);
    /* FLAGS: the system flags plus the mailbox's keywords */
    printf("S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for (unsigned i = 0; ls_mailbox_keyword(inbox, i); i++)
        printf(" %s", ls_mailbox_keyword(inbox, i));
    printf(")\n");
    printf("S: * %u EXISTS\nS: * %u RECENT\n", st.messages, recent);
    printf("S: * OK [UIDVALIDITY %u]\nS: * OK [UIDNEXT %u]\nS: * OK [HIGHESTMODSEQ %" PRIu64 "]\n",
           st.uidvalidity, st.uidnext, st.highestmodseq);
    printf("S: a8 OK [READ-WRITE] SELECT completed\n");
    EXPECT(st.uidvalidity == uidvalidity);
    select_modseq = st.highestmodseq;
}

/* Step 7: FETCH. */
struct fetch_ctx { int n; };
static int fetch_one(const ls_record *r, const ls_cached *c, void *arg)
{
    struct fetch_ctx *x = arg;
    char flags[512], date[40];
    format_flags(inbox, r, flags, sizeof flags);
    ls_date_format_imap(&r->internaldate, date, sizeof date);
    /* c->envelope points into the store's memory: valid only during this
     * callback, not NUL-terminated. Copy it if you need it later. */
    printf("S: * %u FETCH (UID %u FLAGS (%s) INTERNALDATE \"%s\" RFC822.SIZE %" PRIu64 " MODSEQ (%" PRIu64
           ") ENVELOPE %.*s)\n",
           seq_of(&seq, r->uid), r->uid, flags, date, r->size, r->modseq, (int)c->envelope_len, c->envelope);
    if (!c->envelope_len)
        return LS_ECORRUPT;    /* a non-zero return stops and is returned */
    x->n++;
    return 0;
}

static void step_fetch(void)
{
    printf("\n--- 7. FETCH\n");
    printf("C: a9 FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ ENVELOPE)\n");
    /* The client sent a sequence set: translate it with the session's map. */
    ls_set seqs, all;
    CALL(ls_set_parse("1:*", &seqs));          /* '*' is UINT32_MAX */
    CALL(ls_set_seq_to_uid(&seqs, seq.uid, seq.n, &all));
    EXPECT(all.n == 1 && all.r[0].lo == 1 && all.r[0].hi == 4);
    struct fetch_ctx x = { 0 };
    CALL(ls_message_foreach(inbox, &all, LS_MESSAGE_FETCH_CACHE, fetch_one, &x));
    EXPECT(x.n == 4);
    ls_set_dispose(&seqs);
    ls_set_dispose(&all);

    /* BODYSTRUCTURE comes from the cache record, never from the file. */
    char *bs, *part;
    size_t bslen, len;
    CALL(ls_message_cached(inbox, 3, "bodystructure", &bs, &bslen));
    printf("C: a10 UID FETCH 3 (BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[2.MIME] "
           "BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<0.16>)\n");
    printf("S: * 3 FETCH (UID 3 BODYSTRUCTURE %s", bs);
    EXPECT(strstr(bs, "\"image\" \"png\"") != NULL);
    ls_free(bs);

    CALL(ls_message_fetch(inbox, 3, "1", 0, UINT64_MAX, &part, &len));
    EXPECT(len == strlen("Here is the diagram we discussed.") &&
           !memcmp(part, "Here is the diagram we discussed.", len));
    printf(" BODY[1] {%zu}\r\n%s", len, part);
    ls_free(part);

    CALL(ls_message_fetch(inbox, 3, "2.MIME", 0, UINT64_MAX, &part, &len));
    EXPECT(!strncmp(part, "Content-Type: image/png", 23));
    printf(" BODY[2.MIME] {%zu}\r\n%s", len, part);
    ls_free(part);

    CALL(ls_message_fetch(inbox, 3, "HEADER.FIELDS (Subject)", 0, UINT64_MAX, &part, &len));
    EXPECT(!strcmp(part, "Subject: Diagram attached\r\n\r\n"));
    printf(" BODY[HEADER.FIELDS (Subject)] {%zu}\r\n%s", len, part);
    ls_free(part);

    CALL(ls_message_fetch(inbox, 3, "TEXT", 0, 16, &part, &len));   /* <0.16> */
    EXPECT(len == 16 && !memcmp(part, "--XYZ\r\nContent-T", 16));
    printf(" BODY[TEXT]<0> {%zu}\r\n%.*s)\n", len, (int)len, part);
    ls_free(part);

    /* BODY[] (not PEEK): the bytes, then the server sets \Seen itself. */
    printf("C: a11 UID FETCH 1 BODY[]\n");
    CALL(ls_message_fetch(inbox, 1, "", 0, UINT64_MAX, &part, &len));
    EXPECT(len == strlen(MSG1) && !memcmp(part, MSG1, len));
    ls_free(part);
    ONE_UID(one, r1, 1);
    CALL(store_flags(inbox, &one, LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN, 0, NULL));
    ls_record rec;
    CALL(ls_message_get(inbox, 1, &rec));
    EXPECT(rec.flags & LS_FLAG_SEEN);
    printf("S: * 1 FETCH (UID 1 BODY[] {%zu} ... FLAGS (\\Seen) MODSEQ (%" PRIu64 "))\n", len, rec.modseq);

    /* The bare-LF message was stored with CRLF: one more byte per line. */
    CALL(ls_message_get(inbox, 2, &rec));
    EXPECT(rec.size == strlen(MSG2) + 6);
    CALL(ls_message_fetch(inbox, 2, "", 0, UINT64_MAX, &part, &len));
    EXPECT(len == rec.size && strstr(part, "Subject: Lunch on Friday?\r\n") != NULL);
    ls_free(part);

    /* Paths, for the file-per-message layout (as Cyrus mbpath). */
    char *path;
    CALL(ls_message_path(inbox, 1, &path));
    EXPECT(access(path, R_OK) == 0);
    ls_free(path);
}

/* Step 8: STORE with UNCHANGEDSINCE. */
static void step_store(void)
{
    printf("\n--- 8. STORE (CONDSTORE)\n");
    ls_record rec;
    CALL(ls_message_get(inbox, 3, &rec));
    uint64_t seen_modseq = rec.modseq;     /* what the client last saw */
    ONE_UID(three, r3, 3);
    printf("C: a12 UID STORE 3 (UNCHANGEDSINCE %" PRIu64 ") +FLAGS (\\Flagged)\n", seen_modseq);
    CALL(store_flags(inbox, &three, LS_MESSAGE_STORE_ADD, LS_FLAG_FLAGGED, seen_modseq, NULL));
    CALL(ls_message_get(inbox, 3, &rec));
    EXPECT((rec.flags & LS_FLAG_FLAGGED) && rec.modseq > seen_modseq);
    printf("S: * 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (%" PRIu64 "))\nS: a12 OK\n", rec.modseq);

    /* The same command again, with the now stale MODSEQ: refused for UID 3. */
    printf("C: a13 UID STORE 3 (UNCHANGEDSINCE %" PRIu64 ") +FLAGS (\\Answered)\n", seen_modseq);
    ls_set modified;
    int rc = store_flags(inbox, &three, LS_MESSAGE_STORE_ADD, LS_FLAG_ANSWERED, seen_modseq, &modified);
    EXPECT(rc == LS_EMODIFIED && modified.n == 1 && ls_set_contains(&modified, 3));
    char *text = ls_set_format(&modified);
    printf("S: a13 OK [MODIFIED %s] Conditional STORE failed\n", text);
    ls_free(text);
    ls_set_dispose(&modified);
    CALL(ls_message_get(inbox, 3, &rec));
    EXPECT(!(rec.flags & LS_FLAG_ANSWERED));
}

/* Step 9: SEARCH. */
static void search_expect(const char *const *argv, int argc, const uint32_t *want, size_t nwant)
{
    uint32_t *uids;
    size_t n;
    CALL(ls_message_search(inbox, argc, argv, &uids, &n));
    printf("C: UID SEARCH");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\nS: * SEARCH");
    for (size_t i = 0; i < n; i++)
        printf(" %u", uids[i]);
    printf("\n");
    EXPECT(n == nwant && (n == 0 || !memcmp(uids, want, n * sizeof *uids)));
    ls_free(uids);
}

static void step_search(void)
{
    printf("\n--- 9. SEARCH\n");
    /* Criteria are IMAP tokens, as the parser of a server splits them. */
    const char *unseen[] = { "UNSEEN" };
    search_expect(unseen, 1, (uint32_t[]){ 3, 4 }, 2);
    const char *from[] = { "FROM", "fred" };
    search_expect(from, 2, (uint32_t[]){ 1 }, 1);
    const char *kw[] = { "KEYWORD", "$Important" };
    search_expect(kw, 2, (uint32_t[]){ 2 }, 1);
    const char *orq[] = { "OR", "FLAGGED", "SUBJECT", "lunch" };
    search_expect(orq, 4, (uint32_t[]){ 2, 3 }, 2);
    const char *body[] = { "BODY", "onboarding" };
    search_expect(body, 2, (uint32_t[]){ 4 }, 1);
    const char *since[] = { "SINCE", "1-Jan-2000", "NOT", "DELETED", "LARGER", "300" };
    search_expect(since, 6, (uint32_t[]){ 3 }, 1);
    const char *bad[] = { "FROBNICATE" };
    uint32_t *uids;
    size_t n;
    int rc = ls_message_search(inbox, 1, bad, &uids, &n);
    EXPECT(rc == LS_EINVAL);
    printf("C: UID SEARCH FROBNICATE\nS: BAD %s\n", ls_error_last());
}

/* Step 10: COPY and MOVE. */
static void step_copy_move(void)
{
    printf("\n--- 10. COPY, MOVE\n");
    ls_set set;
    ls_uidmap map;
    CALL(ls_set_parse("1:2", &set));
    printf("C: a14 UID COPY 1:2 INBOX.Work\n");
    CALL(ls_message_copy(inbox, &set, "user.bovik.Work", &map));
    EXPECT(map.n == 2 && map.src[0] == 1 && map.dst[0] == 2 && map.src[1] == 2 && map.dst[1] == 3);
    char *s = uids_to_text(map.src, map.n), *d = uids_to_text(map.dst, map.n);
    printf("S: a14 OK [COPYUID %u %s %s] COPY completed\n", map.uidvalidity, s, d);
    ls_free(s);
    ls_free(d);
    ls_uidmap_dispose(&map);
    ls_set_dispose(&set);

    /* MOVE (RFC 6851): copy + expunge in one transaction. */
    printf("C: a15 UID MOVE 4 INBOX.Work\n");
    ONE_UID(four, r4, 4);
    CALL(ls_message_move(inbox, &four, "user.bovik.Work", &map));
    EXPECT(map.n == 1 && map.src[0] == 4 && map.dst[0] == 4);
    printf("S: * OK [COPYUID %u 4 %u]\n", map.uidvalidity, map.dst[0]);
    send_expunges(&seq, &four);
    printf("S: a15 OK MOVE completed\n");
    ls_uidmap_dispose(&map);
    EXPECT(seq.n == 3);

    /* The content is shared on disk: one file, two names. */
    ls_mailbox *work;
    char *p1, *p2;
    struct stat s1, s2;
    CALL(ls_mailbox_open(bovik, "user.bovik.Work", LS_MAILBOX_OPEN_RDONLY, &work));   /* EXAMINE */
    CALL(ls_message_path(inbox, 1, &p1));
    CALL(ls_message_path(work, 2, &p2));
    EXPECT(stat(p1, &s1) == 0 && stat(p2, &s2) == 0 && s1.st_ino == s2.st_ino);
    ls_free(p1);
    ls_free(p2);
    /* A handle opened read-only refuses writes. */
    int rc = ls_message_append(work, MSG1, strlen(MSG1), NULL, NULL);
    EXPECT(rc == LS_EPERM);
    ls_mailbox_close(work);
}

/* Step 11: EXPUNGE. */
static void step_expunge(void)
{
    printf("\n--- 11. EXPUNGE\n");
    ONE_UID(two, r2, 2);
    CALL(store_flags(inbox, &two, LS_MESSAGE_STORE_ADD, LS_FLAG_DELETED, 0, NULL));
    printf("C: a16 EXPUNGE\n");
    ls_set gone;
    CALL(ls_message_expunge(inbox, NULL, &gone));   /* NULL: every \Deleted message */
    EXPECT(gone.n == 1 && ls_set_contains(&gone, 2));
    send_expunges(&seq, &gone);
    printf("S: a16 OK EXPUNGE completed\n");
    ls_set_dispose(&gone);
    EXPECT(seq.n == 2 && seq.uid[0] == 1 && seq.uid[1] == 3);
    /* an expunged UID is gone for every call */
    ls_record rec;
    EXPECT(ls_message_get(inbox, 2, &rec) == LS_ENOTFOUND);
}

/* Step 12: STATUS. */
static void step_status(void)
{
    printf("\n--- 12. STATUS\n");
    ls_status st;
    CALL(ls_mailbox_status(bovik, "user.bovik.Work", &st));
    /* Work holds MSG5 (delivered), copies of 1 (\Seen) and 2 (\Seen), and 4 (moved) */
    EXPECT(st.messages == 4 && st.uidnext == 5 && st.unseen == 2);
    printf("C: a17 STATUS INBOX.Work (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)\n");
    printf("S: * STATUS INBOX.Work (MESSAGES %u UIDNEXT %u UIDVALIDITY %u UNSEEN %u HIGHESTMODSEQ %" PRIu64
           " SIZE %" PRIu64 ")\n",
           st.messages, st.uidnext, st.uidvalidity, st.unseen, st.highestmodseq, st.size);
    ls_mailbox_info info;
    CALL(ls_mailbox_get_info(bovik, "user.bovik.Work", &info));
    EXPECT(info.uidvalidity == st.uidvalidity && !strcmp(info.partition, "default") && strlen(info.uniqueid) == 36);
}

/* Step 13: sharing (ACL), quota, subscriptions. */
struct acl_ctx { int n; int fred; };
static int acl_one(const char *id, const char *rights, void *arg)
{
    struct acl_ctx *c = arg;
    printf("  %s %s", id, rights);
    c->n++;
    if (!strcmp(id, "fred") && !strcmp(rights, "lr"))
        c->fred = 1;
    return 0;
}

static int count_names(const char *name, unsigned attrs, void *arg)
{
    (void)name;
    (void)attrs;
    (*(int *)arg)++;
    return 0;
}

static void step_acl_quota_subs(void)
{
    printf("\n--- 13. ACL, quota, subscriptions\n");
    /* C: a20 SETACL INBOX.Work fred lr  (bovik shares a folder with fred) */
    CALL(ls_acl_set(bovik, "user.bovik.Work", "fred", "lr"));
    struct acl_ctx ac = { 0 };
    printf("S: * ACL INBOX.Work");
    CALL(ls_acl_get(bovik, "user.bovik.Work", acl_one, &ac));
    printf("\n");
    EXPECT(ac.fred && ac.n == 2);           /* bovik's own entry and fred's */

    ls_session *fred;
    CALL(ls_session_new(store, "fred", &fred));
    char rights[13];
    CALL(ls_acl_myrights(fred, "user.bovik.Work", rights));
    EXPECT(!strcmp(rights, "lr"));
    printf("fred: * MYRIGHTS user.bovik.Work %s\n", rights);
    ls_mailbox *shared;
    CALL(ls_mailbox_open(fred, "user.bovik.Work", LS_MAILBOX_OPEN_RDWR, &shared));
    ls_status st;
    CALL(ls_mailbox_status_open(shared, &st));
    EXPECT(st.messages == 4);
    /* fred may read but not set flags: `s` is missing */
    ls_set all;
    CALL(ls_set_parse("1:*", &all));
    int rc = store_flags(shared, &all, LS_MESSAGE_STORE_ADD, LS_FLAG_SEEN, 0, NULL);
    EXPECT(rc == LS_EPERM);
    printf("fred: STORE +FLAGS (\\Seen): %s: %s\n", ls_error_string(rc), ls_error_last());
    ls_set_dispose(&all);
    ls_mailbox_close(shared);
    /* DELETEACL: the folder vanishes for fred (not "permission denied") */
    CALL(ls_acl_delete(bovik, "user.bovik.Work", "fred"));
    rc = ls_mailbox_open(fred, "user.bovik.Work", LS_MAILBOX_OPEN_RDONLY, &shared);
    EXPECT(rc == LS_ENOTFOUND);

    /* Quota (administrators set it): 1 KiB of STORAGE on bovik's account,
     * which already holds more, so the next append is refused. */
    int64_t limits[LS_QUOTA_NRESOURCES] = { 1, LS_QUOTA_UNLIMITED, LS_QUOTA_UNLIMITED };
    CALL(ls_quota_set(admin, "user.bovik", limits));
    char *root;
    CALL(ls_quota_root_of(bovik, "user.bovik.Work", &root));
    EXPECT(!strcmp(root, "user.bovik"));
    ls_quota q;
    CALL(ls_quota_get(bovik, root, &q));
    printf("S: * QUOTAROOT INBOX.Work INBOX\nS: * QUOTA INBOX (STORAGE %" PRIu64 " %" PRId64 " MESSAGE %" PRIu64
           ")\n", (q.usage[LS_QUOTA_STORAGE] + 1023) / 1024, q.limit[LS_QUOTA_STORAGE], q.usage[LS_QUOTA_MESSAGE]);
    EXPECT(q.usage[LS_QUOTA_MESSAGE] == 6 && q.usage[LS_QUOTA_MAILBOX] == 3 && q.usage[LS_QUOTA_STORAGE] > 1024);
    ls_free(root);
    rc = ls_message_append(inbox, MSG5, strlen(MSG5), NULL, NULL);
    EXPECT(rc == LS_EOVERQUOTA);
    printf("S: a21 NO [OVERQUOTA] %s\n", ls_error_last());
    EXPECT(ls_quota_set(bovik, "user.bovik", limits) == LS_EPERM);   /* users cannot */
    CALL(ls_quota_remove(admin, "user.bovik"));

    /* Subscriptions: per user, any name (even one that does not exist). */
    CALL(ls_subs_add(bovik, "bovik", "user.bovik.Work"));
    CALL(ls_subs_add(bovik, "bovik", "user.bovik.Gone"));
    EXPECT(ls_subs_add(bovik, "fred", "user.fred") == LS_EPERM);
    int n = 0;
    CALL(ls_subs_list(bovik, "bovik", NULL, count_names, &n));
    EXPECT(n == 2);
    CALL(ls_subs_remove(bovik, "bovik", "user.bovik.Gone"));
    n = 0;
    CALL(ls_subs_list(bovik, "bovik", "user.bovik.*", count_names, &n));
    EXPECT(n == 1);
    ls_session_free(fred);
}

/* Step 14: QRESYNC - what changed since the MODSEQ seen at SELECT. */
struct changes { uint32_t changed[8], vanished[8]; size_t nc, nv; };
static int on_change(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
    struct changes *c = arg;
    (void)modseq;
    if (expunged && c->nv < 8)
        c->vanished[c->nv++] = uid;
    else if (!expunged && c->nc < 8)
        c->changed[c->nc++] = uid;
    return 0;
}

static void step_changes(void)
{
    printf("\n--- 14. changes since MODSEQ %" PRIu64 " (QRESYNC)\n", select_modseq);
    printf("C: a18 SELECT INBOX (QRESYNC (%u %" PRIu64 "))\n", uidvalidity, select_modseq);
    struct changes c = { 0 };
    CALL(ls_message_changes(inbox, select_modseq, on_change, &c));
    /* 1 got \Seen, 3 got \Flagged; 2 was expunged, 4 moved away */
    EXPECT(c.nc == 2 && c.changed[0] == 1 && c.changed[1] == 3);
    EXPECT(c.nv == 2 && c.vanished[0] == 2 && c.vanished[1] == 4);
    char *v = uids_to_text(c.vanished, c.nv);
    printf("S: * VANISHED (EARLIER) %s\n", v);
    ls_free(v);
    ls_set set;
    char *t = uids_to_text(c.changed, c.nc);
    CALL(ls_set_parse(t, &set));
    ls_free(t);
    struct fetch_ctx x = { 0 };
    CALL(ls_message_foreach(inbox, &set, LS_MESSAGE_FETCH_CACHE, fetch_one, &x));
    EXPECT(x.n == 2);
    ls_set_dispose(&set);
}

/* Step 15: IDLE. Another connection (here: a thread with its own session)
 * delivers while we wait. */
static void *other_connection(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 200 * 1000000L };
    nanosleep(&ts, NULL);
    ls_session *lmtp;
    if (ls_session_new(store, NULL, &lmtp) != LS_OK)   /* sessions are per thread */
        return (void *)1;
    const char *rcpt[] = { "bovik" };
    ls_deliver_result res[1];
    int rc = ls_message_deliver(lmtp, MSG5, strlen(MSG5), rcpt, 1, NULL, NULL, res);
    ls_session_free(lmtp);
    return rc == LS_OK ? NULL : (void *)1;
}

static void step_idle(void)
{
    printf("\n--- 15. IDLE\n");
    ls_status st;
    CALL(ls_mailbox_status_open(inbox, &st));
    int changed = -1;
    /* nothing happens: times out */
    CALL(ls_mailbox_wait(inbox, st.highestmodseq, 50, &changed));
    EXPECT(changed == 0);

    printf("C: a19 IDLE\nS: + idling\n");
    pthread_t th;
    EXPECT(pthread_create(&th, NULL, other_connection, NULL) == 0);
    /* Blocks without polling the disk until HIGHESTMODSEQ passes the value
     * given, or the timeout (here 10 s; -1 waits forever). */
    CALL(ls_mailbox_wait(inbox, st.highestmodseq, 10000, &changed));
    void *thr;
    pthread_join(th, &thr);
    EXPECT(thr == NULL && changed == 1);
    /* Find out what changed and tell the client. */
    struct changes c = { 0 };
    CALL(ls_message_changes(inbox, st.highestmodseq, on_change, &c));
    EXPECT(c.nc == 1 && c.changed[0] == 5 && c.nv == 0);
    ls_free(seq.uid);
    CALL(ls_message_uids(inbox, &seq.uid, &seq.n));
    printf("S: * %zu EXISTS\nC: DONE\nS: a19 OK IDLE terminated\n", seq.n);
    EXPECT(seq.n == 3);
}

/* Step 16: errors. */
static void step_errors(void)
{
    printf("\n--- 16. errors\n");
    ls_mailbox *mb;
    /* A mailbox the user may not see does not exist for them. */
    int rc = ls_mailbox_open(bovik, "user.fred", LS_MAILBOX_OPEN_RDWR, &mb);
    EXPECT(rc == LS_ENOTFOUND && mb == NULL);
    printf("SELECT user.fred as bovik: %s: %s\n", ls_error_string(rc), ls_error_last());
    /* A level between mailboxes is \Noselect. */
    rc = ls_mailbox_open(admin, "user", LS_MAILBOX_OPEN_RDONLY, &mb);
    EXPECT(rc == LS_ENOSELECT);
    printf("SELECT user (admin): %s: %s\n", ls_error_string(rc), ls_error_last());
    /* Malformed input: LS_EINVAL with a message naming the problem. */
    ls_set set;
    rc = ls_set_parse("0:3", &set);
    EXPECT(rc == LS_EINVAL && ls_error_last_code() == LS_EINVAL);
    printf("UID set '0:3': %s: %s\n", ls_error_string(rc), ls_error_last());
    char *out;
    size_t len;
    rc = ls_message_fetch(inbox, 3, "7", 0, UINT64_MAX, &out, &len);
    EXPECT(rc == LS_ENOTFOUND);
    printf("BODY[7] of UID 3: %s: %s\n", ls_error_string(rc), ls_error_last());
    rc = ls_message_fetch(inbox, 3, "1.X.Y", 0, UINT64_MAX, &out, &len);
    EXPECT(rc == LS_EINVAL);
    printf("BODY[1.X.Y] of UID 3: %s: %s\n", ls_error_string(rc), ls_error_last());
    /* maxmessagesize (1 MiB in this store.conf) */
    size_t big = 2u << 20;
    char *huge = malloc(big);
    EXPECT(huge != NULL);
    memset(huge, 'a', big);
    memcpy(huge, "Subject: big\r\n\r\n", 16);
    rc = ls_message_append(inbox, huge, big, NULL, NULL);
    free(huge);
    EXPECT(rc == LS_ETOOBIG);
    printf("APPEND of 2 MiB: %s: %s\n", ls_error_string(rc), ls_error_last());
    /* The last error stays until the next failing call; clear it at will. */
    ls_error_clear();
    EXPECT(ls_error_last()[0] == 0 && ls_error_last_code() == LS_OK);
    EXPECT(!strcmp(ls_error_string(LS_EOVERQUOTA), "over quota"));
}

/* Step 17: check, cleanup, close. */
static void on_finding(enum ls_store_check_severity severity, const char *message, void *arg)
{
    (void)arg;
    printf("check: %s: %s\n", severity == LS_STORE_CHECK_ERROR ? "error" : "notice", message);
}

static void step_close(void)
{
    printf("\n--- 17. check, cleanup, close\n");
    ls_mailbox_close(inbox);           /* handles first, */
    ls_free(seq.uid);
    uint64_t nerrors = 1, removed = 0;
    CALL(ls_store_check(store, on_finding, NULL, &nerrors));
    EXPECT(nerrors == 0);
    /* The expunged file (UID 2) and the moved one (UID 4) go now. */
    CALL(ls_store_cleanup(store, -1, &removed));
    EXPECT(removed == 2);
    printf("check: 0 errors; cleanup removed %" PRIu64 " files\n", removed);
    ls_session_free(bovik);            /* then sessions, */
    ls_session_free(admin);
    ls_store_close(store);             /* then the store */
}

int main(int argc, char **argv)
{
    int keep = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr, "usage: mini_server [--keep] [DIR]\n");
            return 2;
        }
    }
    if (dir) {
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            perror(dir);
            return 1;
        }
        EXPECT(realpath(dir, workdir) != NULL);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(workdir, sizeof workdir, "%s/mini_server.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        EXPECT(mkdtemp(workdir) != NULL);
    }
    write_config();

    step_open();
    step_names();
    step_append();
    step_deliver();
    step_list();
    step_select();
    step_fetch();
    step_store();
    step_search();
    step_copy_move();
    step_expunge();
    step_status();
    step_acl_quota_subs();
    step_changes();
    step_idle();
    step_errors();
    step_close();

    if (!keep)
        nftw(workdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("store kept in %s\n", workdir);
    printf("\nmini_server: all steps passed\n");
    return 0;
}

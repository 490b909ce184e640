/*
 * damage - break a libstore store on purpose, for the repair catalogue
 * (tests/repair/test_repair.py). A test tool only: it is linked with
 * libstore_internal and writes LMDB records behind the library's back.
 *
 *   damage -C CONF COMMAND ARGS...
 *
 * Records (MAILBOX is an internal name, UID a number):
 *   rec-del MAILBOX UID              delete the index record (the cache record stays)
 *   rec-corrupt MAILBOX UID          flip one byte of the index record (CRC mismatch)
 *   rec-set MAILBOX UID FIELD VALUE  set a field, with a valid CRC
 *                                    (FIELD: size modseq flags internaldate)
 *   cache-corrupt MAILBOX UID        flip one byte in the middle of the cache record
 *   cache-del MAILBOX UID            delete the cache record
 *   state-set MAILBOX FIELD VALUE    set a field of the mailbox state, with a valid CRC
 *                                    (uidnext exists unseen deleted flagged answered
 *                                     size highestmodseq recent recentuid)
 *   state-get MAILBOX                print the mailbox state, 'FIELD VALUE' lines
 *   keywords-del MAILBOX             delete the mailbox's keyword names
 *   mbox-forget MAILBOX              remove the mailbox from the list: entry, byuuid,
 *                                    state, records, cache, keywords, GUID-table values
 *                                    (its directory and files stay)
 *   mbox-corrupt MAILBOX             flip one byte of the mailbox entry (CRC mismatch)
 *   guid-add MAILBOX UID FAKEUID     add a GUID-table value naming (MAILBOX, FAKEUID) under
 *                                    the key of record UID (an entry for a missing file)
 *   guid-del MAILBOX UID             delete the GUID-table value of record UID
 *   quota-set ROOT RESOURCE USAGE    set a root's usage (STORAGE in bytes), valid CRC
 *   quota-corrupt ROOT               flip one byte of the root's record (CRC mismatch)
 *   quota-add ROOT                   add a root record (no limits, usage 0) for ROOT,
 *                                    whether or not a mailbox ROOT exists
 *   seen-del MAILBOX USER            delete USER's private seen state of MAILBOX
 *   seen-orphan USER                 add private seen state of USER for a unique id
 *                                    that names no mailbox; prints the unique id
 *   dump TABLE                       print every key of TABLE (seen subs quota guids
 *                                    pending annotations byuuid mailboxes) as hex,
 *                                    one a line, with the value's size
 *   hold SECONDS                     open a read snapshot, print "ready", sleep
 *                                    (keeps cleanup and delete from removing files)
 *   crash before|after N OP ARGS     run OP through the public API and _exit(99)
 *                                    just before / after the Nth write commit:
 *                                    OP = rename OLD NEW | delete MAILBOX |
 *                                         deliver USER... (message on stdin) |
 *                                         expunge MAILBOX
 *
 * Exit status: 0 done, 1 failure, 2 usage; 99 from a simulated crash.
 */
#include "store_impl.h"
#include "model/quota.h"
#include "model/records.h"
#include "model/seen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

static const char *prog = "damage";

static int die(const char *what, int rc)
{
    const char *m = ls_error_last();
    fprintf(stderr, "%s: %s: %s\n", prog, what, m && *m ? m : ls_error_string(rc));
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: damage -C CONF COMMAND ARGS... (see the comment at the top of damage.c)\n");
    return 2;
}

static uint64_t num(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || !*s || *end) {
        fprintf(stderr, "%s: '%s' is not a number\n", prog, s);
        exit(2);
    }
    return v;
}

/* ------------------------------------------------------------------------ */
/* Crash injection: wrap mdb_txn_begin/commit (linked with --wrap)          */
/* ------------------------------------------------------------------------ */

int __real_mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn);
int __real_mdb_txn_commit(MDB_txn *txn);

static int crash_mode;      /* 0 none, 1 before, 2 after */
static long crash_n;
static long commits;
static MDB_txn *write_txns[64];

int __wrap_mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn)
{
    int rc = __real_mdb_txn_begin(env, parent, flags, txn);
    if (rc == 0 && !(flags & MDB_RDONLY) && !parent)
        for (int i = 0; i < 64; i++)
            if (!write_txns[i]) { write_txns[i] = *txn; break; }
    return rc;
}

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
    int w = 0;
    for (int i = 0; i < 64; i++)
        if (write_txns[i] == txn) { write_txns[i] = NULL; w = 1; break; }
    if (w && crash_mode) {
        commits++;
        if (crash_mode == 1 && commits == crash_n) {
            fprintf(stderr, "%s: crash before write commit %ld\n", prog, commits);
            _exit(99);
        }
        int rc = __real_mdb_txn_commit(txn);
        if (crash_mode == 2 && commits == crash_n) {
            fprintf(stderr, "%s: crash after write commit %ld (rc %d)\n", prog, commits, rc);
            _exit(99);
        }
        return rc;
    }
    return __real_mdb_txn_commit(txn);
}

/* ------------------------------------------------------------------------ */
/* Write transactions                                                       */
/* ------------------------------------------------------------------------ */

typedef struct job {
    ls_store *st;
    int argc;
    char **argv;
    const char *cmd;
    char out[256];
} job;

static int load(ls_txn *t, const char *name, ls_mbox *m)
{
    return ls__mbox_load(t, name, m);
}

static int flip_byte(ls_txn *t, int db, const void *key, size_t klen, size_t at_frac_num, size_t at_frac_den)
{
    MDB_val v;
    int rc = ls__db_get(t, db, key, klen, &v);
    if (rc)
        return rc;
    uint8_t *buf = malloc(v.mv_size ? v.mv_size : 1);
    if (!buf)
        return LS_ENOMEM;
    memcpy(buf, v.mv_data, v.mv_size);
    size_t at = v.mv_size * at_frac_num / at_frac_den;
    if (at >= v.mv_size)
        at = v.mv_size - 1;
    buf[at] ^= 0x5a;
    rc = ls__db_put(t, db, key, klen, buf, v.mv_size, 0);
    free(buf);
    return rc;
}

static int set_irec_field(ls_irec *r, const char *f, uint64_t v)
{
    if (!strcmp(f, "size")) r->size = v;
    else if (!strcmp(f, "modseq")) r->modseq = v;
    else if (!strcmp(f, "flags")) r->sysflags = (uint8_t)v;
    else if (!strcmp(f, "internaldate")) r->internaldate = (int64_t)v;
    else return ls__err(LS_EINVAL, "unknown record field '%s'", f);
    return LS_OK;
}

static int set_state_field(ls_mbstate *s, const char *f, uint64_t v)
{
    if (!strcmp(f, "uidnext")) s->uidnext = (uint32_t)v;
    else if (!strcmp(f, "exists")) s->exists = (uint32_t)v;
    else if (!strcmp(f, "unseen")) s->unseen = (uint32_t)v;
    else if (!strcmp(f, "deleted")) s->deleted = (uint32_t)v;
    else if (!strcmp(f, "flagged")) s->flagged = (uint32_t)v;
    else if (!strcmp(f, "answered")) s->answered = (uint32_t)v;
    else if (!strcmp(f, "size")) s->size = v;
    else if (!strcmp(f, "highestmodseq")) s->highestmodseq = v;
    else if (!strcmp(f, "recent")) s->recent = (uint32_t)v;
    else if (!strcmp(f, "recentuid")) s->recentuid = (uint32_t)v;
    else return ls__err(LS_EINVAL, "unknown state field '%s'", f);
    return LS_OK;
}

/* Delete every key of db that starts with prefix. */
static int del_prefix(ls_txn *t, int db, const void *prefix, size_t plen)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, db, &c);
    if (rc)
        return rc;
    MDB_val k = { plen, (void *)prefix }, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen)) {
        if ((mrc = mdb_cursor_del(c, MDB_NODUPDATA)) != 0)
            break;
        mrc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
        if (mrc == 0 && !(k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen)))
            break;
        if (mrc != 0)
            mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    ls__db_cursor_close(c);
    return mrc == 0 || mrc == MDB_NOTFOUND ? LS_OK : ls__txn_fail(t, mrc, "delete");
}

/* Delete every GUID-table value that names a record of uuid. */
static int del_guid_values(ls_txn *t, const uint8_t uuid[LS_UUID_LEN])
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_GUIDS, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        if (v.mv_size == LS_RECKEY_LEN && !memcmp(v.mv_data, uuid, LS_UUID_LEN)) {
            if ((mrc = mdb_cursor_del(c, 0)) != 0)
                break;
            mrc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
            if (mrc == 0)
                continue;
            mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            if (mrc == MDB_NOTFOUND)
                break;
            continue;
        }
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    ls__db_cursor_close(c);
    return mrc == 0 || mrc == MDB_NOTFOUND ? LS_OK : ls__txn_fail(t, mrc, "guid delete");
}

static size_t guid_key(uint8_t *key, const char *partition, const ls_irec *r)
{
    size_t p = strlen(partition);
    memcpy(key, partition, p);
    key[p] = 0;
    memcpy(key + p + 1, r->guid, LS_GUID_LEN);
    ls__be64(key + p + 1 + LS_GUID_LEN, (uint64_t)r->internaldate);
    return p + 1 + LS_GUID_LEN + 8;
}

static int run_txn(ls_txn *t, void *arg)
{
    job *j = arg;
    const char *cmd = j->cmd;
    char **a = j->argv;
    ls_mbox m;
    memset(&m, 0, sizeof m);
    int rc = LS_OK;
    uint8_t key[LS_RECKEY_LEN];
    j->out[0] = 0;

    if (!strcmp(cmd, "rec-del") || !strcmp(cmd, "rec-corrupt") || !strcmp(cmd, "rec-set") ||
        !strcmp(cmd, "cache-corrupt") || !strcmp(cmd, "cache-del") || !strcmp(cmd, "guid-add") ||
        !strcmp(cmd, "guid-del")) {
        if ((rc = load(t, a[0], &m)))
            return rc;
        uint32_t uid = (uint32_t)num(a[1]);
        ls__reckey(key, m.entry.uuid, uid);
        if (!strcmp(cmd, "rec-del")) {
            MDB_val v;
            if ((rc = ls__db_get(t, LS_DB_RECORDS, key, sizeof key, &v)) == LS_OK)
                rc = ls__db_del(t, LS_DB_RECORDS, key, sizeof key, NULL, 0);
        } else if (!strcmp(cmd, "rec-corrupt")) {
            rc = flip_byte(t, LS_DB_RECORDS, key, sizeof key, 5, 112); /* the sysflags byte */
        } else if (!strcmp(cmd, "rec-set")) {
            ls_irec r;
            if (!(rc = ls__rec_get(t, m.entry.uuid, uid, &r)) && !(rc = set_irec_field(&r, a[2], num(a[3]))))
                rc = ls__rec_put(t, m.entry.uuid, &r);
        } else if (!strcmp(cmd, "cache-corrupt")) {
            rc = flip_byte(t, LS_DB_CACHE, key, sizeof key, 1, 2);
        } else if (!strcmp(cmd, "cache-del")) {
            MDB_val v;
            if ((rc = ls__db_get(t, LS_DB_CACHE, key, sizeof key, &v)) == LS_OK)
                rc = ls__db_del(t, LS_DB_CACHE, key, sizeof key, NULL, 0);
        } else {
            ls_irec r;
            uint8_t gk[128], val[LS_RECKEY_LEN];
            if ((rc = ls__rec_get(t, m.entry.uuid, uid, &r)))
                goto out;
            size_t gl = guid_key(gk, m.entry.partition, &r);
            if (!strcmp(cmd, "guid-add")) {
                ls__reckey(val, m.entry.uuid, (uint32_t)num(a[2]));
                rc = ls__db_put(t, LS_DB_GUIDS, gk, gl, val, sizeof val, 0);
            } else {
                ls__reckey(val, m.entry.uuid, uid);
                rc = ls__db_del(t, LS_DB_GUIDS, gk, gl, val, sizeof val);
            }
        }
    } else if (!strcmp(cmd, "state-set")) {
        if ((rc = load(t, a[0], &m)))
            return rc;
        ls_mbstate s = m.state;
        if (!(rc = set_state_field(&s, a[1], num(a[2]))))
            rc = ls__mbstate_put(t, m.entry.uuid, &s);
    } else if (!strcmp(cmd, "keywords-del")) {
        if ((rc = load(t, a[0], &m)))
            return rc;
        rc = ls__db_del(t, LS_DB_KEYWORDS, m.entry.uuid, LS_UUID_LEN, NULL, 0);
    } else if (!strcmp(cmd, "mbox-forget")) {
        if ((rc = load(t, a[0], &m)))
            return rc;
        if (!(rc = ls__db_del(t, LS_DB_MAILBOXES, a[0], strlen(a[0]), NULL, 0)) &&
            !(rc = ls__db_del(t, LS_DB_BYUUID, m.entry.uuid, LS_UUID_LEN, NULL, 0)) &&
            !(rc = ls__db_del(t, LS_DB_MBSTATE, m.entry.uuid, LS_UUID_LEN, NULL, 0)) &&
            !(rc = ls__db_del(t, LS_DB_KEYWORDS, m.entry.uuid, LS_UUID_LEN, NULL, 0)) &&
            !(rc = del_prefix(t, LS_DB_RECORDS, m.entry.uuid, LS_UUID_LEN)) &&
            !(rc = del_prefix(t, LS_DB_CACHE, m.entry.uuid, LS_UUID_LEN)))
            rc = del_guid_values(t, m.entry.uuid);
    } else if (!strcmp(cmd, "mbox-corrupt")) {
        rc = flip_byte(t, LS_DB_MAILBOXES, a[0], strlen(a[0]), 1, 2);
    } else if (!strcmp(cmd, "quota-set")) {
        MDB_val v;
        ls_qrec q;
        int res = ls_quota_resource_parse(a[1]);
        if (res < 0)
            return ls__err(LS_EINVAL, "unknown resource '%s'", a[1]);
        if ((rc = ls__db_get(t, LS_DB_QUOTA, a[0], strlen(a[0]), &v)) ||
            (rc = ls__qrec_decode(v.mv_data, v.mv_size, &q)))
            return rc;
        q.usage[res] = num(a[2]);
        rc = ls__quota_put(t, a[0], &q);
    } else if (!strcmp(cmd, "quota-corrupt")) {
        rc = flip_byte(t, LS_DB_QUOTA, a[0], strlen(a[0]), 1, 4);
    } else if (!strcmp(cmd, "quota-add")) {
        ls_qrec q;
        memset(&q, 0, sizeof q);
        for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
            q.limit[i] = LS_QUOTA_UNLIMITED;
        q.limit[LS_QUOTA_STORAGE] = 1000;
        rc = ls__quota_put(t, a[0], &q);
    } else if (!strcmp(cmd, "seen-del")) {
        if ((rc = load(t, a[0], &m)))
            return rc;
        size_t ul = strlen(a[1]);
        uint8_t sk[LS_UUID_LEN + 256];
        if (ul > 255)
            return ls__err(LS_EINVAL, "user name too long");
        memcpy(sk, m.entry.uuid, LS_UUID_LEN);
        memcpy(sk + LS_UUID_LEN, a[1], ul);
        MDB_val v;
        if ((rc = ls__db_get(t, LS_DB_SEEN, sk, LS_UUID_LEN + ul, &v)) == LS_OK)
            rc = ls__db_del(t, LS_DB_SEEN, sk, LS_UUID_LEN + ul, NULL, 0);
    } else if (!strcmp(cmd, "seen-orphan")) {
        uuid_t u;
        uuid_generate(u);
        ls_seen sn;
        memset(&sn, 0, sizeof sn);
        ls__seen_put(&sn, 1, 1);
        ls__seen_put(&sn, 2, 1);
        sn.recentuid = 2;
        rc = ls__seen_save(t, u, a[0], &sn);
        ls__seen_free(&sn);
        ls__uuid_format(u, j->out);
    } else {
        return ls__err(LS_EINVAL, "unknown command '%s'", cmd);
    }
out:
    ls__mbox_clear(&m);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Read-only commands                                                       */
/* ------------------------------------------------------------------------ */

static int cmd_dump(ls_store *st, const char *table)
{
    static const struct { const char *name; int db; } tables[] = {
        { "seen", LS_DB_SEEN }, { "subs", LS_DB_SUBS }, { "quota", LS_DB_QUOTA }, { "guids", LS_DB_GUIDS },
        { "pending", LS_DB_PENDING }, { "annotations", LS_DB_ANNOT }, { "byuuid", LS_DB_BYUUID },
        { "mailboxes", LS_DB_MAILBOXES }, { "records", LS_DB_RECORDS }, { "cache", LS_DB_CACHE },
        { "mbstate", LS_DB_MBSTATE }, { "keywords", LS_DB_KEYWORDS },
    };
    int db = -1;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (!strcmp(tables[i].name, table))
            db = tables[i].db;
    if (db < 0)
        return ls__err(LS_EINVAL, "unknown table '%s'", table);
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    MDB_cursor *c;
    if ((rc = ls__db_cursor(&t, db, &c)) == LS_OK) {
        MDB_val k, v;
        for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            for (size_t i = 0; i < k.mv_size; i++)
                printf("%02x", ((const uint8_t *)k.mv_data)[i]);
            printf(" %zu", v.mv_size);
            if (db == LS_DB_GUIDS || db == LS_DB_BYUUID) {
                putchar(' ');
                for (size_t i = 0; i < v.mv_size; i++)
                    printf("%02x", ((const uint8_t *)v.mv_data)[i]);
            }
            putchar('\n');
        }
        ls__db_cursor_close(c);
    }
    ls__txn_end(&t);
    return rc;
}

static int cmd_state_get(ls_store *st, const char *name)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, name, &m)) == LS_OK) {
        const ls_mbstate *s = &m.state;
        printf("uidvalidity %u\nuidnext %u\nexists %u\nunseen %u\ndeleted %u\nflagged %u\nanswered %u\n"
               "recentuid %u\nrecent %u\ntombstones %u\nsize %" PRIu64 "\nhighestmodseq %" PRIu64 "\n"
               "uniqueid %s\npartition %s\n",
               s->uidvalidity, s->uidnext, s->exists, s->unseen, s->deleted, s->flagged, s->answered, s->recentuid,
               s->recent, s->tombstones, s->size, s->highestmodseq, m.ref.uuidstr, m.entry.partition);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

static int cmd_hold(ls_store *st, const char *secs)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    printf("ready\n");
    fflush(stdout);
    sleep((unsigned)num(secs));
    ls__txn_end(&t);
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* crash before|after N OP ARGS                                             */
/* ------------------------------------------------------------------------ */

static int read_all(char **buf, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b)
            return LS_ENOMEM;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) { free(b); return LS_ENOMEM; }
            b = nb;
        }
        ssize_t r = read(0, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    *buf = b;
    *len = n;
    return LS_OK;
}

static int cmd_crash(ls_store *st, int argc, char **argv)
{
    if (argc < 3)
        return usage();
    if (!strcmp(argv[0], "before")) crash_mode = 1;
    else if (!strcmp(argv[0], "after")) crash_mode = 2;
    else return usage();
    crash_n = (long)num(argv[1]);
    const char *op = argv[2];
    argv += 3;
    argc -= 3;
    ls_session *s;
    int rc = ls_session_new(st, NULL, &s);
    if (rc)
        return die("session", rc);
    if (!strcmp(op, "rename") && argc == 2) {
        rc = ls_mailbox_rename(s, argv[0], argv[1]);
    } else if (!strcmp(op, "delete") && argc == 1) {
        rc = ls_mailbox_delete(s, argv[0]);
    } else if (!strcmp(op, "expunge") && argc == 1) {
        ls_mailbox *mb;
        if ((rc = ls_mailbox_open(s, argv[0], LS_MAILBOX_OPEN_RDWR, &mb)) == LS_OK) {
            rc = ls_message_expunge(mb, NULL, NULL);
            ls_mailbox_close(mb);
        }
    } else if (!strcmp(op, "deliver") && argc >= 1) {
        char *msg;
        size_t len;
        if ((rc = read_all(&msg, &len)) == LS_OK) {
            ls_deliver_result *res = calloc((size_t)argc, sizeof *res);
            rc = res ? ls_message_deliver(s, msg, len, (const char *const *)argv, (size_t)argc, NULL, NULL, res)
                     : LS_ENOMEM;
            free(res);
            free(msg);
        }
    } else {
        ls_session_free(s);
        return usage();
    }
    ls_session_free(s);
    if (rc)
        return die(op, rc);
    fprintf(stderr, "%s: %s finished without reaching write commit %ld (%ld commits)\n", prog, op, crash_n,
            commits);
    return 3;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "-C")) {
        conf = argv[i + 1];
        i += 2;
    }
    if (i >= argc)
        return usage();
    const char *cmd = argv[i++];
    int nargs = argc - i;
    char **args = argv + i;
    static const struct { const char *name; int nargs; } arity[] = {
        { "rec-del", 2 }, { "rec-corrupt", 2 }, { "rec-set", 4 }, { "cache-corrupt", 2 }, { "cache-del", 2 },
        { "state-set", 3 }, { "state-get", 1 }, { "keywords-del", 1 }, { "mbox-forget", 1 },
        { "mbox-corrupt", 1 }, { "guid-add", 3 }, { "guid-del", 2 }, { "quota-set", 3 }, { "quota-add", 1 }, { "quota-corrupt", 1 },
        { "seen-del", 2 }, { "seen-orphan", 1 }, { "dump", 1 }, { "hold", 1 }, { "crash", -1 },
    };
    int known = 0;
    for (size_t k = 0; k < sizeof arity / sizeof arity[0]; k++)
        if (!strcmp(arity[k].name, cmd)) {
            known = 1;
            if (arity[k].nargs >= 0 && arity[k].nargs != nargs)
                return usage();
        }
    if (!known)
        return usage();

    ls_store *st;
    int rc = ls_store_open(conf, LS_STORE_OPEN_DEFAULT, &st);
    if (rc)
        return die("open", rc);
    int ex = 0;
    if (!strcmp(cmd, "dump")) {
        if ((rc = cmd_dump(st, args[0])))
            ex = die(cmd, rc);
    } else if (!strcmp(cmd, "state-get")) {
        if ((rc = cmd_state_get(st, args[0])))
            ex = die(cmd, rc);
    } else if (!strcmp(cmd, "hold")) {
        if ((rc = cmd_hold(st, args[0])))
            ex = die(cmd, rc);
    } else if (!strcmp(cmd, "crash")) {
        ex = cmd_crash(st, nargs, args);
    } else {
        job j = { st, nargs, args, cmd, { 0 } };
        if ((rc = ls__env_write(st->env, LS_SYNC_ALWAYS, run_txn, &j)))
            ex = die(cmd, rc);
        else if (j.out[0])
            printf("%s\n", j.out);
    }
    ls_store_close(st);
    fflush(stdout);
    return ex;
}

/* The repair entry points on damaged stores: reconstruct (and -m, -n, -G),
 * quota -f, ctl_mboxlist round trip, mbexamine. Each damage is made by hand
 * (files) or through the internal tables, then repaired and verified; a
 * second run must report nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libstore/libstore.h"
#include "libstore/repair.h"
#include "store_impl.h"
#include "model/records.h"

typedef struct fx {
    char dir[128], conf[200];
    ls_store *st;
    ls_session *s;
    char lines[64][512];
    int n;
} fx;

static void collect(const char *line, void *arg)
{
    fx *f = arg;
    if (f->n < 64)
        snprintf(f->lines[f->n], sizeof f->lines[0], "%s", line);
    f->n++;
}

static int has_line(fx *f, const char *needle)
{
    for (int i = 0; i < f->n && i < 64; i++)
        if (strstr(f->lines[i], needle))
            return 1;
    return 0;
}

static void dump_lines(fx *f)
{
    for (int i = 0; i < f->n && i < 64; i++)
        fprintf(stderr, "  | %s\n", f->lines[i]);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/ls-repair-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->conf, sizeof f->conf, "%s/store.conf", f->dir);
    FILE *c = fopen(f->conf, "w");
    fprintf(c, "configdirectory: %s/conf\npartition-default: %s/spool\n", f->dir, f->dir);
    fclose(c);
    if (ls_store_open(f->conf, LS_STORE_OPEN_CREATE, &f->st) || ls_session_new(f->st, NULL, &f->s))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ls_session_free(f->s);
    ls_store_close(f->st);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc ? -1 : 0;
}

static const char M1[] = "From: a@example.com\r\nSubject: one\r\n\r\nfirst\r\n";
static const char M2[] = "From: b@example.com\r\nSubject: two\r\n\r\nsecond message\r\n";

static void populate(fx *f)
{
    assert_int_equal(ls_mailbox_create(f->s, "user.bob", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->s, "user.bob", 0, &mb), LS_OK);
    ls_date d = { 1795000000, 0 };
    ls_append_opts o = { .version = LS_APPEND_OPTS_VERSION, .flags = LS_FLAG_SEEN | LS_FLAG_FLAGGED, .internaldate = &d };
    for (int i = 0; i < 3; i++)
        assert_int_equal(ls_message_append(mb, i == 1 ? M2 : M1, strlen(i == 1 ? M2 : M1), &o, NULL), LS_OK);
    ls_mailbox_close(mb);
}

static char *msgpath(fx *f, const char *name, uint32_t uid)
{
    char *dir;
    assert_int_equal(ls_mailbox_path(f->s, name, &dir), LS_OK);
    char *p;
    assert_true(asprintf(&p, "%s/%u.", dir, uid) > 0);
    ls_free(dir);
    return p;
}

static void write_file(const char *p, const char *text)
{
    FILE *o = fopen(p, "wb");
    assert_non_null(o);
    fputs(text, o);
    fclose(o);
}

static void assert_clean_and_stable(fx *f)
{
    uint64_t errors = 99;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 0);
    f->n = 0;
    assert_int_equal(ls_repair_reconstruct(f->st, NULL, 0, NULL, collect, f), LS_OK);
    if (f->n)
        dump_lines(f);
    assert_int_equal(f->n, 0); /* a second run changes nothing */
}

static void missing_file_and_strays(void **state)
{
    fx *f = *state;
    populate(f);
    char *p2 = msgpath(f, "user.bob", 2), *p9 = msgpath(f, "user.bob", 9), *p1 = msgpath(f, "user.bob", 1);
    assert_int_equal(unlink(p2), 0);                        /* record whose file is gone */
    write_file(p9, "Subject: stray high\r\n\r\nx\r\n");     /* stray at/above UIDNEXT */
    ls_free(p9);
    /* dry run: reports, changes nothing */
    assert_int_equal(ls_repair_reconstruct(f->st, "user.bob", LS_REPAIR_DRYRUN, NULL, collect, f), LS_OK);
    assert_true(has_line(f, "user.bob: uid 2: file missing"));
    uint64_t errors = 0;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_true(errors > 0);
    f->n = 0;
    assert_int_equal(ls_repair_reconstruct(f->st, "user.bob", 0, NULL, collect, f), LS_OK);
    dump_lines(f);
    assert_true(has_line(f, "user.bob: uid 2: file missing, message removed"));
    assert_true(has_line(f, "user.bob: uid 9: adopted file 9."));
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->s, "user.bob", &s), LS_OK);
    assert_int_equal(s.messages, 3);
    assert_int_equal(s.uidnext, 10);
    /* a stray below UIDNEXT is adopted under a new UID, its file renamed */
    char *p5 = msgpath(f, "user.bob", 5);
    write_file(p5, "Subject: stray low\r\n\r\ny\r\n");
    f->n = 0;
    assert_int_equal(ls_repair_reconstruct(f->st, "user.bob", 0, NULL, collect, f), LS_OK);
    dump_lines(f);
    assert_true(has_line(f, "user.bob: uid 10: stray file 5. adopted as uid 10"));
    assert_int_not_equal(access(p5, F_OK), 0);
    /* flags of intact records are kept */
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->s, "user.bob", 0, &mb), LS_OK);
    ls_record r;
    assert_int_equal(ls_message_get(mb, 1, &r), LS_OK);
    assert_int_equal(r.flags, LS_FLAG_SEEN | LS_FLAG_FLAGGED);
    char *out;
    size_t len;
    assert_int_equal(ls_message_fetch(mb, 10, "", 0, UINT64_MAX, &out, &len), LS_OK);
    assert_string_equal(out, "Subject: stray low\r\n\r\ny\r\n");
    ls_free(out);
    ls_mailbox_close(mb);
    assert_int_equal(access(p1, F_OK), 0);
    ls_free(p1);
    ls_free(p2);
    ls_free(p5);
    assert_clean_and_stable(f);
}

static void truncated_and_replaced_files(void **state)
{
    fx *f = *state;
    populate(f);
    char *p1 = msgpath(f, "user.bob", 1), *p2 = msgpath(f, "user.bob", 2);
    assert_int_equal(truncate(p1, 10), 0);
    /* same size, other content: only -G notices */
    struct stat sb;
    assert_int_equal(stat(p2, &sb), 0);
    char *other = malloc((size_t)sb.st_size + 1);
    memset(other, 'z', (size_t)sb.st_size);
    other[sb.st_size] = 0;
    write_file(p2, other);
    free(other);
    struct timespec keep[2] = { sb.st_atim, sb.st_mtim }; /* same mtime too */
    assert_int_equal(utimensat(AT_FDCWD, p2, keep, 0), 0);
    assert_int_equal(ls_repair_reconstruct(f->st, "user.bob", 0, NULL, collect, f), LS_OK);
    dump_lines(f);
    /* changed content: a new UID, the old one expunged (clients see it);
     * 10 bytes are not the same message (its envelope is gone): no flags */
    assert_true(has_line(f, "user.bob: uid 1: file holds another message (size 44 -> 10), adopted as uid "));
    assert_true(has_line(f, "without flags; uid 1 expunged"));
    assert_false(has_line(f, "uid 2"));
    f->n = 0;
    assert_int_equal(ls_repair_reconstruct(f->st, "user.bob", LS_REPAIR_REHASH, NULL, collect, f), LS_OK);
    dump_lines(f);
    assert_true(has_line(f, "user.bob: uid 2: file holds another message (guid"));
    ls_free(p1);
    ls_free(p2);
    assert_clean_and_stable(f);
}

/* Overwrite a record or cache value with garbage through the tables. */
struct damage { uint8_t uuid[16]; uint32_t uid; int db; };
static int damage_txn(ls_txn *t, void *arg)
{
    struct damage *d = arg;
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, d->uuid, d->uid);
    MDB_val v;
    int rc = ls__db_get(t, d->db, key, sizeof key, &v);
    if (rc)
        return rc;
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size / 2] ^= 0x5a;
    rc = ls__db_put(t, d->db, key, sizeof key, copy, v.mv_size, 0);
    free(copy);
    return rc;
}

static void damaged_records(void **state)
{
    fx *f = *state;
    populate(f);
    ls_mailbox_info info;
    assert_int_equal(ls_mailbox_get_info(f->s, "user.bob", &info), LS_OK);
    struct damage d = { .uid = 1, .db = LS_DB_RECORDS };
    ls__uuid_parse(info.uniqueid, d.uuid);
    assert_int_equal(ls__env_write(f->st->env, LS_SYNC_ALWAYS, damage_txn, &d), LS_OK);
    d.uid = 3;
    d.db = LS_DB_CACHE;
    assert_int_equal(ls__env_write(f->st->env, LS_SYNC_ALWAYS, damage_txn, &d), LS_OK);
    uint64_t errors = 0;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_true(errors >= 2); /* the two damages, and what follows from them (counters, GUID table) */
    assert_int_equal(ls_repair_reconstruct(f->st, NULL, 0, NULL, collect, f), LS_OK);
    dump_lines(f);
    assert_true(has_line(f, "user.bob: uid 1: damaged index record rebuilt from the file"));
    assert_true(has_line(f, "user.bob: uid 3: cache record damaged, rebuilt"));
    assert_clean_and_stable(f);
}

static void expunged_never_return(void **state)
{
    fx *f = *state;
    populate(f);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->s, "user.bob", 0, &mb), LS_OK);
    ls_set one;
    assert_int_equal(ls_set_parse("2", &one), LS_OK);
    assert_int_equal(ls_message_store(mb, &one, &(ls_message_store_opts){ .version = LS_MESSAGE_STORE_OPTS_VERSION, .op = LS_MESSAGE_STORE_ADD, .flags = LS_FLAG_DELETED }, NULL), LS_OK);
    assert_int_equal(ls_message_expunge(mb, &one, NULL), LS_OK);
    ls_set_dispose(&one);
    ls_mailbox_close(mb);
    /* the expunged file (UID.expunged, not yet cleaned up) never comes back */
    assert_int_equal(ls_repair_reconstruct(f->st, NULL, 0, NULL, collect, f), LS_OK);
    dump_lines(f);
    assert_int_equal(f->n, 0);
    /* nor after the whole list is rebuilt from the files (-m) */
    ls_session_free(f->s);
    ls_store_close(f->st);
    f->n = 0;
    assert_int_equal(ls_repair_reconstruct_mboxlist(f->conf, 0, NULL, collect, f), LS_OK);
    dump_lines(f);
    assert_true(has_line(f, "moved "));
    assert_true(has_line(f, "user.bob: mailbox directory"));
    assert_int_equal(ls_store_open(f->conf, 0, &f->st), LS_OK);
    assert_int_equal(ls_session_new(f->st, NULL, &f->s), LS_OK);
    ls_status s;
    assert_int_equal(ls_mailbox_status(f->s, "user.bob", &s), LS_OK);
    assert_int_equal(s.messages, 2);
    assert_int_equal(s.uidnext, 4); /* never below the header's high-water mark */
    assert_int_equal(ls_mailbox_open(f->s, "user.bob", 0, &mb), LS_OK);
    ls_record r;
    assert_int_equal(ls_message_get(mb, 2, &r), LS_ENOTFOUND);
    assert_int_equal(ls_message_get(mb, 3, &r), LS_OK);
    ls_mailbox_close(mb);
    assert_clean_and_stable(f);
}

static void rebuild_with_backup_keeps_flags(void **state)
{
    fx *f = *state;
    populate(f);
    char bdir[200];
    snprintf(bdir, sizeof bdir, "%s/backup", f->dir);
    assert_int_equal(ls_store_backup(f->st, bdir), LS_OK);
    ls_session_free(f->s);
    ls_store_close(f->st);
    /* the environment overwritten with garbage in the middle */
    char data[200];
    snprintf(data, sizeof data, "%s/conf/data.mdb", f->dir);
    FILE *d = fopen(data, "r+b");
    assert_non_null(d);
    fseek(d, 0, SEEK_SET);
    for (int i = 0; i < 8192; i++)
        fputc(0xa5, d);
    fclose(d);
    ls_store *broken;
    assert_int_not_equal(ls_store_open(f->conf, 0, &broken), LS_OK);
    assert_int_equal(ls_repair_reconstruct_mboxlist(f->conf, 0, bdir, collect, f), LS_OK);
    dump_lines(f);
    assert_int_equal(ls_store_open(f->conf, 0, &f->st), LS_OK);
    assert_int_equal(ls_session_new(f->st, NULL, &f->s), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->s, "user.bob", 0, &mb), LS_OK);
    ls_record r;
    assert_int_equal(ls_message_get(mb, 3, &r), LS_OK);
    assert_int_equal(r.flags, LS_FLAG_SEEN | LS_FLAG_FLAGGED); /* from the backup */
    assert_true(r.internaldate.t == 1795000000);
    ls_mailbox_close(mb);
    assert_clean_and_stable(f);
}

#include "model/quota.h"
static int skew_quota_txn(ls_txn *t, void *arg)
{
    ls_qrec q;
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_QUOTA, "user.bob", 8, &v);
    if (rc || (rc = ls__qrec_decode(v.mv_data, v.mv_size, &q)))
        return rc;
    q.usage[LS_QUOTA_STORAGE] += 5000;
    q.usage[LS_QUOTA_MESSAGE] = 0;
    return ls__quota_put(t, "user.bob", &q);
}

static void quota_fix_and_mboxlist(void **state)
{
    fx *f = *state;
    populate(f);
    int64_t lim[3] = { 100, LS_QUOTA_UNLIMITED, LS_QUOTA_UNLIMITED };
    assert_int_equal(ls_quota_set(f->s, "user.bob", lim), LS_OK);
    /* nothing wrong: nothing reported */
    assert_int_equal(ls_repair_quota_fix(f->st, NULL, 0, collect, f), LS_OK);
    assert_int_equal(f->n, 0);
    ls_quota q;
    assert_int_equal(ls_quota_get(f->s, "user.bob", &q), LS_OK);
    assert_true(q.usage[LS_QUOTA_MESSAGE] == 3);
    assert_int_equal(ls__env_write(f->st->env, LS_SYNC_ALWAYS, skew_quota_txn, NULL), LS_OK);
    uint64_t errors = 0;
    assert_int_equal(ls_store_check(f->st, NULL, NULL, &errors), LS_OK);
    assert_int_equal(errors, 2);
    assert_int_equal(ls_repair_quota_fix(f->st, "user.", LS_REPAIR_DRYRUN, collect, f), LS_OK);
    assert_int_equal(f->n, 2);
    assert_int_equal(ls_quota_get(f->s, "user.bob", &q), LS_OK);
    assert_true(q.usage[LS_QUOTA_MESSAGE] == 0); /* dry run changed nothing */
    f->n = 0;
    assert_int_equal(ls_repair_quota_fix(f->st, NULL, 0, collect, f), LS_OK);
    dump_lines(f);
    assert_true(has_line(f, "user.bob: STORAGE usage 6 -> 1 KiB (5141 -> 141 bytes)"));
    assert_true(has_line(f, "user.bob: MESSAGE usage 0 -> 3"));
    f->n = 0;
    assert_int_equal(ls_repair_quota_fix(f->st, NULL, 0, collect, f), LS_OK);
    assert_int_equal(f->n, 0);
    /* ctl_mboxlist round trip */
    char buf[8192] = "";
    f->n = 0;
    assert_int_equal(ls_repair_mboxlist_dump(f->st, collect, f), LS_OK);
    assert_int_equal(f->n, 1);
    assert_non_null(strstr(f->lines[0], "user.bob\t"));
    assert_non_null(strstr(f->lines[0], "\tbob\\tlrswipkxtean\\t"));
    snprintf(buf, sizeof buf, "%s\n", f->lines[0]);
    char first[512];
    snprintf(first, sizeof first, "%s", f->lines[0]);
    f->n = 0;
    assert_int_equal(ls_repair_mboxlist_load(f->st, buf, strlen(buf), collect, f), LS_OK);
    assert_int_equal(f->n, 0); /* identical: nothing changes */
    f->n = 0;
    assert_int_equal(ls_repair_mboxlist_dump(f->st, collect, f), LS_OK);
    assert_string_equal(f->lines[0], first);
    f->n = 0;
    assert_int_equal(ls_repair_examine(f->st, "user.bob", collect, f), LS_OK);
    assert_true(has_line(f, "header uidnext=4"));
    assert_true(has_line(f, "record uid=1 modseq="));
    assert_true(has_line(f, "  envelope (NIL \"one\""));
    assert_clean_and_stable(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_file_and_strays, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_and_replaced_files, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_records, setup, teardown),
        cmocka_unit_test_setup_teardown(expunged_never_return, setup, teardown),
        cmocka_unit_test_setup_teardown(rebuild_with_backup_keeps_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(quota_fix_and_mboxlist, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

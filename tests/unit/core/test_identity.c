/* Opening a store: creation only on request (LS_STORE_OPEN_CREATE), the identity
 * markers, a lost environment, a store from before markers, and partitions
 * that are not this store's (LS_EUNAVAILABLE), also when a disk goes away
 * while the store is open (a long-running server). */
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
#include <unistd.h>

#include "libstore/libstore.h"
#include "libstore/repair.h"

typedef struct fx {
    char dir[128];
    char conf[200], cdir[200], p1[200], p2[200];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/ls-identity-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->conf, sizeof f->conf, "%s/store.conf", f->dir);
    snprintf(f->cdir, sizeof f->cdir, "%s/conf", f->dir);
    snprintf(f->p1, sizeof f->p1, "%s/p1", f->dir);
    snprintf(f->p2, sizeof f->p2, "%s/p2", f->dir);
    FILE *c = fopen(f->conf, "w");
    if (!c)
        return -1;
    fprintf(c, "configdirectory: %s\npartition-default: %s\npartition-two: %s\n", f->cdir, f->p1, f->p2);
    fclose(c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static int exists(const char *dir, const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static char *slurp(const char *dir, const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    char *buf = calloc(1, 100);
    assert_true(fread(buf, 1, 99, fp) > 0);
    fclose(fp);
    return buf;
}

static void spit(const char *dir, const char *name, const char *text)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static int empty_dir(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n == 0;
}

static void make_store(fx *f)
{
    ls_store *st;
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_CREATE, &st), LS_OK);
    ls_store_close(st);
}

static const char MSG[] = "Subject: hello\r\n\r\nbody\r\n";

/* Nothing is created without LS_STORE_OPEN_CREATE; with it, the environment, the
 * partitions and one identity in every marker. */
static void creation_is_explicit(void **state)
{
    fx *f = *state;
    ls_store *st = NULL;
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_ENOTFOUND);
    assert_null(st);
    assert_non_null(strstr(ls_error_last(), "mailstore init"));
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_RDONLY | LS_STORE_OPEN_CREATE, &st), LS_ENOTFOUND);
    assert_false(exists(f->dir, "conf"));
    assert_false(exists(f->dir, "p1"));
    make_store(f);
    char *a = slurp(f->cdir, "libstore.id"), *b = slurp(f->p1, "libstore.id"), *c = slurp(f->p2, "libstore.id");
    assert_int_equal(strlen(a), 37);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    /* an existing store opens as it is, with or without the flag */
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_OK);
    ls_store_close(st);
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_CREATE, &st), LS_OK);
    ls_store_close(st);
    char *a2 = slurp(f->cdir, "libstore.id");
    assert_string_equal(a, a2);
    free(a);
    free(b);
    free(c);
    free(a2);
}

/* The marker says a store lives here but data.mdb is gone: refused with the
 * repair named, even with LS_STORE_OPEN_CREATE; no empty environment appears. */
static void lost_environment_is_refused(void **state)
{
    fx *f = *state;
    make_store(f);
    char p[400];
    snprintf(p, sizeof p, "%s/data.mdb", f->cdir);
    assert_int_equal(unlink(p), 0);
    ls_store *st = NULL;
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_ECORRUPT);
    assert_non_null(strstr(ls_error_last(), "reconstruct -m"));
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_CREATE, &st), LS_ECORRUPT);
    assert_false(exists(f->cdir, "data.mdb"));
    /* reconstruct -m rebuilds it, keeping the identity */
    char *before = slurp(f->cdir, "libstore.id");
    assert_int_equal(ls_repair_reconstruct_mboxlist(f->conf, 0, NULL, NULL, NULL), LS_OK);
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_OK);
    ls_store_close(st);
    char *after = slurp(f->cdir, "libstore.id");
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* A lost configdirectory is never replaced by a new store over partitions
 * that hold one. */
static void create_refuses_used_partitions(void **state)
{
    fx *f = *state;
    make_store(f);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->cdir);
    assert_int_equal(system(cmd), 0);
    ls_store *st = NULL;
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_CREATE, &st), LS_EEXIST);
    assert_non_null(strstr(ls_error_last(), "reconstruct -m"));
    assert_false(exists(f->cdir, "data.mdb"));
}

/* An environment without a marker (made before markers existed) is refused,
 * naming the upgrade; ls_store_upgrade labels it, and only if its
 * partitions look like its own. */
static void legacy_store_and_upgrade(void **state)
{
    fx *f = *state;
    make_store(f);
    ls_store *st;
    ls_session *s;
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_OK);
    assert_int_equal(ls_session_new(st, NULL, &s), LS_OK);
    assert_int_equal(ls_mailbox_create(s, "user.two", "two"), LS_OK);
    ls_session_free(s);
    ls_store_close(st);
    char p[400];
    const char *dirs[] = { f->cdir, f->p1, f->p2 };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/libstore.id", dirs[i]);
        assert_int_equal(unlink(p), 0);
    }
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_ENOTSUP);
    assert_non_null(strstr(ls_error_last(), "mailstore init --upgrade"));
    /* partition two is not mounted: refused, nothing written */
    char real[300];
    snprintf(real, sizeof real, "%s.real", f->p2);
    assert_int_equal(rename(f->p2, real), 0);
    assert_int_equal(mkdir(f->p2, 0750), 0);
    assert_int_equal(ls_store_upgrade(f->conf, 0, NULL, NULL), LS_EUNAVAILABLE);
    for (int i = 0; i < 3; i++)
        assert_false(exists(dirs[i], "libstore.id"));
    assert_true(empty_dir(f->p2));
    assert_int_equal(rmdir(f->p2), 0);
    assert_int_equal(rename(real, f->p2), 0);
    assert_int_equal(ls_store_upgrade(f->conf, 0, NULL, NULL), LS_OK);
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_OK);
    ls_store_close(st);
}

/* A partition whose disk goes away while the store is open: the next write
 * and read fail with LS_EUNAVAILABLE (not "file missing"), nothing is made
 * in the mount point, the other partition works; when the disk is back the
 * same handle uses it again. */
static void partition_gone_while_open(void **state)
{
    fx *f = *state;
    make_store(f);
    ls_store *st;
    ls_session *s;
    ls_mailbox *two, *one;
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_OK);
    assert_int_equal(ls_session_new(st, NULL, &s), LS_OK);
    assert_int_equal(ls_mailbox_create(s, "user.two", "two"), LS_OK);
    assert_int_equal(ls_mailbox_create(s, "user.one", NULL), LS_OK);
    assert_int_equal(ls_mailbox_open(s, "user.two", LS_MAILBOX_OPEN_RDWR, &two), LS_OK);
    assert_int_equal(ls_mailbox_open(s, "user.one", LS_MAILBOX_OPEN_RDWR, &one), LS_OK);
    uint32_t uid;
    assert_int_equal(ls_message_append(two, MSG, sizeof MSG - 1, NULL, &uid), LS_OK);

    char real[300];
    snprintf(real, sizeof real, "%s.real", f->p2);
    assert_int_equal(rename(f->p2, real), 0);
    assert_int_equal(mkdir(f->p2, 0750), 0);
    assert_int_equal(ls_message_append(two, MSG, sizeof MSG - 1, NULL, NULL), LS_EUNAVAILABLE);
    assert_non_null(strstr(ls_error_last(), "partition 'two'"));
    assert_non_null(strstr(ls_error_last(), "not mounted?"));
    char *out = NULL;
    size_t len;
    assert_int_equal(ls_message_fetch(two, uid, "", 0, UINT64_MAX, &out, &len), LS_EUNAVAILABLE);
    assert_int_equal(ls_mailbox_create(s, "user.two.sub", NULL), LS_EUNAVAILABLE);
    ls_set all = { 0 };
    assert_int_equal(ls_set_parse("1:*", &all), LS_OK);
    assert_int_equal(ls_message_expunge(two, &all, NULL), LS_EUNAVAILABLE);
    ls_set_dispose(&all);
    assert_true(empty_dir(f->p2));
    assert_int_equal(ls_message_append(one, MSG, sizeof MSG - 1, NULL, NULL), LS_OK);
    uint64_t removed;
    assert_int_equal(ls_store_cleanup(st, -1, &removed), LS_EUNAVAILABLE);
    assert_true(empty_dir(f->p2));

    assert_int_equal(rmdir(f->p2), 0);
    assert_int_equal(rename(real, f->p2), 0);
    assert_int_equal(ls_message_append(two, MSG, sizeof MSG - 1, NULL, NULL), LS_OK);
    assert_int_equal(ls_message_fetch(two, uid, "", 0, UINT64_MAX, &out, &len), LS_OK);
    assert_int_equal(len, sizeof MSG - 1);
    ls_free(out);
    assert_int_equal(ls_store_cleanup(st, -1, &removed), LS_OK);
    ls_mailbox_close(two);
    ls_mailbox_close(one);
    ls_session_free(s);
    ls_store_close(st);
}

/* Another store's marker on a partition: the store opens, that partition
 * is refused. */
static void foreign_marker_is_unavailable(void **state)
{
    fx *f = *state;
    make_store(f);
    spit(f->p2, "libstore.id", "0b1e1f7a-aaaa-4bbb-8ccc-000000000001\n");
    ls_store *st;
    ls_session *s;
    assert_int_equal(ls_store_open(f->conf, LS_STORE_OPEN_DEFAULT, &st), LS_OK);
    assert_int_equal(ls_session_new(st, NULL, &s), LS_OK);
    assert_int_equal(ls_mailbox_create(s, "user.two", "two"), LS_EUNAVAILABLE);
    assert_non_null(strstr(ls_error_last(), "names another store (0b1e1f7a-aaaa-4bbb-8ccc-000000000001)"));
    assert_int_equal(ls_mailbox_create(s, "user.one", NULL), LS_OK);
    uint64_t nerrors = 0;
    assert_int_equal(ls_store_check(st, NULL, NULL, &nerrors), LS_OK);
    assert_int_equal(nerrors, 1);
    assert_string_equal(ls_error_string(LS_EUNAVAILABLE),
                        "storage unavailable: a partition is not mounted or is not this store's");
    ls_session_free(s);
    ls_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(creation_is_explicit, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_environment_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(create_refuses_used_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_store_and_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(partition_gone_while_open, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_marker_is_unavailable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

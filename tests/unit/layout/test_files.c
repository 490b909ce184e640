/* The file-per-message layout: staging, final names, sharing by hard link,
 * expunged names, scanning, and the fallbacks that keep mail safe. */
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

#include "core/config.h"
#include "core/fsutil.h"
#include "core/identity.h"
#include "layout/layout.h"
#include "store_impl.h" /* ls__mbref_set */

typedef struct fx {
    char dir[128];
    ls_config *cfg;
    ls_layout *ly;
    ls_mbref a, b;
    uint8_t id[16];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/ls-layout-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char conf[512];
    snprintf(conf, sizeof conf, "configdirectory: %s/conf\npartition-default: %s/p\n", f->dir, f->dir);
    if (ls__config_parse(conf, strlen(conf), "test", &f->cfg) != LS_OK)
        return -1;
    /* the layout uses a partition only while its marker names the store */
    char part[200];
    snprintf(part, sizeof part, "%s/p", f->dir);
    ls__id_generate(f->id);
    if (ls__mkdirs(part) || ls__id_write(part, f->id))
        return -1;
    if (ls__layout_open(NULL, f->cfg, f->id, &f->ly) != LS_OK)
        return -1;
    uint8_t ua[16] = { 0xaa, 1 }, ub[16] = { 0xbb, 2 };
    ls__mbref_set(&f->a, ua, "default");
    ls__mbref_set(&f->b, ub, "default");
    if (f->ly->ops->mailbox_init(f->ly, &f->a) || f->ly->ops->mailbox_init(f->ly, &f->b))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ls__layout_close(f->ly);
    ls__config_free(f->cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}


static const char BYTES[] = "Subject: x\r\n\r\nhello\r\n";

static void stage_place_share_read(void **state)
{
    fx *f = *state;
    const ls_layout_ops *o = f->ly->ops;
    ls_staged *st;
    assert_int_equal(o->stage(f->ly, "default", BYTES, strlen(BYTES), 1700000000, 1, &st), LS_OK);
    assert_int_equal(o->place(f->ly, st, &f->a, 1), LS_OK);
    assert_int_equal(o->place(f->ly, st, &f->b, 5), LS_OK);
    assert_int_equal(o->place(f->ly, st, &f->b, 5), LS_EEXIST); /* never overwrite a final name */
    o->unstage(f->ly, st);
    assert_int_equal(o->share(f->ly, &f->a, 1, &f->a, 2), LS_OK);
    ls_file_info fi;
    assert_int_equal(o->stat(f->ly, &f->a, 2, &fi), LS_OK);
    assert_int_equal(fi.nlink, 3);            /* a/1, a/2, b/5: the staged object has no name */
    assert_true(fi.mtime == 1700000000);      /* mtime is the internal date */
    assert_int_equal(fi.size, strlen(BYTES));
    ls_blob blob;
    assert_int_equal(o->read(f->ly, &f->b, 5, &blob), LS_OK);
    assert_int_equal(blob.len, strlen(BYTES));
    assert_memory_equal(blob.data, BYTES, blob.len);
    o->blob_free(f->ly, &blob);
    assert_int_equal(o->share(f->ly, &f->a, 99, &f->b, 6), LS_ENOTFOUND);
    assert_int_equal(o->read(f->ly, &f->a, 99, &blob), LS_EIO);
}

static int count_cb(const ls_file_info *fi, void *arg)
{
    int *c = arg;
    c[fi->expunged]++;
    return 0;
}

static void expunged_names_and_scan(void **state)
{
    fx *f = *state;
    const ls_layout_ops *o = f->ly->ops;
    ls_staged *st;
    assert_int_equal(o->stage(f->ly, "default", BYTES, strlen(BYTES), 1700000000, 0, &st), LS_OK);
    for (uint32_t u = 1; u <= 3; u++)
        assert_int_equal(o->place(f->ly, st, &f->a, u), LS_OK);
    o->unstage(f->ly, st);
    assert_int_equal(o->mark_expunged(f->ly, &f->a, 2), LS_OK);
    /* a reader that still sees uid 2 can read it under its expunged name */
    ls_blob blob;
    assert_int_equal(o->read(f->ly, &f->a, 2, &blob), LS_OK);
    o->blob_free(f->ly, &blob);
    /* junk in the directory is not a message */
    char *d;
    assert_int_equal(o->mailbox_path(f->ly, &f->a, &d), LS_OK);
    char p[512];
    const char *junk[] = { "0.", "07.", "12", "4.x", "x.", "5.expungedx", "99999999999." };
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        snprintf(p, sizeof p, "%s/%s", d, junk[i]);
        FILE *j = fopen(p, "w");
        fclose(j);
    }
    free(d);
    int counts[2] = { 0, 0 };
    assert_int_equal(o->scan(f->ly, &f->a, count_cb, counts), LS_OK);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1);
    assert_int_equal(o->unmark_expunged(f->ly, &f->a, 2), LS_OK);
    ls_file_info fi;
    assert_int_equal(o->stat(f->ly, &f->a, 2, &fi), LS_OK);
    assert_int_equal(fi.expunged, 0);
    assert_int_equal(o->mark_expunged(f->ly, &f->a, 2), LS_OK);
    assert_int_equal(o->remove_expunged(f->ly, &f->a, 2), LS_OK);
    assert_int_equal(o->remove_expunged(f->ly, &f->a, 2), LS_OK); /* idempotent */
    assert_int_equal(o->stat(f->ly, &f->a, 2, &fi), LS_ENOTFOUND);
}

static void missing_directory_is_recreated(void **state)
{
    fx *f = *state;
    const ls_layout_ops *o = f->ly->ops;
    char *d;
    assert_int_equal(o->mailbox_path(f->ly, &f->b, &d), LS_OK);
    assert_int_equal(rmdir(d), 0); /* damage: the directory vanished */
    ls_staged *st;
    assert_int_equal(o->stage(f->ly, "default", BYTES, strlen(BYTES), 1700000000, 1, &st), LS_OK);
    assert_int_equal(o->place(f->ly, st, &f->b, 1), LS_OK); /* never lose the delivery */
    o->unstage(f->ly, st);
    struct stat sb;
    assert_int_equal(stat(d, &sb), 0);
    free(d);
}

static void destroy_and_stale_tmp(void **state)
{
    fx *f = *state;
    const ls_layout_ops *o = f->ly->ops;
    ls_staged *st;
    assert_int_equal(o->stage(f->ly, "default", BYTES, strlen(BYTES), 1, 0, &st), LS_OK);
    assert_int_equal(o->place(f->ly, st, &f->a, 1), LS_OK);
    o->unstage(f->ly, st);
    /* a named staged file a crashed writer left (unnamed O_TMPFILE ones
     * vanish by themselves): cleanup_tmp removes old ones only */
    char stale[300];
    snprintf(stale, sizeof stale, "%s/p/tmp/99.1.1.1", f->dir);
    FILE *sf = fopen(stale, "w");
    assert_non_null(sf);
    fclose(sf);
    uint64_t removed = 0;
    assert_int_equal(o->cleanup_tmp(f->ly, 3600, &removed), LS_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(o->cleanup_tmp(f->ly, 0, &removed), LS_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(o->header_write(f->ly, &f->a, "libstore-header 1\n", 18), LS_OK);
    char *h;
    size_t hl;
    assert_int_equal(o->header_read(f->ly, &f->a, &h, &hl), LS_OK);
    assert_int_equal(hl, 18);
    free(h);
    assert_int_equal(o->mailbox_destroy(f->ly, &f->a), LS_OK);
    assert_int_equal(o->mailbox_destroy(f->ly, &f->a), LS_OK); /* rolled forward twice: fine */
    ls_file_info fi;
    assert_int_equal(o->stat(f->ly, &f->a, 1, &fi), LS_ENOTFOUND);
}

static int kinds_cb(const ls_file_info *fi, void *arg)
{
    int *kinds = arg;
    if (fi->uid < 8)
        kinds[fi->uid] = fi->kind;
    return 0;
}

/* A symlink, a directory or a FIFO under a message's name is never followed
 * or read (a symlink could serve any file's bytes), scan and stat say what
 * it is, and set_aside moves it out of the mailbox without deleting it. */
static void never_follow_non_regular_files(void **state)
{
    fx *f = *state;
    const ls_layout_ops *o = f->ly->ops;
    char *d, p[512], target[512];
    assert_int_equal(o->mailbox_path(f->ly, &f->a, &d), LS_OK);
    snprintf(target, sizeof target, "%s/secret", f->dir);
    FILE *t = fopen(target, "w");
    fputs("SECRET", t);
    fclose(t);
    snprintf(p, sizeof p, "%s/1.", d);
    assert_int_equal(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/2.", d);
    assert_int_equal(mkdir(p, 0750), 0);
    snprintf(p, sizeof p, "%s/3.", d);
    assert_int_equal(mkfifo(p, 0640), 0); /* a blocking open would hang here */
    ls_blob blob;
    for (uint32_t u = 1; u <= 3; u++) {
        assert_int_equal(o->read(f->ly, &f->a, u, &blob), LS_EIO);
        assert_non_null(strstr(ls_error_last(), "not a regular file"));
        assert_int_equal(o->share(f->ly, &f->a, u, &f->b, u), LS_EIO);
    }
    int kinds[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
    assert_int_equal(o->scan(f->ly, &f->a, kinds_cb, kinds), LS_OK);
    assert_int_equal(kinds[1], LS_FILE_SYMLINK);
    assert_int_equal(kinds[2], LS_FILE_DIRECTORY);
    assert_int_equal(kinds[3], LS_FILE_OTHER);
    ls_file_info fi;
    assert_int_equal(o->stat(f->ly, &f->a, 1, &fi), LS_OK);
    assert_int_equal(fi.kind, LS_FILE_SYMLINK);
    assert_int_equal(fi.size, 0);
    /* set aside: a dry run names the place, the real one moves it there */
    char *where;
    assert_int_equal(o->set_aside(f->ly, &f->a, 1, 0, 1, &where), LS_OK);
    struct stat sb;
    assert_int_equal(lstat(where, &sb), -1);
    free(where);
    assert_int_equal(o->set_aside(f->ly, &f->a, 1, 0, 0, &where), LS_OK);
    assert_non_null(strstr(where, "/damaged/"));
    assert_int_equal(lstat(where, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    free(where);
    assert_int_equal(o->stat(f->ly, &f->a, 1, &fi), LS_ENOTFOUND);
    /* a second object of the same name does not overwrite the first */
    snprintf(p, sizeof p, "%s/1.", d);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(o->set_aside(f->ly, &f->a, 1, 0, 0, &where), LS_OK);
    assert_non_null(strstr(where, "1.~1"));
    free(where);
    t = fopen(target, "r");
    char buf[16] = "";
    assert_non_null(fgets(buf, sizeof buf, t));
    fclose(t);
    assert_string_equal(buf, "SECRET"); /* the target is never touched */
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stage_place_share_read, setup, teardown),
        cmocka_unit_test_setup_teardown(expunged_names_and_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(never_follow_non_regular_files, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_directory_is_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(destroy_and_stale_tmp, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the store.conf parser (libstore/core/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "core/config.h"
#include "libstore/common.h"
#include "libstore/libstore.h"

#include "../store_fixture.h"

#define MIN_CONF "configdirectory: /var/lib/ls\npartition-default: /var/spool/ls\n"

static ls_config *parse_ok(const char *text)
{
    ls_config *cfg = NULL;
    int rc = ls__config_parse(text, strlen(text), "t.conf", &cfg);
    if (rc) fprintf(stderr, "unexpected error: %s\n", ls_error_last());
    assert_int_equal(rc, LS_OK);
    assert_non_null(cfg);
    return cfg;
}

/* Parse text expecting LS_ECONFIG with a message containing `want`. */
static void parse_bad(const char *text, const char *want)
{
    ls_config *cfg = (ls_config *)1;
    int rc = ls__config_parse(text, strlen(text), "t.conf", &cfg);
    if (rc != LS_ECONFIG || !strstr(ls_error_last(), want))
        fprintf(stderr, "input:\n%s\nrc=%d message: %s\nwanted: %s\n", text, rc, ls_error_last(), want);
    assert_int_equal(rc, LS_ECONFIG);
    assert_null(cfg);
    assert_int_equal(ls_error_last_code(), LS_ECONFIG);
    assert_non_null(strstr(ls_error_last(), want));
}

static void test_minimal_defaults(void **state)
{
    ls_config *cfg = parse_ok(MIN_CONF);
    assert_string_equal(cfg->path, "t.conf");
    assert_string_equal(cfg->configdirectory, "/var/lib/ls");
    assert_int_equal(cfg->npartitions, 1);
    assert_string_equal(cfg->partitions[0].name, "default");
    assert_string_equal(cfg->partitions[0].path, "/var/spool/ls");
    assert_string_equal(cfg->defaultpartition, "default");
    assert_int_equal(cfg->singleinstancestore, 1);
    assert_int_equal(cfg->sep, '.');
    assert_int_equal(cfg->nadmins, 0);
    assert_int_equal(cfg->quota_default_storage, -1);
    assert_null(cfg->groupsfile);
    assert_int_equal(cfg->maxmessagesize, -1);
    assert_int_equal(cfg->fsync_mode, LS_FSYNC_ALL);
    assert_int_equal(cfg->annotation_size_limit, 65536);
    assert_string_equal(ls__config_partition_path(cfg, "default"), "/var/spool/ls");
    assert_null(ls__config_partition_path(cfg, "other"));
    assert_int_equal(ls__config_is_admin(cfg, "cyrus"), 0);
    ls__config_free(cfg);
}

static void test_full_spec_example(void **state)
{
    const char *text =
        "# store.conf — same syntax as Cyrus imapd.conf\n"
        "configdirectory: /var/lib/libstore        # holds the LMDB environment\n"
        "partition-default: /var/spool/libstore    # message files\n"
        "partition-big_2-x: /srv/big/\n"
        "defaultpartition: big_2-x\n"
        "singleinstancestore: no\n"
        "hierarchy_separator: /\n"
        "admins: cyrus   admin\tother\n"
        "quota_default_storage: 102400\n"
        "groupsfile: /etc/libstore/groups\n"
        "maxmessagesize: 52428800\n"
        "fsync: messages\n"
        "annotation_size_limit: 0\n";
    ls_config *cfg = parse_ok(text);
    assert_string_equal(cfg->configdirectory, "/var/lib/libstore");
    assert_int_equal(cfg->npartitions, 2);
    assert_string_equal(ls__config_partition_path(cfg, "default"), "/var/spool/libstore");
    assert_string_equal(ls__config_partition_path(cfg, "big_2-x"), "/srv/big");
    assert_string_equal(cfg->defaultpartition, "big_2-x");
    assert_int_equal(cfg->singleinstancestore, 0);
    assert_int_equal(cfg->sep, '/');
    assert_int_equal(cfg->nadmins, 3);
    assert_string_equal(cfg->admins[0], "cyrus");
    assert_string_equal(cfg->admins[1], "admin");
    assert_string_equal(cfg->admins[2], "other");
    assert_true(ls__config_is_admin(cfg, "admin"));
    assert_false(ls__config_is_admin(cfg, "Admin"));
    assert_false(ls__config_is_admin(cfg, "adm"));
    assert_int_equal(cfg->quota_default_storage, 102400);
    assert_string_equal(cfg->groupsfile, "/etc/libstore/groups");
    assert_int_equal(cfg->maxmessagesize, 52428800);
    assert_int_equal(cfg->fsync_mode, LS_FSYNC_MESSAGES);
    assert_int_equal(cfg->annotation_size_limit, 0);
    ls__config_free(cfg);
}

static void test_syntax_tolerance(void **state)
{
    /* CRLF, indentation, comments, blank lines, no space after ':', '#'
     * inside a value, no final newline. */
    const char *text = "\r\n   # indented comment\r\n\n"
                       "configdirectory:/var/lib/ls#notacomment\r\n"
                       "  partition-default :   /var/spool/ls///   \t\r\n"
                       "admins:\n"
                       "fsync: all";
    ls_config *cfg = parse_ok(text);
    assert_string_equal(cfg->configdirectory, "/var/lib/ls#notacomment");
    assert_string_equal(cfg->partitions[0].path, "/var/spool/ls");
    assert_int_equal(cfg->nadmins, 0);
    assert_int_equal(cfg->fsync_mode, LS_FSYNC_ALL);
    ls__config_free(cfg);

    cfg = parse_ok("configdirectory: /\npartition-default: //\n");
    assert_string_equal(cfg->configdirectory, "/");
    assert_string_equal(cfg->partitions[0].path, "/");
    ls__config_free(cfg);
}

static void test_booleans(void **state)
{
    static const char *const yes[] = { "yes", "on", "true", "1", "YES", "True" };
    static const char *const no[] = { "no", "off", "false", "0", "No", "OFF" };
    char buf[256];
    for (size_t i = 0; i < 6; i++) {
        snprintf(buf, sizeof buf, MIN_CONF "singleinstancestore: %s\n", yes[i]);
        ls_config *cfg = parse_ok(buf);
        assert_int_equal(cfg->singleinstancestore, 1);
        ls__config_free(cfg);
        snprintf(buf, sizeof buf, MIN_CONF "singleinstancestore: %s\n", no[i]);
        cfg = parse_ok(buf);
        assert_int_equal(cfg->singleinstancestore, 0);
        ls__config_free(cfg);
    }
    parse_bad(MIN_CONF "singleinstancestore: maybe\n", "t.conf:3: singleinstancestore: 'maybe' is not a boolean");
    parse_bad(MIN_CONF "singleinstancestore: 2\n", "t.conf:3: singleinstancestore: '2' is not a boolean");
    parse_bad(MIN_CONF "singleinstancestore:\n", "t.conf:3: singleinstancestore: '' is not a boolean");
}

static void test_missing_required(void **state)
{
    parse_bad("partition-default: /a\n", "t.conf: missing required key 'configdirectory'");
    parse_bad("configdirectory: /a\n", "t.conf: no partition configured");
    parse_bad("", "t.conf: missing required key 'configdirectory'");
    parse_bad("# only a comment\n", "t.conf: missing required key 'configdirectory'");
    parse_bad("configdirectory: /a\npartition-other: /b\n",
              "t.conf: no 'partition-default' key and no 'defaultpartition'");
    parse_bad(MIN_CONF "defaultpartition: nosuch\n",
              "t.conf:3: defaultpartition 'nosuch' names no configured partition");
    parse_bad(MIN_CONF "defaultpartition: bad/name\n", "t.conf:3: defaultpartition: 'bad/name' is not a valid");
    parse_bad(MIN_CONF "defaultpartition:\n", "t.conf:3: defaultpartition: '' is not a valid");

    ls_config *cfg = parse_ok("configdirectory: /a\npartition-other: /b\ndefaultpartition: other\n");
    assert_string_equal(cfg->defaultpartition, "other");
    ls__config_free(cfg);
}

static void test_unknown_and_duplicate_keys(void **state)
{
    parse_bad(MIN_CONF "partiton-default: /x\n", "t.conf:3: unknown key 'partiton-default'");
    parse_bad(MIN_CONF "ConfigDirectory: /x\n", "t.conf:3: unknown key 'ConfigDirectory'");
    parse_bad(MIN_CONF "configdirectory: /x\n", "t.conf:3: duplicate key 'configdirectory' (first set on line 1)");
    parse_bad(MIN_CONF "partition-default: /x\n", "t.conf:3: duplicate key 'partition-default'");
    parse_bad(MIN_CONF "admins: a\nadmins: b\n", "t.conf:4: duplicate key 'admins'");
    parse_bad(MIN_CONF "fsync: all\n\nfsync: all\n", "t.conf:5: duplicate key 'fsync' (first set on line 3)");
    parse_bad(MIN_CONF "partition-: /x\n", "t.conf:3: key 'partition-' lacks a partition name");
    parse_bad(MIN_CONF "partition-a.b: /x\n", "t.conf:3: invalid partition name 'a.b'");
    parse_bad(MIN_CONF "partition-\xc3\xa9: /x\n", "t.conf:3: invalid partition name '?" "?'");
}

static void test_syntax_errors(void **state)
{
    parse_bad(MIN_CONF "just words\n", "t.conf:3: expected 'key: value', found 'just words'");
    parse_bad(MIN_CONF ": /x\n", "t.conf:3: missing key before ':'");
    parse_bad(MIN_CONF "config directory: /x\n", "t.conf:3: invalid key 'config directory'");
    const char nul[] = "configdirectory: /a\npartition-default: /b\nad\0mins: x\n";
    ls_config *cfg = (ls_config *)1;
    assert_int_equal(ls__config_parse(nul, sizeof nul - 1, "t.conf", &cfg), LS_ECONFIG);
    assert_null(cfg);
    assert_non_null(strstr(ls_error_last(), "t.conf:3: NUL byte"));
    /* A long garbage line is quoted only in part. */
    char longline[400];
    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 1] = 0;
    char buf[600];
    snprintf(buf, sizeof buf, MIN_CONF "%s\n", longline);
    parse_bad(buf, "...'");
    assert_true(strlen(ls_error_last()) < 200);
}

static void test_bad_values(void **state)
{
    parse_bad(MIN_CONF "maxmessagesize: 10M\n", "t.conf:3: maxmessagesize: '10M' is not a non-negative decimal number");
    parse_bad(MIN_CONF "maxmessagesize: -1\n", "t.conf:3: maxmessagesize: negative value '-1'");
    parse_bad(MIN_CONF "maxmessagesize:\n", "t.conf:3: maxmessagesize: empty value");
    parse_bad(MIN_CONF "maxmessagesize: 1 2\n", "t.conf:3: maxmessagesize: '1 2' is not");
    parse_bad(MIN_CONF "maxmessagesize: 99999999999999999999\n", "t.conf:3: maxmessagesize: '99999999999999999999' is too large");
    parse_bad(MIN_CONF "quota_default_storage: abc\n", "t.conf:3: quota_default_storage: 'abc' is not");
    parse_bad(MIN_CONF "quota_default_storage: -5\n", "t.conf:3: quota_default_storage: negative");
    parse_bad(MIN_CONF "annotation_size_limit: 1.5\n", "t.conf:3: annotation_size_limit: '1.5' is not");
    parse_bad(MIN_CONF "hierarchy_separator: :\n", "t.conf:3: hierarchy_separator: ':' is not allowed");
    parse_bad(MIN_CONF "hierarchy_separator: ..\n", "t.conf:3: hierarchy_separator: '..' is not allowed");
    parse_bad(MIN_CONF "hierarchy_separator:\n", "t.conf:3: hierarchy_separator: '' is not allowed");
    parse_bad(MIN_CONF "fsync: none\n", "t.conf:3: fsync: 'none' is not allowed (use 'all' or 'messages')");
    parse_bad(MIN_CONF "fsync: ALL\n", "t.conf:3: fsync: 'ALL' is not allowed");

    ls_config *cfg = parse_ok(MIN_CONF "maxmessagesize: 9223372036854775807\n");
    assert_int_equal(cfg->maxmessagesize, INT64_MAX);
    ls__config_free(cfg);
}

static void test_relative_paths(void **state)
{
    parse_bad("configdirectory: var/lib\npartition-default: /b\n",
              "t.conf:1: configdirectory: 'var/lib' is a relative path");
    parse_bad("configdirectory: /a\npartition-default: ./spool\n",
              "t.conf:2: partition-default: './spool' is a relative path");
    parse_bad(MIN_CONF "groupsfile: groups\n", "t.conf:3: groupsfile: 'groups' is a relative path");
    parse_bad(MIN_CONF "groupsfile:\n", "t.conf:3: groupsfile: empty value, expected an absolute path");
    parse_bad("configdirectory:\npartition-default: /b\n", "t.conf:1: configdirectory: empty value");
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/ls_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = MIN_CONF "admins: root\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ls_config *cfg = NULL;
    assert_int_equal(ls__config_load(path, &cfg), LS_OK);
    assert_string_equal(cfg->path, path);
    assert_true(ls__config_is_admin(cfg, "root"));
    ls__config_free(cfg);

    /* Errors name the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "bogus: 1\n", 9), 9);
    close(fd);
    assert_int_equal(ls__config_load(path, &cfg), LS_ECONFIG);
    assert_null(cfg);
    char want[128];
    snprintf(want, sizeof want, "%s:1: unknown key 'bogus'", path);
    assert_string_equal(ls_error_last(), want);
    unlink(path);

    assert_int_equal(ls__config_load(path, &cfg), LS_ECONFIG);
    assert_non_null(strstr(ls_error_last(), "cannot open"));
    assert_non_null(strstr(ls_error_last(), path));
    assert_int_equal(ls__config_load("/tmp", &cfg), LS_ECONFIG);
    assert_non_null(strstr(ls_error_last(), "/tmp: is a directory"));
    assert_int_equal(ls__config_load("", &cfg), LS_ECONFIG);
    assert_int_equal(ls__config_load(NULL, &cfg), LS_ECONFIG);
}

/* maxmessagesize: 0 is no limit, as in Cyrus (it refused every message). */
static void test_maxmessagesize_zero_is_no_limit(void **state)
{
    ls_config *cfg = parse_ok(MIN_CONF "maxmessagesize: 0\n");
    assert_int_equal(cfg->maxmessagesize, -1);
    ls__config_free(cfg);
    cfg = parse_ok(MIN_CONF "maxmessagesize: 1\n");
    assert_int_equal(cfg->maxmessagesize, 1);
    ls__config_free(cfg);
}

static int setup_maxsize_zero(void **state)
{
    return store_fixture_setup(state, "maxsize0", "configdirectory: @DIR@/conf\npartition-default: @DIR@/spool\n",
                               "maxmessagesize: 0\n");
}
static int teardown_store(void **state) { return store_fixture_teardown(state); }

/* Through the store: with maxmessagesize 0 a 100 KB message is appended and
 * delivered, and the key reads as unset (no limit). */
static void test_maxmessagesize_zero_store(void **state)
{
    fixture *f = *state;
    assert_null(ls_store_config_get(f->st, "maxmessagesize"));
    size_t len = 100000;
    char *msg = malloc(len);
    assert_non_null(msg);
    memset(msg, 'x', len);
    memcpy(msg, "Subject: big\r\n\r\n", 16);
    memcpy(msg + len - 2, "\r\n", 2);
    assert_int_equal(ls_mailbox_create(f->admin, "user.bovik", NULL), LS_OK);
    ls_mailbox *mb;
    assert_int_equal(ls_mailbox_open(f->admin, "user.bovik", 0, &mb), LS_OK);
    uint32_t uid = 0;
    int rc = ls_message_append(mb, msg, len, NULL, &uid);
    if (rc) fprintf(stderr, "append: %s\n", ls_error_last());
    assert_int_equal(rc, LS_OK);
    assert_int_equal(uid, 1);
    const char *users[] = { "bovik" };
    ls_deliver_result res[1];
    assert_int_equal(ls_message_deliver(f->admin, msg, len, users, 1, NULL, NULL, res), LS_OK);
    assert_int_equal(res[0].uid, 2);
    ls_mailbox_close(mb);
    free(msg);
}

/* The one place this file opens a store on a fresh configuration (store
 * creation may become explicit: then this asks for it). */
static int open_new_store(const char *conf, ls_store **st) { return ls_store_open(conf, LS_STORE_OPEN_CREATE, st); }

/* Write a store.conf naming `groups` in dir; returns its path (static). */
static const char *conf_with_groupsfile(const char *dir, const char *groups)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/store.conf", dir);
    FILE *c = fopen(path, "w");
    assert_non_null(c);
    fprintf(c, "configdirectory: %s/conf\npartition-default: %s/spool\ngroupsfile: %s\n", dir, dir, groups);
    assert_int_equal(fclose(c), 0);
    return path;
}

static void load_bad(const char *conf, const char *want)
{
    ls_config *cfg = (ls_config *)1;
    int rc = ls__config_load(conf, &cfg);
    if (rc != LS_ECONFIG || !strstr(ls_error_last(), want))
        fprintf(stderr, "rc=%d message: %s\nwanted: %s\n", rc, ls_error_last(), want);
    assert_int_equal(rc, LS_ECONFIG);
    assert_null(cfg);
    assert_non_null(strstr(ls_error_last(), want));
}

/* A groupsfile that does not exist, cannot be read or is no file stops the
 * store from opening (LS_ECONFIG naming the file and the line): otherwise
 * every group:NAME ACL entry would silently grant nothing. */
static void test_groupsfile_must_exist(void **state)
{
    char dir[] = "/tmp/ls_test_groups_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char groups[300], want[600];
    snprintf(groups, sizeof groups, "%s/groups", dir);
    const char *conf = conf_with_groupsfile(dir, groups);

    snprintf(want, sizeof want, "%s:3: groupsfile: %s does not exist, so group:NAME entries in ACLs "
             "would grant nothing", conf, groups);
    load_bad(conf, want);
    ls_store *st = (ls_store *)1;
    assert_int_equal(open_new_store(conf, &st), LS_ECONFIG);
    assert_null(st);
    assert_non_null(strstr(ls_error_last(), want));

    /* a directory in its place */
    assert_int_equal(mkdir(groups, 0700), 0);
    snprintf(want, sizeof want, "%s:3: groupsfile: %s is not a regular file", conf, groups);
    load_bad(conf, want);
    assert_int_equal(rmdir(groups), 0);

    /* a path that cannot be opened (a file where a directory should be) */
    char below[400];
    snprintf(below, sizeof below, "%s/x", conf);
    conf = conf_with_groupsfile(dir, below);
    snprintf(want, sizeof want, "groupsfile: %s cannot be read: Not a directory", below);
    load_bad(conf, want);

    /* unreadable for the identity opening the store (root reads anything) */
    conf = conf_with_groupsfile(dir, groups);
    FILE *g = fopen(groups, "w");
    assert_non_null(g);
    fputs("group:staff: carol\n", g);
    assert_int_equal(fclose(g), 0);
    if (geteuid() != 0) {
        assert_int_equal(chmod(groups, 0), 0);
        snprintf(want, sizeof want, "groupsfile: %s cannot be read: Permission denied", groups);
        load_bad(conf, want);
        assert_int_equal(chmod(groups, 0600), 0);
    }

    /* there and readable: the store opens */
    ls_config *cfg = NULL;
    assert_int_equal(ls__config_load(conf, &cfg), LS_OK);
    assert_string_equal(cfg->groupsfile, groups);
    ls__config_free(cfg);
    assert_int_equal(open_new_store(conf, &st), LS_OK);
    ls_store_close(st);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_free_null(void **state)
{
    ls__config_free(NULL);
    assert_null(ls__config_partition_path(NULL, "default"));
    assert_int_equal(ls__config_is_admin(NULL, "x"), 0);
    /* NULL name falls back to "<string>". */
    ls_config *cfg = NULL;
    assert_int_equal(ls__config_parse("x", 1, NULL, &cfg), LS_ECONFIG);
    assert_non_null(strstr(ls_error_last(), "<string>:1:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full_spec_example),
        cmocka_unit_test(test_syntax_tolerance),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_unknown_and_duplicate_keys),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_maxmessagesize_zero_is_no_limit),
        cmocka_unit_test_setup_teardown(test_maxmessagesize_zero_store, setup_maxsize_zero, teardown_store),
        cmocka_unit_test(test_groupsfile_must_exist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

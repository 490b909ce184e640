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

#include "core/config.h"
#include "libstore/common.h"

#define MIN_CONF "configdirectory: /var/lib/ls\npartition-default: /var/spool/ls\n"

static ls_config *parse_ok(const char *text)
{
    ls_config *cfg = NULL;
    int rc = ls_config_parse(text, strlen(text), "t.conf", &cfg);
    if (rc) fprintf(stderr, "unexpected error: %s\n", ls_error_last());
    assert_int_equal(rc, LS_OK);
    assert_non_null(cfg);
    return cfg;
}

/* Parse text expecting LS_ECONFIG with a message containing `want`. */
static void parse_bad(const char *text, const char *want)
{
    ls_config *cfg = (ls_config *)1;
    int rc = ls_config_parse(text, strlen(text), "t.conf", &cfg);
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
    assert_string_equal(ls_config_partition_path(cfg, "default"), "/var/spool/ls");
    assert_null(ls_config_partition_path(cfg, "other"));
    assert_int_equal(ls_config_is_admin(cfg, "cyrus"), 0);
    ls_config_free(cfg);
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
    assert_string_equal(ls_config_partition_path(cfg, "default"), "/var/spool/libstore");
    assert_string_equal(ls_config_partition_path(cfg, "big_2-x"), "/srv/big");
    assert_string_equal(cfg->defaultpartition, "big_2-x");
    assert_int_equal(cfg->singleinstancestore, 0);
    assert_int_equal(cfg->sep, '/');
    assert_int_equal(cfg->nadmins, 3);
    assert_string_equal(cfg->admins[0], "cyrus");
    assert_string_equal(cfg->admins[1], "admin");
    assert_string_equal(cfg->admins[2], "other");
    assert_true(ls_config_is_admin(cfg, "admin"));
    assert_false(ls_config_is_admin(cfg, "Admin"));
    assert_false(ls_config_is_admin(cfg, "adm"));
    assert_int_equal(cfg->quota_default_storage, 102400);
    assert_string_equal(cfg->groupsfile, "/etc/libstore/groups");
    assert_int_equal(cfg->maxmessagesize, 52428800);
    assert_int_equal(cfg->fsync_mode, LS_FSYNC_MESSAGES);
    assert_int_equal(cfg->annotation_size_limit, 0);
    ls_config_free(cfg);
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
    ls_config_free(cfg);

    cfg = parse_ok("configdirectory: /\npartition-default: //\n");
    assert_string_equal(cfg->configdirectory, "/");
    assert_string_equal(cfg->partitions[0].path, "/");
    ls_config_free(cfg);
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
        ls_config_free(cfg);
        snprintf(buf, sizeof buf, MIN_CONF "singleinstancestore: %s\n", no[i]);
        cfg = parse_ok(buf);
        assert_int_equal(cfg->singleinstancestore, 0);
        ls_config_free(cfg);
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
    ls_config_free(cfg);
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
    assert_int_equal(ls_config_parse(nul, sizeof nul - 1, "t.conf", &cfg), LS_ECONFIG);
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
    ls_config_free(cfg);
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
    assert_int_equal(ls_config_load(path, &cfg), LS_OK);
    assert_string_equal(cfg->path, path);
    assert_true(ls_config_is_admin(cfg, "root"));
    ls_config_free(cfg);

    /* Errors name the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "bogus: 1\n", 9), 9);
    close(fd);
    assert_int_equal(ls_config_load(path, &cfg), LS_ECONFIG);
    assert_null(cfg);
    char want[128];
    snprintf(want, sizeof want, "%s:1: unknown key 'bogus'", path);
    assert_string_equal(ls_error_last(), want);
    unlink(path);

    assert_int_equal(ls_config_load(path, &cfg), LS_ECONFIG);
    assert_non_null(strstr(ls_error_last(), "cannot open"));
    assert_non_null(strstr(ls_error_last(), path));
    assert_int_equal(ls_config_load("/tmp", &cfg), LS_ECONFIG);
    assert_non_null(strstr(ls_error_last(), "/tmp: is a directory"));
    assert_int_equal(ls_config_load("", &cfg), LS_ECONFIG);
    assert_int_equal(ls_config_load(NULL, &cfg), LS_ECONFIG);
}

static void test_free_null(void **state)
{
    ls_config_free(NULL);
    assert_null(ls_config_partition_path(NULL, "default"));
    assert_int_equal(ls_config_is_admin(NULL, "x"), 0);
    /* NULL name falls back to "<string>". */
    ls_config *cfg = NULL;
    assert_int_equal(ls_config_parse("x", 1, NULL, &cfg), LS_ECONFIG);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The library-wide conventions of common.h (docs/api.md, Conventions):
 * ls_version() is derived from the LS_VERSION_* macros and agrees with the
 * project version; the last error has one lifetime, per thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstore/libstore.h"

static void version_is_the_macros(void **state)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LS_VERSION_MAJOR, LS_VERSION_MINOR, LS_VERSION_PATCH);
    assert_string_equal(LS_VERSION_STRING, want);
    assert_string_equal(ls_version(), want);
}

/* The version in the header is the one CMake builds and installs (libstore.pc). */
static void version_is_the_project_version(void **state)
{
    FILE *f = fopen(LS_SOURCE_DIR "/CMakeLists.txt", "r");
    assert_non_null(f);
    char line[512], found[32] = "";
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "project(libstore VERSION ");
        if (p && sscanf(p + strlen("project(libstore VERSION "), "%31[0-9.]", found) == 1)
            break;
    }
    fclose(f);
    assert_string_equal(found, ls_version());
}

static void error_is_the_last_failure(void **state)
{
    ls_error_clear();
    assert_string_equal(ls_error_last(), "");
    assert_int_equal(ls_error_last_code(), LS_OK);

    ls_set s;
    assert_int_equal(ls_set_parse("1:x", &s), LS_EINVAL);
    assert_int_equal(ls_error_last_code(), LS_EINVAL);
    char first[256];
    snprintf(first, sizeof first, "%s", ls_error_last());
    assert_non_null(strstr(first, "x"));

    /* a successful call leaves the record alone */
    assert_int_equal(ls_set_parse("1:3", &s), LS_OK);
    ls_set_dispose(&s);
    assert_string_equal(ls_error_last(), first);

    /* the next failure replaces it */
    assert_int_equal(ls_name_validate("user..x", '.'), LS_EBADNAME);
    assert_int_equal(ls_error_last_code(), LS_EBADNAME);
    assert_string_not_equal(ls_error_last(), first);
    assert_true(ls_error_last()[0] != 0);

    ls_error_clear();
    assert_string_equal(ls_error_last(), "");
    assert_int_equal(ls_error_last_code(), LS_OK);
}

static void *fail_in_thread(void *arg)
{
    ls_set s;
    int *rc = arg;
    *rc = ls_set_parse("0", &s);
    return NULL;
}

static void error_is_per_thread(void **state)
{
    ls_error_clear();
    assert_int_equal(ls_name_validate("", '.'), LS_EBADNAME);
    char mine[256];
    snprintf(mine, sizeof mine, "%s", ls_error_last());
    pthread_t t;
    int rc = 0;
    assert_int_equal(pthread_create(&t, NULL, fail_in_thread, &rc), 0);
    pthread_join(t, NULL);
    assert_int_equal(rc, LS_EINVAL);
    assert_string_equal(ls_error_last(), mine);
    assert_int_equal(ls_error_last_code(), LS_EBADNAME);
}

static void error_string_is_static(void **state)
{
    assert_string_equal(ls_error_string(LS_OK), "success");
    assert_string_equal(ls_error_string(LS_EINVAL), "invalid argument");
    assert_string_equal(ls_error_string(12345), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_is_the_macros),
        cmocka_unit_test(version_is_the_project_version),
        cmocka_unit_test(error_is_the_last_failure),
        cmocka_unit_test(error_is_per_thread),
        cmocka_unit_test(error_string_is_static),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The fixture the API-level unit tests share: a fresh store in a temporary
 * directory, opened, with an administrator session. Tests that include it
 * name their setups and call store_fixture_setup / store_fixture_teardown.
 */
#ifndef LS_TEST_STORE_FIXTURE_H
#define LS_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstore/libstore.h"

typedef struct fixture {
    char dir[256];
    char conf[300];
    ls_store *st;
    ls_session *admin;
} fixture;

/* Make /tmp/ls-TAG-XXXXXX, write its store.conf from conf_template (every
 * "@DIR@" replaced by the directory) followed by extra, open the store and
 * an administrator session; *state is the fixture. */
static inline int store_fixture_setup(void **state, const char *tag, const char *conf_template, const char *extra)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/ls-%s-XXXXXX", tag);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->conf, sizeof f->conf, "%s/store.conf", f->dir);
    FILE *c = fopen(f->conf, "w");
    if (!c)
        return -1;
    for (const char *p = conf_template; *p;) {
        const char *at = strstr(p, "@DIR@");
        size_t n = at ? (size_t)(at - p) : strlen(p);
        fwrite(p, 1, n, c);
        if (!at)
            break;
        fputs(f->dir, c);
        p = at + 5;
    }
    fputs(extra ? extra : "", c);
    fclose(c);
    if (ls_store_open(f->conf, LS_STORE_OPEN_CREATE, &f->st) != LS_OK) { /* a fresh store: created */
        fprintf(stderr, "open: %s\n", ls_error_last());
        return -1;
    }
    if (ls_session_new(f->st, NULL, &f->admin) != LS_OK)
        return -1;
    *state = f;
    return 0;
}

static inline int store_fixture_teardown(void **state)
{
    fixture *f = *state;
    ls_session_free(f->admin);
    ls_store_close(f->st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Messages (a, ua) and (b, ub) are one file with nlink names (single
 * instance). Needs cmocka.h and sys/stat.h included before this header. */
static inline void fixture_assert_one_file(ls_mailbox *a, uint32_t ua, ls_mailbox *b, uint32_t ub,
                                           unsigned long nlink)
{
    char *pa, *pb;
    assert_int_equal(ls_message_path(a, ua, &pa), LS_OK);
    assert_int_equal(ls_message_path(b, ub, &pb), LS_OK);
    struct stat sa, sb;
    assert_int_equal(stat(pa, &sa), 0);
    assert_int_equal(stat(pb, &sb), 0);
    assert_true(sa.st_ino == sb.st_ino); /* one file, two names */
    assert_int_equal(sa.st_nlink, nlink);
    ls_free(pa);
    ls_free(pb);
}

#endif

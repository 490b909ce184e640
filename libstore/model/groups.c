/*
 * Group membership for "group:NAME" ACL identifiers: a resolver the server
 * registers, or else the `groupsfile` of the configuration, read once
 * ("group:NAME: user1 user2 ..." lines; '#' comments; blank lines).
 */
#include "store_impl.h"
#include "core/fsutil.h"

#include <stdlib.h>
#include <string.h>

void ls_acl_set_group_resolver(ls_store *st, ls_acl_group_cb cb, void *arg)
{
    pthread_mutex_lock(&st->groups_mu);
    st->group_cb = cb;
    st->group_arg = arg;
    pthread_mutex_unlock(&st->groups_mu);
}

/* Parse the groupsfile into st->groups: "NAME\0user user user\0" pairs. */
static void load_groupsfile(ls_store *st)
{
    st->groups_loaded = 1;
    if (!st->cfg->groupsfile)
        return;
    char *buf;
    size_t len;
    if (ls__read_file(st->cfg->groupsfile, &buf, &len) != LS_OK) {
        /* the store did not open without it (config.c, check_groupsfile):
         * it went away since, and no file means no groups */
        ls_error_clear();
        return;
    }
    st->groups = buf;
    st->groups_len = len;
}

/* Is `user` listed on the line of group `group` in the groups file text? */
static int file_member(const char *text, size_t len, const char *group, const char *user)
{
    size_t glen = strlen(group), ulen = strlen(user);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if ((size_t)(le - p) > 6 + glen && !memcmp(p, "group:", 6) && !memcmp(p + 6, group, glen) && p[6 + glen] == ':') {
            const char *q = p + 7 + glen;
            while (q < le) {
                while (q < le && (*q == ' ' || *q == '\t' || *q == ',' || *q == '\r'))
                    q++;
                const char *w = q;
                while (q < le && *q != ' ' && *q != '\t' && *q != ',' && *q != '\r')
                    q++;
                if ((size_t)(q - w) == ulen && !memcmp(w, user, ulen))
                    return 1;
            }
        }
        p = le + 1;
    }
    return 0;
}

int ls__group_member(ls_store *st, const char *group, const char *user)
{
    pthread_mutex_lock(&st->groups_mu);
    int r = 0;
    if (st->group_cb) {
        ls_acl_group_cb cb = st->group_cb;
        void *arg = st->group_arg;
        pthread_mutex_unlock(&st->groups_mu);
        return cb(group, user, arg) > 0;
    }
    if (!st->groups_loaded)
        load_groupsfile(st);
    if (st->groups)
        r = file_member(st->groups, st->groups_len, group, user);
    pthread_mutex_unlock(&st->groups_mu);
    return r;
}

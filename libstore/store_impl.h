/*
 * The handles behind the public opaque types, shared by the modules of the
 * library (never by tools: they see only include/libstore/).
 */
#ifndef LS_STORE_IMPL_H
#define LS_STORE_IMPL_H

#include "libstore/libstore.h"
#include "core/config.h"
#include "core/env.h"
#include "core/error.h"
#include "core/watch.h"
#include "layout/layout.h"
#include "model/record.h"

#define LS_NAME_BUF 512 /* > LS_NAME_MAX (490) + NUL */

struct ls_store {
    ls_config *cfg;
    ls_env *env;
    ls_layout *layout;
    char *envdir;        /* CONFIGDIR itself: data.mdb and lock.mdb live there */
    char *lockdir;       /* CONFIGDIR/lock: per-mailbox append locks, IDLE signals */
    uint8_t id[LS_UUID_LEN]; /* the store's identity (core/identity.h) */
    int rdonly;
    pthread_mutex_t groups_mu;   /* guards the group resolver and the groups file */
    ls_acl_group_cb group_cb;
    void *group_arg;
    char *groups;                /* the groupsfile's text, read on first use */
    size_t groups_len;
    int groups_loaded;
    ls_watch *watch;             /* one change watcher for all waiters (IDLE) */
};

struct ls_session {
    ls_store *st;
    char *identity;      /* NULL: administrator */
    int admin;           /* identity NULL or listed in admins */
};

struct ls_mailbox {
    ls_session *s;
    ls_mbref ref;        /* uuid and partition (partition points into `partition`) */
    char partition[64];
    char *name;          /* current internal name, refreshed on use */
    char *owner;         /* user of user.NAME..., or NULL */
    int rdonly;
    uint32_t uidvalidity;
    char **keywords;     /* cached keyword names of the mailbox */
    size_t nkeywords;
    int watched;         /* holds a reference on st->watch (ls_mailbox_watch) */
    /* \Recent for this session: the UID ranges [lo, hi] it claimed */
    ls_range *recent;
    size_t nrecent;
};

/* A mailbox resolved inside a transaction. */
typedef struct ls_mbox {
    char *name;
    ls_mbentry entry;
    ls_mbstate state;
    ls_mbref ref;
} ls_mbox;

/* Look up a mailbox by name in txn t. Errors: LS_ENOTFOUND (message names it). */
int ls__mbox_load(ls_txn *t, const char *name, ls_mbox *out);
/* Look up by unique id. */
int ls__mbox_load_uuid(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_mbox *out);
void ls__mbox_clear(ls_mbox *m);
int ls__mbstate_get(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_mbstate *s);
/* Write the state. A HIGHESTMODSEQ past the mark store.header holds
 * raises the mark: store.header is rewritten right before t commits. */
int ls__mbstate_put(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const ls_mbstate *s);
/* ls_env.before_commit: write the store.header marks t raised. */
void ls__mbox_raise_marks(ls_txn *t);
void ls__mbref_set(ls_mbref *ref, const uint8_t uuid[LS_UUID_LEN], const char *partition);

/* Per-mailbox append lock (flock on CONFIGDIR/lock/UUID), serialising UID
 * choice through commit. Returns an fd to pass to ls__mbox_unlock. */
int ls__mbox_lock(ls_store *st, const char *uuidstr, int *fd);
void ls__mbox_unlock(int fd);
/* Wake sessions waiting on this mailbox (after a commit). */
void ls__mbox_notify(ls_store *st, const char *uuidstr);

/* Open the store of config_path whose environment is gone (reconstruct -m
 * moved it aside), making a new empty one that carries identity id, and the
 * configdirectory's marker if it lacks one. Partitions are not labelled. */
int ls__store_open_rebuilt(const char *config_path, const uint8_t id[LS_UUID_LEN], ls_store **out);

/* Write store.header for mailbox m (name, ids, ACL, high-water marks),
 * reading quota and annotations in a read snapshot of its own. */
int ls__header_write(ls_store *st, const ls_mbox *m);
/* The same, reading them through transaction t (a write transaction that
 * must raise the HIGHESTMODSEQ mark before it commits: ls__mbstate_put). */
int ls__header_write_in(ls_store *st, ls_txn *t, const ls_mbox *m);

/* Rights (RFC 4314), as a bit mask over "lrswipkxtean". */
enum {
    LS_RIGHT_L = 1u << 0, LS_RIGHT_R = 1u << 1, LS_RIGHT_S = 1u << 2, LS_RIGHT_W = 1u << 3,
    LS_RIGHT_I = 1u << 4, LS_RIGHT_P = 1u << 5, LS_RIGHT_K = 1u << 6, LS_RIGHT_X = 1u << 7,
    LS_RIGHT_T = 1u << 8, LS_RIGHT_E = 1u << 9, LS_RIGHT_A = 1u << 10, LS_RIGHT_N = 1u << 11,
    LS_RIGHT_ALL = (1u << 12) - 1,
};
/* "lrswipkxtean" (and the obsolete c, d) -> bits. */
unsigned ls__rights_parse(const char *r);
/* Bits -> letters in canonical order. */
void ls__rights_format(unsigned bits, char out[13]);
/* 1 if user belongs to group (resolver, else groupsfile). */
int ls__group_member(ls_store *st, const char *group, const char *user);
/* The rights of session s on mailbox `name` with ACL string `acl`. */
unsigned ls__rights(const ls_session *s, const char *name, const char *acl);
/* Check `need` on mailbox m; LS_ENOTFOUND when even `l` is missing (a mailbox
 * the identity may not see does not exist for it), else LS_EPERM. */
int ls__require(const ls_session *s, const ls_mbox *m, unsigned need, const char *what);



/* Mailbox-list helpers shared by create, rename and repair. */
int ls__mbox_nearest_ancestor(ls_txn *t, const char *name, char sep, ls_mbox *anc);
int ls__mbox_insert(ls_txn *t, const char *name, const uint8_t uuid[LS_UUID_LEN], const char *partition,
                   const char *acl, ls_mbox *out);
/* Rewrite the entry of m (after changing m->entry) under m->name. */
int ls__mbox_put_entry(ls_txn *t, const ls_mbox *m);
int ls__mbox_purge(ls_txn *t, const ls_mbox *m, char sep);
int ls__mbox_children(ls_txn *t, const char *name, char sep, char ***out, size_t *n);
void ls__names_free(char **names, size_t n);
int ls__db_del_prefix(ls_txn *t, int db, const void *prefix, size_t plen);
/* A growable list of strings. */
typedef struct ls_namelist { char **v; size_t n, cap; } ls_namelist;
int ls__namelist_add(ls_namelist *l, const char *s);
int ls__namelist_take(ls_namelist *l, char *s);
void ls__namelist_free(ls_namelist *l);
int ls__user_forget(ls_txn *t, const char *user, ls_namelist *changed);
int ls__acl_forget_user(ls_txn *t, const char *user, ls_namelist *changed);

int ls__quota_define(ls_txn *t, const char *root, char sep, const int64_t limits[LS_QUOTA_NRESOURCES]);
int ls__quota_undefine(ls_txn *t, const char *root, char sep);
int ls__seen_forget_user(ls_txn *t, const char *user);
int ls__seen_rename_user(ls_txn *t, const char *from, const char *to);
int ls__subs_follow(ls_txn *t, const char *user, const char *oldp, const char *newp, char sep);
int ls__mailbox_reload(ls_mailbox *mb, ls_txn *t, ls_mbox *m, unsigned need, const char *what);

#endif

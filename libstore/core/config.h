/*
 * Store configuration (docs/contract.md §1.1): a "key: value" file in the syntax of Cyrus
 * imapd.conf. '#' starts a comment (at line start or after whitespace), blank
 * lines are ignored, keys are case-sensitive, values are trimmed.
 *
 * Errors are LS_ECONFIG with a message naming the file and line, e.g.
 *   "/etc/store.conf:7: unknown key 'partiton-default'".
 */
#ifndef LS_CORE_CONFIG_H
#define LS_CORE_CONFIG_H

#include <stdint.h>
#include <stddef.h>

enum ls_fsync_mode { LS_FSYNC_ALL = 0, LS_FSYNC_MESSAGES = 1 };

typedef struct ls_partition_conf {
    char *name;   /* "default" for partition-default */
    char *path;   /* absolute directory, no trailing '/' */
} ls_partition_conf;

typedef struct ls_config {
    char *path;                  /* the file it was read from ("<string>" if parsed from memory) */
    char *configdirectory;       /* required; absolute */
    ls_partition_conf *partitions;
    size_t npartitions;          /* at least one is required */
    char *defaultpartition;      /* default "default"; must name a configured partition */
    int singleinstancestore;     /* yes/no/on/off/true/false/1/0; default 1 */
    char sep;                    /* hierarchy_separator: '.' (default) or '/' */
    char **admins;               /* space-separated identifiers; may be empty */
    size_t nadmins;
    int64_t quota_default_storage; /* KiB; -1 when absent */
    char *groupsfile;            /* NULL when absent; absolute; ls__config_load checks it is readable */
    unsigned groupsfile_line;    /* its line in the file, for messages */
    int64_t maxmessagesize;      /* bytes; -1 when absent or 0 (no limit, as in Cyrus) */
    int fsync_mode;              /* enum ls_fsync_mode; default LS_FSYNC_ALL */
    int64_t annotation_size_limit; /* annotation_size_limit: bytes per mailbox; default 65536 */
} ls_config;

/* Read and validate the file at path. On success *out is owned by the caller
 * (ls__config_free). Errors: LS_ECONFIG (missing file, syntax error, unknown
 * key, bad value, relative directory, missing required key, a groupsfile
 * that does not exist or cannot be read), LS_ENOMEM. */
int ls__config_load(const char *path, ls_config **out);
/* The configuration file an open uses: path, else $LIBSTORE_CONFIG, else
 * ./store.conf (docs/api.md, ls_store_open). Never NULL. */
const char *ls__config_default_path(const char *path);

/* Same from a buffer (not NUL-terminated; may contain NULs, which are an
 * error). name is used in messages. Used by ls__config_load and the fuzzer.
 * It touches no file: the groupsfile is not checked. */
int ls__config_parse(const char *text, size_t len, const char *name, ls_config **out);

void ls__config_free(ls_config *cfg);

/* The directory of partition `name`, or NULL if not configured. */
const char *ls__config_partition_path(const ls_config *cfg, const char *name);

/* 1 if id is listed in admins. */
int ls__config_is_admin(const ls_config *cfg, const char *id);

#endif

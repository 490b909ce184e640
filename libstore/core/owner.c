/*
 * ls_store_check_owner: a tool run as root must not work on a store that
 * another user (the service user) owns. Every file it created would belong
 * to root, and the service, running as its own user, could then neither
 * read nor replace it (a root-owned lock file, store.header or message file
 * breaks the mailbox for good). Cyrus's tools refuse the same way.
 */
#include "core/config.h"
#include "core/error.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libstore/store.h"

/* Refuse if dir exists and belongs to someone other than root. */
static int foreign(const char *dir, const char *what)
{
    struct stat sb;
    if (stat(dir, &sb) != 0 || sb.st_uid == 0)
        return LS_OK; /* missing: nothing of another user's to spoil */
    struct passwd pw, *res = NULL;
    char buf[1024];
    const char *user = getpwuid_r(sb.st_uid, &pw, buf, sizeof buf, &res) == 0 && res ? res->pw_name : NULL;
    char who[300];
    if (user)
        snprintf(who, sizeof who, "user '%s' (uid %lu)", user, (unsigned long)sb.st_uid);
    else
        snprintf(who, sizeof who, "uid %lu", (unsigned long)sb.st_uid);
    return ls__err(LS_EPERM,
                  "refusing to run as root on a store owned by %s (%s %s): files created as root would break "
                  "the service; run the command as that user (e.g. runuser -u %s -- COMMAND)",
                  who, what, dir, user ? user : "USER");
}

int ls_store_check_owner(const char *config_path)
{
    if (geteuid() != 0)
        return LS_OK;
    config_path = ls__config_default_path(config_path);
    ls_config *cfg;
    int rc = ls__config_load(config_path, &cfg);
    if (rc)
        return rc;
    rc = foreign(cfg->configdirectory, "configuration directory");
    for (size_t i = 0; !rc && i < cfg->npartitions; i++)
        rc = foreign(cfg->partitions[i].path, "partition");
    ls__config_free(cfg);
    return rc;
}

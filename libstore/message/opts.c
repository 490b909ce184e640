/* Versioned option structs of the message calls: refuse a layout this
 * library does not know instead of misreading it (docs/api.md, Conventions). */
#include "message/message_impl.h"
#include "core/error.h"

#include <string.h>

int ls__append_opts_check(const ls_append_opts *o, const char *what)
{
    static const ls_append_opts zero;
    if (!o || o->version == LS_APPEND_OPTS_VERSION)
        return LS_OK;
    /* all zero is "no options" in every version: a calloc'd batch item */
    if (memcmp(o, &zero, sizeof zero) == 0)
        return LS_OK;
    return ls__err(LS_EINVAL, "%s: ls_append_opts version %u, this library knows %u (start from LS_APPEND_OPTS_INIT)",
                   what, o->version, (unsigned)LS_APPEND_OPTS_VERSION);
}

int ls__store_opts_check(const ls_message_store_opts *o)
{
    if (!o)
        return ls__err(LS_EINVAL, "ls_message_store: no options (start from LS_MESSAGE_STORE_OPTS_INIT)");
    if (o->version != LS_MESSAGE_STORE_OPTS_VERSION)
        return ls__err(LS_EINVAL,
                       "ls_message_store: ls_message_store_opts version %u, this library knows %u "
                       "(start from LS_MESSAGE_STORE_OPTS_INIT)",
                       o->version, (unsigned)LS_MESSAGE_STORE_OPTS_VERSION);
    return LS_OK;
}

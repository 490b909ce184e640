/* libstore.h - include everything a server author needs. */
#ifndef LIBSTORE_H
#define LIBSTORE_H
#include "libstore/common.h"
#include "libstore/imap.h"
#include "libstore/store.h"
#include "libstore/mailbox.h"
#include "libstore/message.h"
#include "libstore/acl.h"
#include "libstore/quota.h"
#include "libstore/subs.h"
#endif

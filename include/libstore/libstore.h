/* libstore.h - include everything a server author needs (repair.h, for
 * tool writers, is separate). */
#ifndef LIBSTORE_H
#define LIBSTORE_H
#include "libstore/common.h"
#include "libstore/set.h"
#include "libstore/uidmap.h"
#include "libstore/date.h"
#include "libstore/flag.h"
#include "libstore/names.h"
#include "libstore/store.h"
#include "libstore/session.h"
#include "libstore/mailbox.h"
#include "libstore/message.h"
#include "libstore/acl.h"
#include "libstore/quota.h"
#include "libstore/subs.h"
#include "libstore/annotation.h"
#endif

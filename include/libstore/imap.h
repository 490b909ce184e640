/*
 * libstore/imap.h - the IMAP syntax helpers a server needs around the store,
 * in one include: sets (set.h), dates (date.h), flag names (flag.h).
 * Declares nothing itself; kept so that existing includes keep working.
 */
#ifndef LIBSTORE_IMAP_H
#define LIBSTORE_IMAP_H

#include "libstore/set.h"
#include "libstore/date.h"
#include "libstore/flag.h"

#endif

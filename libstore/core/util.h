/*
 * Small pure helpers shared by the library and the tools' parsing code:
 * UID/sequence sets, IMAP dates, flag names. None touches the disk.
 */
#ifndef LS_CORE_UTIL_H
#define LS_CORE_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "libstore/common.h"
#include "libstore/set.h"
#include "libstore/date.h"
#include "libstore/flag.h"

/* Sets, dates and flag names are public API: libstore/set.h, date.h and
 * flag.h declare them (once, there, so that declarations cannot drift). */

#endif

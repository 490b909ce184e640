/*
 * A last line of defence for the tools: a fatal signal becomes a message
 * that names the likely cause and the repair, and exit status 1 (failure),
 * instead of a bare "Segmentation fault".
 *
 * Why it is needed: LMDB keeps no checksums of its pages and reads them in
 * place from the map. A data.mdb whose pages were overwritten with garbage
 * (a disk or copy error) can make LMDB follow a wild offset or fail one of
 * its assertions (abort) in any process that reads the damaged page.
 * libstore checks what it can (the file's size at open, a CRC on every
 * record and cache entry, LMDB's own page-number bounds), but it cannot
 * check LMDB's internal page layout before LMDB walks it. The repair is
 * `reconstruct -m`, which rebuilds the environment from the message files
 * and store.header without reading the damaged one.
 *
 * Not installed in sanitizer builds, whose own handlers report the fault.
 */
#ifndef LS_TOOL_CRASH_GUARD_H
#define LS_TOOL_CRASH_GUARD_H

#include <signal.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define LS_CRASH_GUARD_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define LS_CRASH_GUARD_OFF 1
#endif
#endif

static const char *crash_guard_prog = "libstore";

static void crash_guard_say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

static void crash_guard_handler(int sig)
{
    /* async-signal-safe calls only: write(2) and _exit(2) */
    crash_guard_say(crash_guard_prog);
    crash_guard_say(sig == SIGABRT ? ": stopped by an internal assertion (SIGABRT)"
                    : sig == SIGBUS ? ": stopped by a bus error (SIGBUS)"
                                    : ": stopped by a memory fault (SIGSEGV)");
    crash_guard_say(" while reading the store. The most likely cause is a damaged LMDB environment "
                    "(data.mdb in the configdirectory): LMDB keeps no page checksums. Stop every "
                    "process using the store and run 'reconstruct -m' (docs/admin.md, 'The LMDB "
                    "environment is lost, truncated or overwritten'). If 'mailstore check' passes "
                    "and this repeats, it is a bug: please report it.\n");
    _exit(1);
}

/* Call first thing in main(). */
static void crash_guard_install(const char *prog)
{
#ifndef LS_CRASH_GUARD_OFF
    const char *slash = strrchr(prog, '/');
    crash_guard_prog = slash ? slash + 1 : prog;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_guard_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
#else
    (void)prog;
    (void)crash_guard_say;
    (void)crash_guard_handler;
#endif
}

#endif

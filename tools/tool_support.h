/*
 * tools/tool_support.h - what the repair tools (reconstruct, quota,
 * mbexamine, ctl_mboxlist) share: exit codes, progress on stderr after a
 * second, error and usage messages. Each tool defines PROG before it
 * includes this header. Static functions: every tool stays one program.
 */
#ifndef LS_TOOL_SUPPORT_H
#define LS_TOOL_SUPPORT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "libstore/libstore.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* ------------------------------------------------------------------------ */
/* Progress on stderr: a thread wakes after one second and then every five  */
/* seconds, and tells how long the run has taken, how many report lines it  */
/* produced and the mailbox of the last one. Errors are printed under the   */
/* same lock so that lines never interleave.                                */
/* ------------------------------------------------------------------------ */

typedef struct progress {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int running, stop, printed;
    struct timespec start;
    unsigned long long lines;
    char where[128];
    const char *noun;   /* "change" */
} progress;

#ifndef PROG_NOUN
#define PROG_NOUN "change" /* what a report line is, in progress messages */
#endif
static progress P = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .noun = PROG_NOUN };

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - P.start.tv_sec) + (double)(now.tv_nsec - P.start.tv_nsec) / 1e9;
}

static void *progress_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&P.mu);
    double next = 1.0;
    while (!P.stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double wait = next - elapsed();
        if (wait > 0) {
            until.tv_sec += (time_t)wait;
            until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
            pthread_cond_timedwait(&P.cv, &P.mu, &until);
            continue;
        }
        fprintf(stderr, "%s: working: %.0f s, %llu %s%s so far%s%s\n", PROG, elapsed(), P.lines, P.noun,
                P.lines == 1 ? "" : "s", P.where[0] ? ", last in " : "", P.where);
        P.printed = 1;
        next += next < 1.5 ? 4.0 : 5.0;
    }
    pthread_mutex_unlock(&P.mu);
    return NULL;
}

static void progress_start(int enabled)
{
    clock_gettime(CLOCK_MONOTONIC, &P.start);
    if (enabled && pthread_create(&P.thread, NULL, progress_main, NULL) == 0)
        P.running = 1;
}

/* Count a report line; remember its mailbox (the text before ": "). */
static void progress_note(const char *line)
{
    pthread_mutex_lock(&P.mu);
    P.lines++;
    const char *colon = strstr(line, ": ");
    size_t n = colon ? (size_t)(colon - line) : 0;
    if (n >= sizeof P.where) n = sizeof P.where - 1;
    memcpy(P.where, line, n);
    P.where[n] = 0;
    pthread_mutex_unlock(&P.mu);
}

static void progress_stop(int ok)
{
    if (!P.running) return;
    pthread_mutex_lock(&P.mu);
    P.stop = 1;
    pthread_cond_signal(&P.cv);
    pthread_mutex_unlock(&P.mu);
    pthread_join(P.thread, NULL);
    P.running = 0;
    if (P.printed)
        fprintf(stderr, "%s: %s after %.1f s, %llu %s%s\n", PROG, ok ? "done" : "stopped", elapsed(), P.lines,
                P.noun, P.lines == 1 ? "" : "s");
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */
/* ------------------------------------------------------------------------ */

static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&P.mu);
    fprintf(stderr, "%s: ", PROG);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    putc('\n', stderr);
    pthread_mutex_unlock(&P.mu);
}

static const char *lserr(int rc)
{
    const char *m = ls_error_last();
    return m && *m ? m : ls_error_string(rc);
}

/* Run as root on a store that another user owns, a tool would leave
 * root-owned files that break the service: refuse, as Cyrus does
 * (ls_store_check_owner). Call before ls_store_open. Returns EXIT_OK, or
 * EXIT_FAIL after printing why. Other errors (a missing configuration) are
 * left for ls_store_open to report. */
static int refuse_foreign_owner(const char *conf)
{
    int rc = ls_store_check_owner(conf);
    if (rc != LS_EPERM)
        return EXIT_OK;
    errorf("%s", lserr(rc));
    return EXIT_FAIL;
}

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_err(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", PROG);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", PROG);
    return EXIT_USAGE;
}

#endif

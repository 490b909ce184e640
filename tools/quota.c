/*
 * quota - report quota roots, or recompute their usage (docs/contract.md §3.5).
 *
 *   quota [-C FILE] [-f] [-n] [-q] [PREFIX...]
 *
 * Without -f: one line per quota root and limited resource,
 *   ROOT RESOURCE LIMIT USAGE PERCENT%
 * (STORAGE in KiB, usage rounded up). With -f: ls_repair_quota_fix() per PREFIX,
 * one line per change on stdout and nothing else there. Errors go to
 * stderr as "quota: message"; progress goes to stderr when a run takes more
 * than a second. Only the public API is used.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include "libstore/libstore.h"
#include "libstore/repair.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "quota"

#include "tool_support.h"
#include "crash_guard.h"

static void print_help(FILE *f)
{
    fputs(
        "NAME\n"
        "    quota - report and fix quota roots of a libstore store\n"
        "\n"
        "SYNOPSIS\n"
        "    quota [-C FILE] [-q] [PREFIX...]\n"
        "    quota [-C FILE] -f [-n] [-q] [PREFIX...]\n"
        "    quota --help | --version\n"
        "\n"
        "DESCRIPTION\n"
        "    A quota root is a mailbox name (user.bovik) that limits the mailboxes at or\n"
        "    below it with no nearer root. Without PREFIX every root is shown or fixed;\n"
        "    with PREFIX... only the roots whose names start with one of them.\n"
        "\n"
        "    Without -f, quota prints one line per root and resource that has a limit,\n"
        "    in root name order, fields separated by one space:\n"
        "        ROOT RESOURCE LIMIT USAGE PERCENT%\n"
        "    e.g.\n"
        "        user.bovik STORAGE 102400 5123 5%\n"
        "        user.bovik MESSAGE 5000 311 6%\n"
        "        shared.news STORAGE none 20480 -\n"
        "    RESOURCE is STORAGE (LIMIT and USAGE in KiB, the usage rounded up from\n"
        "    bytes), MESSAGE (messages) or MAILBOX (mailboxes). PERCENT is USAGE * 100 /\n"
        "    LIMIT rounded down (a limit of 0 is 100% as soon as anything is used). A\n"
        "    root with no limit at all is listed once, with its STORAGE usage, LIMIT\n"
        "    'none' and PERCENT '-'.\n"
        "\n"
        "    With -f, quota recomputes the usage of every root from the index records of\n"
        "    the mailboxes it governs, corrects the roots whose usage is wrong, and\n"
        "    removes roots whose mailbox no longer exists. It prints one line per change\n"
        "    on standard output and nothing else there (nothing when all was right), e.g.\n"
        "        user.bovik: STORAGE usage 12 -> 15 KiB (12003 -> 15320 bytes)\n"
        "        user.gone: quota root removed (no such mailbox)\n"
        "    The result is exact even while other processes append and expunge: each\n"
        "    root is recomputed and corrected in one transaction. A second run prints\n"
        "    nothing.\n"
        "\n"
        "OPTIONS\n"
        "    -C FILE   use the configuration file FILE (default: $LIBSTORE_CONFIG, then\n"
        "              ./store.conf)\n"
        "    -f        fix: recompute usage, remove roots of missing mailboxes\n"
        "    -n        dry run: with -f, report what would change and change nothing\n"
        "              (without -f, quota never changes anything)\n"
        "    -q        quiet. With -f: print nothing but errors (the fixes are made all\n"
        "              the same). Without -f: print only the lines of resources at or\n"
        "              over their limit (for monitoring: no output means all is well)\n"
        "    -h, --help     print this help and exit\n"
        "    --version      print the version and exit\n"
        "\n"
        "EXIT STATUS\n"
        "    0  success\n"
        "    1  failure (the store cannot be opened, an I/O error)\n"
        "    2  usage error\n"
        "\n"
        "ENVIRONMENT\n"
        "    LIBSTORE_CONFIG  the configuration file when -C is not given\n"
        "\n"
        "EXAMPLES\n"
        "    quota                       # every root\n"
        "    quota user.bovik            # roots starting with user.bovik\n"
        "    quota -q                    # only roots that are full\n"
        "    quota -f -n                 # what is wrong?\n"
        "    quota -f && mailstore check\n"
        "\n"
        "SEE ALSO\n"
        "    mailstore(1) (setquota, getquota), reconstruct(8), docs/admin.md\n",
        f);
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct lister {
    char **prefixes;
    int nprefixes;
    int quiet;
} lister;

static int matches(const lister *l, const char *root)
{
    if (l->nprefixes == 0) return 1;
    for (int i = 0; i < l->nprefixes; i++)
        if (!strncmp(root, l->prefixes[i], strlen(l->prefixes[i]))) return 1;
    return 0;
}

static void print_resource(const lister *l, const char *root, int res, int64_t limit, uint64_t usage_raw)
{
    uint64_t usage = res == LS_QUOTA_STORAGE ? usage_raw / 1024 + (usage_raw % 1024 != 0) : usage_raw;
    if (limit < 0) {
        if (!l->quiet) printf("%s %s none %" PRIu64 " -\n", root, ls_quota_resource_name(res), usage);
        return;
    }
    uint64_t lim = (uint64_t)limit;
    if (l->quiet && usage < lim) return;
    uint64_t pct = lim ? (usage > UINT64_MAX / 100 ? usage / lim * 100 : usage * 100 / lim) : (usage ? 100 : 0);
    printf("%s %s %" PRIu64 " %" PRIu64 " %" PRIu64 "%%\n", root, ls_quota_resource_name(res), lim, usage, pct);
}

static int list_cb(const ls_quota *q, void *arg)
{
    lister *l = arg;
    if (!matches(l, q->root)) return 0;
    int any = 0;
    for (int res = 0; res < LS_QUOTA_NRESOURCES; res++)
        if (q->limit[res] >= 0) {
            print_resource(l, q->root, res, q->limit[res], q->usage[res]);
            any = 1;
        }
    if (!any) print_resource(l, q->root, LS_QUOTA_STORAGE, -1, q->usage[LS_QUOTA_STORAGE]);
    progress_note(q->root);
    return ferror(stdout) ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Fixing                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct run {
    int quiet;
    int out_error;
} run;

static void report_cb(const char *line, void *arg)
{
    run *r = arg;
    progress_note(line);
    if (r->quiet) return;
    if (fputs(line, stdout) == EOF || putchar('\n') == EOF) r->out_error = 1;
}

int main(int argc, char **argv)
{
    crash_guard_install(argv[0]);
    const char *conf = NULL;
    int fix = 0, dry = 0, quiet = 0;

    for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--help")) { print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK; }
        if (!strcmp(argv[i], "--version")) { printf("%s (libstore %s)\n", PROG, ls_version()); return EXIT_OK; }
        if (argv[i][1] == '-') return usage_err("unknown option '%s'", argv[i]);
        if (argv[i][1] == 'C' && !argv[i][2]) i++;
    }
    opterr = 0;
    int ch;
    while ((ch = getopt(argc, argv, "+:C:fnqh")) != -1) {
        switch (ch) {
        case 'C': conf = optarg; break;
        case 'f': fix = 1; break;
        case 'n': dry = 1; break;
        case 'q': quiet = 1; break;
        case 'h': print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
        case ':': return usage_err("option '-%c' needs a value (FILE)", optopt);
        default: return usage_err("unknown option '-%c'", optopt);
        }
    }
    int nprefix = argc - optind;
    char **prefixes = argv + optind;

    if (refuse_foreign_owner(conf) != EXIT_OK) return EXIT_FAIL;
    ls_store *st = NULL;
    /* listing only reads; -f (also -f -n, which aborts its write transactions)
     * needs a writable environment */
    int rc = ls_store_open(conf, (fix ? 0 : LS_STORE_OPEN_RDONLY), &st);
    if (rc != LS_OK) {
        errorf("%s", lserr(rc));
        return EXIT_FAIL;
    }
    int ex = EXIT_OK;
    run r = { .quiet = quiet };

    if (!fix) {
        ls_session *s = NULL;
        lister l = { prefixes, nprefix, quiet };
        if ((rc = ls_session_new(st, NULL, &s)) != LS_OK || (rc = ls_quota_foreach(s, NULL, list_cb, &l)) != LS_OK) {
            if (!ferror(stdout)) {
                errorf("%s", lserr(rc));
                ex = EXIT_FAIL;
            }
        }
        if (s) ls_session_free(s);
    } else {
        /* each change on stdout at once; a closed pipe stops the run between
         * prefixes (exit 1) instead of killing it */
        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGPIPE, SIG_IGN);
        progress_start(!quiet);
        unsigned flags = dry ? LS_REPAIR_DRYRUN : 0;
        if (nprefix == 0) {
            if ((rc = ls_repair_quota_fix(st, NULL, flags, report_cb, &r)) != LS_OK) {
                errorf("%s", lserr(rc));
                ex = EXIT_FAIL;
            }
        }
        for (int i = 0; i < nprefix && !r.out_error; i++) {
            /* a prefix covered by a shorter one given too would report twice under -n */
            int covered = 0;
            for (int k = 0; k < nprefix && !covered; k++)
                if (k != i && !strncmp(prefixes[i], prefixes[k], strlen(prefixes[k])) &&
                    (strlen(prefixes[k]) < strlen(prefixes[i]) || k < i))
                    covered = 1;
            if (covered) continue;
            if ((rc = ls_repair_quota_fix(st, prefixes[i], flags, report_cb, &r)) != LS_OK) {
                errorf("%s: %s", prefixes[i], lserr(rc));
                ex = EXIT_FAIL;
            }
        }
        progress_stop(ex == EXIT_OK);
    }
    ls_store_close(st);
    if (fflush(stdout) != 0 || ferror(stdout) || r.out_error) {
        errorf("writing standard output: %s", strerror(errno ? errno : EIO));
        ex = EXIT_FAIL;
    }
    return ex;
}

/*
 * mbexamine - dump a mailbox's index header and every index and cache
 * record, readably (docs/contract.md §3.6).
 *
 *   mbexamine [-C FILE] [-u UID] MAILBOX...
 *
 * Prints the lines ls_repair_examine() (libstore/repair.h) reports, on stdout.
 * Read-only: the store is opened with LS_STORE_OPEN_RDONLY. Only the public API
 * is used. Exit status: 0 success, 1 failure, 2 usage error.
 */
#include "libstore/libstore.h"
#include "libstore/repair.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "mbexamine"

#define PROG_NOUN "line"
#include "tool_support.h"
#include "crash_guard.h"

static void print_help(FILE *f)
{
    fputs(
        "NAME\n"
        "    mbexamine - show the index header and records of a libstore mailbox\n"
        "\n"
        "SYNOPSIS\n"
        "    mbexamine [-C FILE] [-u UID] MAILBOX...\n"
        "    mbexamine --help | --version\n"
        "\n"
        "DESCRIPTION\n"
        "    mbexamine prints, for each MAILBOX (an internal name such as user.bovik),\n"
        "    what the store keeps about it, as the library reads it, one item a line:\n"
        "        mailbox NAME\n"
        "        uniqueid UUID partition PART uidvalidity N\n"
        "        acl ID<TAB>RIGHTS<TAB>...\n"
        "        header uidnext=N highestmodseq=N exists=N unseen=N deleted=N\n"
        "               flagged=N answered=N size=N recentuid=N recent=N\n"
        "               tombstones=N deletedmodseq=N\n"
        "        keywords NAME...                 (when the mailbox has keywords)\n"
        "    then one block per index record in UID order, tombstones included:\n"
        "        record uid=N modseq=N flags=(...) size=N header_size=N body_lines=N\n"
        "               internaldate=\"...\" ... guid=HEX\n"
        "          cache N bytes\n"
        "          envelope (...)\n"
        "          bodystructure (...)\n"
        "          body (...)\n"
        "          part \"SECTION\" kind=K header=OFFSET+LEN body=OFFSET+LEN\n"
        "          field From: ...\n"
        "    (the header line and record lines are one line each; they are wrapped here).\n"
        "    A damaged record prints 'record uid=N DAMAGED ...', an expunged one\n"
        "    'record uid=N EXPUNGED ...', a missing or damaged cache record\n"
        "    '  cache MISSING' or '  cache DAMAGED ...': run reconstruct on the mailbox.\n"
        "\n"
        "    mbexamine never changes anything: it only reads, and the store may be in\n"
        "    use. The exact wording of the lines is for people, not for scripts; use\n"
        "    'mailstore --json status' and 'mailstore --json info' in scripts. Errors go\n"
        "    to standard error as 'mbexamine: message'; a run that takes more than a\n"
        "    second prints 'mbexamine: working: N s, N lines so far' there after one\n"
        "    second and then every five seconds.\n"
        "\n"
        "OPTIONS\n"
        "    -C FILE   use the configuration file FILE (default: $LIBSTORE_CONFIG, then\n"
        "              ./store.conf)\n"
        "    -u UID    show the header lines and only the record of UID\n"
        "    -n        accepted for uniformity with the other repair tools (mbexamine\n"
        "              changes nothing anyway)\n"
        "    -h, --help     print this help and exit\n"
        "    --version      print the version and exit\n"
        "\n"
        "EXIT STATUS\n"
        "    0  success\n"
        "    1  failure (no such mailbox, the store cannot be opened); the other\n"
        "       MAILBOX arguments are still shown\n"
        "    2  usage error\n"
        "\n"
        "ENVIRONMENT\n"
        "    LIBSTORE_CONFIG  the configuration file when -C is not given\n"
        "\n"
        "EXAMPLES\n"
        "    mbexamine user.bovik | less\n"
        "    mbexamine -u 17 user.bovik.work\n"
        "\n"
        "SEE ALSO\n"
        "    mailstore(1) (status, info), reconstruct(8), docs/format.md\n",
        f);
}

typedef struct run {
    uint32_t uid;        /* -u: 0 = every record */
    int in_block;        /* the current record block is the one asked for */
    int in_records;      /* a record line was seen */
    int out_error;
} run;

/* Parse "record uid=N" at the start of a line; 0 if it is not one. */
static uint32_t record_uid(const char *line)
{
    if (strncmp(line, "record uid=", 11)) return 0;
    char *end;
    unsigned long v = strtoul(line + 11, &end, 10);
    return v <= UINT32_MAX ? (uint32_t)v : 0;
}

static void report_cb(const char *line, void *arg)
{
    run *r = arg;
    progress_note(line);
    if (r->uid) {
        uint32_t u = record_uid(line);
        if (u) {
            r->in_records = 1;
            r->in_block = u == r->uid;
        } else if (!strncmp(line, "mailbox ", 8)) {
            r->in_records = r->in_block = 0;
        } else if (r->in_records && line[0] != ' ') {
            r->in_block = 0;
        }
        if (r->in_records && !r->in_block) return;
    }
    if (fputs(line, stdout) == EOF || putchar('\n') == EOF) r->out_error = 1;
}

int main(int argc, char **argv)
{
    crash_guard_install(argv[0]);
    const char *conf = NULL;
    uint32_t uid = 0;

    for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--help")) { print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK; }
        if (!strcmp(argv[i], "--version")) { printf("%s (libstore %s)\n", PROG, ls_version()); return EXIT_OK; }
        if (argv[i][1] == '-') return usage_err("unknown option '%s'", argv[i]);
        if ((argv[i][1] == 'C' || argv[i][1] == 'u') && !argv[i][2]) i++;
    }
    opterr = 0;
    int ch;
    while ((ch = getopt(argc, argv, "+:C:u:nh")) != -1) {
        switch (ch) {
        case 'C': conf = optarg; break;
        case 'u': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || !*optarg || *end || optarg[0] == '-' || v == 0 || v >= UINT32_MAX)
                return usage_err("'%s' is not a valid UID (a number from 1 to 4294967294)", optarg);
            uid = (uint32_t)v;
            break;
        }
        case 'n': break;
        case 'h': print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
        case ':': return usage_err("option '-%c' needs a value (%s)", optopt, optopt == 'C' ? "FILE" : "UID");
        default: return usage_err("unknown option '-%c'", optopt);
        }
    }
    if (optind >= argc) return usage_err("missing MAILBOX");

    if (refuse_foreign_owner(conf) != EXIT_OK) return EXIT_FAIL;
    ls_store *st = NULL;
    int rc = ls_store_open(conf, LS_STORE_OPEN_RDONLY, &st);
    if (rc != LS_OK) {
        errorf("%s", lserr(rc));
        return EXIT_FAIL;
    }
    int ex = EXIT_OK;
    run r = { .uid = uid };
    progress_start(1);
    for (int i = optind; i < argc; i++) {
        r.in_block = r.in_records = 0;
        if ((rc = ls_repair_examine(st, argv[i], report_cb, &r)) != LS_OK) {
            const char *m = lserr(rc);
            if (strstr(m, argv[i])) errorf("%s", m);
            else errorf("%s: %s", argv[i], m);
            ex = EXIT_FAIL;
        }
    }
    progress_stop(ex == EXIT_OK);
    ls_store_close(st);
    if (fflush(stdout) != 0 || ferror(stdout) || r.out_error) {
        errorf("writing standard output: %s", strerror(errno ? errno : EIO));
        ex = EXIT_FAIL;
    }
    return ex;
}

/*
 * reconstruct - rebuild a store's metadata from its files (docs/contract.md §3.4).
 *
 *   reconstruct [-C FILE] [-r] [-f] [-m] [-n] [-G] [-q] [-B DIR] [MAILBOX...]
 *
 * A thin front end to ls_repair_reconstruct() and ls_repair_reconstruct_mboxlist()
 * (libstore/repair.h): every change the library makes, or would make with
 * -n, arrives as one report line through the callback and is printed on
 * stdout, and nothing else is printed there. Errors go to stderr as
 * "reconstruct: message"; progress goes to stderr when a run takes more
 * than a second (see progress_*). Only the public API is used.
 *
 * Exit status: 0 success (changes made or not), 1 failure, 2 usage error.
 */
#include "libstore/libstore.h"
#include "libstore/repair.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "reconstruct"

#include "tool_support.h"
#include "crash_guard.h"

static void print_help(FILE *f)
{
    fputs(
        "NAME\n"
        "    reconstruct - rebuild mailbox metadata of a libstore store from its files\n"
        "\n"
        "SYNOPSIS\n"
        "    reconstruct [-C FILE] [-r] [-f] [-n] [-G] [-q] [-B DIR]\n"
        "                [--expunge-missing-directory] [MAILBOX...]\n"
        "    reconstruct [-C FILE] -m [-n] [-G] [-q] [-B DIR]\n"
        "    reconstruct --help | --version\n"
        "\n"
        "DESCRIPTION\n"
        "    reconstruct repairs the index records of each MAILBOX (an internal name\n"
        "    such as user.bovik.work; without MAILBOX, every mailbox of the store)\n"
        "    from the message files in its directory:\n"
        "      - a message file with no record is adopted (parsed, hashed, its\n"
        "        internal date taken from the file's mtime). A file at or above\n"
        "        UIDNEXT keeps its UID; a file below UIDNEXT that is not an expunged\n"
        "        message's own file gets a new UID and is renamed, so that no UID is\n"
        "        ever reused;\n"
        "      - a record whose file is gone is dropped;\n"
        "      - a file whose content changed (size; SHA-256 with -G, or when its\n"
        "        mtime is no longer the internal date) is adopted under a new UID\n"
        "        and the old UID expunged (or given the old bytes back from another\n"
        "        name); flags are kept only for the same message (same envelope);\n"
        "      - a symlink, directory or empty file under a message's name is moved\n"
        "        to PARTITION/damaged/UNIQUEID/ (never deleted, never followed) and\n"
        "        the record treated as missing;\n"
        "      - an unreadable file is reported on stderr and left as it is; the\n"
        "        run goes on and exits 1;\n"
        "      - a damaged cache record is rebuilt;\n"
        "      - flags, keywords, internal date and MODSEQ of intact records are kept;\n"
        "      - UIDNEXT and HIGHESTMODSEQ are raised above every UID and MODSEQ\n"
        "        found and the high-water marks of store.header; the STATUS counters,\n"
        "        quota usage and the single-instance (GUID) table are made\n"
        "        consistent with the records;\n"
        "      - an expunged message never comes back, whatever its file is named.\n"
        "    It never deletes a file that holds a message.\n"
        "\n"
        "    It refuses (exit 1, nothing changed in that mailbox) to repair a mailbox\n"
        "    whose partition is unavailable: the partition's identity marker\n"
        "    libstore.id is missing (the disk is not mounted?) or names another store\n"
        "    (the wrong disk?); the message names the partition and its path. Mount\n"
        "    the disk and run it again. It also refuses a mailbox with messages whose\n"
        "    directory is missing as a whole: restore the directory, or, when it was\n"
        "    removed on purpose, add --expunge-missing-directory. -m refuses to run\n"
        "    unless every partition carries this store's marker.\n"
        "\n"
        "    Every change is printed on standard output as one line, and nothing else\n"
        "    is printed there, e.g.\n"
        "        user.bovik: uid 4: file missing, message removed\n"
        "        user.bovik: uidnext 12 -> 18\n"
        "    A second run over a repaired store prints nothing. A second -m run\n"
        "    prints the same lines again and raises each mailbox's HIGHESTMODSEQ by its\n"
        "    number of messages (see reconstruct(8)).\n"
        "\n"
        "    It is safe to run while the store is in use; each mailbox is repaired in\n"
        "    its own transaction, under the mailbox's append lock.\n"
        "\n"
        "OPTIONS\n"
        "    -C FILE   use the configuration file FILE (default: $LIBSTORE_CONFIG,\n"
        "              then ./store.conf)\n"
        "    -r        also repair every child of each MAILBOX (user.bovik -r: the\n"
        "              whole account)\n"
        "    -f        also adopt mailbox directories found on the partitions that\n"
        "              the mailbox list lacks (their name, unique id, UIDVALIDITY,\n"
        "              ACL and annotations come from their store.header)\n"
        "    -m        rebuild the whole mailbox list and every mailbox's records\n"
        "              from the partitions' store.header and message files, also\n"
        "              when the LMDB environment is missing, truncated or\n"
        "              unreadable. The old environment is first moved aside\n"
        "              (renamed, never deleted; the new name is reported). The store\n"
        "              must not be in use. Takes no MAILBOX. Flags, keywords, seen\n"
        "              state and subscriptions cannot be recovered from files: add\n"
        "              -B with your latest metadata backup\n"
        "    -n        dry run: report what would change, change nothing\n"
        "    -G        re-hash every message file and compare it with the GUID of\n"
        "              its record (slow: reads every byte; finds files replaced by\n"
        "              other content of the same size)\n"
        "    -q        quiet: print nothing but errors (no change lines, no\n"
        "              progress); the repairs are made all the same, the exit\n"
        "              status tells the result\n"
        "    -B DIR    take flags, keywords, internal dates, per-user seen state and\n"
        "              subscriptions from DIR, a backup made by 'mailstore backup\n"
        "              DIR', for every message whose file is still on disk and\n"
        "              whose GUID matches the backup's record; with -m or -f also\n"
        "              the name, ACL, UIDVALIDITY, annotations and quota limits of\n"
        "              each mailbox whose store.header is missing, damaged or unsealed\n"
        "    --expunge-missing-directory\n"
        "              a mailbox whose directory is missing as a whole (its\n"
        "              partition is there) has every message expunged and the\n"
        "              directory recreated; without it such a mailbox is refused\n"
        "    -h, --help     print this help and exit\n"
        "    --version      print the version and exit\n"
        "\n"
        "    Options come before MAILBOX arguments and may be grouped (-rn).\n"
        "\n"
        "OUTPUT\n"
        "    Standard output: one line per change, as above. Standard error: errors, as\n"
        "    'reconstruct: message', and, when a run takes more than a second, a progress\n"
        "    line after one second and then every five seconds\n"
        "        reconstruct: working: 6 s, 120 changes so far, last in user.bovik\n"
        "    and a final 'reconstruct: done after 7.2 s, 131 changes'.\n"
        "\n"
        "EXIT STATUS\n"
        "    0  success: the store (or each MAILBOX) was repaired, or needed nothing\n"
        "    1  failure: a MAILBOX does not exist, the store cannot be opened, an I/O\n"
        "       error; the other mailboxes are still repaired\n"
        "    2  usage error\n"
        "\n"
        "    Run as root on a store owned by another user (the service user), it\n"
        "    refuses and changes nothing: run it as that user (runuser -u USER --).\n"
        "\n"
        "ENVIRONMENT\n"
        "    LIBSTORE_CONFIG  the configuration file when -C is not given\n"
        "\n"
        "EXAMPLES\n"
        "    mailstore check                      # what is wrong?\n"
        "    reconstruct -n user.bovik            # what would change?\n"
        "    reconstruct -r user.bovik            # repair the whole account\n"
        "    reconstruct -G                       # every mailbox, re-hashing every file\n"
        "    reconstruct -f                       # also adopt lost mailbox directories\n"
        "    reconstruct -m -B /backup/meta       # the LMDB environment is lost\n"
        "    quota -f && mailstore check\n"
        "\n"
        "SEE ALSO\n"
        "    mailstore(1), quota(8), mbexamine(8), ctl_mboxlist(8), docs/admin.md\n",
        f);
}

/* ------------------------------------------------------------------------ */
/* Running                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct run {
    int quiet;
    int out_error;       /* a write to stdout failed */
} run;

static void report_cb(const char *line, void *arg)
{
    run *r = arg;
    /* damage the run found but left as it is (an unreadable file): an
     * error, on stderr even with -q; the library fails the run at its end */
    if (!strncmp(line, "error: ", 7)) { errorf("%s", line + 7); return; }
    progress_note(line);
    if (r->quiet) return;
    if (fputs(line, stdout) == EOF || putchar('\n') == EOF) r->out_error = 1;
}

/* The configuration file ls_store_open(NULL, ...) would use. */
static const char *config_path(const char *opt)
{
    if (opt) return opt;
    const char *env = getenv("LIBSTORE_CONFIG");
    return env && *env ? env : "./store.conf";
}

int main(int argc, char **argv)
{
    crash_guard_install(argv[0]);
    const char *conf = NULL, *backup = NULL;
    unsigned flags = 0;
    int mflag = 0, quiet = 0;

    /* the one long option: taken out before getopt, wherever it stands among the options */
    for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if ((argv[i][1] == 'C' || argv[i][1] == 'B') && !argv[i][2]) { i++; continue; }
        if (strcmp(argv[i], "--expunge-missing-directory")) continue;
        flags |= LS_REPAIR_MISSING_DIR;
        memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof *argv); /* argv[argc] is NULL */
        argc--;
        i--;
    }
    /* --help and --version anywhere among the options */
    for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--help")) { print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK; }
        if (!strcmp(argv[i], "--version")) { printf("%s (libstore %s)\n", PROG, ls_version()); return EXIT_OK; }
        if (argv[i][1] == '-') return usage_err("unknown option '%s'", argv[i]);
        if ((argv[i][1] == 'C' || argv[i][1] == 'B') && !argv[i][2]) i++;  /* skip the value */
    }
    opterr = 0;
    int ch;
    while ((ch = getopt(argc, argv, "+:C:rfmnGqB:h")) != -1) {
        switch (ch) {
        case 'C': conf = optarg; break;
        case 'r': flags |= LS_REPAIR_RECURSE; break;
        case 'f': flags |= LS_REPAIR_FILES; break;
        case 'm': mflag = 1; break;
        case 'n': flags |= LS_REPAIR_DRYRUN; break;
        case 'G': flags |= LS_REPAIR_REHASH; break;
        case 'q': quiet = 1; break;
        case 'B': backup = optarg; break;
        case 'h': print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
        case ':': return usage_err("option '-%c' needs a value (%s)", optopt, optopt == 'C' ? "FILE" : "DIR");
        default: return usage_err("unknown option '-%c'", optopt);
        }
    }
    int nmb = argc - optind;
    char **mailboxes = argv + optind;
    if (mflag && nmb) return usage_err("-m rebuilds every mailbox and takes no MAILBOX argument");
    if (mflag && (flags & LS_REPAIR_RECURSE)) return usage_err("-r has no meaning with -m (every mailbox is rebuilt)");
    if (mflag && (flags & LS_REPAIR_FILES)) return usage_err("-f has no meaning with -m (every directory is adopted)");
    if (mflag && (flags & LS_REPAIR_MISSING_DIR))
        return usage_err("--expunge-missing-directory has no meaning with -m (it rebuilds from the directories found)");
    for (int i = 0; i < nmb; i++)
        if (!mailboxes[i][0]) return usage_err("an empty MAILBOX argument");
    if (backup) {
        struct stat sb;
        if (stat(backup, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            errorf("-B %s: %s", backup, stat(backup, &sb) != 0 ? strerror(errno) : "not a directory");
            return EXIT_FAIL;
        }
    }

    /* line buffered: each change is on stdout as soon as it is made. A closed
     * pipe must not kill a repair half-way through its mailboxes: a failed
     * write is noticed instead, the remaining MAILBOX arguments are skipped
     * (their changes could not be reported) and the exit status is 1. */
    if (refuse_foreign_owner(conf) != EXIT_OK) return EXIT_FAIL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    run r = { .quiet = quiet };
    int ex = EXIT_OK, rc;
    progress_start(!quiet);

    if (mflag) {
        rc = ls_repair_reconstruct_mboxlist(config_path(conf), flags, backup, report_cb, &r);
        if (rc != LS_OK) {
            errorf("%s", lserr(rc));
            ex = EXIT_FAIL;
        }
    } else {
        ls_store *st = NULL;
        /* Not LS_STORE_OPEN_RDONLY for -n: the dry run is the library's (LS_REPAIR_DRYRUN:
         * it runs the repair's write transactions and aborts them), and a
         * read-only store refuses every write transaction. */
        rc = ls_store_open(conf, LS_STORE_OPEN_DEFAULT, &st);
        if (rc != LS_OK) {
            errorf("%s", lserr(rc));
            if (rc == LS_ECORRUPT || rc == LS_ENOTFOUND || rc == LS_EDB)
                errorf("the metadata environment cannot be opened: 'reconstruct -m' rebuilds it from the "
                       "partitions (add -B DIR to restore flags from a metadata backup)");
            ex = EXIT_FAIL;
        } else if (nmb == 0) {
            if ((rc = ls_repair_reconstruct(st, NULL, flags, backup, report_cb, &r)) != LS_OK) {
                const char *m = lserr(rc);
                errorf("%s", m);
                if (rc == LS_ECORRUPT && !strstr(m, "reconstruct -m"))
                    errorf("the mailbox list is damaged: 'reconstruct -m' rebuilds it from the partitions");
                ex = EXIT_FAIL;
            }
        } else {
            for (int i = 0; i < nmb && !r.out_error; i++) {
                if ((rc = ls_repair_reconstruct(st, mailboxes[i], flags, backup, report_cb, &r)) != LS_OK) {
                    const char *m = lserr(rc);
                    /* the library's message usually names the mailbox already */
                    if (strstr(m, mailboxes[i])) errorf("%s", m);
                    else errorf("%s: %s", mailboxes[i], m);
                    if (rc == LS_ECORRUPT && !strstr(m, "reconstruct -m"))
                        errorf("%s: its entry in the mailbox list is damaged: 'reconstruct -m' rebuilds the "
                               "list from the partitions", mailboxes[i]);
                    ex = EXIT_FAIL;
                }
            }
        }
        if (st) ls_store_close(st);
    }

    progress_stop(ex == EXIT_OK);
    if (fflush(stdout) != 0 || ferror(stdout) || r.out_error) {
        errorf("writing standard output: %s", strerror(errno ? errno : EIO));
        ex = EXIT_FAIL;
    }
    return ex;
}

/*
 * ctl_mboxlist - dump the mailbox list as text, or load it back (docs/contract.md §3.7).
 *
 *   ctl_mboxlist [-C FILE] -d
 *   ctl_mboxlist [-C FILE] [-n] [-q] -u < LIST
 *
 * -d prints the lines ls_repair_mboxlist_dump() reports; -u reads all of stdin and
 * gives it to ls_repair_mboxlist_load(), printing its report lines (one per entry
 * added or changed). ls_repair_mboxlist_load() has no dry-run flag, so -u -n
 * compares the input with a dump instead, entry by entry, and reports what
 * a load would change in the same words. Only the public API is used.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
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
#include <time.h>
#include <unistd.h>

#define PROG "ctl_mboxlist"

#define PROG_NOUN "line"
#include "tool_support.h"
#include "crash_guard.h"

static void print_help(FILE *f)
{
    fputs(
        "NAME\n"
        "    ctl_mboxlist - dump or load the mailbox list of a libstore store\n"
        "\n"
        "SYNOPSIS\n"
        "    ctl_mboxlist [-C FILE] -d > LIST\n"
        "    ctl_mboxlist [-C FILE] [-n] [-q] -u < LIST\n"
        "    ctl_mboxlist --help | --version\n"
        "\n"
        "DESCRIPTION\n"
        "    -d prints the mailbox list, one mailbox a line in name order, five fields\n"
        "    separated by a TAB:\n"
        "        NAME  UNIQUEID  PARTITION  UIDVALIDITY  ACL\n"
        "    e.g. (-> is a TAB; one line, wrapped here)\n"
        "        user.bovik->4f0c9b52-8d0e-4c54-a0f2-3b1d2e6c7a10->default->\n"
        "        1795312684->bovik\\tlrswipkxtean\\t\n"
        "    In NAME and ACL a backslash, TAB, CR and LF are written as \\\\ \\t \\r \\n (the\n"
        "    ACL is the stored 'ID TAB RIGHTS TAB ...' string, so its TABs appear as \\t).\n"
        "\n"
        "    -u reads such lines from standard input (all of it, then one transaction)\n"
        "    and adds every entry that is missing and updates every entry that differs;\n"
        "    entries that the input does not name are left alone. A mailbox whose unique\n"
        "    id has no index header yet gets an empty one (run 'reconstruct' on it\n"
        "    afterwards to adopt its message files). One line per change is printed on\n"
        "    standard output, and nothing else:\n"
        "        user.bovik: entry added\n"
        "        user.fred: entry updated\n"
        "    Dumping, loading the dump and dumping again gives the same text: the round\n"
        "    trip is exact, and loading a store's own dump changes nothing. A malformed\n"
        "    line (not five fields, an invalid name, an unknown partition, a bad unique\n"
        "    id or UIDVALIDITY) stops the load before anything is changed.\n"
        "\n"
        "    The mailbox list holds names and ACLs only; messages, flags, quota roots and\n"
        "    subscriptions are not in it. To rebuild a lost list from the partitions use\n"
        "    'reconstruct -m'.\n"
        "\n"
        "    Errors go to standard error as 'ctl_mboxlist: message'; a run that takes\n"
        "    more than a second prints a progress line there after one second and then\n"
        "    every five seconds.\n"
        "\n"
        "OPTIONS\n"
        "    -C FILE   use the configuration file FILE (default: $LIBSTORE_CONFIG, then\n"
        "              ./store.conf). With -u, the store is created if it does not exist\n"
        "    -d        dump the list on standard output\n"
        "    -u        load (undump) the list from standard input\n"
        "    -n        with -u: dry run, report what would change and change nothing\n"
        "    -q        with -u: print nothing but errors\n"
        "    -h, --help     print this help and exit\n"
        "    --version      print the version and exit\n"
        "\n"
        "EXIT STATUS\n"
        "    0  success\n"
        "    1  failure (a malformed input line, the store cannot be opened)\n"
        "    2  usage error (neither or both of -d and -u)\n"
        "\n"
        "ENVIRONMENT\n"
        "    LIBSTORE_CONFIG  the configuration file when -C is not given\n"
        "\n"
        "EXAMPLES\n"
        "    ctl_mboxlist -d > /backup/mboxlist.txt\n"
        "    ctl_mboxlist -n -u < /backup/mboxlist.txt     # what would change?\n"
        "    ctl_mboxlist -u < /backup/mboxlist.txt\n"
        "\n"
        "SEE ALSO\n"
        "    reconstruct(8), mailstore(1), docs/admin.md, docs/format.md\n",
        f);
}

/* ------------------------------------------------------------------------ */
/* Dump and load                                                            */
/* ------------------------------------------------------------------------ */

typedef struct run {
    int quiet;
    int out_error;
    /* -u -n: the current dump */
    char **lines;
    size_t n, cap;
    int collect;
} run;

static void report_cb(const char *line, void *arg)
{
    run *r = arg;
    progress_note(line);
    if (r->collect) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 256;
            char **nl = realloc(r->lines, cap * sizeof *nl);
            if (!nl) { r->out_error = 2; return; }
            r->lines = nl;
            r->cap = cap;
        }
        if (!(r->lines[r->n] = strdup(line))) { r->out_error = 2; return; }
        r->n++;
        return;
    }
    if (r->quiet) return;
    if (fputs(line, stdout) == EOF || putchar('\n') == EOF) r->out_error = 1;
}

static int read_stdin(char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b) return -1;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) { free(b); errno = ENOMEM; return -1; }
            b = nb;
        }
        ssize_t got = read(STDIN_FILENO, b + n, cap - n);
        if (got == 0) break;
        if (got < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(b);
            errno = e;
            return -1;
        }
        n += (size_t)got;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* The NAME field of a list line, unescaped, malloc'd (the inverse of the
 * dump's escaping: \\ \t \r \n). */
static char *line_name(const char *line, size_t len)
{
    const char *tab = memchr(line, '\t', len);
    size_t fl = tab ? (size_t)(tab - line) : len;
    char *o = malloc(fl + 1), *w = o;
    if (!o) return NULL;
    for (size_t i = 0; i < fl; i++) {
        if (line[i] == '\\' && i + 1 < fl) {
            char e = line[++i];
            *w++ = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
        } else {
            *w++ = line[i];
        }
    }
    *w = 0;
    return o;
}

static int nfields(const char *line, size_t len)
{
    int n = 1;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\t') n++;
    return n;
}

/* Compare two lines field by field; UIDVALIDITY numerically. */
static int same_entry(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == blen && !memcmp(a, b, alen)) return 1;
    const char *pa = a, *pb = b, *ea = a + alen, *eb = b + blen;
    for (int f = 0; f < 5; f++) {
        const char *ta = f < 4 ? memchr(pa, '\t', (size_t)(ea - pa)) : NULL;
        const char *tb = f < 4 ? memchr(pb, '\t', (size_t)(eb - pb)) : NULL;
        size_t la = (size_t)((ta ? ta : ea) - pa), lb = (size_t)((tb ? tb : eb) - pb);
        if (f == 3) {
            if (strtoul(pa, NULL, 10) != strtoul(pb, NULL, 10)) return 0;
        } else if (la != lb || memcmp(pa, pb, la)) {
            return 0;
        }
        if (f < 4 && (!ta || !tb)) return 0;
        if (f < 4) { pa = ta + 1; pb = tb + 1; }
    }
    return 1;
}

static int dry_compare(const char *text, size_t len, run *r, char **names);

/* -u -n: what a load of text would change, against the current dump. */
static int dry_load(ls_store *st, const char *text, size_t len, run *r)
{
    r->collect = 1;
    int rc = st ? ls_repair_mboxlist_dump(st, report_cb, r) : LS_OK;
    r->collect = 0;
    r->n = st ? r->n : 0;
    if (rc != LS_OK) { errorf("%s", lserr(rc)); return EXIT_FAIL; }
    if (r->out_error == 2) { errorf("out of memory"); return EXIT_FAIL; }
    char **names = calloc(r->n ? r->n : 1, sizeof *names);
    if (!names) { errorf("out of memory"); return EXIT_FAIL; }
    for (size_t i = 0; i < r->n; i++)
        names[i] = line_name(r->lines[i], strlen(r->lines[i]));
    int ex = dry_compare(text, len, r, names);
    for (size_t i = 0; i < r->n; i++) free(names[i]);
    free(names);
    return ex;
}

static int dry_compare(const char *text, size_t len, run *r, char **names)
{
    /* check every line first: a malformed one stops the load before any change */
    int lineno = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        if (le > p && nfields(p, (size_t)(le - p)) != 5) {
            errorf("line %d: want NAME, UNIQUEID, PARTITION, UIDVALIDITY and ACL separated by tabs", lineno);
            return EXIT_FAIL;
        }
        p = le + 1;
    }
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        if (ll) {
            char *name = line_name(p, ll);
            if (!name) { errorf("out of memory"); return EXIT_FAIL; }
            /* the dump is in name order (LMDB's bytewise key order): bisect */
            const char *cur = NULL;
            size_t lo = 0, hi = r->n;
            while (lo < hi && !cur) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(names[mid] ? names[mid] : "", name);
                if (c == 0) cur = r->lines[mid];
                else if (c < 0) lo = mid + 1;
                else hi = mid;
            }
            if (!cur || !same_entry(cur, strlen(cur), p, ll)) {
                char *out = NULL;
                if (asprintf(&out, "%s: %s", name, cur ? "entry updated" : "entry added") >= 0) {
                    report_cb(out, r);
                    free(out);
                }
            }
            free(name);
        }
        p = le + 1;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    crash_guard_install(argv[0]);
    const char *conf = NULL;
    int dump = 0, undump = 0, dry = 0, quiet = 0;

    for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--help")) { print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK; }
        if (!strcmp(argv[i], "--version")) { printf("%s (libstore %s)\n", PROG, ls_version()); return EXIT_OK; }
        if (argv[i][1] == '-') return usage_err("unknown option '%s'", argv[i]);
        if (argv[i][1] == 'C' && !argv[i][2]) i++;
    }
    opterr = 0;
    int ch;
    while ((ch = getopt(argc, argv, "+:C:dunqh")) != -1) {
        switch (ch) {
        case 'C': conf = optarg; break;
        case 'd': dump = 1; break;
        case 'u': undump = 1; break;
        case 'n': dry = 1; break;
        case 'q': quiet = 1; break;
        case 'h': print_help(stdout); return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
        case ':': return usage_err("option '-%c' needs a value (FILE)", optopt);
        default: return usage_err("unknown option '-%c'", optopt);
        }
    }
    if (dump == undump) return usage_err("give exactly one of -d (dump) and -u (load)");
    if (optind < argc) return usage_err("unexpected argument '%s'", argv[optind]);

    char *text = NULL;
    size_t len = 0;
    if (undump && read_stdin(&text, &len) != 0) {
        errorf("reading standard input: %s", strerror(errno));
        return EXIT_FAIL;
    }
    if (refuse_foreign_owner(conf) != EXIT_OK) return EXIT_FAIL;
    ls_store *st = NULL;
    unsigned oflags = dump || dry ? LS_STORE_OPEN_RDONLY : LS_STORE_OPEN_DEFAULT;
    int rc = ls_store_open(conf, oflags, &st);
    /* -n -u on a store that does not exist yet: a load would create it and
     * add every entry */
    int fresh = rc == LS_ENOTFOUND && dry;
    if (rc != LS_OK && !fresh) {
        errorf("%s", lserr(rc));
        free(text);
        return EXIT_FAIL;
    }
    int ex = EXIT_OK;
    run r = { .quiet = quiet && undump };
    progress_start(!r.quiet);
    if (dump) {
        if ((rc = ls_repair_mboxlist_dump(st, report_cb, &r)) != LS_OK) {
            errorf("%s", lserr(rc));
            ex = EXIT_FAIL;
        }
    } else if (dry) {
        ex = dry_load(st, text, len, &r);
    } else {
        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGPIPE, SIG_IGN);   /* the load commits; a closed pipe only loses its report */
        if ((rc = ls_repair_mboxlist_load(st, text, len, report_cb, &r)) != LS_OK) {
            errorf("%s", lserr(rc));
            ex = EXIT_FAIL;
        }
    }
    progress_stop(ex == EXIT_OK);
    for (size_t i = 0; i < r.n; i++) free(r.lines[i]);
    free(r.lines);
    free(text);
    if (st) ls_store_close(st);
    if (fflush(stdout) != 0 || ferror(stdout) || r.out_error == 1) {
        errorf("writing standard output: %s", strerror(errno ? errno : EIO));
        ex = EXIT_FAIL;
    }
    return ex;
}

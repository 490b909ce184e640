/*
 * msgdump - write the benchmark's generated messages as files.
 *
 *   msgdump [--seed S] N DIR
 *
 * Writes the first N messages of bench/msggen.c's generator with seed S
 * (default 41, the seed of mailbench's reconstruct_rebuild workload, so the
 * files are the very messages that workload stores) as DIR/1.eml ...
 * DIR/N.eml, CRLF line ends, one message a file. DIR is created if missing;
 * existing files of those names are replaced. Used by cyrus_reconstruct.sh
 * to give Cyrus and libstore the same corpus. Uses no libstore code.
 */
#include "mailbench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: msgdump [--seed S] N DIR\n"
            "\n"
            "Write N generated benchmark messages (bench/msggen.c) as DIR/1.eml .. DIR/N.eml.\n"
            "\n"
            "  --seed S   generator seed (default 41: the corpus of mailbench's\n"
            "             reconstruct_rebuild workload)\n"
            "  --help     this text\n"
            "\n"
            "DIR is created if missing. Prints the number of messages and bytes written\n"
            "on standard output. Exit status 0 on success, 1 on failure, 2 on bad usage.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int make_dir(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static int dump_one(const char *path, const char *msg, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, msg + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

int main(int argc, char **argv)
{
    uint64_t seed = 41, n = 0;
    const char *pos[2] = { NULL, NULL };
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--seed")) {
            if (i + 1 >= argc || parse_u64(argv[i + 1], &seed)) {
                fprintf(stderr, "msgdump: --seed needs a non-negative integer\n");
                return 2;
            }
            i++;
        } else if (!strncmp(argv[i], "--seed=", 7)) {
            if (parse_u64(argv[i] + 7, &seed)) {
                fprintf(stderr, "msgdump: --seed needs a non-negative integer\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "msgdump: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (npos != 2 || parse_u64(pos[0], &n) || n == 0) {
        usage(stderr);
        return 2;
    }
    const char *dir = pos[1];
    if (make_dir(dir)) {
        fprintf(stderr, "msgdump: %s: cannot create directory: %s\n", dir, strerror(errno));
        return 1;
    }
    msggen g;
    msggen_init(&g, seed);
    uint64_t bytes = 0;
    char path[4200];
    for (uint64_t i = 1; i <= n; i++) {
        size_t len;
        char *msg = msggen_next(&g, &len);
        if (!msg) {
            fprintf(stderr, "msgdump: out of memory\n");
            return 1;
        }
        snprintf(path, sizeof path, "%s/%llu.eml", dir, (unsigned long long)i);
        if (dump_one(path, msg, len)) {
            fprintf(stderr, "msgdump: %s: %s\n", path, strerror(errno));
            free(msg);
            return 1;
        }
        bytes += len;
        free(msg);
    }
    printf("%llu messages, %llu bytes, seed %llu, in %s\n", (unsigned long long)n, (unsigned long long)bytes,
           (unsigned long long)seed, dir);
    return 0;
}

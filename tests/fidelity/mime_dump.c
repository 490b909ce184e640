/*
 * mime_dump FILE...: print what ls__mime_analyze() gives for each file, in a
 * length-prefixed form the fidelity driver can compare byte for byte with
 * Dovecot's FETCH answer:
 *   ENVELOPE <n>\n<n bytes>\nBODYSTRUCTURE <n>\n<n bytes>\nBODY <n>\n<n bytes>\n
 * The file is analysed exactly as given (the driver converts to CRLF).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf != NULL && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static void put(const char *tag, const char *s)
{
    printf("%s %zu\n", tag, strlen(s));
    fwrite(s, 1, strlen(s), stdout);
    putchar('\n');
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        size_t len;
        char *msg = slurp(argv[i], &len);
        if (msg == NULL) {
            perror(argv[i]);
            rc = 1;
            continue;
        }
        ls_mime_info info;
        if (ls__mime_analyze(msg, len, &info) != 0) {
            fprintf(stderr, "%s: analyze failed\n", argv[i]);
            rc = 1;
        } else {
            put("ENVELOPE", info.envelope);
            put("BODYSTRUCTURE", info.bodystructure);
            put("BODY", info.body);
            ls__mime_info_free(&info);
        }
        free(msg);
    }
    return rc;
}

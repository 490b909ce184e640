/* Fuzz mailbox names: validation, modified UTF-7 both ways, the user view,
 * and LIST pattern matching (first half of the input is the pattern, second
 * half the name). Checks round-trip properties, not just absence of crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/names.h"
#include "libstore/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_mutf7(const char *s)
{
    char *enc = NULL, *dec = NULL;
    /* UTF-8 -> mUTF-7 -> UTF-8 is the identity for valid UTF-8. */
    if (ls_name_to_mutf7(s, &enc) == LS_OK) {
        if (ls_name_from_mutf7(enc, &dec) != LS_OK || strcmp(dec, s) != 0) abort();
        free(dec);
        dec = NULL;
        free(enc);
        enc = NULL;
    }
    /* A decodable mUTF-7 string is canonical: it re-encodes to itself. */
    if (ls_name_from_mutf7(s, &dec) == LS_OK) {
        if (ls_name_to_mutf7(dec, &enc) != LS_OK || strcmp(enc, s) != 0) abort();
        free(enc);
        free(dec);
    }
}

static void check_names(const char *s, char sep)
{
    if (ls_name_validate(s, sep) == LS_OK) {
        char *ext = NULL, *back = NULL, *owner = NULL;
        if (ls__name_owner(s, sep, &owner) == 1) {
            /* internal -> user view -> internal is the identity. */
            if (ls_name_to_user(s, owner, sep, &ext) != LS_OK) abort();
            if (ls_name_from_user(ext, owner, sep, &back) != LS_OK || strcmp(back, s) != 0) abort();
            free(ext);
            free(back);
            free(owner);
        }
        if (!ls__pattern_match("*", s, sep)) abort();
        if (!ls__pattern_match(s, s, sep)) abort();
    }
    ls__user_validate(s, sep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    char sep = (size && (data[0] & 1)) ? '/' : '.';
    check_mutf7(s);
    check_names(s, sep);
    /* Pattern vs name: split the input in two halves. */
    size_t half = strlen(s) / 2;
    char *name = strdup(s + half);
    s[half] = 0;
    if (name) {
        ls__pattern_match(s, name, sep);
        free(name);
    }
    free(s);
    return 0;
}

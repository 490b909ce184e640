/* Fuzz SEARCH: the input is split on spaces into argv tokens, parsed, and
 * evaluated against a fixed multipart message (with and without its cached
 * fields), so that both the parser and the evaluator see arbitrary criteria. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "libstore/common.h"
#include "search/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TOKENS 256

static const char message[] =
    "Received: from a.example by b.example\r\n"
    "From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.de>\r\n"
    "To: x@example.com\r\n"
    "Subject: test =?ISO-8859-1?Q?caf=E9?=\r\n"
    " folded\r\n"
    "Date: Sat, 21 Nov 2026 09:00:00 +0100\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hello w=C3=B6rld=\r\n"
    "!\r\n"
    "--b\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "c2VjcmV0\r\n"
    "--b\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "inner body\r\n"
    "--b--\r\n";

static const char fields[] =
    "From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.de>\r\n"
    "To: x@example.com\r\n"
    "Subject: test =?ISO-8859-1?Q?caf=E9?=\r\n"
    " folded\r\n";

static int load(void *ctx, const char **msg, size_t *len)
{
    int *calls = ctx;
    if (++*calls > 1) abort();  /* the contract: at most once per match */
    *msg = message;
    *len = sizeof message - 1;
    return 0;
}

static void run(const ls_search *s, int with_fields)
{
    static const char *const kw[] = { "$Forwarded", "Work" };
    int calls = 0, match;
    ls_search_msg m = {
        .uid = 7, .seq = 2, .flags = LS_FLAG_SEEN, .recent = 1, .keywords = kw, .nkeywords = 2,
        .size = sizeof message - 1, .modseq = 42, .internaldate = 1795255200, .internal_tz = -300,
        .sentdate = 1795248000, .sent_tz = 60, .load_message = load, .ctx = &calls,
    };
    if (with_fields) { m.fields = fields; m.fields_len = sizeof fields - 1; }
    int rc = ls__search_match(s, &m, 9, 3, &match);
    if (rc != LS_OK && rc != LS_ENOMEM) abort();
    if (rc == LS_OK && match != 0 && match != 1) abort();
    /* With the fields at hand, only keys that need the message load it. */
    if (calls && with_fields && !ls__search_needs_message(s)) abort();
    if (calls && !ls__search_needs_message(s) && !with_fields) {
        /* Only cached-field keys may load when the fields are missing. */
        if (!ls__search_needs_fields(s)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) return 0;
    char *buf = malloc(size + 1);
    const char *argv[MAX_TOKENS];
    int argc = 0;
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    /* Split on spaces; empty tokens (two spaces) are kept, as a shell
     * would pass "". */
    char *p = buf;
    while (argc < MAX_TOKENS) {
        argv[argc++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = 0;
        p = sp + 1;
    }
    if (size == 0) argc = 0;
    ls_search *s = NULL;
    int rc = ls__search_parse(argc, argv, &s);
    if (rc == LS_OK) {
        char *f = ls__search_format(s);
        free(f);
        run(s, 1);
        run(s, 0);
        ls__search_free(s);
    } else if (s || (rc != LS_EINVAL && rc != LS_ENOMEM) || !ls_error_last()[0]) {
        abort();
    }
    free(buf);
    return 0;
}

/*
 * Mailbox names (docs/contract.md §1.2): validation, owner, the user view (INBOX), LIST
 * pattern matching and ancestry. Modified UTF-7 lives in mutf7.c.
 */
#include "model/names.h"
#include "core/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define USER_MAX (LS_NAME_MAX - 5) /* "user" + separator + the name fit one mailbox name */
/* How much of a bad name a message quotes. */
#define EXCERPT_MAX 80

/* Printable excerpt of s for messages: control characters, refused code
 * points (a bidi override would reorder the message itself) and invalid
 * bytes become "\xNN", so that the message stays one line an admin can read
 * as it is. */
static const char *excerpt(const char *s, char *buf, size_t bufsize)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    while (p[i] && i < EXCERPT_MAX && o + 16 < bufsize) {
        uint32_t cp;
        size_t n = ls__utf8_decode(p + i, &cp);
        if (n == 0 || ls__name_char_refused(cp)) {
            for (size_t k = 0; k < (n ? n : 1); k++)
                o += (size_t)snprintf(buf + o, bufsize - o, "\\x%02x", p[i + k]);
            i += n ? n : 1;
        } else {
            memcpy(buf + o, p + i, n);
            o += n;
            i += n;
        }
    }
    if (p[i]) { memcpy(buf + o, "...", 4); }
    else buf[o] = 0;
    return buf;
}
#define EXBUF (EXCERPT_MAX * 4 + 24)

size_t ls__utf8_decode(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xc2 && c <= 0xdf) {
        if ((s[1] & 0xc0) != 0x80) return 0;
        *cp = ((c & 0x1fu) << 6) | (s[1] & 0x3fu);
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80) return 0;
        *cp = ((c & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
        *cp = ((c & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
        return 4;
    }
    return 0;
}

const char *ls__name_char_refused(uint32_t cp)
{
    /* C0, DEL and C1 (U+0085 NEXT LINE among them): they break log lines
     * and terminals, and no client shows them. */
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
        return "control character";
    /* Unicode bidirectional controls: ALM, LRM, RLM, the embeddings and
     * overrides (U+202E makes "user.evil\u202Etxt.exe" read backwards) and
     * the isolates. With them one name can display as another. */
    if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return "bidirectional control";
    /* U+2028, U+2029: line breaks to every Unicode-aware reader. */
    if (cp == 0x2028 || cp == 0x2029)
        return "line or paragraph separator";
    return NULL;
}

/* Character checks shared by names and user ids: UTF-8, refused code
 * points, wildcards, and '/' where it is not the separator (a part
 * holding a path separator could leave a directory named after it).
 * what: "mailbox name" or "user name". */
static int check_chars(const char *what, const char *s, char sep)
{
    char ex[EXBUF];
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i];) {
        unsigned char c = p[i];
        uint32_t cp;
        size_t n = ls__utf8_decode(p + i, &cp);
        if (n == 0)
            return ls__err(LS_EBADNAME, "%s '%s': invalid UTF-8 at byte %zu", what,
                          excerpt(s, ex, sizeof ex), i + 1);
        const char *why = ls__name_char_refused(cp);
        if (why && cp < 0x80)
            return ls__err(LS_EBADNAME, "%s '%s': %s 0x%02x at byte %zu", what,
                          excerpt(s, ex, sizeof ex), why, c, i + 1);
        if (why)
            return ls__err(LS_EBADNAME, "%s '%s': %s U+%04X at byte %zu", what,
                          excerpt(s, ex, sizeof ex), why, (unsigned)cp, i + 1);
        if (c == '%' || c == '*')
            return ls__err(LS_EBADNAME, "%s '%s': wildcard '%c' not allowed", what,
                          excerpt(s, ex, sizeof ex), c);
        if (c == '/' && sep != '/')
            return ls__err(LS_EBADNAME, "%s '%s': '/' at byte %zu is not allowed (it is a path "
                          "separator; the hierarchy separator is '%c')", what, excerpt(s, ex, sizeof ex),
                          i + 1, sep);
        i += n;
    }
    return LS_OK;
}

int ls__user_validate(const char *user, char sep)
{
    char ex[EXBUF];
    if (!user || !*user) return ls__err(LS_EBADNAME, "user name is empty");
    size_t len = strlen(user);
    if (len > USER_MAX)
        return ls__err(LS_EBADNAME, "user name '%s' is %zu bytes, over the limit of %d",
                      excerpt(user, ex, sizeof ex), len, USER_MAX);
    int rc = check_chars("user name", user, sep);
    if (rc) return rc;
    if (!strcmp(user, ".") || !strcmp(user, ".."))
        return ls__err(LS_EBADNAME, "user name '%s' is not allowed (it names a directory)", user);
    if (strchr(user, ' '))
        return ls__err(LS_EBADNAME, "user name '%s': contains a space", excerpt(user, ex, sizeof ex));
    if (strchr(user, sep))
        return ls__err(LS_EBADNAME, "user name '%s': contains the hierarchy separator '%c'",
                      excerpt(user, ex, sizeof ex), sep);
    if (strcasecmp(user, "anyone") == 0)
        return ls__err(LS_EBADNAME, "user name '%s' is reserved (it means every identity in ACLs)", user);
    if (user[0] == '-')
        return ls__err(LS_EBADNAME, "user name '%s': cannot start with '-' (negative ACL identifier)",
                      excerpt(user, ex, sizeof ex));
    if (strncmp(user, "group:", 6) == 0)
        return ls__err(LS_EBADNAME, "user name '%s': cannot start with 'group:' (group identifier)",
                      excerpt(user, ex, sizeof ex));
    return LS_OK;
}

/* Structure: separators and components, and the user name below "user". */
static int check_components(const char *name, char sep)
{
    char ex[EXBUF];
    size_t len = strlen(name);
    if (name[0] == sep)
        return ls__err(LS_EBADNAME, "mailbox name '%s': starts with the separator '%c'",
                      excerpt(name, ex, sizeof ex), sep);
    if (name[len - 1] == sep)
        return ls__err(LS_EBADNAME, "mailbox name '%s': ends with the separator '%c'",
                      excerpt(name, ex, sizeof ex), sep);
    for (size_t i = 1; i < len; i++)
        if (name[i] == sep && name[i - 1] == sep)
            return ls__err(LS_EBADNAME, "mailbox name '%s': empty component at byte %zu ('%c%c')",
                          excerpt(name, ex, sizeof ex), i + 1, sep, sep);
    /* "." and ".." parts (possible with sep '/') would climb directories
     * in any layout or tool that maps a name to a path. */
    for (const char *part = name, *end;; part = end + 1) {
        end = strchr(part, sep);
        size_t plen = end ? (size_t)(end - part) : strlen(part);
        if ((plen == 1 || plen == 2) && !strncmp(part, "..", plen))
            return ls__err(LS_EBADNAME, "mailbox name '%s': part '%.*s' at byte %zu is not allowed (it "
                          "names a directory)", excerpt(name, ex, sizeof ex), (int)plen, part,
                          (size_t)(part - name) + 1);
        if (!end)
            break;
    }
    if (strcmp(name, "user") == 0)
        return ls__err(LS_EBADNAME, "mailbox name 'user' alone is not a mailbox (use user%cNAME)", sep);
    if (strncmp(name, "user", 4) == 0 && name[4] == sep) {
        const char *u = name + 5, *end = strchr(u, sep);
        size_t ulen = end ? (size_t)(end - u) : strlen(u);
        char user[USER_MAX + 2];
        if (ulen > USER_MAX)
            return ls__err(LS_EBADNAME, "mailbox name '%s': user name is %zu bytes, over the limit of %d",
                          excerpt(name, ex, sizeof ex), ulen, USER_MAX);
        memcpy(user, u, ulen);
        user[ulen] = 0;
        int rc = ls__user_validate(user, sep);
        if (rc) {
            char why[512];
            snprintf(why, sizeof why, "%s", ls_error_last());
            return ls__err(LS_EBADNAME, "mailbox name '%s': %s", excerpt(name, ex, sizeof ex), why);
        }
    }
    return LS_OK;
}

int ls_name_validate(const char *name, char sep)
{
    char ex[EXBUF];
    if (!name || !*name) return ls__err(LS_EBADNAME, "mailbox name is empty");
    size_t len = strlen(name);
    if (len > LS_NAME_MAX)
        return ls__err(LS_EBADNAME, "mailbox name '%s' is %zu bytes, over the limit of %d",
                      excerpt(name, ex, sizeof ex), len, LS_NAME_MAX);
    int rc = check_chars("mailbox name", name, sep);
    if (rc) return rc;
    return check_components(name, sep);
}

int ls__name_owner(const char *name, char sep, char **user)
{
    *user = NULL;
    if (!name || strncmp(name, "user", 4) != 0 || name[4] != sep) return 0;
    const char *u = name + 5, *end = strchr(u, sep);
    size_t n = end ? (size_t)(end - u) : strlen(u);
    if (n == 0) return 0;
    *user = strndup(u, n);
    if (!*user) return ls__err(LS_ENOMEM, "out of memory");
    return 1;
}

/* If name is "user<sep>U" or below, return a pointer to what follows U
 * ("" or "<sep>rest"); else NULL. */
static const char *below_user(const char *name, const char *user, char sep)
{
    size_t ulen = strlen(user);
    if (strncmp(name, "user", 4) != 0 || name[4] != sep || strncmp(name + 5, user, ulen) != 0)
        return NULL;
    const char *rest = name + 5 + ulen;
    return (*rest == 0 || *rest == sep) ? rest : NULL;
}

int ls_name_to_user(const char *internal, const char *user, char sep, char **out)
{
    const char *rest = user && *user ? below_user(internal, user, sep) : NULL;
    if (rest) {
        size_t n = strlen(rest);
        *out = malloc(5 + n + 1);
        if (*out) { memcpy(*out, "INBOX", 5); memcpy(*out + 5, rest, n + 1); }
    } else {
        *out = strdup(internal);
    }
    return *out ? LS_OK : ls__err(LS_ENOMEM, "out of memory");
}

int ls_name_from_user(const char *external, const char *user, char sep, char **out)
{
    *out = NULL;
    if (!external) return ls__err(LS_EBADNAME, "mailbox name is empty");
    /* RFC 3501: "INBOX" is case-insensitive, and so is it as the first
     * component of a child name. */
    int is_inbox = strncasecmp(external, "INBOX", 5) == 0 && (external[5] == 0 || external[5] == sep);
    char *res;
    if (is_inbox) {
        if (!user || !*user)
            return ls__err(LS_EBADNAME, "mailbox name '%.40s': INBOX needs a user (act as one with --as)",
                          external);
        int rc = ls__user_validate(user, sep);
        if (rc) return rc;
        const char *rest = external + 5;
        if (asprintf(&res, "user%c%s%s", sep, user, rest) < 0) return ls__err(LS_ENOMEM, "out of memory");
    } else {
        res = strdup(external);
        if (!res) return ls__err(LS_ENOMEM, "out of memory");
    }
    int rc = ls_name_validate(res, sep);
    if (rc) { free(res); return rc; }
    *out = res;
    return LS_OK;
}

/* LIST pattern matching as an NFA simulation: the state is the set of
 * pattern positions reachable after the name bytes read so far. This takes
 * O(|pattern| * |name|) time whatever the pattern, where backtracking would
 * be exponential on patterns such as "*a*a*a*a*b". */
static void closure(const char *pat, size_t plen, unsigned char *st)
{
    /* A wildcard may match nothing: reaching it also reaches what follows. */
    for (size_t i = 0; i < plen; i++)
        if (st[i] && (pat[i] == '*' || pat[i] == '%')) st[i + 1] = 1;
}

static int nfa_match(const char *pat, size_t plen, const char *name, char sep, unsigned char *cur,
                     unsigned char *next)
{
    memset(cur, 0, plen + 1);
    cur[0] = 1;
    closure(pat, plen, cur);
    for (const char *n = name; *n; n++) {
        memset(next, 0, plen + 1);
        int any = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!cur[i]) continue;
            char pc = pat[i];
            if (pc == '*' || (pc == '%' && *n != sep)) { next[i] = 1; any = 1; }
            else if (pc == *n) { next[i + 1] = 1; any = 1; }
        }
        if (!any) return 0;
        closure(pat, plen, next);
        unsigned char *t = cur; cur = next; next = t;
    }
    return cur[plen];
}

int ls__pattern_match(const char *pattern, const char *name, char sep)
{
    if (!pattern || !name) return 0;
    size_t plen = strlen(pattern);
    unsigned char stack[2 * 512];
    unsigned char *buf = stack;
    if (plen + 1 > sizeof stack / 2) {
        buf = malloc(2 * (plen + 1));
        if (!buf) return 0;
    }
    int m = nfa_match(pattern, plen, name, sep, buf, buf + plen + 1);
    if (buf != stack) free(buf);
    return m;
}

int ls__name_is_ancestor(const char *prefix, const char *name, char sep)
{
    if (!prefix || !name || !*prefix) return 0;
    size_t n = strlen(prefix);
    return strncmp(prefix, name, n) == 0 && name[n] == sep && name[n + 1] != 0;
}

/*
 * store.conf parser (docs/contract.md §1.1), Cyrus imapd.conf syntax:
 *
 *   # comment                       ('#' at line start, or after whitespace)
 *   key: value                      (whitespace around the value is trimmed)
 *
 * Every problem is LS_ECONFIG with "FILE:LINE: problem", or "FILE: problem"
 * when it is not tied to one line (a missing required key). We are strict on
 * purpose: a typo in a key or value must stop the tools, not be silently
 * replaced by a default that puts mail in the wrong place.
 */
#include "core/config.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest excerpt of a key or value quoted in a message: enough to recognise
 * it, short enough that a binary file does not flood the terminal. */
#define EXCERPT_MAX 60

/* Parser state: the config being filled and what is needed for messages. */
typedef struct parser {
    ls_config *cfg;
    const char *name;        /* file name for messages */
    unsigned line;           /* current line number, 1-based */
    unsigned seen_line[16];  /* line of the first occurrence of each fixed key; 0 = not seen */
    unsigned defpart_line;   /* line of defaultpartition, for the late check */
} parser;

/* The fixed keys (partition-NAME is handled apart). The order gives the
 * index into parser.seen_line. */
enum {
    K_CONFIGDIRECTORY, K_DEFAULTPARTITION, K_SINGLEINSTANCESTORE, K_HIERARCHY_SEPARATOR,
    K_ADMINS, K_QUOTA_DEFAULT_STORAGE, K_GROUPSFILE, K_MAXMESSAGESIZE, K_FSYNC,
    K_ANNOTATION_SIZE_LIMIT, K_COUNT
};
static const char *const key_names[K_COUNT] = {
    "configdirectory", "defaultpartition", "singleinstancestore", "hierarchy_separator",
    "admins", "quota_default_storage", "groupsfile", "maxmessagesize", "fsync",
    "annotation_size_limit",
};

/* Copy at most EXCERPT_MAX bytes of s[0..len) into buf, replacing bytes that
 * are not printable ASCII with '?', so that messages stay one readable line. */
static const char *excerpt(const char *s, size_t len, char *buf, size_t bufsize)
{
    size_t n = len < EXCERPT_MAX ? len : EXCERPT_MAX;
    if (n > bufsize - 4) n = bufsize - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n < len) { memcpy(buf + n, "...", 4); }
    else buf[n] = 0;
    return buf;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static int oom(void) { return ls__err(LS_ENOMEM, "out of memory reading the configuration"); }

/* A non-negative decimal integer that fits int64_t; digits only, because a
 * value such as "10M" or "-1" is more likely a mistake than a wish. */
static int parse_number(parser *p, const char *key, const char *v, size_t vlen, int64_t *out)
{
    char ex[EXCERPT_MAX + 4];
    if (vlen == 0)
        return ls__err(LS_ECONFIG, "%s:%u: %s: empty value, expected a non-negative number",
                      p->name, p->line, key);
    if (v[0] == '-')
        return ls__err(LS_ECONFIG, "%s:%u: %s: negative value '%s' not allowed", p->name, p->line,
                      key, excerpt(v, vlen, ex, sizeof ex));
    int64_t n = 0;
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9')
            return ls__err(LS_ECONFIG, "%s:%u: %s: '%s' is not a non-negative decimal number",
                          p->name, p->line, key, excerpt(v, vlen, ex, sizeof ex));
        int d = v[i] - '0';
        if (n > (INT64_MAX - d) / 10)
            return ls__err(LS_ECONFIG, "%s:%u: %s: '%s' is too large", p->name, p->line, key,
                          excerpt(v, vlen, ex, sizeof ex));
        n = n * 10 + d;
    }
    *out = n;
    return LS_OK;
}

static int parse_bool(parser *p, const char *key, const char *v, size_t vlen, int *out)
{
    static const char *const yes[] = { "yes", "on", "true", "1" };
    static const char *const no[] = { "no", "off", "false", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (vlen == strlen(yes[i]) && strncasecmp(v, yes[i], vlen) == 0) { *out = 1; return LS_OK; }
        if (vlen == strlen(no[i]) && strncasecmp(v, no[i], vlen) == 0) { *out = 0; return LS_OK; }
    }
    char ex[EXCERPT_MAX + 4];
    return ls__err(LS_ECONFIG, "%s:%u: %s: '%s' is not a boolean (use yes/no, on/off, true/false, 1/0)",
                  p->name, p->line, key, excerpt(v, vlen, ex, sizeof ex));
}

/* An absolute directory or file path; trailing '/' stripped (but "/" stays). */
static int parse_path(parser *p, const char *key, const char *v, size_t vlen, char **out)
{
    char ex[EXCERPT_MAX + 4];
    if (vlen == 0)
        return ls__err(LS_ECONFIG, "%s:%u: %s: empty value, expected an absolute path", p->name,
                      p->line, key);
    if (v[0] != '/')
        return ls__err(LS_ECONFIG, "%s:%u: %s: '%s' is a relative path; an absolute path is required",
                      p->name, p->line, key, excerpt(v, vlen, ex, sizeof ex));
    while (vlen > 1 && v[vlen - 1] == '/') vlen--;
    *out = dup_n(v, vlen);
    return *out ? LS_OK : oom();
}

/* Partition names become part of keys and messages: keep them to a safe set. */
static int valid_partition_name(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int add_partition(parser *p, const char *pname, size_t plen, const char *v, size_t vlen)
{
    ls_config *cfg = p->cfg;
    char ex[EXCERPT_MAX + 4];
    if (!valid_partition_name(pname, plen))
        return ls__err(LS_ECONFIG, "%s:%u: invalid partition name '%s' (use letters, digits, '_' and '-')",
                      p->name, p->line, excerpt(pname, plen, ex, sizeof ex));
    for (size_t i = 0; i < cfg->npartitions; i++)
        if (strlen(cfg->partitions[i].name) == plen && memcmp(cfg->partitions[i].name, pname, plen) == 0)
            return ls__err(LS_ECONFIG, "%s:%u: duplicate key 'partition-%s'", p->name, p->line,
                          cfg->partitions[i].name);
    char key[EXCERPT_MAX + 16];
    snprintf(key, sizeof key, "partition-%.*s", (int)plen, pname);
    char *path = NULL;
    int rc = parse_path(p, key, v, vlen, &path);
    if (rc) return rc;
    ls_partition_conf *np = realloc(cfg->partitions, (cfg->npartitions + 1) * sizeof *np);
    if (!np) { free(path); return oom(); }
    cfg->partitions = np;
    np[cfg->npartitions].name = dup_n(pname, plen);
    np[cfg->npartitions].path = path;
    if (!np[cfg->npartitions].name) { free(path); return oom(); }
    cfg->npartitions++;
    return LS_OK;
}

/* admins: whitespace-separated identifiers (Cyrus splits the same way). */
static int parse_admins(parser *p, const char *v, size_t vlen)
{
    ls_config *cfg = p->cfg;
    size_t i = 0;
    while (i < vlen) {
        while (i < vlen && is_space(v[i])) i++;
        size_t start = i;
        while (i < vlen && !is_space(v[i])) i++;
        if (i == start) break;
        char **na = realloc(cfg->admins, (cfg->nadmins + 1) * sizeof *na);
        if (!na) return oom();
        cfg->admins = na;
        na[cfg->nadmins] = dup_n(v + start, i - start);
        if (!na[cfg->nadmins]) return oom();
        cfg->nadmins++;
    }
    return LS_OK;
}

static int parse_separator(parser *p, const char *v, size_t vlen)
{
    if (vlen == 1 && (v[0] == '.' || v[0] == '/')) { p->cfg->sep = v[0]; return LS_OK; }
    char ex[EXCERPT_MAX + 4];
    return ls__err(LS_ECONFIG, "%s:%u: hierarchy_separator: '%s' is not allowed (use '.' or '/')",
                  p->name, p->line, excerpt(v, vlen, ex, sizeof ex));
}

static int parse_fsync(parser *p, const char *v, size_t vlen)
{
    if (vlen == 3 && memcmp(v, "all", 3) == 0) { p->cfg->fsync_mode = LS_FSYNC_ALL; return LS_OK; }
    if (vlen == 8 && memcmp(v, "messages", 8) == 0) { p->cfg->fsync_mode = LS_FSYNC_MESSAGES; return LS_OK; }
    char ex[EXCERPT_MAX + 4];
    return ls__err(LS_ECONFIG, "%s:%u: fsync: '%s' is not allowed (use 'all' or 'messages')", p->name,
                  p->line, excerpt(v, vlen, ex, sizeof ex));
}

static int parse_defaultpartition(parser *p, const char *v, size_t vlen)
{
    char ex[EXCERPT_MAX + 4];
    if (!valid_partition_name(v, vlen))
        return ls__err(LS_ECONFIG, "%s:%u: defaultpartition: '%s' is not a valid partition name",
                      p->name, p->line, excerpt(v, vlen, ex, sizeof ex));
    free(p->cfg->defaultpartition);
    p->cfg->defaultpartition = dup_n(v, vlen);
    p->defpart_line = p->line;
    return p->cfg->defaultpartition ? LS_OK : oom();
}

/* maxmessagesize: 0 means no limit, as in Cyrus imapd.conf (an admin who
 * copies a Cyrus configuration must not find every message refused). */
static int parse_maxmessagesize(parser *p, const char *v, size_t vlen)
{
    int rc = parse_number(p, key_names[K_MAXMESSAGESIZE], v, vlen, &p->cfg->maxmessagesize);
    if (!rc && p->cfg->maxmessagesize == 0)
        p->cfg->maxmessagesize = -1;
    return rc;
}

/* Dispatch one "key: value" pair to the parser of its value. */
static int set_key(parser *p, int k, const char *v, size_t vlen)
{
    ls_config *cfg = p->cfg;
    const char *key = key_names[k];
    switch (k) {
    case K_CONFIGDIRECTORY: return parse_path(p, key, v, vlen, &cfg->configdirectory);
    case K_DEFAULTPARTITION: return parse_defaultpartition(p, v, vlen);
    case K_SINGLEINSTANCESTORE: return parse_bool(p, key, v, vlen, &cfg->singleinstancestore);
    case K_HIERARCHY_SEPARATOR: return parse_separator(p, v, vlen);
    case K_ADMINS: return parse_admins(p, v, vlen);
    case K_QUOTA_DEFAULT_STORAGE: return parse_number(p, key, v, vlen, &cfg->quota_default_storage);
    case K_GROUPSFILE: cfg->groupsfile_line = p->line; return parse_path(p, key, v, vlen, &cfg->groupsfile);
    case K_MAXMESSAGESIZE: return parse_maxmessagesize(p, v, vlen);
    case K_FSYNC: return parse_fsync(p, v, vlen);
    case K_ANNOTATION_SIZE_LIMIT: return parse_number(p, key, v, vlen, &cfg->annotation_size_limit);
    }
    return LS_OK;
}

static int handle_pair(parser *p, const char *key, size_t klen, const char *v, size_t vlen)
{
    char ex[EXCERPT_MAX + 4];
    if (klen > 10 && memcmp(key, "partition-", 10) == 0)
        return add_partition(p, key + 10, klen - 10, v, vlen);
    for (int k = 0; k < K_COUNT; k++) {
        if (strlen(key_names[k]) != klen || memcmp(key_names[k], key, klen) != 0) continue;
        if (p->seen_line[k])
            return ls__err(LS_ECONFIG, "%s:%u: duplicate key '%s' (first set on line %u)", p->name,
                          p->line, key_names[k], p->seen_line[k]);
        p->seen_line[k] = p->line;
        return set_key(p, k, v, vlen);
    }
    if (klen == 10 && memcmp(key, "partition-", 10) == 0)
        return ls__err(LS_ECONFIG, "%s:%u: key 'partition-' lacks a partition name", p->name, p->line);
    return ls__err(LS_ECONFIG, "%s:%u: unknown key '%s'", p->name, p->line,
                  excerpt(key, klen, ex, sizeof ex));
}

/* Cut a trailing comment: '#' preceded by whitespace starts one (so a value
 * such as "/var/spool#1" keeps its '#'). */
static size_t strip_comment(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (s[i] == '#' && is_space(s[i - 1])) return i;
    return n;
}

/* One line, without its '\n'. Blank and comment lines are skipped. */
static int parse_line(parser *p, const char *s, size_t n)
{
    char ex[EXCERPT_MAX + 4];
    while (n > 0 && is_space(*s)) { s++; n--; }
    if (n == 0 || *s == '#') return LS_OK;
    n = strip_comment(s, n);
    while (n > 0 && is_space(s[n - 1])) n--;
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return ls__err(LS_ECONFIG, "%s:%u: expected 'key: value', found '%s'", p->name, p->line,
                      excerpt(s, n, ex, sizeof ex));
    size_t klen = (size_t)(colon - s);
    while (klen > 0 && is_space(s[klen - 1])) klen--;
    if (klen == 0)
        return ls__err(LS_ECONFIG, "%s:%u: missing key before ':'", p->name, p->line);
    for (size_t i = 0; i < klen; i++)
        if (is_space(s[i]))
            return ls__err(LS_ECONFIG, "%s:%u: invalid key '%s' (keys contain no spaces)", p->name,
                          p->line, excerpt(s, klen, ex, sizeof ex));
    const char *v = colon + 1;
    size_t vlen = n - (size_t)(v - s);
    while (vlen > 0 && is_space(*v)) { v++; vlen--; }
    return handle_pair(p, s, klen, v, vlen);
}

/* Checks that need the whole file: required keys and cross references. */
static int check_complete(parser *p)
{
    ls_config *cfg = p->cfg;
    if (!cfg->configdirectory)
        return ls__err(LS_ECONFIG, "%s: missing required key 'configdirectory'", p->name);
    if (cfg->npartitions == 0)
        return ls__err(LS_ECONFIG, "%s: no partition configured (add a 'partition-NAME: DIRECTORY' line)",
                      p->name);
    if (!cfg->defaultpartition) {
        cfg->defaultpartition = strdup("default");
        if (!cfg->defaultpartition) return oom();
    }
    if (ls__config_partition_path(cfg, cfg->defaultpartition)) return LS_OK;
    if (p->defpart_line)
        return ls__err(LS_ECONFIG, "%s:%u: defaultpartition '%s' names no configured partition "
                      "(no 'partition-%s' key)", p->name, p->defpart_line, cfg->defaultpartition,
                      cfg->defaultpartition);
    return ls__err(LS_ECONFIG, "%s: no 'partition-default' key and no 'defaultpartition' naming "
                  "another partition", p->name);
}

static ls_config *config_new(const char *name)
{
    ls_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->path = strdup(name);
    if (!cfg->path) { free(cfg); return NULL; }
    cfg->singleinstancestore = 1;
    cfg->sep = '.';
    cfg->quota_default_storage = -1;
    cfg->maxmessagesize = -1;
    cfg->fsync_mode = LS_FSYNC_ALL;
    cfg->annotation_size_limit = 65536;
    return cfg;
}

static int parse_all(parser *p, const char *text, size_t len)
{
    size_t pos = 0;
    p->line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        p->line++;
        if (memchr(text + pos, '\0', end - pos))
            return ls__err(LS_ECONFIG, "%s:%u: NUL byte in the file (is it a text file?)", p->name, p->line);
        int rc = parse_line(p, text + pos, end - pos);
        if (rc) return rc;
        pos = end + 1;
    }
    return check_complete(p);
}

int ls__config_parse(const char *text, size_t len, const char *name, ls_config **out)
{
    *out = NULL;
    if (!name) name = "<string>";
    parser p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.cfg = config_new(name);
    if (!p.cfg) return oom();
    int rc = parse_all(&p, text ? text : "", text ? len : 0);
    if (rc) { ls__config_free(p.cfg); return rc; }
    *out = p.cfg;
    return LS_OK;
}

/* Read the whole file; the config is small, and reading it at once lets the
 * same parser serve files, strings and the fuzzer. */
static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ls__err(LS_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return ls__err(LS_ECONFIG, "%s: is a directory, not a configuration file", path);
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = cap > (64u << 20) ? NULL : realloc(b, cap * 2);
        if (!nb) { free(b); b = NULL; break; }
        b = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!b) return ls__err(LS_ECONFIG, "%s: file too large or out of memory", path);
    if (err) { free(b); return ls__err(LS_ECONFIG, "%s: read error", path); }
    *buf = b;
    *len = n;
    return LS_OK;
}

/* The groupsfile must be there and readable when the store opens: without
 * it every "group:NAME" ACL entry silently grants nothing (and every
 * negative one denies nothing). It is read on first use, by the identity
 * that opened the store, so open(2) it now as that identity. */
static int check_groupsfile(const ls_config *cfg)
{
    const char *g = cfg->groupsfile;
    if (!g) return LS_OK;
    int fd = open(g, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        return ls__err(LS_ECONFIG, "%s:%u: groupsfile: %s does not exist, so group:NAME entries in ACLs "
                      "would grant nothing (create it, or remove the key)", cfg->path, cfg->groupsfile_line, g);
    if (fd < 0)
        return ls__err(LS_ECONFIG, "%s:%u: groupsfile: %s cannot be read: %s", cfg->path, cfg->groupsfile_line,
                      g, strerror(errno));
    struct stat st;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    if (!regular)
        return ls__err(LS_ECONFIG, "%s:%u: groupsfile: %s is not a regular file", cfg->path,
                      cfg->groupsfile_line, g);
    return LS_OK;
}

const char *ls__config_default_path(const char *path)
{
    if (!path)
        path = getenv("LIBSTORE_CONFIG");
    return path && *path ? path : "./store.conf";
}

int ls__config_load(const char *path, ls_config **out)
{
    *out = NULL;
    if (!path || !*path) return ls__err(LS_ECONFIG, "no configuration file given");
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc) return rc;
    rc = ls__config_parse(buf, len, path, out);
    free(buf);
    if (!rc && (rc = check_groupsfile(*out))) {
        ls__config_free(*out);
        *out = NULL;
    }
    return rc;
}

void ls__config_free(ls_config *cfg)
{
    if (!cfg) return;
    free(cfg->path);
    free(cfg->configdirectory);
    for (size_t i = 0; i < cfg->npartitions; i++) {
        free(cfg->partitions[i].name);
        free(cfg->partitions[i].path);
    }
    free(cfg->partitions);
    free(cfg->defaultpartition);
    for (size_t i = 0; i < cfg->nadmins; i++) free(cfg->admins[i]);
    free(cfg->admins);
    free(cfg->groupsfile);
    free(cfg);
}

const char *ls__config_partition_path(const ls_config *cfg, const char *name)
{
    if (!cfg || !name) return NULL;
    for (size_t i = 0; i < cfg->npartitions; i++)
        if (strcmp(cfg->partitions[i].name, name) == 0) return cfg->partitions[i].path;
    return NULL;
}

int ls__config_is_admin(const ls_config *cfg, const char *id)
{
    if (!cfg || !id) return 0;
    for (size_t i = 0; i < cfg->nadmins; i++)
        if (strcmp(cfg->admins[i], id) == 0) return 1;
    return 0;
}

/*
 * The Content-* fields of one MIME part, as BODYSTRUCTURE shows them.
 *
 * The first occurrence of each field wins, with one quirk kept from
 * Dovecot: a Content-Disposition without parameters is replaced by a later
 * Content-Disposition. Values are taken as written (no case folding), and
 * unparseable values degrade the way Dovecot's do (see each function).
 */
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

int ls__partdata_content_type(ls_arena *a, mime_data *d, const char *v, size_t n)
{
    rfc_ctx c;
    ls_sbuf s = {0};
    rfc_init(&c, v, n);
    ls__rfc_skip_lwsp(&c);
    int ret = ls__rfc_parse_content_type(&c, &s);
    const char *full = ls__ar_strdup_sb(a, &s);
    const char *slash = strchr(full, '/');
    if (slash != NULL) {
        d->type = ls__ar_strndup(a, full, (size_t)(slash - full));
        d->subtype = slash + 1;
        d->type_has_slash = true;
    } else {
        /* broken: keep what we got as the type so that the part is not
         * shown as text/plain while the parser treated it otherwise */
        d->type = full;
        d->subtype = "";
    }
    ls__sb_free(&s);
    if (ret < 0)
        return ret; /* no parameters after a broken type */
    ls__rfc2231_parse(&c, a, &d->type_params, &d->ntype_params);
    return ret;
}

static void parse_encoding(ls_arena *a, mime_data *d, const char *v, size_t n)
{
    rfc_ctx c;
    ls_sbuf s = {0};
    rfc_init(&c, v, n);
    ls__rfc_skip_lwsp(&c);
    /* one token and nothing else, or the field is ignored */
    if (ls__rfc_parse_mime_token(&c, &s) >= 0 && ls__rfc_skip_lwsp(&c) == 0 && s.len > 0)
        d->encoding = ls__ar_strdup_sb(a, &s);
    ls__sb_free(&s);
}

static void parse_disposition(ls_arena *a, mime_data *d, const char *v, size_t n)
{
    rfc_ctx c;
    ls_sbuf s = {0};
    rfc_init(&c, v, n);
    ls__rfc_skip_lwsp(&c);
    if (ls__rfc_parse_mime_token(&c, &s) < 0) {
        ls__sb_free(&s);
        return;
    }
    d->disposition = ls__ar_strdup_sb(a, &s);
    ls__sb_free(&s);
    ls__rfc2231_parse(&c, a, &d->disp_params, &d->ndisp_params);
}

static void parse_language(ls_arena *a, mime_data *d, const char *v, size_t n)
{
    /* 1#Language-tag, taken as comma-separated atoms */
    rfc_ctx c;
    ls_sbuf s = {0};
    const char **list = NULL;
    unsigned cnt = 0, cap = 0;
    rfc_init(&c, v, n);
    ls__rfc_skip_lwsp(&c);
    while (ls__rfc_parse_atom(&c, &s) >= 0) {
        if (cnt + 1 >= cap) {
            unsigned ncap = cap ? cap * 2 : 8;
            const char **nl = ls__ar_alloc(a, ncap * sizeof(*nl));
            if (cnt)
                memcpy(nl, list, cnt * sizeof(*nl));
            list = nl;
            cap = ncap;
        }
        list[cnt++] = ls__ar_strdup_sb(a, &s);
        sb_clear(&s);
        if (c.p >= c.end || *c.p != ',')
            break;
        c.p++;
        ls__rfc_skip_lwsp(&c);
    }
    ls__sb_free(&s);
    if (cnt > 0) {
        list[cnt] = NULL;
        d->language = list;
        d->nlanguage = cnt;
    }
}

void ls__partdata_header(ls_arena *a, mime_data *d, const char *name, const char *v, size_t n)
{
    /* name is what follows "Content-" */
    switch (name[0]) {
    case 'i':
    case 'I':
        if (strcasecmp(name, "ID") == 0 && d->id == NULL)
            d->id = ls__hdr_strdup(a, v, n);
        break;
    case 'm':
    case 'M':
        if (strcasecmp(name, "MD5") == 0 && d->md5 == NULL)
            d->md5 = ls__hdr_strdup(a, v, n);
        break;
    case 't':
    case 'T':
        if (strcasecmp(name, "Type") == 0 && d->type == NULL)
            (void)ls__partdata_content_type(a, d, v, n);
        else if (strcasecmp(name, "Transfer-Encoding") == 0 && d->encoding == NULL)
            parse_encoding(a, d, v, n);
        break;
    case 'l':
    case 'L':
        if (strcasecmp(name, "Language") == 0 && d->language == NULL)
            parse_language(a, d, v, n);
        else if (strcasecmp(name, "Location") == 0 && d->location == NULL)
            d->location = ls__hdr_strdup(a, v, n);
        break;
    case 'd':
    case 'D':
        if (strcasecmp(name, "Description") == 0 && d->description == NULL)
            d->description = ls__hdr_strdup(a, v, n);
        else if (strcasecmp(name, "Disposition") == 0 && d->disp_params == NULL)
            parse_disposition(a, d, v, n);
        break;
    }
}

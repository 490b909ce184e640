/*
 * MIME parameter lists with RFC 2231 continuations ("name*0*=...").
 *
 * Like Dovecot (whose BODYSTRUCTURE we reproduce) we merge continuations
 * but do not decode charsets: "name*0*=utf-8''a%20; name*1=b" becomes
 * ("name*" "utf-8''a%20b"). Plain parameters come first, in their order;
 * merged ones follow, sorted by name. A set with a missing index is given
 * back unmerged, one "name*N[*]" entry each.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

typedef struct cont_param {
    const char *key;   /* the name before '*' */
    const char *value;
    unsigned idx;
    bool extended;     /* charset/percent-encoded part ("*N*" or "*") */
    unsigned order;    /* arrival order: keeps the sort stable */
} cont_param;

static int cont_cmp(const void *a, const void *b)
{
    const cont_param *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    if (r != 0)
        return r;
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

typedef struct plist {
    mime_param *v;
    unsigned n, cap;
} plist;

static void plist_add(plist *l, const char *name, const char *value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = ls__mime_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].name = name;
    l->v[l->n].value = value;
    l->n++;
}

static void add_percent_escaped(ls_sbuf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '%')
            ls__sb_adds(b, "%25");
        else
            ls__sb_addc(b, *s);
    }
}

void ls__rfc2231_parse(rfc_ctx *c, ls_arena *a, mime_param **params, unsigned *count)
{
    ls_sbuf key = {0}, value = {0}, tmp = {0};
    plist out = {0};
    cont_param *conts = NULL;
    unsigned nconts = 0, capconts = 0;
    /* Deliberately persistent across parameters: a bare "name*" takes the
     * index of the previous numbered one, exactly as Dovecot does. */
    unsigned idx = 0;
    bool saved_repl = c->nul_repl;
    int ret;

    c->nul_repl = true;
    while ((ret = ls__rfc_parse_content_param(c, &key, &value)) != 0) {
        if (ret < 0) {
            /* skip one byte and try again: tolerant of junk */
            if (c->p >= c->end)
                break;
            c->p++;
            continue;
        }
        const char *k = ls__ar_strdup_sb(a, &key);
        const char *v = ls__ar_strdup_sb(a, &value);
        const char *star = strchr(k, '*');
        bool plain = true;
        if (star != NULL) {
            const char *p = star;
            bool extended;
            if (p[1] != '\0') {
                p++;
                idx = 0;
                for (; *p >= '0' && *p <= '9'; p++)
                    idx = idx * 10 + (unsigned)(*p - '0');
            }
            if (*p != '*') {
                extended = false;
            } else {
                extended = true;
                p++;
            }
            if (*p == '\0') {
                plain = false;
                if (nconts == capconts) {
                    capconts = capconts ? capconts * 2 : 8;
                    conts = ls__mime_xrealloc(conts, capconts * sizeof(*conts));
                }
                cont_param *cp = &conts[nconts];
                cp->key = ls__ar_strndup(a, k, (size_t)(star - k));
                cp->value = v;
                cp->idx = idx;
                cp->extended = extended;
                cp->order = nconts++;
            }
        }
        if (plain)
            plist_add(&out, k, v);
    }
    c->nul_repl = saved_repl;

    if (nconts > 0) {
        qsort(conts, nconts, sizeof(*conts), cont_cmp);
        unsigned next;
        for (unsigned i = 0; i < nconts; i = next) {
            bool ok = true, have_ext = false;
            unsigned want = 0, j;
            /* grouping is case-insensitive while the sort is not: a quirk
             * we keep so that odd mixes of case give the same result */
            for (j = i; j < nconts; j++) {
                if (strcasecmp(conts[i].key, conts[j].key) != 0)
                    break;
                if (conts[j].idx != want)
                    ok = false;
                if (conts[j].extended)
                    have_ext = true;
                want++;
            }
            next = j;
            if (!ok) {
                for (j = i; j < next; j++) {
                    sb_clear(&tmp);
                    ls__sb_printf(&tmp, conts[j].extended ? "%s*%u*" : "%s*%u",
                              conts[j].key, conts[j].idx);
                    plist_add(&out, ls__ar_strdup_sb(a, &tmp), conts[j].value);
                }
                continue;
            }
            sb_clear(&tmp);
            if (!conts[i].extended && have_ext)
                ls__sb_adds(&tmp, "''");
            for (j = i; j < next; j++) {
                if (!conts[j].extended && have_ext)
                    add_percent_escaped(&tmp, conts[j].value);
                else
                    ls__sb_adds(&tmp, conts[j].value);
            }
            const char *name = conts[i].key;
            if (have_ext) {
                size_t kl = strlen(name);
                char *n2 = ls__ar_alloc(a, kl + 2);
                memcpy(n2, name, kl);
                n2[kl] = '*';
                name = n2;
            }
            plist_add(&out, name, ls__ar_strdup_sb(a, &tmp));
        }
    }

    *count = out.n;
    *params = NULL;
    if (out.n > 0) {
        *params = ls__ar_alloc(a, out.n * sizeof(mime_param));
        memcpy(*params, out.v, out.n * sizeof(mime_param));
    }
    free(out.v);
    free(conts);
    ls__sb_free(&key);
    ls__sb_free(&value);
    ls__sb_free(&tmp);
}

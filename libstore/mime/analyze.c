/*
 * ls__mime_analyze(): the entry point that runs the parser once and derives
 * everything the cache record needs from the part tree.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "mime/internal.h"

const char *const ls__mime_field_names[LS_MIME_NFIELDS] = {
    "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID",
    "In-Reply-To", "References", "Reply-To", "Sender",
};

static int field_index(const hdr_line *h)
{
    for (int i = 0; i < LS_MIME_NFIELDS; i++) {
        if (h->name_len == strlen(ls__mime_field_names[i]) &&
            strncasecmp(h->name, ls__mime_field_names[i], h->name_len) == 0)
            return i;
    }
    return -1;
}

/* Everything ls__mime_analyze() owns while it runs: kept in one struct
 * whose address escapes, so that after an out-of-memory longjmp the
 * cleanup code sees the current pointers. */
typedef struct work {
    const char *msg;
    size_t len;
    ls_arena arena;
    ls_sbuf env, bs, body, fields, scratch;
    ls_mime_part *parts;
    size_t nparts;
    const mime_node *root;
    int64_t sent;
    int16_t tz;
} work;

static void work_free(work *w)
{
    ls__ar_free(&w->arena);
    ls__sb_free(&w->env);
    ls__sb_free(&w->bs);
    ls__sb_free(&w->body);
    ls__sb_free(&w->fields);
    ls__sb_free(&w->scratch);
    free(w->parts);
    w->parts = NULL;
}

/* The chosen fields of the top-level header (first occurrence each, raw)
 * and the sent date from the first Date:. */
static void collect_fields(const char *msg, work *w)
{
    unsigned seen = 0;
    size_t pos = 0, hl = (size_t)w->root->hdr_len;
    while (pos < hl && !hdr_at_eoh(msg, hl, pos)) {
        hdr_line h;
        ls__hdr_read(msg, hl, pos, &h);
        pos += h.raw_len;
        if (h.name_len == 0 || h.name_len > 11)
            continue;
        int i = field_index(&h);
        if (i < 0 || (seen & (1u << i)))
            continue;
        seen |= 1u << i;
        ls__sb_add(&w->fields, msg + h.raw_off, h.raw_len);
        if (i == 5) { /* Date */
            size_t vn;
            const char *v = ls__hdr_full_value(msg, &h, &w->scratch, &vn);
            int64_t t;
            int16_t z;
            if (ls__rfc822_date_parse(v, vn, &t, &z)) {
                w->sent = t;
                w->tz = z;
            }
        }
    }
}

static void run(void *arg)
{
    work *w = arg;
    mime_tree tree;
    ls__mime_parse_tree(w->msg, w->len, &w->arena, &tree);
    w->root = tree.root;
    /* the FETCH values, outer parentheses included */
    ls__sb_addc(&w->env, '(');
    ls__envelope_write(&w->env, w->root->env);
    ls__sb_addc(&w->env, ')');
    ls__sb_addc(&w->bs, '(');
    ls__bodystructure_write(&w->bs, w->root, true);
    ls__sb_addc(&w->bs, ')');
    ls__sb_addc(&w->body, '(');
    ls__bodystructure_write(&w->body, w->root, false);
    ls__sb_addc(&w->body, ')');
    ls__sections_build(&tree, &w->parts, &w->nparts);
    collect_fields(w->msg, w);
    ls__sb_cstr(&w->env);
    ls__sb_cstr(&w->bs);
    ls__sb_cstr(&w->body);
    ls__sb_cstr(&w->fields);
}

int ls__mime_analyze(const char *msg, size_t len, ls_mime_info *out)
{
    work w;
    memset(&w, 0, sizeof(w));
    memset(out, 0, sizeof(*out));
    w.msg = msg != NULL ? msg : "";
    w.len = msg != NULL ? len : 0;
    if (ls__mime_guard(run, &w) < 0) {
        work_free(&w);
        return ls__err(LS_ENOMEM, "out of memory analysing a %zu-byte message", len);
    }
    out->envelope = w.env.p;
    out->bodystructure = w.bs.p;
    out->body = w.body.p;
    out->fields = w.fields.p;
    out->fields_len = w.fields.len;
    out->parts = w.parts;
    out->nparts = w.nparts;
    out->header_size = w.root->hdr_len;
    out->body_lines = (uint32_t)w.root->body_lines;
    out->sent_date = w.sent;
    out->sent_tz = w.tz;
    /* the strings now belong to out; free only the rest */
    w.env.p = w.bs.p = w.body.p = w.fields.p = NULL;
    w.parts = NULL;
    work_free(&w);
    return LS_OK;
}

void ls__mime_info_free(ls_mime_info *info)
{
    if (info == NULL)
        return;
    free(info->envelope);
    free(info->bodystructure);
    free(info->body);
    free(info->parts);
    free(info->fields);
    memset(info, 0, sizeof(*info));
}

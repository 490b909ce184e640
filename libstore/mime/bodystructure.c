/*
 * FETCH BODY and BODYSTRUCTURE strings from the part tree, in Dovecot 2.3's
 * exact form:
 *  - a part without Content-Type is "text" "plain" ("charset" "us-ascii");
 *    any text/ part without a charset parameter gets that one appended;
 *  - a multipart with no parts shows one empty text/plain part;
 *  - a container beyond the nesting/part limits is application/octet-stream;
 *  - sizes are "virtual" (as if every line ended in CRLF); text parts add
 *    their line count, message/rfc822 the envelope, structure and lines;
 *  - extension data: md5 (single parts), disposition, language, location;
 *    multiparts give their parameters instead of md5.
 * Recursion depth is bounded by the parser's nesting limit (100).
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

#define EMPTY_TEXT "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

static void write_params(ls_sbuf *out, const mime_param *p, unsigned n, bool default_charset)
{
    if (!default_charset && n == 0) {
        ls__sb_add(out, "NIL", 3);
        return;
    }
    bool seen_charset = false;
    ls__sb_addc(out, '(');
    for (unsigned i = 0; i < n; i++) {
        if (i > 0)
            ls__sb_addc(out, ' ');
        if (default_charset && strcasecmp(p[i].name, "charset") == 0)
            seen_charset = true;
        ls__imap_nstring(out, p[i].name);
        ls__sb_addc(out, ' ');
        ls__imap_nstring(out, p[i].value);
    }
    if (default_charset && !seen_charset) {
        if (n > 0)
            ls__sb_addc(out, ' ');
        ls__sb_adds(out, "\"charset\" \"us-ascii\"");
    }
    ls__sb_addc(out, ')');
}

static void write_ext_common(ls_sbuf *out, const mime_data *d)
{
    ls__sb_addc(out, ' ');
    if (d->disposition == NULL) {
        ls__sb_add(out, "NIL", 3);
    } else {
        ls__sb_addc(out, '(');
        ls__imap_nstring(out, d->disposition);
        ls__sb_addc(out, ' ');
        write_params(out, d->disp_params, d->ndisp_params, false);
        ls__sb_addc(out, ')');
    }
    ls__sb_addc(out, ' ');
    if (d->language == NULL) {
        ls__sb_add(out, "NIL", 3);
    } else {
        ls__sb_addc(out, '(');
        for (unsigned i = 0; d->language[i] != NULL; i++) {
            if (i > 0)
                ls__sb_addc(out, ' ');
            ls__imap_nstring(out, d->language[i]);
        }
        ls__sb_addc(out, ')');
    }
    ls__sb_addc(out, ' ');
    ls__imap_nstring_nolf(out, d->location);
}

/* A single part whose container flag was dropped at the limits. */
static bool is_truncated(const mime_node *n)
{
    const mime_data *d = &n->data;
    if (d->type != NULL) {
        if (strcasecmp(d->type, "message") == 0 && strcasecmp(d->subtype, "rfc822") == 0)
            return true;
        return strcasecmp(d->type, "multipart") == 0;
    }
    return n->parent != NULL && (n->parent->flags & MP_DIGEST);
}

static void write_part(ls_sbuf *out, const mime_node *n, bool ext);

static void write_children(ls_sbuf *out, const mime_node *child, bool ext)
{
    for (; child != NULL; child = child->next) {
        ls__sb_addc(out, '(');
        write_part(out, child, ext);
        ls__sb_addc(out, ')');
    }
}

static void write_multipart(ls_sbuf *out, const mime_node *n, bool ext)
{
    const mime_data *d = &n->data;
    if (n->children != NULL)
        write_children(out, n->children, ext);
    else
        ls__sb_adds(out, ext ? "(" EMPTY_TEXT " NIL NIL NIL NIL)" : "(" EMPTY_TEXT ")");
    ls__sb_addc(out, ' ');
    ls__imap_nstring(out, d->subtype);
    if (!ext)
        return;
    ls__sb_addc(out, ' ');
    write_params(out, d->type_params, d->ntype_params, false);
    write_ext_common(out, d);
}

static void write_single(ls_sbuf *out, const mime_node *n, bool ext)
{
    const mime_data *d = &n->data;
    bool text;
    if (n->flags & MP_RFC822) {
        ls__sb_adds(out, "\"message\" \"rfc822\"");
        text = false;
    } else if (is_truncated(n)) {
        ls__sb_adds(out, "\"application\" \"octet-stream\"");
        text = false;
    } else if (d->type == NULL) {
        ls__sb_adds(out, "\"text\" \"plain\"");
        text = true;
    } else {
        text = strcasecmp(d->type, "text") == 0;
        ls__imap_nstring(out, d->type);
        ls__sb_addc(out, ' ');
        ls__imap_nstring(out, d->subtype);
    }
    ls__sb_addc(out, ' ');
    write_params(out, d->type_params, d->ntype_params, text);
    ls__sb_addc(out, ' ');
    ls__imap_nstring_nolf(out, d->id);
    ls__sb_addc(out, ' ');
    ls__imap_nstring_nolf(out, d->description);
    ls__sb_addc(out, ' ');
    if (d->encoding != NULL)
        ls__imap_nstring(out, d->encoding);
    else
        ls__sb_adds(out, "\"7bit\"");
    ls__sb_printf(out, " %" PRIu64, n->body_vsize);

    if (text) {
        ls__sb_printf(out, " %u", (unsigned)n->body_lines);
    } else if ((n->flags & MP_RFC822) && n->children != NULL) {
        ls__sb_adds(out, " (");
        ls__envelope_write(out, n->children->env);
        ls__sb_adds(out, ") ");
        write_children(out, n->children, ext);
        ls__sb_printf(out, " %u", (unsigned)n->body_lines);
    }
    if (!ext)
        return;
    ls__sb_addc(out, ' ');
    ls__imap_nstring_nolf(out, d->md5);
    write_ext_common(out, d);
}

static void write_part(ls_sbuf *out, const mime_node *n, bool ext)
{
    if (n->flags & MP_MULTIPART)
        write_multipart(out, n, ext);
    else
        write_single(out, n, ext);
}

void ls__bodystructure_write(ls_sbuf *out, const mime_node *n, bool extended)
{
    write_part(out, n, extended);
}

/*
 * ENVELOPE: collecting the fields from a header and writing the IMAP list.
 *
 * Rules (Dovecot 2.3's): for Date, Subject, In-Reply-To and Message-ID the
 * last occurrence wins; repeated address fields are merged as if they were
 * one comma-separated list (so a second From: cannot hide behind the
 * first). Sender and Reply-To default to From. Date, In-Reply-To and
 * Message-ID are sent with line breaks removed, Subject and display names
 * "for humans" (whitespace collapsed), the other address parts as-is.
 */
#include <string.h>
#include <strings.h>

#include "mime/internal.h"

enum env_field {
    F_DATE, F_SUBJECT, F_FROM, F_SENDER, F_REPLY_TO, F_TO, F_CC, F_BCC,
    F_IN_REPLY_TO, F_MESSAGE_ID, F_NONE
};

static enum env_field field_of(const hdr_line *h)
{
    if (h->name_len < 2)
        return F_NONE;
    switch (h->name[0] | 0x20) {
    case 'b':
        return ls__hdr_name_is(h, "Bcc") ? F_BCC : F_NONE;
    case 'c':
        return ls__hdr_name_is(h, "Cc") ? F_CC : F_NONE;
    case 'd':
        return ls__hdr_name_is(h, "Date") ? F_DATE : F_NONE;
    case 'f':
        return ls__hdr_name_is(h, "From") ? F_FROM : F_NONE;
    case 'i':
        return ls__hdr_name_is(h, "In-Reply-To") ? F_IN_REPLY_TO : F_NONE;
    case 'm':
        return ls__hdr_name_is(h, "Message-ID") ? F_MESSAGE_ID : F_NONE;
    case 'r':
        return ls__hdr_name_is(h, "Reply-To") ? F_REPLY_TO : F_NONE;
    case 's':
        if (ls__hdr_name_is(h, "Subject"))
            return F_SUBJECT;
        return ls__hdr_name_is(h, "Sender") ? F_SENDER : F_NONE;
    case 't':
        return ls__hdr_name_is(h, "To") ? F_TO : F_NONE;
    }
    return F_NONE;
}

bool ls__envelope_wants(const hdr_line *h)
{
    return field_of(h) != F_NONE;
}

/* Append in O(1): a header may hold a million address fields. */
static void append_list(mime_envelope *e, int which, mime_addr *list)
{
    if (list == NULL)
        return;
    if (e->addr[which] == NULL)
        e->addr[which] = list;
    else
        e->tail[which]->next = list;
    while (list->next != NULL)
        list = list->next;
    e->tail[which] = list;
}

void ls__envelope_header(ls_arena *a, mime_envelope *e, const hdr_line *h,
                     const char *v, size_t n)
{
    int which = 0;
    switch (field_of(h)) {
    case F_NONE:
        return;
    case F_DATE:
        e->date = ls__hdr_strdup(a, v, n);
        return;
    case F_SUBJECT:
        e->subject = ls__hdr_strdup(a, v, n);
        return;
    case F_IN_REPLY_TO:
        e->in_reply_to = ls__hdr_strdup(a, v, n);
        return;
    case F_MESSAGE_ID:
        e->message_id = ls__hdr_strdup(a, v, n);
        return;
    case F_FROM: which = ENV_FROM; break;
    case F_SENDER: which = ENV_SENDER; break;
    case F_REPLY_TO: which = ENV_REPLY_TO; break;
    case F_TO: which = ENV_TO; break;
    case F_CC: which = ENV_CC; break;
    case F_BCC: which = ENV_BCC; break;
    }
    append_list(e, which, ls__addr_parse_list(a, (const unsigned char *)v, n));
}

static void write_addresses(ls_sbuf *out, const mime_addr *ad)
{
    if (ad == NULL) {
        ls__sb_add(out, "NIL", 3);
        return;
    }
    ls__sb_addc(out, '(');
    for (; ad != NULL; ad = ad->next) {
        ls__sb_addc(out, '(');
        if (ad->name == NULL)
            ls__sb_add(out, "NIL", 3);
        else
            ls__imap_string_for_humans(out, (const unsigned char *)ad->name, strlen(ad->name));
        ls__sb_addc(out, ' ');
        ls__imap_nstring(out, ad->route);
        ls__sb_addc(out, ' ');
        ls__imap_nstring(out, ad->mailbox);
        ls__sb_addc(out, ' ');
        ls__imap_nstring(out, ad->domain);
        ls__sb_addc(out, ')');
    }
    ls__sb_addc(out, ')');
}

void ls__envelope_write(ls_sbuf *out, const mime_envelope *e)
{
    if (e == NULL) {
        ls__sb_adds(out, "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL");
        return;
    }
    ls__imap_nstring_nolf(out, e->date);
    ls__sb_addc(out, ' ');
    if (e->subject == NULL)
        ls__sb_add(out, "NIL", 3);
    else
        ls__imap_string_for_humans(out, (const unsigned char *)e->subject, strlen(e->subject));
    ls__sb_addc(out, ' ');
    mime_addr *from = e->addr[ENV_FROM];
    write_addresses(out, from);
    ls__sb_addc(out, ' ');
    write_addresses(out, e->addr[ENV_SENDER] ? e->addr[ENV_SENDER] : from);
    ls__sb_addc(out, ' ');
    write_addresses(out, e->addr[ENV_REPLY_TO] ? e->addr[ENV_REPLY_TO] : from);
    ls__sb_addc(out, ' ');
    write_addresses(out, e->addr[ENV_TO]);
    ls__sb_addc(out, ' ');
    write_addresses(out, e->addr[ENV_CC]);
    ls__sb_addc(out, ' ');
    write_addresses(out, e->addr[ENV_BCC]);
    ls__sb_addc(out, ' ');
    ls__imap_nstring_nolf(out, e->in_reply_to);
    ls__sb_addc(out, ' ');
    ls__imap_nstring_nolf(out, e->message_id);
}

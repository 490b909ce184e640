/* Loading mailboxes inside a transaction; their state; store.header. */
#include "store_impl.h"
#include "core/crc32c.h"
#include "core/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ls__mbref_set(ls_mbref *ref, const uint8_t uuid[LS_UUID_LEN], const char *partition)
{
    memcpy(ref->uuid, uuid, LS_UUID_LEN);
    ls__uuid_format(uuid, ref->uuidstr);
    ref->partition = partition;
}

int ls__mbstate_get(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_mbstate *s)
{
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_MBSTATE, uuid, LS_UUID_LEN, &v);
    if (rc == LS_ENOTFOUND) {
        char u[37];
        ls__uuid_format(uuid, u);
        return ls__err(LS_ECORRUPT, "mailbox %s has no state record (run reconstruct)", u);
    }
    return rc ? rc : ls__mbstate_decode(v.mv_data, v.mv_size, s);
}

/* How far above the MODSEQs given out store.header's mark is set when it
 * must move: the header is rewritten once per this many MODSEQs. Repairs
 * (t->mark_exact) set it exactly, so that a repair run twice moves
 * HIGHESTMODSEQ only by what it changed. */
#define MODSEQ_MARK_STEP 1024

int ls__mbstate_put(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const ls_mbstate *s)
{
    uint8_t buf[LS_MBSTATE_SIZE];
    uint64_t top = s->highestmodseq > s->privmodseq ? s->highestmodseq : s->privmodseq;
    if (top <= s->modseqmark || !t->env->before_commit || t->no_mark) {
        ls__mbstate_encode(s, buf);
        return ls__db_put(t, LS_DB_MBSTATE, uuid, LS_UUID_LEN, buf, sizeof buf, 0);
    }
    /* A MODSEQ past the mark: the new mark goes into the state now, and
     * store.header gets it right before the commit (ls__mbox_raise_marks).
     * The caller's copy may predate a raise made earlier in this
     * transaction (a batch puts the state once per message). */
    ls_mbstate w = *s, cur;
    MDB_val v;
    if (ls__db_get(t, LS_DB_MBSTATE, uuid, LS_UUID_LEN, &v) == LS_OK &&
        ls__mbstate_decode(v.mv_data, v.mv_size, &cur) == LS_OK && cur.modseqmark > w.modseqmark)
        w.modseqmark = cur.modseqmark;
    ls_error_clear();
    if (top > w.modseqmark) {
        w.modseqmark = top + (t->mark_exact ? 0 : MODSEQ_MARK_STEP);
        size_t i = 0;
        while (i < t->nmarks && memcmp(t->marks[i], uuid, LS_UUID_LEN))
            i++;
        if (i == t->nmarks) {
            if (t->nmarks == t->capmarks) {
                size_t nc = t->capmarks ? t->capmarks * 2 : 4;
                uint8_t(*nm)[16] = realloc(t->marks, nc * sizeof *nm);
                if (!nm)
                    return ls__err(LS_ENOMEM, "out of memory");
                t->marks = nm;
                t->capmarks = nc;
            }
            memcpy(t->marks[t->nmarks++], uuid, LS_UUID_LEN);
        }
    }
    ls__mbstate_encode(&w, buf);
    return ls__db_put(t, LS_DB_MBSTATE, uuid, LS_UUID_LEN, buf, sizeof buf, 0);
}

/* Before the commit (ls_env.before_commit): write store.header with the
 * marks the transaction raised, composed from the transaction itself, so
 * that no MODSEQ is ever committed above the mark on disk. A header that
 * cannot be written (a full partition, a directory not made yet) leaves
 * the state's mark at 0: the next transaction tries again. */
void ls__mbox_raise_marks(ls_txn *t)
{
    for (size_t i = 0; i < t->nmarks; i++) {
        ls_mbox m;
        if (ls__mbox_load_uuid(t, t->marks[i], &m) != LS_OK) {
            ls_error_clear();
            continue;
        }
        if (ls__header_write_in(t->env->owner, t, &m) != LS_OK) {
            m.state.modseqmark = 0;
            uint8_t buf[LS_MBSTATE_SIZE];
            ls__mbstate_encode(&m.state, buf);
            ls__db_put(t, LS_DB_MBSTATE, t->marks[i], LS_UUID_LEN, buf, sizeof buf, 0);
        }
        ls__mbox_clear(&m);
        ls_error_clear();
    }
}

void ls__mbox_clear(ls_mbox *m)
{
    free(m->name);
    m->name = NULL;
    ls__mbentry_clear(&m->entry);
}

int ls__mbox_load(ls_txn *t, const char *name, ls_mbox *out)
{
    memset(out, 0, sizeof *out);
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_MAILBOXES, name, strlen(name), &v);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ENOTFOUND, "mailbox '%s' does not exist", name);
    if (rc)
        return rc;
    if ((rc = ls__mbentry_decode(v.mv_data, v.mv_size, &out->entry)))
        return ls__err(rc, "mailbox '%s': %s", name, ls_error_last());
    out->name = strdup(name);
    if (!out->name) {
        ls__mbox_clear(out);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    ls__mbref_set(&out->ref, out->entry.uuid, out->entry.partition);
    if ((rc = ls__mbstate_get(t, out->entry.uuid, &out->state))) {
        rc = ls__err(rc, "mailbox '%s': %s", name, ls_error_last());
        ls__mbox_clear(out);
        return rc;
    }
    return LS_OK;
}

int ls__mbox_load_uuid(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_mbox *out)
{
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_BYUUID, uuid, LS_UUID_LEN, &v);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ENOTFOUND, "the mailbox no longer exists");
    if (rc)
        return rc;
    char name[LS_NAME_BUF];
    if (v.mv_size >= sizeof name)
        return ls__err(LS_ECORRUPT, "mailbox name too long in the uuid table");
    memcpy(name, v.mv_data, v.mv_size);
    name[v.mv_size] = 0;
    rc = ls__mbox_load(t, name, out);
    if (!rc && memcmp(out->entry.uuid, uuid, LS_UUID_LEN) != 0) {
        ls__mbox_clear(out);
        return ls__err(LS_ECORRUPT, "mailbox '%s': uuid table out of step (run reconstruct -m)", name);
    }
    return rc;
}

/* Append s to buf, escaping backslash, tab, CR, LF and other control bytes
 * as \\, \t, \r, \n and \xHH, so a value stays on one line. */
static char *append_escaped(char *buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (*len + 5 > *cap) {
            *cap = *cap * 2 + 64;
            char *nb = realloc(buf, *cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '\\')
            *len += (size_t)sprintf(buf + *len, "\\\\");
        else if (c == '\t')
            *len += (size_t)sprintf(buf + *len, "\\t");
        else if (c == '\n')
            *len += (size_t)sprintf(buf + *len, "\\n");
        else if (c == '\r')
            *len += (size_t)sprintf(buf + *len, "\\r");
        else if (c < 0x20 || c == 0x7f)
            *len += (size_t)sprintf(buf + *len, "\\x%02x", c);
        else
            buf[(*len)++] = (char)c;
    }
    buf[*len] = 0;
    return buf;
}

static char *append_str(char *buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        char *nb = realloc(buf, *cap);
        if (!nb) {
            free(buf);
            return NULL;
        }
        buf = nb;
    }
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return buf;
}

/*
 * store.header: a text file, one "key: value" per line, first line
 * "libstore-header 1"; values escaped as append_escaped() says. Keys: name,
 * uniqueid, partition, uidvalidity, uidnext, highestmodseq, acl (the raw
 * "ID\tRIGHTS\t" string, escaped), quota (when the mailbox is a quota root:
 * "STORAGE=N MESSAGE=N MAILBOX=N", -1 = no limit), and one "annotation:
 * ENTRY\tUSER\tVALUE" line per annotation (USER empty for /shared); last,
 * "end: CRC" (the CRC-32C of every byte before that line, 8 hex digits).
 * highestmodseq is a high-water mark: at or above every MODSEQ the mailbox
 * has given out. See docs/format.md.
 *
 * The text of m's store.header as txn t sees the mailbox (malloc'd). */
static int header_compose(ls_txn *t, const ls_mbox *m, char **out, size_t *outlen)
{
    size_t len = 0, cap = 1024;
    char *buf = malloc(cap), line[LS_NAME_BUF + 128];
    if (!buf)
        return ls__err(LS_ENOMEM, "out of memory");
    buf[0] = 0;
    /* the HIGHESTMODSEQ mark is a ceiling: at or above every MODSEQ given
     * out (ls__mbstate_put raises it before a transaction passes it) */
    uint64_t mark = m->state.highestmodseq;
    if (m->state.privmodseq > mark)
        mark = m->state.privmodseq;
    if (m->state.modseqmark > mark)
        mark = m->state.modseqmark;
    snprintf(line, sizeof line,
             "libstore-header 1\nname: %s\nuniqueid: %s\npartition: %s\nuidvalidity: %u\nuidnext: %u\n"
             "highestmodseq: %llu\nacl: ",
             m->name, m->ref.uuidstr, m->entry.partition, m->state.uidvalidity, m->state.uidnext,
             (unsigned long long)mark);
    buf = append_str(buf, &len, &cap, line);
    const char *acl = m->entry.acl ? m->entry.acl : "";
    if (buf)
        buf = append_escaped(buf, &len, &cap, acl, strlen(acl));
    if (buf)
        buf = append_str(buf, &len, &cap, "\n");
    if (buf) {
        MDB_val v;
        uint8_t *q;
        if (ls__db_get(t, LS_DB_QUOTA, m->name, strlen(m->name), &v) == LS_OK && v.mv_size >= 56) {
            q = v.mv_data;
            int64_t lim[3];
            for (int i = 0; i < 3; i++) {
                uint64_t x = 0;
                for (int b = 7; b >= 0; b--)
                    x = x << 8 | q[8 + 8 * i + b];
                lim[i] = (int64_t)x;
            }
            snprintf(line, sizeof line, "quota: STORAGE=%lld MESSAGE=%lld MAILBOX=%lld\n", (long long)lim[0],
                     (long long)lim[1], (long long)lim[2]);
            buf = append_str(buf, &len, &cap, line);
        }
        MDB_cursor *c;
        if (buf && ls__db_cursor(t, LS_DB_ANNOT, &c) == LS_OK) {
            MDB_val k = { LS_UUID_LEN, (void *)m->entry.uuid };
            for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); buf && mrc == 0;
                 mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                if (k.mv_size < LS_UUID_LEN || memcmp(k.mv_data, m->entry.uuid, LS_UUID_LEN))
                    break;
                const char *e = (const char *)k.mv_data + LS_UUID_LEN;
                size_t rest = k.mv_size - LS_UUID_LEN, el = strnlen(e, rest);
                if (el == rest)
                    continue;
                buf = append_str(buf, &len, &cap, "annotation: ");
                if (buf)
                    buf = append_escaped(buf, &len, &cap, e, el);
                if (buf)
                    buf = append_str(buf, &len, &cap, "\t");
                if (buf)
                    buf = append_escaped(buf, &len, &cap, e + el + 1, rest - el - 1);
                if (buf)
                    buf = append_str(buf, &len, &cap, "\t");
                if (buf)
                    buf = append_escaped(buf, &len, &cap, v.mv_data, v.mv_size);
                if (buf)
                    buf = append_str(buf, &len, &cap, "\n");
            }
            ls__db_cursor_close(c);
        }
    }
    /* the seal: a header cut short or edited is told from an intact one */
    if (buf) {
        snprintf(line, sizeof line, "end: %08x\n", ls__crc32c(buf, len));
        buf = append_str(buf, &len, &cap, line);
    }
    if (!buf)
        return ls__err(LS_ENOMEM, "out of memory");
    *out = buf;
    *outlen = len;
    return LS_OK;
}

/* The value of "\nKEY: N\n" in a header's text, 0 if absent. */
static uint64_t header_number(const char *text, size_t len, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text, *end = text + len; p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a last line without its newline may be cut */
        if ((size_t)(nl - p) > kl + 2 && !memcmp(p, key, kl) && p[kl] == ':' && p[kl + 1] == ' ')
            return strtoull(p + kl + 2, NULL, 10);
        p = nl + 1;
    }
    return 0;
}

int ls__header_write_in(ls_store *st, ls_txn *t, const ls_mbox *m)
{
    char *buf = NULL, *old;
    size_t len = 0, oldlen;
    /* The marks never go down, whoever writes: a writer holding a copy of
     * the state from before another transaction raised the mark (create's,
     * an ACL change's) must not lower it. */
    ls_mbox w = *m;
    if (st->layout->ops->header_read(st->layout, &m->ref, &old, &oldlen) == LS_OK) {
        uint64_t hms = header_number(old, oldlen, "highestmodseq"), un = header_number(old, oldlen, "uidnext");
        if (hms > w.state.modseqmark)
            w.state.modseqmark = hms;
        if (un > w.state.uidnext && un <= UINT32_MAX)
            w.state.uidnext = (uint32_t)un;
        free(old);
    }
    ls_error_clear();
    int rc = header_compose(t, &w, &buf, &len);
    if (rc)
        return rc;
    rc = st->layout->ops->header_write(st->layout, &m->ref, buf, len);
    free(buf);
    return rc;
}

int ls__header_write(ls_store *st, const ls_mbox *m)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    rc = ls__header_write_in(st, &t, m);
    ls__txn_end(&t);
    return rc;
}

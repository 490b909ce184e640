/*
 * Memory helpers of the MIME module: the out-of-memory escape, growable
 * strings and the per-analysis arena. Allocation failures never return:
 * they jump back to the public entry point, which frees what it owns and
 * reports LS_ENOMEM.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/internal.h"

__thread jmp_buf *ls__mime_oom_trap;

void ls__mime_oom(void)
{
    /* Every entry point arms the trap before allocating; reaching here
     * without one is a programming error, and abort() beats corruption. */
    if (ls__mime_oom_trap == NULL)
        abort();
    longjmp(*ls__mime_oom_trap, 1);
}

int ls__mime_guard(void (*fn)(void *), void *arg)
{
    jmp_buf jb;
    jmp_buf *saved = ls__mime_oom_trap;
    if (setjmp(jb) != 0) {
        ls__mime_oom_trap = saved;
        return -1;
    }
    ls__mime_oom_trap = &jb;
    fn(arg);
    ls__mime_oom_trap = saved;
    return 0;
}

void *ls__mime_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        ls__mime_oom();
    return p;
}

void *ls__mime_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        ls__mime_oom();
    return q;
}

/* ---- ls_sbuf ---- */

void ls__sb_reserve(ls_sbuf *b, size_t extra)
{
    if (b->cap - b->len > extra)   /* keep one byte for ls__sb_cstr's NUL */
        return;
    size_t need = b->len + extra + 1;
    if (need < b->len)
        ls__mime_oom();
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            ls__mime_oom();
        cap *= 2;
    }
    b->p = ls__mime_xrealloc(b->p, cap);
    b->cap = cap;
}

void ls__sb_add(ls_sbuf *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    ls__sb_reserve(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void ls__sb_addc(ls_sbuf *b, char c)
{
    if (b->cap - b->len <= 1)
        ls__sb_reserve(b, 1);
    b->p[b->len++] = c;
}

void ls__sb_adds(ls_sbuf *b, const char *s)
{
    ls__sb_add(b, s, strlen(s));
}

void ls__sb_printf(ls_sbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        ls__sb_add(b, tmp, (size_t)n);
        return;
    }
    ls__sb_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *ls__sb_cstr(ls_sbuf *b)
{
    ls__sb_reserve(b, 1);
    b->p[b->len] = '\0';
    return b->p;
}

void ls__sb_free(ls_sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- arena ---- */

struct ls_arena_chunk {
    ls_arena_chunk *next;
    max_align_t data[];
};

#define ARENA_CHUNK (64 * 1024)

void *ls__ar_alloc(ls_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if ((size_t)(a->end - a->cur) < n) {
        /* Big requests get a chunk of their own so that the current
         * chunk's free space is not thrown away. */
        size_t sz = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
        if (sz > SIZE_MAX - sizeof(ls_arena_chunk))
            ls__mime_oom();
        ls_arena_chunk *c = ls__mime_xmalloc(sizeof(*c) + sz);
        c->next = a->head;
        a->head = c;
        if (sz != ARENA_CHUNK) {
            memset(c->data, 0, n);
            return c->data;
        }
        a->cur = (char *)c->data;
        a->end = a->cur + sz;
    }
    void *p = a->cur;
    a->cur += n;
    memset(p, 0, n);
    return p;
}

char *ls__ar_strndup(ls_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        ls__mime_oom();
    char *p = ls__ar_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ls__ar_strdup_sb(ls_arena *a, const ls_sbuf *b)
{
    const char *nul = b->len ? memchr(b->p, '\0', b->len) : NULL;
    return ls__ar_strndup(a, b->len ? b->p : "", nul ? (size_t)(nul - b->p) : b->len);
}

void ls__ar_free(ls_arena *a)
{
    ls_arena_chunk *c = a->head;
    while (c != NULL) {
        ls_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->cur = a->end = NULL;
}

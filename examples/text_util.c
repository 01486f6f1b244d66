/*
** text_util.c: reading a text as character ids (text_util.h).
*/
#include "text_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file's bytes (malloc'ed) and their count, or NULL. */
static unsigned char *read_all(FILE *f, int64_t *n)
{
    int64_t cap = 1 << 16;
    unsigned char *buf = malloc((size_t)cap);
    *n = 0;
    for (size_t got; buf && (got = fread(buf + *n, 1, (size_t)(cap - *n), f)) > 0;) {
        *n += (int64_t)got;
        if (*n < cap) continue;
        unsigned char *more = realloc(buf, (size_t)(cap *= 2));
        if (!more) free(buf);
        buf = more;
    }
    return buf;
}

int text_chars_load(text_chars *tc, const char *who, const char *path, int64_t min_len)
{
    int64_t map[256];
    memset(tc, 0, sizeof *tc);
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "%s: cannot open '%s'\n", who, path), 0;
    unsigned char *buf = read_all(f, &tc->n);
    fclose(f);
    tc->ids = buf ? malloc((size_t)(tc->n ? tc->n : 1) * sizeof *tc->ids) : NULL;
    if (!tc->ids || tc->n < min_len) {
        if (!tc->ids) fprintf(stderr, "%s: out of memory reading '%s'\n", who, path);
        else fprintf(stderr, "%s: '%s' is too short (%lld bytes)\n", who, path, (long long)tc->n);
        free(buf);
        text_chars_free(tc);
        return 0;
    }
    memset(map, -1, sizeof map);
    for (int64_t i = 0; i < tc->n; i++) map[buf[i]] = 0;
    for (int c = 0; c < 256; c++)
        if (map[c] == 0) tc->chars[tc->vocab] = (char)c, map[c] = tc->vocab++;
    for (int64_t i = 0; i < tc->n; i++) tc->ids[i] = map[buf[i]];
    free(buf);
    return 1;
}

int64_t text_chars_id(const text_chars *tc, char c)
{
    for (int64_t i = 0; i < tc->vocab; i++)
        if (tc->chars[i] == c) return i;
    return -1;
}

void text_chars_free(text_chars *tc)
{
    free(tc->ids);
    tc->ids = NULL;
    tc->n = tc->vocab = 0;
}

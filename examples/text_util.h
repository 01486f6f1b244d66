/*
** text_util.h: a text file as a sequence of character ids, for the
** character-level language models (char_transformer, char_lm). The
** vocabulary is the set of bytes the file holds, in byte order, so the
** same file always gives the same ids.
*/
#ifndef EXAMPLES_TEXT_UTIL_H
#define EXAMPLES_TEXT_UTIL_H

#include <stdint.h>

typedef struct text_chars {
    int64_t *ids;           /* n ids, each in [0, vocab) */
    int64_t n, vocab;
    char chars[256];        /* chars[id] is the byte of id */
} text_chars;

/*
** Reads path whole into tc (tc->ids malloc'ed: free it with
** text_chars_free). Returns 1, or 0 with a message on stderr that starts
** with who ("who: cannot open 'path'", "who: 'path' is too short (N
** bytes)") when the file cannot be read or has fewer than min_len bytes;
** tc is then empty.
*/
int text_chars_load(text_chars *tc, const char *who, const char *path, int64_t min_len);

/* The id of byte c, or -1 when the text does not hold it. */
int64_t text_chars_id(const text_chars *tc, char c);

/* Frees tc's ids (tc may hold none). */
void text_chars_free(text_chars *tc);

#endif

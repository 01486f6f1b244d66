/*
** json_util.h: a small strict JSON parser for safetensors headers (not
** installed). It reads the subset those headers use: objects, arrays,
** strings (with every escape, UTF-8 checked) and integers; true, false,
** null and numbers with a fraction or exponent are refused. The document
** is a flat array of nodes linked by index, strings decoded into one pool.
*/
#ifndef AG_JSON_UTIL_H
#define AG_JSON_UTIL_H

#include <stddef.h>
#include <stdint.h>

typedef enum agi_json_kind {
    AGI_JSON_OBJECT,
    AGI_JSON_ARRAY,
    AGI_JSON_STRING,
    AGI_JSON_INT
} agi_json_kind;

typedef struct agi_json_node {
    agi_json_kind kind;
    int key;             /* offset of the member's key in strings; -1 outside objects */
    int child;           /* first member or element; -1 when empty or a scalar */
    int next;            /* next sibling; -1 for the last */
    int count;           /* members or elements */
    size_t str;          /* a string's offset in strings */
    int64_t num;         /* an integer's value */
} agi_json_node;

typedef struct agi_json {
    agi_json_node *nodes;   /* nodes[0] is the root */
    int n_nodes, cap_nodes;
    char *strings;          /* decoded, each NUL-terminated */
    size_t n_strings, cap_strings;
} agi_json;

/*
** Parses text[0..len) into doc (zeroed or freed before). The text must be
** one value, with only whitespace after it; the root must be an object
** when root_object is set (and then the text must start with '{').
** Returns 0, or -1 with a message in err ("at byte 17: expected ':'"),
** -2 when out of memory. doc is freed by agi_json_free either way.
*/
int agi_json_parse(agi_json *doc, const char *text, size_t len, int root_object,
                   char *err, size_t errlen);
void agi_json_free(agi_json *doc);

/* 1 when s[0..n) is valid UTF-8 (no overlong forms or surrogates). */
int agi_json_valid_utf8(const char *s, size_t n);

/* A member's key, or a string node's value. */
const char *agi_json_key(const agi_json *doc, int node);
const char *agi_json_str(const agi_json *doc, int node);

#endif

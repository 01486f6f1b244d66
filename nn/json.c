/*
** json.c: the strict JSON parser behind safetensors headers (see
** json_util.h). Recursive descent with a depth limit; every error
** names the byte offset and what was expected. Nothing here knows about
** tensors: safetensors.c gives the document its meaning.
*/
#include "json_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    agi_json *doc;
    char *err;
    size_t errlen;
    int status;          /* 0, -1 syntax, -2 out of memory */
    int depth;
} parser;

static int fail(parser *p, const char *what)
{
    if (p->status == 0) {
        p->status = -1;
        if (p->pos < p->len)
            snprintf(p->err, p->errlen, "at byte %zu: %s", p->pos, what);
        else
            snprintf(p->err, p->errlen, "at byte %zu (end of header): %s", p->pos, what);
    }
    return -1;
}

static int oom(parser *p)
{
    if (p->status == 0) {
        p->status = -2;
        snprintf(p->err, p->errlen, "out of memory");
    }
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int peek(const parser *p) { return p->pos < p->len ? p->s[p->pos] : -1; }

/* A new node of kind; its index, or -1. */
static int new_node(parser *p, agi_json_kind kind)
{
    agi_json *d = p->doc;
    if (d->n_nodes == d->cap_nodes) {
        if (d->cap_nodes > INT_MAX / 2) return oom(p);
        int cap = d->cap_nodes ? 2 * d->cap_nodes : 64;
        agi_json_node *n = realloc(d->nodes, (size_t)cap * sizeof *n);
        if (!n) return oom(p);
        d->nodes = n, d->cap_nodes = cap;
    }
    agi_json_node *n = &d->nodes[d->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->key = n->child = n->next = -1;
    return d->n_nodes++;
}

static int put_byte(parser *p, unsigned char c)
{
    agi_json *d = p->doc;
    if (d->n_strings == d->cap_strings) {
        size_t cap = d->cap_strings ? 2 * d->cap_strings : 256;
        char *s = realloc(d->strings, cap);
        if (!s) return oom(p);
        d->strings = s, d->cap_strings = cap;
    }
    d->strings[d->n_strings++] = (char)c;
    return 0;
}

/* Appends code point cp as UTF-8. */
static int put_utf8(parser *p, unsigned long cp)
{
    unsigned char b[4];
    int n;
    if (cp < 0x80) b[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800) b[0] = (unsigned char)(0xC0 | cp >> 6), n = 2;
    else if (cp < 0x10000) b[0] = (unsigned char)(0xE0 | cp >> 12), n = 3;
    else b[0] = (unsigned char)(0xF0 | cp >> 18), n = 4;
    for (int i = 1; i < n; i++) b[i] = (unsigned char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3F));
    for (int i = 0; i < n; i++)
        if (put_byte(p, b[i])) return -1;
    return 0;
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 when invalid
   (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
             : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (n == 0 || n > avail) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

/* Four hex digits after "\u"; the value, or -1. */
static long hex4(parser *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = peek(p);
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return fail(p, "expected 4 hex digits after \\u");
        v = v * 16 + d;
        p->pos++;
    }
    return v;
}

/* The escape after a backslash (p->pos is past the backslash). */
static int parse_escape(parser *p)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int c = peek(p);
    const char *hit = c > 0 ? strchr(from, c) : NULL;
    if (hit && c != 'u') {
        p->pos++;
        return put_byte(p, (unsigned char)to[hit - from]);
    }
    if (c != 'u') return fail(p, "unknown escape in string");
    p->pos++;
    long cp = hex4(p);
    if (cp < 0) return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(p, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (peek(p) != '\\' || p->pos + 1 >= p->len || p->s[p->pos + 1] != 'u')
            return fail(p, "high surrogate not followed by a low one");
        p->pos += 2;
        long lo = hex4(p);
        if (lo < 0) return -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return fail(p, "high surrogate not followed by a low one");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) return fail(p, "\\u0000 in a string is not supported");
    return put_utf8(p, (unsigned long)cp);
}

/* A string at p->pos (the opening quote), decoded into the pool; its
   offset there, or -1. */
static long parse_string(parser *p)
{
    if (peek(p) != '"') return fail(p, "expected a string");
    p->pos++;
    size_t start = p->doc->n_strings;
    for (;;) {
        if (p->pos >= p->len) return fail(p, "unterminated string");
        unsigned char c = p->s[p->pos];
        if (c == '"') break;
        if (c < 0x20) return fail(p, "control character in a string");
        if (c == '\\') {
            p->pos++;
            if (parse_escape(p)) return -1;
            continue;
        }
        size_t n = utf8_len(p->s + p->pos, p->len - p->pos);
        if (n == 0) return fail(p, "invalid UTF-8 in a string");
        for (size_t i = 0; i < n; i++)
            if (put_byte(p, p->s[p->pos + i])) return -1;
        p->pos += n;
    }
    p->pos++;
    if (put_byte(p, 0)) return -1;
    return (long)start;
}

/* An integer: -?(0|[1-9][0-9]*) with no fraction or exponent. */
static int parse_int(parser *p)
{
    int neg = peek(p) == '-';
    if (neg) p->pos++;
    int c = peek(p);
    if (c < '0' || c > '9') return fail(p, "expected a digit");
    if (c == '0' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' && p->s[p->pos + 1] <= '9')
        return fail(p, "leading zero in a number");
    uint64_t v = 0;
    while ((c = peek(p)) >= '0' && c <= '9') {
        if (v > (UINT64_C(9223372036854775807) - (uint64_t)(c - '0')) / 10)
            return fail(p, "integer too large");
        v = v * 10 + (uint64_t)(c - '0');
        p->pos++;
    }
    if (c == '.' || c == 'e' || c == 'E')
        return fail(p, "only integers are allowed in a safetensors header");
    int node = new_node(p, AGI_JSON_INT);
    if (node < 0) return -1;
    p->doc->nodes[node].num = neg ? -(int64_t)v : (int64_t)v;
    return node;
}

static int parse_value(parser *p);

/* Links child after *last under parent. */
static void link(parser *p, int parent, int *last, int child)
{
    agi_json_node *n = p->doc->nodes;
    if (*last < 0) n[parent].child = child;
    else n[*last].next = child;
    *last = child;
    n[parent].count++;
}

/* An object or array (p->pos at its opening bracket). */
static int parse_container(parser *p, int is_object)
{
    if (++p->depth > MAX_DEPTH) return fail(p, "nesting too deep");
    int node = new_node(p, is_object ? AGI_JSON_OBJECT : AGI_JSON_ARRAY), last = -1;
    if (node < 0) return -1;
    char close = is_object ? '}' : ']';
    p->pos++;
    skip_ws(p);
    if (peek(p) == close) {
        p->pos++;
        p->depth--;
        return node;
    }
    for (;;) {
        long key = -1;
        if (is_object) {
            skip_ws(p);
            if ((key = parse_string(p)) < 0) return -1;
            skip_ws(p);
            if (peek(p) != ':') return fail(p, "expected ':' after a key");
            p->pos++;
        }
        int child = parse_value(p);
        if (child < 0) return -1;
        p->doc->nodes[child].key = (int)key;
        link(p, node, &last, child);
        skip_ws(p);
        int c = peek(p);
        p->pos++;
        if (c == close) break;
        if (c != ',') {
            p->pos--;
            return fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    p->depth--;
    return node;
}

static int parse_value(parser *p)
{
    skip_ws(p);
    int c = peek(p);
    if (c == '{' || c == '[') return parse_container(p, c == '{');
    if (c == '-' || (c >= '0' && c <= '9')) return parse_int(p);
    if (c == '"') {
        int node = new_node(p, AGI_JSON_STRING);
        long s = node < 0 ? -1 : parse_string(p);
        if (s < 0) return -1;
        p->doc->nodes[node].str = (size_t)s;
        return node;
    }
    return fail(p, c < 0 ? "expected a value" : "expected an object, array, string or integer");
}

int agi_json_parse(agi_json *doc, const char *text, size_t len, int root_object,
                   char *err, size_t errlen)
{
    parser p = {(const unsigned char *)text, len, 0, doc, err, errlen, 0, 0};
    memset(doc, 0, sizeof *doc);
    if (errlen) err[0] = 0;
    if (len > (size_t)1 << 30) {        /* node and string offsets stay in int */
        snprintf(err, errlen, "text of %zu bytes is too long", len);
        return -1;
    }
    if (root_object && peek(&p) != '{') return fail(&p, "expected '{' at the start"), p.status;
    if (parse_value(&p) < 0) return p.status;
    skip_ws(&p);
    if (p.pos != len) return fail(&p, "unexpected text after the value"), p.status;
    return 0;
}

void agi_json_free(agi_json *doc)
{
    if (!doc) return;
    free(doc->nodes);
    free(doc->strings);
    memset(doc, 0, sizeof *doc);
}

int agi_json_valid_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_len(u + i, n - i)) == 0) return 0;
    return 1;
}

const char *agi_json_key(const agi_json *doc, int node)
{
    int k = doc->nodes[node].key;
    return k >= 0 ? doc->strings + k : "";
}

const char *agi_json_str(const agi_json *doc, int node)
{
    return doc->nodes[node].kind == AGI_JSON_STRING ? doc->strings + doc->nodes[node].str : "";
}

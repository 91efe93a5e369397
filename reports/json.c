/* json.c -- see json.h.  Depth is limited (hostile input cannot exhaust the
 * stack) and numbers follow the JSON grammar strictly before strtod reads
 * them. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

#define JSON_MAX_DEPTH 64

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[]; /* aligned storage */
} chunk;

struct json_doc {
  chunk *chunks;
};

typedef struct {
  const char *p, *end;
  long line;
  json_doc *doc;
  char *err;
  size_t errlen;
  long errline;
  int failed;
} parser;

static void *arena_alloc(json_doc *d, size_t size) {
  size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  chunk *c = d->chunks;
  if (!c || c->cap - c->used < size) {
    size_t cap = size > 65536 ? size : 65536;
    c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->cap = cap, c->used = 0, c->next = d->chunks;
    d->chunks = c;
  }
  void *r = (char *)c->data + c->used;
  c->used += size;
  return r;
}

void json_free(json_doc *d) {
  if (!d) return;
  for (chunk *c = d->chunks, *n; c; c = n) n = c->next, free(c);
  free(d);
}

static void fail(parser *ps, const char *fmt, ...) {
  if (ps->failed) return;
  ps->failed = 1;
  ps->errline = ps->line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->err, ps->errlen, fmt, ap);
  va_end(ap);
}

static void skip_ws(parser *ps) {
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '\n') ps->line++;
    else if (c != ' ' && c != '\t' && c != '\r') return;
    ps->p++;
  }
}

/* a printable description of the next character, for error messages */
static const char *what(parser *ps, char *buf, size_t bl) {
  if (ps->p >= ps->end) return "end of file";
  unsigned char c = (unsigned char)*ps->p;
  if (c >= 0x21 && c < 0x7f) snprintf(buf, bl, "'%c'", c);
  else snprintf(buf, bl, "byte 0x%02x", c);
  return buf;
}

static json *new_value(parser *ps, json_type t) {
  json *v = arena_alloc(ps->doc, sizeof *v);
  if (!v) { fail(ps, "out of memory"); return NULL; }
  memset(v, 0, sizeof *v);
  v->type = t;
  v->line = ps->line;
  return v;
}

static int hex4(parser *ps, unsigned *out) {
  if (ps->end - ps->p < 4) { fail(ps, "truncated \\u escape"); return -1; }
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = ps->p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else { fail(ps, "bad \\u escape"); return -1; }
  }
  ps->p += 4;
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* at the opening quote; the decoded string is never longer than the source */
static const char *parse_string(parser *ps, size_t *len) {
  ps->p++;
  const char *q = ps->p;
  while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
  if (q >= ps->end) { fail(ps, "unterminated string"); return NULL; }
  char *out = arena_alloc(ps->doc, (size_t)(q - ps->p) + 1), *o = out;
  if (!out) { fail(ps, "out of memory"); return NULL; }
  while (*ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p;
    if (c < 0x20) { fail(ps, "control character 0x%02x in a string (escape it)", c); return NULL; }
    if (c != '\\') { *o++ = (char)c, ps->p++; continue; }
    ps->p++;
    char e = *ps->p++;
    switch (e) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      unsigned cp, lo;
      if (hex4(ps, &cp)) return NULL;
      if (cp >= 0xd800 && cp < 0xdc00) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') { fail(ps, "unpaired surrogate in \\u escape"); return NULL; }
        ps->p += 2;
        if (hex4(ps, &lo)) return NULL;
        if (lo < 0xdc00 || lo >= 0xe000) { fail(ps, "unpaired surrogate in \\u escape"); return NULL; }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      } else if (cp >= 0xdc00 && cp < 0xe000) {
        fail(ps, "unpaired surrogate in \\u escape");
        return NULL;
      }
      if (cp == 0) { fail(ps, "\\u0000 in a string is not supported"); return NULL; }
      o += put_utf8(o, cp);
      break;
    }
    default: fail(ps, "bad escape '\\%c' in a string", e >= 0x21 && e < 0x7f ? e : '?'); return NULL;
    }
  }
  ps->p++;
  *o = 0;
  *len = (size_t)(o - out);
  return out;
}

static json *parse_value(parser *ps, int depth);

static json *parse_number(parser *ps) {
  const char *s = ps->p, *q = s;
  if (q < ps->end && *q == '-') q++;
  if (q < ps->end && *q == '0') q++;
  else if (q < ps->end && *q >= '1' && *q <= '9') while (q < ps->end && *q >= '0' && *q <= '9') q++;
  else { fail(ps, "bad number"); return NULL; }
  if (q < ps->end && *q == '.') {
    q++;
    if (q >= ps->end || *q < '0' || *q > '9') { fail(ps, "bad number (digit expected after '.')"); return NULL; }
    while (q < ps->end && *q >= '0' && *q <= '9') q++;
  }
  if (q < ps->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < ps->end && (*q == '+' || *q == '-')) q++;
    if (q >= ps->end || *q < '0' || *q > '9') { fail(ps, "bad number (digit expected in exponent)"); return NULL; }
    while (q < ps->end && *q >= '0' && *q <= '9') q++;
  }
  char buf[64], *tmp = buf;
  size_t n = (size_t)(q - s);
  if (n >= sizeof buf && !(tmp = malloc(n + 1))) { fail(ps, "out of memory"); return NULL; }
  memcpy(tmp, s, n);
  tmp[n] = 0;
  json *v = new_value(ps, JSON_NUM);
  if (v) v->num = strtod(tmp, NULL);
  if (tmp != buf) free(tmp);
  ps->p = q;
  return v;
}

static int grow(parser *ps, void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 8;
  void *p = realloc(*arr, nc * elem);
  if (!p) { fail(ps, "out of memory"); return -1; }
  *arr = p, *cap = nc;
  return 0;
}

/* members are collected in malloc'd arrays, then copied into the arena */
static json *parse_container(parser *ps, int depth, int obj) {
  json *v = new_value(ps, obj ? JSON_OBJ : JSON_ARR);
  if (!v) return NULL;
  if (depth >= JSON_MAX_DEPTH) { fail(ps, "nested deeper than %d levels", JSON_MAX_DEPTH); return NULL; }
  ps->p++;
  json **items = NULL;
  const char **keys = NULL;
  size_t n = 0, cap = 0, kcap = 0;
  char wb[32];
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) { ps->p++; return v; }
  for (;;) {
    skip_ws(ps);
    if (obj) {
      if (ps->p >= ps->end || *ps->p != '"') { fail(ps, "expected a string key, found %s", what(ps, wb, sizeof wb)); break; }
      size_t kl;
      const char *k = parse_string(ps, &kl);
      if (!k) break;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') { fail(ps, "expected ':' after key \"%.40s\", found %s", k, what(ps, wb, sizeof wb)); break; }
      ps->p++;
      if (grow(ps, (void **)&keys, &kcap, n, sizeof *keys)) break;
      keys[n] = k;
    }
    skip_ws(ps);
    json *item = parse_value(ps, depth + 1);
    if (!item) break;
    if (grow(ps, (void **)&items, &cap, n, sizeof *items)) break;
    items[n++] = item;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
      ps->p++;
      v->len = n;
      v->items = arena_alloc(ps->doc, n * sizeof *items);
      if (!v->items) { fail(ps, "out of memory"); break; }
      memcpy(v->items, items, n * sizeof *items);
      if (obj) {
        v->keys = arena_alloc(ps->doc, n * sizeof *keys);
        if (!v->keys) { fail(ps, "out of memory"); break; }
        memcpy(v->keys, keys, n * sizeof *keys);
      }
      free(items);
      free(keys);
      return v;
    }
    fail(ps, "expected ',' or '%c', found %s", obj ? '}' : ']', what(ps, wb, sizeof wb));
    break;
  }
  free(items);
  free(keys);
  return NULL;
}

static int literal(parser *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) return 0;
  ps->p += n;
  return 1;
}

static json *parse_value(parser *ps, int depth) {
  char wb[32];
  skip_ws(ps);
  if (ps->p >= ps->end) { fail(ps, "unexpected end of file"); return NULL; }
  char c = *ps->p;
  if (c == '{' || c == '[') return parse_container(ps, depth, c == '{');
  if (c == '"') {
    json *v = new_value(ps, JSON_STR);
    if (v && !(v->str = parse_string(ps, &v->len))) return NULL;
    return v;
  }
  if (c == '-' || (c >= '0' && c <= '9')) return parse_number(ps);
  json *v = NULL;
  if (literal(ps, "true")) { if ((v = new_value(ps, JSON_BOOL))) v->boolean = 1; }
  else if (literal(ps, "false")) v = new_value(ps, JSON_BOOL);
  else if (literal(ps, "null")) v = new_value(ps, JSON_NULL);
  else fail(ps, "unexpected %s", what(ps, wb, sizeof wb));
  return v;
}

json_doc *json_parse(const char *text, size_t len, json **root, long *errline, char *err, size_t errlen) {
  json_doc *d = calloc(1, sizeof *d);
  if (!d) { snprintf(err, errlen, "out of memory"); *errline = 0; return NULL; }
  parser ps = {text, text + len, 1, d, err, errlen, 0, 0};
  /* a UTF-8 byte order mark is tolerated */
  if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) ps.p += 3;
  json *v = parse_value(&ps, 0);
  if (v) {
    skip_ws(&ps);
    char wb[32];
    if (ps.p < ps.end) fail(&ps, "unexpected %s after the end of the document", what(&ps, wb, sizeof wb));
  }
  if (ps.failed || !v) {
    if (!ps.failed) fail(&ps, "parse error");
    *errline = ps.errline;
    json_free(d);
    return NULL;
  }
  *root = v;
  return d;
}

const json *json_get(const json *obj, const char *key) {
  if (!obj || obj->type != JSON_OBJ) return NULL;
  for (size_t i = 0; i < obj->len; i++)
    if (!strcmp(obj->keys[i], key)) return obj->items[i];
  return NULL;
}

int json_number(const json *v, double *out) {
  if (!v) return -1;
  if (v->type == JSON_NUM) { *out = v->num; return 0; }
  if (v->type == JSON_STR) {
    if (!strcmp(v->str, "inf")) { *out = INFINITY; return 0; }
    if (!strcmp(v->str, "-inf")) { *out = -INFINITY; return 0; }
    if (!strcmp(v->str, "nan")) { *out = NAN; return 0; }
  }
  return -1;
}

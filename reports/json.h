/* json.h -- a small JSON reader for smaxcheck's own files (results, fuzz
 * summaries).  Recursive descent over RFC 8259: objects, arrays, strings
 * (\" \\ \/ \b \f \n \r \t and \uXXXX escapes, surrogate pairs joined into
 * UTF-8), numbers, true, false, null.  Every value remembers the line it
 * starts on, so errors can name FILE:LINE.  All memory of one document lives
 * in one arena, freed at once by json_free. */
#ifndef SMAXCHECK_JSON_H
#define SMAXCHECK_JSON_H
#include <stddef.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } json_type;

typedef struct json json;
struct json {
  json_type type;
  long line;         /* 1-based line where the value starts */
  int boolean;       /* JSON_BOOL */
  double num;        /* JSON_NUM */
  const char *str;   /* JSON_STR: NUL-terminated UTF-8 (\u0000 is rejected) */
  size_t len;        /* JSON_STR: bytes; JSON_ARR/OBJ: members */
  json **items;      /* JSON_ARR: values; JSON_OBJ: values */
  const char **keys; /* JSON_OBJ: keys, in file order */
};

typedef struct json_doc json_doc;

/* Parse text[0..len).  On success returns the document (root in *root); on
 * failure NULL, *errline the line, and err the reason. */
json_doc *json_parse(const char *text, size_t len, json **root, long *errline, char *err, size_t errlen);
void json_free(json_doc *d);

/* The member `key` of an object (the first if repeated), or NULL. */
const json *json_get(const json *obj, const char *key);
/* A number, also written as the strings "inf", "-inf", "nan" (harness/SCHEMA.md).
 * Returns 0 and sets *out, or -1 if v is not one. */
int json_number(const json *v, double *out);
#endif

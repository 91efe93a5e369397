/* vecio.c -- read and write the oracle's text vector format.  A line whose
 * first non-blank character is '#' is a comment (no vector); line numbers
 * still count it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vecio.h"

static int push(double **a, size_t *n, size_t *cap, double v) {
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 16;
    double *p = realloc(*a, c * sizeof *p);
    if (!p) return -1;
    *a = p, *cap = c;
  }
  (*a)[(*n)++] = v;
  return 0;
}

/* strtod accepts decimal, hex floats, inf, nan; the whole token must go. */
static int parse_num(const char *tok, double *v) {
  char *end;
  errno = 0;
  *v = strtod(tok, &end);
  return end != tok && *end == 0;
}

static int parse_line(char *s, vec_line *L, const char *name, char *err, size_t errlen) {
  size_t capx = 0, capd = 0, *n = &L->n, *cap = &capx;
  double **dst = &L->x;
  for (char *tok = strtok(s, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
    if (strcmp(tok, "|") == 0) {
      if (dst == &L->dy) {
        snprintf(err, errlen, "%s:%ld: token '|': second separator", name, L->lineno);
        return -1;
      }
      dst = &L->dy, n = &L->ndy, cap = &capd;
      L->dy = malloc(sizeof(double)); /* present, possibly empty */
      capd = 1;
      continue;
    }
    double v;
    if (!parse_num(tok, &v)) {
      snprintf(err, errlen, "%s:%ld: token '%.40s': not a number", name, L->lineno, tok);
      return -1;
    }
    if (push(dst, n, cap, v)) {
      snprintf(err, errlen, "%s:%ld: out of memory", name, L->lineno);
      return -1;
    }
  }
  return 0;
}

long vec_read(FILE *fp, const char *name, vec_line **out, char *err, size_t errlen) {
  vec_line *v = NULL;
  long n = 0, cap = 0, lineno = 0;
  char *buf = NULL;
  size_t bcap = 0;
  ssize_t len;
  while ((len = getline(&buf, &bcap, fp)) >= 0) {
    lineno++;
    if (buf[strspn(buf, " \t")] == '#') continue; /* a comment line (corpus file headers) */
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      vec_line *p = realloc(v, (size_t)cap * sizeof *p);
      if (!p) { snprintf(err, errlen, "%s: out of memory", name); goto fail; }
      v = p;
    }
    memset(&v[n], 0, sizeof v[n]);
    v[n].lineno = lineno;
    if (strlen(buf) != (size_t)len) {
      snprintf(err, errlen, "%s:%ld: NUL byte in line", name, lineno);
      n++;
      goto fail;
    }
    if (parse_line(buf, &v[n], name, err, errlen)) { n++; goto fail; }
    n++;
  }
  if (ferror(fp)) { snprintf(err, errlen, "%s: read error", name); goto fail; }
  free(buf);
  *out = v;
  return n;
fail:
  free(buf);
  vec_free(v, n);
  return -1;
}

void vec_free(vec_line *v, long n) {
  for (long i = 0; i < n; i++) free(v[i].x), free(v[i].dy);
  free(v);
}

void vec_print(FILE *fp, const double *v, size_t n) {
  for (size_t i = 0; i < n; i++) fprintf(fp, i ? " %a" : "%a", v[i]);
  fputc('\n', fp);
}

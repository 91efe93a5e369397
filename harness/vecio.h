/* vecio.h -- the oracle's text vector format, read and written.
 * One vector per line: numbers in decimal or C99 hex float, inf, -inf, nan,
 * separated by blanks; a VJP line is "x... | dy...".  Lines starting with '#'
 * (after blanks) are comments. */
#ifndef SMAXCHECK_VECIO_H
#define SMAXCHECK_VECIO_H
#include <stdio.h>
#include <stddef.h>

typedef struct {
  double *x, *dy;     /* dy NULL unless the line had a '|' */
  size_t n, ndy;
  long lineno;
} vec_line;

/* Read every line of fp.  On a parse error writes a message
 * "NAME:LINE: token 'TOK': why" into err and returns -1.  Returns the
 * number of lines (vectors) read into *out (caller frees with vec_free). */
long vec_read(FILE *fp, const char *name, vec_line **out, char *err, size_t errlen);
void vec_free(vec_line *v, long n);
/* Print values as %a separated by single spaces, then a newline. */
void vec_print(FILE *fp, const double *v, size_t n);
#endif

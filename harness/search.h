/* search.h -- error-maximising worst-case search for one kernel descriptor
 * (`smaxcheck search`), in the style of Zimmermann's accuracy searches, and
 * the corpus files that record what it finds (harness/corpus/search/).
 *
 * A row is scored exactly as `smaxcheck eval --input` and the gate's corpus
 * replay measure it: temperature 1, fixed-point input scale 1/16,
 * cross-entropy target the first entry that is not -inf or NaN, and the
 * error of an output is kio_error (the one ULP metric, oracle_ulp_error,
 * against the oracle's exact value).  The score of a row is its worst
 * output's error; a non-finite error (NaN or inf where the value is finite,
 * or the reverse) is +inf and so ranks above every finite one. */
#ifndef SMAXCHECK_SEARCH_H
#define SMAXCHECK_SEARCH_H
#include <stddef.h>
#include <stdint.h>
#include "kernel.h"

/* One input row and its score. */
typedef struct {
  size_t n;
  double *x, *dy;        /* n values each (values of the kernel's input
                            format; fixed point: int8 integers); dy is NULL
                            unless the function is a VJP                   */
  double err;            /* worst output error in ulps, +inf: non-finite  */
  size_t out;            /* index of that output (cross-entropy: n = loss) */
  double got, want;      /* the kernel's output there, the correctly rounded one */
  char *origin;          /* malloc'd: the command that found the row, or NULL */
  uint64_t lineage;      /* search internal: rows descending from one start */
} search_row;

/* Score row r for kernel k: runs the kernel once (one thread) and the
 * oracle, fills r->err, out, got, want.  Returns 0, or -1 if the kernel
 * rejected the row, the oracle rejected it or left an output unresolved
 * (r->err is then -1: such a row is never kept). */
int search_score(const smax_kernel *k, search_row *r);

/* A copy of r (origin duplicated) into *dst; returns 0 or -1 (no memory). */
int search_row_copy(search_row *dst, const search_row *r);
void search_row_free(search_row *r);

typedef struct {
  const smax_kernel *k;
  const size_t *ns;      /* row lengths to search, each >= 1             */
  size_t nn;
  double seconds;        /* wall-clock budget over all ns (used if evals == 0) */
  unsigned long evals;   /* evaluation budget over all ns, or 0          */
  uint64_t seed;
  size_t top;            /* rows kept, >= 1                               */
  int threads;           /* >= 1 searching threads                       */
  int progress;          /* progress lines on stderr                      */
  const char *origin;    /* recorded with every row found (copied)       */
} search_opts;

typedef struct {
  search_row *rows;      /* the top rows found, worst first              */
  size_t nrows;
  unsigned long evals;   /* rows scored                                   */
  double seconds;        /* wall-clock time spent                         */
} search_result;

/* Run the search described by o.  The budget is split evenly over the row
 * lengths; with threads == 1 and an evals budget the result is a function of
 * the options alone.  Returns 0, or -1 if out of memory. */
int search_run(const search_opts *o, search_result *res);
void search_result_free(search_result *res);

/* ---- corpus files ------------------------------------------------------
 * One file per kernel descriptor, named KERNEL-FUNC-FORMAT.txt: comment
 * lines ('#') holding "kernel=K func=F format=FMT" and the replay command,
 * then for each row a comment "# err=E ulps n=N out=I got=G want=W by: CMD"
 * and the row in the oracle's text format (hex floats, "x.. | dy.." for
 * VJPs), which `smaxcheck eval --input/--corpus` reads. */

typedef struct { char kernel[48], func[24], format[16]; } corpus_header;

/* The file name (no directory) of k's corpus file into buf. */
void search_corpus_name(const smax_kernel *k, char *buf, size_t len);

/* Read the header of corpus file path.  Returns 0, or -1 with
 * "PATH: why" in err (unreadable, or no kernel=/func=/format= line). */
int search_corpus_header(const char *path, corpus_header *h, char *err, size_t errlen);

/* Merge rows[0..nrows) into k's corpus file in directory dir: rows already
 * in the file are re-scored (the kernel may have changed), duplicates
 * (bitwise equal rows) dropped, the top `top` rows overall kept, worst
 * first, and the file written atomically (temporary file + rename).
 * lines: NULL, or nrows entries receiving the line number of each given
 * row in the written file (0: not kept).  Returns 0, or -1 with "PATH: why"
 * in err (unreadable or malformed existing file, a file of another kernel,
 * a write error). */
int search_corpus_merge(const char *dir, const smax_kernel *k, const search_row *rows, size_t nrows,
                        size_t top, long *lines, char *err, size_t errlen);

/* 1 if v is a value of k's input format as the corpus stores it (float
 * formats: a finite value of the format or -inf, a masked entry; fixed
 * point: an integer in [-128, 127]). */
int search_storable(smax_format f, double v);
#endif

/* special.h -- which oracle/SEMANTICS.md convention a kernel's output for a
 * special row (cases C1..C5) follows. */
#ifndef SMAXCHECK_SPECIAL_H
#define SMAXCHECK_SPECIAL_H
#include <stddef.h>
#include <stdint.h>
#include "kernel.h"

/* One special row as the kernel saw it.  x: the stored inputs (fixed point:
 * the int8 q), mask (nonzero = masked), dy (VJPs), target (cross-entropy).
 * got / want: the kernel's and the oracle's outputs in the kernel's layout
 * (n values, 1 for logsumexp, n gradients + the loss for cross-entropy). */
typedef struct {
  int cs;                       /* SEMANTICS.md case, 1..5 */
  size_t n;
  const double *x, *dy;
  const unsigned char *mask;
  int32_t target;
  double tau, in_scale;
  const double *got, *want;
} special_row;

/* The verdict for row r of kernel k: "reference" (equal to the oracle,
 * -0 for +0 allowed), else the id of the alternative convention of
 * SEMANTICS.md whose values the outputs match (a convention the kernel
 * declares is preferred when several match), else "wrong".  Conventions
 * defined by values (mask-large-negative, unmask-row, ignore-nan) are
 * checked numerically by re-running the oracle on the substituted row.
 * Returns a static string. */
const char *special_classify(const smax_kernel *k, const special_row *r);

/* The SEMANTICS.md case of a row, 0 (C0 empty) .. 7 (C7 finite), by its
 * precedence: n = 0, an unmasked NaN, a non-finite dy (VJPs), two or more
 * +inf, one +inf, nothing finite unmasked, some masked, all finite.  mask
 * may be NULL; an entry equal to -inf counts as masked. */
int special_case(smax_func f, const double *x, const unsigned char *mask, const double *dy, size_t n);

/* 1 if the space-separated list `conv` contains the id `id`. */
int special_declared(const char *conv, const char *id);
#endif

/* row.h -- one vector being evaluated, shared by the oracle's stages:
 * special values and rational outputs (exact.c), the double-double fast
 * path (fast.c), the MPFR interval loop (ziv.c); eval.c drives them. */
#ifndef SMAXCHECK_ORACLE_ROW_H
#define SMAXCHECK_ORACLE_ROW_H
#include <stddef.h>
#include "internal.h"

typedef struct {
  oracle_func f;
  const oracle_format *fmt;
  size_t n;
  const double *x, *dy;
  double tau, scale;
  long t;                 /* target index for cross-entropy */
  unsigned char *act;     /* act[i]: x_i finite and not masked */
  size_t nact, kmax;      /* number active; first index of the max */
  size_t nout;
  double *out;
  oracle_xval *xv;        /* exact values (always allocated) */
  unsigned char *done;    /* done[o]: out[o] decided */
  size_t ndone;
  int nunres;             /* outputs decided at the precision cap */
  oracle_stats *st;
  int force;              /* ziv.c: precision cap reached, take midpoints */
  size_t *order;          /* ziv.c: active indices by decreasing x */
  int have_g;             /* softmax_vjp: sum_j s_j dy_j is exactly g */
  mpq_t g;
} row;

/* output index of element i (functions with n outputs) */
static inline int row_pervec(const row *r) {
  return r->f != ORACLE_LOGSUMEXP && r->f != ORACLE_CROSS_ENTROPY;
}

/* Record a decided output. */
void row_set(row *r, size_t o, double v, const oracle_xval *xv,
             unsigned long *counter);
/* Record an output equal to the exact rational q. */
void row_set_q(row *r, size_t o, mpq_srcptr q);

int oracle_special(row *r);       /* 1 if the whole row was special   */
void oracle_rational(row *r);     /* decide the outputs that are rational */
void oracle_fast(row *r);         /* decide what the fast path can    */
void oracle_zeros(row *r);        /* exact zeros and exact sums (VJPs)  */
void oracle_ziv(row *r);          /* the rest, MPFR intervals         */
/* An enclosure [lo, hi] of output o that straddles a boundary: decide it
 * from a rational anchor of known side (anchor.c); 1 if decided. */
int oracle_anchor(const row *r, size_t o, mpfr_srcptr lo, mpfr_srcptr hi, double *res);

#endif

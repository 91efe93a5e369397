/* internal.h -- oracle internals: double-double arithmetic, enclosure rounding.
 *
 * Assumption the fast path rests on (stated here, checked by tests/test_dd.c):
 * IEEE binary64 arithmetic, round to nearest, no contraction into FMA (the
 * oracle is compiled with -ffp-contract=off), no x87 excess precision.
 * A double-double (dd) is an unevaluated sum hi + lo with |lo| <= ulp(hi)/2.
 * Error bounds (Joldes, Muller, Popescu, ACM TOMS 44(2), 2017) for
 * normalised operands away from underflow, u = 2^-53:
 *   dd_add   <= 3u^2 / (1 - 4u)        relative  (AccurateDWPlusDW)
 *   dd_mul   <= 7u^2                   relative  (DWTimesDW1, no FMA)
 *   dd_mul_d <= 2u^2                   relative  (DWTimesFP1)
 *   dd_div   <= 15u^2 + 56u^3          relative  (DWDivDW2)
 * All are below DD_OP = 2^-100, the one constant the error analysis uses.
 */
#ifndef SMAXCHECK_ORACLE_INTERNAL_H
#define SMAXCHECK_ORACLE_INTERNAL_H

#include <math.h>
#include <mpfr.h>
#include <gmp.h>
#include "oracle.h"

#define DD_OP 0x1p-100 /* bound on the relative error of one dd operation */

typedef struct { double hi, lo; } dd;

static inline dd dd_make(double hi, double lo) { dd r = {hi, lo}; return r; }
static inline dd dd_d(double a) { return dd_make(a, 0.0); }

/* s + e == a + b exactly (Knuth). */
static inline dd two_sum(double a, double b) {
  double s = a + b, bb = s - a;
  return dd_make(s, (a - (s - bb)) + (b - bb));
}
/* s + e == a + b exactly, requires |a| >= |b| or a == 0 (Dekker). */
static inline dd fast_two_sum(double a, double b) {
  double s = a + b;
  return dd_make(s, b - (s - a));
}
/* Veltkamp split: a == hi + lo, each with at most 26 significant bits.
 * Valid for |a| < 2^995 (the callers' operands are far below). */
static inline void split(double a, double *hi, double *lo) {
  double c = 134217729.0 * a; /* 2^27 + 1 */
  *hi = c - (c - a);
  *lo = a - *hi;
}
/* p + e == a * b exactly unless the product underflows (Dekker). */
static inline dd two_prod(double a, double b) {
  double p = a * b, ah, al, bh, bl;
  split(a, &ah, &al);
  split(b, &bh, &bl);
  return dd_make(p, ((ah * bh - p) + ah * bl + al * bh) + al * bl);
}
static inline dd dd_neg(dd a) { return dd_make(-a.hi, -a.lo); }
static inline dd dd_add(dd a, dd b) {
  dd s = two_sum(a.hi, b.hi), t = two_sum(a.lo, b.lo);
  s.lo += t.hi;
  s = fast_two_sum(s.hi, s.lo);
  s.lo += t.lo;
  return fast_two_sum(s.hi, s.lo);
}
static inline dd dd_sub(dd a, dd b) { return dd_add(a, dd_neg(b)); }
static inline dd dd_add_d(dd a, double b) {
  dd s = two_sum(a.hi, b);
  s.lo += a.lo;
  return fast_two_sum(s.hi, s.lo);
}
static inline dd dd_mul(dd a, dd b) {
  dd p = two_prod(a.hi, b.hi);
  p.lo += a.hi * b.lo + a.lo * b.hi;
  return fast_two_sum(p.hi, p.lo);
}
static inline dd dd_mul_d(dd a, double b) {
  dd p = two_prod(a.hi, b);
  p.lo += a.lo * b;
  return fast_two_sum(p.hi, p.lo);
}
static inline dd dd_div(dd a, dd b) {
  double th = a.hi / b.hi;
  dd r = dd_mul_d(b, th);
  double ph = a.hi - r.hi, dl = a.lo - r.lo, d = ph + dl;
  return fast_two_sum(th, d / b.hi);
}
/* Exact scaling by 2^k while no part under- or overflows. */
static inline dd dd_ldexp(dd a, long k) {
  return dd_make(ldexp(a.hi, (int)k), ldexp(a.lo, (int)k));
}
static inline double dd_abs(dd a) { return fabs(a.hi); }

/* ---- exp and log1p in double-double (expdd.c) ------------------------- */

/* Relative error bounds, proven in expdd.c and measured by tests/test_dd.c. */
#define EXPDD_REL 0x1p-98
/* e^d for a dd d in [-1e6, 0]: returns m with e^d = 2^*k * m * (1 + eta),
 * |eta| <= EXPDD_REL, m in [0.99, 2.01]. */
dd oracle_expdd(dd d, long *k);
/* log1p(t) for a dd t >= 0, into *err an absolute bound on the error
 * (not counting an error already in t). */
dd oracle_log1pdd(dd t, double *err);

/* ---- rounding (round.c) ------------------------------------------------ */

/* Round the real 2^k * (v.hi + v.lo) to nearest-even in f, exactly. */
double oracle_round_scaled(const oracle_format *f, long k, dd v);
/* 1 if every real in 2^k * [v - err, v + err] rounds to one value of f
 * (same bits: +0 and -0 differ), stored in *res; 0 otherwise. */
int oracle_round_encl(const oracle_format *f, long k, dd v, double err,
                      double *res);
/* Round an MPFR number exactly. */
double oracle_round_mpfr(const oracle_format *f, mpfr_srcptr x);
/* Round an exact rational; loops until decided (always terminates). */
double oracle_round_mpq(const oracle_format *f, mpq_srcptr q, oracle_xval *xv);
/* The exact-value record of an MPFR number, err given in absolute terms. */
void oracle_xval_mpfr(oracle_xval *xv, mpfr_srcptr mid, mpfr_srcptr err);

/* Use MPFR's widest exponent range in this thread (MPFR's range is TLS). */
void oracle_mpfr_range(void);

#endif

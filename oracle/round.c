/* round.c -- exact round-to-nearest-even of dd, MPFR and rational values.
 *
 * A FLOAT value in binade [2^E, 2^(E+1)) has quantum 2^(max(E, emin)-p+1);
 * the value is N * quantum with N the nearest integer (ties to even), and
 * overflows when N * quantum exceeds the largest finite value (IEEE 754:
 * rounding with unbounded exponent, then overflow).  A FIXED value is
 * N * 2^-frac, then N saturates to [kmin, kmax].  Fixed formats have no
 * negative zero.
 */
#include <limits.h>
#include "internal.h"

static double maxfinite(const oracle_format *f) {
  /* (2 - 2^(1-p)) * 2^emax, exact in double for every format here */
  return ldexp(2.0 - ldexp(1.0, 1 - f->p), f->emax);
}

/* Quantum exponent for a nonzero value of binade E, or LONG_MIN when the
 * value certainly rounds to zero, LONG_MAX when it certainly overflows or
 * saturates. */
static long quantum(const oracle_format *f, long E) {
  if (f->kind == ORACLE_FIXED) {
    if (E < -f->frac - 2) return LONG_MIN; /* < 2^(-frac-1): rounds to 0 */
    if (E > 62) return LONG_MAX;
    return -f->frac;
  }
  if (E > f->emax) return LONG_MAX;
  if (E <= f->emin - f->p - 1) return LONG_MIN; /* < half the least subnormal */
  return (E > f->emin ? E : f->emin) - f->p + 1;
}

/* Value N * 2^qe (N >= 0 integer as a double), with overflow/saturation. */
static double finish(const oracle_format *f, double N, long qe, int neg) {
  if (f->kind == ORACLE_FIXED) {
    double lim = neg ? -(double)f->kmin : (double)f->kmax;
    if (N > lim) N = lim;
    if (N == 0) return 0.0;
    return ldexp(neg ? -N : N, (int)qe);
  }
  double r = ldexp(N, (int)qe);
  if (r > maxfinite(f)) r = INFINITY;
  return neg ? -r : r;
}

static double huge(const oracle_format *f, int neg) {
  if (f->kind == ORACLE_FIXED) return finish(f, INFINITY, -f->frac, neg);
  return neg ? -INFINITY : INFINITY;
}
static double zero(const oracle_format *f, int neg) {
  return (neg && f->kind == ORACLE_FLOAT) ? -0.0 : 0.0;
}

double oracle_round_scaled(const oracle_format *f, long k, dd v) {
  if (v.hi == 0) return zero(f, signbit(v.hi));
  v = fast_two_sum(v.hi, v.lo); /* hi = RN(hi + lo), which the code below needs */
  if (v.hi == 0) return zero(f, 0);
  int neg = v.hi < 0;
  double h = fabs(v.hi), l = neg ? -v.lo : v.lo;
  int eh;
  double m = frexp(h, &eh);            /* h = m 2^eh, m in [1/2, 1) */
  long E = (long)eh - 1 + k;
  if (m == 0.5 && l < 0) E--;          /* h a power of 2, h + l below it */
  long qe = quantum(f, E);
  if (qe == LONG_MIN) return zero(f, neg);
  if (qe == LONG_MAX) return huge(f, neg);
  long sh = k - qe;                    /* |sh| < 1200: t fits comfortably */
  double t = ldexp(h, (int)sh), tl = ldexp(l, (int)sh);
  int lsign = (l > 0) - (l < 0);       /* survives if tl underflowed to 0 */
  /* t >= 1/4 and ulp(t) >= 2^-53, so fr and c = fr - 1/2 are exact; the
   * nearest integer is fl or fl + 1 as fr + tl is below or above 1/2 */
  double fl = floor(t), fr = t - fl;
  double c = fr - 0.5;
  int cmp = c > -tl ? 1 : c < -tl ? -1 : (tl == 0 ? lsign : 0);
  double N = fl;
  if (cmp > 0 || (cmp == 0 && fmod(fl, 2.0) != 0)) N = fl + 1;
  return finish(f, N, qe, neg);
}

int oracle_round_encl(const oracle_format *f, long k, dd v, double err,
                      double *res) {
  if (!(err < INFINITY)) return 0;
  /* cover the rounding of v -+ err themselves */
  err = err * (1 + 0x1p-50) + fabs(v.hi) * 0x1p-101;
  double a = oracle_round_scaled(f, k, dd_add_d(v, -err));
  double b = oracle_round_scaled(f, k, dd_add_d(v, err));
  if (a != b || signbit(a) != signbit(b)) return 0;
  *res = a;
  return 1;
}

double oracle_round_mpfr(const oracle_format *f, mpfr_srcptr x) {
  if (mpfr_zero_p(x)) return zero(f, mpfr_signbit(x));
  int neg = mpfr_signbit(x) != 0;
  long qe = quantum(f, (long)mpfr_get_exp(x) - 1);
  if (qe == LONG_MIN) return zero(f, neg);
  if (qe == LONG_MAX) return huge(f, neg);
  mpfr_t t;
  mpfr_init2(t, mpfr_get_prec(x) > 64 ? mpfr_get_prec(x) : 64);
  mpfr_abs(t, x, MPFR_RNDN);
  mpfr_mul_2si(t, t, -qe, MPFR_RNDN); /* exact */
  mpfr_rint(t, t, MPFR_RNDN);          /* nearest integer, ties to even */
  double N = mpfr_get_d(t, MPFR_RNDN); /* exact: N <= 2^p or saturates */
  mpfr_clear(t);
  return finish(f, N, qe, neg);
}

void oracle_xval_mpfr(oracle_xval *xv, mpfr_srcptr mid, mpfr_srcptr err) {
  xv->e = 0;
  xv->hi = xv->lo = 0;
  if (!mpfr_zero_p(mid)) {
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(mid));
    long e = (long)mpfr_get_exp(mid);
    mpfr_mul_2si(t, mid, -e, MPFR_RNDN);
    xv->e = e;
    xv->hi = mpfr_get_d(t, MPFR_RNDN);
    mpfr_sub_d(t, t, xv->hi, MPFR_RNDN);
    xv->lo = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clear(t);
  }
  /* err in units of 2^e, rounded up; lo's own truncation is 2^-106 |hi| */
  mpfr_t t;
  mpfr_init2(t, 64);
  mpfr_mul_2si(t, err, -xv->e, MPFR_RNDU);
  xv->err = mpfr_get_d(t, MPFR_RNDU) + fabs(xv->hi) * 0x1p-105;
  mpfr_clear(t);
}

double oracle_round_mpq(const oracle_format *f, mpq_srcptr q, oracle_xval *xv) {
  mpfr_t lo, hi;
  double r = 0;
  for (mpfr_prec_t P = 128;; P *= 2) {
    mpfr_inits2(P, lo, hi, (mpfr_ptr)0);
    int tl = mpfr_set_q(lo, q, MPFR_RNDD);
    mpfr_set_q(hi, q, MPFR_RNDU);
    double a = oracle_round_mpfr(f, lo), b = oracle_round_mpfr(f, hi);
    int done = tl == 0 || (a == b && signbit(a) == signbit(b));
    if (done) {
      r = a;
      if (xv) {
        mpfr_sub(hi, hi, lo, MPFR_RNDU);
        oracle_xval_mpfr(xv, lo, hi);
      }
    }
    mpfr_clears(lo, hi, (mpfr_ptr)0);
    if (done) return r;
  }
}

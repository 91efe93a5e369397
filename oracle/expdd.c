/* expdd.c -- e^d and log1p(t) in double-double with proven error bounds.
 *
 * These are the only transcendental functions of the oracle's fast path; no
 * libm function is trusted.  Constants come from MPFR once per process.
 *
 * oracle_expdd, d in [-1e6, 0]:  d = k ln2/64 + r, |r| <= ln2/128 + 2^-40,
 *   e^d = 2^(k div 64) * 2^((k mod 64)/64) * e^r.
 *   Error budget, relative: ln2/64 held to 26+53+53 bits and |k| < 2^27:
 *   reduction <= 2^-107 absolute in r; Taylor to degree 10 truncation
 *   |r|^11/11! <= 2^-107; the tail c6..c10 in double (value < 2^-9.4 times
 *   r^6 < 2^-45) <= 2^-102; 12 dd operations on |r| <= 2^-7.5 at <= DD_OP
 *   each, damped by |r| except the last two: <= 3 DD_OP; table entry
 *   <= 2^-106; final product <= DD_OP.  Sum < 2^-98 = EXPDD_REL.
 * oracle_log1pdd, t >= 0:  t < 2^-10: alternating series to t^12
 *   (truncation t^13/13 < 2^-120 t) in dd, error <= 4 DD_OP relative.
 *   Otherwise one Newton step for e^y = 1 + t from y0 = log1p(t) in double:
 *   y1 = y0 + (1+t) e^-y0 - 1.  With delta = y0 - y*, the step leaves
 *   delta - 1 + e^-delta <= delta^2/2 e^|delta|, and delta is bounded from
 *   the computed correction c = y1 - y0 (|delta| <= |c|/(1-|c|) + the error
 *   of c), so no accuracy of libm's log1p is assumed: it only seeds Newton.
 */
#include <pthread.h>
#include "internal.h"

static dd tab2[64];         /* 2^(j/64) */
static dd inv_fact[11];     /* 1/i! */
static dd inv_int[14];      /* 1/i, for the log1p series */
static double ln2_64_1, ln2_64_2, ln2_64_3, inv_ln2_64;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* hi, lo: x rounded to a dd (each part round-to-nearest). */
static dd from_mpfr(mpfr_t x, mpfr_t t) {
  double hi = mpfr_get_d(x, MPFR_RNDN);
  mpfr_sub_d(t, x, hi, MPFR_RNDN);
  return dd_make(hi, mpfr_get_d(t, MPFR_RNDN));
}

static void init(void) {
  mpfr_t x, t;
  mpfr_inits2(300, x, t, (mpfr_ptr)0);
  for (int j = 0; j < 64; j++) {
    mpfr_set_si(x, j, MPFR_RNDN);
    mpfr_div_ui(x, x, 64, MPFR_RNDN);
    mpfr_exp2(x, x, MPFR_RNDN);
    tab2[j] = from_mpfr(x, t);
  }
  mpfr_set_ui(x, 1, MPFR_RNDN);
  for (int i = 0; i <= 10; i++) {
    if (i > 1) mpfr_div_ui(x, x, (unsigned long)i, MPFR_RNDN);
    inv_fact[i] = from_mpfr(x, t);
  }
  for (int i = 1; i < 14; i++) {
    mpfr_set_ui(x, 1, MPFR_RNDN);
    mpfr_div_ui(x, x, (unsigned long)i, MPFR_RNDN);
    inv_int[i] = from_mpfr(x, t);
  }
  /* ln2/64 = C1 + C2 + C3, C1 with 26 bits so that k*C1 is exact. */
  mpfr_const_log2(x, MPFR_RNDN);
  mpfr_div_ui(x, x, 64, MPFR_RNDN);
  {
    mpfr_t c;
    mpfr_init2(c, 26);
    mpfr_set(c, x, MPFR_RNDN);
    ln2_64_1 = mpfr_get_d(c, MPFR_RNDN);
    mpfr_sub(x, x, c, MPFR_RNDN);
    ln2_64_2 = mpfr_get_d(x, MPFR_RNDN);
    mpfr_sub_d(x, x, ln2_64_2, MPFR_RNDN);
    ln2_64_3 = mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(c);
  }
  mpfr_const_log2(x, MPFR_RNDN);
  mpfr_ui_div(x, 64, x, MPFR_RNDN);
  inv_ln2_64 = mpfr_get_d(x, MPFR_RNDN);
  mpfr_clears(x, t, (mpfr_ptr)0);
}

dd oracle_expdd(dd d, long *kout) {
  pthread_once(&once, init);
  double kd = nearbyint(d.hi * inv_ln2_64);
  long k = (long)kd;
  /* r = d - k ln2/64: k*C1 exact and d.hi - k*C1 exact (Sterbenz). */
  dd r = dd_d(d.hi - kd * ln2_64_1);
  r = dd_sub(r, two_prod(kd, ln2_64_2));
  r = dd_add_d(r, d.lo);
  r = dd_add_d(r, -kd * ln2_64_3);
  /* Taylor: tail c10..c6 in double, then c5..c0 in dd (Horner). */
  double t = inv_fact[10].hi;
  for (int i = 9; i >= 6; i--) t = t * r.hi + inv_fact[i].hi;
  dd p = dd_d(t);
  for (int i = 5; i >= 0; i--) p = dd_add(dd_mul(p, r), inv_fact[i]);
  long j = ((k % 64) + 64) % 64;
  *kout = (k - j) / 64;
  return dd_mul(tab2[j], p);
}

dd oracle_log1pdd(dd t, double *err) {
  pthread_once(&once, init);
  if (t.hi == 0) { *err = 0; return dd_d(0); }
  if (t.hi < 0x1p-10) {
    /* t (1 - t (1/2 - t (1/3 - ...))): terms 13.. dropped (< 2^-120 t). */
    dd p = inv_int[13];
    for (int i = 12; i >= 1; i--) p = dd_sub(inv_int[i], dd_mul(t, p));
    dd y = dd_mul(t, p);
    *err = 4 * DD_OP * y.hi + 0x1p-1074; /* + underflow of tiny parts */
    return y;
  }
  double y0 = log1p(t.hi + t.lo);
  long k;
  dd e = oracle_expdd(dd_d(-y0), &k);           /* e^-y0 (1 + eta)        */
  dd w = dd_ldexp(dd_mul(dd_add_d(t, 1.0), e), k); /* (1+t) e^-y0, ~1     */
  dd c = dd_add_d(w, -1.0);                     /* exact: w in [1/2, 2]    */
  dd y = dd_add_d(c, y0);
  /* error of w (hence of c): EXPDD_REL + 3 DD_OP relative */
  double ec = fabs(w.hi) * (EXPDD_REL + 3 * DD_OP) + fabs(c.hi) * DD_OP;
  double cb = fabs(c.hi) * (1 + 0x1p-50) + ec;  /* bound on |e^-delta - 1| */
  if (!(cb < 0x1p-20)) { *err = INFINITY; return y; } /* seed unusable */
  double delta = cb / (1 - cb) * (1 + 0x1p-50);  /* |delta| <= -log(1-cb) */
  /* e^|delta| <= 1 + 2|delta| for |delta| <= 1 */
  *err = (0.5 * delta * delta * (1 + 2 * delta) + ec + DD_OP * fabs(y.hi)) *
         (1 + 0x1p-40);
  return y;
}

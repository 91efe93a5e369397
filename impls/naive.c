/* naive.c -- the textbook softmax family without the max shift, binary64
 * and binary32: softmax, log_softmax, logsumexp.  It is the suite's planted
 * bug: exp(x/tau) overflows for x/tau above the format's exp overflow
 * threshold (88.72 in binary32, 709.78 in binary64), giving inf/inf = NaN,
 * and when every term underflows, 0/0 = NaN.  Inside its declared domain
 * it is accurate, and its claim says so.
 *
 * Algorithm, per row (masked entries read as -inf, whatever is stored):
 *   z_i = x_i/tau,  e_i = exp(z_i),  S = sum_i e_i   (16-lane sum, a tree)
 *   softmax      y_i = e_i / S
 *   log_softmax  y_i = z_i - log S       (the log of e^{z_i}/S)
 *   logsumexp    y   = log S
 *
 * Domain: max|x|/tau <= T (claim.max_abs_input), T = 64 in binary32, 512 in
 * binary64.  Then every e_i lies in [e^-T, e^T], a normal number (binary32:
 * e^-64 = 1.6e-28 > 2^-126), and S <= n e^T stays finite for n below 5e10
 * (binary32; binary64: any n).  Outside it the kernel is wrong by design.
 *
 * Accuracy claim (kernel.h).  Unit roundoff u = 2^-p; an error of r u
 * relative to an output y is at most r ulp(y), since ulp(y) > u |y|.  Counts
 * in u, first order:
 *   R = error of z_i = x_i/tau relative to z_i: 1 in binary64, 2 in binary32
 *       (tau is rounded to float once), so exp(z_i) is off by R|z_i| <= R T;
 *   E = 2: exp, log (glibc, < 1 ulp each) err by <= 2u relative;
 *   K = n/16 + 4 roundings on any path of the lane sum.
 * e_i = e^{z_i}(1 + th_i), |th_i| <= E + R|z_i|; S is within K + E + R T, or
 * weighting th_j by s_j, within K + E + R(|L| + n/e) where L = log S
 * (|z_j| <= |L| + |z_j - L| and s_j |z_j - L| <= 1/e).
 *   softmax      th_i + (K + E + R T) + 1       = 9 + n/16 + 2 R T ulps
 *   log_softmax  y = z_i - L cancels when one class dominates (|z_i|, |L|
 *                ~ T, y ~ 0), so the error is absolute: R|z_i| + K + E +
 *                R(|L| + n/e) + E|L| + 1 ulp, with |z_i| <= T, |L| <= T + ln n:
 *                1 ulp + n ((2R + E) T + 6 + 1/16 + R/e + (R + E)/e) u
 *                (ln n <= n/e, constants <= constants * n)
 *   logsumexp    (E + R) ulps + n (6 + 1/16 + R/e) u.
 * Margins: +1 ulp and +0.5 n u for second-order terms (as in stable.c).
 *
 * Special values, by plain IEEE evaluation (SEMANTICS.md ids): a NaN makes
 * every output NaN (reference); one or several +inf entries give
 * inf/inf = NaN at the +inf slots and 0 (log_softmax: -inf) elsewhere
 * ("ieee-partial"); logsumexp is +inf there (reference); an all-masked row
 * gives 0/0 = NaN, and logsumexp log 0 = -inf (reference; n = 0 likewise).
 */
#ifndef SMAX_TEMPLATE_BODY
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernel.h"

#define LANES 16
#define GLUE(a, b) a##b
#define XGLUE(a, b) GLUE(a, b)
#define F(name) XGLUE(name, SUF) /* name_f64, name_f32 */
/* an elementwise loop (no reduction, so nothing is reassociated): lets gcc
 * vectorise it at -O2 as well, where its cost model skips unknown trip counts */
#define SIMD _Pragma("omp simd")

/* The body below is compiled twice (the idiom of glibc's type-generic math
 * templates): this file includes itself once per floating type. */
#define SMAX_TEMPLATE_BODY
#define FT double
#define SUF _f64
#define FT_MIN DBL_MIN
#define FT_MAX DBL_MAX
#define EXP exp
#define LOG log
#include "naive.c"
#undef FT
#undef SUF
#undef FT_MIN
#undef FT_MAX
#undef EXP
#undef LOG
#define FT float
#define SUF _f32
#define FT_MIN FLT_MIN
#define FT_MAX FLT_MAX
#define EXP expf
#define LOG logf
#include "naive.c"

/* ---- claims: the formulas of the header comment, R and T per format ---- */
#define EULER 2.718281828459045
#define E_FN 2.0 /* one libm call, in u */
#define T64 512.0
#define T32 64.0
#define CLAIM_SM(R, T) {10 + 2 * (R) * (T), 1.0 / 16, 0, 0, T}
#define CLAIM_LSM(R, T) \
  {2, 0, 0, (2 * (R) + E_FN) * (T) + 6 + 1.0 / 16 + (R) / EULER + ((R) + E_FN) / EULER + 0.5, T}
#define CLAIM_LSE(R, T) {E_FN + (R) + 1, 0, 0, 6 + 1.0 / 16 + (R) / EULER + 0.5, T}

/* its overflow is the point: fuzz campaigns skip it unless asked for by name */
#define DET (SMAX_DETERMINISTIC | SMAX_KNOWN_DEFECT)
#define ABOUT "exp(x/tau) / sum exp(x/tau), no max shift: overflows past T"
#define K(func, fmt, fn, conv, claim) {"naive", func, fmt, fn, DET, conv, claim, ABOUT}

const smax_kernel smax_naive_kernels[] = {
    K(SMAX_SOFTMAX, SMAX_F64, softmax_f64, "ieee-partial", CLAIM_SM(1, T64)),
    K(SMAX_LOG_SOFTMAX, SMAX_F64, log_softmax_f64, "ieee-partial", CLAIM_LSM(1, T64)),
    K(SMAX_LOGSUMEXP, SMAX_F64, logsumexp_f64, "reference", CLAIM_LSE(1, T64)),
    K(SMAX_SOFTMAX, SMAX_F32, softmax_f32, "ieee-partial", CLAIM_SM(2, T32)),
    K(SMAX_LOG_SOFTMAX, SMAX_F32, log_softmax_f32, "ieee-partial", CLAIM_LSM(2, T32)),
    K(SMAX_LOGSUMEXP, SMAX_F32, logsumexp_f32, "reference", CLAIM_LSE(2, T32)),
};
const size_t smax_naive_count = sizeof smax_naive_kernels / sizeof smax_naive_kernels[0];

#else /* ---- the body, once per floating type FT ---- */

#include "rowops.h" /* lane_sum */

/* z_i = x_i/tau (masked: -inf) into z, e_i = exp(z_i) into e; returns S */
static FT F(exp_sum)(const FT *x, const unsigned char *mask, size_t n, FT tau, FT *z, FT *e) {
  if (mask) {
    SIMD
    for (size_t i = 0; i < n; i++) {
      FT v = x[i]; /* loaded unconditionally: a select, not a branch */
      z[i] = (mask[i] ? (FT)-INFINITY : v) / tau;
    }
  } else {
    SIMD
    for (size_t i = 0; i < n; i++) z[i] = x[i] / tau;
  }
  for (size_t i = 0; i < n; i++) e[i] = EXP(z[i]);
  return F(lane_sum)(e, n);
}

static int F(run)(const smax_args *a, smax_func f) {
  if (!(a->tau >= FT_MIN && a->tau <= FT_MAX)) return 1; /* also rejects NaN */
  if (!a->rows) return 0;
  if (!a->x || !a->y) return 1;
  size_t n = a->n;
  FT *z = malloc(2 * (n ? n : 1) * sizeof *z), tau = (FT)a->tau;
  if (!z) return 2;
  FT *e = z + n;
  for (size_t r = 0; r < a->rows; r++) {
    const FT *x = (const FT *)a->x + r * a->x_stride;
    const unsigned char *mask = a->mask ? a->mask + r * a->mask_stride : NULL;
    FT *y = (FT *)a->y + r * a->y_stride;
    FT S = F(exp_sum)(x, mask, n, tau, z, e);
    if (f == SMAX_SOFTMAX) {
      SIMD
      for (size_t i = 0; i < n; i++) y[i] = e[i] / S;
    } else if (f == SMAX_LOG_SOFTMAX) {
      FT L = LOG(S);
      SIMD
      for (size_t i = 0; i < n; i++) y[i] = z[i] - L;
    } else {
      *y = LOG(S);
    }
  }
  free(z);
  return 0;
}

static int F(softmax)(const smax_args *a) { return F(run)(a, SMAX_SOFTMAX); }
static int F(log_softmax)(const smax_args *a) { return F(run)(a, SMAX_LOG_SOFTMAX); }
static int F(logsumexp)(const smax_args *a) { return F(run)(a, SMAX_LOGSUMEXP); }

#endif

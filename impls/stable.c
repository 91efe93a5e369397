/* stable.c -- the three-pass ("safe", max-shifted) softmax family, binary64
 * and binary32: softmax, log_softmax, logsumexp, softmax_vjp,
 * log_softmax_vjp and the fused cross_entropy.
 *
 * Algorithm, per row (masked entries read as -inf, whatever is stored):
 *   pass 1  m = max_i x_i                               16-lane max
 *   pass 2  d_i = (x_i - m)/tau,  e_i = exp(d_i) <= 1,  S = sum_i e_i
 *   pass 3  softmax          y_i = e_i / S
 *           log_softmax      y_i = d_i - log S
 *           logsumexp        y   = m/tau + log S
 *           softmax_vjp      y_i = s_i (dy_i - g) / tau,   g = sum_j s_j dy_j
 *           log_softmax_vjp  y_i = (dy_i - s_i G) / tau,   G = sum_j dy_j
 *           cross_entropy    loss = log S - d_t,  y_i = (s_i - [i == t]) / tau
 * with s_i = e_i / S.  The shift is taken on x before dividing by tau, so a
 * computed d_i carries an error relative to |d_i| <= spread, not to |x/tau|.
 * Sums use 16 independent lanes folded by a 4-level tree (the loops
 * vectorise without reassociation); G is a compensated (Kahan) lane sum.
 *
 * Accuracy claim (kernel.h).  Unit roundoff u = 2^-p; an error of r u
 * relative to an output y is at most r ulp(y), since ulp(y) > u |y|.  Counts
 * are in u, to first order (Blanchard, D. Higham & N. Higham, IMA J. Numer.
 * Anal. 41(4), 2021, whose shifted-softmax bound n + 2 + 2(max - min) this
 * refines):
 *   R  = error of a quotient by tau relative to it: 1 in binary64, 2 in
 *        binary32 (tau is rounded to float once);
 *   E  = 2: exp, log (glibc, < 1 ulp each: libm-test-ulps lists at most 1)
 *        err by at most 1 ulp <= 2u relative;
 *   K  = n/16 + 4: roundings on any path of the lane sum (ceil(n/16) - 1 in
 *        a lane, 4 in the tree), so a sum of positive terms is within K u;
 *   C  = (1 + R)/e: each d_j costs (1 + R)|d_j| (the subtraction, then the
 *        division), and weighted by s_j it costs at most (1 + R)/e because
 *        s_j |d_j| <= |d_j| e^{d_j} <= 1/e.
 * Then e_i = e^{d_i}(1 + th_i), |th_i| <= E + (1 + R)|d_i|, and S is within
 * b = K + E + (1+R) spread (or, weighting th_j by s_j, K + E + C(n-1)).
 *   softmax      th_i + b + 1 (division)      = 9 + n/16 + 2(1+R) spread
 *   log_softmax  |d_i|, L = log S <= |y|: (1+R) + E + 1 ulps, and log S - log
 *                Sum e^{d_j} is absolute: K + E + C(n-1) <= n (1/16 + 3 + C)
 *                for n >= 2 (n = 1 is exact: y = 0 - log 1)
 *   logsumexp    R|a| + E L + 1, where |a| <= |y| + L and L <= ln n when
 *                a = m/tau < 0: (3 + R) ulps + n (1/16 + 3 + C + (R+E)/2) u
 *                (using 6 <= 3n and ln n <= n/2 for n >= 2)
 *   softmax_vjp  g is within D (2E + 2 + 2K + 2C(n-1)) (D = max|dy|), then
 *                three roundings: (12 + n/16 + 2(1+R) spread) ulps plus
 *                (D/tau) n (14 + 1/8 + 2C) u absolute (cancellation in dy_i - g)
 *   log_softmax_vjp  s_i |G| <= |dy_i| + tau |y_i| turns the error of s_i G
 *                into ulps and D/tau parts; Kahan G is within 4u sum|dy|:
 *                (12 + (1/16 + C) n) ulps + (D/tau) n (14 + 1/16 + 2C) u
 *   cross_entropy  loss = L - d_t >= L, |d_t|: (4 + R) ulps + n(3.06 + C) u;
 *                y_i = s_i/tau (10 + n/16 + 2(1+R) spread) ulps; at the
 *                target s_t - 1 cancels: (1/tau) n (9 + 1/16 + C) u.
 * Margins: +1 ulp and +0.5 n u cover second-order terms (the product of
 * first-order ones, <= 1 u while (n/16) u <= 2^-12, i.e. n <= 2^16 in
 * binary32).  The ABI's absolute term has no dy or tau scale: the gradient
 * claims assume max|dy|/tau <= 16 (1/tau <= 16 for cross_entropy).  Rows
 * whose max - min overflows the format (|x| near the largest finite) are
 * outside every claim: x_i - m rounds to -inf.
 *
 * Special values, by plain IEEE evaluation (SEMANTICS.md ids): a NaN makes
 * every output NaN (reference); a +inf entry gives inf - inf, so every
 * softmax/log_softmax/gradient/loss output is NaN ("ieee-nan"); logsumexp
 * is +inf there and -inf for an all-masked row or n = 0 (reference, a
 * per-row branch); an all-masked row gives NaN elsewhere (reference);
 * softmax_vjp writes 0 * (negative) = -0 at masked slots ("zero-sign"); a
 * NaN or inf in dy makes every vjp output NaN or +-inf ("ieee-propagate").
 * cross_entropy rejects n = 0 (no target).
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
#include "stable.c"
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
#include "stable.c"

/* ---- claims: the formulas of the header comment, R per format ---- */
#define EULER 2.718281828459045
#define E_FN 2.0   /* one libm call, in u */
#define DYTAU 16.0 /* gradient claims: max|dy|/tau <= 16 */
#define C_OF(R) ((1.0 + (R)) / EULER)
#define CLAIM_SM(R) {10, 1.0 / 16, 2 * (1.0 + (R)), 0, 0}
#define CLAIM_LSM(R) {5 + (R), 0, 0, 1.0 / 16 + 3 + C_OF(R) + 0.5, 0}
#define CLAIM_LSE(R) {4 + (R), 0, 0, 1.0 / 16 + 3 + C_OF(R) + ((R) + E_FN) / 2 + 0.5, 0}
#define CLAIM_SMV(R) {13, 1.0 / 16, 2 * (1.0 + (R)), DYTAU * (14 + 1.0 / 8 + 2 * C_OF(R)) + 0.5, 0}
#define CLAIM_LSMV(R) {13, 1.0 / 16 + C_OF(R), 0, DYTAU * (14 + 1.0 / 16 + 2 * C_OF(R)) + 0.5, 0}
#define CLAIM_CE(R) {11, 1.0 / 16, 2 * (1.0 + (R)), DYTAU * (9 + 1.0 / 16 + C_OF(R)) + 0.5, 0}

#define DET SMAX_DETERMINISTIC
#define ABOUT "max, sum of exp(x - max) in 16 lanes, divide"
#define K(func, fmt, fn, conv, claim) {"stable", func, fmt, fn, DET, conv, claim, ABOUT}

const smax_kernel smax_stable_kernels[] = {
    K(SMAX_SOFTMAX, SMAX_F64, softmax_f64, "ieee-nan", CLAIM_SM(1)),
    K(SMAX_LOG_SOFTMAX, SMAX_F64, log_softmax_f64, "ieee-nan", CLAIM_LSM(1)),
    K(SMAX_LOGSUMEXP, SMAX_F64, logsumexp_f64, "reference", CLAIM_LSE(1)),
    K(SMAX_SOFTMAX_VJP, SMAX_F64, softmax_vjp_f64, "ieee-nan ieee-propagate zero-sign", CLAIM_SMV(1)),
    K(SMAX_LOG_SOFTMAX_VJP, SMAX_F64, log_softmax_vjp_f64, "ieee-nan ieee-propagate", CLAIM_LSMV(1)),
    K(SMAX_CROSS_ENTROPY, SMAX_F64, cross_entropy_f64, "ieee-nan", CLAIM_CE(1)),
    K(SMAX_SOFTMAX, SMAX_F32, softmax_f32, "ieee-nan", CLAIM_SM(2)),
    K(SMAX_LOG_SOFTMAX, SMAX_F32, log_softmax_f32, "ieee-nan", CLAIM_LSM(2)),
    K(SMAX_LOGSUMEXP, SMAX_F32, logsumexp_f32, "reference", CLAIM_LSE(2)),
    K(SMAX_SOFTMAX_VJP, SMAX_F32, softmax_vjp_f32, "ieee-nan ieee-propagate zero-sign", CLAIM_SMV(2)),
    K(SMAX_LOG_SOFTMAX_VJP, SMAX_F32, log_softmax_vjp_f32, "ieee-nan ieee-propagate", CLAIM_LSMV(2)),
    K(SMAX_CROSS_ENTROPY, SMAX_F32, cross_entropy_f32, "ieee-nan", CLAIM_CE(2)),
};
const size_t smax_stable_count = sizeof smax_stable_kernels / sizeof smax_stable_kernels[0];

#else /* ---- the body, once per floating type FT ---- */

#include "rowops.h" /* masked_max, lane_sum, lane_dot, compensated_sum, has_nan */

/* Passes 1 and 2: w_i = d_i = (x_i - m)/tau, e_i = exp(d_i); returns S and m. */
static FT F(shift_exp_sum)(const FT *x, const unsigned char *mask, size_t n, FT tau, FT *w,
                           FT *e, FT *m_out) {
  FT m = F(masked_max)(x, mask, n, w);
  SIMD
  for (size_t i = 0; i < n; i++) w[i] = (w[i] - m) / tau;
  for (size_t i = 0; i < n; i++) e[i] = EXP(w[i]);
  *m_out = m;
  return F(lane_sum)(e, n);
}

typedef struct {
  const FT *x, *dy;
  const unsigned char *mask;
  FT *y, *loss;
  int32_t t;
  size_t n;
  FT tau;
  FT *w, *e; /* scratch, n each */
} F(row);

static void F(softmax_row)(const F(row) *r) {
  FT m, S = F(shift_exp_sum)(r->x, r->mask, r->n, r->tau, r->w, r->y, &m);
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->y[i] / S;
}

static void F(log_softmax_row)(const F(row) *r) {
  FT m, L = LOG(F(shift_exp_sum)(r->x, r->mask, r->n, r->tau, r->w, r->e, &m));
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->w[i] - L;
}

static void F(logsumexp_row)(const F(row) *r) {
  FT m, S = F(shift_exp_sum)(r->x, r->mask, r->n, r->tau, r->w, r->e, &m);
  if (isinf(m)) /* +inf entry (lse = +inf), or all masked / n = 0 (-inf) */
    *r->y = F(has_nan)(r->x, r->mask, r->n) ? (FT)NAN : m;
  else
    *r->y = m / r->tau + LOG(S);
}

/* e_i <- s_i = e_i / S */
static void F(probabilities)(const F(row) *r) {
  FT m, S = F(shift_exp_sum)(r->x, r->mask, r->n, r->tau, r->w, r->e, &m);
  SIMD
  for (size_t i = 0; i < r->n; i++) r->e[i] = r->e[i] / S;
}

static void F(softmax_vjp_row)(const F(row) *r) {
  F(probabilities)(r);
  FT g = F(lane_dot)(r->e, r->dy, r->n);
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->e[i] * (r->dy[i] - g) / r->tau;
}

static void F(log_softmax_vjp_row)(const F(row) *r) {
  F(probabilities)(r);
  FT G = F(compensated_sum)(r->dy, r->n);
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = (r->dy[i] - r->e[i] * G) / r->tau;
}

static void F(cross_entropy_row)(const F(row) *r) {
  FT m, S = F(shift_exp_sum)(r->x, r->mask, r->n, r->tau, r->w, r->e, &m);
  *r->loss = LOG(S) - r->w[r->t]; /* lse - z_t without the large m/tau */
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->e[i] / S / r->tau;
  r->y[r->t] = (r->e[r->t] / S - 1) / r->tau;
}

static int F(args_ok)(const smax_args *a, smax_func f) {
  if (!(a->tau >= FT_MIN && a->tau <= FT_MAX)) return 0; /* also rejects NaN */
  if (!a->rows) return 1;
  if (!a->x || !a->y) return 0;
  if ((f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP) && !a->dy) return 0;
  if (f == SMAX_CROSS_ENTROPY) {
    if (!a->target || !a->loss || a->n == 0) return 0;
    for (size_t r = 0; r < a->rows; r++)
      if (a->target[r] < 0 || (size_t)a->target[r] >= a->n) return 0;
  }
  return 1;
}

static int F(run)(const smax_args *a, smax_func f) {
  if (!F(args_ok)(a, f)) return 1;
  FT *scratch = malloc(2 * (a->n ? a->n : 1) * sizeof *scratch);
  if (!scratch) return 2;
  F(row) r = {.n = a->n, .tau = (FT)a->tau, .w = scratch, .e = scratch + a->n};
  for (size_t k = 0; k < a->rows; k++) {
    r.x = (const FT *)a->x + k * a->x_stride;
    r.mask = a->mask ? a->mask + k * a->mask_stride : NULL;
    r.dy = a->dy ? (const FT *)a->dy + k * a->dy_stride : NULL;
    r.y = (FT *)a->y + k * a->y_stride;
    r.loss = a->loss ? (FT *)a->loss + k : NULL;
    r.t = a->target ? a->target[k] : 0;
    switch (f) {
    case SMAX_SOFTMAX: F(softmax_row)(&r); break;
    case SMAX_LOG_SOFTMAX: F(log_softmax_row)(&r); break;
    case SMAX_LOGSUMEXP: F(logsumexp_row)(&r); break;
    case SMAX_SOFTMAX_VJP: F(softmax_vjp_row)(&r); break;
    case SMAX_LOG_SOFTMAX_VJP: F(log_softmax_vjp_row)(&r); break;
    case SMAX_CROSS_ENTROPY: F(cross_entropy_row)(&r); break;
    default: free(scratch); return 1;
    }
  }
  free(scratch);
  return 0;
}

static int F(softmax)(const smax_args *a) { return F(run)(a, SMAX_SOFTMAX); }
static int F(log_softmax)(const smax_args *a) { return F(run)(a, SMAX_LOG_SOFTMAX); }
static int F(logsumexp)(const smax_args *a) { return F(run)(a, SMAX_LOGSUMEXP); }
static int F(softmax_vjp)(const smax_args *a) { return F(run)(a, SMAX_SOFTMAX_VJP); }
static int F(log_softmax_vjp)(const smax_args *a) { return F(run)(a, SMAX_LOG_SOFTMAX_VJP); }
static int F(cross_entropy)(const smax_args *a) { return F(run)(a, SMAX_CROSS_ENTROPY); }

#endif

/* accurate.c -- softmax family in the formulation of Blanchard, D. Higham and
 * N. Higham ("Accurately computing the log-sum-exp and softmax functions",
 * IMA J. Numer. Anal. 41(4), 2021), binary64 and binary32: softmax,
 * log_softmax, logsumexp, softmax_vjp, log_softmax_vjp, cross_entropy.
 *
 * Algorithm, per row (masked entries read as -inf, whatever is stored):
 *   a = m/tau with m = x_k = max_i x_i (k its first index), d_i = (x_i - m)/tau,
 *   d_k = 0 exactly, e_i = exp(d_i), and the max term, the exact 1, is left
 *   out of the sum:  s = sum_{i != k} e_i          (16-lane sum and a tree)
 *   softmax          y_i = e_i / (1 + s),  y_k = 1 / (1 + s)
 *   log_softmax      y_i = d_i - log1p(s)
 *   logsumexp        y   = a + log1p(s)
 *   softmax_vjp      y_i = s_i ((dy_i - dy_k) - c) / tau,
 *                    c = sum_{j != k} s_j (dy_j - dy_k)   (= g - dy_k exactly)
 *   log_softmax_vjp  y_i = (dy_i - s_i G) / tau,  G = G' + dy_k,
 *                    G' = sum_{j != k} dy_j (Kahan lanes), and at the max
 *                    y_k = (s dy_k - G') / (1 + s) / tau   (= dy_k - s_k G)
 *   cross_entropy    loss = log1p(s) - d_t;  y_i = s_i / tau, and at the
 *                    target s_t - 1 = -s/(1 + s) if t = k (no cancellation),
 *                    else s_t <= 1/2 and s_t - 1 does not cancel.
 * With log1p(s) instead of log(1 + s) nothing of s is lost when s < u: the
 * log-domain outputs near 0 (the max's log_softmax, lse and loss of a
 * dominant class) keep their relative accuracy.  The vjp forms move the
 * cancellation of dy_k - g (large when s_k ~ 1) into c, a sum weighted by
 * the small s_j.
 *
 * Accuracy claim (kernel.h).  Unit roundoff u = 2^-p; an error of r u
 * relative to an output y is at most r ulp(y), since ulp(y) > u |y|.  Counts
 * in u, first order:
 *   R = error of a quotient by tau relative to it: 1 in binary64, 2 in
 *       binary32 (tau is rounded to float once);
 *   E = 2: exp, log1p (glibc, < 1 ulp each; libm-test-ulps lists at most 1)
 *       err by at most 1 ulp <= 2u relative;
 *   K = n/16 + 4 roundings on any path of the lane sum;
 *   C = (1 + R)/e: s_j (1 + R)|d_j| <= (1 + R)/e since |d| e^d <= 1/e.
 * e_i = e^{d_i}(1 + th_i), |th_i| <= E + (1+R)|d_i|; s is within
 * b = K + E + (1+R) spread relative.  When s < FT_MIN/u its terms are near
 * or below the subnormal range and their roundings (one subnormal ulp each)
 * would add up, so s is recomputed from terms scaled by e^B (B = 64,
 * binary64 512; d_i + B is exact there) and scaled back: then s is within
 * b' = b + E + 1 (exp(-B), the product).  Since s/(1+s) <= min(1, log1p(s)),
 * log1p(s) is within b' log1p(s) (ulp form) and within s b/(1+s) <=
 * K + E + C(n-1) (absolute form, also the error of 1 + s relative to it; the
 * scaled branch changes neither, as s < FT_MIN/u there).
 *   softmax      th_i + 1 (1 + s) + b + 1     = 10 + n/16 + 2(1+R) spread
 *   log_softmax  (1+R)|d_i| + b' L + E L + 1, |d_i|, L <= |y|:
 *                13 + R + n/16 + (1+R) spread ulps, no absolute term
 *   logsumexp    R|a| + b' L + E L + 1 when a >= 0; when a < 0, |a| <= |y| + L
 *                and L <= ln n with the absolute form:
 *                (12 + R + n/16 + (1+R) spread) ulps + n (1/16 + 3 + C + (R+E)/2) u
 *   softmax_vjp  |dy_j - dy_k| <= 2D (D = max|dy|): c is within
 *                2D (16 + n/8 + 2C(n-1)), dy_i - dy_k rounds once:
 *                (13 + n/16 + 2(1+R) spread) ulps + (D/tau) n (34 + 1/4 + 4C) u
 *                (worse than stable's worst case by the 2D; much better when
 *                one class dominates, where the stable form cancels)
 *   log_softmax_vjp  as stable with G within 5u n D; at k the error of
 *                s dy_k / (1+s) is D (K + E + C(n-1)):
 *                (13 + (1/16 + C) n) ulps + (D/tau) n (16 + 1/16 + 2C) u
 *   cross_entropy  loss = L - d_t >= L, |d_t|: 13 + R + n/16 + (1+R) spread;
 *                y_i: 11 + n/16 + 2(1+R) spread; t = k: s/(1+s) has relative
 *                condition 1/(1+s): b' + 3; t != k: |s_t - 1| >= 1/2 >= s_t:
 *                12 + n/16 + 2(1+R) spread ulps; no absolute term.
 * Margins: +1 ulp and +0.5 n u cover second-order terms (<= 1 u while
 * (n/16) u <= 2^-12, i.e. n <= 2^16 in binary32).  The ABI's absolute term
 * has no dy or tau scale: the vjp claims assume max|dy|/tau <= 16.  Rows
 * whose max - min overflows the format are outside every claim.
 *
 * Special values (SEMANTICS.md ids): the reference everywhere in the
 * forward functions and the loss.  The max slot is handled analytically
 * (d_k = 0, e_k = 1), so one +inf entry gives the limit (one-hot, 0/-inf,
 * lse +inf, loss 0 or +inf, vjps' limits) with no branch; several +inf or a
 * NaN make s NaN, so every output is NaN (lse: +inf / NaN by a per-row
 * branch); an all-masked row (m = -inf) or n = 0 is a per-row branch: NaN
 * outputs, lse -inf.  softmax_vjp writes 0 * (negative) = -0 at masked slots
 * and cross_entropy -s/(1+s) = -0 when s = 0 ("zero-sign"); a NaN or inf in
 * dy makes every vjp output NaN or +-inf ("ieee-propagate").
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
#define LOG1P log1p
#define TINY_S 0x1p-969 /* FT_MIN / u */
#define SCALE_B 512.0
#include "accurate.c"
#undef FT
#undef SUF
#undef FT_MIN
#undef FT_MAX
#undef EXP
#undef LOG1P
#undef TINY_S
#undef SCALE_B
#define FT float
#define SUF _f32
#define FT_MIN FLT_MIN
#define FT_MAX FLT_MAX
#define EXP expf
#define LOG1P log1pf
#define TINY_S 0x1p-102f
#define SCALE_B 64.0f
#include "accurate.c"

/* ---- claims: the formulas of the header comment, R per format ---- */
#define EULER 2.718281828459045
#define E_FN 2.0   /* one libm call, in u */
#define DYTAU 16.0 /* vjp claims: max|dy|/tau <= 16 */
#define C_OF(R) ((1.0 + (R)) / EULER)
#define CLAIM_SM(R) {11, 1.0 / 16, 2 * (1.0 + (R)), 0, 0}
#define CLAIM_LSM(R) {14 + (R), 1.0 / 16, 1.0 + (R), 0, 0}
#define CLAIM_LSE(R) {13 + (R), 1.0 / 16, 1.0 + (R), 1.0 / 16 + 3 + C_OF(R) + ((R) + E_FN) / 2 + 0.5, 0}
#define CLAIM_SMV(R) {14, 1.0 / 16, 2 * (1.0 + (R)), DYTAU * (34 + 1.0 / 4 + 4 * C_OF(R)) + 0.5, 0}
#define CLAIM_LSMV(R) {14, 1.0 / 16 + C_OF(R), 0, DYTAU * (16 + 1.0 / 16 + 2 * C_OF(R)) + 0.5, 0}
#define CLAIM_CE(R) {14 + (R), 1.0 / 16, 2 * (1.0 + (R)), 0, 0}

#define DET SMAX_DETERMINISTIC
#define ABOUT "Blanchard-Higham-Higham: max term left out, log1p(s), 16 lanes"
#define K(func, fmt, fn, conv, claim) {"accurate", func, fmt, fn, DET, conv, claim, ABOUT}

const smax_kernel smax_accurate_kernels[] = {
    K(SMAX_SOFTMAX, SMAX_F64, softmax_f64, "reference", CLAIM_SM(1)),
    K(SMAX_LOG_SOFTMAX, SMAX_F64, log_softmax_f64, "reference", CLAIM_LSM(1)),
    K(SMAX_LOGSUMEXP, SMAX_F64, logsumexp_f64, "reference", CLAIM_LSE(1)),
    K(SMAX_SOFTMAX_VJP, SMAX_F64, softmax_vjp_f64, "ieee-propagate zero-sign", CLAIM_SMV(1)),
    K(SMAX_LOG_SOFTMAX_VJP, SMAX_F64, log_softmax_vjp_f64, "ieee-propagate", CLAIM_LSMV(1)),
    K(SMAX_CROSS_ENTROPY, SMAX_F64, cross_entropy_f64, "zero-sign", CLAIM_CE(1)),
    K(SMAX_SOFTMAX, SMAX_F32, softmax_f32, "reference", CLAIM_SM(2)),
    K(SMAX_LOG_SOFTMAX, SMAX_F32, log_softmax_f32, "reference", CLAIM_LSM(2)),
    K(SMAX_LOGSUMEXP, SMAX_F32, logsumexp_f32, "reference", CLAIM_LSE(2)),
    K(SMAX_SOFTMAX_VJP, SMAX_F32, softmax_vjp_f32, "ieee-propagate zero-sign", CLAIM_SMV(2)),
    K(SMAX_LOG_SOFTMAX_VJP, SMAX_F32, log_softmax_vjp_f32, "ieee-propagate", CLAIM_LSMV(2)),
    K(SMAX_CROSS_ENTROPY, SMAX_F32, cross_entropy_f32, "zero-sign", CLAIM_CE(2)),
};
const size_t smax_accurate_count = sizeof smax_accurate_kernels / sizeof smax_accurate_kernels[0];

#else /* ---- the body, once per floating type FT ---- */

#include "rowops.h" /* masked_max, lane_sum, lane_dot, compensated_sum, has_nan */

/* index of the first entry equal to m (the max), or n if there is none */
static size_t F(first_index_of)(const FT *w, size_t n, FT m) {
  size_t k = 0;
  while (k < n && w[k] != m) k++;
  return k;
}

typedef struct {
  const FT *x, *dy;
  const unsigned char *mask;
  FT *y, *loss;
  int32_t t;
  size_t n;
  FT tau;
  FT *w, *e, *p; /* scratch, n each */
  /* filled by shift_exp_sum: */
  FT m, s; /* max of the row, sum of exp(d_i) over i != k */
  size_t k;
} F(row);

/* s below FT_MIN/u: its terms are (near) subnormal, each rounded by up to
 * one subnormal ulp, and those errors add up (n of them) against an output
 * log1p(s) ~ s that small.  Recompute the terms scaled by e^B into the normal
 * range and scale back with one rounding.  Here every d_i < ln(FT_MIN/u)
 * (-70.7, binary64 -671.7), so d_i + B is exact (Sterbenz) for d_i >= -2B,
 * and terms below e^{-2B} are too small for their errors to matter. */
static FT F(tiny_sum)(F(row) *r) {
  for (size_t i = 0; i < r->n; i++) r->p[i] = EXP(r->w[i] + SCALE_B);
  r->p[r->k] = 0;
  return F(lane_sum)(r->p, r->n) * EXP(-SCALE_B);
}

/* w_i = d_i = (x_i - m)/tau with d_k = 0, e_i = exp(d_i) with e_k = 0 (the
 * max's term is the exact 1, kept out of s); sets m, k, s.  Returns 0 if the
 * row has no entry above -inf (all masked, n = 0, or only NaN): the caller
 * writes that row's special values. */
static int F(shift_exp_sum)(F(row) *r, FT *e) {
  size_t n = r->n;
  r->m = F(masked_max)(r->x, r->mask, n, r->w);
  if (r->m == (FT)-INFINITY) return 0;
  r->k = F(first_index_of)(r->w, n, r->m);
  SIMD
  for (size_t i = 0; i < n; i++) r->w[i] = (r->w[i] - r->m) / r->tau;
  r->w[r->k] = 0; /* also the limit of inf - inf at a lone +inf */
  for (size_t i = 0; i < n; i++) e[i] = EXP(r->w[i]);
  e[r->k] = 0;
  r->s = F(lane_sum)(e, n);
  if (r->s < TINY_S) r->s = F(tiny_sum)(r); /* rare: a row-level branch */
  return 1;
}

static void F(fill)(FT *y, size_t n, FT v) {
  SIMD
  for (size_t i = 0; i < n; i++) y[i] = v;
}

static void F(softmax_row)(F(row) *r) {
  if (!F(shift_exp_sum)(r, r->y)) {
    F(fill)(r->y, r->n, (FT)NAN);
    return;
  }
  FT den = 1 + r->s;
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->y[i] / den;
  r->y[r->k] = 1 / den;
}

static void F(log_softmax_row)(F(row) *r) {
  if (!F(shift_exp_sum)(r, r->e)) {
    F(fill)(r->y, r->n, (FT)NAN);
    return;
  }
  FT L = LOG1P(r->s);
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->w[i] - L; /* y_k = 0 - L */
}

static void F(logsumexp_row)(F(row) *r) {
  int finite_max = F(shift_exp_sum)(r, r->e) && r->m != (FT)INFINITY;
  if (!finite_max) /* +inf entry (lse = +inf), or all masked / n = 0 (-inf) */
    *r->y = F(has_nan)(r->x, r->mask, r->n) ? (FT)NAN : r->m;
  else
    *r->y = r->m / r->tau + LOG1P(r->s);
}

/* e_i <- s_i = e_i/(1 + s) for i != k (e_k stays 0); returns s_k = 1/(1 + s) */
static FT F(probabilities)(F(row) *r) {
  FT den = 1 + r->s;
  SIMD
  for (size_t i = 0; i < r->n; i++) r->e[i] = r->e[i] / den;
  return 1 / den;
}

static void F(softmax_vjp_row)(F(row) *r) {
  if (!F(shift_exp_sum)(r, r->e)) {
    F(fill)(r->y, r->n, (FT)NAN);
    return;
  }
  FT sk = F(probabilities)(r), dyk = r->dy[r->k];
  SIMD
  for (size_t i = 0; i < r->n; i++) r->p[i] = r->dy[i] - dyk;
  FT c = F(lane_dot)(r->e, r->p, r->n); /* e_k = 0 leaves the max out */
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->e[i] * (r->p[i] - c) / r->tau;
  r->y[r->k] = sk * (r->p[r->k] - c) / r->tau;
}

static void F(log_softmax_vjp_row)(F(row) *r) {
  if (!F(shift_exp_sum)(r, r->e)) {
    F(fill)(r->y, r->n, (FT)NAN);
    return;
  }
  F(probabilities)(r);
  FT dyk = r->dy[r->k];
  memcpy(r->p, r->dy, r->n * sizeof *r->p);
  r->p[r->k] = 0;
  FT G1 = F(compensated_sum)(r->p, r->n), G = G1 + dyk; /* G1: all but the max */
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = (r->dy[i] - r->e[i] * G) / r->tau;
  r->y[r->k] = (r->s * dyk - G1) / (1 + r->s) / r->tau; /* dy_k - s_k G, cancelled exactly */
}

static void F(cross_entropy_row)(F(row) *r) {
  if (!F(shift_exp_sum)(r, r->e)) {
    *r->loss = (FT)NAN;
    F(fill)(r->y, r->n, (FT)NAN);
    return;
  }
  FT den = 1 + r->s;
  size_t t = (size_t)r->t;
  *r->loss = LOG1P(r->s) - r->w[t]; /* w_k = 0: the loss of the max is log1p(s) */
  SIMD
  for (size_t i = 0; i < r->n; i++) r->y[i] = r->e[i] / den / r->tau;
  r->y[r->k] = 1 / den / r->tau;
  if (t == r->k)
    r->y[t] = -r->s / den / r->tau; /* s_k - 1 = -s/(1 + s) */
  else
    r->y[t] = (r->e[t] / den - 1) / r->tau; /* s_t <= 1/2: no cancellation */
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
  FT *scratch = malloc(3 * (a->n ? a->n : 1) * sizeof *scratch);
  if (!scratch) return 2;
  F(row) r = {.n = a->n, .tau = (FT)a->tau, .w = scratch, .e = scratch + a->n,
              .p = scratch + 2 * a->n};
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

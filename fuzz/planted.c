/* planted.c -- deliberately broken kernels for the fuzz targets.
 *
 * fuzz_kernel fuzzes the built-in registry (impls/registry.c) and, in
 * addition, the kernels below, which it selects only by name
 * (SMAXCHECK_FUZZ_KERNEL=planted-...).  They are not in the registry: `eval`,
 * `gate` and the report never see them.  Each one is a realistic mistake in
 * a softmax-family kernel, flagged SMAX_BROKEN, that keeps the accuracy claim
 * of the correct kernel it imitates (stable.c or accurate.c), so that the
 * fuzzer has something true to find.  They measure the campaign machinery
 * (scripts/fuzz-campaign.sh, scripts/fuzz-bench.sh: time to first finding,
 * error guidance on and off), and each is found in a different way:
 *
 *   planted-lazyshift  softmax binary32: skips the max shift when the row
 *       max (over tau) is at most 80 ("exp cannot overflow there"), forgetting underflow.
 *       A row whose entries are all below about -87 has subnormal exps, which
 *       lose relative precision one bit per ln 2 further down: an ulp error
 *       that grows step by step as the row moves down from -87 to -104
 *       (below that the sum is 0, and a patch for that 0/0 shifts after
 *       all).  Unshifted, the quotient x/tau also costs u |x/tau| instead of
 *       u |x - max|/tau.
 *   planted-log1p      log_softmax binary64: the Blanchard-Higham-Higham form
 *       of accurate.c (max term left out of the sum s) but with log(1 + s)
 *       where log1p(s) is needed.  The max's output -log1p(s) ~ -s is then
 *       off by up to u/2 absolute, 1/(2s) ulps: the error grows like
 *       e^(gap)/2 with the gap between the two largest entries.
 *   planted-expdiff    softmax binary32, division-free: y_i = exp(x_i/tau -
 *       lse) with lse = max/tau + log(sum).  lse carries an absolute error of
 *       about u |max/tau|, so every output is off by |max/tau| ulps or so,
 *       whatever the spread (Blanchard et al. bound the division-free form
 *       by 1 + max|x_i - f| + |f + n - min x| u, not by the spread): found
 *       once two entries are close together far from 0, an error that error
 *       guidance climbs to as |max| grows.
 *   planted-seqsum     softmax binary32, stable.c's three passes but the sum
 *       in one accumulator, left to right (a scalar fallback that lost the 16
 *       lanes).  Once the max's term 1 is in, each term below u = 2^-24 (half
 *       an ulp of 1) is rounded away: k of them lose up to k u, k/2 to k
 *       ulps, where the claim (lane sums) allows 10 + n/16 + 6 spread.  Only
 *       long rows (n in the hundreds, the decoder's large-n headers) with the
 *       max early and many entries 16.6 or a little more below it break it: the error climbs with the number
 *       and the size of the absorbed terms, the case error guidance is for.
 *
 * Special values: masked entries read as -inf.  A NaN makes the row NaN; an
 * all-masked row is NaN (the reference).  A +inf entry gives inf - inf = NaN
 * in every output ("ieee-nan") except in planted-log1p, whose d_k = 0 by
 * construction gives the reference limit.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include "kernel.h"

const smax_kernel *fuzz_planted_kernels(size_t *count);

#define LANES 16

/* The lane sums of the real kernels (at most n/16 + 4 roundings deep), so
 * that the planted defect, not the summation order, is what breaks the claim. */
static float lane_sum_f32(const float *v, size_t n) {
  float acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += v[i + l];
  for (int l = 0; i < n; i++, l++) acc[l] += v[i];
  for (int h = LANES / 2; h > 0; h /= 2)
    for (int l = 0; l < h; l++) acc[l] += acc[l + h];
  return acc[0];
}

static double lane_sum_f64(const double *v, size_t n) {
  double acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += v[i + l];
  for (int l = 0; i < n; i++, l++) acc[l] += v[i];
  for (int h = LANES / 2; h > 0; h /= 2)
    for (int l = 0; l < h; l++) acc[l] += acc[l + h];
  return acc[0];
}

/* the argument checks every kernel of the registry makes */
static int bad_args(const smax_args *a, double tmin, double tmax) {
  if (!(a->tau >= tmin && a->tau <= tmax)) return 1; /* also rejects NaN */
  return a->rows && (!a->x || !a->y);
}

/* ---- planted-lazyshift: no shift when max < 80 ---- */
#define LAZY_THRESHOLD 80.0f

static int lazyshift_f32(const smax_args *a) {
  if (bad_args(a, FLT_MIN, FLT_MAX)) return 1;
  size_t n = a->n;
  float tau = (float)a->tau;
  float *e = malloc(2 * (n ? n : 1) * sizeof *e);
  if (!e) return 2;
  float *w = e + n;
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = (const float *)a->x + r * a->x_stride;
    const unsigned char *mask = a->mask ? a->mask + r * a->mask_stride : NULL;
    float *y = (float *)a->y + r * a->y_stride;
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      e[i] = mask && mask[i] ? -INFINITY : x[i];
      if (e[i] > m) m = e[i];
    }
    /* BUG: "below 80 exp(x/tau) cannot overflow, so skip the subtraction".
     * It cannot overflow, but it can underflow: e^(x/tau) is subnormal below
     * about -87.3 and 0 below -103.3.  Its author patched the 0/0 = NaN of
     * an all-zero sum (below) and thought the kernel fixed. */
    float shift = m / tau > LAZY_THRESHOLD ? m : 0.0f;
    for (size_t i = 0; i < n; i++) w[i] = expf((e[i] - shift) / tau);
    float S = lane_sum_f32(w, n);
    if (S == 0 && m > -INFINITY) { /* the patch for the 0/0 NaN reports: shift after all */
      for (size_t i = 0; i < n; i++) w[i] = expf((e[i] - m) / tau);
      S = lane_sum_f32(w, n);
    }
    for (size_t i = 0; i < n; i++) y[i] = w[i] / S;
  }
  free(e);
  return 0;
}

/* ---- planted-log1p: log(1 + s) instead of log1p(s) ---- */
static int log1p_f64(const smax_args *a) {
  if (bad_args(a, DBL_MIN, DBL_MAX)) return 1;
  size_t n = a->n;
  double tau = a->tau;
  double *d = malloc(2 * (n ? n : 1) * sizeof *d);
  if (!d) return 2;
  double *e = d + n;
  for (size_t r = 0; r < a->rows; r++) {
    const double *x = (const double *)a->x + r * a->x_stride;
    const unsigned char *mask = a->mask ? a->mask + r * a->mask_stride : NULL;
    double *y = (double *)a->y + r * a->y_stride;
    double m = -INFINITY;
    size_t k = n; /* first index of the max; n: no entry above -inf */
    for (size_t i = 0; i < n; i++) {
      d[i] = mask && mask[i] ? -INFINITY : x[i];
      if (d[i] > m) m = d[i], k = i;
    }
    if (k == n) { /* all masked, all -inf or NaN: the reference NaN row */
      for (size_t i = 0; i < n; i++) y[i] = NAN;
      continue;
    }
    for (size_t i = 0; i < n; i++) {
      d[i] = i == k ? 0.0 : (d[i] - m) / tau;
      e[i] = i == k ? 0.0 : exp(d[i]); /* the max term is left out of s */
    }
    double s = lane_sum_f64(e, n);
    /* BUG: 1 + s rounds away every bit of s below 2^-53 (and all of s below
     * 2^-54): the output at the max, -log1p(s) ~ -s, keeps only the bits of
     * s above 2^-53, an error of 1/(2s) ulps.  accurate.c uses log1p(s). */
    double L = log(1.0 + s);
    for (size_t i = 0; i < n; i++) y[i] = d[i] - L;
  }
  free(d);
  return 0;
}

/* ---- planted-expdiff: division-free softmax exp(x/tau - lse) ---- */
static int expdiff_f32(const smax_args *a) {
  if (bad_args(a, FLT_MIN, FLT_MAX)) return 1;
  size_t n = a->n;
  float tau = (float)a->tau;
  float *w = malloc(2 * (n ? n : 1) * sizeof *w);
  if (!w) return 2;
  float *e = w + n;
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = (const float *)a->x + r * a->x_stride;
    const unsigned char *mask = a->mask ? a->mask + r * a->mask_stride : NULL;
    float *y = (float *)a->y + r * a->y_stride;
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      w[i] = mask && mask[i] ? -INFINITY : x[i];
      if (w[i] > m) m = w[i];
    }
    for (size_t i = 0; i < n; i++) e[i] = expf((w[i] - m) / tau);
    float lse = m / tau + logf(lane_sum_f32(e, n)); /* accurate to ~u |lse| */
    /* BUG: "no division, one exp per output": but lse's rounding, up to
     * ulp(lse)/2 absolute, is an error relative to every output, ~|m/tau|
     * ulps where the three-pass form has ~|x_i - m|/tau. */
    for (size_t i = 0; i < n; i++) y[i] = expf(w[i] / tau - lse);
  }
  free(w);
  return 0;
}

/* ---- planted-seqsum: one sequential accumulator ---- */
static int seqsum_f32(const smax_args *a) {
  if (bad_args(a, FLT_MIN, FLT_MAX)) return 1;
  size_t n = a->n;
  float tau = (float)a->tau;
  float *e = malloc((n ? n : 1) * sizeof *e);
  if (!e) return 2;
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = (const float *)a->x + r * a->x_stride;
    const unsigned char *mask = a->mask ? a->mask + r * a->mask_stride : NULL;
    float *y = (float *)a->y + r * a->y_stride;
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      e[i] = mask && mask[i] ? -INFINITY : x[i];
      if (e[i] > m) m = e[i];
    }
    for (size_t i = 0; i < n; i++) e[i] = expf((e[i] - m) / tau);
    /* BUG: n - 1 roundings deep, not n/16 + 4, and once S >= 1 every term
     * below 2^-24 vanishes (stable.c: lane_sum, 16 accumulators and a tree) */
    float S = 0;
    for (size_t i = 0; i < n; i++) S += e[i];
    for (size_t i = 0; i < n; i++) y[i] = e[i] / S;
  }
  free(e);
  return 0;
}

/* Claims: those of the correct kernels each imitates (stable.c CLAIM_SM(2),
 * accurate.c CLAIM_LSM(1)), which the planted defects break. */
#define BROKEN (SMAX_DETERMINISTIC | SMAX_BROKEN)
static const smax_kernel planted[] = {
    {"planted-lazyshift", SMAX_SOFTMAX, SMAX_F32, lazyshift_f32, BROKEN, "ieee-nan",
     {10, 1.0 / 16, 2 * (1.0 + 2), 0, 0},
     "PLANTED BUG: softmax shifted by the max only when max/tau > 80 (underflow forgotten)"},
    {"planted-log1p", SMAX_LOG_SOFTMAX, SMAX_F64, log1p_f64, BROKEN, "reference",
     {14 + 1, 1.0 / 16, 1.0 + 1, 0, 0},
     "PLANTED BUG: Blanchard-Higham-Higham log_softmax with log(1 + s) for log1p(s)"},
    {"planted-expdiff", SMAX_SOFTMAX, SMAX_F32, expdiff_f32, BROKEN, "ieee-nan",
     {10, 1.0 / 16, 2 * (1.0 + 2), 0, 0},
     "PLANTED BUG: division-free softmax exp(x/tau - lse), error ~ |max/tau| ulps"},
    {"planted-seqsum", SMAX_SOFTMAX, SMAX_F32, seqsum_f32, BROKEN, "ieee-nan",
     {10, 1.0 / 16, 2 * (1.0 + 2), 0, 0},
     "PLANTED BUG: three-pass softmax with one sequential accumulator (absorbs terms < u/2)"},
};

const smax_kernel *fuzz_planted_kernels(size_t *count) {
  *count = sizeof planted / sizeof planted[0];
  return planted;
}

/* half.c -- softmax, log_softmax and logsumexp on binary16 and bfloat16
 * storage with binary32 arithmetic, the way attention kernels run them.
 *
 * Storage: SMAX_F16 / SMAX_BF16 bit patterns (halfconv.h converts).  Every
 * row is widened to binary32 (exact), computed in binary32, and each result
 * is rounded once to the storage format (round to nearest even).
 *
 *   stable-f32acc  three passes: m = max x; t_i = (x_i/2 - m/2) * (2/tau)
 *                  and e_i = exp(t_i); s = sum of e_i over t_i < 0 (16
 *                  lanes, then the lanes in order), cnt = #{t_i = 0};
 *                  then y_i = e_i / (cnt + s), or t_i - L, or m/tau + L,
 *                  with L = log1p(cnt - 1 + s) (Blanchard, Higham & Higham:
 *                  the max term excluded, so L is accurate when s is tiny).
 *   online-f32acc  one pass for the normaliser (Milakov & Gimelshein): per
 *                  lane a running max m, tie count c and sum d of the rest;
 *                  a larger x rescales, d = (c + d) e^((m - x)/tau), c = 1;
 *                  lanes merge by the same rule; a second pass writes y.
 *                  The start m = -inf never forms -inf - -inf: a new max
 *                  multiplies by e^-inf = 0, an equal -inf changes nothing.
 * x/2 - m/2 cannot overflow (bfloat16 spans binary32's range); the row's one
 * log is log1p in binary64, rounded to binary32 (no libm float accuracy is
 * assumed); exp is halfconv.h's branch-free smax_expf_nonpos.
 *
 * Special values.  A NaN-propagating max classifies the row once: NaN
 * anywhere unmasked -> all NaN; +inf -> softmax/log_softmax all NaN
 * (convention ieee-nan), logsumexp +inf; every entry masked or -inf ->
 * softmax/log_softmax NaN (the reference), logsumexp -inf; n = 0 ->
 * logsumexp -inf.  Masked slots (whatever they store) are -inf: softmax +0,
 * log_softmax -inf.  in_scale is not used (it is for fixed point).
 * Unsupported (nonzero return): a format other than
 * F16/BF16, tau not finite and > 0 or 2/tau not a normal binary32, n > 2^24.
 *
 * Accuracy claim, derived.  u = 2^-24 (binary32), p = 11 (binary16) or 8
 * (bfloat16), P = 2^p u = 2^-13 or 2^-16 turns a binary32 relative error
 * k u into k P storage ulps (|y| < 2^p ulp(y), subnormals included).
 * E = 1.5u is exp's relative error (halfconv.h, exhaustive).  t_i has
 * relative error <= 3u (x/2 - m/2, 2/tau, the product).  The non-max sum s
 * has relative error (a + b n) u from the exps and the additions: stable
 * a = E/u + 15, b = 1/16 (16 lanes of <= n/16 terms, then 15 adds); online
 * a = 2E/u + 17, b = (E/u + 2)/16 (per element of a lane one add, or at a
 * new max an add, a product and a rescaling exp; the merge one more).  The
 * t rounding moves S by 3u sum_j s_j |t_j| <= 3u H(s) <= 3u ln n relatively
 * (s_j = e^t_j / S <= e^t_j, so |t_j| <= -ln s_j; first order suffices as
 * the computed exp is 0 below t = -104, see log_softmax); ln n <= 3.159 +
 * n/64.
 *  softmax: y_i = e_i/(cnt + s): E + 3u|t_i| + (a + b n)u + 3u ln n + 2u
 *    (cnt + s, the division); a normal y_i has |t_i| <= -ln y_i <=
 *    -emin ln 2 (9.70 binary16, 87.34 bfloat16), and a subnormal one is
 *    within that bound in clamped ulps.
 *  log_softmax: y_i = t_i - L, t_i <= 0 <= L, so |t_i| and L are <= |y_i|
 *    and nothing cancels: 3u|t_i| + u|y_i| + |L error|.  log1p(w) moves by
 *    <= dw/(1+w), so the exps and sums cost <= 1.45 (a + b n)u L + u L
 *    (1.45 >= 1/ln 2 covers cnt >= 2, where L >= ln 2).  The t rounding:
 *    the computed exp is 0 below -104, so only |t_j| <= T matter, T = 104.1
 *    (bfloat16), and T = 40 for binary16, where terms below e^-40 move an
 *    output by < n 10^-15 clamped ulps; each such term moves by <= 3uT of
 *    itself (first order is exact enough: 3uT < 2^-14), so L by
 *    <= 3uT s/S <= 1.45 * 3uT L.  Relative error of y_i:
 *    5u + 1.45 (a + b n + 3T) u.
 *    (An absolute bound 3u (n-1)/e also holds, but is loose near y = 0.)
 *  logsumexp: y = M + L, M = fl(m/2 * 2/tau) within 2u|M|, |M| <= |y| + L:
 *    3u|y| + (a + b n)u + 3u ln n + 3u (n-1)/e (t rounding: a e^-a <= 1/e),
 *    all but 3u|y| absolute, and ln n <= n/e.
 * Rounding the binary32 result ŷ (error δ = |ŷ - y|) to storage gives
 * <= 0.5 ulp(y) + δ while δ <= 1 ulp, and <= 1 ulp(y) + δ when a larger δ
 * carries ŷ into the next binade, whose half-ulp is 1 ulp(y): so every
 * float error term is multiplied by 1.5 (double rounding covered).  Claims
 * (ulp_const, ulp_per_n, abs_u_per_n with the storage u = 2^-p):
 *   softmax      0.5 + 1.5P (E/u + a + 2 + 3 tmax + 9.48),  1.5P (b + 3/64),  0
 *   log_softmax  0.5 + 1.5P (5 + 1.45 (a + 3T)),  1.5P 1.45 b,  0
 *   logsumexp    0.5 + 1.5P 3,  0,  1.5P (a + b + 6/e)
 * each ulp_const plus 0.001 for second-order terms and binary32-subnormal
 * absolute errors (<= 2^-148 against a bfloat16 ulp >= 2^-133).  So
 * binary16 stable softmax: 0.512 + 2.0e-5 n ulps.  Assumes round-to-nearest,
 * no FTZ/DAZ, no FMA contraction (built with -ffp-contract=off).
 *
 * Vectorisation (gcc 12 -O2 and clang 14 -O2, SSE2): every loop over the
 * row vectorises -- load/mask, max and sum lanes, t, exp, the online step,
 * divide/subtract, bfloat16 stores -- except, with gcc, the binary16
 * conversions: _Float16 <-> float are libgcc calls without -mf16c (clang
 * takes the bit path, which vectorises).  Selects are bit masks
 * (smax_sel_f32) because gcc keeps a ?: with binary32 arithmetic in its
 * arms as a branch under -ftrapping-math. */
#include <math.h>
#include <stdlib.h>
#include "halfconv.h"
#include "kernel.h"

#define LANES 16

/* Element-wise loops: "omp simd" lets gcc -O2 (whose very-cheap cost model
 * skips loops of unknown length) vectorise them; iterations are independent
 * and nothing is reassociated. */
#ifdef _OPENMP
#define SIMD _Pragma("omp simd")
#else
#define SIMD
#endif

/* ---- row I/O ------------------------------------------------------------ */

static void load_row(smax_format f, const uint16_t *x, const unsigned char *mask, size_t n,
                     float *xf) {
  if (f == SMAX_F16) {
#if !SMAX_HALFCONV_FLOAT16 /* _Float16 conversions are library calls without F16C */
    SIMD
#endif
    for (size_t i = 0; i < n; i++) xf[i] = smax_f16_to_float(x[i]);
  } else {
    SIMD
    for (size_t i = 0; i < n; i++) xf[i] = smax_bf16_to_float(x[i]);
  }
  if (mask) {
    SIMD
    for (size_t i = 0; i < n; i++) xf[i] = smax_sel_f32(mask[i], -INFINITY, xf[i]);
  }
}

static void store_row(smax_format f, const float *v, size_t n, uint16_t *y) {
  if (f == SMAX_F16) {
#if !SMAX_HALFCONV_FLOAT16
    SIMD
#endif
    for (size_t i = 0; i < n; i++) y[i] = smax_float_to_f16(v[i]);
  } else {
    SIMD
    for (size_t i = 0; i < n; i++) y[i] = smax_float_to_bf16(v[i]);
  }
}

static void fill_row(smax_format f, float v, size_t n, uint16_t *y) {
  uint16_t h = f == SMAX_F16 ? smax_float_to_f16(v) : smax_float_to_bf16(v);
  for (size_t i = 0; i < n; i++) y[i] = h;
}

/* ---- reductions --------------------------------------------------------- */

/* max that keeps a NaN once it has seen one */
static inline float max_nan(float m, float x) { return (x > m || x != x) ? x : m; }

static float row_max(const float *v, size_t n) {
  float lane[LANES];
  for (int j = 0; j < LANES; j++) lane[j] = -INFINITY;
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) lane[j] = max_nan(lane[j], v[i + j]);
  for (int j = 0; i < n; i++, j++) lane[j] = max_nan(lane[j], v[i]);
  float m = lane[0];
  for (int j = 1; j < LANES; j++) m = max_nan(m, lane[j]);
  return m;
}

/* t = (x - m)/tau in binary32, never overflowing in the subtraction */
static inline float scaled_diff(float x, float half_m, float c2) { return (0.5f * x - half_m) * c2; }

/* ---- the normaliser ------------------------------------------------------ */

typedef struct {
  float cnt;  /* entries equal to the max (each contributes e^0 = 1 exactly) */
  float s;    /* sum of the other e^t                                          */
} norm;

/* stable: t_i into t[], e_i into e[], then the lane sums */
static norm stable_norm(float *t, float *e, size_t n, float m, float c2) {
  float half_m = 0.5f * m;
  SIMD
  for (size_t i = 0; i < n; i++) t[i] = scaled_diff(t[i], half_m, c2);
  SIMD
  for (size_t i = 0; i < n; i++) e[i] = smax_expf_nonpos(t[i]);
  float acc[LANES] = {0}, ties[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) {
      acc[j] += smax_sel_f32(t[i + j] < 0, e[i + j], 0.0f);
      ties[j] += smax_sel_f32(t[i + j] == 0, 1.0f, 0.0f);
    }
  for (int j = 0; i < n; i++, j++) {
    acc[j] += smax_sel_f32(t[i] < 0, e[i], 0.0f);
    ties[j] += smax_sel_f32(t[i] == 0, 1.0f, 0.0f);
  }
  norm r = {0, 0};
  for (int j = 0; j < LANES; j++) r.s += acc[j], r.cnt += ties[j];
  return r;
}

typedef struct {
  float m[LANES], d[LANES], c[LANES];
} online_state;

/* one online step of a lane: x joins (m, c, d) */
static inline void online_step(float *m, float *c, float *d, float x, float c2) {
  float mo = *m, co = *c, dO = *d;
  float e = smax_expf_nonpos(-fabsf(0.5f * x - 0.5f * mo) * c2); /* e^-|x-m|/tau; NaN if x = m = -inf (unused) */
  int grow = x > mo, same = x == mo;
  float rescaled = (co + dO) * e, added = dO + e;
  *d = smax_sel_f32(grow, rescaled, smax_sel_f32(same, dO, added));
  *c = smax_sel_f32(grow, 1.0f, smax_sel_f32(same & (x > -INFINITY), co + 1.0f, co));
  *m = smax_sel_f32(grow | (x != x), x, mo);
}

/* online: returns the row max in *mp and the normaliser */
static norm online_norm(const float *x, size_t n, float c2, float *mp) {
  online_state st;
  for (int j = 0; j < LANES; j++) st.m[j] = -INFINITY, st.c[j] = 0, st.d[j] = 0;
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) online_step(&st.m[j], &st.c[j], &st.d[j], x[i + j], c2);
  for (int j = 0; i < n; i++, j++) online_step(&st.m[j], &st.c[j], &st.d[j], x[i], c2);
  float m = st.m[0];
  for (int j = 1; j < LANES; j++) m = max_nan(m, st.m[j]);
  *mp = m;
  norm r = {0, 0};
  if (!isfinite(m)) return r;
  for (int j = 0; j < LANES; j++) {
    if (st.m[j] == m) {
      r.cnt += st.c[j], r.s += st.d[j];
    } else { /* st.m[j] < m, possibly -inf: e = 0 */
      float e = smax_expf_nonpos(scaled_diff(st.m[j], 0.5f * m, c2));
      r.s += (st.c[j] + st.d[j]) * e;
    }
  }
  return r;
}

/* log of the normaliser, log1p(cnt - 1 + s), once per row in binary64 */
static float norm_log(norm z) { return (float)log1p((double)z.cnt - 1.0 + (double)z.s); }

/* ---- one row ------------------------------------------------------------- */

typedef struct {
  smax_func func;
  smax_format fmt;
  int online;
  float c2; /* 2/tau */
} plan;

/* rows whose max is not finite, and n = 0; returns 1 if it wrote the row */
static int special_row(const plan *pl, float m, size_t n, uint16_t *y) {
  if (n && isfinite(m)) return 0;
  if (pl->func == SMAX_LOGSUMEXP) {
    fill_row(pl->fmt, n == 0 ? -INFINITY : m, 1, y); /* NaN, +inf or -inf */
  } else {
    fill_row(pl->fmt, NAN, n, y); /* NaN row; +inf: ieee-nan; all masked: reference NaN */
  }
  return 1;
}

static void run_row(const plan *pl, const uint16_t *x, const unsigned char *mask, size_t n,
                    uint16_t *y, float *t, float *e) {
  load_row(pl->fmt, x, mask, n, t);
  float m;
  norm z;
  if (!pl->online) {
    m = row_max(t, n);
    if (special_row(pl, m, n, y)) return;
    z = stable_norm(t, e, n, m, pl->c2);
  } else {
    z = online_norm(t, n, pl->c2, &m);
    if (special_row(pl, m, n, y)) return;
    float half_m = 0.5f * m, c2 = pl->c2;
    SIMD
    for (size_t i = 0; i < n; i++) t[i] = scaled_diff(t[i], half_m, c2);
    if (pl->func == SMAX_SOFTMAX) {
      SIMD
      for (size_t i = 0; i < n; i++) e[i] = smax_expf_nonpos(t[i]);
    }
  }
  if (pl->func == SMAX_SOFTMAX) {
    float S = z.cnt + z.s;
    SIMD
    for (size_t i = 0; i < n; i++) e[i] = e[i] / S;
    store_row(pl->fmt, e, n, y);
  } else if (pl->func == SMAX_LOG_SOFTMAX) {
    float L = norm_log(z);
    SIMD
    for (size_t i = 0; i < n; i++) e[i] = t[i] - L;
    store_row(pl->fmt, e, n, y);
  } else {
    float lse = 0.5f * m * pl->c2 + norm_log(z);
    store_row(pl->fmt, &lse, 1, y);
  }
}

static int run(const smax_args *a, smax_func func, smax_format fmt, int online) {
  if (!a || !(a->tau > 0) || !isfinite(a->tau)) return 1;
  plan pl = {func, fmt, online, (float)(2.0 / a->tau)};
  if (!isfinite(pl.c2) || !(pl.c2 >= 0x1p-126f)) return 1; /* 2/tau must be normal */
  if (a->n > ((size_t)1 << 24)) return 1;                  /* counts exact in binary32 */
  if (a->rows == 0) return 0;
  if (!a->y || (a->n && !a->x)) return 1;
  size_t n = a->n, cap = n ? n : 1;
  float *t = malloc(2 * cap * sizeof *t); /* the row (then t_i), and e_i / outputs */
  if (!t) return 1;
  for (size_t r = 0; r < a->rows; r++) {
    const uint16_t *x = (const uint16_t *)a->x + r * a->x_stride;
    const unsigned char *mask = a->mask ? a->mask + r * a->mask_stride : NULL;
    uint16_t *y = (uint16_t *)a->y + r * a->y_stride;
    run_row(&pl, x, mask, n, y, t, t + cap);
  }
  free(t);
  return 0;
}

#define ENTRY(fn, FN, FMT, alg, on) \
  static int fn##_##alg##_##FMT(const smax_args *a) { return run(a, SMAX_##FN, SMAX_##FMT, on); }
#define ENTRIES(alg, on)                                                                   \
  ENTRY(sm, SOFTMAX, F16, alg, on) ENTRY(sm, SOFTMAX, BF16, alg, on)                       \
  ENTRY(lsm, LOG_SOFTMAX, F16, alg, on) ENTRY(lsm, LOG_SOFTMAX, BF16, alg, on)             \
  ENTRY(lse, LOGSUMEXP, F16, alg, on) ENTRY(lse, LOGSUMEXP, BF16, alg, on)
ENTRIES(stable, 0)
ENTRIES(online, 1)

/* ---- claims (derivation in the header comment) ------------------------------ */

#define E_U 1.5                      /* exp's relative error, in u         */
#define ST_A (E_U + LANES - 1)        /* stable: s error (a + b n) u         */
#define ST_B (1.0 / LANES)
#define ON_A (2 * E_U + LANES + 1)    /* online                              */
#define ON_B ((E_U + 2) / LANES)
#define P_F16 0x1p-13                 /* 2^p u                               */
#define P_BF16 0x1p-16
#define TMAX_F16 9.7041               /* -emin ln 2, rounded up             */
#define TMAX_BF16 87.3366
#define TCUT_F16 40.0                 /* |t| beyond which terms do not count */
#define TCUT_BF16 104.1
#define SLACK 0.001

#define SM_CLAIM(P, A, B, TMAX) \
  {0.5 + SLACK + 1.5 * (P) * (E_U + (A) + 2 + 3 * (TMAX) + 9.48), 1.5 * (P) * ((B) + 3.0 / 64), 0, 0, 0}
#define LSM_CLAIM(P, A, B, TCUT) \
  {0.5 + SLACK + 1.5 * (P) * (5 + 1.45 * ((A) + 3 * (TCUT))), 1.5 * (P) * 1.45 * (B), 0, 0, 0}
#define LSE_CLAIM(P, A, B) {0.5 + SLACK + 1.5 * (P) * 3, 0, 0, 1.5 * (P) * ((A) + (B) + 2.2073), 0}

#define K(NAME, FN, FMT, fn, alg, CLAIM, ABOUT) \
  {NAME, SMAX_##FN, SMAX_##FMT, fn##_##alg##_##FMT, SMAX_DETERMINISTIC, "ieee-nan", CLAIM, ABOUT}
#define ST_ABOUT "three passes (max, sum of exp over 16 lanes, divide), binary32 arithmetic, one rounding to storage"
#define ON_ABOUT "online normaliser (running max and sum, 16 lanes), binary32 arithmetic, one rounding to storage"

const smax_kernel smax_half_kernels[] = {
    K("stable-f32acc", SOFTMAX, F16, sm, stable, SM_CLAIM(P_F16, ST_A, ST_B, TMAX_F16), ST_ABOUT),
    K("stable-f32acc", SOFTMAX, BF16, sm, stable, SM_CLAIM(P_BF16, ST_A, ST_B, TMAX_BF16), ST_ABOUT),
    K("stable-f32acc", LOG_SOFTMAX, F16, lsm, stable, LSM_CLAIM(P_F16, ST_A, ST_B, TCUT_F16), ST_ABOUT),
    K("stable-f32acc", LOG_SOFTMAX, BF16, lsm, stable, LSM_CLAIM(P_BF16, ST_A, ST_B, TCUT_BF16), ST_ABOUT),
    K("stable-f32acc", LOGSUMEXP, F16, lse, stable, LSE_CLAIM(P_F16, ST_A, ST_B), ST_ABOUT),
    K("stable-f32acc", LOGSUMEXP, BF16, lse, stable, LSE_CLAIM(P_BF16, ST_A, ST_B), ST_ABOUT),
    K("online-f32acc", SOFTMAX, F16, sm, online, SM_CLAIM(P_F16, ON_A, ON_B, TMAX_F16), ON_ABOUT),
    K("online-f32acc", SOFTMAX, BF16, sm, online, SM_CLAIM(P_BF16, ON_A, ON_B, TMAX_BF16), ON_ABOUT),
    K("online-f32acc", LOG_SOFTMAX, F16, lsm, online, LSM_CLAIM(P_F16, ON_A, ON_B, TCUT_F16), ON_ABOUT),
    K("online-f32acc", LOG_SOFTMAX, BF16, lsm, online, LSM_CLAIM(P_BF16, ON_A, ON_B, TCUT_BF16), ON_ABOUT),
    K("online-f32acc", LOGSUMEXP, F16, lse, online, LSE_CLAIM(P_F16, ON_A, ON_B), ON_ABOUT),
    K("online-f32acc", LOGSUMEXP, BF16, lse, online, LSE_CLAIM(P_BF16, ON_A, ON_B), ON_ABOUT),
};
const size_t smax_half_count = sizeof smax_half_kernels / sizeof smax_half_kernels[0];

/* online.c -- online softmax (Milakov & Gimelshein, "Online normalizer
 * calculation for softmax", 2018): one pass over x for the running state
 * (max m, normaliser d), then one output pass.
 *
 * Algorithm.  The state update d_j = d_{j-1} e^{m_{j-1} - m_j} + e^{x_j - m_j}
 * is applied per tile of B = 512 elements (as FlashAttention does):
 *   tile:  bm = max of the tile; a_i = (x_i - bm)/tau; e_i = exp(a_i) (three
 *          loops over the L1-resident tile: arguments, exps, sums); the
 *          tile's state is (bm, d') with d' = sum of e_i over x_i < bm (16
 *          lanes, folded in a fixed tree) plus (ties - 1), ties = #{x_i = bm}:
 *          the sum WITHOUT one maximal term, whose value is exactly 1
 *          (Blanchard, Higham & Higham's shifted LSE, so that L = log1p(d')
 *          is accurate when the other terms are tiny).
 *   merge: (m1, d1) + (m2, d2), m1 >= m2:  r = e^{(m2 - m1)/tau},
 *          d = d1 + (r + d2 r): the Milakov-Gimelshein rescaling, applied once
 *          per tile (d_big + d_small e^{m_small - m_big}).
 * The row's state is the tiles merged left to right.  Softmax stores e_i
 * into y during the pass and keeps bm per tile (scratch), so the output pass
 * is y_i *= c_b, c_b = e^{(bm_b - M)/tau} / (1 + D'): one exp per element in
 * all, x read once and y written twice (the shifted softmax reads x twice and
 * writes and reads y: this is why online wins when the row is out of cache).
 * log_softmax: y_i = (x_i - M)/tau - L; logsumexp: M/tau + L.
 *
 * The -inf start: the empty state is (m = -inf, d = 0); a tile whose max is
 * -inf (all masked) is the empty state, and merge() returns the other state
 * when one is empty, so -inf - -inf is never formed from masked entries.
 * Differences x - m are formed only with m = a finite tile/row max, or
 * m = +inf / NaN in rows that are special anyway (a NaN tile leaves d = NaN,
 * which later merges keep: NaN * 0 is NaN).
 *
 * Special values (convention "reference", oracle/SEMANTICS.md).  The tile max
 * is NaN-sticky and e^{NaN} or e^{inf - inf} is NaN, so a row is special iff
 * its final state is not (finite m, finite d): an unmasked NaN or +inf, or
 * every entry masked/-inf.  Such a row is classified once, by a scalar scan:
 * NaN -> all NaN; two or more +inf -> softmax/log_softmax NaN, logsumexp +inf;
 * one +inf at k -> one-hot / (0 at k, -inf elsewhere) / +inf; all masked ->
 * NaN, logsumexp -inf (also n = 0).  Masked slots, whatever they store, are
 * -inf: softmax +0, log_softmax -inf.  Unsupported (nonzero return): tau not
 * finite and > 0, NULL x or y, no memory for the tile maxima.
 *
 * Temperature.  binary64: a = (x/2 - m/2)/(tau/2) when tau > 1 (x - m could
 * overflow while (x - m)/tau does not; halving is exact but for subnormal x,
 * an absolute 2^-1075 in a, negligible), else (x - m)/tau; tau = 1 is a
 * plain subtraction.  binary32: a = (float)((double)x - m)/tau), one float
 * rounding.  logsumexp forms M/tau once (binary32: in double, then rounded).
 *
 * Accuracy claim, derived (first order in u = 2^-p; Blanchard-Higham-Higham
 * style; 1 ulp of a result >= u |result|, so k u relative is <= k ulps).
 * z = x/tau, M = max z, t_j = M - z_j >= 0, D = sum e^{-t_j} = 1 + D',
 * s_j = e^{-t_j}/D, n_b = ceil(n/B) tiles.  glibc exp/expf and log1p/log1pf
 * are < 1 ulp: relative error <= 2u.
 *  (a) an argument a = z_j - m has relative error <= 2u (subtract, divide),
 *      so e^a carries 2u|a|; along a term's path the arguments (its own,
 *      then each rescaling) add up to t_j: 2u t_j in all.
 *  (b) D' (sum of the terms except one maximal one): each term has relative
 *      error (A + 2 t_j) u, A = 2 (its exp) + min(n, B) (additions in its
 *      tile, the tie count included) + 5 (n_b - 1) (per merge on the path:
 *      the scale's exp 2u, d2 r, r + ., d1 + .), the merge tree having depth
 *      <= n_b - 1.  A <= 2 + (1 + 5/B) n <= 2 + 1.0098 n.
 *  (c) sum_j s_j t_j = H(s) - ln D <= ln n <= n/e, so fl(1 + D') = D (1 + e_D),
 *      |e_D| <= (A + 1 + 2 ln n) u <= (3 + 1.7456 n) u.
 *  softmax  y_i = fl(e_i c_b): two exps (4u), the division and product (2u),
 *      arguments 2u t_i, e_D:  (9 + 1.7456 n + 2 t_i) u.
 *      Claim: 9 + 1.75 n + 2 spread ulps.  (Subnormal outputs: each
 *      underflowing operation adds <= 1 ulp_min absolute, < 4 in all, and
 *      the relative part is then <= half its count in ulp_min: inside 9.)
 *  log_softmax  y_i = fl(a_i - L), a_i = -t_i <= 0 <= L, |y_i| = t_i + L,
 *      nothing cancels: a_i 2u t_i, log1p 2u L, final u|y|, and D' enters as
 *      log1p(D'(1+d)) - log1p(D') <= d D'/(1+D') <= d L with d <= (A + 2 T)u,
 *      T = the s-weighted mean of t_j over the non-maximal terms <= spread.
 *      (5 + A + 2 spread) u <= 7 + 1.0098 n + 2 spread.
 *      Claim: 7 + 1.01 n + 2 spread ulps.
 *  logsumexp  y = fl(fl(M/tau) + L): final u|y|; M/tau u|M/tau| <= u|y| (or
 *      u|y| + u L when M < 0, where M/tau and L may cancel); log1p 2u L;
 *      D' (A + 2 ln n) u absolute; L <= ln n <= n/e:
 *      2 ulps + (A + 5 ln n) u <= 2 ulps + (2 + 2.849 n) u <= 2 ulps + 4.85 n u.
 *      Claim: 2 ulps + 4.85 n u (absolute: y near 0 cancels).
 * These bounds are worst cases (increasing rows rescale at every tile);
 * tests/test_k_openmp.c measures at most 0.45 of them.
 *
 * Vectorisation (gcc 12.2, -O2, checked with -fopt-info-vec): on full tiles
 * (trip count B) the tile max (omp simd max reduction, NaN flag apart), the
 * argument loop, the 16-lane sum with its tie count, the softmax scaling
 * y *= c and the log_softmax output loop all vectorise, for every
 * specialisation (mask or none, tau = 1 or not, exps kept in y or not).  The
 * exp loop cannot (glibc declares its vector exp only under -ffast-math);
 * it is a bare loop of calls, so nothing is spilled around them.  Masks are
 * applied by integer bit selects: gcc does not if-convert selects around
 * trapping FP operations.  y must not overlap x.
 */
#ifndef ONLINE_T
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernel.h"

#define BLOCK 512        /* elements per tile */
#define LANES 16         /* independent sum accumulators in a tile */
#define STACK_TILES 64   /* rows of up to 64 tiles keep the tile maxima on the stack */
#define INLINE static inline __attribute__((always_inline))

#define ONLINE_T double
#define S(name) name##_f64
#define EXP exp
#define LOG1P log1p
#define IS_F64 1
#define UINT uint64_t
#define NINF_BITS 0xfff0000000000000u
#include "online.c"
#undef ONLINE_T
#undef S
#undef EXP
#undef LOG1P
#undef IS_F64
#undef UINT
#undef NINF_BITS

#define ONLINE_T float
#define S(name) name##_f32
#define EXP expf
#define LOG1P log1pf
#define IS_F64 0
#define UINT uint32_t
#define NINF_BITS 0xff800000u
#include "online.c"

#define ABOUT \
  "online (Milakov-Gimelshein) per 512-element tile: max, exps, rescaled merges; one output pass"
/* claims: see the derivation at the top of this file */
#define CLAIM_SM {9, 1.75, 2, 0, 0}
#define CLAIM_LSM {7, 1.01, 2, 0, 0}
#define CLAIM_LSE {2, 0, 0, 4.85, 0}
const smax_kernel smax_online_kernels[] = {
    {"online", SMAX_SOFTMAX, SMAX_F64, softmax_f64, 0, "reference", CLAIM_SM, ABOUT},
    {"online", SMAX_LOG_SOFTMAX, SMAX_F64, log_softmax_f64, 0, "reference", CLAIM_LSM, ABOUT},
    {"online", SMAX_LOGSUMEXP, SMAX_F64, logsumexp_f64, 0, "reference", CLAIM_LSE, ABOUT},
    {"online", SMAX_SOFTMAX, SMAX_F32, softmax_f32, 0, "reference", CLAIM_SM, ABOUT},
    {"online", SMAX_LOG_SOFTMAX, SMAX_F32, log_softmax_f32, 0, "reference", CLAIM_LSM, ABOUT},
    {"online", SMAX_LOGSUMEXP, SMAX_F32, logsumexp_f32, 0, "reference", CLAIM_LSE, ABOUT},
};
const size_t smax_online_count = sizeof smax_online_kernels / sizeof smax_online_kernels[0];

#else /* ---- the typed part, included once per format ---------------------- */
#define T ONLINE_T

typedef struct { T m, d; } S(state); /* max, sum without one maximal term */
typedef struct { T h; double th, tau; } S(temp); /* a = (x h - m h) / th */

/* (x - m)/tau; unit: tau == 1 */
INLINE T S(diff)(T x, T m, const S(temp) *t, int unit) {
  if (unit) return x - m;
#if IS_F64
  return (x * t->h - m * t->h) / t->th;
#else
  return (float)(((double)x - (double)m) / t->tau);
#endif
}

/* x[j], or -inf where masked: an integer bit select, so that gcc (which may
 * not if-convert trapping FP operations) vectorises the loops around it */
INLINE T S(load)(const T *x, const unsigned char *mask, size_t j) {
  T v = x[j];
  if (!mask) return v;
  UINT b, k = -(UINT)(mask[j] != 0);
  memcpy(&b, &v, sizeof b);
  b = (b & ~k) | (NINF_BITS & k);
  memcpy(&v, &b, sizeof v);
  return v;
}

/* v where keep, else +0 (bit select: no FP branch, so loops vectorise) */
INLINE T S(keep)(int keep, T v) {
  UINT b, k = -(UINT)(keep != 0);
  memcpy(&b, &v, sizeof b);
  b &= k;
  memcpy(&v, &b, sizeof v);
  return v;
}

/* max is exact, so the order (simd lanes) does not matter; NaN kept apart */
INLINE T S(tile_max)(const T *x, const unsigned char *mask, size_t len) {
  T m = -INFINITY;
  int bad = 0;
#pragma omp simd reduction(max : m) reduction(| : bad)
  for (size_t j = 0; j < len; j++) {
    T v = S(load)(x, mask, j);
    m = v > m ? v : m;
    bad |= v != v;
  }
  return bad ? (T)NAN : m;
}

/* sum of w_j over x_j < bm in LANES lanes (fixed order), and the ties
 * x_j == bm (whose w_j is exactly 1) counted apart */
INLINE void S(tile_sum)(const T *x, const unsigned char *mask, const T *w, size_t len, T bm,
                        T *s, T *ties) {
  T acc[LANES], cnt[LANES];
  for (int l = 0; l < LANES; l++) acc[l] = 0, cnt[l] = 0;
  size_t j = 0;
  for (; j + LANES <= len; j += LANES)
    for (int l = 0; l < LANES; l++) {
      int top = S(load)(x, mask, j + l) == bm;
      acc[l] += S(keep)(!top, w[j + l]);
      cnt[l] += top;
    }
  for (; j < len; j++) {
    int top = S(load)(x, mask, j) == bm;
    acc[0] += S(keep)(!top, w[j]);
    cnt[0] += top;
  }
  for (int h = LANES / 2; h; h /= 2)
    for (int l = 0; l < h; l++) acc[l] += acc[l + h], cnt[l] += cnt[l + h];
  *s = acc[0], *ties = cnt[0];
}

/* w_j = (x_j - bm)/tau (restrict: w, y, never overlaps x) */
INLINE void S(args)(T *restrict w, const T *restrict x, const unsigned char *restrict mask,
                    size_t len, T bm, const S(temp) *t, int unit) {
  for (size_t j = 0; j < len; j++) w[j] = S(diff)(S(load)(x, mask, j), bm, t, unit);
}

/* the tile's state; w (y for softmax, else scratch) receives
 * e_j = exp((x_j - bm)/tau).  Three loops, so that the arguments and the
 * sum vectorise and nothing lives across the exp calls. */
INLINE S(state) S(tile)(const T *x, const unsigned char *mask, size_t len, const S(temp) *t,
                        int unit, T *w, T *tmax) {
  T bm = S(tile_max)(x, mask, len);
  *tmax = bm;
  if (bm == -INFINITY) { /* all masked: the empty state, e = 0 */
    for (size_t j = 0; j < len; j++) w[j] = 0;
    return (S(state)){-INFINITY, 0};
  }
  S(args)(w, x, mask, len, bm, t, unit);
  for (size_t j = 0; j < len; j++) w[j] = EXP(w[j]);
  T s, ties;
  S(tile_sum)(x, mask, w, len, bm, &s, &ties);
  return (S(state)){bm, s + (ties - 1)};
}

INLINE S(state) S(merge)(S(state) a, S(state) b, const S(temp) *t, int unit) {
  if (b.m > a.m) { S(state) c = a; a = b; b = c; }
  if (b.m == -INFINITY && b.d == 0) return a; /* b empty: no -inf - -inf */
  T r = EXP(S(diff)(b.m, a.m, t, unit));
  a.d = a.d + (r + b.d * r);
  return a;
}

INLINE S(state) S(tiles)(const T *x, const unsigned char *mask, size_t n, const S(temp) *t,
                         int unit, T *y, T *tmax) {
  S(state) st = {-INFINITY, 0};
  T buf[BLOCK]; /* the exps when y does not keep them */
  size_t i = 0, b = 0;
  for (; i + BLOCK <= n; i += BLOCK, b++)
    st = S(merge)(st, S(tile)(x + i, mask ? mask + i : NULL, BLOCK, t, unit, y ? y + i : buf,
                              &tmax[b]), t, unit);
  if (i < n)
    st = S(merge)(st, S(tile)(x + i, mask ? mask + i : NULL, n - i, t, unit, y ? y + i : buf,
                              &tmax[b]), t, unit);
  return st;
}

/* the first pass, specialised on mask, tau == 1 and storing */
static S(state) S(pass1)(const T *x, const unsigned char *mask, size_t n, const S(temp) *t,
                         int unit, T *y, T *tmax) {
#define P1(mk, un, yy) S(tiles)(x, mk, n, t, un, yy, tmax)
  if (!mask) {
    if (unit) return y ? P1(NULL, 1, y) : P1(NULL, 1, NULL);
    return y ? P1(NULL, 0, y) : P1(NULL, 0, NULL);
  }
  if (unit) return y ? P1(mask, 1, y) : P1(mask, 1, NULL);
  return y ? P1(mask, 0, y) : P1(mask, 0, NULL);
#undef P1
}

/* softmax output: y_i *= e^{(bm_b - M)/tau} / D per tile */
static void S(scale_tiles)(T *y, size_t n, const T *tmax, T mx, T dsum, const S(temp) *t,
                           int unit) {
  for (size_t i = 0, b = 0; i < n; i += BLOCK, b++) {
    T c = EXP(S(diff)(tmax[b], mx, t, unit)) / dsum;
    if (n - i >= BLOCK)
      for (size_t j = 0; j < BLOCK; j++) y[i + j] *= c;
    else
      for (size_t j = 0; j < n - i; j++) y[i + j] *= c;
  }
}

INLINE void S(lsm_loop)(T *restrict y, const T *restrict x, const unsigned char *restrict mask,
                        size_t len, T mx, T lse, const S(temp) *t, int unit) {
  for (size_t j = 0; j < len; j++) y[j] = S(diff)(S(load)(x, mask, j), mx, t, unit) - lse;
}

INLINE void S(lsm_tiles)(const T *x, const unsigned char *mask, size_t n, T mx, T lse,
                         const S(temp) *t, int unit, T *y) {
  S(temp) tl = *t;
  size_t i = 0;
  for (; i + BLOCK <= n; i += BLOCK)
    S(lsm_loop)(y + i, x + i, mask ? mask + i : NULL, BLOCK, mx, lse, &tl, unit);
  S(lsm_loop)(y + i, x + i, mask ? mask + i : NULL, n - i, mx, lse, &tl, unit);
}

/* log_softmax output: y_i = (x_i - M)/tau - L */
static void S(lsm_out)(const T *x, const unsigned char *mask, size_t n, T mx, T lse,
                       const S(temp) *t, int unit, T *y) {
  if (mask) {
    if (unit) S(lsm_tiles)(x, mask, n, mx, lse, t, 1, y);
    else S(lsm_tiles)(x, mask, n, mx, lse, t, 0, y);
  } else {
    if (unit) S(lsm_tiles)(x, NULL, n, mx, lse, t, 1, y);
    else S(lsm_tiles)(x, NULL, n, mx, lse, t, 0, y);
  }
}

/* a row whose state is not finite: NaN, +inf, or nothing unmasked */
static void S(special_row)(smax_func f, const T *x, const unsigned char *mask, size_t n, T *y) {
  int nan = 0;
  size_t pinf = 0, k = 0;
  for (size_t j = 0; j < n; j++) {
    T v = S(load)(x, mask, j);
    if (v != v) nan = 1;
    else if (v == INFINITY) pinf++, k = j;
  }
  if (f == SMAX_LOGSUMEXP) {
    y[0] = nan ? NAN : pinf ? INFINITY : -INFINITY;
    return;
  }
  for (size_t j = 0; j < n; j++) {
    if (nan || pinf != 1) y[j] = NAN; /* no limit (C1, C3, C5) */
    else if (f == SMAX_SOFTMAX) y[j] = j == k ? 1 : 0;
    else y[j] = j == k ? 0 : -INFINITY;
  }
}

static int S(run)(const smax_args *a, smax_func f) {
  if (!(a->tau > 0) || !isfinite(a->tau)) return 1;
  if (a->rows == 0) return 0;
  if (!a->y || (a->n && !a->x)) return 1;
  size_t n = a->n, ntiles = (n + BLOCK - 1) / BLOCK;
  T stack[STACK_TILES], *tmax = stack;
  if (ntiles > STACK_TILES && !(tmax = malloc(ntiles * sizeof *tmax))) return 1;
  S(temp) t = {a->tau > 1 ? (T)0.5 : 1, a->tau > 1 ? a->tau * 0.5 : a->tau, a->tau};
  int unit = a->tau == 1;
  for (size_t r = 0; r < a->rows; r++) {
    const T *x = (const T *)a->x + r * a->x_stride;
    const unsigned char *mask = a->mask ? a->mask + r * a->mask_stride : NULL;
    T *y = (T *)a->y + r * a->y_stride;
    S(state) st = S(pass1)(x, mask, n, &t, unit, f == SMAX_SOFTMAX ? y : NULL, tmax);
    if (!(isfinite(st.m) && isfinite(st.d))) {
      S(special_row)(f, x, mask, n, y);
      continue;
    }
    T lse = LOG1P(st.d);
    if (f == SMAX_SOFTMAX) S(scale_tiles)(y, n, tmax, st.m, 1 + st.d, &t, unit);
    else if (f == SMAX_LOG_SOFTMAX) S(lsm_out)(x, mask, n, st.m, lse, &t, unit, y);
    else y[0] = (unit ? st.m : (T)(st.m / a->tau)) + lse;
  }
  if (tmax != stack) free(tmax);
  return 0;
}

static int S(softmax)(const smax_args *a) { return S(run)(a, SMAX_SOFTMAX); }
static int S(log_softmax)(const smax_args *a) { return S(run)(a, SMAX_LOG_SOFTMAX); }
static int S(logsumexp)(const smax_args *a) { return S(run)(a, SMAX_LOGSUMEXP); }

#undef T
#endif

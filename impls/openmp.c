/* openmp.c -- the online softmax (online.c's algorithm) parallelised with
 * OpenMP across rows and within a row; forward functions, the two VJPs and
 * the fused cross-entropy.
 *
 * Algorithm.  As in online.c: a row is cut into tiles of B = 512 elements;
 * a tile's state is (bm, d', g) -- its max, the sum of e_i = e^{(x_i - bm)/tau}
 * without one maximal term (BHH's shifted LSE: over x_i < bm, plus ties - 1)
 * and, for the softmax VJP, g = sum e_i dy_i (16 lanes, fixed fold); e_i is
 * stored in y (arguments, exps and sums in three loops over the tile).
 * States merge by the Milakov-Gimelshein rule: m1 >= m2, r = e^{(m2 - m1)/tau},
 * d = d1 + (r + d2 r), g = g1 + g2 r.  Tiles are grouped in chunks, each chunk's tiles merged
 * left to right, the chunk states merged into the row's (M, D' , G); then an
 * output pass over the tiles, with c_b = e^{(bm_b - M)/tau} / (1 + D'):
 *   softmax          y_i = e_i c_b
 *   log_softmax      y_i = (x_i - M)/tau - log1p(D')      (second read of x)
 *   logsumexp        y = M/tau + log1p(D')                (no output pass)
 *   softmax_vjp      y_i = s_i (dy_i - G/D)/tau, s_i = e_i c_b (a pass-1
 *                    state, so two passes in all, not three)
 *   log_softmax_vjp  y_i = (dy_i - e_i (c_b sigma))/tau, sigma = sum of all
 *                    dy (compensated: Neumaier), summed in pass 1
 *   cross_entropy    pass 1 leaves the target t out (its tile's max and sum
 *                    skip it): others (M_o, D_o = 1 + D'_o); M = max(M_o, z_t),
 *                    P = D_o e^{M_o - M}, D = P + e^{z_t - M};
 *                    y_i = e_i c_b / tau, y_t = -(P/D)/tau (no cancellation:
 *                    1 - s_t = P/D); loss = log1p(D_o e^w) if w = M_o - z_t <= 0,
 *                    else w + log1p(D'_o + e^{-w}): positive terms only.
 * Two modes:
 *   openmp-fast  chunk = one contiguous run of tiles per thread, chunk states
 *                merged left to right: the result depends on the thread
 *                count (within the claim); one thread merges as online.c does.
 *   openmp-det   chunk = 64 tiles (32768 elements) whatever the thread count,
 *                chunk states merged in a fixed pairwise tree; every other
 *                operation is per element: bitwise identical for any thread
 *                count (and for rows run whole on one thread).
 * Scheduling: threads = smax_args.threads (0: omp_get_max_threads()).  One
 * thread, or under 2^14 elements in the call: no parallel region at all.
 * Many rows (>= 2 per thread) or short rows (< 2^14): rows are distributed
 * (schedule static), each row run serially.  Otherwise each row in turn is
 * split: chunk states (omp for), one thread merges, output tiles (omp for).
 * Chunk states are 64-byte aligned (no false sharing); a chunk is >= 32768
 * elements in det mode and n/threads in fast mode.
 *
 * Special values (convention "reference", oracle/SEMANTICS.md).  NaN-sticky
 * tile maxima and e^{NaN}, e^{inf - inf} make a row's state non-finite iff
 * it has an unmasked NaN or +inf or nothing unmasked; such a row is scanned
 * once and gets the reference: NaN -> all NaN (loss too); two or more +inf
 * -> NaN (logsumexp +inf); one +inf at k -> the limit (one-hot; 0 at k and
 * -inf elsewhere; +inf; softmax_vjp all +0; log_softmax_vjp dy_i/tau and
 * -(sum_{j!=k} dy_j)/tau at k; loss 0 if t = k else +inf, grad
 * ([i=k] - [i=t])/tau); all masked -> NaN (logsumexp -inf; n = 0 too).  VJPs:
 * a NaN or inf anywhere in dy (masked slots included) -> all NaN (C2: pass 1
 * sums dy - dy, NaN iff some dy is not finite).  Masked slots whatever they
 * store: softmax +0, log_softmax -inf, softmax_vjp +0 (the +0.0 below turns
 * 0 * negative = -0 into +0), log_softmax_vjp dy/tau, cross-entropy grad +0
 * (-1/tau at a masked target, loss +inf).  Unsupported (nonzero return): tau
 * not finite and > 0, NULL x/y (dy for VJPs, target/loss for cross-entropy),
 * a target outside [0, n), no memory for scratch.  y must not overlap x/dy.
 *
 * Temperature: as online.c (binary64 (x/2 - m/2)/(tau/2) for tau > 1;
 * binary32 one rounding of a double quotient); a division by tau is done
 * per output (binary32: in double, rounded once), never 1/tau products.
 *
 * Accuracy claim, derived (first order in u = 2^-p; k u relative <= k ulps;
 * glibc exp, log1p < 1 ulp: 2u relative).  Notation and (a)-(c) as in
 * online.c: arguments cost 2u t_j along a term's path, t_j = M - z_j; D' has
 * per-term error (A + 2 t_j) u, A = 2 + min(n, B) + 5 (n_b - 1) <= 2 + 1.0098 n
 * (any merge tree over n_b tiles, the pairwise one and the per-thread one
 * included, has depth <= n_b - 1); sum_j s_j t_j <= ln n <= n/e;
 * fl(1 + D') = D (1 + e_D), |e_D| <= (3 + 1.7456 n) u.
 *  softmax, log_softmax, logsumexp: as online.c:
 *    9 + 1.75 n + 2 spread;  7 + 1.01 n + 2 spread;  2 ulps + 4.85 n u.
 *  cross_entropy (one claim for loss and gradient): P carries A + 4 + 2 t_j
 *    per term (1 + D'_o, the scale's exp, the product), D one more add and
 *    e_t (2 + 2 t_t): e_D <= (7 + 1.7456 n) u.  y_i = e_i c_b / tau:
 *    4 + 3 + 2 t_i + e_D = 14 + 1.7456 n + 2 t_i.  y_t = -(P/D)/tau: with
 *    P/D = P/(P + E), the relative error is <= err(P) + (E/D) err(E) + 3u
 *    <= A + 4 + 2 spread + 2 + 2/e + 3 <= 11.74 + 1.0098 n + 2 spread.
 *    loss, w <= 0: q = D_o e^w has A + 4 + 2 (z_t - z_j) <= A + 4 + 2 spread,
 *    log1p(q (1 + d)) moves by <= d log1p(q), plus log1p's 2u: 8 + 1.0098 n +
 *    2 spread; w > 0: 2u w + (A + 2 spread + 1) u L + 2u L (e^{-w} <= D'_o +
 *    e^{-w}) + 2u w (its argument) + 2u L + u loss, w, L <= loss:
 *    12 + 1.0098 n + 2 spread.   Claim: 14 + 1.75 n + 2 spread, no absolute
 *    term (1 - s_t and the loss are formed without cancellation).
 *  The VJPs cancel (y ~ 0 when dy_i ~ sum s_j dy_j), so their error has an
 *  absolute part proportional to max|dy|/tau, which smax_claim cannot
 *  express: the absolute terms below are derived for max|dy|/tau <= K = 16
 *  and grow linearly beyond it (reported to the lead).
 *  softmax_vjp: G has per-term error (3 + min(n,B) + 4 (n_b - 1) + 2 t_j) u
 *    (exp, product, tile adds, merges of 4u), so |G/D - g| <= max|dy| (7 +
 *    3.4893 n) u with e_D and the division; y_i = fl(fl(s_i fl(dy_i - gg))/tau):
 *    relative (9 + 1.7456 n + 2 t_i) + 3, absolute s_i |dg| / tau.
 *    Claim: 12 + 1.75 n + 2 spread ulps + K 10.49 n u -> abs 168.
 *  log_softmax_vjp: p_i = fl(e_i fl(c_b sigma)) = s_i sigma (1 + e_p), e_p <=
 *    (10 + 1.7456 n + 2 t_i) u; |sigma error| <= 2u |sigma| <= 2 n u max|dy|
 *    (Neumaier); |p_i| <= |dy_i| + tau |y_i| and s_i t_i <= 1/e, so
 *    |y_i error| <= (12 + 1.7456 n) u |y_i| + (max|dy|/tau)(10 + 4.4814 n) u.
 *    Claim: 12 + 1.75 n ulps + K 14.49 n u -> abs 232.
 *
 * Vectorisation (gcc 12.2 -O2, checked with -fopt-info-vec): on full tiles
 * the tile max (omp simd max, NaN flag apart), the argument loop, the lane
 * sums (with ties and g), the dy check, and the output loops of softmax,
 * log_softmax, both VJPs and cross-entropy vectorise for every
 * specialisation; the exp loop is a bare loop of calls (no vector exp
 * without -ffast-math); Neumaier's sum of dy stays scalar.  Masks are
 * integer bit selects (gcc does not if-convert selects around trapping FP
 * operations).
 */
#ifndef OMP_T
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernel.h"

#define BLOCK 512         /* elements per tile */
#define LANES 16          /* independent sum accumulators in a tile */
#define CHUNK_TILES 64    /* openmp-det: tiles per chunk, fixed */
#define SERIAL_WORK 16384 /* fewer elements in the call: no parallel region */
#define SPLIT_N 16384     /* shorter rows are never split across threads */
#define INLINE static inline __attribute__((always_inline))

/* what pass 1 does besides (max, sum) */
enum { K_PLAIN, K_STORE, K_SMV, K_LSMV, K_CE };

#define OMP_T double
#define S(name) name##_f64
#define EXP exp
#define LOG1P log1p
#define FABS fabs
#define IS_F64 1
#define UINT uint64_t
#define NINF_BITS 0xfff0000000000000u
#include "openmp.c"
#undef OMP_T
#undef S
#undef EXP
#undef LOG1P
#undef FABS
#undef IS_F64
#undef UINT
#undef NINF_BITS

#define OMP_T float
#define S(name) name##_f32
#define EXP expf
#define LOG1P log1pf
#define FABS fabsf
#define IS_F64 0
#define UINT uint32_t
#define NINF_BITS 0xff800000u
#include "openmp.c"

#define ABOUT_FAST \
  "online softmax, 512-element tiles; OpenMP over rows or per-thread tile runs merged in order"
#define ABOUT_DET \
  "online softmax, 512-element tiles; OpenMP over rows or fixed 64-tile chunks, fixed merge tree"
/* claims: see the derivation at the top of this file */
#define CLAIM_SM {9, 1.75, 2, 0, 0}
#define CLAIM_LSM {7, 1.01, 2, 0, 0}
#define CLAIM_LSE {2, 0, 0, 4.85, 0}
#define CLAIM_SMV {12, 1.75, 2, 168, 0}
#define CLAIM_LSMV {12, 1.75, 0, 232, 0}
#define CLAIM_CE {14, 1.75, 2, 0, 0}
#define FAST(func, fn, claim) \
  {"openmp-fast", func, FMT, fn, SMAX_THREADED, "reference", claim, ABOUT_FAST}
#define DET(func, fn, claim) \
  {"openmp-det", func, FMT, fn, SMAX_THREADED | SMAX_DETERMINISTIC, "reference", claim, ABOUT_DET}
#define FAMILY(m, pre, sfx)                           \
  m(SMAX_SOFTMAX, pre##_sm_##sfx, CLAIM_SM),             \
  m(SMAX_LOG_SOFTMAX, pre##_lsm_##sfx, CLAIM_LSM),       \
  m(SMAX_LOGSUMEXP, pre##_lse_##sfx, CLAIM_LSE),         \
  m(SMAX_SOFTMAX_VJP, pre##_smv_##sfx, CLAIM_SMV),       \
  m(SMAX_LOG_SOFTMAX_VJP, pre##_lsmv_##sfx, CLAIM_LSMV), \
  m(SMAX_CROSS_ENTROPY, pre##_ce_##sfx, CLAIM_CE)
const smax_kernel smax_openmp_kernels[] = {
#define FMT SMAX_F64
    FAMILY(FAST, fast, f64), FAMILY(DET, det, f64),
#undef FMT
#define FMT SMAX_F32
    FAMILY(FAST, fast, f32), FAMILY(DET, det, f32),
#undef FMT
};
const size_t smax_openmp_count = sizeof smax_openmp_kernels / sizeof smax_openmp_kernels[0];

#else /* ---- the typed part, included once per format ---------------------- */
#define T OMP_T

/* a tile's, chunk's or row's state; one cache line each */
typedef struct {
  T m, d;        /* max; sum of e^{(x - m)/tau} without one maximal term */
  T g;           /* softmax_vjp: sum of e^{(x - m)/tau} dy                 */
  T sig, sigc;   /* log_softmax_vjp: sum of dy, compensation (Neumaier)   */
  T chk;         /* VJPs: sum of dy - dy, NaN iff some dy is not finite   */
} S(state);
/* chunk states live one per cache line (threads write neighbours) */
typedef union { S(state) s; unsigned char line[64]; } __attribute__((aligned(64))) S(slot);

typedef struct { T h; double th, tau; } S(temp); /* a = (x h - m h) / th */

typedef struct {
  smax_func f;
  int det, kind, unit;
  S(temp) t;
  const T *x, *dy;
  const unsigned char *mask;
  T *y, *loss;
  size_t n, nt, ex; /* ex: the target (cross-entropy), else SIZE_MAX */
  T *tmax;          /* nt tile maxima */
  S(slot) *cs;      /* chunk states */
} S(job);

typedef struct { int skip; T mx, dsum, gg, sig, pt; } S(fin); /* row constants */

static const S(state) S(empty) = {-INFINITY, 0, 0, 0, 0, 0};

/* (x - m)/tau; unit: tau == 1 */
INLINE T S(diff)(T x, T m, const S(temp) *t, int unit) {
  if (unit) return x - m;
#if IS_F64
  return (x * t->h - m * t->h) / t->th;
#else
  return (float)(((double)x - (double)m) / t->tau);
#endif
}

INLINE T S(divtau)(T v, const S(temp) *t, int unit) {
  double tau = t->tau;
  if (unit) return v;
#if IS_F64
  return v / tau;
#else
  return (float)((double)v / tau);
#endif
}

/* x[j], or -inf where masked (an integer bit select: gcc vectorises it) */
INLINE T S(load)(const T *x, const unsigned char *mask, size_t j) {
  T v = x[j];
  if (!mask) return v;
  UINT b, k = -(UINT)(mask[j] != 0);
  memcpy(&b, &v, sizeof b);
  b = (b & ~k) | (NINF_BITS & k);
  memcpy(&v, &b, sizeof v);
  return v;
}

/* max that keeps a NaN once seen */
INLINE T S(nanmax)(T acc, T v) { return ((v > acc) | (v != v)) ? v : acc; }

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

/* Neumaier: add v to the compensated sum (s, c) */
INLINE void S(nadd)(T *s, T *c, T v) {
  T t = *s + v;
  *c += FABS(*s) >= FABS(v) ? (*s - t) + v : (v - t) + *s;
  *s = t;
}

/* v where keep, else +0 (bit select: no FP branch, so loops vectorise) */
INLINE T S(keep)(int keep, T v) {
  UINT b, k = -(UINT)(keep != 0);
  memcpy(&b, &v, sizeof b);
  b &= k;
  memcpy(&v, &b, sizeof v);
  return v;
}

/* sum of w_j over x_j < bm in LANES lanes (fixed order), the ties x_j == bm
 * (whose w_j is exactly 1) counted apart; g = sum of w_j dy_j (dy given) */
INLINE void S(tile_sum)(const T *x, const unsigned char *mask, const T *w, const T *dy,
                        size_t len, T bm, T *s, T *ties, T *g) {
  T acc[LANES], cnt[LANES], gl[LANES];
  for (int l = 0; l < LANES; l++) acc[l] = 0, cnt[l] = 0, gl[l] = 0;
  size_t j = 0;
  for (; j + LANES <= len; j += LANES)
    for (int l = 0; l < LANES; l++) {
      int top = S(load)(x, mask, j + l) == bm;
      acc[l] += S(keep)(!top, w[j + l]);
      cnt[l] += top;
      if (dy) gl[l] += w[j + l] * dy[j + l];
    }
  for (; j < len; j++) {
    int top = S(load)(x, mask, j) == bm;
    acc[0] += S(keep)(!top, w[j]);
    cnt[0] += top;
    if (dy) gl[0] += w[j] * dy[j];
  }
  for (int h = LANES / 2; h; h /= 2)
    for (int l = 0; l < h; l++) acc[l] += acc[l + h], cnt[l] += cnt[l + h], gl[l] += gl[l + h];
  *s = acc[0], *ties = cnt[0];
  if (dy) *g = gl[0];
}

/* the dy sums of a tile: chk always, sigma (Neumaier) if asked */
INLINE void S(sum_dy)(const T *dy, size_t len, int sigma, S(state) *st) {
  T chk = 0;
  for (size_t j = 0; j < len; j++) chk += dy[j] - dy[j];
  st->chk = chk;
  if (sigma)
    for (size_t j = 0; j < len; j++) S(nadd)(&st->sig, &st->sigc, dy[j]);
}

/* w_j = (x_j - bm)/tau (restrict: w, y, never overlaps x) */
INLINE void S(args)(T *restrict w, const T *restrict x, const unsigned char *restrict mask,
                    size_t len, T bm, const S(temp) *t, int unit) {
  for (size_t j = 0; j < len; j++) w[j] = S(diff)(S(load)(x, mask, j), bm, t, unit);
}

/* the state of the tile at element i, length len; the exps go to y (or to
 * scratch for log_softmax/logsumexp).  Separate loops: arguments and sums
 * vectorise, and nothing lives across the exp calls. */
INLINE S(state) S(tile)(const S(job) *jb, size_t i, size_t len, const unsigned char *mask,
                        int unit, T *tmax) {
  const T *x = jb->x + i;
  const T *dy = jb->kind == K_SMV ? jb->dy + i : NULL;
  T buf[BLOCK], *w = jb->kind == K_PLAIN ? buf : jb->y + i;
  size_t ex = jb->ex - i; /* cross-entropy's target, if in [0, len) */
  if (mask) mask += i;
  S(state) st = S(empty);
  if (jb->kind == K_SMV || jb->kind == K_LSMV) S(sum_dy)(jb->dy + i, len, jb->kind == K_LSMV, &st);
  T bm;
  if (ex < len)
    bm = S(nanmax)(S(tile_max)(x, mask, ex),
                   S(tile_max)(x + ex + 1, mask ? mask + ex + 1 : NULL, len - ex - 1));
  else
    bm = S(tile_max)(x, mask, len);
  *tmax = bm;
  if (bm == -INFINITY) { /* nothing unmasked: the empty state, e = 0 */
    for (size_t j = 0; j < len; j++) w[j] = 0;
    return st;
  }
  S(args)(w, x, mask, len, bm, &jb->t, unit);
  for (size_t j = 0; j < len; j++) w[j] = EXP(w[j]);
  if (ex < len) w[ex] = 0; /* the target is left out */
  T s, ties;
  if (dy) S(tile_sum)(x, mask, w, dy, len, bm, &s, &ties, &st.g);
  else S(tile_sum)(x, mask, w, NULL, len, bm, &s, &ties, NULL);
  if (ex < len && S(load)(x, mask, ex) == bm) ties -= 1; /* counted, but left out */
  st.m = bm;
  st.d = s + (ties - 1);
  return st;
}

/* a + b (a on the left): dy sums in order, then the Milakov-Gimelshein rule */
static S(state) S(merge)(S(state) a, S(state) b, const S(temp) *t, int unit) {
  S(nadd)(&a.sig, &a.sigc, b.sig);
  a.sigc += b.sigc;
  a.chk += b.chk;
  if (b.m > a.m) {
    T m = a.m, d = a.d, g = a.g;
    a.m = b.m, a.d = b.d, a.g = b.g;
    b.m = m, b.d = d, b.g = g;
  }
  if (b.m == -INFINITY && b.d == 0) return a; /* b empty: no -inf - -inf */
  T r = EXP(S(diff)(b.m, a.m, t, unit));
  a.d = a.d + (r + b.d * r);
  a.g = a.g + b.g * r;
  return a;
}

INLINE S(state) S(tiles_g)(const S(job) *jb, size_t t0, size_t t1, const unsigned char *mask,
                           int unit) {
  S(state) st = S(empty);
  for (size_t b = t0; b < t1; b++) {
    size_t i = b * BLOCK;
    S(state) ts = jb->n - i >= BLOCK ? S(tile)(jb, i, BLOCK, mask, unit, &jb->tmax[b])
                                     : S(tile)(jb, i, jb->n - i, mask, unit, &jb->tmax[b]);
    st = S(merge)(st, ts, &jb->t, unit);
  }
  return st;
}

/* the state of tiles [t0, t1), merged left to right */
static S(state) S(tiles)(const S(job) *jb, size_t t0, size_t t1) {
  if (jb->mask)
    return jb->unit ? S(tiles_g)(jb, t0, t1, jb->mask, 1) : S(tiles_g)(jb, t0, t1, jb->mask, 0);
  return jb->unit ? S(tiles_g)(jb, t0, t1, NULL, 1) : S(tiles_g)(jb, t0, t1, NULL, 0);
}

static size_t S(nchunks)(const S(job) *jb, int team) {
  return jb->det ? (jb->nt + CHUNK_TILES - 1) / CHUNK_TILES : (size_t)team;
}

static S(state) S(chunk)(const S(job) *jb, size_t c, size_t nch) {
  size_t t0, t1;
  if (jb->det) {
    t0 = c * CHUNK_TILES;
    t1 = t0 + CHUNK_TILES < jb->nt ? t0 + CHUNK_TILES : jb->nt;
  } else { /* contiguous runs, one per thread */
    t0 = jb->nt * c / nch;
    t1 = jb->nt * (c + 1) / nch;
  }
  return S(tiles)(jb, t0, t1);
}

/* det: a fixed pairwise tree; fast: left to right */
static S(state) S(reduce)(const S(job) *jb, size_t nch) {
  S(slot) *cs = jb->cs;
  if (nch == 0) return S(empty);
  if (!jb->det) {
    for (size_t c = 1; c < nch; c++) cs[0].s = S(merge)(cs[0].s, cs[c].s, &jb->t, jb->unit);
    return cs[0].s;
  }
  for (size_t w = 1; w < nch; w *= 2)
    for (size_t c = 0; c + w < nch; c += 2 * w)
      cs[c].s = S(merge)(cs[c].s, cs[c + w].s, &jb->t, jb->unit);
  return cs[0].s;
}

/* a row with a NaN, a +inf or nothing unmasked (or a bad dy): the reference */
static void S(special_row)(const S(job) *jb) {
  const T *x = jb->x;
  int nan = 0, vjp = jb->f == SMAX_SOFTMAX_VJP || jb->f == SMAX_LOG_SOFTMAX_VJP;
  size_t n = jb->n, pinf = 0, k = 0, t = jb->ex;
  for (size_t j = 0; j < n; j++) {
    T v = S(load)(x, jb->mask, j);
    if (v != v) nan = 1;
    else if (v == INFINITY) pinf++, k = j;
  }
  if (vjp)
    for (size_t j = 0; j < n; j++) nan |= !isfinite(jb->dy[j]); /* C2 */
  if (jb->f == SMAX_LOGSUMEXP) {
    jb->y[0] = nan ? NAN : pinf ? INFINITY : -INFINITY;
    return;
  }
  int nolimit = nan || pinf != 1; /* C1, C2, C3, C5 */
  if (jb->f == SMAX_CROSS_ENTROPY) *jb->loss = nolimit ? NAN : k == t ? 0 : INFINITY;
  T rest = 0, restc = 0; /* log_softmax_vjp at k: -(sum of the other dy)/tau */
  if (!nolimit && jb->f == SMAX_LOG_SOFTMAX_VJP) {
    for (size_t j = 0; j < n; j++)
      if (j != k) S(nadd)(&rest, &restc, jb->dy[j]);
    rest = 0 - S(divtau)(rest + restc, &jb->t, 0);
  }
  for (size_t j = 0; j < n; j++) {
    T v;
    if (nolimit) v = NAN;
    else if (jb->f == SMAX_SOFTMAX) v = j == k;
    else if (jb->f == SMAX_LOG_SOFTMAX) v = j == k ? 0 : -INFINITY;
    else if (jb->f == SMAX_SOFTMAX_VJP) v = 0;
    else if (jb->f == SMAX_LOG_SOFTMAX_VJP) v = j == k ? rest : S(divtau)(jb->dy[j], &jb->t, 0);
    else v = S(divtau)((T)(j == k) - (T)(j == t), &jb->t, 0);
    jb->y[j] = v;
  }
}

static int S(finite_state)(S(state) st) { return isfinite(st.m) && isfinite(st.d); }

/* cross-entropy: the target joins the others' state; loss and constants */
static S(fin) S(finish_ce)(const S(job) *jb, S(state) st) {
  S(fin) fn = {0, 0, 0, 0, 0, 0};
  T vt = S(load)(jb->x, jb->mask, jb->ex);
  int others_empty = st.m == -INFINITY && st.d == 0;
  if (!(others_empty || S(finite_state)(st)) || vt != vt || vt == INFINITY ||
      (others_empty && vt == -INFINITY)) {
    S(special_row)(jb);
    fn.skip = 1;
    return fn;
  }
  T mo = st.m, dout = others_empty ? 0 : 1 + st.d;
  fn.mx = vt > mo ? vt : mo;
  fn.pt = dout * EXP(S(diff)(mo, fn.mx, &jb->t, 0));
  fn.dsum = fn.pt + EXP(S(diff)(vt, fn.mx, &jb->t, 0));
  T w = S(diff)(mo, vt, &jb->t, 0); /* -inf with no others, +inf at a masked target */
  *jb->loss = w <= 0 ? LOG1P(dout * EXP(w)) : w + LOG1P(st.d + EXP(-w));
  return fn;
}

/* after pass 1: the row's constants, or the whole row if nothing is left */
static S(fin) S(finish)(const S(job) *jb, S(state) st) {
  S(fin) fn = {0, 0, 0, 0, 0, 0};
  if (jb->f == SMAX_CROSS_ENTROPY) return S(finish_ce)(jb, st);
  if (!S(finite_state)(st)) {
    S(special_row)(jb);
    fn.skip = 1;
    return fn;
  }
  fn.mx = st.m;
  fn.dsum = 1 + st.d;
  if (jb->f == SMAX_LOG_SOFTMAX) fn.gg = LOG1P(st.d);
  if (jb->f == SMAX_LOGSUMEXP) {
    jb->y[0] = (jb->unit ? st.m : (T)(st.m / jb->t.tau)) + LOG1P(st.d);
    fn.skip = 1;
  }
  if ((jb->f == SMAX_SOFTMAX_VJP || jb->f == SMAX_LOG_SOFTMAX_VJP) && st.chk != st.chk) {
    for (size_t j = 0; j < jb->n; j++) jb->y[j] = NAN; /* C2: a NaN or inf in dy */
    fn.skip = 1;
  }
  if (jb->f == SMAX_SOFTMAX_VJP) fn.gg = st.g / fn.dsum;
  if (jb->f == SMAX_LOG_SOFTMAX_VJP) fn.sig = st.sig + st.sigc;
  return fn;
}

/* the output loops (restrict parameters: nothing in the loop aliases y) */
INLINE void S(lsm_loop)(T *restrict y, const T *restrict x, const unsigned char *restrict mask,
                        size_t len, T mx, T lse, const S(temp) *t, int unit) {
  for (size_t j = 0; j < len; j++) y[j] = S(diff)(S(load)(x, mask, j), mx, t, unit) - lse;
}
INLINE void S(sm_loop)(T *restrict y, size_t len, T c) {
  for (size_t j = 0; j < len; j++) y[j] *= c;
}
/* + 0: a masked slot (s = 0) gives +0, not 0 * negative = -0 */
INLINE void S(smv_loop)(T *restrict y, const T *restrict dy, size_t len, T c, T gg,
                        const S(temp) *t, int unit) {
  for (size_t j = 0; j < len; j++) y[j] = S(divtau)(y[j] * c * (dy[j] - gg), t, unit) + (T)0;
}
INLINE void S(lsmv_loop)(T *restrict y, const T *restrict dy, size_t len, T cs,
                         const S(temp) *t, int unit) {
  for (size_t j = 0; j < len; j++) y[j] = S(divtau)(dy[j] - y[j] * cs, t, unit);
}
INLINE void S(ce_loop)(T *restrict y, size_t len, T c, const S(temp) *t, int unit) {
  for (size_t j = 0; j < len; j++) y[j] = S(divtau)(y[j] * c, t, unit);
}

/* the output pass over one tile: elementwise; len = BLOCK vectorises */
INLINE void S(out_tile)(const S(job) *jb, const S(fin) *fn, size_t b, size_t len,
                        const unsigned char *mask, int unit) {
  size_t i = b * BLOCK;
  S(temp) t = jb->t;
  T *y = jb->y + i;
  if (jb->f == SMAX_LOG_SOFTMAX) {
    S(lsm_loop)(y, jb->x + i, mask ? mask + i : NULL, len, fn->mx, fn->gg, &t, unit);
    return;
  }
  T c = EXP(S(diff)(jb->tmax[b], fn->mx, &t, jb->unit)) / fn->dsum;
  if (jb->f == SMAX_SOFTMAX) S(sm_loop)(y, len, c);
  else if (jb->f == SMAX_SOFTMAX_VJP) S(smv_loop)(y, jb->dy + i, len, c, fn->gg, &t, unit);
  else if (jb->f == SMAX_LOG_SOFTMAX_VJP) S(lsmv_loop)(y, jb->dy + i, len, c * fn->sig, &t, unit);
  else S(ce_loop)(y, len, c, &t, unit);
}

INLINE void S(out_g)(const S(job) *jb, const S(fin) *fn, size_t b0, size_t b1,
                     const unsigned char *mask, int unit) {
  for (size_t b = b0; b < b1; b++) {
    if (jb->n - b * BLOCK >= BLOCK) S(out_tile)(jb, fn, b, BLOCK, mask, unit);
    else S(out_tile)(jb, fn, b, jb->n - b * BLOCK, mask, unit);
  }
}

/* output tiles [b0, b1), then (last tile) the cross-entropy target */
static void S(out_tiles)(const S(job) *jb, const S(fin) *fn, size_t b0, size_t b1) {
  if (jb->mask) {
    if (jb->unit) S(out_g)(jb, fn, b0, b1, jb->mask, 1);
    else S(out_g)(jb, fn, b0, b1, jb->mask, 0);
  } else {
    if (jb->unit) S(out_g)(jb, fn, b0, b1, NULL, 1);
    else S(out_g)(jb, fn, b0, b1, NULL, 0);
  }
}

/* cross-entropy: y_t = (s_t - 1)/tau = -(P/D)/tau (0 - : +0 when P = 0) */
static void S(fixup)(const S(job) *jb, const S(fin) *fn) {
  if (jb->f == SMAX_CROSS_ENTROPY)
    jb->y[jb->ex] = 0 - S(divtau)(fn->pt / fn->dsum, &jb->t, jb->unit);
}

static void S(set_row)(S(job) *jb, const smax_args *a, size_t r) {
  jb->x = (const T *)a->x + r * a->x_stride;
  jb->dy = a->dy ? (const T *)a->dy + r * a->dy_stride : NULL;
  jb->mask = a->mask ? a->mask + r * a->mask_stride : NULL;
  jb->y = (T *)a->y + r * a->y_stride;
  jb->loss = a->loss ? (T *)a->loss + r : NULL;
  jb->ex = jb->f == SMAX_CROSS_ENTROPY ? (size_t)a->target[r] : SIZE_MAX;
}

/* one row on the calling thread (same chunks and merge order as split) */
static void S(row_serial)(const S(job) *jb) {
  size_t nch = S(nchunks)(jb, 1);
  for (size_t c = 0; c < nch; c++) jb->cs[c].s = S(chunk)(jb, c, nch);
  S(fin) fn = S(finish)(jb, S(reduce)(jb, nch));
  if (fn.skip) return;
  S(out_tiles)(jb, &fn, 0, jb->nt);
  S(fixup)(jb, &fn);
}

static int S(run)(const smax_args *a, smax_func f, int det) {
  if (!(a->tau > 0) || !isfinite(a->tau)) return 1;
  if (a->rows == 0) return 0;
  int vjp = f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP;
  if (!a->y || (a->n && !a->x) || (vjp && a->n && !a->dy)) return 1;
  if (f == SMAX_CROSS_ENTROPY) {
    if (!a->target || !a->loss) return 1;
    for (size_t r = 0; r < a->rows; r++)
      if (a->target[r] < 0 || (size_t)a->target[r] >= a->n) return 1;
  }
  S(job) jb;
  memset(&jb, 0, sizeof jb);
  jb.f = f, jb.det = det, jb.n = a->n, jb.nt = (a->n + BLOCK - 1) / BLOCK;
  jb.kind = f == SMAX_SOFTMAX ? K_STORE : f == SMAX_SOFTMAX_VJP ? K_SMV
          : f == SMAX_LOG_SOFTMAX_VJP ? K_LSMV : f == SMAX_CROSS_ENTROPY ? K_CE : K_PLAIN;
  jb.unit = a->tau == 1;
  jb.t = (S(temp)){a->tau > 1 ? (T)0.5 : 1, a->tau > 1 ? a->tau * 0.5 : a->tau, a->tau};

  int nthr = a->threads > 0 ? a->threads : omp_get_max_threads();
  if (nthr < 1) nthr = 1;
  if (a->rows * a->n < SERIAL_WORK) nthr = 1;
  int by_rows = a->rows >= 2 * (size_t)nthr || a->n < SPLIT_N;
  size_t workers = nthr > 1 && by_rows ? (size_t)nthr : 1;
  size_t ncap = (jb.nt + CHUNK_TILES - 1) / CHUNK_TILES;
  if (ncap < (size_t)nthr) ncap = nthr;
  size_t tcap = (jb.nt * sizeof(T) + 63) / 64 * 64 / sizeof(T); /* whole lines */
  size_t bytes = workers * (ncap * sizeof(S(slot)) + tcap * sizeof(T));
  unsigned char *scratch = aligned_alloc(64, bytes ? bytes : 64);
  if (!scratch) return 1;
  S(slot) *cs0 = (S(slot) *)scratch;
  T *tm0 = (T *)(scratch + workers * ncap * sizeof(S(slot)));

  if (nthr == 1) { /* no parallel region at all */
    jb.cs = cs0, jb.tmax = tm0;
    for (size_t r = 0; r < a->rows; r++) {
      S(set_row)(&jb, a, r);
      S(row_serial)(&jb);
    }
  } else if (by_rows) {
#pragma omp parallel num_threads(nthr) firstprivate(jb)
    {
      size_t id = (size_t)omp_get_thread_num();
      jb.cs = cs0 + id * ncap, jb.tmax = tm0 + id * tcap;
#pragma omp for schedule(static)
      for (size_t r = 0; r < a->rows; r++) {
        S(set_row)(&jb, a, r);
        S(row_serial)(&jb);
      }
    }
  } else {
    S(fin) fn;
    jb.cs = cs0, jb.tmax = tm0;
#pragma omp parallel num_threads(nthr) firstprivate(jb) shared(fn)
    {
      size_t team = (size_t)omp_get_num_threads();
      for (size_t r = 0; r < a->rows; r++) {
        S(set_row)(&jb, a, r);
        size_t nch = S(nchunks)(&jb, (int)team);
#pragma omp for schedule(static)
        for (size_t c = 0; c < nch; c++) jb.cs[c].s = S(chunk)(&jb, c, nch);
#pragma omp single
        fn = S(finish)(&jb, S(reduce)(&jb, nch));
        if (!fn.skip) {
#pragma omp for schedule(static)
          for (size_t b = 0; b < jb.nt; b++) S(out_tiles)(&jb, &fn, b, b + 1);
#pragma omp single
          S(fixup)(&jb, &fn);
        }
      }
    }
  }
  free(scratch);
  return 0;
}

#define ENTRY(name, func, det)                                   \
  static int S(name)(const smax_args *a) { return S(run)(a, func, det); }
ENTRY(fast_sm, SMAX_SOFTMAX, 0)
ENTRY(fast_lsm, SMAX_LOG_SOFTMAX, 0)
ENTRY(fast_lse, SMAX_LOGSUMEXP, 0)
ENTRY(fast_smv, SMAX_SOFTMAX_VJP, 0)
ENTRY(fast_lsmv, SMAX_LOG_SOFTMAX_VJP, 0)
ENTRY(fast_ce, SMAX_CROSS_ENTROPY, 0)
ENTRY(det_sm, SMAX_SOFTMAX, 1)
ENTRY(det_lsm, SMAX_LOG_SOFTMAX, 1)
ENTRY(det_lse, SMAX_LOGSUMEXP, 1)
ENTRY(det_smv, SMAX_SOFTMAX_VJP, 1)
ENTRY(det_lsmv, SMAX_LOG_SOFTMAX_VJP, 1)
ENTRY(det_ce, SMAX_CROSS_ENTROPY, 1)
#undef ENTRY

#undef T
#endif

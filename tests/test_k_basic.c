/* test_k_basic.c -- the naive, stable and accurate families (impls/naive.c,
 * stable.c, accurate.c), binary64 and binary32, judged by the oracle:
 *  1. every kernel against its own claim (kernel.h) on seeded batches: normal
 *     rows with sigma 1, 10, 100, huge spread, values near the format's exp
 *     overflow and underflow thresholds, subnormal softmax outputs, ties, a
 *     dominant class, naive's domain edge; n in {1,2,3,7,16,1000}, tau in
 *     {1, 0.5, 3}; two rows per call with a row stride > n, the second row
 *     masked (masked slots store NaN, +-inf or garbage); and rows of 65536;
 *  2. family behaviour: naive overflows to NaN on binary32 [100, 101] where
 *     stable gives the oracle's answer; [1000, 1001, 1002]; when the terms
 *     other than the max sum below u, accurate's log_softmax, loss and
 *     gradients keep relative accuracy (within claims with no absolute term)
 *     where stable's do not;
 *  3. the special values each kernel declares (oracle/SEMANTICS.md);
 *  4. invalid arguments.
 * One line per failure (kernel, function, format, tau, inputs in %a); ends
 * with "N passed, M failed".  `test_k_basic -v` also prints, per kernel, the
 * largest error measured in part 1 beside its claim. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel.h"
#include "oracle.h"

static int npass, nfail, verbose;
#define CHECK(c, ...)                            \
  do {                                           \
    if (c) npass++;                              \
    else {                                       \
      nfail++;                                   \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                       \
      printf("\n");                              \
    }                                            \
  } while (0)

static const char *const FAMILIES[] = {"naive", "stable", "accurate"};
#define NFAM 3
#define DYTAU_MAX 16.0 /* the gradient claims assume max|dy|/tau <= 16 */

/* ---- random numbers ------------------------------------------------------ */
static uint64_t rng = 0x5eed;
static double unif(void) {
  rng = rng * 6364136223846793005u + 1442695040888963407u;
  return (double)(rng >> 11) * 0x1p-53;
}
static double gauss(void) {
  double a = unif() + 0x1p-60, b = unif();
  return sqrt(-2 * log(a)) * cos(6.283185307179586 * b);
}

/* ---- formats and kernels ------------------------------------------------- */
static const oracle_format *ofmt(smax_format f) {
  return f == SMAX_F64 ? &oracle_binary64 : &oracle_binary32;
}
static double u_of(smax_format f) { return f == SMAX_F64 ? 0x1p-53 : 0x1p-24; }
static size_t esize(smax_format f) { return f == SMAX_F64 ? sizeof(double) : sizeof(float); }
static void put(smax_format f, void *b, size_t i, double v) {
  if (f == SMAX_F64) ((double *)b)[i] = v;
  else ((float *)b)[i] = (float)v;
}
static double get(smax_format f, const void *b, size_t i) {
  return f == SMAX_F64 ? ((const double *)b)[i] : ((const float *)b)[i];
}
static double rnd(smax_format f, double v) { return oracle_round(ofmt(f), v); }

static const smax_kernel *find(const char *name, smax_func fn, smax_format fmt) {
  size_t nk;
  const smax_kernel *k = smax_registry(&nk);
  for (size_t i = 0; i < nk; i++)
    if (!strcmp(k[i].name, name) && k[i].func == fn && k[i].fmt == fmt) return &k[i];
  return NULL;
}
static const char *fname(smax_func f) { return smax_func_name(f); }

/* ---- a batch: rows of one format, as doubles the format holds exactly ---- */
typedef struct {
  smax_format fmt;
  size_t rows, n, stride;
  double tau;
  double *x, *dy;
  unsigned char *m;
  int32_t *t;
} batch;

static batch batch_new(smax_format fmt, size_t rows, size_t n, double tau) {
  batch b = {fmt, rows, n, n + 3, tau, NULL, NULL, NULL, NULL};
  size_t sz = rows * b.stride;
  b.x = calloc(sz, sizeof *b.x);
  b.dy = calloc(sz, sizeof *b.dy);
  b.m = calloc(sz, 1);
  b.t = calloc(rows, sizeof *b.t);
  return b;
}
static void batch_free(batch *b) { free(b->x), free(b->dy), free(b->m), free(b->t); }

/* Runs k on b.  y: rows * stride outputs (LOGSUMEXP: one per row at
 * r * stride), loss: rows.  Untouched outputs read back as the sentinel 12345.
 * Returns the kernel's status. */
static int run(const smax_kernel *k, const batch *b, double *y, double *loss) {
  size_t sz = b->rows * b->stride + 1, es = esize(b->fmt);
  void *xb = calloc(sz, es), *dyb = calloc(sz, es), *yb = calloc(sz, es), *lb = calloc(b->rows + 1, es);
  for (size_t i = 0; i < b->rows * b->stride; i++) {
    put(b->fmt, xb, i, b->x[i]);
    put(b->fmt, dyb, i, b->dy[i]);
    put(b->fmt, yb, i, 12345);
  }
  for (size_t r = 0; r < b->rows; r++) put(b->fmt, lb, r, 12345);
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = b->rows, a.n = b->n, a.x = xb, a.x_stride = b->stride, a.dy = dyb;
  a.dy_stride = b->stride, a.mask = b->m, a.mask_stride = b->stride, a.target = b->t;
  a.y = yb, a.y_stride = b->stride, a.loss = lb, a.tau = b->tau, a.in_scale = 1;
  int rc = k->run(&a);
  for (size_t i = 0; i < b->rows * b->stride; i++) y[i] = get(b->fmt, yb, i);
  for (size_t r = 0; r < b->rows; r++) loss[r] = get(b->fmt, lb, r);
  free(xb), free(dyb), free(yb), free(lb);
  return rc;
}

/* The oracle on row r of b: outputs and exact values (n + 1 slots). */
static int oracle_row(oracle_func f, const batch *b, size_t r, double *want, oracle_xval *xv) {
  oracle_params p = {b->tau, 1, b->m + r * b->stride, b->dy + r * b->stride, b->t[r]};
  return oracle_eval(f, ofmt(b->fmt), b->n, b->x + r * b->stride, &p, want, xv, NULL);
}
static oracle_func oracle_of(smax_func f) {
  return f == SMAX_CROSS_ENTROPY ? ORACLE_CROSS_ENTROPY_GRAD : (oracle_func)f;
}

typedef struct {
  double spread, maxabs, dmax; /* over unmasked x/tau; max|dy| over all */
  int finite;                  /* every unmasked x finite, one at least */
} rowinfo;

static rowinfo row_info(const batch *b, size_t r) {
  const double *x = b->x + r * b->stride, *dy = b->dy + r * b->stride;
  const unsigned char *m = b->m + r * b->stride;
  double mx = -INFINITY, mn = INFINITY, d = 0;
  rowinfo ri = {0, 0, 0, 1};
  int any = 0;
  for (size_t i = 0; i < b->n; i++) {
    d = fmax(d, fabs(dy[i]));
    if (m[i]) continue;
    any = 1;
    if (!isfinite(x[i])) ri.finite = 0;
    mx = fmax(mx, x[i]), mn = fmin(mn, x[i]);
  }
  ri.finite &= any;
  if (any) ri.spread = (mx - mn) / b->tau, ri.maxabs = fmax(fabs(mx), fabs(mn)) / b->tau;
  ri.dmax = d;
  return ri;
}

/* the claim's allowance, in ulps of the exact value xv */
static double allowed(const smax_kernel *k, const oracle_xval *xv, size_t n, double spread) {
  const smax_claim *c = &k->claim;
  double ulp = ldexp(1, (int)oracle_ulp_exp(ofmt(k->fmt), xv));
  return c->ulp_const + c->ulp_per_n * (double)n + c->ulp_per_spread * spread +
         c->abs_u_per_n * (double)n * u_of(k->fmt) / ulp;
}

/* does the claim apply to row r of b? */
static int in_domain(const smax_kernel *k, const batch *b, const rowinfo *ri) {
  if (!ri->finite) return 0;
  if (k->claim.max_abs_input > 0 && ri->maxabs > k->claim.max_abs_input) return 0;
  if (k->func == SMAX_CROSS_ENTROPY && 1 / b->tau > DYTAU_MAX) return 0;
  if ((k->func == SMAX_SOFTMAX_VJP || k->func == SMAX_LOG_SOFTMAX_VJP) &&
      ri->dmax / b->tau > DYTAU_MAX)
    return 0;
  return 1;
}

static void print_row(const batch *b, size_t r) {
  const double *x = b->x + r * b->stride, *dy = b->dy + r * b->stride;
  const unsigned char *m = b->m + r * b->stride;
  size_t lim = b->n < 24 ? b->n : 24;
  printf(" x=[");
  for (size_t i = 0; i < lim; i++) printf(i ? " %a%s" : "%a%s", x[i], m[i] ? "(masked)" : "");
  printf(b->n > lim ? " ...]" : "]");
  printf(" dy=[");
  for (size_t i = 0; i < lim; i++) printf(i ? " %a" : "%a", dy[i]);
  printf(b->n > lim ? " ...]" : "]");
}

/* ---- 1. claims on input families ---------------------------------------- */

/* per kernel: the largest error seen and the claim there, the largest ratio */
typedef struct {
  const smax_kernel *k;
  double worst_err, worst_allow, worst_ratio;
  unsigned long outputs;
  char where[96]; /* input family, n and tau of the largest error/claim */
} kstat;
static kstat stats[64];
static size_t nstats;

static kstat *stat_of(const smax_kernel *k) {
  for (size_t i = 0; i < nstats; i++)
    if (stats[i].k == k) return &stats[i];
  stats[nstats] = (kstat){k, 0, 0, 0, 0, ""};
  return &stats[nstats++];
}

/* exp overflow threshold, subnormal underflow threshold, in z = x/tau */
static double z_over(smax_format f) { return f == SMAX_F64 ? 709.78 : 88.72; }
static double z_under(smax_format f) { return f == SMAX_F64 ? -745.13 : -103.97; }
static double naive_T(smax_format f) { return f == SMAX_F64 ? 512 : 64; }

enum { N_GAUSS1, N_GAUSS10, N_GAUSS100, N_HUGE, N_OVER, N_UNDER, N_SUBNORMAL_OUT, N_TIES,
       N_DOMINANT, N_NAIVE_EDGE, N_KINDS };
static const char *const KIND_NAMES[] = {"gauss1", "gauss10", "gauss100", "huge-spread",
                                         "near-exp-overflow", "near-exp-underflow",
                                         "subnormal-outputs", "ties", "dominant",
                                         "naive-domain-edge"};

/* one value of kind `kind` for slot i (z-space kinds are scaled by tau) */
static double gen_value(int kind, smax_format f, double tau, size_t i, size_t k) {
  switch (kind) {
  case N_GAUSS1: return gauss();
  case N_GAUSS10: return 10 * gauss();
  case N_GAUSS100: return 100 * gauss();
  case N_HUGE: return (unif() < 0.5 ? -1 : 1) * pow(10, -3 + 33 * unif());
  case N_OVER: return (z_over(f) - 4 * unif()) * tau;
  case N_UNDER: return (z_under(f) + 4 * unif()) * tau;
  case N_SUBNORMAL_OUT: /* max 0, the rest so far below that e^{z-max} is subnormal */
    return i == k ? 0 : (z_under(f) + 30 * unif() - 5) * tau;
  case N_TIES: return (double)(int)(unif() * 3);
  case N_DOMINANT: /* the others sum to far less than u */
    return i == k ? 0 : -(f == SMAX_F64 ? 38 + 40 * unif() : 18 + 20 * unif()) * tau;
  default: return naive_T(f) * (2 * unif() - 1) * tau;
  }
}

/* Fills row r: values of `kind`, dy ~ N(0,1); masked rows get ~25% masked
 * slots holding NaN, +-inf or a value; the target is an unmasked slot. */
static void gen_row(batch *b, size_t r, int kind, int masked) {
  size_t n = b->n, k = (size_t)(unif() * n);
  double *x = b->x + r * b->stride, *dy = b->dy + r * b->stride;
  unsigned char *m = b->m + r * b->stride;
  for (size_t i = 0; i < n; i++) {
    x[i] = rnd(b->fmt, gen_value(kind, b->fmt, b->tau, i, k));
    dy[i] = rnd(b->fmt, gauss());
    m[i] = masked && i != k && unif() < 0.25;
    if (m[i]) {
      double junk[] = {NAN, INFINITY, -INFINITY, 1e30, x[i]};
      x[i] = rnd(b->fmt, junk[(int)(unif() * 5)]);
    }
  }
  b->t[r] = (int32_t)(unif() * n);
  while (m[b->t[r]]) b->t[r] = (int32_t)((b->t[r] + 1) % n);
}

/* Judges kernel k on batch b against the oracle values want/xv (per row,
 * n + 1 slots; loss values in lwant/lxv for CROSS_ENTROPY). */
static int judge_batch(const smax_kernel *k, const batch *b, const char *what, double *want,
                       oracle_xval *xv, double *lwant, oracle_xval *lxv) {
  size_t n = b->n, sz = b->rows * b->stride;
  double *y = malloc(sz * sizeof *y), *loss = malloc(b->rows * sizeof *loss);
  int fails = 0, rc = run(k, b, y, loss);
  kstat *st = stat_of(k);
  if (rc) {
    printf("FAIL %s %s %s: returned %d on %s n=%zu tau=%a\n", k->name, fname(k->func),
           smax_format_name(k->fmt), rc, what, n, b->tau);
    fails = 1;
  }
  for (size_t r = 0; r < b->rows && !rc; r++) {
    rowinfo ri = row_info(b, r);
    if (!in_domain(k, b, &ri)) continue;
    size_t no = k->func == SMAX_LOGSUMEXP ? 1 : n;
    for (size_t o = 0; o <= no; o++) {
      int is_loss = o == no;
      if (is_loss && k->func != SMAX_CROSS_ENTROPY) break;
      const oracle_xval *ex = is_loss ? &lxv[r] : &xv[r * (n + 1) + o];
      double got = is_loss ? loss[r] : y[r * b->stride + o];
      double ref = is_loss ? lwant[r] : want[r * (n + 1) + o];
      double unc, e = oracle_ulp_error(ofmt(k->fmt), got, ex, &unc);
      double allow = allowed(k, ex, n, ri.spread);
      st->outputs++;
      if (e > st->worst_err) st->worst_err = e, st->worst_allow = allow;
      if (e / allow > st->worst_ratio) {
        st->worst_ratio = e / allow;
        snprintf(st->where, sizeof st->where, "%s n=%zu tau=%g", what, n, b->tau);
      }
      if (e > allow + unc) {
        if (fails < 3) {
          printf("FAIL %s %s %s %s tau=%a n=%zu row %zu target=%d output %s%zu: got %a oracle %a"
                 " (%.3g ulp > claim %.3g)",
                 k->name, fname(k->func), smax_format_name(k->fmt), what, b->tau, n, r,
                 b->t[r], is_loss ? "loss " : "", is_loss ? r : o, got, ref, e, allow);
          print_row(b, r);
          printf("\n");
        }
        fails++;
      }
    }
  }
  free(y), free(loss);
  return fails;
}

/* All functions and families on one batch; counts one check per kernel. */
static void claims_on(batch *b, const char *what) {
  size_t n = b->n, rows = b->rows;
  double *want = malloc(rows * (n + 1) * sizeof *want), *lwant = malloc(rows * sizeof *lwant);
  oracle_xval *xv = malloc(rows * (n + 1) * sizeof *xv), *lxv = malloc(rows * sizeof *lxv);
  for (int f = 0; f < SMAX_NFUNCS; f++) {
    for (size_t r = 0; r < rows; r++) {
      int bad = oracle_row(oracle_of((smax_func)f), b, r, want + r * (n + 1), xv + r * (n + 1));
      if (f == SMAX_CROSS_ENTROPY) bad |= oracle_row(ORACLE_CROSS_ENTROPY, b, r, &lwant[r], &lxv[r]);
      CHECK(bad == 0, "oracle_eval %s %s n=%zu returned %d", fname((smax_func)f), what, n, bad);
    }
    for (int fam = 0; fam < NFAM; fam++) {
      const smax_kernel *k = find(FAMILIES[fam], (smax_func)f, b->fmt);
      if (!k) continue;
      int fails = judge_batch(k, b, what, want, xv, lwant, lxv);
      if (fails) nfail++;
      else npass++;
    }
  }
  free(want), free(lwant), free(xv), free(lxv);
}

static void test_claims(void) {
  const size_t ns[] = {1, 2, 3, 7, 16, 1000};
  const double taus[] = {1, 0.5, 3};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (int kind = 0; kind < N_KINDS; kind++)
      for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t c = 0; c < 3; c++) {
          batch b = batch_new((smax_format)fmt, 2, ns[a], taus[c]);
          gen_row(&b, 0, kind, 0);
          gen_row(&b, 1, kind, 1);
          claims_on(&b, KIND_NAMES[kind]);
          batch_free(&b);
        }
  /* long rows: the n/16 terms of the claims at work */
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++) {
    const int kinds[] = {N_GAUSS1, N_GAUSS10, N_DOMINANT};
    for (int i = 0; i < 3; i++) {
      batch b = batch_new((smax_format)fmt, 2, 65536, i == 1 ? 3 : 1);
      gen_row(&b, 0, kinds[i], 0);
      gen_row(&b, 1, kinds[i], 1);
      claims_on(&b, KIND_NAMES[kinds[i]]);
      batch_free(&b);
    }
  }
}

/* ---- helpers for single hand-made rows ---------------------------------- */

/* a one-row batch from a list; mask may be NULL; values rounded to fmt */
static batch one_row(smax_format fmt, size_t n, const double *x, const unsigned char *mask,
                     const double *dy, int t, double tau) {
  batch b = batch_new(fmt, 1, n, tau);
  for (size_t i = 0; i < n; i++) {
    b.x[i] = rnd(fmt, x[i]);
    b.m[i] = mask ? mask[i] : 0;
    b.dy[i] = dy ? rnd(fmt, dy[i]) : rnd(fmt, 0.25 * (double)(i + 1));
  }
  b.t[0] = t;
  return b;
}

/* error of output o (o == n: the loss) of kernel k on a one-row batch */
static double err_of(const smax_kernel *k, const batch *b, size_t o, double *allow, double *got) {
  size_t n = b->n;
  double *y = malloc((b->stride + 1) * sizeof *y), loss, *want = malloc((n + 1) * sizeof *want);
  oracle_xval *xv = malloc((n + 1) * sizeof *xv);
  run(k, b, y, &loss);
  if (o == n) oracle_row(ORACLE_CROSS_ENTROPY, b, 0, want, xv);
  else oracle_row(oracle_of(k->func), b, 0, want, xv);
  size_t j = o == n ? 0 : o;
  *got = o == n ? loss : y[o];
  *allow = allowed(k, &xv[j], n, row_info(b, 0).spread);
  double e = oracle_ulp_error(ofmt(k->fmt), *got, &xv[j], NULL);
  free(y), free(want), free(xv);
  return e;
}

/* the claim without its absolute term: a bound relative to the output */
static double ulp_part(const smax_kernel *k, size_t n, double spread) {
  return k->claim.ulp_const + k->claim.ulp_per_n * (double)n + k->claim.ulp_per_spread * spread;
}

/* ---- 2. family behaviour ------------------------------------------------- */

static void test_naive_overflow(void) {
  const double x[] = {100, 101};
  batch b = one_row(SMAX_F32, 2, x, NULL, NULL, 0, 1);
  double y[8], loss, want[2];
  oracle_xval xv[2];
  oracle_row(ORACLE_SOFTMAX, &b, 0, want, xv);
  run(find("naive", SMAX_SOFTMAX, SMAX_F32), &b, y, &loss);
  CHECK(isnan(y[0]) && isnan(y[1]),
        "naive softmax binary32 x=[%a %a]: want inf/inf = NaN (its planted overflow), got %a %a",
        x[0], x[1], y[0], y[1]);
  run(find("stable", SMAX_SOFTMAX, SMAX_F32), &b, y, &loss);
  for (int i = 0; i < 2; i++)
    CHECK(y[i] == want[i], "stable softmax binary32 x=[%a %a] output %d: got %a oracle %a", x[0],
          x[1], i, y[i], want[i]);
  /* the same overflow in binary64 at [1000, 1001, 1002] */
  const double x3[] = {1000, 1001, 1002};
  batch c = one_row(SMAX_F64, 3, x3, NULL, NULL, 0, 1);
  run(find("naive", SMAX_SOFTMAX, SMAX_F64), &c, y, &loss);
  CHECK(isnan(y[0]) && isnan(y[1]) && isnan(y[2]),
        "naive softmax binary64 x=[1000 1001 1002]: want NaN (exp overflow), got %a %a %a", y[0],
        y[1], y[2]);
  batch_free(&b), batch_free(&c);
}

/* softmax([1000, 1001, 1002]) for stable and accurate, both formats and taus */
static void test_thousands(void) {
  const double x[] = {1000, 1001, 1002}, taus[] = {1, 0.5, 3};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (int fam = 1; fam < NFAM; fam++)
      for (int c = 0; c < 3; c++) {
        const smax_kernel *k = find(FAMILIES[fam], SMAX_SOFTMAX, (smax_format)fmt);
        batch b = one_row((smax_format)fmt, 3, x, NULL, NULL, 0, taus[c]);
        for (size_t o = 0; o < 3; o++) {
          double allow, got, e = err_of(k, &b, o, &allow, &got);
          CHECK(e <= allow, "%s softmax %s tau=%a x=[1000 1001 1002] output %zu: got %a, %.3g ulp > claim %.3g",
                k->name, smax_format_name(k->fmt), taus[c], o, got, e, allow);
        }
        batch_free(&b);
      }
}

/* When s = sum_{i != k} e^{x_i - max} is below u, log(1 + s) loses s and
 * log1p(s) does not.  The accurate claims for log_softmax and the loss have
 * no absolute term, so they are relative bounds: accurate must meet them
 * and stable must miss them (its own claims allow the loss through their
 * absolute term).  logsumexp keeps an absolute term in both claims (its
 * cancellation when max < 0 is inherent), so there accurate must only be
 * more accurate, measured. */
static void test_accurate_vs_stable(void) {
  struct { smax_format fmt; double x[3], tau; } C[] = {
      {SMAX_F32, {0, -20, -25}, 1},  {SMAX_F32, {0, -60, -75}, 3},
      {SMAX_F32, {-22, 0, -19}, 1},  {SMAX_F64, {0, -40, -45}, 1},
      {SMAX_F64, {0, -120, -135}, 3}, {SMAX_F64, {-44, -39, 0}, 0.5}};
  for (size_t c = 0; c < sizeof C / sizeof C[0]; c++) {
    size_t k = C[c].x[0] == 0 ? 0 : C[c].x[1] == 0 ? 1 : 2; /* the max */
    batch b = one_row(C[c].fmt, 3, C[c].x, NULL, NULL, (int)k, C[c].tau);
    double sp = row_info(&b, 0).spread;
    const char *fm = smax_format_name(C[c].fmt);
#define ROW_ARGS fm, C[c].tau, C[c].x[0], C[c].x[1], C[c].x[2]
    /* log_softmax at the max, and the loss of the max's class */
    const smax_func fs[] = {SMAX_LOG_SOFTMAX, SMAX_CROSS_ENTROPY};
    for (int i = 0; i < 2; i++) {
      const smax_kernel *ka = find("accurate", fs[i], C[c].fmt), *ks = find("stable", fs[i], C[c].fmt);
      size_t o = fs[i] == SMAX_CROSS_ENTROPY ? 3 : k;
      double aa, ga, as, gs, ea = err_of(ka, &b, o, &aa, &ga), es = err_of(ks, &b, o, &as, &gs);
      CHECK(ka->claim.abs_u_per_n == 0 && ea <= aa,
            "accurate %s %s tau=%a x=[%a %a %a] %s: got %a, %.3g ulp > claim %.3g", fname(fs[i]),
            ROW_ARGS, o == 3 ? "loss" : "at the max", ga, ea, aa);
      CHECK(es > aa, "stable %s %s tau=%a x=[%a %a %a]: error %.3g ulp (got %a) within accurate's "
            "claim %.3g: the claims would not differ for a reason", fname(fs[i]), ROW_ARGS, es, gs, aa);
      CHECK(es <= as, "stable %s %s tau=%a x=[%a %a %a]: got %a, %.3g ulp > its claim %.3g",
            fname(fs[i]), ROW_ARGS, gs, es, as);
    }
    /* logsumexp: measured, accurate better than stable (max = 0 here, so lse ~ s) */
    const smax_kernel *ka = find("accurate", SMAX_LOGSUMEXP, C[c].fmt),
                      *ks = find("stable", SMAX_LOGSUMEXP, C[c].fmt);
    double aa, ga, as, gs, ea = err_of(ka, &b, 0, &aa, &ga), es = err_of(ks, &b, 0, &as, &gs);
    CHECK(ea <= aa && ea <= ulp_part(ka, 3, sp) && es > ea,
          "logsumexp %s tau=%a x=[%a %a %a]: accurate %a (%.3g ulp, claim %.3g), stable %a (%.3g ulp)",
          ROW_ARGS, ga, ea, aa, gs, es);
    /* gradients of a dominant class.  cross_entropy at t = k: s_k - 1 =
     * -s/(1+s).  softmax_vjp with dy_j - dy_k < 0 for all j != k: no
     * cancellation in c, so accurate is within its claim's relative part.
     * log_softmax_vjp with dy = e_k: y_k = s/(1+s)/tau, likewise. */
    double dys[2][3];
    for (int j = 0; j < 3; j++) dys[0][j] = j == (int)k ? 1 : 0.25 * j, dys[1][j] = j == (int)k;
    const smax_func gs_[] = {SMAX_CROSS_ENTROPY, SMAX_SOFTMAX_VJP, SMAX_LOG_SOFTMAX_VJP};
    for (int i = 0; i < 3; i++) {
      batch g = one_row(C[c].fmt, 3, C[c].x, NULL, dys[i == 2], (int)k, C[c].tau);
      const smax_kernel *a = find("accurate", gs_[i], C[c].fmt), *s = find("stable", gs_[i], C[c].fmt);
      double aa2, ga2, as2, gs2, ea2 = err_of(a, &g, k, &aa2, &ga2), es2 = err_of(s, &g, k, &as2, &gs2);
      double rel = ulp_part(a, 3, sp);
      CHECK(ea2 <= rel && es2 > rel,
            "%s %s tau=%a x=[%a %a %a] output %zu: accurate %a (%.3g ulp), stable %a (%.3g ulp), "
            "accurate's relative bound %.3g", fname(gs_[i]), ROW_ARGS, k, ga2, ea2, gs2, es2, rel);
      CHECK(es2 <= as2, "stable %s %s tau=%a x=[%a %a %a] output %zu: got %a, %.3g ulp > its claim %.3g",
            fname(gs_[i]), ROW_ARGS, k, gs2, es2, as2);
      batch_free(&g);
    }
#undef ROW_ARGS
    batch_free(&b);
  }
}

/* Ties far below the max: every term of s is the same subnormal number
 * with the same rounding error, so those errors add up coherently (n - 1
 * of them) against outputs ~ s (log1p(s), -s/(1+s)).  Found by probing:
 * before accurate.c rescaled such rows, binary32 [0, -100 x 999] gave 452
 * ulp on log_softmax where the claim allows 379. */
static void test_subnormal_terms(void) {
  struct { smax_format fmt; double v, tau; } C[] = {
      {SMAX_F32, -100, 1}, {SMAX_F32, -97, 1}, {SMAX_F32, -103, 1}, {SMAX_F32, -300, 3},
      {SMAX_F64, -720, 1}, {SMAX_F64, -740, 1}, {SMAX_F64, -1440, 2}};
  const size_t n = 1000;
  double *x = malloc(n * sizeof *x);
  for (size_t c = 0; c < sizeof C / sizeof C[0]; c++) {
    for (size_t i = 0; i < n; i++) x[i] = i ? C[c].v : 0;
    for (int f = SMAX_LOG_SOFTMAX; f <= SMAX_CROSS_ENTROPY; f++) {
      if (f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP) continue;
      const smax_kernel *k = find("accurate", (smax_func)f, C[c].fmt);
      batch b = one_row(C[c].fmt, n, x, NULL, NULL, 0, C[c].tau);
      for (size_t o = 0; o <= (f == SMAX_CROSS_ENTROPY ? n : 0); o += f == SMAX_CROSS_ENTROPY ? n : 1) {
        double allow, got, e = err_of(k, &b, o, &allow, &got);
        CHECK(e <= allow, "accurate %s %s tau=%a x=[0 %a x %zu] output %s: got %a, %.3g ulp > claim %.3g",
              fname(k->func), smax_format_name(k->fmt), C[c].tau, C[c].v, n - 1,
              o == n ? "loss" : "0", got, e, allow);
      }
      batch_free(&b);
    }
  }
  free(x);
}

/* ---- 3. special values --------------------------------------------------- */

static int same(double a, double b) {
  return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}
static int has_conv(const smax_kernel *k, const char *id) {
  const char *c = k->convention;
  size_t l = strlen(id);
  for (const char *p = c; p && (p = strstr(p, id)); p += l)
    if ((p == c || p[-1] == ' ') && (p[l] == 0 || p[l] == ' ')) return 1;
  return 0;
}

/* What kernel k must give on a special row: the oracle's special outputs
 * when it declares "reference" (or when the case has no alternative, as lse
 * +inf / -inf), else its declared convention, computed here from the row. */
typedef enum { S_NAN_ROW, S_PINF_ONE, S_PINF_MULTI, S_ALL_MASKED, S_MASKED_FINITE } scase;
static const char *const SCASE[] = {"nan-x", "pinf-one", "pinf-multi", "all-masked",
                                    "masked-special"};

/* Fills the expected outputs; returns 1 if they come from a convention
 * (compare exactly), 0 if they are the oracle's (finite ones: the claim). */
static int expect_special(const smax_kernel *k, const batch *b, scase sc, double *exp_y,
                          double *exp_loss) {
  size_t n = b->n;
  oracle_xval xv[16];
  oracle_row(oracle_of(k->func), b, 0, exp_y, xv);
  if (k->func == SMAX_CROSS_ENTROPY) oracle_row(ORACLE_CROSS_ENTROPY, b, 0, exp_loss, xv);
  if (k->func == SMAX_LOGSUMEXP || (sc != S_PINF_ONE && sc != S_PINF_MULTI)) return 0;
  if (has_conv(k, "ieee-nan")) {
    for (size_t i = 0; i < n; i++) exp_y[i] = NAN;
    *exp_loss = NAN;
    return 1;
  }
  if (has_conv(k, "ieee-partial")) { /* NaN at +inf slots, IEEE elsewhere */
    for (size_t i = 0; i < n; i++)
      exp_y[i] = b->x[i] == INFINITY && !b->m[i] ? NAN : k->func == SMAX_SOFTMAX ? 0 : -INFINITY;
    return 1;
  }
  return 0;
}

/* Compares kernel k with the expected special outputs: NaN and infinities
 * exactly, zeros with their sign unless "zero-sign", finite values within
 * the claim (spread over the finite entries). */
static void check_special(const smax_kernel *k, const batch *b, scase sc) {
  size_t n = b->n;
  double y[32], loss, ey[16], el = 0;
  oracle_xval xv[16], lxv[1];
  int rc = run(k, b, y, &loss);
  CHECK(rc == 0, "%s %s %s %s: returned %d", k->name, fname(k->func), smax_format_name(k->fmt),
        SCASE[sc], rc);
  if (rc) return;
  int exact = expect_special(k, b, sc, ey, &el);
  oracle_row(oracle_of(k->func), b, 0, (double[16]){0}, xv);
  if (k->func == SMAX_CROSS_ENTROPY) oracle_row(ORACLE_CROSS_ENTROPY, b, 0, (double[1]){0}, lxv);
  double mx = -INFINITY, mn = INFINITY;
  for (size_t i = 0; i < n; i++)
    if (!b->m[i] && isfinite(b->x[i])) mx = fmax(mx, b->x[i]), mn = fmin(mn, b->x[i]);
  double spread = mx > mn ? (mx - mn) / b->tau : 0;
  size_t no = k->func == SMAX_LOGSUMEXP ? 1 : n;
  int zs = has_conv(k, "zero-sign");
  for (size_t o = 0; o <= no; o++) {
    int is_loss = o == no;
    if (is_loss && k->func != SMAX_CROSS_ENTROPY) break;
    double got = is_loss ? loss : y[o], want = is_loss ? el : ey[o];
    const oracle_xval *ex = is_loss ? lxv : &xv[o];
    int ok;
    if (want == 0 && got == 0) ok = zs || !signbit(got) || signbit(want);
    else if (exact || isnan(want) || isinf(want)) ok = same(got, want);
    else ok = isfinite(got) && oracle_ulp_error(ofmt(k->fmt), got, ex, NULL) <= allowed(k, ex, n, spread);
    CHECK(ok, "%s %s %s %s (%s) tau=%a n=%zu output %s%zu: got %a, expected %a; x=[%a %a %a] mask=[%d %d %d] target=%d",
          k->name, fname(k->func), smax_format_name(k->fmt), SCASE[sc], k->convention, b->tau, n,
          is_loss ? "loss " : "", is_loss ? 0 : o, got, want, b->x[0], n > 1 ? b->x[1] : 0,
          n > 2 ? b->x[2] : 0, b->m[0], n > 1 ? b->m[1] : 0, n > 2 ? b->m[2] : 0, b->t[0]);
  }
}

static void test_specials(void) {
  const double I = INFINITY;
  struct { scase sc; size_t n; double x[3]; unsigned char m[3]; int t; } R[] = {
      {S_NAN_ROW, 3, {1, NAN, 2}, {0, 0, 0}, 0},
      {S_NAN_ROW, 3, {I, NAN, 2}, {0, 0, 0}, 0},      /* NaN beats +inf */
      {S_NAN_ROW, 3, {NAN, -I, NAN}, {0, 0, 1}, 1},   /* max of the rest is -inf */
      {S_PINF_ONE, 3, {1, I, 2}, {0, 0, 0}, 1},        /* target at the +inf */
      {S_PINF_ONE, 3, {1, I, 2}, {0, 0, 0}, 2},
      {S_PINF_ONE, 3, {I, -I, 5}, {0, 0, 1}, 0},
      {S_PINF_ONE, 1, {I}, {0}, 0},
      {S_PINF_MULTI, 3, {I, 1, I}, {0, 0, 0}, 0},
      {S_PINF_MULTI, 3, {I, 1, I}, {0, 0, 0}, 1},
      {S_ALL_MASKED, 3, {1, NAN, I}, {1, 1, 1}, 0},    /* masked slots store anything */
      {S_ALL_MASKED, 1, {2}, {1}, 0},
      {S_ALL_MASKED, 3, {-I, -I, 0}, {0, 0, 1}, 2},    /* -inf counts as masked */
  };
  const double taus[] = {1, 3};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (size_t r = 0; r < sizeof R / sizeof R[0]; r++)
      for (int c = 0; c < 2; c++)
        for (int f = 0; f < SMAX_NFUNCS; f++)
          for (int fam = 0; fam < NFAM; fam++) {
            const smax_kernel *k = find(FAMILIES[fam], (smax_func)f, (smax_format)fmt);
            if (!k) continue;
            const double dy[] = {0.5, -1, 0.75};
            batch b = one_row((smax_format)fmt, R[r].n, R[r].x, R[r].m, dy, R[r].t, taus[c]);
            check_special(k, &b, R[r].sc);
            batch_free(&b);
          }
}

/* finite rows with masked slots holding NaN/inf, and a masked target: the
 * reference, within the claims */
static void test_masked_rows(void) {
  const double I = INFINITY;
  struct { double x[4]; unsigned char m[4]; int t; } R[] = {
      {{1, I, NAN, 2}, {0, 1, 1, 0}, 0},
      {{-I, 3, -2, 0.5}, {1, 0, 0, 0}, 0}, /* masked target: loss +inf, grad -1/tau */
      {{5, 1, 7, NAN}, {0, 0, 1, 1}, 2},
  };
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (size_t r = 0; r < sizeof R / sizeof R[0]; r++)
      for (int f = 0; f < SMAX_NFUNCS; f++)
        for (int fam = 0; fam < NFAM; fam++) {
          const smax_kernel *k = find(FAMILIES[fam], (smax_func)f, (smax_format)fmt);
          if (!k) continue;
          const double dy[] = {0.5, -1, 0.75, 2};
          batch b = one_row((smax_format)fmt, 4, R[r].x, R[r].m, dy, R[r].t, 3);
          check_special(k, &b, S_MASKED_FINITE);
          batch_free(&b);
        }
}

/* n = 0: lse is -inf, elementwise functions write nothing, cross_entropy
 * is rejected (no target) */
static void test_empty(void) {
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (int f = 0; f < SMAX_NFUNCS; f++)
      for (int fam = 0; fam < NFAM; fam++) {
        const smax_kernel *k = find(FAMILIES[fam], (smax_func)f, (smax_format)fmt);
        if (!k) continue;
        batch b = batch_new((smax_format)fmt, 2, 0, 1);
        double y[8], loss[2];
        int rc = run(k, &b, y, loss);
        if (f == SMAX_CROSS_ENTROPY)
          CHECK(rc != 0, "%s %s %s n=0: accepted (no target exists)", k->name, fname(k->func),
                smax_format_name(k->fmt));
        else if (f == SMAX_LOGSUMEXP)
          CHECK(rc == 0 && y[0] == -INFINITY && y[3] == -INFINITY,
                "%s %s %s n=0: rc %d, got %a %a, want -inf", k->name, fname(k->func),
                smax_format_name(k->fmt), rc, y[0], y[3]);
        else
          CHECK(rc == 0 && y[0] == 12345 && y[3] == 12345, "%s %s %s n=0: rc %d, wrote %a %a",
                k->name, fname(k->func), smax_format_name(k->fmt), rc, y[0], y[3]);
        batch_free(&b);
      }
}

/* a NaN or inf in dy: every vjp output NaN or +-inf ("ieee-propagate") */
static void test_bad_dy(void) {
  const double x[] = {1, 3, 2, 0}, bad[] = {NAN, INFINITY, -INFINITY};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (int f = SMAX_SOFTMAX_VJP; f <= SMAX_LOG_SOFTMAX_VJP; f++)
      for (int fam = 1; fam < NFAM; fam++)
        for (int j = 0; j < 4; j++)
          for (int v = 0; v < 3; v++) {
            const smax_kernel *k = find(FAMILIES[fam], (smax_func)f, (smax_format)fmt);
            double dy[] = {0.5, -1, 0.75, 2};
            unsigned char m[] = {0, 0, 0, 1};
            dy[j] = bad[v];
            batch b = one_row((smax_format)fmt, 4, x, m, dy, 0, 1);
            double y[8], loss;
            run(k, &b, y, &loss);
            int ok = has_conv(k, "ieee-propagate");
            for (int i = 0; i < 4; i++) ok &= !isfinite(y[i]);
            CHECK(ok, "%s %s %s dy[%d]=%a (%s): got %a %a %a %a, want no finite output", k->name,
                  fname(k->func), smax_format_name(k->fmt), j, bad[v], k->convention, y[0], y[1],
                  y[2], y[3]);
            batch_free(&b);
          }
}

/* ---- 4. invalid arguments ------------------------------------------------ */

static void test_invalid(void) {
  const double x[] = {1, 2, 3}, taus[] = {0, -1, NAN, INFINITY, -0.0};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (int f = 0; f < SMAX_NFUNCS; f++)
      for (int fam = 0; fam < NFAM; fam++) {
        const smax_kernel *k = find(FAMILIES[fam], (smax_func)f, (smax_format)fmt);
        if (!k) continue;
        double y[8], loss;
        for (int i = 0; i < 5; i++) {
          batch b = one_row((smax_format)fmt, 3, x, NULL, NULL, 0, taus[i]);
          CHECK(run(k, &b, y, &loss) != 0, "%s %s %s tau=%a: accepted", k->name, fname(k->func),
                smax_format_name(k->fmt), taus[i]);
          batch_free(&b);
        }
        if (fmt == SMAX_F32) { /* tau below float's normal range */
          batch b = one_row((smax_format)fmt, 3, x, NULL, NULL, 0, 1e-300);
          CHECK(run(k, &b, y, &loss) != 0, "%s %s binary32 tau=1e-300: accepted", k->name,
                fname(k->func));
          batch_free(&b);
        }
        if (f == SMAX_CROSS_ENTROPY)
          for (int t = -1; t <= 3; t += 4) {
            batch b = one_row((smax_format)fmt, 3, x, NULL, NULL, t, 1);
            CHECK(run(k, &b, y, &loss) != 0, "%s %s %s target %d of n=3: accepted", k->name,
                  fname(k->func), smax_format_name(k->fmt), t);
            batch_free(&b);
          }
      }
}

static void test_registered(void) {
  const int nfuncs[] = {3, 6, 6};
  for (int fam = 0; fam < NFAM; fam++)
    for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
      for (int f = 0; f < nfuncs[fam]; f++) {
        const smax_kernel *k = find(FAMILIES[fam], (smax_func)f, (smax_format)fmt);
        CHECK(k && k->run && k->convention && k->about, "%s %s %s: not registered",
              FAMILIES[fam], fname((smax_func)f), smax_format_name((smax_format)fmt));
      }
}

int main(int argc, char **argv) {
  verbose = argc > 1 && !strcmp(argv[1], "-v");
  test_registered();
  test_naive_overflow();
  test_thousands();
  test_accurate_vs_stable();
  test_subnormal_terms();
  test_specials();
  test_masked_rows();
  test_empty();
  test_bad_dy();
  test_invalid();
  test_claims();
  if (verbose)
    for (size_t i = 0; i < nstats; i++) {
      const smax_kernel *k = stats[i].k;
      printf("%-9s %-16s %-8s max %9.3g ulp (claim there %9.3g), max error/claim %.3g (%s), "
             "%lu outputs\n", k->name, fname(k->func), smax_format_name(k->fmt),
             stats[i].worst_err, stats[i].worst_allow, stats[i].worst_ratio, stats[i].where,
             stats[i].outputs);
    }
  oracle_cleanup();
  printf("%d passed, %d failed\n", npass, nfail);
  return nfail != 0;
}

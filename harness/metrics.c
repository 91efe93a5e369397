/* metrics.c -- one kernel on one batch, judged by the oracle: ULP error
 * statistics (the one ULP metric, oracle_ulp_error), the ratio to the
 * Blanchard-Higham-Higham bound and to the kernel's own claim, sum-to-one
 * drift summed exactly, special-value verdicts per oracle/SEMANTICS.md
 * case, invariants, determinism and throughput. */
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kcall.h"
#include "kio.h"
#include "metrics.h"
#include "special.h"

const char *const met_case_name[MET_NCASES] = {
    "C0-empty", "C1-nan-x", "C2-bad-dy", "C3-pinf-multi",
    "C4-pinf-one", "C5-all-masked", "C6-part-masked", "C7-finite"};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int is_vjp(smax_func f) { return f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP; }
static size_t nout(smax_func f, size_t n) { return f == SMAX_LOGSUMEXP ? 1 : n; }

/* kernel input buffers for a batch (row stride n) */
typedef struct { unsigned char *x, *dy, *y, *loss; } bufs;
static int bufs_make(bufs *B, const smax_kernel *k, const batch *b) {
  size_t tot = b->rows * b->n + 1;
  B->x = malloc(tot * 8), B->dy = malloc(tot * 8), B->y = calloc(tot, 8), B->loss = calloc(b->rows + 1, 8);
  if (!B->x || !B->dy || !B->y || !B->loss) return -1;
  for (size_t i = 0; i < b->rows * b->n; i++) {
    kio_store_in(k->fmt, B->x, i, b->x[i]);
    kio_store_in(k->fmt, B->dy, i, b->dy[i]);
  }
  return 0;
}
static void bufs_free(bufs *B) { free(B->x), free(B->dy), free(B->y), free(B->loss); }

static int run(const smax_kernel *k, const batch *b, const bufs *B, int threads) {
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = b->rows, a.n = b->n, a.x = B->x, a.x_stride = b->n, a.dy = B->dy, a.dy_stride = b->n;
  a.mask = b->mask, a.mask_stride = b->n, a.target = b->target, a.y = B->y;
  a.y_stride = nout(k->func, b->n), a.loss = B->loss, a.tau = b->tau, a.in_scale = b->in_scale;
  a.threads = threads;
  return kernel_call(k, &a); /* routes kernels running in a child (proxy.h) */
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b)); }
static int cmp_d(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return (u > v) - (u < v);
}

/* the Blanchard-Higham-Higham leading-order bound, in unit roundoffs, for
 * output y of a row with n entries and spread s = (max - min)/tau */
static double bhh_bound(smax_func f, size_t n, double s, double y) {
  switch (f) {
  case SMAX_LOG_SOFTMAX: case SMAX_LOGSUMEXP: case SMAX_CROSS_ENTROPY:
    return 1 + ((double)n + 1 + s) / fmax(fabs(y), 0x1p-1000);
  default: return (double)n + 2 + 2 * s;   /* shifted softmax, and its VJPs */
  }
}

/* outputs of the oracle for one row, as the kernel lays them out
 * (cross-entropy: n gradients, then the loss at index n) */
static void oracle_row(const smax_kernel *k, const batch *b, size_t r, double *want, oracle_xval *xv) {
  const oracle_format *of = kio_oracle_format(k->fmt);
  size_t n = b->n;
  oracle_params p = {b->tau, b->in_scale, b->mask + r * n, b->dy + r * n, b->target[r]};
  if (k->func == SMAX_CROSS_ENTROPY) {
    oracle_eval(ORACLE_CROSS_ENTROPY_GRAD, of, n, b->x + r * n, &p, want, xv, NULL);
    oracle_eval(ORACLE_CROSS_ENTROPY, of, n, b->x + r * n, &p, want + n, xv + n, NULL);
  } else {
    oracle_eval((oracle_func)k->func, of, n, b->x + r * n, &p, want, xv, NULL);
  }
}

static double got_at(const smax_kernel *k, const batch *b, const bufs *B, size_t r, size_t o) {
  if (k->func == SMAX_CROSS_ENTROPY && o == b->n) return kio_load_out(k->fmt, B->loss, r);
  return kio_load_out(k->fmt, B->y, r * nout(k->func, b->n) + o);
}

/* Chooses which entries of an n-row a special-case example shows: every
 * index when n <= MET_EX_VALS, else the first non-finite or masked inputs
 * (up to 4, they make the case) and then the lowest other indices; sorted.
 * Returns the count written to idx (MET_EX_VALS entries). */
static size_t example_pick(const double *x, const unsigned char *mk, size_t n, size_t *idx) {
  size_t k = 0;
  for (size_t i = 0; i < n && k < 4 && n > MET_EX_VALS; i++)
    if (mk[i] || !isfinite(x[i])) idx[k++] = i;
  for (size_t i = 0; i < n && k < MET_EX_VALS; i++) {
    int seen = 0;
    for (size_t j = 0; j < k; j++) seen |= idx[j] == i;
    if (!seen) idx[k++] = i;
  }
  for (size_t a = 1; a < k; a++) /* insertion sort: at most MET_EX_VALS */
    for (size_t b = a; b > 0 && idx[b - 1] > idx[b]; b--) { size_t t = idx[b]; idx[b] = idx[b - 1], idx[b - 1] = t; }
  return k;
}

/* Writes v at the chosen indices in %a into out (MET_EX_LEN bytes), as
 * "[i]=v" when the row is cut (then "(n=LEN)" ends it); masked entries
 * (mask[i] != 0) as -inf. */
static void example_vals(char *out, const double *v, const unsigned char *mask, size_t len,
                         const size_t *idx, size_t k) {
  size_t at = 0;
  out[0] = 0;
  for (size_t j = 0; j < k && idx[j] < len; j++) {
    double e = mask && mask[idx[j]] ? -INFINITY : v[idx[j]];
    if (len > k) at += (size_t)snprintf(out + at, MET_EX_LEN - at, "%s[%zu]=%a", j ? " " : "", idx[j], e);
    else at += (size_t)snprintf(out + at, MET_EX_LEN - at, "%s%a", j ? " " : "", e);
  }
  if (len > k) snprintf(out + at, MET_EX_LEN - at, " (n=%zu)", len);
}

static void verdict_merge(char *cell, const char *v) {
  if (!cell[0]) snprintf(cell, 48, "%s", v);
  else if (strcmp(cell, v) && strcmp(cell, "wrong")) {
    if (!strcmp(v, "wrong")) snprintf(cell, 48, "wrong");
    else if (strstr(cell, v) == NULL && strlen(cell) + strlen(v) + 2 < 48) {
      strcat(cell, "+");
      strcat(cell, v);
    }
  }
}

/* |sum(y) - 1| with the sum of the outputs taken exactly (MPFR, 2200 bits
 * holds any sum of n < 2^100 binary64 values exactly) */
static double exact_drift(const double *y, size_t n, double ulp1) {
  mpfr_t s, t;
  mpfr_inits2(2200, s, t, (mpfr_ptr)0);
  mpfr_set_si(s, -1, MPFR_RNDN);
  for (size_t i = 0; i < n; i++) mpfr_set_d(t, y[i], MPFR_RNDN), mpfr_add(s, s, t, MPFR_RNDN);
  double d = fabs(mpfr_get_d(s, MPFR_RNDU)) / ulp1;
  mpfr_clears(s, t, (mpfr_ptr)0);
  return d;
}

/* max over outputs of |a - b| / ulp(exact), the outputs of two runs */
static double ulp_diff(const oracle_format *of, const double *a, const double *b,
                       const oracle_xval *xv, size_t no) {
  double mx = 0;
  for (size_t o = 0; o < no; o++) {
    if (same(a[o], b[o])) continue;
    if (!isfinite(a[o]) || !isfinite(b[o])) return INFINITY;
    mx = fmax(mx, fabs(a[o] - b[o]) / ldexp(1, (int)oracle_ulp_exp(of, &xv[o])));
  }
  return mx;
}

/* run the kernel on one row x (shifted or permuted copy), outputs to y */
static int run_row(const smax_kernel *k, const batch *b, size_t r, const double *x,
                   const unsigned char *m, const double *dy, double *y) {
  batch one = *b;
  one.rows = 1, one.x = (double *)x, one.mask = (unsigned char *)m, one.dy = (double *)dy;
  one.target = b->target + r;
  bufs B;
  if (bufs_make(&B, k, &one)) { bufs_free(&B); return -1; }
  int rc = run(k, &one, &B, 1);
  size_t no = nout(k->func, b->n) + (k->func == SMAX_CROSS_ENTROPY);
  for (size_t o = 0; o < no; o++) y[o] = got_at(k, &one, &B, 0, o);
  bufs_free(&B);
  return rc;
}

/* invariants on finite row r: exact shift, reversal, monotonicity */
static void invariants(const smax_kernel *k, const batch *b, size_t r, const double *got,
                       const oracle_xval *xv, metrics *m) {
  smax_func f = k->func;
  if (f != SMAX_SOFTMAX && f != SMAX_LOG_SOFTMAX && f != SMAX_LOGSUMEXP) return;
  size_t n = b->n;
  const double *x = b->x + r * n, *dy = b->dy + r * n;
  const unsigned char *mk = b->mask + r * n;
  const oracle_format *of = kio_oracle_format(k->fmt);
  double *xs = malloc(n * sizeof *xs), *y2 = malloc((n + 1) * sizeof *y2), *yr = malloc((n + 1) * sizeof *yr);
  unsigned char *mr = malloc(n);
  /* shift by c (one int8 step for fixed point), when every x + c is exact */
  double c = kio_fixed(k->fmt) ? 1 : 1.0;
  int exact = f != SMAX_LOGSUMEXP;
  for (size_t i = 0; i < n && exact; i++) {
    xs[i] = x[i] + c;
    exact = mk[i] || (xs[i] - c == x[i] && kio_round_in(k->fmt, xs[i]) == xs[i]);
  }
  if (exact && !run_row(k, b, r, xs, mk, dy, y2)) m->shift_ulp = fmax(m->shift_ulp, ulp_diff(of, got, y2, xv, n));
  /* reversal: outputs must be the reversed outputs */
  for (size_t i = 0; i < n; i++) xs[i] = x[n - 1 - i], mr[i] = mk[n - 1 - i];
  double *dr = malloc(n * sizeof *dr);
  for (size_t i = 0; i < n; i++) dr[i] = dy[n - 1 - i];
  if (!run_row(k, b, r, xs, mr, dr, y2)) {
    size_t no = nout(f, n);
    for (size_t o = 0; o < no; o++) yr[o] = no == 1 ? y2[0] : y2[n - 1 - o];
    m->perm_ulp = fmax(m->perm_ulp, ulp_diff(of, got, yr, xv, no));
  }
  /* monotonicity: x_i > x_j (both unmasked) must give y_i >= y_j */
  if (f != SMAX_LOGSUMEXP)
    for (size_t i = 0; i + 1 < n; i++)
      for (size_t j = i + 1; j < n && j < i + 64; j++) {
        if (mk[i] || mk[j]) continue;
        if ((x[i] > x[j] && got[i] < got[j]) || (x[j] > x[i] && got[j] < got[i])) m->mono_viol++;
      }
  free(xs), free(y2), free(yr), free(mr), free(dr);
}

int metrics_eval(const smax_kernel *k, const family *fam, const batch *b,
                 unsigned long seed, int threads, metrics *m) {
  memset(m, 0, sizeof *m);
  m->det_repeat = m->det_threads = -1;
  m->max_ratio = m->max_claim_ratio = 0;
  const oracle_format *of = kio_oracle_format(k->fmt);
  size_t n = b->n, no = nout(k->func, n) + (k->func == SMAX_CROSS_ENTROPY);
  size_t per = nout(k->func, n) * b->rows;
  bufs B, B2;
  memset(&B2, 0, sizeof B2);
  if (bufs_make(&B, k, b) || bufs_make(&B2, k, b)) {
    snprintf(m->repro, sizeof m->repro, "out of memory");
    bufs_free(&B), bufs_free(&B2);
    return -1;
  }
  double t0 = now();
  if (run(k, b, &B, threads)) {
    snprintf(m->repro, sizeof m->repro, "kernel %s rejected the arguments (n=%zu, tau=%a)", k->name, n, b->tau);
    bufs_free(&B), bufs_free(&B2);
    return -1;
  }
  double dt = now() - t0;
  m->elem_per_s = dt > 0 ? (double)(b->rows * n) / dt : INFINITY;
  /* determinism: a repeated run, and thread counts 1..4 for threaded kernels */
  size_t ybytes = (per + 1) * kio_out_size(k->fmt), lbytes = b->rows * kio_out_size(k->fmt);
  run(k, b, &B2, threads);
  m->det_repeat = !memcmp(B.y, B2.y, ybytes) && !memcmp(B.loss, B2.loss, lbytes);
  if (k->flags & SMAX_THREADED) {
    m->det_threads = 1;
    for (int t = 1; t <= 4; t++) {
      memset(B2.y, 0, ybytes);
      run(k, b, &B2, t);
      if (memcmp(B.y, B2.y, ybytes) || memcmp(B.loss, B2.loss, lbytes)) m->det_threads = 0;
    }
  }
  double *errs = malloc((b->rows * no + 1) * sizeof *errs);
  double *got = malloc((no + 1) * sizeof *got), *want = malloc((no + 1) * sizeof *want);
  oracle_xval *xv = malloc((no + 1) * sizeof *xv);
  size_t ne = 0, ncr = 0, inv_rows = 0;
  double sum = 0, ulp1 = of->kind == ORACLE_FLOAT ? ldexp(1, 1 - of->p) : ldexp(1, -of->frac);
  double u = of->kind == ORACLE_FLOAT ? ldexp(1, -of->p) : 0;
  int ftz = special_declared(k->convention, "ftz");
  for (size_t r = 0; r < b->rows; r++) {
    const double *x = b->x + r * n;
    const unsigned char *mk = b->mask + r * n;
    int cs = special_case(k->func, x, mk, b->dy + r * n, n);
    m->case_rows[cs]++;
    oracle_row(k, b, r, want, xv);
    for (size_t o = 0; o < no; o++) got[o] = got_at(k, b, &B, r, o);
    if (cs < 6) { /* special: fixed point has no reference for NaN rows */
      int nanref = 0;
      for (size_t o = 0; o < no; o++) nanref |= isnan(want[o]) != 0;
      special_row sr = {cs, n, x, b->dy + r * n, mk, b->target[r], b->tau, b->in_scale, got, want};
      const char *v = of->kind == ORACLE_FIXED && nanref ? "n/a" : special_classify(k, &sr);
      verdict_merge(m->case_verdict[cs], v);
      int rank = !strcmp(v, "wrong") ? 2 : strcmp(v, "reference") && strcmp(v, "n/a");
      if (!m->case_input[cs][0] || rank > m->case_rank[cs]) { /* keep the worst example */
        m->case_rank[cs] = rank;
        size_t idx[MET_EX_VALS], oidx[MET_EX_VALS + 1], ki = example_pick(x, mk, n, idx), ko = ki;
        memcpy(oidx, idx, sizeof idx);
        if (no == 1) oidx[0] = 0, ko = 1;            /* logsumexp: its one output */
        else if (no == n + 1) oidx[ko++] = n;        /* cross-entropy: index n is the loss */
        example_vals(m->case_input[cs], x, mk, n, idx, ki);
        example_vals(m->case_got[cs], got, NULL, no, oidx, ko);
        example_vals(m->case_want[cs], want, NULL, no, oidx, ko);
      }
      continue;
    }
    double mx = -INFINITY, mn = INFINITY;
    for (size_t i = 0; i < n; i++)
      if (!mk[i]) mx = fmax(mx, x[i] * b->in_scale), mn = fmin(mn, x[i] * b->in_scale);
    double spread = (mx - mn) / b->tau, gscale = 0;
    for (size_t i = 0; i < n && is_vjp(k->func); i++) gscale = fmax(gscale, fabs(b->dy[r * n + i]) / b->tau);
    if (k->func == SMAX_CROSS_ENTROPY) gscale = 1 / b->tau;
    /* no declared claim (third-party kernels need not): ratio 0, no failures */
    int claimed = kernel_has_claim(k) &&
                  !(k->claim.max_abs_input > 0 && fmax(fabs(mx), fabs(mn)) / b->tau > k->claim.max_abs_input);
    for (size_t o = 0; o < no; o++) {
      double unc = 0, e = kio_error(k->fmt, got[o], want[o], &xv[o], &unc);
      if (ftz && got[o] == 0 && e > 0 && of->kind == ORACLE_FLOAT && isfinite(xv[o].hi) &&
          fabs(ldexp(xv[o].hi + xv[o].lo, (int)xv[o].e)) < ldexp(1, of->emin))
        e = 0, m->ftz_outputs++; /* declared ftz: a subnormal result flushed to 0 is the convention */
      ncr += same(got[o], want[o]);
      errs[ne++] = e;
      if (isfinite(e)) m->max_finite_ulp = fmax(m->max_finite_ulp, e);
      else m->nonfinite++;
      sum += isfinite(e) ? e : 0;
      if (e > m->max_ulp || ne == 1) {
        m->max_ulp = e, m->worst_row = r, m->worst_out = o, m->worst_got = got[o], m->worst_want = want[o];
      }
      double ulp = ldexp(1, (int)oracle_ulp_exp(of, &xv[o]));
      double allow = kernel_claim_allow(k, n, spread, ulp, u, gscale);
      if (claimed && allow > 0) m->max_claim_ratio = fmax(m->max_claim_ratio, e / allow);
      if (claimed && e > allow + unc) m->failures++;
      double yv = ldexp(xv[o].hi + xv[o].lo, (int)xv[o].e);
      /* the bound is for relative error: outputs in the normal range only */
      if (u > 0 && fabs(yv) >= ldexp(1, of->emin) && isfinite(yv) && isfinite(got[o])) {
        double rel = fabs(got[o] - yv) / fabs(yv);
        m->max_ratio = fmax(m->max_ratio, rel / (bhh_bound(k->func, n, spread, yv) * u));
      }
    }
    if (k->func == SMAX_SOFTMAX) m->max_drift = fmax(m->max_drift, exact_drift(got, n, ulp1));
    if (inv_rows < 8 && n > 1) invariants(k, b, r, got, xv, m), inv_rows++;
  }
  m->outputs = ne;
  if (ne) {
    qsort(errs, ne, sizeof *errs, cmp_d);
    m->mean_ulp = sum / (double)ne;
    m->p50 = errs[(ne - 1) / 2];
    m->p99 = errs[(size_t)((double)(ne - 1) * 0.99)];
    m->p999 = errs[(size_t)((double)(ne - 1) * 0.999)];
    m->pct_cr = 100.0 * (double)ncr / (double)ne;
  }
  snprintf(m->repro, sizeof m->repro,
           "smaxcheck eval --kernel %s --func %s --format %s --family %s --n %zu --rows %zu --tau %a --seed %lu --show-row %zu",
           k->name, smax_func_name(k->func), smax_format_name(k->fmt), fam ? fam->name : "?", n,
           b->rows, b->tau, seed, m->worst_row);
  free(errs), free(got), free(want), free(xv);
  bufs_free(&B), bufs_free(&B2);
  return 0;
}

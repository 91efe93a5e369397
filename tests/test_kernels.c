/* test_kernels.c -- every registered kernel against its own accuracy claim
 * (kernel.h: smax_claim), judged by the oracle, on seeded finite rows:
 * normal at two scales, ties, masked entries, values near the format's exp
 * overflow threshold, n from 1 to 1000, tau in {1, 0.5, 3}, several rows
 * per call with a row stride larger than n.  Special-value rows are the
 * family tests' business.  Kernels flagged SMAX_BROKEN must FAIL their claim
 * somewhere (a broken kernel that passes means the test cannot bite).
 * One line per failure: kernel, function, format, tau, the row in %a. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "families.h"
#include "kio.h"

static int npass, nfail;
static uint64_t rng = 42; /* the harness's splitmix64 (families.h) */
static double unif(void) { return rng_unif(&rng); }
static double gauss(void) { return rng_gauss(&rng); }

/* exp overflow threshold of the real input, per format */
static double overflow_x(smax_format f) {
  switch (f) {
  case SMAX_F64: return 709;
  case SMAX_F16: return 11;
  case SMAX_F32: case SMAX_BF16: return 88;
  default: return 100;
  }
}

/* one row of family `fam` into x (doubles, storable), mask, dy */
static void gen_row(smax_format f, int fam, size_t n, double *x, unsigned char *m, double *dy) {
  int fixed = kio_fixed(f);
  double big = f == SMAX_F16 ? 4 : 10;
  for (size_t i = 0; i < n; i++) {
    double v;
    switch (fam) {
    case 0: v = fixed ? 40 * gauss() : gauss(); break;
    case 1: v = fixed ? 120 * gauss() : big * gauss(); break;
    case 2: v = (double)(int)(unif() * 3); break;                  /* ties */
    case 3: v = fixed ? 60 * gauss() : 3 * gauss(); break;         /* masked */
    default: v = fixed ? 127 - 10 * unif() : overflow_x(f) - 2 * unif(); break;
    }
    x[i] = kio_round_in(f, v);
    m[i] = fam == 3 && unif() < 0.3;
    dy[i] = kio_round_in(f, fixed ? 0 : gauss());
  }
  if (fam == 3) m[(size_t)(unif() * n)] = 0; /* at least one unmasked */
}

static double u_of(const oracle_format *of) { return of->kind == ORACLE_FLOAT ? ldexp(1, -of->p) : 0; }

/* check one output against the claim */
static int judge(const smax_kernel *k, const oracle_format *of, double got, double want,
                 const oracle_xval *xv, size_t n, double spread, double *worst) {
  double unc, e = kio_error(k->fmt, got, want, xv, &unc);
  double ulp = ldexp(1, (int)oracle_ulp_exp(of, xv));
  double allow = k->claim.ulp_const + k->claim.ulp_per_n * (double)n +
                 k->claim.ulp_per_spread * spread +
                 k->claim.abs_u_per_n * (double)n * u_of(of) / ulp;
  if (e - allow > *worst) *worst = e - allow;
  return e <= allow + unc;
}

static void print_row(const smax_kernel *k, double tau, size_t n, const double *x,
                      const unsigned char *m, const double *dy, long t, size_t o,
                      double got, double want) {
  printf("FAIL %s %s %s tau=%a target=%ld output %zu: got %a oracle %a x=[", k->name,
         smax_func_name(k->func), smax_format_name(k->fmt), tau, t, o, got, want);
  for (size_t i = 0; i < n && i < 64; i++)
    printf(i ? " %a" : "%a", m[i] ? -INFINITY : x[i]);
  printf(n > 64 ? " ...]" : "]");
  if (k->func == SMAX_SOFTMAX_VJP || k->func == SMAX_LOG_SOFTMAX_VJP) {
    printf(" dy=[");
    for (size_t i = 0; i < n && i < 64; i++) printf(i ? " %a" : "%a", dy[i]);
    printf("]");
  }
  printf("\n");
}

/* run kernel k on `rows` rows of family fam, length n; returns failures */
static int check(const smax_kernel *k, int fam, size_t n, double tau, int quiet) {
  const size_t rows = 3, stride = n + 5;
  const oracle_format *of = kio_oracle_format(k->fmt);
  double *x = malloc(rows * stride * sizeof *x), *dy = malloc(rows * stride * sizeof *dy);
  unsigned char *m = calloc(rows * stride, 1);
  unsigned char *xb = calloc(rows * stride, 8), *dyb = calloc(rows * stride, 8),
                *yb = calloc(rows * stride, 8), *lb = calloc(rows, 8);
  int32_t tg[3];
  for (size_t r = 0; r < rows; r++) {
    gen_row(k->fmt, fam, n, x + r * stride, m + r * stride, dy + r * stride);
    for (size_t i = 0; i < n; i++) {
      kio_store_in(k->fmt, xb, r * stride + i, x[r * stride + i]);
      kio_store_in(k->fmt, dyb, r * stride + i, dy[r * stride + i]);
    }
    tg[r] = (int32_t)(unif() * n);
    while (m[r * stride + tg[r]]) tg[r] = (int32_t)((tg[r] + 1) % n);
  }
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = rows, a.n = n, a.x = xb, a.x_stride = stride, a.dy = dyb, a.dy_stride = stride;
  a.mask = m, a.mask_stride = stride, a.target = tg, a.y = yb;
  a.y_stride = k->func == SMAX_LOGSUMEXP ? 1 : stride;
  a.loss = lb, a.tau = tau, a.in_scale = kio_fixed(k->fmt) ? 1.0 / 16 : 1;
  int fails = 0;
  if (k->run(&a)) {
    if (!quiet) printf("FAIL %s %s %s: run returned nonzero (n=%zu tau=%a)\n", k->name,
                       smax_func_name(k->func), smax_format_name(k->fmt), n, tau);
    fails = 1;
    goto out;
  }
  for (size_t r = 0; r < rows; r++) {
    const double *xr = x + r * stride, *dr = dy + r * stride;
    const unsigned char *mr = m + r * stride;
    double mx = -INFINITY, mn = INFINITY;
    for (size_t i = 0; i < n; i++)
      if (!mr[i]) mx = fmax(mx, xr[i] * a.in_scale), mn = fmin(mn, xr[i] * a.in_scale);
    if (k->claim.max_abs_input > 0 && fmax(fabs(mx), fabs(mn)) / tau > k->claim.max_abs_input) continue;
    double spread = (mx - mn) / tau, worst = -INFINITY;
    oracle_params p = {tau, a.in_scale, mr, dr, tg[r]};
    size_t no = k->func == SMAX_LOGSUMEXP ? 1 : n;
    double *want = malloc((n + 1) * sizeof *want);
    oracle_xval *xv = malloc((n + 1) * sizeof *xv);
    oracle_func of_ = k->func == SMAX_CROSS_ENTROPY ? ORACLE_CROSS_ENTROPY_GRAD : (oracle_func)k->func;
    oracle_eval(of_, of, n, xr, &p, want, xv, NULL);
    for (size_t o = 0; o < no; o++) {
      double got = kio_load_out(k->fmt, yb, r * a.y_stride + o);
      if (!judge(k, of, got, want[o], &xv[o], n, spread, &worst)) {
        if (!quiet && fails < 3) print_row(k, tau, n, xr, mr, dr, tg[r], o, got, want[o]);
        fails++;
      }
    }
    if (k->func == SMAX_CROSS_ENTROPY) { /* the fused loss */
      oracle_eval(ORACLE_CROSS_ENTROPY, of, n, xr, &p, want, xv, NULL);
      double got = kio_load_out(k->fmt, lb, r);
      if (!judge(k, of, got, want[0], &xv[0], n, spread, &worst)) {
        if (!quiet && fails < 3) print_row(k, tau, n, xr, mr, dr, tg[r], n, got, want[0]);
        fails++;
      }
    }
    free(want), free(xv);
  }
out:
  free(x), free(dy), free(m), free(xb), free(dyb), free(yb), free(lb);
  return fails;
}

int main(int argc, char **argv) {
  const char *only = argc > 1 ? argv[1] : NULL; /* optional kernel name prefix */
  size_t nk;
  const smax_kernel *k = smax_registry(&nk);
  const size_t ns[] = {1, 2, 3, 7, 16, 100, 1000};
  const double taus[] = {1, 0.5, 3};
  size_t tested = 0;
  for (size_t i = 0; i < nk; i++) {
    if (only && strncmp(k[i].name, only, strlen(only))) continue;
    int broken = (k[i].flags & SMAX_BROKEN) != 0, fails = 0;
    for (int fam = 0; fam < 5; fam++)
      for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < 3; b++) fails += check(&k[i], fam, ns[a], taus[b], broken) != 0;
    tested++;
    if (broken) {
      if (fails) npass++;
      else { nfail++; printf("FAIL %s %s %s: flagged broken but met its claim everywhere\n",
                             k[i].name, smax_func_name(k[i].func), smax_format_name(k[i].fmt)); }
    } else {
      if (fails) nfail++;
      else npass++;
    }
  }
  if (tested == 0) { printf("FAIL no kernel registered%s%s\n", only ? " matching " : "", only ? only : ""); nfail++; }
  oracle_cleanup();
  printf("%d passed, %d failed\n", npass, nfail);
  return nfail != 0;
}

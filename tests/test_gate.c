/* test_gate.c -- the gate bites: deliberately broken variants of registered
 * kernels, presented under the real kernel's name (as a bad kernel change
 * would be), must fail the checked-in thresholds, each on the metric its
 * defect breaks; and the thresholds file itself must parse.
 *   1. stable softmax binary32 with the max shift dropped   -> max_ulp (overflow)
 *   2. stable log_softmax binary64 accumulating in float     -> bound_ratio
 *      (its max_ulp, ~2^53 at outputs near 0, is within the accepted
 *      absolute error u of log-domain outputs: the bound ratio, relative
 *      to the BHH bound that allows for |y| near 0, is what it breaks)
 *   3. stable softmax binary32 returning zeros for all-masked rows and NaN
 *      inputs                                                 -> special
 *   4. stable softmax binary32 normalising by a sum that skips the last
 *      element                                                -> drift, max_ulp
 * Also: a malformed thresholds file is rejected with file:line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate.h"

static int npass, nfail;
#define CHECK(c, ...) do { if (c) npass++; else { nfail++; printf("FAIL "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static const unsigned char *maskrow(const smax_args *a, size_t r) {
  return a->mask ? a->mask + r * a->mask_stride : NULL;
}

/* 1: no max shift */
static int noshift(const smax_args *a) {
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = (const float *)a->x + r * a->x_stride;
    float *y = (float *)a->y + r * a->y_stride, s = 0;
    const unsigned char *m = maskrow(a, r);
    for (size_t i = 0; i < a->n; i++) s += y[i] = m && m[i] ? 0 : expf(x[i] / (float)a->tau);
    for (size_t i = 0; i < a->n; i++) y[i] /= s;
  }
  return 0;
}
/* 2: binary64 log_softmax computed in float */
static int floatacc(const smax_args *a) {
  for (size_t r = 0; r < a->rows; r++) {
    const double *x = (const double *)a->x + r * a->x_stride;
    double *y = (double *)a->y + r * a->y_stride;
    const unsigned char *m = maskrow(a, r);
    float mx = -INFINITY, s = 0;
    for (size_t i = 0; i < a->n; i++) if (!(m && m[i])) mx = fmaxf(mx, (float)(x[i] / a->tau));
    for (size_t i = 0; i < a->n; i++) if (!(m && m[i])) s += expf((float)(x[i] / a->tau) - mx);
    for (size_t i = 0; i < a->n; i++) y[i] = m && m[i] ? -INFINITY : (float)(x[i] / a->tau) - mx - logf(s);
  }
  return 0;
}
/* 3: "safe" zeros for anything special */
static int zeros(const smax_args *a) {
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = (const float *)a->x + r * a->x_stride;
    float *y = (float *)a->y + r * a->y_stride, mx = -INFINITY, s = 0;
    const unsigned char *m = maskrow(a, r);
    int bad = 0;
    for (size_t i = 0; i < a->n; i++) if (!(m && m[i])) mx = fmaxf(mx, x[i] / (float)a->tau), bad |= isnan(x[i]);
    for (size_t i = 0; i < a->n; i++) s += y[i] = m && m[i] ? 0 : expf(x[i] / (float)a->tau - mx);
    for (size_t i = 0; i < a->n; i++) y[i] = bad || !(s > 0) || !isfinite(s) ? 0 : y[i] / s;
  }
  return 0;
}
/* 4: the sum skips the last element */
static int shortsum(const smax_args *a) {
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = (const float *)a->x + r * a->x_stride;
    float *y = (float *)a->y + r * a->y_stride, mx = -INFINITY, s = 0;
    const unsigned char *m = maskrow(a, r);
    for (size_t i = 0; i < a->n; i++) if (!(m && m[i])) mx = fmaxf(mx, x[i] / (float)a->tau);
    for (size_t i = 0; i < a->n; i++) y[i] = m && m[i] ? 0 : expf(x[i] / (float)a->tau - mx);
    for (size_t i = 0; i + 1 < a->n; i++) s += y[i];
    if (a->n == 1) s = y[0];
    for (size_t i = 0; i < a->n; i++) y[i] /= s;
  }
  return 0;
}

static const struct { smax_fn fn; smax_func f; smax_format fmt; const char *expect; } broken[] = {
    {noshift, SMAX_SOFTMAX, SMAX_F32, "max_ulp"},
    {floatacc, SMAX_LOG_SOFTMAX, SMAX_F64, "bound_ratio"},
    {zeros, SMAX_SOFTMAX, SMAX_F32, "special"},
    {shortsum, SMAX_SOFTMAX, SMAX_F32, "drift"},
};

int main(void) {
  char err[512];
  threshold *t;
  long nt = thresholds_load(SMAXCHECK_THRESHOLDS, &t, err, sizeof err);
  CHECK(nt > 0, "thresholds file: %s", nt < 0 ? err : "empty");
  if (nt <= 0) { printf("%d passed, %d failed\n", npass, nfail); return 1; }
  size_t nk;
  const smax_kernel *reg = smax_registry(&nk);
  for (size_t b = 0; b < sizeof broken / sizeof broken[0]; b++) {
    const smax_kernel *real = NULL;
    for (size_t i = 0; i < nk; i++)
      if (!strcmp(reg[i].name, "stable") && reg[i].func == broken[b].f && reg[i].fmt == broken[b].fmt) real = &reg[i];
    CHECK(real, "no registered stable %s %s to impersonate", smax_func_name(broken[b].f), smax_format_name(broken[b].fmt));
    if (!real) continue;
    smax_kernel k = *real;
    k.run = broken[b].fn;
    k.flags |= SMAX_BROKEN;
    gate_entry e;
    gate_measure(&k, 1, &e, 2, 0);
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    size_t fails = gate_check(fp, &e, 1, t, (size_t)nt);
    fclose(fp);
    char want[96];
    snprintf(want, sizeof want, "FAIL stable %s %s %s", smax_func_name(k.func), smax_format_name(k.fmt), broken[b].expect);
    CHECK(fails > 0 && strstr(out, want), "broken variant %zu: gate did not report '%s'; output:\n%s", b + 1, want, out);
    printf("broken variant %zu (%s): %zu gate failures, e.g.\n  %.300s\n", b + 1, broken[b].expect, fails,
           out ? out : "");
    free(out);
  }
  /* malformed thresholds: named file and line */
  const char *bad = "/tmp/smaxcheck-test-thresholds.txt";
  FILE *fp = fopen(bad, "w");
  fprintf(fp, "# comment\nstable softmax binary32 max_ulp=1\nstable softmax binary64 max_ulp=abc\n");
  fclose(fp);
  threshold *t2;
  CHECK(thresholds_load(bad, &t2, err, sizeof err) < 0 && strstr(err, ":3:") && strstr(err, "abc"),
        "malformed thresholds not rejected with line 3: %s", err);
  remove(bad);
  free(t);
  oracle_cleanup();
  printf("%d passed, %d failed\n", npass, nfail);
  return nfail != 0;
}

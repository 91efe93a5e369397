/* test_adapters.c -- the third-party plugins of adapters/ against the oracle.
 *
 * Usage: test_adapters LIB.so...   (CTest passes every adapter built)
 *
 * For each plugin: dlopen, the smax_plugin_kernels symbol, the ABI version,
 * the exact set of (function, format) descriptors the adapter documents,
 * well-formed fields (convention ids from oracle/SEMANTICS.md, no claim),
 * then every kernel on seeded rows (several n, strided rows, a masked row)
 * compared with the correctly rounded oracle.  Tolerances come from the
 * algorithm class and the formats, never from the adapters' outputs:
 *
 *   The libraries compute in binary32 (bf16 data through f32), u = 2^-24,
 *   with the max-shifted three-pass softmax whose first-order error bound is
 *   (n + 2 + 2 spread) u relative (Blanchard, D. Higham & N. Higham, IMA J.
 *   Numer. Anal. 41(4), 2021), spread = (max - min) over the unmasked
 *   entries; we add 2 u for the libraries' own polynomial exp and log:
 *     E = (n + 4 + 2 spread) u.
 *   softmax          |err| <= E |s| + half an output ulp (storage rounding)
 *   log_softmax      |err| <= (|y| + spread + n + 4) 2u + half an ulp
 *                    (x_i - max, log S and the subtraction; factor 2 for the
 *                    library's log)
 *   softmax_vjp      y = s (dy - g), g = sum s_j dy_j: with s within Es
 *                    relative (Es = E, plus 2^-8 when dst is stored in
 *                    bfloat16), |err| <= s_i (|dy_i| + |g| + sum s_j |dy_j|)
 *                    (Es + (n + 2) u) + half an ulp
 *   log_softmax_vjp  y = dy - s G, G = sum dy_j:
 *                    |err| <= (|dy_i| + s_i sum |dy_j|)(Es + (n + 2) u) + half an ulp
 *   XNNPACK qu8      XNNPACK's own operator test: |q - min(256 s, 255)| <= 0.6
 *                    output units, s the exact softmax.
 * XNNPACK's f32 softmax meets these bounds.  oneDNN does not (its log is off
 * by up to ~25 u absolute, e.g. log_softmax([x]) = 0x1.8p-20, and its bf16
 * outputs are rounded more than once: adapters/README.md), so oneDNN is held
 * to the larger of these bounds and its own acceptance criterion, benchdnn's
 * (which, being relative, alone would not fit cancelling VJPs): threshold
 * trh = (5 for logsoftmax) (4 for backward) (10 for f32) eps, eps = 2^-23
 * (f32) or 2^-7 (bf16), on the relative error where |exact| > 1e-5 and on
 * the absolute error below; for log_softmax, whose error is absolute (BHH;
 * kernel.h's claim has an absolute term for it), on the absolute error below
 * |exact| = 1.  Even so oneDNN's f32 log_softmax misses benchdnn's relative
 * threshold on outputs near 0 (relative error 8e-5 at y = -0.04).
 * Rows keep outputs in the normal range (spread <= 30), where no declared
 * ftz applies.  Also checked: padding between strided output rows is not
 * written; tau = 0.5 (exact division, and exact 1/tau on gradients, whose
 * tolerances scale by 1/tau) is accepted and correct; tau = 3 on inputs
 * whose x/3 is inexact is rejected (nonzero), the adapters' policy;
 * in qu8, a masked entry gives what q = -128 gives (mask-large-negative).
 * Prints "N passed, M failed"; exit status 0 only if nothing failed.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "oracle.h"

static int passed, failed;

/* Record one check; print the message (printf-style) if it failed. */
#define CHECK(cond, ...)                      \
  do {                                        \
    if (cond) passed++;                       \
    else {                                    \
      failed++;                               \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                    \
      printf("\n");                           \
    }                                         \
  } while (0)

/* splitmix64: the test's own seeded generator. */
static uint64_t rng = 20240611;
static uint64_t rnd64(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
/* uniform in [-1, 1) */
static double unif(void) { return (double)(rnd64() >> 11) * 0x1p-52 - 1.0; }

/* ---- what each adapter documents ------------------------------------- */

typedef struct {
  const char *lib; /* file name of the plugin */
  size_t count;
  struct { smax_func f; smax_format fmt; } k[8];
} expected_set;

static const expected_set EXPECTED[] = {
    {"libsmax_xnnpack.so", 2, {{SMAX_SOFTMAX, SMAX_F32}, {SMAX_SOFTMAX, SMAX_Q8_UQ0_8}}},
    {"libsmax_onednn.so", 8,
     {{SMAX_SOFTMAX, SMAX_F32}, {SMAX_LOG_SOFTMAX, SMAX_F32}, {SMAX_SOFTMAX_VJP, SMAX_F32},
      {SMAX_LOG_SOFTMAX_VJP, SMAX_F32}, {SMAX_SOFTMAX, SMAX_BF16}, {SMAX_LOG_SOFTMAX, SMAX_BF16},
      {SMAX_SOFTMAX_VJP, SMAX_BF16}, {SMAX_LOG_SOFTMAX_VJP, SMAX_BF16}}},
};

/* The convention ids of oracle/SEMANTICS.md's glossary. */
static const char *const CONVENTION_IDS[] = {
    "reference", "ieee-nan", "ieee-partial", "ieee-propagate", "uniform-inf", "zero-row",
    "neg-inf-row", "uniform-row", "mask-large-negative", "unmask-row", "masked-const",
    "zero-loss", "mask-additive", "vjp-masked-zero", "vjp-sum-unmasked", "ignore-nan", "ftz",
    "daz", "zero-sign", "empty-error"};

/* 1 if every space-separated word of s is a known convention id. */
static int conventions_known(const char *s) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    int ok = 0;
    for (size_t i = 0; i < sizeof CONVENTION_IDS / sizeof CONVENTION_IDS[0]; i++)
      ok |= strcmp(w, CONVENTION_IDS[i]) == 0;
    if (!ok) return 0;
  }
  return 1;
}

/* ---- storage ------------------------------------------------------------ */

static const oracle_format *oformat(smax_format f) {
  switch (f) {
  case SMAX_F32: return &oracle_binary32;
  case SMAX_BF16: return &oracle_bfloat16;
  case SMAX_Q8_UQ0_8: return &oracle_uq0_8;
  default: return NULL;
  }
}
static size_t in_size(smax_format f) { return f == SMAX_F32 ? 4 : f == SMAX_BF16 ? 2 : 1; }
static size_t out_size(smax_format f) { return f == SMAX_F32 ? 4 : f == SMAX_BF16 ? 2 : 1; }

/* Store v (a value of f; for fixed point the int8 q) at element i of p. */
static void put_in(smax_format f, void *p, size_t i, double v) {
  if (f == SMAX_F32) ((float *)p)[i] = (float)v;
  else if (f == SMAX_BF16) {
    float x = (float)v;
    uint32_t u;
    memcpy(&u, &x, 4);
    ((uint16_t *)p)[i] = (uint16_t)(u >> 16); /* exact: v is a bfloat16 value */
  } else ((int8_t *)p)[i] = (int8_t)v;
}

/* The real value of output element i of p (fixed point: q / 256). */
static double get_out(smax_format f, const void *p, size_t i) {
  if (f == SMAX_F32) return ((const float *)p)[i];
  if (f == SMAX_BF16) {
    uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
  }
  return ((const uint8_t *)p)[i] / 256.0;
}

/* ---- one batch --------------------------------------------------------- */

#define XPAD 3
#define YPAD 5
#define DPAD 2
#define SENTINEL 0xA5

typedef struct {
  size_t rows, n;
  double *x, *dy;       /* rows * n, values of the format (x: q for fixed) */
  unsigned char *mask;  /* rows * n */
  void *xs, *dys, *ys;  /* strided storage */
  smax_args a;
} batch;

/* A seeded batch for kernel k: rows of N(0,1)-like values times `scale`
 * rounded to the format (int8 uniform for fixed point); row 1 (if any) has
 * ~30% masked entries, never all. */
static void batch_make(batch *b, const smax_kernel *k, size_t rows, size_t n, double scale,
                       double tau, int with_mask) {
  const oracle_format *of = oformat(k->fmt);
  int fixed = k->fmt == SMAX_Q8_UQ0_8;
  b->rows = rows, b->n = n;
  b->x = calloc(rows * n + 1, sizeof *b->x);
  b->dy = calloc(rows * n + 1, sizeof *b->dy);
  b->mask = calloc(rows * n + 1, 1);
  b->xs = calloc(rows * (n + XPAD) + 1, in_size(k->fmt));
  b->dys = calloc(rows * (n + DPAD) + 1, in_size(k->fmt));
  b->ys = malloc(rows * (n + YPAD) * out_size(k->fmt) + 1);
  memset(b->ys, SENTINEL, rows * (n + YPAD) * out_size(k->fmt) + 1);
  for (size_t r = 0; r < rows; r++)
    for (size_t i = 0; i < n; i++) {
      size_t j = r * n + i;
      b->x[j] = fixed ? (double)(int8_t)(rnd64() & 0xff)
                      : oracle_round(of, scale * (unif() + unif() + unif()));
      b->dy[j] = fixed ? 0 : oracle_round(of, unif() + unif());
      b->mask[j] = with_mask && r == 1 && i > 0 && rnd64() % 10 < 3;
      put_in(k->fmt, b->xs, r * (n + XPAD) + i, b->x[j]);
      put_in(k->fmt, b->dys, r * (n + DPAD) + i, b->dy[j]);
    }
  smax_args a = {rows, n, b->xs, n + XPAD, b->dys, n + DPAD, b->mask, n, NULL,
                 b->ys, n + YPAD, NULL, tau, fixed ? 1.0 / 16 : 1.0, 1};
  b->a = a;
}

static void batch_free(batch *b) {
  free(b->x), free(b->dy), free(b->mask), free(b->xs), free(b->dys), free(b->ys);
}

static oracle_func ofunc(smax_func f) {
  switch (f) {
  case SMAX_SOFTMAX: return ORACLE_SOFTMAX;
  case SMAX_LOG_SOFTMAX: return ORACLE_LOG_SOFTMAX;
  case SMAX_SOFTMAX_VJP: return ORACLE_SOFTMAX_VJP;
  default: return ORACLE_LOG_SOFTMAX_VJP;
  }
}

/* Compare every output of the batch (run already) with the oracle, with the
 * tolerances of the header comment. */
static void check_batch(const smax_kernel *k, const batch *b, const char *lib) {
  const double u = 0x1p-24;
  const oracle_format *of = oformat(k->fmt);
  int fixed = k->fmt == SMAX_Q8_UQ0_8;
  size_t n = b->n;
  int benchdnn = strstr(lib, "onednn") != NULL;
  int log = k->func == SMAX_LOG_SOFTMAX || k->func == SMAX_LOG_SOFTMAX_VJP;
  int bwd = k->func == SMAX_SOFTMAX_VJP || k->func == SMAX_LOG_SOFTMAX_VJP;
  double trh = (log ? 5 : 1) * (bwd ? 4 : 1) * (k->fmt == SMAX_F32 ? 10 * 0x1p-23 : 0x1p-7);
  double *ref = malloc((n + 1) * sizeof *ref), *s = malloc((n + 1) * sizeof *s);
  oracle_xval *xv = malloc((n + 1) * sizeof *xv);
  for (size_t r = 0; r < b->rows; r++) {
    const double *x = b->x + r * n, *dy = b->dy + r * n;
    const unsigned char *m = b->mask + r * n;
    oracle_params p = {b->a.tau, b->a.in_scale, m, dy, 0};
    int rc = oracle_eval(ofunc(k->func), of, n, x, &p, ref, xv, NULL);
    int rc2 = oracle_eval(ORACLE_SOFTMAX, &oracle_binary64, n, x, &p, s, NULL, NULL);
    CHECK(rc == 0 && rc2 == 0, "%s: oracle failed", lib);
    double hi = -INFINITY, lo = INFINITY, g = 0, sabs = 0, dabs = 0;
    for (size_t i = 0; i < n; i++) {
      if (m[i]) continue;
      double z = x[i] * b->a.in_scale / b->a.tau;
      hi = fmax(hi, z), lo = fmin(lo, z);
    }
    for (size_t i = 0; i < n; i++) g += s[i] * dy[i], sabs += s[i] * fabs(dy[i]), dabs += fabs(dy[i]);
    double spread = hi - lo, E = (n + 4 + 2 * spread) * u;
    double Es = E + (k->fmt == SMAX_BF16 ? 0x1p-8 : 0);
    for (size_t i = 0; i < n; i++) {
      double got = get_out(k->fmt, b->ys, r * (n + YPAD) + i);
      if (!isfinite(ref[i])) {
        CHECK(got == ref[i], "%s %s %s row %zu [%zu]: got %a, want %a", lib, smax_func_name(k->func),
              smax_format_name(k->fmt), r, i, got, ref[i]);
        continue;
      }
      double exact = ldexp(xv[i].hi + xv[i].lo, (int)xv[i].e);
      double half = 0.5 * ldexp(1.0, (int)oracle_ulp_exp(of, &xv[i])), tol;
      if (fixed) {
        got *= 256, exact = fmin(exact * 256, 255), tol = 0.6;
      } else if (k->func == SMAX_SOFTMAX) {
        tol = E * fabs(exact) + half;
      } else if (k->func == SMAX_LOG_SOFTMAX) {
        tol = (fabs(exact) + spread + n + 4) * 2 * u + half;
      } else if (k->func == SMAX_SOFTMAX_VJP) {
        tol = s[i] * (fabs(dy[i]) + fabs(g) + sabs) * (Es + (n + 2) * u) / b->a.tau + half;
      } else {
        tol = (fabs(dy[i]) + s[i] * dabs) * (Es + (n + 2) * u) / b->a.tau + half;
      }
      if (benchdnn && !fixed) /* log-domain outputs: absolute below 1 (kernel.h's claim form) */
        tol = fmax(tol, trh * fmax(fabs(exact), k->func == SMAX_LOG_SOFTMAX ? 1 : fabs(exact) > 1e-5 ? 0 : 1));
      CHECK(fabs(got - exact) <= tol, "%s %s %s n=%zu row %zu [%zu] tau=%g: got %a, exact %a, tol %g",
            lib, smax_func_name(k->func), smax_format_name(k->fmt), n, r, i, b->a.tau, got, exact, tol);
    }
    /* the padding after each output row is untouched */
    const unsigned char *pad = (const unsigned char *)b->ys + (r * (n + YPAD) + n) * out_size(k->fmt);
    int clean = 1;
    for (size_t j = 0; j < YPAD * out_size(k->fmt); j++) clean &= pad[j] == SENTINEL;
    CHECK(clean, "%s %s %s: wrote outside its output rows", lib, smax_func_name(k->func),
          smax_format_name(k->fmt));
  }
  free(ref), free(s), free(xv);
}

/* Accuracy, strides, masks and the tau policy of one kernel. */
static void test_kernel(const smax_kernel *k, const char *lib) {
  static const size_t NS[] = {1, 5, 16, 100};
  int fixed = k->fmt == SMAX_Q8_UQ0_8;
  for (size_t t = 0; t < sizeof NS / sizeof NS[0]; t++) {
    batch b;
    batch_make(&b, k, 3, NS[t], 2.0, 1.0, !fixed);
    int rc = k->run(&b.a);
    CHECK(rc == 0, "%s %s %s n=%zu: returned %d", lib, smax_func_name(k->func), smax_format_name(k->fmt),
          NS[t], rc);
    if (rc == 0) check_batch(k, &b, lib);
    batch_free(&b);
  }
  if (!fixed) {
    /* tau = 0.5: x / tau is exact, so the adapter must accept it */
    batch b;
    batch_make(&b, k, 2, 16, 2.0, 0.5, 1);
    int rc = k->run(&b.a);
    CHECK(rc == 0, "%s %s %s tau=0.5: returned %d", lib, smax_func_name(k->func), smax_format_name(k->fmt), rc);
    if (rc == 0) check_batch(k, &b, lib);
    batch_free(&b);
    /* tau = 3 on x = 1: 1/3 is not a value of the format: rejected */
    batch_make(&b, k, 1, 4, 2.0, 3.0, 0);
    for (size_t i = 0; i < 4; i++) put_in(k->fmt, b.xs, i, 1.0);
    CHECK(k->run(&b.a) != 0, "%s %s %s: inexact x/tau=1/3 accepted", lib, smax_func_name(k->func),
          smax_format_name(k->fmt));
    batch_free(&b);
  }
  if (fixed) { /* mask-large-negative: masked == q = -128 */
    batch b;
    batch_make(&b, k, 1, 16, 0, 1.0, 0);
    uint8_t with_mask[16], with_min[16];
    b.mask[3] = b.mask[7] = 1;
    int rc1 = k->run(&b.a);
    memcpy(with_mask, b.ys, 16);
    b.a.mask = NULL;
    put_in(k->fmt, b.xs, 3, -128), put_in(k->fmt, b.xs, 7, -128);
    int rc2 = k->run(&b.a);
    memcpy(with_min, b.ys, 16);
    CHECK(rc1 == 0 && rc2 == 0 && memcmp(with_mask, with_min, 16) == 0,
          "%s qu8: a masked entry differs from q = -128", lib);
    batch_free(&b);
  }
}

/* Everything about one plugin file. */
static void test_plugin(const char *path) {
  const char *lib = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  CHECK(h != NULL, "dlopen %s: %s", path, dlerror());
  if (!h) return;
  smax_plugin_fn entry;
  void *sym = dlsym(h, SMAX_PLUGIN_SYMBOL);
  CHECK(sym != NULL, "%s: no symbol %s", lib, SMAX_PLUGIN_SYMBOL);
  if (!sym) return;
  memcpy(&entry, &sym, sizeof sym);
  size_t count = 0;
  int abi = -1;
  const smax_kernel *ks = entry(&count, &abi);
  CHECK(ks != NULL && abi == SMAX_ABI_VERSION, "%s: abi %d", lib, abi);
  const expected_set *want = NULL;
  for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++)
    if (strcmp(EXPECTED[i].lib, lib) == 0) want = &EXPECTED[i];
  CHECK(want != NULL, "%s: not a known adapter", lib);
  if (!ks || !want) return;
  CHECK(count == want->count, "%s: %zu kernels, documented %zu", lib, count, want->count);
  for (size_t j = 0; j < want->count; j++) {
    size_t seen = 0;
    for (size_t i = 0; i < count; i++) seen += ks[i].func == want->k[j].f && ks[i].fmt == want->k[j].fmt;
    CHECK(seen == 1, "%s: %s %s listed %zu times", lib, smax_func_name(want->k[j].f),
          smax_format_name(want->k[j].fmt), seen);
  }
  for (size_t i = 0; i < count; i++) {
    const smax_kernel *k = &ks[i];
    const smax_claim *c = &k->claim;
    CHECK(k->name && *k->name && k->run && k->about && *k->about && k->convention, "%s: kernel %zu incomplete",
          lib, i);
    CHECK(k->convention && conventions_known(k->convention), "%s: unknown convention in '%s'", lib,
          k->convention ? k->convention : "(null)");
    CHECK(c->ulp_const == 0 && c->ulp_per_n == 0 && c->ulp_per_spread == 0 && c->abs_u_per_n == 0 &&
              c->max_abs_input == 0,
          "%s: a claim the library does not document", lib);
    CHECK(!(k->flags & SMAX_BROKEN), "%s: flagged broken", lib);
    if (k->run) test_kernel(k, lib);
  }
  /* the plugin stays loaded: libraries with thread pools dislike dlclose */
}

/* Checks each plugin named on the command line. */
int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_adapters LIB.so...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) test_plugin(argv[i]);
  oracle_cleanup();
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}

/* example.c -- how to write a smaxcheck plugin: an honest max-shifted
 * softmax and log_softmax in binary64 and binary32.
 *
 * A plugin is a shared library that includes impls/kernel.h (its only
 * public header; it depends on nothing) and exports smax_plugin_kernels,
 * returning a table of descriptors and SMAX_ABI_VERSION.  Build and measure:
 *
 *   cc -O2 -fPIC -shared -I impls -o example.so examples/plugins/example.c -lm
 *   smaxcheck compare --plugin ./example.so --builtin stable --func softmax
 *
 * `compare` loads the library in a child process (`smaxcheck serve`), so a
 * crash or a hang is reported, not suffered.  What a kernel must do
 * (kernel.h): `rows` rows of `n` elements, row r of x at x + r * x_stride
 * (y likewise, mask at mask + r * mask_stride), applied to x / tau; a
 * masked element (mask != NULL and mask[i] != 0) is -inf whatever is stored.
 * Return 0, or nonzero for arguments the kernel does not support.
 *
 * Algorithm, per row: m = max of the unmasked x; d_i = (x_i - m) / tau
 * (shifting before dividing keeps |d_i| <= spread, so exp never overflows);
 * S = sum_i e^(d_i) >= 1; softmax y_i = e^(d_i) / S, log_softmax
 * y_i = d_i - log S.  Both are computed in double: binary64 sums with
 * Neumaier's compensation (the sum's error stays near one rounding for any
 * n, instead of growing with n), binary32 converts to double, computes and
 * rounds once at the end, so its outputs are within about half an ulp.
 *
 * Special values (oracle/SEMANTICS.md), declared in `convention`: a NaN
 * among the unmasked entries makes the row NaN (reference); a row with no
 * unmasked finite-or-+inf entry (all masked) is NaN (reference); a +inf
 * entry gives inf - inf = NaN everywhere ("ieee-nan", what PyTorch does).
 *
 * Accuracy claim: none is declared (all zero: the harness reports n/a).  A
 * claim is a proof obligation -- see impls/stable.c for one derived
 * term by term -- and protocol version 1 does not carry it to `compare`. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include "kernel.h"

/* what a row computes */
typedef struct {
  int is_log; /* 0 softmax, 1 log_softmax */
  double tau;
} row_op;

/* Computes the row's outputs into y (n doubles) from x (n doubles). */
static void row(const row_op *op, const double *x, const unsigned char *mk, size_t n, double *y) {
  double m = -INFINITY;
  int nan = 0;
  for (size_t i = 0; i < n; i++) {
    if (mk && mk[i]) continue;
    if (isnan(x[i])) nan = 1;
    else if (x[i] > m) m = x[i];
  }
  if (nan || m == -INFINITY || m == INFINITY) { /* see the header: NaN row */
    for (size_t i = 0; i < n; i++) y[i] = NAN;
    return;
  }
  /* Neumaier: s + c carries the sum to about one rounding */
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    double e = (mk && mk[i]) ? 0 : exp((x[i] - m) / op->tau);
    double t = s + e;
    c += fabs(s) >= fabs(e) ? (s - t) + e : (e - t) + s;
    s = t;
  }
  s += c;
  double ls = log(s);
  for (size_t i = 0; i < n; i++) {
    int masked = mk && mk[i];
    if (op->is_log) y[i] = masked ? -INFINITY : (x[i] - m) / op->tau - ls;
    else y[i] = masked ? 0 : exp((x[i] - m) / op->tau) / s;
  }
}

/* The driver shared by the four kernels: converts each row to double,
 * computes, converts back.  f32: 1 for float storage, 0 for double. */
static int run(const smax_args *a, int is_log, int f32) {
  if (!(a->tau > 0) || a->n > ((size_t)1 << 26)) return 1; /* unsupported */
  row_op op = {is_log, a->tau};
  double *x = malloc((2 * a->n + 1) * sizeof *x), *y = x + a->n;
  if (!x) return 1;
  for (size_t r = 0; r < a->rows; r++) {
    const unsigned char *mk = a->mask ? a->mask + r * a->mask_stride : NULL;
    for (size_t i = 0; i < a->n; i++)
      x[i] = f32 ? ((const float *)a->x)[r * a->x_stride + i] : ((const double *)a->x)[r * a->x_stride + i];
    row(&op, x, mk, a->n, y);
    for (size_t i = 0; i < a->n; i++) {
      if (f32) ((float *)a->y)[r * a->y_stride + i] = (float)y[i]; /* the one rounding to binary32 */
      else ((double *)a->y)[r * a->y_stride + i] = y[i];
    }
  }
  free(x);
  return 0;
}

static int softmax_f64(const smax_args *a) { return run(a, 0, 0); }
static int log_softmax_f64(const smax_args *a) { return run(a, 1, 0); }
static int softmax_f32(const smax_args *a) { return run(a, 0, 1); }
static int log_softmax_f32(const smax_args *a) { return run(a, 1, 1); }

#define ABOUT64 "max shift, exp, Neumaier-compensated sum, divide (double)"
#define ABOUT32 "max shift, exp, sum and divide in double, one rounding to float"
/* name, function, storage format, entry, flags, conventions, claim, about */
static const smax_kernel kernels[] = {
    {"example", SMAX_SOFTMAX, SMAX_F64, softmax_f64, SMAX_DETERMINISTIC, "ieee-nan", {0, 0, 0, 0, 0}, ABOUT64},
    {"example", SMAX_LOG_SOFTMAX, SMAX_F64, log_softmax_f64, SMAX_DETERMINISTIC, "ieee-nan", {0, 0, 0, 0, 0}, ABOUT64},
    {"example", SMAX_SOFTMAX, SMAX_F32, softmax_f32, SMAX_DETERMINISTIC, "ieee-nan", {0, 0, 0, 0, 0}, ABOUT32},
    {"example", SMAX_LOG_SOFTMAX, SMAX_F32, log_softmax_f32, SMAX_DETERMINISTIC, "ieee-nan", {0, 0, 0, 0, 0}, ABOUT32},
};

/* The one exported symbol (SMAX_PLUGIN_SYMBOL): the table and the ABI
 * version this file was compiled against, which the loader checks. */
const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = sizeof kernels / sizeof kernels[0];
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

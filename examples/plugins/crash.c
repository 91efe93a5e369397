/* crash.c -- a plugin whose softmax segfaults on some inputs: any row with
 * an unmasked NaN.  `smaxcheck compare --plugin crash.so` must report a
 * `crashed` finding (SIGSEGV) for kernel "crash" with that row as its input,
 * restart the child, and measure the next kernel, "crash-survivor", an
 * honest log_softmax.  A test fixture (tests/cli_compare.sh), not a model. */
#include <math.h>
#include <stddef.h>
#include "kernel.h"

/* Plain max-shifted softmax (is_log: log_softmax) of every row, in binary64. */
static void rows(const smax_args *a, int is_log) {
  for (size_t r = 0; r < a->rows; r++) {
    const double *x = (const double *)a->x + r * a->x_stride;
    const unsigned char *mk = a->mask ? a->mask + r * a->mask_stride : NULL;
    double *y = (double *)a->y + r * a->y_stride, m = -INFINITY, s = 0;
    for (size_t i = 0; i < a->n; i++)
      if (!(mk && mk[i]) && !(x[i] <= m)) m = x[i]; /* NaN wins: the row becomes NaN */
    for (size_t i = 0; i < a->n; i++) s += (mk && mk[i]) ? 0 : exp((x[i] - m) / a->tau);
    for (size_t i = 0; i < a->n; i++) {
      int masked = mk && mk[i];
      y[i] = is_log ? (masked ? -INFINITY : (x[i] - m) / a->tau - log(s))
                 : (masked ? 0 : exp((x[i] - m) / a->tau) / s);
    }
  }
}

static int crash_softmax(const smax_args *a) {
  for (size_t r = 0; r < a->rows; r++)
    for (size_t i = 0; i < a->n; i++) {
      double v = ((const double *)a->x)[r * a->x_stride + i];
      if (isnan(v) && !(a->mask && a->mask[r * a->mask_stride + i])) {
        volatile int *volatile p = (int *)16; /* an unmapped page: SIGSEGV */
        *p = 1;
      }
    }
  rows(a, 0);
  return 0;
}

static int survivor_log_softmax(const smax_args *a) {
  rows(a, 1);
  return 0;
}

static const smax_kernel kernels[] = {
    {"crash", SMAX_SOFTMAX, SMAX_F64, crash_softmax, 0, "reference", {0, 0, 0, 0, 0},
     "softmax that dereferences a bad pointer on a NaN input"},
    {"crash-survivor", SMAX_LOG_SOFTMAX, SMAX_F64, survivor_log_softmax, 0, "reference", {0, 0, 0, 0, 0},
     "plain max-shifted log_softmax"},
};

const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = sizeof kernels / sizeof kernels[0];
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

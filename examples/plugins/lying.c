/* lying.c -- a plugin whose descriptors lie about what it computes.
 *
 * In process, a plugin writes into typed buffers, so it cannot send a value
 * its format cannot hold or the wrong number of outputs (those lies need
 * the protocol: examples/cmd/bad_cmd.c).  Its lies are of another kind,
 * which only the oracle catches, and `compare` reports them as measurements,
 * not findings: "lying" declares log_softmax but computes softmax (every
 * output off by orders of magnitude, the wrong sign), and "lying-nan"
 * declares binary32 softmax but writes NaN wherever the input is negative.
 * A test fixture (tests/cli_compare.sh). */
#include <math.h>
#include <stddef.h>
#include "kernel.h"

/* softmax of every row in float (the true function both kernels start from) */
static void softmax_rows(const smax_args *a) {
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = (const float *)a->x + r * a->x_stride;
    const unsigned char *mk = a->mask ? a->mask + r * a->mask_stride : NULL;
    float *y = (float *)a->y + r * a->y_stride, m = -INFINITY, s = 0;
    for (size_t i = 0; i < a->n; i++)
      if (!(mk && mk[i]) && !(x[i] <= m)) m = x[i];
    for (size_t i = 0; i < a->n; i++) s += (mk && mk[i]) ? 0 : expf((x[i] - m) / (float)a->tau);
    for (size_t i = 0; i < a->n; i++) y[i] = (mk && mk[i]) ? 0 : expf((x[i] - m) / (float)a->tau) / s;
  }
}

/* declared log_softmax: returns softmax */
static int lying_log_softmax(const smax_args *a) {
  softmax_rows(a);
  return 0;
}

/* declared softmax: NaN at every negative input */
static int lying_nan_softmax(const smax_args *a) {
  softmax_rows(a);
  for (size_t r = 0; r < a->rows; r++)
    for (size_t i = 0; i < a->n; i++)
      if (((const float *)a->x)[r * a->x_stride + i] < 0) ((float *)a->y)[r * a->y_stride + i] = NAN;
  return 0;
}

static const smax_kernel kernels[] = {
    {"lying", SMAX_LOG_SOFTMAX, SMAX_F32, lying_log_softmax, SMAX_DETERMINISTIC, "reference", {1, 0, 0, 0, 0},
     "claims log_softmax within 1 ulp; computes softmax"},
    {"lying-nan", SMAX_SOFTMAX, SMAX_F32, lying_nan_softmax, SMAX_DETERMINISTIC, "reference", {1, 0, 0, 0, 0},
     "claims softmax within 1 ulp; NaN at negative inputs"},
};

const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = sizeof kernels / sizeof kernels[0];
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

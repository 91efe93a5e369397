/* sloppy.c -- a plausible-looking but inaccurate plugin: a max-shifted
 * binary64 softmax whose row sum is accumulated in float, so every output
 * carries a relative error near 2^-24 instead of 2^-53.  It declares no
 * claim, so nothing but the textbook bound (Blanchard-Higham-Higham) holds
 * it: `smaxcheck report` marks it broken (bound ratio far above 2) and
 * fuzz_kernel reports it as class `bound`.  A test fixture
 * (tests/cli_compare.sh, tests/fuzz_smoke.sh). */
#include <math.h>
#include <stddef.h>
#include "kernel.h"

/* softmax over each row: max shift in double, the sum in float (the bug) */
static int softmax_f64(const smax_args *a) {
  for (size_t r = 0; r < a->rows; r++) {
    const double *x = (const double *)a->x + r * a->x_stride;
    const unsigned char *mk = a->mask ? a->mask + r * a->mask_stride : NULL;
    double *y = (double *)a->y + r * a->y_stride, m = -INFINITY;
    float s = 0;
    for (size_t i = 0; i < a->n; i++)
      if (!(mk && mk[i]) && !(x[i] <= m)) m = x[i];
    for (size_t i = 0; i < a->n; i++) s += (mk && mk[i]) ? 0.0f : (float)exp((x[i] - m) / a->tau);
    for (size_t i = 0; i < a->n; i++) y[i] = (mk && mk[i]) ? 0 : exp((x[i] - m) / a->tau) / s;
  }
  return 0;
}

static const smax_kernel kernels[] = {
    {"sloppy", SMAX_SOFTMAX, SMAX_F64, softmax_f64, SMAX_DETERMINISTIC, "ieee-nan", {0, 0, 0, 0, 0},
     "max shift in double, row sum accumulated in float"},
};

/* the plugin's descriptor table (impls/kernel.h) */
const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = sizeof kernels / sizeof kernels[0];
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

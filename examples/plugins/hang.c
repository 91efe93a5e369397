/* hang.c -- a plugin whose softmax never returns on some inputs: rows of
 * more than 8 elements.  `smaxcheck compare --plugin hang.so --timeout-ms T`
 * must report a `hung` finding for kernel "hang" after T ms, kill the child
 * (no zombie, no stray process), restart it, and measure the next kernel,
 * "hang-survivor".  It sleeps rather than spins, so a test run does not
 * take a core from the rest of the suite.  A test fixture
 * (tests/cli_compare.sh). */
#include <math.h>
#include <stddef.h>
#include <time.h>
#include "kernel.h"

/* Plain max-shifted softmax of every row, binary32 storage, float math. */
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

static int hang_softmax(const smax_args *a) {
  if (a->n > 8)
    for (;;) { /* the bug: waits for something that never happens */
      struct timespec t = {1, 0};
      nanosleep(&t, NULL);
    }
  softmax_rows(a);
  return 0;
}

static int survivor_softmax(const smax_args *a) {
  softmax_rows(a);
  return 0;
}

static const smax_kernel kernels[] = {
    {"hang", SMAX_SOFTMAX, SMAX_F32, hang_softmax, 0, "reference", {0, 0, 0, 0, 0},
     "softmax that never returns for n > 8"},
    {"hang-survivor", SMAX_SOFTMAX, SMAX_F32, survivor_softmax, 0, "reference", {0, 0, 0, 0, 0},
     "plain max-shifted softmax in float"},
};

const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = sizeof kernels / sizeof kernels[0];
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

/* xnnpack.c -- XNNPACK's softmax operators as a smaxcheck plugin
 * (libsmax_xnnpack.so, exporting smax_plugin_kernels).
 *
 * Wraps Debian's libxnnpack0 (XNNPACK git 2022-02-16), operator API:
 *   "xnnpack" softmax binary32   xnn_create/setup_softmax_nc_f32, xnn_run_operator.
 *       The library's algorithm: rmax (m = max x), then exp(x - m) by its
 *       own polynomial (stored and summed), then a multiply by 1/sum.
 *   "xnnpack" softmax q8-uq0.8   xnn_create/setup_softmax_nc_qu8.
 *       kernel.h's int8 q with real value q * in_scale is passed as the
 *       uint8 q + 128 (zero point 128, the same scale): XNNPACK's qu8
 *       softmax reads only differences x_i - max (a 256-entry table of
 *       exp((i - 255) * scale)), so the zero point does not enter.  Output
 *       scale 1/256, zero point 0, the only output XNNPACK supports, is
 *       exactly UQ0.8.  This mapping is exact: no value is changed.
 * No log_softmax, logsumexp, gradients or other formats: XNNPACK's operator
 * API of this version has none (its f16 softmax came later).
 *
 * Arguments the library lacks, handled here without adding roundings:
 *   strides  rows are gathered into a contiguous buffer (XNNPACK's own
 *            strides would do for x, but masks and tau need a copy anyway,
 *            and XNNPACK reads XNN_EXTRA_BYTES past the end of its input);
 *   masks    a masked entry is -inf (binary32); in qu8 -inf cannot be
 *            stored, so a masked entry is the int8 minimum -128 (uint8 0),
 *            what a TFLite user writes: convention mask-large-negative;
 *   tau      binary32: x is divided by tau only where the quotient is exact
 *            (prep.h), else the batch is rejected (nonzero = unsupported);
 *            qu8: tau folds into the scale (in_scale / tau), accepted when
 *            that quotient is exactly a normal binary32 (XNNPACK takes a
 *            float scale);
 *   n = 0    XNNPACK rejects 0 channels: so does the adapter (empty-error).
 * Threads: no pthreadpool is passed, so XNNPACK runs on the calling thread.
 *
 * Claim: none (all zeros): XNNPACK documents no accuracy bound (its tests
 * use relative tolerances of 1e-4 and 1e-6).  Conventions: declared from
 * runs of `smaxcheck compare` on this plugin (adapters/README.md).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <xnnpack.h>

#include "kernel.h"
#include "prep.h"

#define EXPORT __attribute__((visibility("default")))

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum xnn_status init_status = xnn_status_uninitialized;

/* Called once (pthread_once): XNNPACK's initialisation, system allocator. */
static void init_xnnpack(void) { init_status = xnn_initialize(NULL); }

/* 1 if XNNPACK is initialised (initialising it on the first call, from any
 * thread), 0 if initialisation failed (e.g. unsupported hardware).  Every
 * call creates its own operator, so concurrent calls share nothing else. */
static int xnn_ready(void) {
  pthread_once(&init_once, init_xnnpack);
  return init_status == xnn_status_success;
}

/* rows * n without overflow into *total; 0 on success, -1 on overflow. */
static int batch_size(const smax_args *a, size_t elem, size_t *total) {
  if (a->n && a->rows > SIZE_MAX / elem / a->n) return -1;
  *total = a->rows * a->n;
  return 0;
}

/* softmax, binary32: y = XNNPACK's softmax of x/tau (masked = -inf).
 * Returns 0, or 1 if unsupported (n = 0, inexact x/tau, no memory, or any
 * XNNPACK failure). */
static int run_f32(const smax_args *a) {
  size_t total;
  if (a->n == 0 || batch_size(a, sizeof(float), &total) || !xnn_ready()) return 1;
  if (a->rows == 0) return 0;
  /* XNNPACK may read (never write) XNN_EXTRA_BYTES past its buffers */
  float *in = malloc(total * sizeof *in + XNN_EXTRA_BYTES), *out = malloc(total * sizeof *out);
  xnn_operator_t op = NULL;
  int rc = 1;
  if (in && out && prep_gather(a, SMAX_F32, in) == 0 &&
      xnn_create_softmax_nc_f32(a->n, a->n, a->n, 0, &op) == xnn_status_success &&
      xnn_setup_softmax_nc_f32(op, a->rows, in, out, NULL) == xnn_status_success &&
      xnn_run_operator(op, NULL) == xnn_status_success) {
    float *y = a->y;
    for (size_t r = 0; r < a->rows; r++)
      memcpy(y + r * a->y_stride, out + r * a->n, a->n * sizeof *y);
    rc = 0;
  }
  if (op) xnn_delete_operator(op);
  free(in);
  free(out);
  return rc;
}

/* The XNNPACK input scale for real inputs q * in_scale / tau in *s: 0 if
 * in_scale / tau is exactly a normal positive binary32, else -1. */
static int qu8_scale(const smax_args *a, float *s) {
  if (!(a->in_scale > 0) || !isfinite(a->in_scale) || !(a->tau > 0) || !isfinite(a->tau)) return -1;
  double d = a->in_scale / a->tau;
  if (fma(d, a->tau, -a->in_scale) != 0.0 || (double)(float)d != d || !isnormal((float)d))
    return -1;
  *s = (float)d;
  return 0;
}

/* softmax, int8 in (x = q * in_scale), UQ0.8 out: XNNPACK's qu8 softmax of
 * q + 128 with scale in_scale / tau; masked entries read as q = -128.
 * Returns 0, or 1 if unsupported (n = 0, scale not an exact normal float,
 * no memory, or any XNNPACK failure). */
static int run_qu8(const smax_args *a) {
  size_t total;
  float scale;
  if (a->n == 0 || batch_size(a, 1, &total) || qu8_scale(a, &scale) || !xnn_ready()) return 1;
  if (a->rows == 0) return 0;
  uint8_t *in = malloc(total + XNN_EXTRA_BYTES), *out = malloc(total);
  xnn_operator_t op = NULL;
  int rc = 1;
  if (in && out) {
    const int8_t *x = a->x;
    for (size_t r = 0; r < a->rows; r++)
      for (size_t i = 0; i < a->n; i++) {
        int masked = a->mask && a->mask[r * a->mask_stride + i];
        in[r * a->n + i] = (uint8_t)((masked ? -128 : x[r * a->x_stride + i]) + 128);
      }
    if (xnn_create_softmax_nc_qu8(a->n, a->n, a->n, scale, 0, 0x1p-8f, 0, &op) == xnn_status_success &&
        xnn_setup_softmax_nc_qu8(op, a->rows, in, out, NULL) == xnn_status_success &&
        xnn_run_operator(op, NULL) == xnn_status_success) {
      uint8_t *y = a->y;
      for (size_t r = 0; r < a->rows; r++) memcpy(y + r * a->y_stride, out + r * a->n, a->n);
      rc = 0;
    }
  }
  if (op) xnn_delete_operator(op);
  free(in);
  free(out);
  return rc;
}

/* Conventions, as measured (adapters/README.md):
 * binary32: a fully masked row, a +inf entry or a NaN gives -inf in every
 *   output slot, not NaN: no convention covers that (WRONG, and declared as
 *   nothing); it is what the final multiply by 1/sum does when followed by
 *   the [-inf, +inf] output clamp (maxps(NaN, -inf) is -inf on x86).  Outputs
 *   below 2^-126 come out +0 (the exp polynomial's denormal cutoff: ftz);
 *   n = 0 is rejected (empty-error).
 * qu8: masked entries are the int8 minimum (mask-large-negative); n = 0 is
 *   rejected (empty-error). */
static const smax_kernel kernels[] = {
    {"xnnpack", SMAX_SOFTMAX, SMAX_F32, run_f32, 0, "empty-error ftz",
     {0, 0, 0, 0, 0},
     "XNNPACK git20220216 softmax_nc_f32: max, exp(x - max) polynomial summed in f32, "
     "times 1/sum; calling thread; x/tau only when exact"},
    {"xnnpack", SMAX_SOFTMAX, SMAX_Q8_UQ0_8, run_qu8, 0, "mask-large-negative empty-error",
     {0, 0, 0, 0, 0},
     "XNNPACK git20220216 softmax_nc_qu8: int8 q as uint8 q+128, 256-entry uint32 table of "
     "exp((i-255) scale), integer sum and division; scale = in_scale/tau when exact"},
};

/* The plugin entry point (kernel.h): the descriptors above, their number in
 * *count and the ABI version they follow in *abi_version.  No side effects:
 * XNNPACK is initialised by the first kernel call. */
EXPORT const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = sizeof kernels / sizeof kernels[0];
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

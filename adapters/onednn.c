/* onednn.c -- oneDNN's softmax and logsoftmax primitives as a smaxcheck
 * plugin (libsmax_onednn.so, exporting smax_plugin_kernels).
 *
 * Wraps Debian's libdnnl2 (oneDNN 2.6.3, C API, CPU engine, OpenMP build):
 *   "onednn" softmax          dnnl_softmax_forward_desc_init, axis 1
 *   "onednn" log_softmax      dnnl_logsoftmax_forward_desc_init, axis 1
 *   "onednn" softmax_vjp      forward (training) for dst = softmax(x), then
 *                             dnnl_softmax_backward_desc_init: diff_src from
 *                             dst and diff_dst = dy
 *   "onednn" log_softmax_vjp  the same with the logsoftmax primitives
 * each in binary32 (dnnl_f32) and bfloat16 (dnnl_bf16: uint16 bit patterns,
 * the same as kernel.h's SMAX_BF16), on a rows x n memory descriptor with
 * plain row-major layout.  oneDNN picks the implementation (JIT for the
 * host ISA, or the reference one) and computes bf16 through f32; the bf16
 * backward reads the bf16-rounded dst, as in a real training graph.
 * No logsumexp or cross-entropy primitive exists in oneDNN 2.6.
 *
 * Arguments the library lacks, handled without adding roundings:
 *   strides  rows are gathered into contiguous buffers (masks and tau need
 *            a copy anyway);
 *   masks    a masked entry is -inf;
 *   tau      forward: x is divided by tau only where the quotient is exact
 *            in the format (prep.h), else the batch is rejected (nonzero =
 *            unsupported); backward: oneDNN's gradient with respect to
 *            x/tau is multiplied by 1/tau only when that is exact (tau a
 *            power of two and every product a value of the format), else
 *            rejected: a rounding there would be the adapter's, not oneDNN's;
 *   n = 0    passed through: oneDNN accepts an empty axis and writes
 *            nothing (the reference).
 * Threads: smax_args.threads (0 = 1) is set as the OpenMP thread count of
 * the calling thread around each call, through the libgomp that libdnnl
 * itself loaded (dlopen RTLD_NOLOAD), and restored afterwards.
 *
 * Claim: none (all zeros).  oneDNN documents no accuracy bound; its test
 * driver benchdnn accepts 10 eps (softmax) and 50 eps (logsoftmax) relative.
 * Conventions: declared from runs of `smaxcheck compare` (adapters/README.md).
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

#include "kernel.h"
#include "prep.h"

#define EXPORT __attribute__((visibility("default")))

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;      /* CPU engine, shared: engines are thread-safe */
static int engine_ok;
static void (*omp_set)(int);      /* libgomp's omp_set_num_threads, or NULL */
static int (*omp_get)(void);      /* libgomp's omp_get_max_threads, or NULL */

/* Called once (pthread_once): the CPU engine, and libgomp's thread-count
 * functions if libdnnl brought libgomp in (Debian's build does). */
static void init_dnnl(void) {
  engine_ok = dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success;
  void *gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (gomp) { /* POSIX: data pointer to function pointer through memcpy */
    void *s = dlsym(gomp, "omp_set_num_threads"), *g = dlsym(gomp, "omp_get_max_threads");
    if (s && g) {
      memcpy(&omp_set, &s, sizeof s);
      memcpy(&omp_get, &g, sizeof g);
    }
  }
}

/* One primitive and its descriptor; both NULL when not created. */
typedef struct {
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t p;
} prim;

/* Destroy what prim holds (NULLs are skipped). */
static void prim_free(prim *q) {
  if (q->p) dnnl_primitive_destroy(q->p);
  if (q->pd) dnnl_primitive_desc_destroy(q->pd);
}

/* Create the forward (softmax or logsoftmax, per `log`) primitive over md,
 * axis 1, with propagation kind `prop`.  Returns 0 on success, -1 else. */
static int make_fwd(prim *q, int log, dnnl_prop_kind_t prop, const dnnl_memory_desc_t *md) {
  dnnl_softmax_desc_t d; /* dnnl_logsoftmax_desc_t is the same type */
  dnnl_status_t s = log ? dnnl_logsoftmax_forward_desc_init(&d, prop, md, 1)
                        : dnnl_softmax_forward_desc_init(&d, prop, md, 1);
  if (s != dnnl_success || dnnl_primitive_desc_create(&q->pd, &d, NULL, engine, NULL) != dnnl_success)
    return -1;
  return dnnl_primitive_create(&q->p, q->pd) == dnnl_success ? 0 : -1;
}

/* Create the backward primitive matching fwd (its hint).  0 or -1. */
static int make_bwd(prim *q, int log, const dnnl_memory_desc_t *md, const prim *fwd) {
  dnnl_softmax_desc_t d;
  dnnl_status_t s = log ? dnnl_logsoftmax_backward_desc_init(&d, md, md, 1)
                        : dnnl_softmax_backward_desc_init(&d, md, md, 1);
  if (s != dnnl_success || dnnl_primitive_desc_create(&q->pd, &d, NULL, engine, fwd->pd) != dnnl_success)
    return -1;
  return dnnl_primitive_create(&q->p, q->pd) == dnnl_success ? 0 : -1;
}

/* Execute p on stream st with args (k1, b1), (k2, b2)[, (k3, b3)] wrapping
 * the user buffers b* in memory objects of descriptor md.  0 or -1. */
static int exec3(dnnl_primitive_t p, dnnl_stream_t st, const dnnl_memory_desc_t *md, int nargs,
                 int k1, void *b1, int k2, void *b2, int k3, void *b3) {
  int keys[3] = {k1, k2, k3};
  void *bufs[3] = {b1, b2, b3};
  dnnl_exec_arg_t args[3];
  int made = 0, rc = -1;
  for (; made < nargs; made++) {
    args[made].arg = keys[made];
    if (dnnl_memory_create(&args[made].memory, md, engine, bufs[made]) != dnnl_success) goto out;
  }
  if (dnnl_primitive_execute(p, st, nargs, args) == dnnl_success && dnnl_stream_wait(st) == dnnl_success)
    rc = 0;
out:
  for (int i = 0; i < made; i++) dnnl_memory_destroy(args[i].memory);
  return rc;
}

/* Store floats src[rows*n] (values of fmt) contiguously as fmt elements in
 * dst (F32 floats or BF16 bit patterns). */
static void pack(smax_format fmt, const float *src, size_t count, void *dst) {
  if (fmt == SMAX_F32) {
    memcpy(dst, src, count * sizeof(float));
    return;
  }
  uint16_t *d = dst;
  for (size_t i = 0; i < count; i++) d[i] = prep_float_to_bf16_exact(src[i]);
}

/* Copy a strided rows x n batch of elem-byte elements into contiguous dst
 * (or back, when `to_strided`). */
static void restride(void *contig, void *strided, size_t rows, size_t n, size_t stride, size_t elem,
                     int to_strided) {
  for (size_t r = 0; r < rows; r++) {
    char *c = (char *)contig + r * n * elem, *s = (char *)strided + r * stride * elem;
    if (to_strided) memcpy(s, c, n * elem);
    else memcpy(c, s, n * elem);
  }
}

/* Divide the gradient g[0..count) (fmt elements) by tau in place, exactly:
 * 0 on success; -1, with g partly scaled, if tau is not a power of two or
 * some quotient is not a value of fmt (overflow, or bits lost below the
 * normal range).  v / tau is exact in binary64 for a power of two tau. */
static int unscale_exact(smax_format fmt, void *g, size_t count, double tau) {
  int e;
  if (tau == 1.0) return 0;
  if (frexp(tau, &e) != 0.5) return -1;
  for (size_t i = 0; i < count; i++) {
    double v = fmt == SMAX_F32 ? (double)((float *)g)[i] : (double)prep_bf16_to_float(((uint16_t *)g)[i]);
    double q = v / tau;
    if (!prep_in_format(q, fmt)) return -1;
    if (fmt == SMAX_F32) ((float *)g)[i] = (float)q;
    else ((uint16_t *)g)[i] = prep_float_to_bf16_exact((float)q);
  }
  return 0;
}

/* The one entry behind every kernel: forward (softmax / logsoftmax per
 * `log`) or, if `bwd`, its vector-Jacobian product with a->dy, in fmt
 * (SMAX_F32 or SMAX_BF16).  Returns 0, or 1 if unsupported: inexact x/tau
 * or gradient/tau, dy missing, no memory, or oneDNN refusing the shape or
 * type. */
static int run_dnnl(const smax_args *a, smax_format fmt, int log, int bwd) {
  pthread_once(&init_once, init_dnnl);
  if (!engine_ok || (bwd && !a->dy)) return 1;
  if (a->rows == 0) return 0;
  size_t elem = fmt == SMAX_F32 ? 4 : 2;
  if (a->n && a->rows > SIZE_MAX / 4 / a->n) return 1;
  size_t total = a->rows * a->n;
  dnnl_memory_desc_t md;
  dnnl_dims_t dims = {(dnnl_dim_t)a->rows, (dnnl_dim_t)a->n}, strides = {(dnnl_dim_t)a->n, 1};
  if (dnnl_memory_desc_init_by_strides(&md, 2, dims, fmt == SMAX_F32 ? dnnl_f32 : dnnl_bf16, strides) !=
      dnnl_success)
    return 1;
  size_t bytes = total ? total * elem : 1;
  float *xf = malloc(total ? total * sizeof *xf : 1);
  void *src = malloc(bytes), *dst = malloc(bytes), *dy = bwd ? malloc(bytes) : NULL,
       *dx = bwd ? malloc(bytes) : NULL;
  prim f = {0}, b = {0};
  dnnl_stream_t st = NULL;
  int rc = 1, old = omp_get ? omp_get() : 0;
  if (omp_set) omp_set(a->threads > 0 ? a->threads : 1);
  if (!xf || !src || !dst || (bwd && (!dy || !dx)) || prep_gather(a, fmt, xf)) goto out;
  pack(fmt, xf, total, src);
  if (bwd) restride(dy, (void *)a->dy, a->rows, a->n, a->dy_stride, elem, 0);
  if (dnnl_stream_create(&st, engine, dnnl_stream_default_flags) != dnnl_success) goto out;
  if (make_fwd(&f, log, bwd ? dnnl_forward_training : dnnl_forward_inference, &md) ||
      exec3(f.p, st, &md, 2, DNNL_ARG_SRC, src, DNNL_ARG_DST, dst, 0, NULL))
    goto out;
  if (bwd && (make_bwd(&b, log, &md, &f) ||
              exec3(b.p, st, &md, 3, DNNL_ARG_DST, dst, DNNL_ARG_DIFF_DST, dy, DNNL_ARG_DIFF_SRC, dx)))
    goto out;
  if (bwd && unscale_exact(fmt, dx, total, a->tau)) goto out;
  restride(bwd ? dx : dst, a->y, a->rows, a->n, a->y_stride, elem, 1);
  rc = 0;
out:
  if (omp_set) omp_set(old);
  prim_free(&b);
  prim_free(&f);
  if (st) dnnl_stream_destroy(st);
  free(xf);
  free(src);
  free(dst);
  free(dy);
  free(dx);
  return rc;
}

/* The kernels' entry points (smax_fn): run_dnnl with fixed choices. */
static int sm_f32(const smax_args *a) { return run_dnnl(a, SMAX_F32, 0, 0); }
static int lsm_f32(const smax_args *a) { return run_dnnl(a, SMAX_F32, 1, 0); }
static int smv_f32(const smax_args *a) { return run_dnnl(a, SMAX_F32, 0, 1); }
static int lsmv_f32(const smax_args *a) { return run_dnnl(a, SMAX_F32, 1, 1); }
static int sm_bf16(const smax_args *a) { return run_dnnl(a, SMAX_BF16, 0, 0); }
static int lsm_bf16(const smax_args *a) { return run_dnnl(a, SMAX_BF16, 1, 0); }
static int smv_bf16(const smax_args *a) { return run_dnnl(a, SMAX_BF16, 0, 1); }
static int lsmv_bf16(const smax_args *a) { return run_dnnl(a, SMAX_BF16, 1, 1); }

/* Conventions, as measured (adapters/README.md).  softmax / log_softmax:
 * +inf entries give NaN at the +inf slots and 0 / -inf elsewhere
 * (ieee-partial); outputs below 2^-126 come out 0 (ftz).  softmax_vjp: NaN
 * rows (ieee-nan), non-finite dy spreads (ieee-propagate), -0 at masked
 * slots (zero-sign).  log_softmax_vjp: non-finite dy spreads
 * (ieee-propagate).  Not declared, because no convention covers them: a NaN
 * in x leaves the other softmax outputs 0 (log_softmax -inf, log_softmax_vjp
 * finite), and log_softmax_vjp returns -inf instead of NaN for +inf entries
 * and fully masked rows. */
#define CONV_SM "ieee-partial ftz"
#define CONV_LSM "ieee-partial"
#define CONV_SMV "ieee-nan ieee-propagate zero-sign ftz"
#define CONV_LSMV "ieee-propagate"
#define K(func, fmt, fn, conv, what)                                                              \
  {"onednn", func, fmt, fn, SMAX_THREADED, conv, {0, 0, 0, 0, 0},                                 \
   "oneDNN 2.6.3 " what ", axis 1, plain layout; implementation chosen by oneDNN; tau only where exact"}

static const smax_kernel kernels[] = {
    K(SMAX_SOFTMAX, SMAX_F32, sm_f32, CONV_SM, "softmax forward f32"),
    K(SMAX_LOG_SOFTMAX, SMAX_F32, lsm_f32, CONV_LSM, "logsoftmax forward f32"),
    K(SMAX_SOFTMAX_VJP, SMAX_F32, smv_f32, CONV_SMV, "softmax forward + backward (diff_src) f32"),
    K(SMAX_LOG_SOFTMAX_VJP, SMAX_F32, lsmv_f32, CONV_LSMV, "logsoftmax forward + backward f32"),
    K(SMAX_SOFTMAX, SMAX_BF16, sm_bf16, CONV_SM, "softmax forward bf16 (f32 inside)"),
    K(SMAX_LOG_SOFTMAX, SMAX_BF16, lsm_bf16, CONV_LSM, "logsoftmax forward bf16 (f32 inside)"),
    K(SMAX_SOFTMAX_VJP, SMAX_BF16, smv_bf16, CONV_SMV, "softmax forward + backward bf16, bf16 dst"),
    K(SMAX_LOG_SOFTMAX_VJP, SMAX_BF16, lsmv_bf16, CONV_LSMV, "logsoftmax forward + backward bf16, bf16 dst"),
};

/* The plugin entry point (kernel.h): the descriptors above, their number in
 * *count, the ABI version in *abi_version.  No side effects: the engine is
 * created by the first kernel call. */
EXPORT const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = sizeof kernels / sizeof kernels[0];
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

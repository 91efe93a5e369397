/* kernel.h -- the smaxcheck kernel ABI.
 *
 * Every kernel under test -- built in, or third-party loaded from a shared
 * library -- is described by one smax_kernel.  The harness only ever sees
 * descriptors.  This header depends on nothing (kernels depend on nothing but
 * it); it is the public header a plugin author includes.
 *
 * A kernel runs one function over a batch: `rows` rows of `n` elements, rows
 * `*_stride` elements apart.  Softmax is over each row.  The function is
 * applied to x/tau (temperature tau > 0); gradients are with respect to x,
 * so they carry 1/tau.  A masked element (mask != NULL and mask[..] != 0)
 * is -inf.  Special values follow the convention ids the kernel declares
 * (oracle/SEMANTICS.md: "reference", "ieee-nan", "zero-row", ...).
 */
#ifndef SMAXCHECK_KERNEL_H
#define SMAXCHECK_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SMAX_ABI_VERSION 1

typedef enum {
  SMAX_SOFTMAX,         /* y_i = e^(x_i/tau) / sum_j e^(x_j/tau)            */
  SMAX_LOG_SOFTMAX,     /* y_i = x_i/tau - logsumexp(x/tau)                 */
  SMAX_LOGSUMEXP,       /* y   = logsumexp(x/tau), one value per row        */
  SMAX_SOFTMAX_VJP,     /* y_i = s_i (dy_i - sum_j s_j dy_j) / tau          */
  SMAX_LOG_SOFTMAX_VJP, /* y_i = (dy_i - s_i sum_j dy_j) / tau              */
  SMAX_CROSS_ENTROPY,   /* fused: loss = logsumexp(x/tau) - x_t/tau per row,
                           y_i = (s_i - [i == t]) / tau                       */
  SMAX_NFUNCS
} smax_func;

/* Storage formats.  Float formats hold x, dy, y (and loss) in one type:
 * F16 and BF16 are IEEE binary16 and bfloat16 bit patterns in uint16_t.
 * Fixed-point formats take int8 x with a real scale (x_real = q * in_scale)
 * and write integer outputs: Q0.8 in uint8 (y = q / 256, saturating at
 * 255), Q0.15 in int16 (y = q / 32768), Q4.11 in int16 (y = q / 2048, for
 * log_softmax). */
typedef enum {
  SMAX_F64,
  SMAX_F32,
  SMAX_F16,
  SMAX_BF16,
  SMAX_Q8_UQ0_8,  /* int8 in, uint8 Q0.8 out */
  SMAX_Q8_Q0_15,  /* int8 in, int16 Q0.15 out */
  SMAX_Q8_Q4_11,  /* int8 in, int16 Q4.11 out */
  SMAX_NFORMATS
} smax_format;

typedef struct {
  size_t rows, n;
  const void *x;              /* rows x n inputs                          */
  size_t x_stride;            /* elements from one row to the next        */
  const void *dy;             /* VJPs: upstream gradient, same format as x */
  size_t dy_stride;
  const unsigned char *mask;  /* NULL, or nonzero = masked (-inf)          */
  size_t mask_stride;
  const int32_t *target;      /* CROSS_ENTROPY: class index per row        */
  void *y;                    /* outputs: n per row (1 for LOGSUMEXP)      */
  size_t y_stride;
  void *loss;                 /* CROSS_ENTROPY: one loss per row (y's type) */
  double tau;                 /* temperature, finite and > 0               */
  double in_scale;            /* fixed point: real input = q * in_scale    */
  int threads;                /* threaded kernels: 0 = default, else count */
} smax_args;

/* Returns 0 on success, nonzero if the arguments are unsupported. */
typedef int (*smax_fn)(const smax_args *a);

/* Flags: what the kernel claims. */
#define SMAX_DETERMINISTIC 1u /* bitwise identical results for any thread count */
#define SMAX_THREADED      2u /* uses threads (honours smax_args.threads)        */
#define SMAX_BROKEN        4u /* deliberately wrong (tests that the suite bites)  */
#define SMAX_KNOWN_DEFECT  8u /* a textbook defect kept as a yardstick (naive: no
                                 max shift); measured and gated like any kernel,
                                 but bug hunts (fuzzing) skip it unless named   */

/* Accuracy claim, in the form of Blanchard, Higham & Higham's bounds: for
 * every output y of a finite row (masked entries allowed, not all masked)
 * with max |x| / tau <= max_abs_input (0: no limit),
 *   |computed - y| <= (ulp_const + ulp_per_n * n + ulp_per_spread * spread)
 *                      * ulp(y)  +  abs_u_per_n * n * u
 * where spread = (max - min) / tau over the unmasked entries, ulp(y) is the
 * ulp of the exact y in the output format (the LSB for fixed point), and
 * u = 2^-p the format's unit roundoff (the absolute term serves log-domain
 * outputs near 0, whose error is absolute).  Outputs below the format's
 * normal range are held to the same bound with ulp(y) clamped.  Gradients
 * (the VJPs, cross-entropy) carry an absolute error proportional to
 * max|dy|/tau (1/tau for cross-entropy): their abs_u_per_n is stated for
 * max|dy|/tau <= 16, and the harness scales it by max(1, (max|dy|/tau)/16). */
typedef struct {
  double ulp_const, ulp_per_n, ulp_per_spread, abs_u_per_n;
  double max_abs_input;
} smax_claim;

typedef struct {
  const char *name;         /* family and variant: "stable", "openmp-det" */
  smax_func func;
  smax_format fmt;
  smax_fn run;
  unsigned flags;
  const char *convention;   /* special-value convention ids, space-separated */
  smax_claim claim;
  const char *about;        /* one line: algorithm and accumulation         */
} smax_kernel;

/* A plugin (shared library) exports this symbol. */
typedef const smax_kernel *(*smax_plugin_fn)(size_t *count, int *abi_version);
#define SMAX_PLUGIN_SYMBOL "smax_plugin_kernels"

const char *smax_func_name(smax_func f);
const char *smax_format_name(smax_format f);

/* The built-in kernels (impls/registry.c). */
const smax_kernel *smax_registry(size_t *count);

#ifdef __cplusplus
}
#endif
#endif

/* prep.h -- input preparation shared by the C adapters (xnnpack.c,
 * onednn.c): gather a strided batch into a contiguous float buffer, with
 * masked entries set to -inf and the temperature applied only where that is
 * exact.  Header-only, static functions; depends on kernel.h and libm.
 *
 * Why "only where exact": the kernel ABI applies the function to the exact
 * x/tau, and neither XNNPACK nor oneDNN has a temperature.  Dividing in the
 * format would add a rounding the library does not make, and the harness
 * would blame it on the library; so a batch whose x/tau is not a value of the
 * format (for some unmasked entry) is rejected as unsupported.  Powers of
 * two (tau = 0.5, 2, ...) are exact unless the quotient leaves the format's
 * range or precision; tau = 1 is always exact.
 */
#ifndef SMAXCHECK_ADAPTERS_PREP_H
#define SMAXCHECK_ADAPTERS_PREP_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "kernel.h"

/* bfloat16 bit pattern -> float (exact). */
static inline float prep_bf16_to_float(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* float -> bfloat16 bit pattern; only called on floats that are bfloat16
 * values (checked by prep_exact_quotient), so truncation is exact.  A NaN
 * keeps its sign and leading payload and is made quiet, so it stays NaN. */
static inline uint16_t prep_float_to_bf16_exact(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  uint16_t b = (uint16_t)(u >> 16);
  return isnan(f) ? (uint16_t)(b | 0x0040u) : b;
}

/* Is v (a double) a value of fmt (SMAX_F32 or SMAX_BF16)?  NaN, +-inf yes. */
static inline int prep_in_format(double v, smax_format fmt) {
  if (isnan(v)) return 1;
  float f = (float)v;
  if ((double)f != v) return 0;
  if (fmt != SMAX_BF16) return 1;
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return (u & 0xffffu) == 0;
}

/* The exact quotient x/tau as a value of fmt (SMAX_F32 or SMAX_BF16) in
 * *q; returns 0 if x/tau is not exactly a value of fmt.  tau finite > 0.
 * d = x/tau in binary64; fma(d, tau, -x) == 0 proves d*tau == x exactly,
 * i.e. d is the exact quotient, and then d must also be in the format.
 * Infinities and NaN divide exactly. */
static inline int prep_exact_quotient(double x, double tau, smax_format fmt, float *q) {
  if (tau == 1.0 || !isfinite(x)) {
    *q = (float)(x / tau);
    return 1;
  }
  double d = x / tau;
  if (fma(d, tau, -x) != 0.0 || !prep_in_format(d, fmt)) return 0;
  *q = (float)d;
  return 1;
}

/* Gather a->x (F32 floats or BF16 bit patterns, per fmt) into buf[rows*n]
 * as floats: masked entries -inf, every entry divided by a->tau exactly.
 * Returns 0, or -1 if some x/tau is not a value of fmt (unsupported). */
static inline int prep_gather(const smax_args *a, smax_format fmt, float *buf) {
  for (size_t r = 0; r < a->rows; r++) {
    for (size_t i = 0; i < a->n; i++) {
      size_t k = r * a->x_stride + i;
      if (a->mask && a->mask[r * a->mask_stride + i]) {
        buf[r * a->n + i] = -INFINITY;
        continue;
      }
      double x = fmt == SMAX_BF16 ? (double)prep_bf16_to_float(((const uint16_t *)a->x)[k])
                                  : (double)((const float *)a->x)[k];
      if (!prep_exact_quotient(x, a->tau, fmt, &buf[r * a->n + i])) return -1;
    }
  }
  return 0;
}

#endif

/* kio.c -- kernel storage formats <-> doubles.  binary16 and bfloat16 are
 * encoded and decoded by bit manipulation (values are already rounded by
 * the oracle's rounding, so encoding is exact). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "kio.h"

const oracle_format *kio_oracle_format(smax_format f) {
  switch (f) {
  case SMAX_F64: return &oracle_binary64;
  case SMAX_F32: return &oracle_binary32;
  case SMAX_F16: return &oracle_binary16;
  case SMAX_BF16: return &oracle_bfloat16;
  case SMAX_Q8_UQ0_8: return &oracle_uq0_8;
  case SMAX_Q8_Q0_15: return &oracle_q0_15;
  case SMAX_Q8_Q4_11: return &oracle_q4_11;
  default: return NULL;
  }
}

int kio_fixed(smax_format f) { return f >= SMAX_Q8_UQ0_8 && f < SMAX_NFORMATS; }

size_t kio_in_size(smax_format f) {
  static const size_t sz[SMAX_NFORMATS] = {8, 4, 2, 2, 1, 1, 1};
  return (unsigned)f < SMAX_NFORMATS ? sz[f] : 0;
}
size_t kio_out_size(smax_format f) {
  static const size_t sz[SMAX_NFORMATS] = {8, 4, 2, 2, 1, 2, 2};
  return (unsigned)f < SMAX_NFORMATS ? sz[f] : 0;
}

double kio_round_in(smax_format f, double v) {
  if (kio_fixed(f)) {
    if (isnan(v)) return 0;
    double r = nearbyint(v);
    return r < -128 ? -128 : r > 127 ? 127 : r;
  }
  return oracle_round(kio_oracle_format(f), v);
}

/* binary16 / bfloat16 bits of a double that is a value of the format */
static uint16_t enc16(double v, int p, int emin) {
  uint16_t s = signbit(v) ? 0x8000 : 0;
  int ebits = p == 11 ? 5 : 8, bias = (1 << (ebits - 1)) - 1; /* 15, 127 */
  if (isnan(v)) return (uint16_t)(s | ((1u << ebits) - 1) << (p - 1) | 1u << (p - 2));
  if (isinf(v)) return (uint16_t)(s | ((1u << ebits) - 1) << (p - 1));
  v = fabs(v);
  if (v == 0) return s;
  int e;
  double m = frexp(v, &e); /* v = m 2^e, m in [1/2, 1) */
  int E = e - 1;
  if (E < emin) /* subnormal: v = k 2^(emin - p + 1) */
    return (uint16_t)(s | (uint16_t)ldexp(v, -(emin - p + 1)));
  uint32_t frac = (uint32_t)ldexp(m * 2 - 1, p - 1);
  return (uint16_t)(s | (uint32_t)(E + bias) << (p - 1) | frac);
}
static double dec16(uint16_t b, int p, int emin) {
  int ebits = p == 11 ? 5 : 8, bias = (1 << (ebits - 1)) - 1;
  int s = b >> 15, E = (b >> (p - 1)) & ((1 << ebits) - 1);
  uint32_t frac = b & ((1u << (p - 1)) - 1);
  double v;
  if (E == (1 << ebits) - 1) v = frac ? NAN : INFINITY;
  else if (E == 0) v = ldexp((double)frac, emin - p + 1);
  else v = ldexp(1 + ldexp((double)frac, -(p - 1)), E - bias);
  return s ? -v : v;
}

void kio_store_in(smax_format f, void *buf, size_t i, double v) {
  switch (f) {
  case SMAX_F64: ((double *)buf)[i] = v; break;
  case SMAX_F32: ((float *)buf)[i] = (float)v; break;
  case SMAX_F16: ((uint16_t *)buf)[i] = enc16(v, 11, -14); break;
  case SMAX_BF16: ((uint16_t *)buf)[i] = enc16(v, 8, -126); break;
  default: ((int8_t *)buf)[i] = (int8_t)v; break;
  }
}

double kio_load_out(smax_format f, const void *buf, size_t i) {
  switch (f) {
  case SMAX_F64: return ((const double *)buf)[i];
  case SMAX_F32: return ((const float *)buf)[i];
  case SMAX_F16: return dec16(((const uint16_t *)buf)[i], 11, -14);
  case SMAX_BF16: return dec16(((const uint16_t *)buf)[i], 8, -126);
  case SMAX_Q8_UQ0_8: return ldexp(((const uint8_t *)buf)[i], -8);
  case SMAX_Q8_Q0_15: return ldexp(((const int16_t *)buf)[i], -15);
  case SMAX_Q8_Q4_11: return ldexp(((const int16_t *)buf)[i], -11);
  default: return NAN;
  }
}

double kio_error(smax_format f, double got, double want, const oracle_xval *exact, double *unc) {
  if (unc) *unc = 0;
  if ((isnan(got) && isnan(want)) || (got == want && signbit(got) == signbit(want))) return 0;
  const oracle_format *of = kio_oracle_format(f);
  if (of->kind == ORACLE_FIXED && isfinite(got) &&
      (want == ldexp((double)of->kmin, -of->frac) || want == ldexp((double)of->kmax, -of->frac)))
    return fabs(got - want) * ldexp(1, of->frac);
  return oracle_ulp_error(of, got, exact, unc);
}

/* halfconv.h -- binary16 / bfloat16 <-> binary32 conversions, and the
 * binary32 exp the half-precision kernels use.  Header-only, static inline,
 * depends on nothing but <stdint.h> and <string.h>.
 *
 * Conversions to the 16-bit formats round to nearest, ties to even, with
 * IEEE overflow to +-inf, gradual underflow to subnormals and +-0, and NaN
 * kept NaN (sign and the leading payload bits kept, quiet bit set).
 *
 *   bfloat16: the upper half of a binary32, so both directions are bit
 *     manipulation (rounding on the upper 16 bits).
 *   binary16: gcc's _Float16 where the compiler has it (gcc >= 12 on
 *     x86-64 defines __FLT16_MANT_DIG__), else -- clang 14, or with
 *     SMAX_HALFCONV_BITS defined -- the bit-manipulation versions, which are
 *     always available as smax_f16_bits_* so tests can hold both paths to
 *     the oracle.  The bit versions are branch-free (selects only).
 *
 * smax_expf_nonpos(t) = e^t for t <= 0 (and -inf -> 0, NaN -> NaN): Cody-Waite
 * reduction t = k ln2 + r, |r| <= ln2/2, a degree-6 polynomial (Cephes'
 * expf coefficients), and 2^k applied as two normal powers of two so that a
 * subnormal result is rounded once.  Branch-free, so loops calling it
 * vectorise.  Accuracy, checked exhaustively over every binary32 t in
 * [-104, -0] against binary64 exp (gcc -O2, no FMA contraction): relative
 * error <= 1.37 * 2^-24 (0.982 ulp) where e^t >= 2^-126, absolute error
 * <= 0.751 * 2^-149 below; t < -104 gives +0 (e^t < 2^-150).  The kernels'
 * claims use E = 1.5 * 2^-24.  Assumes round-to-nearest and no FTZ/DAZ. */
#ifndef SMAXCHECK_HALFCONV_H
#define SMAXCHECK_HALFCONV_H

#include <stdint.h>
#include <string.h>

static inline uint32_t smax_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static inline float smax_f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Branch-free selects on bits: gcc keeps a ?: whose arms hold binary32
 * arithmetic as a branch under -ftrapping-math (the default), and a branch
 * stops the loop vectoriser; masks do not. */
static inline uint32_t smax_sel_u32(int c, uint32_t a, uint32_t b) {
  uint32_t m = 0u - (uint32_t)(c != 0);
  return (a & m) | (b & ~m);
}
static inline float smax_sel_f32(int c, float a, float b) {
  return smax_f32_from_bits(smax_sel_u32(c, smax_f32_bits(a), smax_f32_bits(b)));
}

/* ---- bfloat16 ----------------------------------------------------------- */

static inline float smax_bf16_to_float(uint16_t b) { return smax_f32_from_bits((uint32_t)b << 16); }

static inline uint16_t smax_float_to_bf16(float f) {
  uint32_t u = smax_f32_bits(f);
  uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16; /* RNE; carries into the exponent */
  uint32_t quiet = (u >> 16) | 0x0040u;                       /* NaN: keep payload, set quiet bit */
  return (uint16_t)smax_sel_u32((u & 0x7fffffffu) > 0x7f800000u, quiet, rounded);
}

/* ---- binary16 by bit manipulation --------------------------------------- */

static inline float smax_f16_bits_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t em = h & 0x7fffu;
  /* normal: rebias the exponent; inf/NaN: all-ones exponent; subnormal: em * 2^-24 exactly */
  uint32_t normal = (em << 13) + ((127u - 15u) << 23);
  uint32_t special = (em << 13) | 0x7f800000u;
  float sub = (float)em * 0x1p-24f;
  uint32_t mag = smax_sel_u32(em >= 0x7c00u, special,
                              smax_sel_u32(em >= 0x0400u, normal, smax_f32_bits(sub)));
  return smax_f32_from_bits(sign | mag);
}

static inline uint16_t smax_f16_bits_from_float(float f) {
  uint32_t u = smax_f32_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  /* normal range: rebias, round to nearest even on the 13 dropped bits; a carry
   * out of the significand bumps the exponent, and past 65504 gives 0x7c00 */
  uint32_t normal = (a - ((127u - 15u) << 23) + 0xfffu + ((a >> 13) & 1u)) >> 13;
  /* below 2^-14: adding 0.5 aligns the result's 10 bits at the bottom of the
   * binary32 significand, and that addition rounds to nearest even */
  uint32_t sub = smax_f32_bits(smax_f32_from_bits(a) + 0.5f) - 0x3f000000u;
  uint32_t nan = 0x7e00u | ((a >> 13) & 0x3ffu);
  uint32_t mag = smax_sel_u32(a > 0x7f800000u, nan,
                 smax_sel_u32(a >= 0x477ff000u, 0x7c00u, /* >= 65520 (inf too): +-inf */
                              smax_sel_u32(a < 0x38800000u, sub, normal)));
  return (uint16_t)(sign | mag);
}

/* ---- binary16: the compiler's _Float16 where it exists ----------------- */

#if defined(__FLT16_MANT_DIG__) && !defined(SMAX_HALFCONV_BITS)
#define SMAX_HALFCONV_FLOAT16 1
static inline float smax_f16_to_float(uint16_t h) {
  _Float16 v;
  memcpy(&v, &h, sizeof v);
  return (float)v;
}
static inline uint16_t smax_float_to_f16(float f) {
  _Float16 v = (_Float16)f;
  uint16_t h;
  memcpy(&h, &v, sizeof h);
  return h;
}
#else
#define SMAX_HALFCONV_FLOAT16 0
static inline float smax_f16_to_float(uint16_t h) { return smax_f16_bits_to_float(h); }
static inline uint16_t smax_float_to_f16(float f) { return smax_f16_bits_from_float(f); }
#endif

/* ---- e^t for t <= 0 ----------------------------------------------------- */

static inline float smax_expf_nonpos(float t) {
  uint32_t tb = smax_f32_bits(t);                /* t < -104, -inf included, NaN not: */
  t = smax_sel_f32(tb > 0xc2d00000u && tb <= 0xff800000u, -104.0f, t); /* -104 gives +0 */
  const float shifter = 0x1.8p23f;               /* adding it rounds to an integer */
  float kf = t * 0x1.715476p+0f + shifter;       /* round(t / ln 2) in the low bits */
  uint32_t kbits = smax_f32_bits(kf) - smax_f32_bits(shifter); /* k mod 2^32 */
  kf -= shifter;
  /* ln 2 = C1 + C2, C1 with 9 bits so k * C1 and t - k * C1 are exact */
  float r = (t - kf * 0x1.63p-1f) - kf * -0x1.bd0106p-13f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = (p * r2 + r) + 1.0f;
  /* 2^k = 2^k1 * 2^k2, k1 = k >> 1 (k in [-150, 0]); both factors normal */
  uint32_t k1 = (uint32_t)((int32_t)kbits >> 1), k2 = kbits - k1;
  float s1 = smax_f32_from_bits((k1 + 127u) << 23), s2 = smax_f32_from_bits((k2 + 127u) << 23);
  return p * s1 * s2;
}

#endif

/* oracle_testlib.h -- shared by the oracle's tests (test_round.c,
 * test_oracle_mpfr.c): a seeded splitmix64, bitwise equality, and the target
 * formats written from their specification (not read from oracle/format.c,
 * so a wrong constant there is caught).  Define TEST_SEED first. */
#ifndef SMAXCHECK_ORACLE_TESTLIB_H
#define SMAXCHECK_ORACLE_TESTLIB_H
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include "oracle.h"

static uint64_t rng_state = TEST_SEED;
static uint64_t rnd64(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static long rndint(long a, long b) { return a + (long)(rnd64() % (uint64_t)(b - a + 1)); }

static int same(double a, double b) {
  return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

typedef struct {
  const oracle_format *f;
  int fixed, p, emin, emax, frac;
  long kmin, kmax;
} fmt_spec;
static const fmt_spec FMTS[] = {
    {&oracle_binary64, 0, 53, -1022, 1023, 0, 0, 0},
    {&oracle_binary32, 0, 24, -126, 127, 0, 0, 0},
    {&oracle_binary16, 0, 11, -14, 15, 0, 0, 0},
    {&oracle_bfloat16, 0, 8, -126, 127, 0, 0, 0},
    {&oracle_uq0_8, 1, 0, 0, 0, 8, 0, 255},
    {&oracle_q0_15, 1, 0, 0, 0, 15, -32768, 32767},
    {&oracle_q4_11, 1, 0, 0, 0, 11, -32768, 32767},
};
#define NFMT (sizeof FMTS / sizeof FMTS[0])

/* MPFR's widest exponent range (the oracle's, and the reference's start) */
static void wide_range(void) {
  mpfr_set_emin(mpfr_get_emin_min());
  mpfr_set_emax(mpfr_get_emax_max());
}
#endif

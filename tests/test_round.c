/* test_round.c -- the oracle's one rounding (oracle/round.c, format.c).
 *
 * Every output of the oracle goes through oracle_round_scaled (fast path,
 * via oracle_round_encl), oracle_round_mpfr (Ziv loop, rationals) or
 * oracle_round; a wrong tie, a wrong subnormal, overflow or saturation
 * threshold, or a wrong sign of zero there is a wrong reference everywhere.
 * They are checked against an independent reference:
 *   FLOAT: MPFR's own rounding to p bits with the format's exponent range
 *     (the CORE-MATH recipe: mpfr_set in the wide range, then
 *     emin = emin_ieee - p + 2, emax = emax_ieee + 1, mpfr_check_range,
 *     mpfr_subnormalize); -tiny rounds to -0;
 *   FIXED: the nearest integer of v 2^frac, ties to even (mpfr_rint on the
 *     exactly scaled value), clamped to [kmin, kmax]; zero is +0.
 * Values: each format's key points -- representable values, exact ties
 * (midpoints, held in a dd where they need more than 53 bits), ties +- a
 * tiny amount, powers of two with a negative lo, the subnormal range, the
 * least subnormal and half of it, the overflow threshold max + ulp/2 and
 * just below, saturation, negative values, values far outside any format --
 * plus random values; as 2^k (hi + lo) with random k (and k = -2000, 1500),
 * as MPFR numbers of several precisions, and as doubles.
 * oracle_round_encl: returns 1 only when the whole interval rounds to one
 * value (checked exactly), and does return 1 on intervals well inside.
 * The dd inputs are normalised (hi = RN(hi + lo)), as every dd the oracle
 * produces is (tests/test_dd.c checks that).
 * Random values come from splitmix64 with a fixed seed.  A failure prints
 * one line (function, format, inputs in %a); the last line is
 * "N passed, M failed"; the exit status is non-zero iff M > 0. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define PX 2600 /* exact for every value built below */

static long npass, nfail;
static int nprinted;
#define FAIL(...)                                                                  \
  do {                                                                             \
    nfail++;                                                                       \
    if (nprinted++ < 60) { printf("FAIL "); mpfr_printf(__VA_ARGS__); printf("\n"); } \
  } while (0)

#define TEST_SEED 0x20d0c0deULL
#include "oracle_testlib.h"

/* ---- the reference ----------------------------------------------------- */
/* x (any precision, wide range) rounded to the format */
static double ref_round(const fmt_spec *s, mpfr_srcptr x) {
  if (mpfr_nan_p(x)) return NAN;
  if (!s->fixed) {
    mpfr_t y;
    mpfr_init2(y, s->p);
    int inex = mpfr_set(y, x, MPFR_RNDN); /* p bits, unbounded exponent */
    mpfr_set_emin(s->emin - s->p + 2);
    mpfr_set_emax(s->emax + 1);
    inex = mpfr_check_range(y, inex, MPFR_RNDN);
    mpfr_subnormalize(y, inex, MPFR_RNDN);
    double r = mpfr_get_d(y, MPFR_RNDN);
    wide_range();
    mpfr_clear(y);
    return r;
  }
  if (mpfr_inf_p(x)) return ldexp((double)(mpfr_sgn(x) > 0 ? s->kmax : s->kmin), -s->frac);
  mpfr_t t;
  mpfr_init2(t, mpfr_get_prec(x) > 64 ? mpfr_get_prec(x) : 64);
  mpfr_mul_2si(t, x, s->frac, MPFR_RNDN); /* exact */
  mpfr_rint(t, t, MPFR_RNDN);             /* ties to even */
  long N;
  if (mpfr_cmp_si(t, s->kmax) > 0) N = s->kmax;
  else if (mpfr_cmp_si(t, s->kmin) < 0) N = s->kmin;
  else N = mpfr_get_si(t, MPFR_RNDN);
  mpfr_clear(t);
  return N == 0 ? 0.0 : ldexp((double)N, -s->frac);
}

static int odd_integer(mpfr_srcptr t) {
  if (!mpfr_integer_p(t)) return 0;
  mpz_t z;
  mpz_init(z);
  mpfr_get_z(z, t, MPFR_RNDN);
  int r = mpz_odd_p(z);
  mpz_clear(z);
  return r;
}

/* 1 if x is exactly halfway between two consecutive values of the format
 * (to count how many ties the test exercised) */
static int is_tie(const fmt_spec *s, mpfr_srcptr x) {
  if (!mpfr_number_p(x) || mpfr_zero_p(x)) return 0;
  long q;
  if (s->fixed) q = -s->frac;
  else {
    long E = (long)mpfr_get_exp(x) - 1;
    q = (E > s->emin ? E : s->emin) - s->p + 1;
  }
  mpfr_t t;
  mpfr_init2(t, mpfr_get_prec(x) + 2);
  mpfr_mul_2si(t, x, 1 - q, MPFR_RNDN); /* 2 x / quantum */
  int r = odd_integer(t);
  mpfr_clear(t);
  return r;
}

/* ---- value generators ---------------------------------------------------- */
static mpfr_t X, Y, Z, W; /* PX bits */
static long nties;

/* X = (M + frac) 2^q with M an integer, frac given in 2^-64 units */
static void set_grid(mpfr_t x, long M, int64_t fr64, long q) {
  mpfr_set_si(x, M, MPFR_RNDN);
  mpfr_set_si(W, fr64, MPFR_RNDN);
  mpfr_div_2ui(W, W, 64, MPFR_RNDN);
  mpfr_add(x, x, W, MPFR_RNDN);
  mpfr_mul_2si(x, x, q, MPFR_RNDN);
}
static int64_t rnd_frac(void) { return (int64_t)(rnd64() >> 1) & (((int64_t)1 << 62) - 1); }

/* one key point of a FLOAT format in X (exact, with sign) */
static void gen_float(const fmt_spec *s, int kind) {
  long p = s->p, half = 1L << (p - 1), full = 1L << (p - 1) << 1;
  long qmin = s->emin - p + 1; /* quantum of subnormals */
  long E = rndint(s->emin - p, s->emax), q, M;
  if (E < s->emin) q = qmin, M = rndint(0, half - 1); /* subnormal grid */
  else q = E - p + 1, M = rndint(half, full - 1);
  switch (kind) {
  case 0: set_grid(X, M, 0, q); break;                            /* representable */
  case 1:
    mpfr_set_si(X, 2 * M + 1, MPFR_RNDN), mpfr_mul_2si(X, X, q - 1, MPFR_RNDN); /* tie */
    break;
  case 2: /* tie +- tiny (tiny down to 2^-64 quantum, or far below) */
    mpfr_set_si(X, 2 * M + 1, MPFR_RNDN), mpfr_mul_2si(X, X, q - 1, MPFR_RNDN);
    mpfr_set_ui(W, 1, MPFR_RNDN);
    mpfr_mul_2si(W, W, q - rndint(2, (rnd64() & 1) ? 64 : 400), MPFR_RNDN);
    if (rnd64() & 1) mpfr_add(X, X, W, MPFR_RNDN);
    else mpfr_sub(X, X, W, MPFR_RNDN);
    break;
  case 3: set_grid(X, M, rnd_frac() * 2 + (int64_t)(rnd64() & 1), q); break; /* random */
  case 4: { /* a power of two 2^E' minus a little (a negative lo) */
    long Ep = rndint(s->emin - p + 1, s->emax);
    mpfr_set_ui(X, 1, MPFR_RNDN);
    mpfr_mul_2si(X, X, Ep, MPFR_RNDN);
    mpfr_set_ui(W, 1, MPFR_RNDN);
    long j = rndint(p, p + 3); /* around the tie 2^E' - 2^(E'-p-1) */
    if (rnd64() & 1) j = rndint(p + 1, p + 200);
    mpfr_mul_2si(W, W, Ep - j, MPFR_RNDN);
    mpfr_sub(X, X, W, MPFR_RNDN);
    if (rnd64() & 1) { /* or the exact tie below the power of two, +- tiny */
      mpfr_set_ui(X, 1, MPFR_RNDN);
      mpfr_mul_2si(X, X, Ep, MPFR_RNDN);
      mpfr_set_ui(W, 1, MPFR_RNDN);
      mpfr_mul_2si(W, W, Ep - p - (Ep <= s->emin ? 0 : 1), MPFR_RNDN);
      mpfr_sub(X, X, W, MPFR_RNDN);
      if (rnd64() & 1) {
        mpfr_set_ui(W, 1, MPFR_RNDN);
        mpfr_mul_2si(W, W, Ep - p - rndint(3, 120), MPFR_RNDN);
        if (rnd64() & 1) mpfr_add(X, X, W, MPFR_RNDN);
        else mpfr_sub(X, X, W, MPFR_RNDN);
      }
    }
    break;
  }
  case 5: { /* overflow threshold max + ulp/2 (a tie to 2^(emax+1)), +- tiny */
    long qm = s->emax - p + 1;
    mpfr_set_si(X, 2 * (full - 1) + 1, MPFR_RNDN), mpfr_mul_2si(X, X, qm - 1, MPFR_RNDN);
    int c = (int)rndint(0, 5);
    mpfr_set_ui(W, 1, MPFR_RNDN);
    mpfr_mul_2si(W, W, qm - rndint(2, 200), MPFR_RNDN);
    if (c == 1) mpfr_add(X, X, W, MPFR_RNDN);
    if (c == 2) mpfr_sub(X, X, W, MPFR_RNDN);
    if (c == 3) set_grid(X, full - 1, 0, qm);                  /* max */
    if (c == 4) set_grid(X, full - 1, rnd_frac(), qm);         /* max + < ulp/2 */
    if (c == 5) mpfr_set_ui(X, 1, MPFR_RNDN), mpfr_mul_2si(X, X, s->emax + 1, MPFR_RNDN);
    break;
  }
  case 6: { /* the bottom: least subnormal, half of it (a tie to 0), +- tiny */
    int c = (int)rndint(0, 6);
    if (c <= 2) mpfr_set_ui(X, 1, MPFR_RNDN), mpfr_mul_2si(X, X, qmin - 1, MPFR_RNDN);
    else set_grid(X, rndint(1, 3), 0, qmin);
    mpfr_set_ui(W, 1, MPFR_RNDN);
    mpfr_mul_2si(W, W, qmin - rndint(2, 300), MPFR_RNDN);
    if (c == 1) mpfr_add(X, X, W, MPFR_RNDN);
    if (c == 2) mpfr_sub(X, X, W, MPFR_RNDN);
    if (c == 4) mpfr_sub(X, X, W, MPFR_RNDN);
    if (c == 5) set_grid(X, 0, rnd_frac(), qmin);               /* below the least */
    if (c == 6) set_grid(X, half, -((int64_t)rndint(0, 1) << 62), qmin); /* 2^emin, 2^emin - q/4 */
    break;
  }
  default: /* far outside any format, or zero */
    if (rnd64() % 8 == 0) { mpfr_set_zero(X, 1); break; }
    set_grid(X, rndint(1, 1000), rnd_frac(), (rnd64() & 1) ? rndint(-6000, -1100) : rndint(1050, 6000));
    break;
  }
  if (rnd64() & 1) mpfr_neg(X, X, MPFR_RNDN);
}

static void gen_fixed(const fmt_spec *s, int kind) {
  long q = -s->frac;
  long N = rndint(s->kmin - 3, s->kmax + 3);
  if (rnd64() % 4 == 0) N = rndint(-3, 3);
  switch (kind) {
  case 0: set_grid(X, N, 0, q); break;
  case 1: mpfr_set_si(X, 2 * N + 1, MPFR_RNDN), mpfr_mul_2si(X, X, q - 1, MPFR_RNDN); break;
  case 2:
    mpfr_set_si(X, 2 * N + 1, MPFR_RNDN), mpfr_mul_2si(X, X, q - 1, MPFR_RNDN);
    mpfr_set_ui(W, 1, MPFR_RNDN);
    mpfr_mul_2si(W, W, q - rndint(2, 300), MPFR_RNDN);
    if (rnd64() & 1) mpfr_add(X, X, W, MPFR_RNDN);
    else mpfr_sub(X, X, W, MPFR_RNDN);
    break;
  case 3: set_grid(X, N, rnd_frac() * 2 + (int64_t)(rnd64() & 1), q); break;
  case 4: /* tiny, of either sign: +0 */
    mpfr_set_ui(X, 1, MPFR_RNDN);
    mpfr_mul_2si(X, X, q - rndint(2, 1200), MPFR_RNDN);
    if (rnd64() & 1) mpfr_neg(X, X, MPFR_RNDN);
    break;
  case 5: /* large: saturation */
    set_grid(X, rndint(1, 1000), rnd_frac(), rndint(-10, 5000));
    if (rnd64() & 1) mpfr_neg(X, X, MPFR_RNDN);
    break;
  default: /* 1 and -1 neighbourhood, +-2^-frac-1 (ties to 0) */
    set_grid(X, (rnd64() & 1) ? (1L << s->frac) : -(1L << s->frac), 0, q);
    if (rnd64() & 1) mpfr_set_ui(X, 1, MPFR_RNDN), mpfr_mul_2si(X, X, q - 1, MPFR_RNDN);
    mpfr_set_ui(W, 1, MPFR_RNDN);
    mpfr_mul_2si(W, W, q - rndint(1, 80), MPFR_RNDN);
    if (rnd64() & 1) mpfr_add(X, X, W, MPFR_RNDN);
    if (rnd64() & 1) mpfr_neg(X, X, MPFR_RNDN);
    break;
  }
}

/* ---- the checks ------------------------------------------------------------ */
/* x = 2^k (hi + lo) from X: hi = RN(X 2^-k), lo = RN(X 2^-k - hi); Y gets the
 * exact value 2^k (hi + lo) */
static dd to_dd(mpfr_srcptr x, long k) {
  mpfr_mul_2si(W, x, -k, MPFR_RNDN);
  double hi = mpfr_get_d(W, MPFR_RNDN);
  mpfr_sub_d(W, W, hi, MPFR_RNDN);
  double lo = mpfr_get_d(W, MPFR_RNDN);
  if (hi == 0) lo = 0;
  mpfr_set_d(Y, hi, MPFR_RNDN);
  mpfr_add_d(Y, Y, lo, MPFR_RNDN);
  /* lo's own rounding can make hi + lo a tie with hi odd: renormalise */
  double h2 = mpfr_get_d(Y, MPFR_RNDN);
  if (h2 != hi) {
    mpfr_sub_d(W, Y, h2, MPFR_RNDN);
    hi = h2, lo = mpfr_get_d(W, MPFR_RNDN); /* exact */
  }
  mpfr_mul_2si(Y, Y, k, MPFR_RNDN);
  if (hi == 0 && mpfr_signbit(x)) hi = -0.0, mpfr_neg(Y, Y, MPFR_RNDN);
  return dd_make(hi, lo);
}

static void check_scaled(const fmt_spec *s, long k, dd v, mpfr_srcptr exact) {
  double want = ref_round(s, exact), got = oracle_round_scaled(s->f, k, v);
  nties += is_tie(s, exact);
  if (same(got, want)) npass++;
  else FAIL("oracle_round_scaled(%s, k=%ld, v=(%a, %a)) = %a, want %a", s->f->name, k,
            v.hi, v.lo, got, want);
}

static void check_mpfr(const fmt_spec *s, mpfr_srcptr x) {
  double want = ref_round(s, x);
  wide_range();
  double got = oracle_round_mpfr(s->f, x);
  if (same(got, want)) npass++;
  else FAIL("oracle_round_mpfr(%s, %Ra [%ld bits]) = %a, want %a", s->f->name, x,
            (long)mpfr_get_prec(x), got, want);
}

static void check_double(const fmt_spec *s, double d) {
  mpfr_set_d(Z, d, MPFR_RNDN);
  double want = ref_round(s, Z), got = oracle_round(s->f, d);
  if (same(got, want)) npass++;
  else FAIL("oracle_round(%s, %a) = %a, want %a", s->f->name, d, got, want);
  int rep = isnan(d) || isinf(d) ? !s->fixed : want == d;
  if (oracle_representable(s->f, d) == rep) npass++;
  else FAIL("oracle_representable(%s, %a) = %d, want %d", s->f->name, d,
            oracle_representable(s->f, d), rep);
}

/* oracle_round_encl on 2^k [v - err, v + err], v = X's dd; checked exactly */
static long encl_yes, encl_no;
static void check_encl(const fmt_spec *s, long k, dd v, double err, int must) {
  double res = 12345;
  int r = oracle_round_encl(s->f, k, v, err, &res);
  /* ends of the interval, exactly */
  mpfr_set_d(Z, v.hi, MPFR_RNDN);
  mpfr_add_d(Z, Z, v.lo, MPFR_RNDN);
  mpfr_sub_d(W, Z, err, MPFR_RNDN);
  mpfr_add_d(Z, Z, err, MPFR_RNDN);
  mpfr_mul_2si(W, W, k, MPFR_RNDN);
  mpfr_mul_2si(Z, Z, k, MPFR_RNDN);
  if (v.hi == 0 && err == 0 && signbit(v.hi)) mpfr_neg(W, W, MPFR_RNDN), mpfr_neg(Z, Z, MPFR_RNDN);
  double a = ref_round(s, W), b = ref_round(s, Z);
  int unique = same(a, b);
  /* completeness: with the ends moved out by 2^-90 |v| the rounding is still
   * unique, so the oracle's own inflation (~2^-101 |v|) must not matter */
  mpfr_set_d(Y, fabs(v.hi), MPFR_RNDN);
  mpfr_mul_2si(Y, Y, k - 90, MPFR_RNDN);
  mpfr_sub(W, W, Y, MPFR_RNDN);
  mpfr_add(Z, Z, Y, MPFR_RNDN);
  int clear = same(ref_round(s, W), a) && same(ref_round(s, Z), a);
  if (r) encl_yes++;
  else encl_no++;
  if (r && !(unique && same(res, a)))
    FAIL("oracle_round_encl(%s, k=%ld, v=(%a, %a), err=%a) = 1 with %a, but the ends round "
         "to %a and %a", s->f->name, k, v.hi, v.lo, err, res, a, b);
  else if (!r && unique && clear && !(v.hi == 0 && signbit(v.hi)))
    FAIL("oracle_round_encl(%s, k=%ld, v=(%a, %a), err=%a) = 0, but the whole interval "
         "rounds to %a", s->f->name, k, v.hi, v.lo, err, a);
  else if (must >= 0 && r != must)
    FAIL("oracle_round_encl(%s, k=%ld, v=(%a, %a), err=%a) = %d, want %d", s->f->name, k,
         v.hi, v.lo, err, r, must);
  else npass++;
}

/* scaling exponents for a value of binary exponent ex: hi in a random
 * binade of [-700, 700], or k = -2000 / 1500 */
static long pick_k(mpfr_srcptr x) {
  long ex = mpfr_regular_p(x) ? (long)mpfr_get_exp(x) : 0;
  switch (rnd64() % 8) {
  case 0: return ex - rndint(-700, 700);
  case 1: return ex > -1000 && ex < 1000 ? 0 : ex;
  default: return ex - rndint(-60, 60);
  }
}

static void test_format(const fmt_spec *s) {
  const oracle_format *f = s->f;
  /* the format table itself */
  int ok = s->fixed ? f->kind == ORACLE_FIXED && f->frac == s->frac && f->kmin == s->kmin &&
                          f->kmax == s->kmax
                    : f->kind == ORACLE_FLOAT && f->p == s->p && f->emin == s->emin &&
                          f->emax == s->emax;
  if (ok) npass++;
  else FAIL("format %s: parameters differ from the specification", f->name);

  long ties0 = nties;
  const int N = 60000;
  mpfr_t xp;
  mpfr_init2(xp, PX);
  for (int i = 0; i < N; i++) {
    int kind = i % 8;
    if (s->fixed) gen_fixed(s, kind % 7);
    else gen_float(s, kind);
    /* 2^k (hi + lo) */
    long k = pick_k(X);
    dd v = to_dd(X, k);
    check_scaled(s, k, v, Y);
    /* MPFR numbers of several precisions */
    static const mpfr_prec_t precs[] = {2, 24, 54, 64, 113, 200, PX};
    mpfr_prec_t P = precs[rnd64() % (sizeof precs / sizeof precs[0])];
    mpfr_set_prec(xp, P);
    mpfr_set(xp, X, MPFR_RNDN);
    check_mpfr(s, xp);
    mpfr_set_prec(xp, PX);
    mpfr_set(xp, X, MPFR_RNDN);
    check_mpfr(s, xp);
    /* doubles */
    check_double(s, mpfr_get_d(X, MPFR_RNDN));
    /* enclosures: random width around the value */
    double err;
    switch (rnd64() % 4) {
    case 0: err = 0; break;
    case 1: err = ldexp(fabs(v.hi), -(int)rndint(1, 60)); break;
    default: err = ldexp(fabs(v.hi), -(int)rndint(60, 110)); break;
    }
    if (v.hi != 0 && isfinite(err)) check_encl(s, k, v, err, -1);
  }
  mpfr_clear(xp);

  /* hand-picked: huge scalings of v near 1 */
  static const long ks[] = {-2000, -1500, -1200, -1100, -1080, -1076, -1075, -1074, -1073,
                            -1023, -1022, -160, -150, -149, -134, -133, -127, -126, -26,
                            -25, -24, -16, -15, -14, -9, -8, -1, 0, 1, 14, 15, 16, 62, 63,
                            64, 127, 128, 1023, 1024, 1500, 2000};
  /* all normalised: hi = RN(hi + lo) */
  static const dd vs[] = {{1, 0}, {1, 0x1p-60}, {1, -0x1p-60}, {1, -0x1p-55}, {1, 0x1p-53},
                          {1.5, 0}, {1.5, 0x1p-80}, {1.5, -0x1p-80}, {0x1.fffffffffffffp-1, 0},
                          {0x1.fffffffffffffp-1, 0x1p-55},
                          {0x1.fffffffffffffp-1, 0x1.fffffffffffffp-55},
                          {0x1.0000000000001p+0, -0x1.fffffffffffffp-54},
                          {0x1.0000000000001p+0, 0x1.fffffffffffffp-54},
                          {0x1.0000000000002p+0, -0x1p-53}, {0x1.0000000000002p+0, 0x1p-53}};
  for (size_t a = 0; a < sizeof ks / sizeof ks[0]; a++)
    for (size_t b = 0; b < sizeof vs / sizeof vs[0]; b++)
      for (int sg = 0; sg < 2; sg++) {
        dd v = sg ? dd_neg(vs[b]) : vs[b];
        mpfr_set_d(Y, v.hi, MPFR_RNDN);
        mpfr_add_d(Y, Y, v.lo, MPFR_RNDN);
        if (mpfr_get_d(Y, MPFR_RNDN) != v.hi) {
          FAIL("test_round itself: (%a, %a) is not normalised", v.hi, v.lo);
          continue;
        }
        mpfr_mul_2si(Y, Y, ks[a], MPFR_RNDN);
        check_scaled(s, ks[a], v, Y);
        check_mpfr(s, Y);
      }
  /* zeros */
  for (int sg = 0; sg < 2; sg++) {
    double z = sg ? -0.0 : 0.0;
    mpfr_set_zero(Y, sg ? -1 : 1);
    check_scaled(s, rndint(-3000, 3000), dd_d(z), Y);
    check_mpfr(s, Y);
    check_double(s, z);
    if (!sg) check_encl(s, 0, dd_d(z), 0, 1); /* -0 as a real is 0: either sign is fine */
  }
  /* special doubles (NaN only for FLOAT: see the report on FIXED NaN) */
  double sp[] = {INFINITY, -INFINITY, 0x1p-1074, -0x1p-1074, 0x1p-1022, 0x1.fffffffffffffp+1023,
                 -0x1.fffffffffffffp+1023, 65504, 65520, 65519.99, 0x1.ffffffp+127,
                 0x1.fffffep+127, 0x1p-149, 0x1p-150, 0x1.000001p-150, 0x1p-24, 0x1p-25,
                 0x1.8p-24, 0x1p-133, 0x1p-134, 0x1.0000000000001p-134, 0x1p-9, 0x1.8p-9,
                 0x1p-16, 0x1.8p-16, -0x1p-16, -0x1p-9, 1, -1, 0.99999, -1.00001};
  for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
    check_double(s, sp[i]);
    check_double(s, -sp[i]);
  }
  if (!s->fixed) check_double(s, NAN);

  /* oracle_round_encl hand-picked: a tie (0), well inside (1), err = 0 (1) */
  for (int i = 0; i < 400; i++) {
    long q, M;
    if (s->fixed) q = -s->frac, M = rndint(s->kmin, s->kmax - 1);
    else {
      long E = rndint(s->emin - s->p + 1, s->emax), half = 1L << (s->p - 1);
      if (E < s->emin) q = s->emin - s->p + 1, M = rndint(1, half - 1);
      else q = E - s->p + 1, M = rndint(half, 2 * half - 1);
    }
    if (M == 0) M = 1;
    int neg = (rnd64() & 1) && !(s->fixed && s->kmin == 0);
    long k = q - rndint(-30, 30) - 60; /* hi has a random binade */
    /* tie: (M + 1/2) 2^q, err a tiny fraction of it */
    mpfr_set_si(X, 2 * M + 1, MPFR_RNDN), mpfr_mul_2si(X, X, q - 1, MPFR_RNDN);
    if (neg) mpfr_neg(X, X, MPFR_RNDN);
    dd v = to_dd(X, k);
    check_encl(s, k, v, ldexp(fabs(v.hi), -(int)rndint(70, 100)), 0);
    /* well inside: (M + 1/4) 2^q */
    mpfr_set_si(X, 4 * M + 1, MPFR_RNDN), mpfr_mul_2si(X, X, q - 2, MPFR_RNDN);
    if (neg) mpfr_neg(X, X, MPFR_RNDN);
    v = to_dd(X, k);
    check_encl(s, k, v, ldexp(1.0, (int)(q - k - rndint(3, 40))), 1); /* < 1/8 quantum */
    /* representable, err = 0 */
    mpfr_set_si(X, M, MPFR_RNDN), mpfr_mul_2si(X, X, q, MPFR_RNDN);
    if (neg) mpfr_neg(X, X, MPFR_RNDN);
    v = to_dd(X, k);
    check_encl(s, k, v, 0, 1);
  }
  printf("%-9s ties exercised: %ld; oracle_round_encl decided %ld, refused %ld\n", f->name,
         nties - ties0, encl_yes, encl_no);
  encl_yes = encl_no = 0;
}

int main(void) {
  wide_range();
  mpfr_inits2(PX, X, Y, Z, W, (mpfr_ptr)0);
  for (size_t i = 0; i < NFMT; i++) test_format(&FMTS[i]);
  mpfr_clears(X, Y, Z, W, (mpfr_ptr)0);
  oracle_cleanup();
  mpfr_free_cache();
  printf("%ld passed, %ld failed\n", npass, nfail);
  return nfail > 0;
}

/* test_dd.c -- the assumptions the oracle's fast path rests on (internal.h).
 *
 * The fast path decides an output from a double-double value and an error
 * bound computed from DD_OP (one dd operation), EXPDD_REL (oracle_expdd) and
 * the bound oracle_log1pdd returns.  If any of those is too small, the oracle
 * can return a wrongly rounded value while claiming it is correct, so each is
 * measured here against exact (or directed-rounding, hence rigorous) MPFR:
 *  1. two_sum, two_prod: s + e == a op b exactly, s == RN(a op b);
 *     dd_add, dd_sub, dd_mul, dd_mul_d, dd_div: relative error <= DD_OP on
 *     random normalised operands over 2^-500..2^500 (results kept away from
 *     underflow/overflow), with cancellation-prone add/sub (b close to -a);
 *     every result must itself be a normalised dd (hi == RN(hi + lo)),
 *     which oracle_round_scaled relies on;
 *  2. oracle_expdd(d, &k), d in [-1e6, 0]: |2^k m - e^d| <= EXPDD_REL e^d
 *     and m in [0.99, 2.01]; random d, d next to multiples of ln2/64 and their
 *     midpoints (the reduction's boundaries), d = 0, tiny d, d with lo != 0;
 *  3. oracle_log1pdd(t, &err), t >= 0: |y - log1p(t)| <= err (rigorous: the
 *     reference is an MPFR interval), and err/|y| <= 2^-80 for t >= 2^-30;
 *     both branches around t = 2^-10.
 * Random operands come from splitmix64 with a fixed seed, so runs repeat.
 * A failure prints one line with the operands in %a; the last line is
 * "N passed, M failed" and the exit status is non-zero iff M > 0. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define PX 1400 /* exact for any sum/product of the dd operands below (span < 1300 bits) */
#define PR 400  /* references of exp and log1p: relative error 2^-400 */

static long npass, nfail;
static int nprinted;
#define FAIL(...)                                              \
  do {                                                         \
    nfail++;                                                   \
    if (nprinted++ < 50) { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); } \
  } while (0)

/* ---- PRNG ------------------------------------------------------------ */
static uint64_t rng_state = 0x5eed0fddULL;
static uint64_t rnd64(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static double rnd01(void) { return (double)(rnd64() >> 11) * 0x1p-53; } /* [0,1) */
static long rndint(long a, long b) { return a + (long)(rnd64() % (uint64_t)(b - a + 1)); }

/* random double with exponent in [e0, e1], random sign if sgn */
static double rnd_double(int e0, int e1, int sgn) {
  double m = 1 + (double)(rnd64() >> 12) * 0x1p-52;
  double v = ldexp(m, (int)rndint(e0, e1));
  return sgn && (rnd64() & 1) ? -v : v;
}
static double ulp_of(double x) {
  return fabs(x) < 0x1p-1022 ? 0x1p-1074 : ldexp(1.0, ilogb(x) - 52);
}

/* a strictly normalised lo for hi: hi == RN(hi + lo), so |lo| < ulp(hi)/2
 * (< ulp(hi)/4 below a power of two); 0 one time in eight; sometimes far
 * below ulp(hi) */
static double rnd_lo(double hi) {
  if (hi == 0 || (rnd64() & 7) == 0) return 0;
  double u = (2 * rnd01() - 1) * (1 - 0x1p-10); /* |u| < 1 */
  if (u == 0) u = 0.5;
  double lo = u * ulp_of(hi) / 2;
  if ((rnd64() & 3) == 0) lo = ldexp(lo, -(int)rndint(1, 60));
  double m;
  int e;
  m = frexp(fabs(hi), &e);
  if (m == 0.5 && (hi > 0 ? lo < 0 : lo > 0)) lo /= 2;
  return lo;
}
static dd rnd_dd(int e0, int e1) {
  double hi = rnd_double(e0, e1, 1);
  return dd_make(hi, rnd_lo(hi));
}

/* ---- MPFR helpers ---------------------------------------------------- */
static mpfr_t A, B, R, C, T; /* precision PX */

static void set_dd(mpfr_t x, dd a) { /* exact at PX bits, or a failure */
  mpfr_set_d(x, a.hi, MPFR_RNDN);
  if (mpfr_add_d(x, x, a.lo, MPFR_RNDN) != 0)
    FAIL("test_dd itself: (%a,%a) not exact in %ld bits", a.hi, a.lo, (long)mpfr_get_prec(x));
}
/* log2 of |c - r| / |r| (c, r: MPFR), -inf if equal; r != 0 */
static double log2_relerr(mpfr_srcptr c, mpfr_srcptr r) {
  mpfr_sub(T, c, r, MPFR_RNDN);
  if (mpfr_zero_p(T)) return -INFINITY;
  mpfr_div(T, T, r, MPFR_RNDU);
  mpfr_abs(T, T, MPFR_RNDN);
  mpfr_log2(T, T, MPFR_RNDU);
  return mpfr_get_d(T, MPFR_RNDU);
}
/* 1 if hi == RN(hi + lo) (a normalised dd) */
static int normalised(dd c) {
  set_dd(T, c);
  return mpfr_get_d(T, MPFR_RNDN) == c.hi && !(c.hi == 0 && c.lo != 0);
}

/* ---- 1. error-free transformations and dd operations ------------------ */
typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_MULD, OP_DIV, OP_N } op_t;
static const char *const opname[OP_N] = {"dd_add", "dd_sub", "dd_mul", "dd_mul_d", "dd_div"};
static double maxerr[OP_N];

static void check_op(op_t op, dd a, dd b) {
  dd c;
  set_dd(A, a);
  set_dd(B, b);
  switch (op) {
  case OP_ADD: c = dd_add(a, b); mpfr_add(R, A, B, MPFR_RNDN); break;
  case OP_SUB: c = dd_sub(a, b); mpfr_sub(R, A, B, MPFR_RNDN); break;
  case OP_MUL: c = dd_mul(a, b); mpfr_mul(R, A, B, MPFR_RNDN); break;
  case OP_MULD: c = dd_mul_d(a, b.hi); mpfr_mul_d(R, A, b.hi, MPFR_RNDN); break;
  default: c = dd_div(a, b); mpfr_div(R, A, B, MPFR_RNDN); break;
  }
  set_dd(C, c);
  if (mpfr_zero_p(R)) {
    if (c.hi == 0 && c.lo == 0) npass++;
    else FAIL("%s a=(%a,%a) b=(%a,%a): exact 0, got (%a,%a)", opname[op], a.hi, a.lo,
              b.hi, b.lo, c.hi, c.lo);
    return;
  }
  double e = log2_relerr(C, R);
  if (e > maxerr[op]) maxerr[op] = e;
  if (e <= -100 && normalised(c)) npass++;
  else
    FAIL("%s a=(%a,%a) b=(%a,%a): got (%a,%a), relerr 2^%.2f (bound 2^-100)%s", opname[op],
         a.hi, a.lo, b.hi, op == OP_MULD ? 0.0 : b.lo, c.hi, c.lo, e,
         normalised(c) ? "" : ", result not normalised");
}

static mpfr_t EA, ER, EC; /* 2200 bits: exact for two doubles of the normal range */
static void check_eft(int prod, double a, double b) {
  dd c = prod ? two_prod(a, b) : two_sum(a, b);
  mpfr_set_d(EA, a, MPFR_RNDN);
  if (prod) mpfr_mul_d(ER, EA, b, MPFR_RNDN);
  else mpfr_add_d(ER, EA, b, MPFR_RNDN); /* exact */
  set_dd(EC, c);
  double rn = mpfr_get_d(ER, MPFR_RNDN);
  if (mpfr_equal_p(EC, ER) && c.hi == rn) npass++;
  else FAIL("%s(%a, %a) = (%a, %a): not exact (RN = %a)", prod ? "two_prod" : "two_sum", a,
            b, c.hi, c.lo, rn);
}

static void test_ops(void) {
  const int N = 100000;
  mpfr_inits2(2200, EA, ER, EC, (mpfr_ptr)0);
  for (int i = 0; i < N; i++) {
    /* two_sum over the whole normal range, two_prod with an in-range product */
    double a = rnd_double(-1000, 1000, 1), b;
    switch (i % 4) {
    case 0: b = rnd_double(-1000, 1000, 1); break;
    case 1: b = rnd_double(ilogb(a) - 60, ilogb(a) + 60 < 1000 ? ilogb(a) + 60 : 1000, 1); break;
    case 2: b = -a * (1 + ldexp(rnd01() - 0.5, -(int)rndint(1, 52))); break;
    default: b = -a + (double)rndint(-4, 4) * ulp_of(a); break;
    }
    check_eft(0, a, b);
    a = rnd_double(-480, 480, 1);
    b = rnd_double(-450 - ilogb(a), 450 - ilogb(a), 1);
    check_eft(1, a, b);
  }
  mpfr_clears(EA, ER, EC, (mpfr_ptr)0);
  for (op_t op = 0; op < OP_N; op++) {
    maxerr[op] = -INFINITY;
    for (int i = 0; i < N; i++) {
      dd a, b;
      if (op == OP_ADD || op == OP_SUB) {
        a = rnd_dd(-500, 500);
        int sg = op == OP_ADD ? -1 : 1; /* b ~ sg * a cancels */
        switch (i % 8) {
        case 0: case 1: b = rnd_dd(-500, 500); break;
        case 2: b = rnd_dd(ilogb(a.hi) - 110, ilogb(a.hi) + 3); break;
        case 3: /* same hi, lo decides */
          b = dd_make(sg * a.hi, rnd_lo(a.hi));
          break;
        case 4: /* hi a few ulps apart */
          b.hi = sg * (a.hi + (double)rndint(-3, 3) * ulp_of(a.hi));
          b.lo = rnd_lo(b.hi);
          break;
        case 5: /* exact cancellation, or lo a few of its ulps apart */
          b = dd_make(sg * a.hi, sg * a.lo);
          if (a.lo != 0 && (rnd64() & 1)) b.lo += sg * (double)rndint(-2, 2) * ulp_of(a.lo);
          break;
        case 6: /* relative difference 2^-j */
          b.hi = sg * a.hi * (1 + ldexp(rnd01() - 0.5, -(int)rndint(1, 50)));
          b.lo = rnd_lo(b.hi);
          break;
        default: /* same binade, random */
          b = rnd_dd(ilogb(a.hi), ilogb(a.hi));
          break;
        }
        if (!normalised(b)) b.lo = 0;
      } else {
        a = rnd_dd(-500, 500);
        int ea = ilogb(a.hi);
        /* product / quotient exponent kept within [-450, 450] */
        if (op == OP_DIV) b = rnd_dd(ea - 450 > -500 ? ea - 450 : -500, ea + 450 < 500 ? ea + 450 : 500);
        else b = rnd_dd(-450 - ea > -500 ? -450 - ea : -500, 450 - ea < 500 ? 450 - ea : 500);
        if (i % 5 == 0) b.hi = ldexp(1.0, ilogb(b.hi)) * (rnd64() & 1 ? -1 : 1), b.lo = rnd_lo(b.hi);
      }
      check_op(op, a, b);
    }
    printf("%-9s max relative error 2^%.2f over %d operand pairs (bound 2^-100)\n",
           opname[op], maxerr[op], N);
  }
}

/* ---- 2. oracle_expdd ------------------------------------------------- */
static double max_exp_err = -INFINITY, min_m = INFINITY, max_m = -INFINITY;

static void check_exp(dd d) {
  long k = 0;
  dd m = oracle_expdd(d, &k);
  set_dd(A, d);
  mpfr_set_prec(R, PR);
  mpfr_exp(R, A, MPFR_RNDN); /* relative error 2^-PR */
  set_dd(C, m);
  double mv = m.hi + m.lo;
  mpfr_mul_2si(C, C, k, MPFR_RNDN);
  double e = log2_relerr(C, R);
  if (e > max_exp_err) max_exp_err = e;
  if (mv < min_m) min_m = mv;
  if (mv > max_m) max_m = mv;
  mpfr_set_prec(R, PX);
  if (e <= -98 && mv >= 0.99 && mv <= 2.01) npass++;
  else FAIL("oracle_expdd d=(%a,%a): k=%ld m=(%a,%a) relerr 2^%.2f (bound 2^-98), m in [0.99,2.01]",
            d.hi, d.lo, k, m.hi, m.lo, e);
}

static void test_expdd(void) {
  mpfr_t l;
  mpfr_init2(l, 200);
  mpfr_const_log2(l, MPFR_RNDN);
  mpfr_div_ui(l, l, 64, MPFR_RNDN); /* ln2/64 */
  /* hand-picked */
  double special[] = {0.0, -0.0, -0x1p-60, -0x1p-1074, -0x1p-1022, -0x1p-30, -1e-300,
                      -1e6, -745.1332191019412, -708.3964185322641, -103.97, -87.3,
                      -17.3, -1.0, -0.5, -0x1.62e42fefa39efp-7, -0x1.62e42fefa39efp-8};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
    check_exp(dd_d(special[i]));
    if (special[i] != 0) check_exp(dd_make(special[i], ulp_of(special[i]) / 4));
    if (special[i] != 0 && special[i] > -1e6) check_exp(dd_make(special[i], -ulp_of(special[i]) / 4));
  }
  for (int i = 0; i < 60000; i++) {
    dd d;
    switch (i % 6) {
    case 0: case 1: case 2: /* uniform in [-750, 0] */
      d.hi = -750 * rnd01();
      d.lo = rnd_lo(d.hi);
      break;
    case 3: /* [-1e6, -750] */
      d.hi = -750 - (1e6 - 750) * rnd01();
      d.lo = d.hi > -1e6 ? rnd_lo(d.hi) : 0;
      break;
    case 4: { /* next to j ln2/64 or (j + 1/2) ln2/64, j up to 1e6 / (ln2/64) */
      long j = (i % 12 == 4) ? rndint(0, 69000) : rndint(0, 92332482);
      mpfr_mul_d(T, l, (double)j + ((rnd64() & 1) ? 0.5 : 0.0), MPFR_RNDN);
      double h = -mpfr_get_d(T, MPFR_RNDN);
      if (h != 0) h += (double)rndint(-3, 3) * ulp_of(h);
      if (h < -1e6) h = -1e6;
      mpfr_add_d(T, T, h, MPFR_RNDN); /* j ln2/64 + h, the lo that makes d exact-ish */
      d.hi = h;
      d.lo = (rnd64() & 1) ? -mpfr_get_d(T, MPFR_RNDN) : rnd_lo(h);
      if (!(fabs(d.lo) < ulp_of(h) / 4)) d.lo = 0;
      if (d.hi == 0) d.lo = 0;
      if (d.hi == -1e6 && d.lo < 0) d.lo = 0;
      break;
    }
    default: /* tiny |d| */
      d.hi = -rnd_double(-1074 + 60, -1, 0);
      d.lo = rnd_lo(d.hi);
      break;
    }
    check_exp(d);
  }
  mpfr_clear(l);
  printf("oracle_expdd max relative error 2^%.2f (bound 2^-98), m in [%.6f, %.6f]\n",
         max_exp_err, min_m, max_m);
}

/* ---- 3. oracle_log1pdd ----------------------------------------------- */
static double max_l1p_rel = -INFINITY, max_l1p_ratio = 0, max_l1p_true = -INFINITY;
static mpfr_t RL, RU;

static void check_log1p(dd t) {
  double err = -1;
  dd y = oracle_log1pdd(t, &err);
  set_dd(A, t);
  mpfr_log1p(RL, A, MPFR_RNDD);
  mpfr_log1p(RU, A, MPFR_RNDU);
  set_dd(C, y);
  /* true error <= max(|y - RL|, |y - RU|) */
  mpfr_sub(B, C, RL, MPFR_RNDA);
  mpfr_sub(T, C, RU, MPFR_RNDA);
  mpfr_abs(B, B, MPFR_RNDN);
  mpfr_abs(T, T, MPFR_RNDN);
  if (mpfr_less_p(B, T)) mpfr_set(B, T, MPFR_RNDN);
  int ok = err >= 0 && mpfr_cmp_d(B, err) <= 0;
  double yv = fabs(y.hi);
  double relb = -INFINITY, truer = -INFINITY;
  if (t.hi == 0) ok = ok && y.hi == 0 && y.lo == 0;
  else {
    relb = log2(err) - log2(yv);
    if (!mpfr_zero_p(B)) {
      mpfr_div_d(T, B, yv, MPFR_RNDU);
      mpfr_log2(T, T, MPFR_RNDU);
      truer = mpfr_get_d(T, MPFR_RNDU);
      if (truer > max_l1p_true) max_l1p_true = truer;
      mpfr_div_d(T, B, err, MPFR_RNDU);
      double ratio = mpfr_get_d(T, MPFR_RNDU);
      if (ratio > max_l1p_ratio) max_l1p_ratio = ratio;
    }
    if (t.hi >= 0x1p-30) {
      if (relb > max_l1p_rel) max_l1p_rel = relb;
      ok = ok && relb <= -80;
    }
  }
  if (ok) npass++;
  else FAIL("oracle_log1pdd t=(%a,%a): y=(%a,%a) err=%a (2^%.2f of |y|), true error %a "
            "(2^%.2f of |y|); want true <= err, err <= 2^-80 |y|",
            t.hi, t.lo, y.hi, y.lo, err, relb, mpfr_get_d(B, MPFR_RNDU), truer);
}

static void test_log1pdd(void) {
  mpfr_inits2(PR, RL, RU, (mpfr_ptr)0);
  check_log1p(dd_d(0));
  double special[] = {0x1p-1000, 0x1p-960, 0x1p-60, 0x1p-30, 0x1p-11, 0x1p-10, 1e-5,
                      0.5, 1, 2, 1e3, 1e6};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
    double s = special[i];
    check_log1p(dd_d(s));
    check_log1p(dd_make(s, -ulp_of(s) / 4.5));
    check_log1p(dd_make(s, ulp_of(s) / 2.5));
  }
  for (int i = 0; i < 30000; i++) {
    dd t;
    switch (i % 5) {
    case 0: /* tiny: 2^-960 .. 2^-30 */
      t.hi = rnd_double(-960, -31, 0);
      break;
    case 1: /* series branch near its end: [2^-30, 2^-10) */
      t.hi = rnd_double(-30, -11, 0);
      break;
    case 2: /* both sides of 2^-10 */
      t.hi = 0x1p-10 + (double)rndint(-40, 40) * 0x1p-63;
      if (rnd64() & 1) t.hi = 0x1p-10 * (1 + ldexp(rnd01() - 0.5, -(int)rndint(1, 20)));
      break;
    default: /* 1e-5 .. 1e6, log-uniform */
      t.hi = exp(log(1e-5) + (log(1e6) - log(1e-5)) * rnd01());
      break;
    }
    t.lo = rnd_lo(t.hi);
    check_log1p(t);
  }
  printf("oracle_log1pdd (t >= 2^-30) max err/|y| 2^%.2f (bound 2^-80); "
         "max true error/|y| 2^%.2f; max true error/err %.3g\n",
         max_l1p_rel, max_l1p_true, max_l1p_ratio);
  mpfr_clears(RL, RU, (mpfr_ptr)0);
}

int main(void) {
  oracle_mpfr_range();
  mpfr_inits2(PX, A, B, R, C, T, (mpfr_ptr)0);
  test_ops();
  test_expdd();
  test_log1pdd();
  mpfr_clears(A, B, R, C, T, (mpfr_ptr)0);
  oracle_cleanup();
  mpfr_free_cache();
  printf("%ld passed, %ld failed\n", npass, nfail);
  return nfail > 0;
}

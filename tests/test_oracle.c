/* test_oracle.c -- hand-picked cases for oracle_eval:
 *  1. worked examples from ../shared/seeds (each seed number checked against
 *     mpmath at 200 bits first: several are wrong, and the test asserts that
 *     the oracle disagrees with them and agrees with mathematics);
 *  2. identities on the oracle's exact values (sum to one, shift invariance,
 *     lse(x) - x_i = -log_softmax_i, sum of softmax_vjp = 0, d lse/dx = s);
 *  3. the special values of SEMANTICS.md;
 *  4. overflow/underflow rounding derived by hand from IEEE 754;
 *  5. hard cases on or next to a rounding boundary: the Ziv loop must climb
 *     (precision recorded in the stats) and terminate; exact ties;
 *  6. invalid arguments.
 * Prints one line per failure and "N passed, M failed". */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "oracle.h"

static int npass, nfail;
#define CHECK(c, ...)                                        \
  do {                                                       \
    if (c) npass++;                                          \
    else { nfail++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
           printf(__VA_ARGS__); printf("\n"); }              \
  } while (0)

static double xv_val(const oracle_xval *v) { return ldexp(v->hi + v->lo, (int)v->e); }
static double xv_err(const oracle_xval *v) { return ldexp(v->err, (int)v->e); }

static int same(double a, double b) {
  return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

/* ---- 1. seed worked examples ---------------------------------------- */
typedef struct {
  const char *where;
  double x[4];
  int n;
  double tau;
  double seed[4];   /* as printed in the seed, to `dec` decimals */
  int dec;
  int seed_right;   /* 1 if the seed agrees with mathematics */
  double math[4];   /* mpmath, 200 bits, 10 significant digits */
} worked;

static const worked W[] = {
    /* seed 002: e^-5 term and the first value are off (0.9999545 vs
     * 0.9999543); also "0.0003%" should read 0.00003% */
    {"002 softmax([10,0,-5])", {10, 0, -5}, 3, 1, {0.9999545, 0.0000454, 0.0000003}, 7, 0,
     {0.9999542963, 4.539785482e-5, 3.058883396e-7}},
    /* seed 002: scaled scores, 0.9929 should be 0.9928 */
    {"002 softmax([5,0,-2.5])", {5, 0, -2.5}, 3, 1, {0.9929, 0.0067, 0.0005}, 4, 0,
     {0.992761743, 0.006689176007, 0.0005490810033}},
    /* seed 002: d_k = 64 example is wrong (and not even ordered) */
    {"002 softmax([1.25,0,-0.625])", {1.25, 0, -0.625}, 3, 1, {0.6011, 0.1711, 0.2278}, 4, 0,
     {0.6945120804, 0.1989810425, 0.1065068771}},
    {"003/004 softmax([1000,1001,1002])", {1000, 1001, 1002}, 3, 1, {0.0900, 0.2447, 0.6652}, 4, 1,
     {0.09003057317, 0.2447284711, 0.6652409558}},
    {"004 softmax([2,1,0.1])", {2, 1, 0.1}, 3, 1, {0.6590, 0.2424, 0.0986}, 4, 1,
     {0.6590011389, 0.2424329707, 0.09856589041}},
    /* seed 004 temperature table: only tau = 1 is right */
    {"004 tau=0.1", {2, 1, 0.1}, 3, 0.1, {0.9999, 0.0001, 0.0000}, 4, 0,
     {0.9999545965, 4.539786845e-5, 5.602542051e-9}},
    {"004 tau=0.5", {2, 1, 0.1}, 3, 0.5, {0.9309, 0.0625, 0.0066}, 4, 0,
     {0.8637771182, 0.1168995209, 0.01932336085}},
    {"004 tau=2", {2, 1, 0.1}, 3, 2, {0.4684, 0.3181, 0.2135}, 4, 0,
     {0.5016877571, 0.3042890063, 0.1940232366}},
    {"004 tau=10", {2, 1, 0.1}, 3, 10, {0.3580, 0.3340, 0.3080}, 4, 0,
     {0.3660594707, 0.3312243064, 0.3027162229}},
    /* seed 000: the attention weights do not come from these scores */
    {"000 scores row 1", {2.1, 0.5, -1.2, 3.0}, 4, 1, {0.42, 0.08, 0.02, 0.48}, 2, 0,
     {0.2703884522, 0.054590487, 0.009972782546, 0.6650482783}},
    {"000 scores row 2", {1.8, -0.3, 2.5, 0.1}, 4, 1, {0.34, 0.04, 0.68, 0.06}, 2, 0,
     {0.3013053155, 0.03689677275, 0.6067543949, 0.05504351685}},
    /* seed 000: "attention collapse", 0.0003 should be 0.00005 */
    {"000 [10,.1,.1,.1]", {10, 0.1, 0.1, 0.1}, 4, 1, {0.999, 0.0003, 0.0003, 0.0003}, 4, 0,
     {0.9998494986, 5.01671307e-5, 5.01671307e-5, 5.01671307e-5}},
    {"003 masked [-inf,.5,1]", {-INFINITY, 0.5, 1.0}, 3, 1, {0, 0.38, 0.62}, 2, 1,
     {0, 0.3775406688, 0.6224593312}},
};

static double round_dec(double v, int dec) {
  double s = pow(10, dec);
  return round(v * s) / s;
}

static void test_worked(void) {
  for (size_t w = 0; w < sizeof W / sizeof W[0]; w++) {
    const worked *c = &W[w];
    double out[4];
    oracle_params p = {c->tau, 1, NULL, NULL, 0};
    CHECK(oracle_eval(ORACLE_SOFTMAX, &oracle_binary64, (size_t)c->n, c->x, &p, out, NULL, NULL) == 0,
          "%s: eval", c->where);
    int agree = 1;
    for (int i = 0; i < c->n; i++) {
      CHECK(fabs(out[i] - c->math[i]) <= 1e-9 * fabs(c->math[i]) + 1e-300,
            "%s: output %d = %a, mpmath %.10g", c->where, i, out[i], c->math[i]);
      if (fabs(round_dec(out[i], c->dec) - c->seed[i]) > 0.5 * pow(10, -c->dec)) agree = 0;
    }
    CHECK(agree == c->seed_right, "%s: the oracle %s the seed's numbers", c->where,
          agree ? "agrees with" : "disagrees with");
  }
}

/* ---- 2. identities --------------------------------------------------- */
static void test_identities(void) {
  const double x[] = {3.5, -1.25, 0.0, 7.0, 7.0, -20.5, 0x1p-10, 2.75};
  enum { N = 8 };
  double s[N], ls[N], v[N], lse, dy[N] = {1, -2, 0.5, 3, -1, 0.25, 8, -4}, ce;
  oracle_xval xs[N], xls[N], xv[N], xl, xc, xg[N];
  oracle_params p = {1, 1, NULL, dy, 5};
  oracle_eval(ORACLE_SOFTMAX, &oracle_binary64, N, x, &p, s, xs, NULL);
  oracle_eval(ORACLE_LOG_SOFTMAX, &oracle_binary64, N, x, &p, ls, xls, NULL);
  oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary64, N, x, &p, &lse, &xl, NULL);
  oracle_eval(ORACLE_SOFTMAX_VJP, &oracle_binary64, N, x, &p, v, xv, NULL);
  oracle_eval(ORACLE_CROSS_ENTROPY, &oracle_binary64, N, x, &p, &ce, &xc, NULL);
  oracle_eval(ORACLE_CROSS_ENTROPY_GRAD, &oracle_binary64, N, x, &p, v, xg, NULL);
  double sum = 0, err = 0, vsum = 0, verr = 0;
  oracle_xval xv2[N];
  double v2[N];
  oracle_eval(ORACLE_SOFTMAX_VJP, &oracle_binary64, N, x, &p, v2, xv2, NULL);
  for (int i = 0; i < N; i++) {
    sum += xv_val(&xs[i]), err += xv_err(&xs[i]) + 0x1p-52;
    vsum += xv_val(&xv2[i]), verr += xv_err(&xv2[i]) + 0x1p-50 * fabs(xv_val(&xv2[i]));
    /* lse - x_i = -log_softmax_i */
    double d = (xv_val(&xl) - x[i]) + xv_val(&xls[i]);
    CHECK(fabs(d) <= 0x1p-45, "lse - x_%d + log_softmax_%d = %a", i, i, d);
    /* cross_entropy_grad + onehot = softmax */
    double g = xv_val(&xg[i]) + (i == 5) - xv_val(&xs[i]);
    CHECK(fabs(g) <= 0x1p-50, "ce_grad_%d + [i=t] - s_%d = %a", i, i, g);
  }
  CHECK(fabs(sum - 1) <= err, "sum softmax - 1 = %a (allowed %a)", sum - 1, err);
  CHECK(fabs(vsum) <= verr + 0x1p-50, "sum softmax_vjp = %a", vsum);
  CHECK(fabs(xv_val(&xc) + xv_val(&xls[5])) <= 0x1p-48, "cross_entropy != -log_softmax_t");
  /* shift invariance: x + 64 is exact, outputs must be bitwise equal */
  double xs2[N], s2[N];
  for (int i = 0; i < N; i++) xs2[i] = x[i] + 64;
  oracle_eval(ORACLE_SOFTMAX, &oracle_binary64, N, xs2, &p, s2, NULL, NULL);
  for (int i = 0; i < N; i++) CHECK(same(s[i], s2[i]), "shift: s_%d %a vs %a", i, s[i], s2[i]);
  /* d lse / dx_i = s_i by central differences on the exact values */
  const double h = 0x1p-20;
  for (int i = 0; i < N; i++) {
    double xp[N], lp, lm;
    oracle_xval a, b;
    memcpy(xp, x, sizeof xp);
    xp[i] = x[i] + h;
    oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary64, N, xp, &p, &lp, &a, NULL);
    xp[i] = x[i] - h;
    oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary64, N, xp, &p, &lm, &b, NULL);
    /* (a - b) in dd: both are near lse, take the difference of hi/lo parts */
    double diff = ((a.hi - b.hi) + (a.lo - b.lo)) * ldexp(1, (int)a.e);
    if (a.e != b.e) diff = xv_val(&a) - xv_val(&b);
    double fd = diff / (2 * h);
    CHECK(fabs(fd - s[i]) <= 0x1p-30, "d lse/dx_%d = %a, softmax %a", i, fd, s[i]);
  }
}

/* ---- 3. special values (SEMANTICS.md) ---------------------------------- */
static void expect(oracle_func f, const double *x, size_t n, const double *dy, long t,
                   const double *want, const char *what) {
  double out[8];
  oracle_params p = {1, 1, NULL, dy, t};
  int r = oracle_eval(f, &oracle_binary32, n, x, &p, out, NULL, NULL);
  size_t no = oracle_noutputs(f, n);
  int ok = r == 0;
  for (size_t i = 0; i < no; i++) ok &= same(out[i], want[i]);
  CHECK(ok, "%s %s: got %a %a %a", oracle_func_name(f), what, out[0], no > 1 ? out[1] : 0,
        no > 2 ? out[2] : 0);
}

static void test_special(void) {
  const double I = INFINITY, N = NAN;
  double nanrow[3] = {N, N, N};
  expect(ORACLE_SOFTMAX, (double[]){1, N, 2}, 3, NULL, 0, nanrow, "NaN input");
  expect(ORACLE_LOGSUMEXP, (double[]){1, N, 2}, 3, NULL, 0, (double[]){N}, "NaN input");
  expect(ORACLE_SOFTMAX, (double[]){1, I, 2}, 3, NULL, 0, (double[]){0, 1, 0}, "one +inf");
  expect(ORACLE_LOG_SOFTMAX, (double[]){1, I, 2}, 3, NULL, 0, (double[]){-I, 0, -I}, "one +inf");
  expect(ORACLE_SOFTMAX, (double[]){I, 1, I}, 3, NULL, 0, nanrow, "two +inf");
  expect(ORACLE_LOGSUMEXP, (double[]){I, 1, I}, 3, NULL, 0, (double[]){I}, "two +inf");
  expect(ORACLE_SOFTMAX, (double[]){-I, -I, -I}, 3, NULL, 0, nanrow, "all -inf");
  expect(ORACLE_LOGSUMEXP, (double[]){-I, -I}, 2, NULL, 0, (double[]){-I}, "all -inf");
  expect(ORACLE_LOGSUMEXP, NULL, 0, NULL, 0, (double[]){-I}, "n = 0");
  expect(ORACLE_SOFTMAX, (double[]){-I, 3, 3}, 3, NULL, 0, (double[]){0, 0.5, 0.5}, "masked");
  expect(ORACLE_LOG_SOFTMAX, (double[]){-I, 5}, 2, NULL, 0, (double[]){-I, 0}, "single unmasked");
  expect(ORACLE_CROSS_ENTROPY, (double[]){-I, 5, 6}, 3, NULL, 0, (double[]){I}, "masked target");
  expect(ORACLE_CROSS_ENTROPY, (double[]){1, I}, 2, NULL, 1, (double[]){0}, "target is +inf");
  expect(ORACLE_SOFTMAX_VJP, (double[]){1, 2, 3}, 3, (double[]){1, I, 0}, 0, nanrow, "inf dy");
  expect(ORACLE_SOFTMAX_VJP, (double[]){1, 2, 3}, 3, (double[]){2, 2, 2}, 0, (double[]){0, 0, 0},
         "constant dy: exact +0");
  /* log_softmax_vjp at one +inf: dx_k = dy_k - sum dy */
  expect(ORACLE_LOG_SOFTMAX_VJP, (double[]){1, I, 2}, 3, (double[]){1, 2, 4}, 0,
         (double[]){1, -5, 4}, "one +inf");
  /* masked NaN is not a NaN input */
  double out[2];
  oracle_params p = {1, 1, (const unsigned char[]){1, 0}, NULL, 0};
  oracle_eval(ORACLE_SOFTMAX, &oracle_binary32, 2, (double[]){N, 4}, &p, out, NULL, NULL);
  CHECK(out[0] == 0 && out[1] == 1, "mask over NaN: %a %a", out[0], out[1]);
}

/* ---- 4. overflow and underflow ----------------------------------------- */
static void test_range(void) {
  double y, s[2];
  /* binary16: 65504 + ln 2 and + ln 3 are below the overflow threshold 65520 */
  oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary16, 2, (double[]){65504, 65504}, NULL, &y, NULL, NULL);
  CHECK(y == 65504, "f16 lse([65504,65504]) = %a", y);
  /* tau = 1/2: z = 131008, beyond the largest binary16: +inf */
  oracle_params p = {0.5, 1, NULL, NULL, 0};
  oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary16, 2, (double[]){65504, 65504}, &p, &y, NULL, NULL);
  CHECK(y == INFINITY, "f16 lse/0.5 = %a", y);
  /* binary32: e^-103 = 1.3240 * 2^-149 rounds to the least subnormal;
   * e^-104 = 0.4871 * 2^-149 is below half of it: +0 */
  oracle_eval(ORACLE_SOFTMAX, &oracle_binary32, 2, (double[]){0, -103}, NULL, s, NULL, NULL);
  CHECK(s[1] == 0x1p-149 && s[0] == 1, "f32 softmax([0,-103]) = %a %a", s[0], s[1]);
  oracle_eval(ORACLE_SOFTMAX, &oracle_binary32, 2, (double[]){0, -104}, NULL, s, NULL, NULL);
  CHECK(same(s[1], 0.0), "f32 softmax([0,-104])[1] = %a", s[1]);
  /* binary16 log_softmax below -65520 overflows to -inf; -1e-30404 is -0 */
  oracle_eval(ORACLE_LOG_SOFTMAX, &oracle_binary16, 2, (double[]){30000, -40000}, NULL, s, NULL, NULL);
  CHECK(s[1] == -INFINITY && same(s[0], -0.0), "f16 log_softmax gap 70000: %a %a", s[0], s[1]);
  /* uq0.8: softmax 1 saturates to 255/256 */
  oracle_eval(ORACLE_SOFTMAX, &oracle_uq0_8, 2, (double[]){0, -100}, NULL, s, NULL, NULL);
  CHECK(s[0] == 255.0 / 256 && s[1] == 0, "uq0.8 saturation: %a %a", s[0], s[1]);
}

/* ---- 5. hard cases ------------------------------------------------------ */
static void test_hard(void) {
  oracle_stats st;
  double y;
  /* binary32 midpoint m = 1 + 2^-24: lse([m, m - 200]) = m + 1.4e-87
   * must round up to 1 + 2^-23; the dd fast path cannot see 2^-87 */
  memset(&st, 0, sizeof st);
  const double m = 1 + 0x1p-24;
  oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary32, 2, (double[]){m, m - 200}, NULL, &y, NULL, &st);
  CHECK(y == 1 + 0x1p-23, "f32 lse just above a midpoint = %a", y);
  CHECK(st.ziv == 1 && st.fast == 0, "f32 lse midpoint: decided by the fast path?");
  /* just below the midpoint -m: -m + tiny has magnitude below m: -1 */
  oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary32, 2, (double[]){-m, -m - 200}, NULL, &y, NULL, NULL);
  CHECK(y == -1.0, "f32 lse just inside a midpoint = %a", y);
  /* binary64: z = x * scale = 1 + 3*2^-27 + 2^-53 is a binary64 midpoint;
   * lse([x, x - 400]) = z + e^-400(1+2^-27) rounds up, ~2^-577 above */
  memset(&st, 0, sizeof st);
  const double x0 = 1 + 0x1p-26, sc = 1 + 0x1p-27;
  oracle_params p = {1, sc, NULL, NULL, 0};
  oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary64, 2, (double[]){x0, x0 - 400}, &p, &y, NULL, &st);
  CHECK(y == 1 + 3 * 0x1p-27 + 0x1p-52, "f64 lse just above a midpoint = %a", y);
  CHECK(st.ziv == 1 && st.fast == 0, "f64 lse midpoint: decided by the fast path?");
  /* No rational anchor: softmax_vjp with x = [0, 0, -200], dy_0 = 4(1 + 2^-24),
   * e = e^-200: dx_0 = dy_0 (1+e)/(2+e)^2 = (1 + 2^-24)(1 - e^2/4 + ...), just
   * below a binary32 midpoint by ~2^-602 relative: the Ziv loop must climb
   * past 600 bits, and the value rounds down to 1; dx_1 = -dy_0/(2+e)^2
   * rounds to -1 the same way; dx_2 ~ -3e-87 underflows to -0.  With the
   * rational anchors (anchor.c) it is decided at the first MPFR precision;
   * without them the plain loop must climb; both must agree. */
  for (int anchors = 1; anchors >= 0; anchors--) {
    memset(&st, 0, sizeof st);
    oracle_use_anchors(anchors);
    double v3[3];
    oracle_params pv = {1, 1, NULL, (double[]){4 + 0x1p-22, 0, 0}, 0};
    oracle_eval(ORACLE_SOFTMAX_VJP, &oracle_binary32, 3, (double[]){0, 0, -200}, &pv, v3, NULL, &st);
    CHECK(v3[0] == 1 && v3[1] == -1 && same(v3[2], -0.0), "vjp near midpoint (anchors %d): %a %a %a",
          anchors, v3[0], v3[1], v3[2]);
    CHECK(st.unresolved == 0 && st.ziv >= 2 && (anchors ? st.max_prec == 128 : st.max_prec >= 600),
          "anchors %d: max_prec %lu ziv %lu", anchors, st.max_prec, st.ziv);
    printf("hard case f32 softmax_vjp([0,0,-200]), anchors %s: decided at %lu bits\n",
           anchors ? "on" : "off", st.max_prec);
    /* the same holds for the lse cases above */
    memset(&st, 0, sizeof st);
    oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary32, 2, (double[]){m, m - 200}, NULL, &y, NULL, &st);
    CHECK(y == 1 + 0x1p-23 && (anchors ? st.max_prec == 128 : st.max_prec > 288),
          "lse midpoint (anchors %d): %a at %lu bits", anchors, y, st.max_prec);
  }
  oracle_use_anchors(1);
  /* the exact tie itself (one element): ties to even, i.e. down */
  memset(&st, 0, sizeof st);
  oracle_eval(ORACLE_LOGSUMEXP, &oracle_binary64, 1, (double[]){x0}, &p, &y, NULL, &st);
  CHECK(y == 1 + 3 * 0x1p-27 && st.exact == 1, "f64 exact tie = %a", y);
  /* uq0.8: 512 equal entries, softmax = 1/512, a tie between 0 and 1/256 */
  double x[512], s[512];
  for (int i = 0; i < 512; i++) x[i] = 3;
  oracle_eval(ORACLE_SOFTMAX, &oracle_uq0_8, 512, x, NULL, s, NULL, NULL);
  CHECK(s[0] == 0, "uq0.8 1/512 tie -> 0, got %a", s[0]);
  oracle_eval(ORACLE_SOFTMAX, &oracle_q0_15, 512, x, NULL, s, NULL, NULL);
  CHECK(s[7] == 0x1p-9, "q0.15 1/512 = %a", s[7]);
  /* softmax_vjp exact zero with different inputs: groups {1,1} and {2}
   * have the same mean dy = 1, so sum s_j dy_j = 1 exactly and dx_2 = 0 */
  double v[3];
  memset(&st, 0, sizeof st);
  oracle_params q = {1, 1, NULL, (double[]){0, 2, 1}, 0};
  oracle_eval(ORACLE_SOFTMAX_VJP, &oracle_binary64, 3, (double[]){1, 1, 2}, &q, v, NULL, &st);
  CHECK(same(v[2], 0.0) && v[0] < 0 && v[1] > 0, "vjp group zero: %a %a %a", v[0], v[1], v[2]);
  CHECK(st.unresolved == 0, "vjp group zero unresolved");
}

/* ---- 6. invalid arguments ---------------------------------------------- */
static void test_invalid(void) {
  double x[2] = {1, 2}, out[2];
  oracle_params p = {-1, 1, NULL, NULL, 0};
  CHECK(oracle_eval(ORACLE_SOFTMAX, &oracle_binary32, 2, x, &p, out, NULL, NULL) == -1, "tau < 0");
  p.tau = NAN;
  CHECK(oracle_eval(ORACLE_SOFTMAX, &oracle_binary32, 2, x, &p, out, NULL, NULL) == -1, "tau NaN");
  p.tau = 1;
  CHECK(oracle_eval(ORACLE_SOFTMAX_VJP, &oracle_binary32, 2, x, &p, out, NULL, NULL) == -1, "no dy");
  p.target = 2;
  CHECK(oracle_eval(ORACLE_CROSS_ENTROPY, &oracle_binary32, 2, x, &p, out, NULL, NULL) == -1, "target");
  p.target = 0;
  CHECK(oracle_eval(ORACLE_CROSS_ENTROPY_GRAD, &oracle_uq0_8, 2, x, &p, out, NULL, NULL) == -1, "fixed grad");
}

int main(void) {
  test_worked();
  test_identities();
  test_special();
  test_range();
  test_hard();
  test_invalid();
  oracle_cleanup();
  printf("%d passed, %d failed\n", npass, nfail);
  return nfail != 0;
}

/* test_special.c -- harness/special.c: the verdict of special rows.
 *
 * Each case builds a row of an oracle/SEMANTICS.md case, the outputs some
 * convention prescribes (written down here from SEMANTICS.md's definitions,
 * not produced by special.c), the oracle's reference, and checks the
 * verdict: the reference, the named alternative, a declared alternative
 * preferred over an undeclared one that also matches, and "wrong". */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "kio.h"
#include "oracle.h"
#include "special.h"

static int fails, checks;

/* Classify got for a row of function f (binary64 unless fmt says) and
 * compare the verdict with expect. */
static void expect_verdict(const char *what, smax_func f, smax_format fmt, const char *conv, int cs,
                           size_t n, const double *x, const unsigned char *mask, const double *dy,
                           int32_t target, double tau, const double *got, const char *expect) {
  smax_kernel k = {"test", f, fmt, NULL, 0, conv, {0, 0, 0, 0, 0}, "test"};
  double want[16];
  oracle_xval xv[16];
  oracle_params p = {tau, 1, mask, dy, target};
  const oracle_format *of = kio_oracle_format(fmt);
  if (f == SMAX_CROSS_ENTROPY) {
    oracle_eval(ORACLE_CROSS_ENTROPY_GRAD, of, n, x, &p, want, xv, NULL);
    oracle_eval(ORACLE_CROSS_ENTROPY, of, n, x, &p, want + n, xv + n, NULL);
  } else {
    oracle_eval((oracle_func)f, of, n, x, &p, want, xv, NULL);
  }
  special_row r = {cs, n, x, dy, mask, target, tau, 1, got, want};
  const char *v = special_classify(&k, &r);
  checks++;
  if (strcmp(v, expect)) {
    fails++;
    printf("FAIL %s: verdict %s, expected %s\n", what, v, expect);
  }
}

int main(void) {
  const double I = INFINITY, N = NAN;
  const unsigned char none[4] = {0, 0, 0, 0}, m1[4] = {0, 1, 0, 0}, all[4] = {1, 1, 1, 1};
  const double dy0[4] = {0.5, -1, 2, 0.25}, dyc[4] = {1, 1, 1, 1}, dybad[4] = {1, I, 0, 2};

  /* C4 pinf-one, softmax [1, inf, 2]: reference one-hot; alternatives */
  const double x4[3] = {1, I, 2};
  expect_verdict("C4 SM one-hot", SMAX_SOFTMAX, SMAX_F64, "", 4, 3, x4, none, dy0, 0, 1,
                 (const double[]){0, 1, 0}, "reference");
  expect_verdict("C4 SM all NaN", SMAX_SOFTMAX, SMAX_F64, "", 4, 3, x4, none, dy0, 0, 1,
                 (const double[]){N, N, N}, "ieee-nan");
  expect_verdict("C4 SM NaN at +inf, 0 elsewhere", SMAX_SOFTMAX, SMAX_F64, "", 4, 3, x4, none, dy0, 0, 1,
                 (const double[]){0, N, 0}, "ieee-partial");
  expect_verdict("C4 LSM NaN at +inf, -inf elsewhere", SMAX_LOG_SOFTMAX, SMAX_F64, "", 4, 3, x4, none, dy0,
                 0, 1, (const double[]){-I, N, -I}, "ieee-partial");
  expect_verdict("C4 SM half mass", SMAX_SOFTMAX, SMAX_F64, "ieee-nan", 4, 3, x4, none, dy0, 0, 1,
                 (const double[]){0, 0.5, 0.5}, "wrong");
  /* LSMV's C4 limit is finite ((dy_k - sum dy)/tau at k): a rounding error
   * in it is the reference convention, not a wrong special value */
  expect_verdict("C4 LSMV limit, 1 ulp off", SMAX_LOG_SOFTMAX_VJP, SMAX_F64, "", 4, 3, x4, none, dy0, 0, 1,
                 (const double[]){0.5, -0x1.4000000000001p+1, 2}, "reference");
  expect_verdict("C4 LSMV limit, 1% off is wrong", SMAX_LOG_SOFTMAX_VJP, SMAX_F64, "", 4, 3, x4, none, dy0, 0, 1,
                 (const double[]){0.5, -2.525, 2}, "wrong");
  expect_verdict("C4 SM -0 for +0", SMAX_SOFTMAX, SMAX_F64, "", 4, 3, x4, none, dy0, 0, 1,
                 (const double[]){-0.0, 1, 0}, "reference");

  /* C3 pinf-multi [inf, 1, inf]: uniform-inf shares the mass over P = 2 */
  const double x3[3] = {I, 1, I};
  expect_verdict("C3 SM uniform-inf", SMAX_SOFTMAX, SMAX_F64, "", 3, 3, x3, none, dy0, 0, 1,
                 (const double[]){0.5, 0, 0.5}, "uniform-inf");
  expect_verdict("C3 LSM uniform-inf", SMAX_LOG_SOFTMAX, SMAX_F64, "", 3, 3, x3, none, dy0, 0, 1,
                 (const double[]){-0x1.62e42fefa39efp-1, -I, -0x1.62e42fefa39efp-1}, "uniform-inf");
  /* CE with target on a +inf slot: loss ln 2, grad (s_i - [i=t])/tau, tau = 2 */
  expect_verdict("C3 CE uniform-inf", SMAX_CROSS_ENTROPY, SMAX_F64, "", 3, 3, x3, none, dy0, 0, 2,
                 (const double[]){-0.25, 0, 0.25, 0x1.62e42fefa39efp-1}, "uniform-inf");
  expect_verdict("C3 SM all NaN is the reference", SMAX_SOFTMAX, SMAX_F64, "", 3, 3, x3, none, dy0, 0, 1,
                 (const double[]){N, N, N}, "reference");

  /* C5 all-masked, n = 3 */
  const double x5[3] = {1, 2, 3};
  expect_verdict("C5 SM zero-row", SMAX_SOFTMAX, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){0, 0, 0}, "zero-row");
  expect_verdict("C5 SM uniform-row", SMAX_SOFTMAX, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){1.0 / 3, 1.0 / 3, 1.0 / 3}, "uniform-row");
  expect_verdict("C5 LSM neg-inf-row", SMAX_LOG_SOFTMAX, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){-I, -I, -I}, "neg-inf-row");
  expect_verdict("C5 LSM uniform-row (-ln 3)", SMAX_LOG_SOFTMAX, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){-0x1.193ea7aad030bp+0, -0x1.193ea7aad030bp+0, -0x1.193ea7aad030bp+0},
                 "uniform-row");
  /* LSMV zero-row: dy_i / tau with tau = 4 */
  expect_verdict("C5 LSMV zero-row", SMAX_LOG_SOFTMAX_VJP, SMAX_F64, "", 5, 4, (const double[]){1, 2, 3, 4},
                 all, dy0, 0, 4, (const double[]){0.125, -0.25, 0.5, 0.0625}, "zero-row");
  /* CE zero-loss and zero-row (loss +inf, grad -[i=t]/tau) */
  expect_verdict("C5 CE zero-loss", SMAX_CROSS_ENTROPY, SMAX_F64, "", 5, 3, x5, all, dy0, 1, 1,
                 (const double[]){0, 0, 0, 0}, "zero-loss");
  expect_verdict("C5 CE zero-row", SMAX_CROSS_ENTROPY, SMAX_F64, "", 5, 3, x5, all, dy0, 1, 1,
                 (const double[]){0, -1, 0, I}, "zero-row");
  /* SMV with a constant dy: zero-row (0) and uniform-row ((1/n)(dy_i - 1)) give
   * the same zeros; the declared one is named */
  expect_verdict("C5 SMV zeros, none declared", SMAX_SOFTMAX_VJP, SMAX_F64, "", 5, 3, x5, all, dyc, 0, 1,
                 (const double[]){0, 0, 0}, "zero-row");
  expect_verdict("C5 SMV zeros, uniform-row declared", SMAX_SOFTMAX_VJP, SMAX_F64, "uniform-row", 5, 3, x5,
                 all, dyc, 0, 1, (const double[]){0, 0, 0}, "uniform-row");
  /* unmask-row: the mask dropped, softmax of the stored [1, 2, 3] */
  expect_verdict("C5 SM unmask-row", SMAX_SOFTMAX, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){0x1.70c3e5f682bdap-4, 0x1.f534335ca4bcfp-3, 0x1.549a766a06791p-1}, "unmask-row");
  /* mask-large-negative: LSE of three masked slots filled with -1e9 is -1e9 + ln 3 */
  expect_verdict("C5 LSE mask-large-negative", SMAX_LOGSUMEXP, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){-1e9 + 0x1.193ea7aad030bp+0}, "mask-large-negative");
  expect_verdict("C5 LSE -inf is the reference", SMAX_LOGSUMEXP, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){-I}, "reference");
  expect_verdict("C5 LSE NaN is wrong", SMAX_LOGSUMEXP, SMAX_F64, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){N}, "wrong");

  /* C1 nan-x [NaN, (masked), 1]: masked-const keeps 0 at the masked slot;
   * ignore-nan reads the NaN as masked: softmax of the one entry 1 */
  const double x1[3] = {N, 5, 1};
  expect_verdict("C1 SM masked-const", SMAX_SOFTMAX, SMAX_F64, "", 1, 3, x1, m1, dy0, 0, 1,
                 (const double[]){N, 0, N}, "masked-const");
  expect_verdict("C1 SM ignore-nan", SMAX_SOFTMAX, SMAX_F64, "", 1, 3, x1, m1, dy0, 0, 1,
                 (const double[]){0, 0, 1}, "ignore-nan");
  expect_verdict("C1 SM zeros (nan-to-zero) is wrong", SMAX_SOFTMAX, SMAX_F64, "", 1, 3, x1, m1, dy0, 0, 1,
                 (const double[]){0, 0, 0}, "wrong");

  /* C2 bad-dy: ieee-propagate = no finite output */
  const double x2[4] = {1, 2, 3, 4};
  expect_verdict("C2 LSMV ieee-propagate", SMAX_LOG_SOFTMAX_VJP, SMAX_F64, "", 2, 4, x2, none, dybad, 0, 1,
                 (const double[]){N, I, -I, N}, "ieee-propagate");
  expect_verdict("C2 LSMV a finite output is wrong", SMAX_LOG_SOFTMAX_VJP, SMAX_F64, "", 2, 4, x2, none, dybad,
                 0, 1, (const double[]){N, I, 0.5, N}, "wrong");

  /* binary32: a uniform-row rounded to binary32 still matches */
  expect_verdict("C5 SM uniform-row binary32", SMAX_SOFTMAX, SMAX_F32, "", 5, 3, x5, all, dy0, 0, 1,
                 (const double[]){(float)(1.0 / 3), (float)(1.0 / 3), (float)(1.0 / 3)}, "uniform-row");

  oracle_cleanup();
  printf("test_special: %d checks, %d failures\n", checks, fails);
  return fails != 0;
}

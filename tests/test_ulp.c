/* test_ulp.c -- oracle_ulp_error, the one ULP metric of the suite, on cases
 * worked out by hand from its definition: |computed - y| / ulp(y) with ulp
 * from the binade of the exact y, clamped at the subnormal ulp; LSBs for
 * fixed point; NaN/inf references by identity. */
#include <math.h>
#include <stdio.h>
#include "oracle.h"

static int npass, nfail;
static void check(const oracle_format *f, double computed, oracle_xval y, double want,
                  const char *what) {
  double unc, e = oracle_ulp_error(f, computed, &y, &unc);
  int ok = (isinf(want) ? e == want : fabs(e - want) <= 1e-12 * (want + 1)) && unc < 0.001;
  if (ok) npass++;
  else {
    nfail++;
    printf("FAIL %s: %s computed %a exact (%a + %a) * 2^%ld: %.17g ulp, want %.17g (unc %g)\n",
           what, f->name, computed, y.hi, y.lo, y.e, e, want, unc);
  }
}
#define X(v) ((oracle_xval){(v), 0, 0, 0})

int main(void) {
  const oracle_format *f32 = &oracle_binary32, *f64 = &oracle_binary64;
  check(f32, 1 + 0x1p-23, X(1.0), 1, "one ulp above 1");
  check(f32, 1.0, X(1 - 0x1p-30), 0x1p-6, "binade of the exact value, below 1");
  check(f32, 2.0, X(2 - 0x1p-40), 0x1p-17, "exact just below a power of two");
  check(f32, 2.0, ((oracle_xval){2, -0x1p-60, 0, 0}), 0x1p-37, "hi power of 2, lo < 0");
  check(f32, 0.0, X(0x1p-160), 0x1p-11, "subnormal ulp clamped");
  check(f32, 0x1p-149, X(0.0), 1, "exact zero");
  check(f64, 0.5, ((oracle_xval){1.0, 0, -1, 0}), 0, "scaled exact value");
  check(f64, 3.0, ((oracle_xval){1.5, 0x1p-60, 1, 0}), 0x1p-59 * 0x1p51, "lo part counted");
  check(&oracle_binary16, 65504, X(65504 + 0.5), 0x1p-6, "binary16 ulp 32");
  check(&oracle_bfloat16, 1.0, X(1 + 0x1p-8), 0.5, "bfloat16 half ulp");
  check(&oracle_uq0_8, 0.5, X(0.5 + 0x1p-10), 0.25, "uq0.8 LSB");
  check(&oracle_q0_15, -1.0, X(-1 + 0x1p-16), 0.5, "q0.15 LSB");
  check(f32, NAN, X(NAN), 0, "NaN reference, NaN computed");
  check(f32, 1.0, X(NAN), INFINITY, "NaN reference, finite computed");
  check(f32, -INFINITY, X(-INFINITY), 0, "-inf reference");
  check(f32, INFINITY, X(1.0), INFINITY, "inf computed, finite reference");
  check(f32, 1.0, X(-INFINITY), INFINITY, "finite computed, -inf reference");
  /* uncertainty: err 2^-40 at 1.0 in binary32 is 2^-17 ulp */
  double unc;
  oracle_xval y = {1.0, 0, 0, 0x1p-40};
  oracle_ulp_error(f32, 1.0, &y, &unc);
  if (fabs(unc - 0x1p-17) <= 0x1p-60) npass++;
  else nfail++, printf("FAIL uncertainty %g, want 2^-17\n", unc);
  printf("%d passed, %d failed\n", npass, nfail);
  return nfail != 0;
}

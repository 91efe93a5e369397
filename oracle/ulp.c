/* ulp.c -- the ULP error, defined once: |computed - exact| / ulp(exact),
 * ulp from the binade of the exact value with the subnormal ulp clamped
 * (glibc's libm tests; Zimmermann's accuracy report), LSBs for FIXED. */
#include "internal.h"

long oracle_ulp_exp(const oracle_format *f, const oracle_xval *y) {
  if (f->kind == ORACLE_FIXED) return -f->frac;
  long least = (long)f->emin - f->p + 1;
  if (y->hi == 0 || !isfinite(y->hi)) return least;
  int eh;
  double m = frexp(fabs(y->hi), &eh);
  long E = (long)eh - 1 + y->e;
  if (m == 0.5 && (y->hi > 0 ? y->lo < 0 : y->lo > 0)) E--;
  return (E > f->emin ? E : f->emin) - f->p + 1;
}

double oracle_ulp_error(const oracle_format *f, double computed,
                        const oracle_xval *y, double *uncert) {
  if (uncert) *uncert = 0;
  if (isnan(y->hi)) return isnan(computed) ? 0 : INFINITY;
  if (isinf(y->hi)) return computed == y->hi ? 0 : INFINITY;
  if (!isfinite(computed)) return INFINITY;
  long qe = oracle_ulp_exp(f, y);
  long sh = y->e - qe;                  /* y / ulp = (hi + lo) 2^sh */
  if (sh > 2000) sh = 2000;             /* y >> any double: error huge */
  if (sh < -2000) sh = -2000;           /* y << ulp: contributes nothing */
  double c = qe < -2000 ? INFINITY : ldexp(computed, (int)-qe);
  if (computed == 0) c = 0;
  dd yv = dd_ldexp(dd_make(y->hi, y->lo), sh);
  dd diff = dd_sub(dd_d(c), yv);
  if (uncert) *uncert = ldexp(y->err, (int)sh) * (1 + 0x1p-50);
  double r = fabs(diff.hi + diff.lo);
  return r == r ? r : INFINITY;
}

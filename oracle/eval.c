/* eval.c -- oracle_eval: validate, then decide every output in stages:
 * special values, rational outputs, fast path, exact zeros, MPFR intervals. */
#include <stdlib.h>
#include <string.h>
#include "row.h"

static const char *const fnames[ORACLE_NFUNCS] = {
    "softmax", "log_softmax", "logsumexp", "softmax_vjp", "log_softmax_vjp",
    "cross_entropy", "cross_entropy_grad"};

const char *oracle_func_name(oracle_func f) {
  return (unsigned)f < ORACLE_NFUNCS ? fnames[f] : "?";
}

int oracle_func_by_name(const char *name) {
  for (int i = 0; i < ORACLE_NFUNCS; i++)
    if (strcmp(name, fnames[i]) == 0) return i;
  return -1;
}

size_t oracle_noutputs(oracle_func f, size_t n) {
  return f == ORACLE_LOGSUMEXP || f == ORACLE_CROSS_ENTROPY ? 1 : n;
}

void oracle_mpfr_range(void) {
  mpfr_set_emin(mpfr_get_emin_min());
  mpfr_set_emax(mpfr_get_emax_max());
}

void oracle_cleanup(void) { mpfr_free_cache(); }

static int is_grad(oracle_func f) {
  return f == ORACLE_SOFTMAX_VJP || f == ORACLE_LOG_SOFTMAX_VJP ||
         f == ORACLE_CROSS_ENTROPY || f == ORACLE_CROSS_ENTROPY_GRAD;
}

int oracle_eval(oracle_func f, const oracle_format *fmt, size_t n,
                const double *x, const oracle_params *prm, double *out,
                oracle_xval *exact, oracle_stats *st) {
  oracle_params p0 = {1, 1, NULL, NULL, 0};
  const oracle_params *p = prm ? prm : &p0;
  double tau = p->tau == 0 ? 1 : p->tau, scale = p->scale == 0 ? 1 : p->scale;
  int ce = f == ORACLE_CROSS_ENTROPY || f == ORACLE_CROSS_ENTROPY_GRAD;
  if ((unsigned)f >= ORACLE_NFUNCS || !fmt || (n && (!x || !out)) ||
      !(tau > 0 && tau < INFINITY) || !(scale > 0 && scale < INFINITY) ||
      ((f == ORACLE_SOFTMAX_VJP || f == ORACLE_LOG_SOFTMAX_VJP) && n && !p->dy) ||
      (ce && (p->target < 0 || (size_t)p->target >= n)) ||
      (fmt->kind == ORACLE_FIXED && is_grad(f)))
    return -1;
  if (f == ORACLE_LOGSUMEXP && !out) return -1;
  oracle_mpfr_range();

  row r;
  memset(&r, 0, sizeof r);
  r.f = f, r.fmt = fmt, r.n = n, r.x = x, r.dy = p->dy;
  r.tau = tau, r.scale = scale, r.t = p->target, r.st = st;
  r.nout = oracle_noutputs(f, n);
  r.out = out;
  r.xv = exact ? exact : malloc((r.nout ? r.nout : 1) * sizeof *r.xv);
  r.act = malloc(n ? n : 1);
  r.done = calloc(r.nout ? r.nout : 1, 1);
  mpq_init(r.g);
  for (size_t i = 0; i < n; i++) {
    double v = x[i];
    r.act[i] = (p->masked && p->masked[i]) || v == -INFINITY ? 0 : isfinite(v) ? 1 : 2;
  }
  if (!oracle_special(&r)) {
    for (size_t i = 0; i < n; i++)
      if (r.act[i]) {
        if (!r.nact || x[i] > x[r.kmax]) r.kmax = i;
        r.nact++;
      }
    oracle_rational(&r);
    if (r.ndone < r.nout) oracle_fast(&r);
    if (r.ndone < r.nout) oracle_zeros(&r);
    if (r.ndone < r.nout) oracle_ziv(&r);
  }
  if (st) {
    st->outputs += r.nout;
  }
  mpq_clear(r.g);
  if (!exact) free(r.xv);
  free(r.act);
  free(r.done);
  return r.nunres;
}

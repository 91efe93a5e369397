/* special.c -- classify a kernel's output for a special row (SEMANTICS.md
 * cases C1-C5) as the reference, a named alternative convention, or wrong.
 *
 * Each alternative is written down as the output vector it prescribes
 * (computed here in binary64 from its definition in SEMANTICS.md, or by the
 * oracle on a substituted row) and the kernel's outputs must match it: NaN
 * for NaN, infinities and zeros exactly (either sign of zero), other values
 * within a few units of the format (the conventions' values such as 1/n or
 * dy_i/tau are themselves rounded by the kernel). */
#include "special.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kio.h"
#include "oracle.h"

int special_case(smax_func f, const double *x, const unsigned char *mask, const double *dy, size_t n) {
  size_t P = 0, F = 0, masked = 0;
  int nan = 0;
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    if ((mask && mask[i]) || x[i] == -INFINITY) { masked++; continue; }
    if (isnan(x[i])) nan = 1;
    else if (isinf(x[i])) P++;
    else F++;
  }
  if (nan) return 1;
  if (f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP)
    for (size_t i = 0; i < n; i++) if (!isfinite(dy[i])) return 2;
  if (P >= 2) return 3;
  if (P == 1) return 4;
  if (F == 0) return 5;
  return masked ? 6 : 7;
}

int special_declared(const char *conv, const char *id) {
  size_t l = strlen(id);
  for (const char *p = conv ? strstr(conv, id) : NULL; p; p = strstr(p + 1, id))
    if ((p == conv || p[-1] == ' ') && (p[l] == 0 || p[l] == ' ')) return 1;
  return 0;
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

/* do the outputs got[0..no) match the prescribed alt[0..no)?  Relative
 * tolerance tol; a prescribed 0 allows |got| <= tol * the largest finite
 * |alt| (rounding of a difference that is 0 in exact arithmetic); fixed
 * point (lsb > 0) allows 1.5 LSB. */
static int match(const double *got, const double *alt, size_t no, double tol, double lsb) {
  double big = 0;
  for (size_t o = 0; o < no; o++)
    if (isfinite(alt[o])) big = fmax(big, fabs(alt[o]));
  for (size_t o = 0; o < no; o++) {
    double g = got[o], a = alt[o];
    if (isnan(a) || isinf(a)) { if (!same(g, a)) return 0; continue; }
    if (!isfinite(g)) return 0;
    double allow = lsb > 0 ? 1.5 * lsb : a == 0 ? tol * big : tol * fabs(a);
    if (fabs(g - a) > allow) return 0;
  }
  return 1;
}

/* the oracle's outputs for the row with x, mask substituted (kernel layout) */
static int oracle_out(const smax_kernel *k, const special_row *r, const double *x,
                      const unsigned char *mask, double *out) {
  const oracle_format *of = kio_oracle_format(k->fmt);
  size_t n = r->n;
  oracle_xval *xv = malloc((n + 2) * sizeof *xv);
  if (!xv) return -1;
  oracle_params p = {r->tau, r->in_scale, mask, r->dy, r->target};
  int rc;
  if (k->func == SMAX_CROSS_ENTROPY)
    rc = oracle_eval(ORACLE_CROSS_ENTROPY_GRAD, of, n, x, &p, out, xv, NULL) ||
         oracle_eval(ORACLE_CROSS_ENTROPY, of, n, x, &p, out + n, xv + n, NULL);
  else
    rc = oracle_eval((oracle_func)k->func, of, n, x, &p, out, xv, NULL);
  free(xv);
  return rc;
}

/* the row's outputs when the probabilities are s[0..n) (a limit or a
 * convention's choice): SEMANTICS.md's formulas evaluated in binary64.
 * lsm_at: log s_i (precomputed by the caller, -inf where s_i = 0); ce:
 * the loss.  Writes the kernel layout into alt. */
static void from_probs(smax_func f, const special_row *r, const double *s, const double *lsm, double ce,
                       double *alt) {
  size_t n = r->n;
  double sdy = 0, sumdy = 0;
  for (size_t j = 0; j < n; j++) sdy += s[j] * r->dy[j], sumdy += r->dy[j];
  for (size_t i = 0; i < n; i++) switch (f) {
    case SMAX_SOFTMAX: alt[i] = s[i]; break;
    case SMAX_LOG_SOFTMAX: alt[i] = lsm[i]; break;
    case SMAX_SOFTMAX_VJP: alt[i] = s[i] * (r->dy[i] - sdy) / r->tau; break;
    case SMAX_LOG_SOFTMAX_VJP: alt[i] = (r->dy[i] - s[i] * sumdy) / r->tau; break;
    case SMAX_CROSS_ENTROPY: alt[i] = (s[i] - ((int32_t)i == r->target)) / r->tau; break;
    default: break;
  }
  if (f == SMAX_CROSS_ENTROPY) alt[n] = ce;
}

/* the constant a masked slot holds under masked-const, per function */
static double masked_const(smax_func f, const special_row *r, size_t j) {
  switch (f) {
  case SMAX_LOG_SOFTMAX: return -INFINITY;
  case SMAX_LOG_SOFTMAX_VJP: return r->dy[j] / r->tau;
  default: return 0;
  }
}

/* Candidate alternatives per case, in the order tried. */
enum { A_IEEE_NAN, A_IEEE_PARTIAL, A_IEEE_PROPAGATE, A_UNIFORM_INF, A_ZERO_ROW, A_NEG_INF_ROW,
       A_UNIFORM_ROW, A_ZERO_LOSS, A_MASKED_CONST, A_MASK_LARGE_NEG, A_UNMASK_ROW, A_IGNORE_NAN, A_N };
static const char *const alt_id[A_N] = {
    "ieee-nan", "ieee-partial", "ieee-propagate", "uniform-inf", "zero-row", "neg-inf-row",
    "uniform-row", "zero-loss", "masked-const", "mask-large-negative", "unmask-row", "ignore-nan"};

/* 1 if the outputs follow alternative a for this row (0 if a does not
 * apply to the case or function, or they do not match). */
static int follows(const smax_kernel *k, const special_row *r, int a, double tol, double lsb) {
  smax_func f = k->func;
  size_t n = r->n, no = f == SMAX_LOGSUMEXP ? 1 : f == SMAX_CROSS_ENTROPY ? n + 1 : n;
  int sm_lsm = f == SMAX_SOFTMAX || f == SMAX_LOG_SOFTMAX, ok = 0;
  double *alt = malloc((n + 2) * sizeof *alt), *s = malloc((n + 1) * sizeof *s);
  double *l = malloc((n + 1) * sizeof *l), *xs = malloc((n + 1) * sizeof *xs);
  unsigned char *ms = malloc(n + 1);
  if (!alt || !s || !l || !xs || !ms) goto out;
  size_t P = 0;
  for (size_t i = 0; i < n; i++) P += !r->mask[i] && r->x[i] == INFINITY;
  switch (a) {
  case A_IEEE_NAN: /* C3, C4: inf - inf in the shift makes every output NaN */
    if ((r->cs != 3 && r->cs != 4) || f == SMAX_LOGSUMEXP) goto out;
    for (size_t o = 0; o < no; o++) alt[o] = NAN;
    ok = match(r->got, alt, no, tol, lsb);
    break;
  case A_IEEE_PARTIAL: /* C3, C4, SM/LSM: NaN at +inf slots, the masked constant elsewhere */
    if ((r->cs != 3 && r->cs != 4) || !sm_lsm) goto out;
    for (size_t i = 0; i < n; i++)
      alt[i] = !r->mask[i] && r->x[i] == INFINITY ? NAN : f == SMAX_SOFTMAX ? 0 : -INFINITY;
    ok = match(r->got, alt, no, tol, lsb);
    break;
  case A_IEEE_PROPAGATE: /* C2: no output finite */
    if (r->cs != 2) goto out;
    ok = 1;
    for (size_t o = 0; o < no; o++) ok &= !isfinite(r->got[o]);
    break;
  case A_UNIFORM_INF: /* C3: the mass shared equally by the +inf slots */
    if (r->cs != 3 || f == SMAX_LOGSUMEXP) goto out;
    for (size_t i = 0; i < n; i++) {
      int inf = !r->mask[i] && r->x[i] == INFINITY;
      s[i] = inf ? 1.0 / (double)P : 0, l[i] = inf ? -log((double)P) : -INFINITY;
    }
    from_probs(f, r, s, l, f == SMAX_CROSS_ENTROPY && r->target >= 0 && (size_t)r->target < n &&
                               s[r->target] > 0 ? log((double)P) : INFINITY, alt);
    ok = match(r->got, alt, no, tol, lsb);
    break;
  case A_ZERO_ROW: /* C5: "safe softmax", s = 0 */
  case A_UNIFORM_ROW: /* C5: equal rates, s = 1/n */
    if (r->cs != 5 || f == SMAX_LOGSUMEXP || (a == A_ZERO_ROW && f == SMAX_LOG_SOFTMAX)) goto out;
    for (size_t i = 0; i < n; i++)
      s[i] = a == A_ZERO_ROW ? 0 : 1.0 / (double)n, l[i] = a == A_ZERO_ROW ? -INFINITY : -log((double)n);
    from_probs(f, r, s, l, a == A_ZERO_ROW ? INFINITY : log((double)n), alt);
    ok = match(r->got, alt, no, tol, lsb);
    break;
  case A_NEG_INF_ROW: /* C5, LSM: the log of zero-row */
    if (r->cs != 5 || f != SMAX_LOG_SOFTMAX) goto out;
    for (size_t i = 0; i < n; i++) alt[i] = -INFINITY;
    ok = match(r->got, alt, no, tol, lsb);
    break;
  case A_ZERO_LOSS: /* C5, CE/CEG: the row is ignored */
    if (r->cs != 5 || f != SMAX_CROSS_ENTROPY) goto out;
    for (size_t o = 0; o < no; o++) alt[o] = 0;
    ok = match(r->got, alt, no, tol, lsb);
    break;
  case A_MASKED_CONST: /* C1, C2: NaN at unmasked slots, constants at masked ones */
    if ((r->cs != 1 && r->cs != 2) || f == SMAX_LOGSUMEXP || f == SMAX_CROSS_ENTROPY) goto out;
    for (size_t i = 0; i < n; i++) alt[i] = r->mask[i] ? masked_const(f, r, i) : NAN;
    ok = match(r->got, alt, no, tol, lsb);
    break;
  case A_MASK_LARGE_NEG: { /* C5: the mask wrote a large negative M instead of -inf */
    if (r->cs != 5) goto out;
    const oracle_format *of = kio_oracle_format(k->fmt);
    double big = of->kind == ORACLE_FIXED ? -128 : -ldexp(2 - ldexp(1, 1 - of->p), of->emax);
    const double Ms[] = {big, -1e9, -3e4, big / 2};
    for (size_t c = 0; c < sizeof Ms / sizeof Ms[0] && !ok; c++) {
      double M = kio_round_in(k->fmt, Ms[c]);
      for (size_t i = 0; i < n; i++) xs[i] = r->mask[i] || r->x[i] == -INFINITY ? M : r->x[i];
      ok = !oracle_out(k, r, xs, NULL, alt) && match(r->got, alt, no, fmax(tol, 0x1p-10), lsb);
    }
    break;
  }
  case A_UNMASK_ROW: /* C5: the mask dropped, the stored values used */
    if (r->cs != 5) goto out;
    ok = !oracle_out(k, r, r->x, NULL, alt) && match(r->got, alt, no, tol, lsb);
    break;
  case A_IGNORE_NAN: /* C1: NaN entries read as masked */
    if (r->cs != 1) goto out;
    for (size_t i = 0; i < n; i++) ms[i] = r->mask[i] || isnan(r->x[i]), xs[i] = r->x[i];
    ok = !oracle_out(k, r, xs, ms, alt) && match(r->got, alt, no, tol, lsb);
    break;
  }
out:
  free(alt), free(s), free(l), free(xs), free(ms);
  return ok;
}

const char *special_classify(const smax_kernel *k, const special_row *r) {
  smax_func f = k->func;
  size_t no = f == SMAX_LOGSUMEXP ? 1 : f == SMAX_CROSS_ENTROPY ? r->n + 1 : r->n;
  int ref = 1;
  for (size_t o = 0; o < no; o++) ref &= same(r->got[o], r->want[o]);
  if (ref) return "reference";
  const oracle_format *of = kio_oracle_format(k->fmt);
  double tol = of->kind == ORACLE_FLOAT ? ldexp(1, 4 - of->p) : 0;
  double lsb = of->kind == ORACLE_FIXED ? ldexp(1, -of->frac) : 0;
  /* finite limits (C4's one-hot gradients, C5's -inf lse) computed with
   * rounding errors: the reference convention, its error is the ulp metric's */
  if (match(r->got, r->want, no, tol, lsb)) return "reference";
  const char *first = NULL;
  for (int a = 0; a < A_N; a++) {
    if (first && !special_declared(k->convention, alt_id[a])) continue; /* only a declared one can win now */
    if (!follows(k, r, a, tol, lsb)) continue;
    if (special_declared(k->convention, alt_id[a])) return alt_id[a];
    if (!first) first = alt_id[a];
  }
  return first ? first : "wrong";
}

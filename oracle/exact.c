/* exact.c -- outputs decided without approximation: the special values of
 * SEMANTICS.md, the outputs that are rational numbers, and the exact zeros.
 *
 * Why this is complete (so that the Ziv loop always terminates): with the
 * distinct values delta_G of z - max over groups G of equal inputs, the
 * e^(delta_G) are linearly independent over the rationals (Lindemann-
 * Weierstrass).  Hence softmax, log_softmax, logsumexp and cross-entropy are
 * irrational unless all active inputs are equal (one group), and then they
 * are 1/c, 0 (c = 1), z (c = 1); softmax_vjp is zero exactly when every
 * group's mean dy equals dy_i, rational only for one group; log_softmax_vjp
 * is rational only for one group or sum dy = 0.  Irrational values are never
 * on a rounding boundary, so the enclosures eventually decide them.
 */
#include <stdlib.h>
#include <string.h>
#include "row.h"

void row_set(row *r, size_t o, double v, const oracle_xval *xv,
             unsigned long *counter) {
  r->out[o] = v;
  r->xv[o] = *xv;
  r->done[o] = 1;
  r->ndone++;
  if (r->st && counter) (*counter)++;
}

void row_set_q(row *r, size_t o, mpq_srcptr q) {
  oracle_xval xv;
  double v = oracle_round_mpq(r->fmt, q, &xv);
  row_set(r, o, v, &xv, r->st ? &r->st->exact : NULL);
}

/* A special value (NaN, +-inf, 0, 1): exact in every format. */
static void set_v(row *r, size_t o, double v) {
  oracle_xval xv = {v, 0, 0, 0};
  double rv = isnan(v) ? v : oracle_round(r->fmt, v);
  row_set(r, o, rv, &xv, r->st ? &r->st->special : NULL);
}

/* q = a / tau (a rational) */
static void div_tau(mpq_t q, const row *r) {
  mpq_t t;
  mpq_init(t);
  mpq_set_d(t, r->tau);
  mpq_div(q, q, t);
  mpq_clear(t);
}

static void add_d(mpq_t q, double v) {
  mpq_t t;
  mpq_init(t);
  mpq_set_d(t, v);
  mpq_add(q, q, t);
  mpq_clear(t);
}

int oracle_special(row *r) {
  size_t n = r->n, P = 0, F = 0, kinf = 0;
  int nan = 0;
  /* act[i]: 0 masked or -inf, 1 finite, 2 NaN or +inf (set by eval.c) */
  for (size_t i = 0; i < n; i++) {
    if (r->act[i] == 2 && isnan(r->x[i])) nan = 1;
    if (r->act[i] == 2 && r->x[i] == INFINITY) { P++; kinf = i; }
    if (r->act[i] == 1) F++;
  }
  int vjp = r->f == ORACLE_SOFTMAX_VJP || r->f == ORACLE_LOG_SOFTMAX_VJP;
  if (vjp)
    for (size_t i = 0; i < n; i++)
      if (!isfinite(r->dy[i])) nan = 1;
  /* act[] held 2 for unmasked non-finite entries; from here 0/1 */
  for (size_t i = 0; i < n; i++) if (r->act[i] == 2) r->act[i] = 0;
  if (!nan && P == 0 && F > 0) return 0;

  if (r->f == ORACLE_LOGSUMEXP) {
    set_v(r, 0, nan ? NAN : P ? INFINITY : -INFINITY);
    return 1;
  }
  if (nan || P >= 2 || F + P == 0) {
    for (size_t o = 0; o < r->nout; o++) set_v(r, o, NAN);
    return 1;
  }
  /* exactly one +inf, at kinf: the limit is the one-hot softmax */
  mpq_t q;
  mpq_init(q);
  for (size_t i = 0; i < n; i++) {
    switch (r->f) {
    case ORACLE_SOFTMAX: set_v(r, i, i == kinf ? 1.0 : 0.0); break;
    case ORACLE_LOG_SOFTMAX: set_v(r, i, i == kinf ? 0.0 : -INFINITY); break;
    case ORACLE_SOFTMAX_VJP: set_v(r, i, 0.0); break;
    case ORACLE_LOG_SOFTMAX_VJP:
      mpq_set_d(q, r->dy[i]);
      if (i == kinf)
        for (size_t j = 0; j < n; j++) add_d(q, -r->dy[j]);
      div_tau(q, r);
      row_set_q(r, i, q);
      break;
    case ORACLE_CROSS_ENTROPY_GRAD:
      mpq_set_si(q, (i == kinf) - (i == (size_t)r->t), 1);
      div_tau(q, r);
      row_set_q(r, i, q);
      break;
    case ORACLE_CROSS_ENTROPY:
      if (i == 0) set_v(r, 0, (size_t)r->t == kinf ? 0.0 : INFINITY);
      break;
    default: break;
    }
  }
  mpq_clear(q);
  return 1;
}

void oracle_rational(row *r) {
  size_t n = r->n, c = r->nact;
  int one_group = 1;
  double xm = r->x[r->kmax];
  for (size_t i = 0; i < n; i++)
    if (r->act[i] && r->x[i] != xm) { one_group = 0; break; }
  mpq_t q, m;
  mpq_inits(q, m, (mpq_ptr)0);
  switch (r->f) {
  case ORACLE_LOGSUMEXP: /* c = 1: lse = z = x scale / tau */
    if (c == 1) {
      mpq_set_d(q, xm);
      mpq_set_d(m, r->scale);
      mpq_mul(q, q, m);
      div_tau(q, r);
      row_set_q(r, 0, q);
    }
    break;
  case ORACLE_CROSS_ENTROPY:
    if (!r->act[r->t]) set_v(r, 0, INFINITY);
    else if (c == 1) set_v(r, 0, 0.0);
    break;
  case ORACLE_SOFTMAX:
  case ORACLE_LOG_SOFTMAX:
  case ORACLE_CROSS_ENTROPY_GRAD:
    for (size_t i = 0; i < n; i++) {
      if (r->f == ORACLE_LOG_SOFTMAX) {
        if (!r->act[i]) set_v(r, i, -INFINITY);
        else if (c == 1) set_v(r, i, 0.0);
        continue;
      }
      if (r->act[i] && !one_group) continue;
      mpq_set_ui(q, r->act[i] ? 1 : 0, r->act[i] ? c : 1); /* s_i */
      if (r->f == ORACLE_CROSS_ENTROPY_GRAD) {
        mpq_set_ui(m, i == (size_t)r->t, 1);
        mpq_sub(q, q, m);
        div_tau(q, r);
      }
      row_set_q(r, i, q);
    }
    break;
  case ORACLE_SOFTMAX_VJP:
  case ORACLE_LOG_SOFTMAX_VJP: {
    int sv = r->f == ORACLE_SOFTMAX_VJP;
    /* one group: s_i = 1/c; m = sum_j s_j dy_j (softmax_vjp) or
     * sum_j dy_j / c = s_i sum_j dy_j (log_softmax_vjp) */
    mpq_t inv_c;
    mpq_init(inv_c);
    mpq_set_ui(inv_c, 1, c);
    mpq_set_ui(m, 0, 1);
    for (size_t j = 0; j < n; j++)
      if (!sv || r->act[j]) add_d(m, r->dy[j]);
    mpq_mul(m, m, inv_c);
    for (size_t i = 0; i < n; i++) {
      if (!r->act[i] && sv) { set_v(r, i, 0.0); continue; }
      if (r->act[i] && !one_group) continue;
      mpq_set_d(q, r->dy[i]);
      if (r->act[i]) {                /* one group */
        mpq_sub(q, q, m);
        if (sv) mpq_mul(q, q, inv_c);
      }                               /* masked, log: dx = dy / tau */
      div_tau(q, r);
      row_set_q(r, i, q);
    }
    mpq_clear(inv_c);
    break;
  }
  default: break;
  }
  mpq_clears(q, m, (mpq_ptr)0);
}

typedef struct { double x, dy; } pair;
static int by_x(const void *a, const void *b) {
  double u = ((const pair *)a)->x, v = ((const pair *)b)->x;
  return (u > v) - (u < v);
}

/* softmax_vjp: sum_j s_j dy_j equals dy_i exactly iff every group of equal
 * inputs has mean dy equal to dy_i; then the output is +0.  When all group
 * means are one value m, g = m is exact and is handed to the Ziv loop.
 * log_softmax_vjp: sum dy = 0 exactly gives dx_i = dy_i / tau. */
void oracle_zeros(row *r) {
  size_t n = r->n;
  mpq_t q, m, s;
  mpq_inits(q, m, s, (mpq_ptr)0);
  if (r->f == ORACLE_LOG_SOFTMAX_VJP) {
    for (size_t j = 0; j < n; j++) add_d(s, r->dy[j]);
    if (mpq_sgn(s) == 0)
      for (size_t i = 0; i < n; i++)
        if (!r->done[i]) {
          mpq_set_d(q, r->dy[i]);
          div_tau(q, r);
          row_set_q(r, i, q);
        }
  } else if (r->f == ORACLE_SOFTMAX_VJP) {
    pair *p = malloc(r->nact * sizeof *p);
    size_t c = 0;
    for (size_t j = 0; j < n; j++)
      if (r->act[j]) { p[c].x = r->x[j]; p[c].dy = r->dy[j]; c++; }
    qsort(p, c, sizeof *p, by_x);
    int same = 1, first = 1;
    for (size_t a = 0; a < c && same;) {
      size_t b = a;
      mpq_set_ui(s, 0, 1);
      for (; b < c && p[b].x == p[a].x; b++) add_d(s, p[b].dy);
      mpq_set_ui(q, 1, b - a);
      mpq_mul(s, s, q);                  /* the group's mean dy */
      if (first) mpq_set(m, s), first = 0;
      else same = mpq_equal(m, s);
      a = b;
    }
    free(p);
    if (same) {
      r->have_g = 1;
      mpq_set(r->g, m);
      for (size_t i = 0; i < n; i++) {
        if (r->done[i]) continue;
        mpq_set_d(q, r->dy[i]);
        if (mpq_equal(q, m)) {
          oracle_xval xv = {0, 0, 0, 0};
          row_set(r, i, 0.0, &xv, r->st ? &r->st->exact : NULL);
        }
      }
    }
  }
  mpq_clears(q, m, s, (mpq_ptr)0);
}

/* anchor.c -- deciding an output that lies astronomically close to a
 * rounding boundary which is itself a rational "anchor" of the formula.
 *
 * Many outputs are a rational q plus a part of known sign that can be far
 * too small for any precision (log_softmax_i = d_i - log1p(e^-367000)):
 * if q is a rounding boundary, the enclosure straddles it forever.  But the
 * sign says on which side of q the value lies, so [q+, hi] (or [lo, q-]) is
 * a sharper enclosure; the output is decided when it rounds to one value.
 * Each anchor below is a strict inequality proven from the formula:
 *   log_softmax  y = d_i - L,  L = log1p(T) > 0            y < d_i
 *   logsumexp    y = z_k + L                               y > z_k
 *   cross_ent.   y = L - d_t                               y > -d_t
 *   softmax      c = size of the max group, T > c - 1:     y < 1/c (top)
 *   ce_grad t    (s_t - 1)/tau, top: < (1/c - 1)/tau;  else > -1/tau
 *   ce_grad i    s_i / tau < 1/(c tau) (top)
 *   ls_vjp       (dy_i - s_i D)/tau, 0 < s_i (< 1/c for top):
 *                side of dy_i/tau is -sign(D); top: side of
 *                (dy_i - D/c)/tau is +sign(D)
 * (T > 0 needs two active entries; with one, exact.c has decided.) */
#include <stdlib.h>
#include "row.h"

static void set_d(mpq_t q, double v) { mpq_set_d(q, v); }

/* q = (x_i - x_k) scale / tau, exactly */
static void d_of(const row *r, size_t i, mpq_t q) {
  mpq_t t;
  mpq_init(t);
  set_d(q, r->x[i]);
  set_d(t, r->x[r->kmax]);
  mpq_sub(q, q, t);
  set_d(t, r->scale);
  mpq_mul(q, q, t);
  set_d(t, r->tau);
  mpq_div(q, q, t);
  mpq_clear(t);
}

/* The rounding of q + side * eps for an infinitesimal eps > 0: every
 * rounding boundary is a multiple of 2^-g, so eps = 2^-(g + bits(den) + 4)
 * is below the distance from q to any boundary other than q itself. */
static double round_beside(const oracle_format *f, mpq_srcptr q, int side) {
  long g = f->kind == ORACLE_FLOAT ? (long)f->p - f->emin : f->frac + 1L;
  mpq_t e;
  mpq_init(e);
  mpz_set_ui(mpq_numref(e), 1);
  mpz_set_ui(mpq_denref(e), 1);
  mpz_mul_2exp(mpq_denref(e), mpq_denref(e),
               (mp_bitcnt_t)(g + (long)mpz_sizeinbase(mpq_denref(q), 2) + 4));
  if (side < 0) mpq_neg(e, e);
  mpq_add(e, e, q);
  double v = oracle_round_mpq(f, e, NULL);
  mpq_clear(e);
  return v;
}

/* Try anchor q with side: y > q (side > 0) or y < q (side < 0). */
static int try_anchor(const row *r, mpq_srcptr q, int side, mpfr_srcptr lo,
                      mpfr_srcptr hi, double *res) {
  const oracle_format *f = r->fmt;
  if (side > 0 ? mpfr_cmp_q(lo, q) > 0 : mpfr_cmp_q(hi, q) < 0) return 0; /* no sharper */
  double a = round_beside(f, q, side);
  double b = oracle_round_mpfr(f, side > 0 ? hi : lo);
  if (a != b || signbit(a) != signbit(b)) return 0;
  *res = a;
  return 1;
}

int oracle_anchor(const row *r, size_t o, mpfr_srcptr lo, mpfr_srcptr hi, double *res) {
  if (r->nact < 2) return 0;
  size_t c = 0;                                  /* size of the max group */
  for (size_t j = 0; j < r->n; j++) c += r->act[j] && r->x[j] == r->x[r->kmax];
  int top = o < r->n && r->act[o] && r->x[o] == r->x[r->kmax];
  mpq_t q, t;
  mpq_inits(q, t, (mpq_ptr)0);
  int ok = 0;
  switch (r->f) {
  case ORACLE_LOG_SOFTMAX:
    d_of(r, o, q);
    ok = try_anchor(r, q, -1, lo, hi, res);
    break;
  case ORACLE_LOGSUMEXP:
    set_d(q, r->x[r->kmax]);
    set_d(t, r->scale), mpq_mul(q, q, t);
    set_d(t, r->tau), mpq_div(q, q, t);
    ok = try_anchor(r, q, 1, lo, hi, res);
    break;
  case ORACLE_CROSS_ENTROPY:
    d_of(r, (size_t)r->t, q);
    mpq_neg(q, q);
    ok = try_anchor(r, q, 1, lo, hi, res);
    break;
  case ORACLE_SOFTMAX:
  case ORACLE_CROSS_ENTROPY_GRAD:
    if (r->f == ORACLE_CROSS_ENTROPY_GRAD && o == (size_t)r->t) {
      if (top) mpq_set_si(q, 1 - (long)c, c), mpq_canonicalize(q);
      else mpq_set_si(q, -1, 1);
    } else {
      if (!top || c == r->nact) break;
      mpq_set_ui(q, 1, c);
    }
    if (r->f == ORACLE_CROSS_ENTROPY_GRAD) set_d(t, r->tau), mpq_div(q, q, t);
    ok = try_anchor(r, q, (r->f == ORACLE_CROSS_ENTROPY_GRAD && o == (size_t)r->t && !top) ? 1 : -1,
                    lo, hi, res);
    break;
  case ORACLE_LOG_SOFTMAX_VJP: {
    mpq_t D;
    mpq_init(D);
    for (size_t j = 0; j < r->n; j++) set_d(t, r->dy[j]), mpq_add(D, D, t);
    int sD = mpq_sgn(D);
    if (sD) {
      set_d(q, r->dy[o]);                        /* dy_i / tau, side -sign(D) */
      set_d(t, r->tau), mpq_div(q, q, t);
      ok = try_anchor(r, q, -sD, lo, hi, res);
      if (!ok && top && c < r->nact) {           /* (dy_i - D/c)/tau, side sign(D) */
        mpq_set_ui(t, 1, c);
        mpq_mul(t, t, D);
        set_d(q, r->dy[o]);
        mpq_sub(q, q, t);
        set_d(t, r->tau), mpq_div(q, q, t);
        ok = try_anchor(r, q, sD, lo, hi, res);
      }
    }
    mpq_clear(D);
    break;
  }
  default: break;
  }
  mpq_clears(q, t, (mpq_ptr)0);
  return ok;
}

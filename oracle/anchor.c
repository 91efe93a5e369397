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
 *   sm_vjp top   y tau = (c_top + R)/S^2, S = c + W, with c_G = |G| dy_i -
 *                sum_G dy, R = sum_{G not top} e_G c_G, W = sum |G| e_G:
 *                y - c_top/(c^2 tau) has the sign of
 *                c sum_G e_G (c c_G - 2 c_top |G|) - c_top W^2
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

/* softmax_vjp, i in the top group (c elements), other groups present:
 * anchor c_top/(c^2 tau); the side is the sign of
 * Num = c sum_G e_G k_G - c_top W^2, k_G = c c_G - 2 c_top |G|, evaluated
 * scaled by e* = e^(delta*) of the largest other group so that it cannot
 * underflow: Num/e* = c sum_G e^(delta_G - delta*) k_G - c_top (W/e*)^2 e*. */
static int vjp_anchor(const row *r, size_t i, size_t c, mpfr_srcptr lo, mpfr_srcptr hi,
                      double *res) {
  mpfr_prec_t P = mpfr_get_prec(lo) > 128 ? mpfr_get_prec(lo) : 128;
  size_t *o = r->order, n = r->nact;
  mpq_t ctop, q, t, kG;
  mpq_inits(ctop, q, t, kG, (mpq_ptr)0);
  for (size_t j = 0; j < c; j++) set_d(t, r->dy[o[j]]), mpq_sub(ctop, ctop, t);
  set_d(t, r->dy[i]), mpz_mul_ui(mpq_numref(t), mpq_numref(t), c), mpq_canonicalize(t);
  mpq_add(ctop, ctop, t);                             /* c dy_i - sum_top dy */
  mpfr_t a, b, e, sk, sw, u;
  mpfr_inits2(P, a, b, e, sk, sw, u, (mpfr_ptr)0);
  int sgn[2], allzero = 1;
  for (int dir = 0; dir < 2; dir++) {                 /* lower, upper bound */
    mpfr_rnd_t R = dir ? MPFR_RNDU : MPFR_RNDD, Ro = dir ? MPFR_RNDD : MPFR_RNDU;
    /* u = c_top (W/e*)^2 e* is subtracted: bound it in direction Ro, so W
     * and e* go up with Ro when c_top >= 0 and the other way otherwise */
    mpfr_rnd_t Rw = mpq_sgn(ctop) >= 0 ? Ro : R;
    mpfr_set_ui(sk, 0, R), mpfr_set_ui(sw, 0, Rw);
    double xstar = r->x[o[c]];
    for (size_t a0 = c; a0 < n;) {
      size_t g = a0;
      mpq_set_ui(kG, 0, 1);
      for (; g < n && r->x[o[g]] == r->x[o[a0]]; g++) set_d(t, r->dy[o[g]]), mpq_sub(kG, kG, t);
      size_t G = g - a0;
      set_d(t, r->dy[i]), mpz_mul_ui(mpq_numref(t), mpq_numref(t), G), mpq_canonicalize(t);
      mpq_add(kG, kG, t);                             /* c_G */
      mpz_mul_ui(mpq_numref(kG), mpq_numref(kG), c), mpq_canonicalize(kG);
      mpq_set(t, ctop);
      mpz_mul_ui(mpq_numref(t), mpq_numref(t), 2 * G), mpq_canonicalize(t);
      mpq_sub(kG, kG, t);                             /* k_G */
      if (mpq_sgn(kG)) allzero = 0;
      /* e^(delta_G - delta*) = e^((x_G - x*) scale / tau), bounds in direction */
      mpfr_set_d(a, r->x[o[a0]], MPFR_RNDN);
      mpfr_sub_d(a, a, xstar, mpq_sgn(kG) >= 0 ? R : Ro);
      mpfr_mul_d(a, a, r->scale, mpq_sgn(kG) >= 0 ? R : Ro);
      mpfr_div_d(a, a, r->tau, mpq_sgn(kG) >= 0 ? R : Ro);
      mpfr_exp(a, a, mpq_sgn(kG) >= 0 ? R : Ro);
      mpfr_mul_q(b, a, kG, R);
      mpfr_add(sk, sk, b, R);
      mpfr_set_d(a, r->x[o[a0]], MPFR_RNDN);          /* W/e* */
      mpfr_sub_d(a, a, xstar, Rw);
      mpfr_mul_d(a, a, r->scale, Rw);
      mpfr_div_d(a, a, r->tau, Rw);
      mpfr_exp(a, a, Rw);
      mpfr_mul_ui(a, a, G, Rw);
      mpfr_add(sw, sw, a, Rw);
      a0 = g;
    }
    /* e* = e^((x* - x_k) scale / tau) */
    mpfr_set_d(e, xstar, MPFR_RNDN);
    mpfr_sub_d(e, e, r->x[r->kmax], Rw);
    mpfr_mul_d(e, e, r->scale, Rw);
    mpfr_div_d(e, e, r->tau, Rw);
    mpfr_exp(e, e, Rw);
    mpfr_sqr(u, sw, Rw);
    mpfr_mul(u, u, e, Rw);
    mpfr_mul_q(u, u, ctop, Ro);                       /* c_top (W/e*)^2 e* */
    mpfr_mul_ui(sk, sk, c, R);
    mpfr_sub(sk, sk, u, R);
    sgn[dir] = mpfr_sgn(sk);
  }
  int side = 0;
  if (allzero) side = -mpq_sgn(ctop);
  else if (sgn[0] > 0) side = 1;
  else if (sgn[1] < 0) side = -1;
  int ok = 0;
  if (side) {
    mpq_set(q, ctop);
    mpz_mul_ui(mpq_denref(q), mpq_denref(q), c * c), mpq_canonicalize(q);
    set_d(t, r->tau), mpq_div(q, q, t);
    ok = try_anchor(r, q, side, lo, hi, res);
  }
  mpfr_clears(a, b, e, sk, sw, u, (mpfr_ptr)0);
  mpq_clears(ctop, q, t, kG, (mpq_ptr)0);
  return ok;
}

static _Thread_local int anchors_off;
void oracle_use_anchors(int on) { anchors_off = !on; }

int oracle_anchor(const row *r, size_t o, mpfr_srcptr lo, mpfr_srcptr hi, double *res) {
  if (r->nact < 2 || anchors_off) return 0;
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
  case ORACLE_SOFTMAX_VJP:
    if (!top || c == r->nact) break;
    if (r->have_g) {                   /* y = s_i (dy_i - m)/tau, 0 < s_i < 1/c */
      set_d(q, r->dy[o]);
      mpq_sub(q, q, r->g);
      int sg = mpq_sgn(q);
      mpz_mul_ui(mpq_denref(q), mpq_denref(q), c), mpq_canonicalize(q);
      set_d(t, r->tau), mpq_div(q, q, t);
      if (sg) ok = try_anchor(r, q, -sg, lo, hi, res);
    } else if (r->order) {
      ok = vjp_anchor(r, o, c, lo, hi, res);
    }
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

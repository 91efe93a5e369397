/* ziv.c -- the oracle's slow path: MPFR interval arithmetic (every bound
 * rounded outward, so each enclosure is rigorous) at precision 128 bits,
 * raised by half at each round, for the outputs the fast path could not
 * decide.  An output is decided when both ends of its enclosure round to the
 * same value and the enclosure is narrower than 2^-14 ulp (so the exact value
 * is known to well within 0.001 ulp).  Same formulation as fast.c.
 * The precision cap ORACLE_PREC_MAX reports "unresolved" instead of looping:
 * exact.c removes every case that could need unbounded precision.
 */
#include <stdlib.h>
#include <string.h>
#include "row.h"

#define ORACLE_PREC_MAX 32768

typedef struct { mpfr_t lo, hi; } iv;

static void iv_init(iv *a, mpfr_prec_t P) { mpfr_inits2(P, a->lo, a->hi, (mpfr_ptr)0); }
static void iv_clear(iv *a) { mpfr_clears(a->lo, a->hi, (mpfr_ptr)0); }
static void iv_d(iv *a, double v) { mpfr_set_d(a->lo, v, MPFR_RNDD); mpfr_set_d(a->hi, v, MPFR_RNDU); }
static void iv_q(iv *a, mpq_srcptr q) { mpfr_set_q(a->lo, q, MPFR_RNDD); mpfr_set_q(a->hi, q, MPFR_RNDU); }
static void iv_set(iv *a, const iv *b) { mpfr_set(a->lo, b->lo, MPFR_RNDD); mpfr_set(a->hi, b->hi, MPFR_RNDU); }
static void iv_add(iv *c, const iv *a, const iv *b) {
  mpfr_add(c->lo, a->lo, b->lo, MPFR_RNDD);
  mpfr_add(c->hi, a->hi, b->hi, MPFR_RNDU);
}
static void iv_neg(iv *c, const iv *a) { /* c may alias a */
  mpfr_swap(c->lo, c->hi);
  if (c != a) { iv_set(c, a); mpfr_swap(c->lo, c->hi); }
  mpfr_neg(c->lo, c->lo, MPFR_RNDD);
  mpfr_neg(c->hi, c->hi, MPFR_RNDU);
}
static void iv_sub(iv *c, const iv *a, const iv *b, iv *tmp) {
  iv_set(tmp, b);
  iv_neg(tmp, tmp);
  iv_add(c, a, tmp);
}
/* general product: min and max of the four corner products */
static void iv_mul(iv *c, const iv *a, const iv *b, mpfr_ptr t) {
  mpfr_srcptr A[2] = {a->lo, a->hi}, B[2] = {b->lo, b->hi};
  mpfr_t lo, hi;
  mpfr_inits2(mpfr_get_prec(c->lo), lo, hi, (mpfr_ptr)0);
  for (int i = 0; i < 4; i++) {
    mpfr_mul(t, A[i / 2], B[i % 2], MPFR_RNDD);
    if (i == 0 || mpfr_less_p(t, lo)) mpfr_set(lo, t, MPFR_RNDD);
    mpfr_mul(t, A[i / 2], B[i % 2], MPFR_RNDU);
    if (i == 0 || mpfr_greater_p(t, hi)) mpfr_set(hi, t, MPFR_RNDU);
  }
  mpfr_set(c->lo, lo, MPFR_RNDD);
  mpfr_set(c->hi, hi, MPFR_RNDU);
  mpfr_clears(lo, hi, (mpfr_ptr)0);
}
/* a / b for b > 0 */
static void iv_div(iv *c, const iv *a, const iv *b) {
  mpfr_srcptr dlo = mpfr_sgn(a->lo) >= 0 ? b->hi : b->lo;
  mpfr_srcptr dhi = mpfr_sgn(a->hi) >= 0 ? b->lo : b->hi;
  mpfr_t lo;
  mpfr_init2(lo, mpfr_get_prec(c->lo));
  mpfr_div(lo, a->lo, dlo, MPFR_RNDD);
  mpfr_div(c->hi, a->hi, dhi, MPFR_RNDU);
  mpfr_set(c->lo, lo, MPFR_RNDD);
  mpfr_clear(lo);
}
static void iv_exp(iv *c, const iv *a) {
  mpfr_exp(c->lo, a->lo, MPFR_RNDD);
  mpfr_exp(c->hi, a->hi, MPFR_RNDU);
}

/* Decide output o from its enclosure if possible. */
static void decide(row *r, size_t o, const iv *y, mpfr_prec_t P) {
  const oracle_format *f = r->fmt;
  double a = oracle_round_mpfr(f, y->lo), b = oracle_round_mpfr(f, y->hi);
  if (!r->force && (a != b || signbit(a) != signbit(b))) {
    if (!oracle_anchor(r, o, y->lo, y->hi, &a)) return;
    b = a;
  }
  mpfr_t w, m;
  mpfr_inits2(P + 8, w, m, (mpfr_ptr)0);
  mpfr_sub(w, y->hi, y->lo, MPFR_RNDU);
  /* narrow enough: width <= 2^-14 ulp, with ulp >= 2^(E-p+1) or the LSB */
  long lim;
  if (f->kind == ORACLE_FIXED) lim = -f->frac - 14;
  else {
    mpfr_srcptr small = mpfr_cmpabs(y->lo, y->hi) < 0 ? y->lo : y->hi;
    long E = mpfr_zero_p(small) ? f->emin : (long)mpfr_get_exp(small) - 1;
    lim = (E > f->emin ? E : f->emin) - f->p + 1 - 14;
    if (mpfr_sgn(y->lo) != mpfr_sgn(y->hi)) lim = f->emin - f->p + 1 - 14;
  }
  int ok = r->force || mpfr_zero_p(w) || (long)mpfr_get_exp(w) <= lim;
  if (ok) {
    oracle_xval xv;
    mpfr_add(m, y->lo, y->hi, MPFR_RNDN);
    mpfr_div_2ui(m, m, 1, MPFR_RNDN);
    mpfr_div_2ui(w, w, 1, MPFR_RNDU);
    mpfr_mul_2si(w, w, 1, MPFR_RNDU); /* + rounding of the midpoint */
    oracle_xval_mpfr(&xv, m, w);
    if (r->force) a = oracle_round_mpfr(f, m), r->nunres++;
    row_set(r, o, a, &xv, !r->st ? NULL : r->force ? &r->st->unresolved : &r->st->ziv);
  }
  mpfr_clears(w, m, (mpfr_ptr)0);
}

/* softmax_vjp without cancellation or underflow of the sign:
 * dy_i - sum_j s_j dy_j = sum_G e^(delta_G) c_G / S over the groups G of
 * equal inputs, c_G = sum_{j in G} (dy_i - dy_j) exactly.  With delta* the
 * largest delta_G whose c_G != 0 (one exists: exact.c removed the zeros),
 * N = sum_G e^(delta_G - delta*) c_G has a term equal to c_G* and the
 * others scaled down, and dx_i tau = e^(d_i + delta*) N / S^2: a product
 * whose exponential may underflow MPFR's range while N keeps the sign. */
/* e^((x_G - x_top) beta) per group (indexed by its first position in
 * r->order) for one `top`: every output whose top is the same reuses them,
 * so a row costs O(n) exponentials per distinct top instead of O(n^2);
 * the enclosures are the very ones vjp_scaled would compute. */
typedef struct {
  size_t top;           /* (size_t)-1: none yet */
  iv *E;                /* r->nact enclosures at the round's precision */
  unsigned char *have;  /* E[a0] computed for this top */
} vjp_cache;

static void vjp_scaled(row *r, size_t i, const iv *di, const iv *beta,
                       const iv *S, iv *y, mpfr_prec_t P, vjp_cache *vc) {
  iv N, a, c, tmp;
  iv_init(&N, P), iv_init(&a, P), iv_init(&c, P), iv_init(&tmp, P);
  mpfr_t t;
  mpfr_init2(t, P);
  mpq_t cg, q;
  mpq_inits(cg, q, (mpq_ptr)0);
  size_t *o = r->order; /* active indices sorted by x, descending */
  size_t top = (size_t)-1;
  iv_d(&N, 0);
  for (size_t a0 = 0; a0 < r->nact;) {
    size_t b = a0;
    mpq_set_ui(cg, 0, 1);
    for (; b < r->nact && r->x[o[b]] == r->x[o[a0]]; b++) {
      mpq_set_d(q, r->dy[i]);
      mpq_add(cg, cg, q);
      mpq_set_d(q, r->dy[o[b]]);
      mpq_sub(cg, cg, q);
    }
    if (mpq_sgn(cg) != 0) {
      if (top == (size_t)-1) {
        top = o[a0];
        if (vc->top != top) memset(vc->have, 0, r->nact), vc->top = top;
      }
      if (!vc->have[a0]) { /* e^((x_G - x_top) beta) */
        mpfr_set_d(t, r->x[top], MPFR_RNDN);
        mpfr_d_sub(a.lo, r->x[o[a0]], t, MPFR_RNDD);
        mpfr_d_sub(a.hi, r->x[o[a0]], t, MPFR_RNDU);
        iv_mul(&a, &a, beta, t);
        iv_exp(&vc->E[a0], &a);
        vc->have[a0] = 1;
      }
      iv_q(&c, cg);
      iv_mul(&a, &vc->E[a0], &c, t); /* times c_G */
      iv_add(&N, &N, &a);
    }
    a0 = b;
  }
  if (top == (size_t)-1) top = r->kmax, iv_d(&N, 0); /* exact zero */
  /* e^(d_i + delta*) with delta* = (x_top - x_k) beta */
  mpfr_set_d(t, r->x[r->kmax], MPFR_RNDN);
  mpfr_d_sub(a.lo, r->x[top], t, MPFR_RNDD);
  mpfr_d_sub(a.hi, r->x[top], t, MPFR_RNDU);
  iv_mul(&a, &a, beta, t);
  iv_add(&a, &a, di);
  iv_exp(&a, &a);
  iv_mul(y, &a, &N, t);
  iv_div(y, y, S);
  iv_div(y, y, S);
  mpq_clears(cg, q, (mpq_ptr)0);
  mpfr_clear(t);
  iv_clear(&N), iv_clear(&a), iv_clear(&c), iv_clear(&tmp);
}

static void round_at(row *r, mpfr_prec_t P) {
  size_t n = r->n, k = r->kmax;
  iv beta, tmp, T, S, L, y, u, v, *d, *e;
  mpfr_t t;
  mpfr_init2(t, P);
  iv_init(&beta, P), iv_init(&tmp, P), iv_init(&T, P), iv_init(&S, P);
  iv_init(&L, P), iv_init(&y, P), iv_init(&u, P), iv_init(&v, P);
  d = malloc(n * sizeof *d);
  e = malloc(n * sizeof *e);
  iv_d(&u, r->scale);
  iv_d(&v, r->tau);
  iv_div(&beta, &u, &v);
  iv tau;
  iv_init(&tau, P);
  iv_d(&tau, r->tau);
  iv_d(&T, 0);
  for (size_t j = 0; j < n; j++) {
    if (!r->act[j]) continue;
    iv_init(&d[j], P), iv_init(&e[j], P);
    mpfr_set_d(t, r->x[k], MPFR_RNDN);
    mpfr_sub_d(d[j].lo, t, r->x[j], MPFR_RNDU);   /* x_k - x_j >= 0 */
    mpfr_sub_d(d[j].hi, t, r->x[j], MPFR_RNDD);
    mpfr_neg(d[j].lo, d[j].lo, MPFR_RNDD);        /* now [x_j - x_k] */
    mpfr_neg(d[j].hi, d[j].hi, MPFR_RNDU);
    iv_mul(&d[j], &d[j], &beta, t);
    iv_exp(&e[j], &d[j]);
    if (j != k) iv_add(&T, &T, &e[j]);
  }
  iv_d(&u, 1);
  iv_add(&S, &T, &u);
  mpfr_log1p(L.lo, T.lo, MPFR_RNDD);
  mpfr_log1p(L.hi, T.hi, MPFR_RNDU);

  switch (r->f) {
  case ORACLE_SOFTMAX:
  case ORACLE_CROSS_ENTROPY_GRAD:
    for (size_t i = 0; i < n; i++) {
      if (r->done[i] || !r->act[i]) continue;
      if (r->f == ORACLE_CROSS_ENTROPY_GRAD && i == (size_t)r->t) {
        if (i == k) iv_set(&u, &T); /* S - e_t, without cancellation */
        else {
          iv_d(&u, 1);
          for (size_t j = 0; j < n; j++)
            if (r->act[j] && j != k && j != i) iv_add(&u, &u, &e[j]);
        }
        iv_div(&y, &u, &S);
        iv_neg(&y, &y);
      } else {
        iv_div(&y, &e[i], &S);
      }
      if (r->f == ORACLE_CROSS_ENTROPY_GRAD) iv_div(&y, &y, &tau);
      decide(r, i, &y, P);
    }
    break;
  case ORACLE_LOG_SOFTMAX:
    for (size_t i = 0; i < n; i++) {
      if (r->done[i] || !r->act[i]) continue;
      iv_sub(&y, &d[i], &L, &tmp);
      decide(r, i, &y, P);
    }
    break;
  case ORACLE_LOGSUMEXP:
    iv_d(&u, r->x[k]);
    iv_mul(&y, &u, &beta, t);
    iv_add(&y, &y, &L);
    decide(r, 0, &y, P);
    break;
  case ORACLE_CROSS_ENTROPY:
    iv_sub(&y, &L, &d[r->t], &tmp);
    decide(r, 0, &y, P);
    break;
  case ORACLE_SOFTMAX_VJP: {
    vjp_cache vc = {(size_t)-1, NULL, NULL};
    if (!r->have_g) {
      vc.E = malloc((r->nact + 1) * sizeof *vc.E), vc.have = calloc(r->nact + 1, 1);
      for (size_t j = 0; j < r->nact; j++) iv_init(&vc.E[j], P);
    }
    for (size_t i = 0; i < n; i++) {
      if (r->done[i] || !r->act[i]) continue;
      if (r->have_g) {               /* s_i (dy_i - g) with g exact */
        iv_q(&v, r->g);
        iv_d(&u, r->dy[i]);
        iv_sub(&v, &u, &v, &tmp);
        iv_div(&y, &e[i], &S);
        iv_mul(&y, &y, &v, t);
      } else {
        vjp_scaled(r, i, &d[i], &beta, &S, &y, P, &vc);
      }
      iv_div(&y, &y, &tau);
      decide(r, i, &y, P);
    }
    if (vc.E) {
      for (size_t j = 0; j < r->nact; j++) iv_clear(&vc.E[j]);
      free(vc.E), free(vc.have);
    }
    break;
  }
  case ORACLE_LOG_SOFTMAX_VJP: {
    /* (dy_i - s_i D) = (dy_i (S - e_i) - e_i (D - dy_i)) / S, each sum taken
     * without the i-th term, so s_i near 1 causes no cancellation */
    iv A, B;
    iv_init(&A, P), iv_init(&B, P);
    for (size_t i = 0; i < n; i++) {
      if (r->done[i] || !r->act[i]) continue;
      iv_d(&A, 0), iv_d(&B, 0);
      for (size_t j = 0; j < n; j++) {
        if (j == i) continue;
        if (r->act[j]) iv_add(&A, &A, &e[j]);
        iv_d(&u, r->dy[j]), iv_add(&B, &B, &u);
      }
      iv_mul(&v, &e[i], &B, t);
      iv_neg(&v, &v);                      /* -e_i (D - dy_i) */
      if (r->dy[i] != 0) {
        iv_d(&u, r->dy[i]);
        iv_mul(&y, &u, &A, t);
        iv_add(&v, &v, &y);
      }
      iv_div(&y, &v, &S);
      iv_div(&y, &y, &tau);
      decide(r, i, &y, P);
    }
    iv_clear(&A), iv_clear(&B);
    break;
  }
  default: break;
  }
  for (size_t j = 0; j < n; j++)
    if (r->act[j]) iv_clear(&d[j]), iv_clear(&e[j]);
  free(d);
  free(e);
  iv_clear(&beta), iv_clear(&tmp), iv_clear(&T), iv_clear(&S), iv_clear(&tau);
  iv_clear(&L), iv_clear(&y), iv_clear(&u), iv_clear(&v);
  mpfr_clear(t);
}

typedef struct { double x; size_t i; } xi;
static int by_x_desc(const void *a, const void *b) {
  double u = ((const xi *)a)->x, v = ((const xi *)b)->x;
  return (u < v) - (u > v);
}

void oracle_ziv(row *r) {
  mpfr_prec_t P = 128;
  if (r->f == ORACLE_SOFTMAX_VJP && !r->have_g) {
    xi *p = malloc(r->nact * sizeof *p);
    r->order = malloc(r->nact * sizeof *r->order);
    size_t c = 0;
    for (size_t j = 0; j < r->n; j++)
      if (r->act[j]) p[c].x = r->x[j], p[c].i = j, c++;
    qsort(p, c, sizeof *p, by_x_desc);
    for (size_t j = 0; j < c; j++) r->order[j] = p[j].i;
    free(p);
  }
  for (; r->ndone < r->nout && P <= ORACLE_PREC_MAX; P += P / 2) {
    if (r->st && (unsigned long)P > r->st->max_prec) r->st->max_prec = (unsigned long)P;
    round_at(r, P);
  }
  if (r->ndone < r->nout) { /* cap reached: report, never hang */
    r->force = 1;
    round_at(r, ORACLE_PREC_MAX);
  }
  free(r->order);
  r->order = NULL;
}

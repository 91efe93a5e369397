/* fast.c -- the oracle's fast path: every quantity in double-double with a
 * rigorous absolute error bound carried beside it; an output is decided when
 * both ends of its enclosure round to the same target value (round.c).
 *
 * Formulation (Blanchard, Higham & Higham 2021): k = first index of the max,
 * d_j = (x_j - x_k) * scale/tau <= 0, e_j = e^(d_j) = 2^K_j m_j,
 * T = sum_{j != k} e_j, S = 1 + T, L = log1p(T) = logsumexp(z) - z_k.
 *   softmax_i = 2^K_i m_i / S        log_softmax_i = d_i - L
 *   logsumexp = z_k + L              cross_entropy = L - d_t
 *   softmax_vjp_i = s_i (dy_i - G/S) / tau with G = sum_j e_j dy_j
 *   log_softmax_vjp_i = (dy_i - s_i D) / tau with D = sum_j dy_j
 *   cross_entropy_grad_i = s_i / tau (i != t), -(S - e_t) / S / tau (i = t)
 * Scaled exponentials keep full relative accuracy for subnormal outputs.
 * Error bookkeeping, with DD_OP the bound of one dd operation: a relative
 * error eps of a quantity becomes an absolute |value| eps; sums of
 * non-negative terms carry n DD_OP times the final sum (every partial sum is
 * smaller); every computed bound is inflated by 2^-40 for its own rounding.
 * The path gives up (leaving outputs to MPFR) on any magnitude beyond 2^900,
 * except a d_j that only enters through e^(d_j) and is proven below -1e6 by
 * exponents alone (tiny_by_exponents): such e_j is tiny like any other, and
 * fuzzed bit patterns (|x| up to 2^1023) make these rows common.
 */
#include <stdlib.h>
#include "row.h"

#define BIG 0x1p900
#define TINY_D (-1e6)      /* e^d below 2^-1442695 */
#define TINY_K (-1442696L) /* 2^(TINY_K + 1) >= e^-1e6 */
#define INFL (1 + 0x1p-40)

typedef struct {
  dd d, m;       /* d_j, and e_j = 2^K m (1 + rel) */
  long K;
  double ad;     /* absolute error bound of d_j */
  double rel;    /* relative error bound of e_j */
  int tiny;      /* d_j < -1e6: e_j in [0, 2^(TINY_K+1)] */
} elem;

/* The VJPs are linear in dy: the fast path works on dy 2^sh (max |dy| near
 * 1, so no product underflows) and scales the outputs back through K. */
static _Thread_local long dyshift;

static void decide(row *r, size_t o, long K, dd v, double err) {
  double res;
  K -= dyshift;
  err = err * (1 + 0x1p-50) + 0x1p-1074; /* bounds computed below 2^-1022 lose
                                           relative accuracy or underflow */
  if (r->done[o] || !oracle_round_encl(r->fmt, K, v, err, &res)) return;
  oracle_xval xv = {v.hi, v.lo, K, err};
  /* the exact value must be known within 2^-14 ulp (contract: 0.001) */
  if (!(err <= ldexp(1, (int)(oracle_ulp_exp(r->fmt, &xv) - K - 14)))) return;
  row_set(r, o, res, &xv, r->st ? &r->st->fast : NULL);
}

/* A value known to be a tiny number of sign sgn, far below every format. */
static void decide_tiny(row *r, size_t o, int neg) {
  oracle_xval xv = {0, 0, TINY_K + 2000, 1};
  if (!r->done[o]) row_set(r, o, neg ? -0.0 : 0.0, &xv, r->st ? &r->st->fast : NULL);
}

/* 1 if an output reads d_j itself rather than e^(d_j): log_softmax (d_i - L)
 * and cross-entropy at the target (L - d_t). */
static int uses_d(const row *r, size_t j) {
  return r->f == ORACLE_LOG_SOFTMAX || (r->f == ORACLE_CROSS_ENTROPY && j == (size_t)r->t);
}

/* 1 if d = (x_j - x_k) scale / tau is certainly below TINY_D, from
 * dl = RN(x_j - x_k) <= 0 (-inf if it overflowed) by exponents alone, so
 * no product can over- or underflow.  Proof: a finite nonzero dl has
 * |x_j - x_k| >= |dl| / (1 + 2^-53) > 2^(ilogb(dl) - 1); an overflow means
 * |x_j - x_k| >= DBL_MAX > 2^1023 = 2^(1024 - 1); scale >= 2^ilogb(scale),
 * tau < 2^(ilogb(tau) + 1).  So |d| > 2^(a - 1 + ilogb(scale) - ilogb(tau) - 1)
 * with a = ilogb(dl) (1024 on overflow), and a - 2 + ilogb(scale) -
 * ilogb(tau) >= 20 gives |d| > 2^20 > 1e6 = -TINY_D.  Called with finite
 * positive scale and tau in [2^-900, 2^900] (oracle_fast's precondition). */
static int tiny_by_exponents(double dl, double scale, double tau) {
  if (!(dl < 0)) return 0; /* NaN cannot occur (finite inputs); 0 is not tiny */
  long a = isinf(dl) ? 1024 : ilogb(dl);
  return a - 2 + ilogb(scale) - ilogb(tau) >= 20;
}

void oracle_fast(row *r) {
  size_t n = r->n, k = r->kmax;
  double tau = r->tau, xm = r->x[k];
  if (!(tau >= 1 / BIG && tau <= BIG && r->scale >= 1 / BIG && r->scale <= BIG))
    return;
  dd beta = dd_div(dd_d(r->scale), dd_d(tau)), dtau = dd_d(tau);
  int vjp = r->f == ORACLE_SOFTMAX_VJP || r->f == ORACLE_LOG_SOFTMAX_VJP;
  elem *e = calloc(n, sizeof *e);
  double *dy = vjp ? malloc(n * sizeof *dy) : NULL;
  if (!e || (vjp && !dy)) { free(e), free(dy); return; }
  dyshift = 0;
  if (vjp) {
    double mx = 0;
    for (size_t j = 0; j < n; j++) mx = fmax(mx, fabs(r->dy[j]));
    dyshift = mx > 0 ? -ilogb(mx) : 0;
    for (size_t j = 0; j < n; j++) dy[j] = ldexp(r->dy[j], (int)dyshift); /* exact */
  }

  /* d_j and e_j; T = sum_{j != k} e_j */
  dd T = dd_d(0);
  double errE = 0, tiny_sum = 0;
  for (size_t j = 0; j < n; j++) {
    /* dd products stay exact only away from underflow */
    if (vjp && !((dy[j] == 0) == (r->dy[j] == 0) && (dy[j] == 0 || fabs(dy[j]) >= 1 / BIG)))
      goto out;
    if (!r->act[j]) continue;
    elem *p = &e[j];
    dd dl = two_sum(r->x[j], -xm); /* exact */
    if (isfinite(dl.hi)) p->d = dd_mul(dl, beta); /* error <= 2 DD_OP relative (beta too) */
    if (!isfinite(dl.hi) || !(fabs(p->d.hi) <= BIG)) {
      /* beyond dd's range: only an e_j that is certainly tiny, of a d_j no
       * output reads, is settled here; else MPFR decides the row */
      if (!uses_d(r, j) && tiny_by_exponents(dl.hi, r->scale, tau)) {
        p->tiny = 1, p->K = TINY_K, p->m = dd_d(1), p->rel = 1;
        if (j != k) tiny_sum += 0x1p-958; /* as any K < -960 below */
        continue;
      }
      goto out;
    }
    p->ad = fabs(p->d.hi) * (3 * DD_OP) + 0x1p-1070; /* d may be subnormal */
    if (p->d.hi < TINY_D) {
      p->tiny = 1, p->K = TINY_K, p->m = dd_d(1), p->rel = 1;
    } else {
      p->m = oracle_expdd(p->d, &p->K);
      /* e^(d + delta) = e^d (1 + eta), |eta| <= |delta| (1 + 2|delta|) */
      p->rel = EXPDD_REL + p->ad * (1 + 2 * p->ad);
    }
    if (j == k) continue;
    if (p->K < -960) { tiny_sum += 0x1p-958; continue; }
    dd v = dd_ldexp(p->m, p->K);
    errE += v.hi * p->rel;
    T = dd_add(T, v);
  }
  double errT = (errE + (double)n * DD_OP * T.hi + tiny_sum) * INFL;
  dd S = dd_add_d(T, 1.0);
  double errS = (errT + DD_OP * S.hi) * INFL;
  double ES = errS / (S.hi - errS) * INFL; /* relative error of 1/S */

  dd L = dd_d(0);
  double errL = 0;
  if (r->f == ORACLE_LOG_SOFTMAX || r->f == ORACLE_LOGSUMEXP ||
      r->f == ORACLE_CROSS_ENTROPY) {
    L = oracle_log1pdd(T, &errL);
    errL = (errL + errT / (1 + T.hi - errT)) * INFL;
  }

  switch (r->f) {
  case ORACLE_SOFTMAX:
  case ORACLE_CROSS_ENTROPY_GRAD: {
    int ce = r->f == ORACLE_CROSS_ENTROPY_GRAD;
    for (size_t i = 0; i < n; i++) {
      if (!r->act[i] || r->done[i]) continue;
      if (ce && i == (size_t)r->t) {
        dd N;                     /* S - e_t = 1 + sum_{j != k, t} e_j */
        double errN;
        if (i == k) N = T, errN = errT;
        else if (e[i].K < -960) N = S, errN = errS + 0x1p-958;
        else {
          dd et = dd_ldexp(e[i].m, e[i].K);
          N = dd_sub(S, et);
          errN = errS + et.hi * e[i].rel + DD_OP * N.hi;
        }
        if (!(errN < N.hi / 2)) continue;
        dd v = dd_neg(dd_div(dd_div(N, S), dtau));
        decide(r, i, 0, v, fabs(v.hi) * (errN / N.hi + ES + 2 * DD_OP) * INFL);
        continue;
      }
      if (e[i].tiny) { decide_tiny(r, i, 0); continue; }
      dd q = dd_div(e[i].m, S);
      double rel = e[i].rel + ES + DD_OP;
      if (ce) q = dd_div(q, dtau), rel += DD_OP;
      decide(r, i, e[i].K, q, q.hi * rel * INFL);
    }
    break;
  }
  case ORACLE_LOG_SOFTMAX:
    for (size_t i = 0; i < n; i++) {
      if (!r->act[i] || r->done[i]) continue;
      dd v = dd_sub(e[i].d, L);
      decide(r, i, 0, v, (e[i].ad + errL + DD_OP * fabs(v.hi)) * INFL);
    }
    break;
  case ORACLE_LOGSUMEXP: {
    dd a = dd_mul_d(beta, xm);
    if (!(fabs(a.hi) <= BIG)) break;
    dd v = dd_add(a, L);
    decide(r, 0, 0, v, (2 * DD_OP * fabs(a.hi) + errL + DD_OP * fabs(v.hi)) * INFL);
    break;
  }
  case ORACLE_CROSS_ENTROPY: {
    size_t t = (size_t)r->t;
    dd v = dd_sub(L, e[t].d);
    decide(r, 0, 0, v, (errL + e[t].ad + DD_OP * fabs(v.hi)) * INFL);
    break;
  }
  case ORACLE_SOFTMAX_VJP: {
    dd G = dd_d(0);             /* sum_j e_j dy_j */
    double errG = 0, sumabs = 0;
    for (size_t j = 0; j < n; j++) {
      if (!r->act[j]) continue;
      if (e[j].K < -960) { errG += 0x1p-958 * fabs(dy[j]); continue; }
      dd v = dd_mul_d(dd_ldexp(e[j].m, e[j].K), dy[j]);
      errG += fabs(v.hi) * (e[j].rel + DD_OP) + 0x1p-1070;
      sumabs += fabs(v.hi);
      G = dd_add(G, v);
    }
    errG = (errG + (double)n * DD_OP * sumabs) * INFL;
    dd g = dd_div(G, S);
    double errg = ((fabs(G.hi) * errS + S.hi * errG) / (S.hi * (S.hi - errS)) +
                   DD_OP * fabs(g.hi)) * INFL;
    for (size_t i = 0; i < n; i++) {
      if (!r->act[i] || r->done[i]) continue;
      dd w = dd_add_d(dd_neg(g), dy[i]);
      double errw = (errg + DD_OP * fabs(w.hi)) * INFL;
      if (e[i].tiny) {
        if (fabs(w.hi) > 2 * errw) decide_tiny(r, i, w.hi < 0);
        continue;
      }
      dd q = dd_div(e[i].m, S);
      dd v = dd_div(dd_mul(q, w), dtau);
      double err = (q.hi * errw + fabs(q.hi * w.hi) * (e[i].rel + ES + DD_OP)) / tau +
                   2 * DD_OP * fabs(v.hi);
      decide(r, i, e[i].K, v, err * INFL);
    }
    break;
  }
  case ORACLE_LOG_SOFTMAX_VJP: {
    dd D = dd_d(0);
    double sumabs = 0;
    for (size_t j = 0; j < n; j++) D = dd_add_d(D, dy[j]), sumabs += fabs(dy[j]);
    double errD = (double)n * DD_OP * sumabs * INFL;
    for (size_t i = 0; i < n; i++) {
      if (!r->act[i] || r->done[i]) continue;
      if (e[i].tiny) {
        if (dy[i] != 0) {
          dd v = dd_div(dd_d(dy[i]), dtau);
          decide(r, i, 0, v, DD_OP * fabs(v.hi) + 0x1p-1000);
        } else if (fabs(D.hi) > 2 * errD) {
          decide_tiny(r, i, D.hi > 0);
        }
        continue;
      }
      dd p;
      double errp;
      if (e[i].K < -960) {
        p = dd_d(0);
        errp = ldexp(fabs(D.hi) + errD, (int)(e[i].K + 2)) * (1 + 0x1p-50) + 0x1p-1074;
      } else {
        dd sq = dd_ldexp(dd_div(e[i].m, S), e[i].K);
        p = dd_mul(sq, D);
        errp = fabs(p.hi) * (e[i].rel + ES + 2 * DD_OP) + fabs(sq.hi) * errD +
               0x1p-1070;
      }
      dd w = dd_sub(dd_d(dy[i]), p);
      dd v = dd_div(w, dtau);
      double err = (errp + DD_OP * fabs(w.hi)) / tau * (1 + 0x1p-50) + DD_OP * fabs(v.hi);
      decide(r, i, 0, v, err * INFL);
    }
    break;
  }
  default: break;
  }
out:
  free(e);
  free(dy);
  dyshift = 0;
}

/* test_oracle_mpfr.c -- oracle_eval end to end against a naive evaluation
 * in very high precision MPFR.
 *
 * The oracle decides outputs through several stages (special values, exact
 * rationals, a double-double fast path with error bounds, an MPFR interval
 * loop, rational anchors); a mistake in any of them, or in choosing between
 * them, gives a wrong "correctly rounded" reference.  Here every output is
 * recomputed from the formulas of oracle.h, written out directly
 * (z = x scale / tau, e_j = exp(z_j - max z), S = sum e_j, s_i = e_i / S,
 * lse = max z + log S, softmax_vjp s_i (dy_i - sum_j s_j dy_j) / tau,
 * log_softmax_vjp (dy_i - s_i sum_j dy_j) / tau, cross_entropy lse - z_t,
 * its gradient (s_i - [i == t]) / tau) at 2000 and 2400 bits, rounded to the
 * format by MPFR's own rounding (mpfr_set, then mpfr_check_range and
 * mpfr_subnormalize in the format's exponent range) or, for fixed point, by
 * mpfr_rint (ties to even) and a clamp, and compared BIT-exactly with
 * oracle_eval (sign of zero included).
 * The formulas are only rearranged so that terms cancelling exactly are
 * never formed: sums that leave out the i-th term (1 - s_t = sum_{j != t}
 * e_j / S, log S = log1p(S - 1)) and, for the VJPs, sums over groups of equal
 * inputs with exact rational coefficients.
 * Deciding the reference:
 *  - rational outputs (masked slots, rows whose active inputs are all equal,
 *    log_softmax_vjp with sum dy = 0, softmax_vjp where every group of equal
 *    inputs has the same mean dy) -- the only ones that can BE a rounding
 *    boundary -- exactly, with GMP rationals;
 *  - the others from the 2400-bit value when it has >= 1900 good bits (its
 *    error is estimated from the 2000-bit value) and the value +- its error
 *    rounds to one result; else again at 6000/6400 and 18000/18400 bits;
 *  - still undecided: outputs that are a rational R (a rounding boundary)
 *    plus a part of known sign too small for any precision, e.g.
 *    log_softmax = d_i - log1p(e^-60000): R and the side are derived in
 *    limit_side() and the rounding is that of R + side * infinitesimal;
 *  - anything left is reported "too close to call" and skipped (none is).
 * Also checked: the exact-value records (|(hi + lo) 2^e - exact| <= err 2^e),
 * oracle_ulp_error(f, rounded) <= 0.5 (+ its uncertainty, which must be
 * < 0.001) where rounding did not overflow or saturate, the return value 0,
 * and -1 with nothing written for the gradients on fixed-point formats.
 * Vectors: hand-picked hard cases, then 3000 random ones (splitmix64, fixed
 * seed), n in 1..300 (mostly < 20; <= 100 for the VJPs), every format and
 * function; families: normal at scales 1, 10, 100, huge spread, near the exp
 * underflow thresholds of every format, near overflow, ties at the max, all
 * equal, small integers, subnormal inputs; masked slots; tau in
 * {1, 0.5, 3, 0.1}; fixed point: int8 inputs with scale 1/16 or 0.1.  NaN
 * and inf inputs are left to tests/test_oracle.c.  Spreads are kept below
 * 1e15 in z, so that every e^(z - max) is a number in MPFR's range.
 * A failure prints one line (function, format, the vector in %a); the last
 * line is "N passed, M failed"; the exit status is non-zero iff M > 0. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpfr.h>
#include "oracle.h"

#define P1 2000
#define P2 2400
#define PX 2600     /* exact for sums of two doubles and for dd values */
#define CLOSE (-1900) /* a naive value needs this many good bits (log2, relative) */
#define NMAX_VJP 100    /* the VJP references cost O(n * groups) */
#define NVEC 3000

static long npass, nfail, ntooclose, nce_fixed_refused, nrational, nlimit;
static int nprinted;

/* ---- PRNG ------------------------------------------------------------- */
#define TEST_SEED 0x0a11ce5eedULL
#include "oracle_testlib.h"
static double rnd01(void) { return (double)(rnd64() >> 11) * 0x1p-53; }
static double gauss(void) {
  double u = rnd01(), v = rnd01();
  return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

/* ---- reference rounding ------------------------------------------------- */
/* y: p bits, inex: its ternary value from a rounding in the wide range */
static double float_finish(const fmt_spec *s, mpfr_t y, int inex, int *clamped) {
  mpfr_set_emin(s->emin - s->p + 2);
  mpfr_set_emax(s->emax + 1);
  inex = mpfr_check_range(y, inex, MPFR_RNDN);
  mpfr_subnormalize(y, inex, MPFR_RNDN);
  double r = mpfr_get_d(y, MPFR_RNDN);
  wide_range();
  if (clamped) *clamped = isinf(r);
  return r;
}
static double fixed_finish(const fmt_spec *s, mpz_srcptr N, int *clamped) {
  long k;
  int c = 1;
  if (mpz_cmp_si(N, s->kmax) > 0) k = s->kmax;
  else if (mpz_cmp_si(N, s->kmin) < 0) k = s->kmin;
  else k = mpz_get_si(N), c = 0;
  if (clamped) *clamped = c;
  return k == 0 ? 0.0 : ldexp((double)k, -s->frac);
}
static double round_inf(const fmt_spec *s, int sign, int *clamped) {
  if (clamped) *clamped = 1;
  if (!s->fixed) return sign > 0 ? INFINITY : -INFINITY;
  long k = sign > 0 ? s->kmax : s->kmin;
  return k == 0 ? 0.0 : ldexp((double)k, -s->frac);
}
static double round_mpfr(const fmt_spec *s, mpfr_srcptr v, int *clamped) {
  if (!s->fixed) {
    mpfr_t y;
    mpfr_init2(y, s->p);
    int inex = mpfr_set(y, v, MPFR_RNDN);
    double r = float_finish(s, y, inex, clamped);
    mpfr_clear(y);
    return r;
  }
  mpfr_t t;
  mpz_t N;
  mpfr_init2(t, mpfr_get_prec(v) > 64 ? mpfr_get_prec(v) : 64);
  mpz_init(N);
  mpfr_mul_2si(t, v, s->frac, MPFR_RNDN);
  mpfr_rint(t, t, MPFR_RNDN); /* ties to even */
  mpfr_get_z(N, t, MPFR_RNDN);
  double r = fixed_finish(s, N, clamped);
  mpz_clear(N);
  mpfr_clear(t);
  return r;
}
static double round_q(const fmt_spec *s, mpq_srcptr q, int *clamped) {
  if (!s->fixed) {
    mpfr_t y;
    mpfr_init2(y, s->p);
    int inex = mpfr_set_q(y, q, MPFR_RNDN);
    double r = float_finish(s, y, inex, clamped);
    mpfr_clear(y);
    return r;
  }
  mpz_t N, R, num;
  mpz_inits(N, R, num, (mpz_ptr)0);
  mpz_mul_2exp(num, mpq_numref(q), (mp_bitcnt_t)s->frac);
  mpz_fdiv_qr(N, R, num, mpq_denref(q)); /* q 2^frac = N + R/den, 0 <= R < den */
  mpz_mul_2exp(R, R, 1);
  int c = mpz_cmp(R, mpq_denref(q));
  if (c > 0 || (c == 0 && mpz_odd_p(N))) mpz_add_ui(N, N, 1);
  double r = fixed_finish(s, N, clamped);
  mpz_clears(N, R, num, (mpz_ptr)0);
  return r;
}
static double to_format(const fmt_spec *s, double v) {
  if (s->fixed) return v;
  mpfr_t t;
  mpfr_init2(t, 53);
  mpfr_set_d(t, v, MPFR_RNDN);
  double r = round_mpfr(s, t, NULL);
  mpfr_clear(t);
  return r;
}
static double fmt_max(const fmt_spec *s) { return ldexp(2 - ldexp(1, 1 - s->p), s->emax); }

/* ---- one vector ---------------------------------------------------------- */
typedef struct {
  oracle_func f;
  const fmt_spec *fs;
  size_t n;
  double *x, *dy, tau, scale;
  unsigned char *masked;
  long t;
  const char *family;
} vec;

static void print_vec(const vec *v, FILE *o) {
  fprintf(o, "%s %s n=%zu tau=%a scale=%a", oracle_func_name(v->f), v->fs->f->name, v->n,
          v->tau, v->scale);
  if (v->f == ORACLE_CROSS_ENTROPY || v->f == ORACLE_CROSS_ENTROPY_GRAD) fprintf(o, " t=%ld", v->t);
  fprintf(o, " x={");
  for (size_t i = 0; i < v->n; i++) fprintf(o, "%s%a", i ? "," : "", v->x[i]);
  fprintf(o, "} masked={");
  int first = 1;
  for (size_t i = 0; i < v->n; i++)
    if (v->masked[i]) fprintf(o, "%s%zu", first ? "" : ",", i), first = 0;
  fprintf(o, "}");
  if (v->f == ORACLE_SOFTMAX_VJP || v->f == ORACLE_LOG_SOFTMAX_VJP) {
    fprintf(o, " dy={");
    for (size_t i = 0; i < v->n; i++) fprintf(o, "%s%a", i ? "," : "", v->dy[i]);
    fprintf(o, "}");
  }
  fprintf(o, " [%s]", v->family);
}

#define FAILV(v, ...)                                              \
  do {                                                             \
    nfail++;                                                       \
    if (nprinted++ < 40) {                                         \
      printf("FAIL oracle_eval ");                                 \
      print_vec(v, stdout);                                        \
      printf(": ");                                                \
      printf(__VA_ARGS__);                                         \
      printf("\n");                                                \
    }                                                              \
  } while (0)

/* reference of one output */
enum { R_APPROX, R_RATIONAL, R_INF };
typedef struct {
  int kind, infsign;
  mpq_t q;
  mpfr_t v1, v2;
} refout;

/* the decision of one output */
typedef struct {
  int decided, clamped, exact_inf;
  double want;
  mpfr_t lo, hi; /* the exact value lies in [lo, hi] */
} refdec;

static int is_vjp(oracle_func f) { return f == ORACLE_SOFTMAX_VJP || f == ORACLE_LOG_SOFTMAX_VJP; }
static int is_grad(oracle_func f) {
  return is_vjp(f) || f == ORACLE_CROSS_ENTROPY_GRAD;
}

/* the exact rational cases; returns 1 if output o was set exactly */
static int rational_out(const vec *v, size_t o, refout *r, size_t c, int one_group,
                        mpq_srcptr D, int groups_same, mpq_srcptr gmean) {
  oracle_func f = v->f;
  size_t i = o;
  mpq_t a, tau;
  mpq_inits(a, tau, (mpq_ptr)0);
  mpq_set_d(tau, v->tau);
  int done = 1, act = f == ORACLE_LOGSUMEXP || f == ORACLE_CROSS_ENTROPY ? 1 : !v->masked[i];
  switch (f) {
  case ORACLE_SOFTMAX:
    if (!act) mpq_set_ui(r->q, 0, 1);
    else if (one_group) mpq_set_ui(r->q, 1, c);
    else done = 0;
    break;
  case ORACLE_LOG_SOFTMAX:
    if (!act) r->kind = R_INF, r->infsign = -1;
    else if (c == 1) mpq_set_ui(r->q, 0, 1);
    else done = 0;
    break;
  case ORACLE_LOGSUMEXP:
    if (c == 1) {
      size_t k = 0;
      while (v->masked[k]) k++;
      mpq_set_d(r->q, v->x[k]);
      mpq_set_d(a, v->scale);
      mpq_mul(r->q, r->q, a);
      mpq_div(r->q, r->q, tau);
    } else done = 0;
    break;
  case ORACLE_CROSS_ENTROPY:
    if (v->masked[v->t]) r->kind = R_INF, r->infsign = 1;
    else if (c == 1) mpq_set_ui(r->q, 0, 1);
    else done = 0;
    break;
  case ORACLE_SOFTMAX_VJP:
    if (!act) mpq_set_ui(r->q, 0, 1);
    else if (groups_same) { /* g = gmean exactly */
      mpq_set_d(a, v->dy[i]);
      if (mpq_equal(a, gmean)) mpq_set_ui(r->q, 0, 1);
      else if (one_group) {
        mpq_sub(r->q, a, gmean);
        mpq_set_ui(a, 1, c);
        mpq_mul(r->q, r->q, a);
        mpq_div(r->q, r->q, tau);
      } else done = 0;
    } else done = 0;
    break;
  case ORACLE_LOG_SOFTMAX_VJP:
    if (!act || mpq_sgn(D) == 0) {
      mpq_set_d(r->q, v->dy[i]);
      mpq_div(r->q, r->q, tau);
    } else if (one_group) {
      mpq_set_ui(a, 1, c);
      mpq_mul(a, a, D);
      mpq_set_d(r->q, v->dy[i]);
      mpq_sub(r->q, r->q, a);
      mpq_div(r->q, r->q, tau);
    } else done = 0;
    break;
  case ORACLE_CROSS_ENTROPY_GRAD:
    if (!act || one_group) {
      mpq_set_ui(r->q, act ? 1 : 0, act ? c : 1);
      mpq_set_ui(a, (size_t)v->t == i, 1);
      mpq_sub(r->q, r->q, a);
      mpq_div(r->q, r->q, tau);
    } else done = 0;
    break;
  default: done = 0;
  }
  if (done && r->kind == R_APPROX) r->kind = R_RATIONAL;
  mpq_clears(a, tau, (mpq_ptr)0);
  return done;
}

/* groups of equal active inputs */
typedef struct { double x; size_t i; } xi;
static int by_x(const void *a, const void *b) {
  double u = ((const xi *)a)->x, v = ((const xi *)b)->x;
  return (u > v) - (u < v);
}

/* naive evaluation of every non-rational output at precision P into v1/v2.
 * The VJPs are summed by groups G of equal inputs (e_G = e^(d_G)), with
 * exact rational coefficients, so that terms cancelling exactly (equal
 * inputs, equal dy) are never formed:
 *   s_i (dy_i - g)      = e_i sum_G e_G (|G| dy_i - sum_{j in G} dy_j) / S^2
 *   dy_i - s_i D        = (e_i ((|G_i| - 1) dy_i - (D - dy_i))
 *                          + dy_i sum_{G != G_i} |G| e_G) / S              */
static void naive(const vec *v, refout *R, mpfr_prec_t P, int second, const refdec *Z) {
  size_t n = v->n, k = (size_t)-1;
  for (size_t j = 0; j < n; j++)
    if (!v->masked[j] && (k == (size_t)-1 || v->x[j] > v->x[k])) k = j;
  mpfr_t beta, t, u, S, L, *d, *e, *pre, *suf;
  mpfr_inits2(P, beta, t, u, S, L, (mpfr_ptr)0);
  d = malloc(n * sizeof *d), e = malloc(n * sizeof *e);
  pre = malloc((n + 1) * sizeof *pre), suf = malloc((n + 1) * sizeof *suf);
  mpfr_set_d(beta, v->scale, MPFR_RNDN);
  mpfr_div_d(beta, beta, v->tau, MPFR_RNDN);
  for (size_t j = 0; j < n; j++) {
    mpfr_inits2(P, d[j], e[j], (mpfr_ptr)0);
    mpfr_set_zero(d[j], 1), mpfr_set_zero(e[j], 1);
    if (v->masked[j]) continue;
    mpfr_set_prec(t, PX);
    mpfr_set_d(t, v->x[j], MPFR_RNDN);
    mpfr_sub_d(t, t, v->x[k], MPFR_RNDN); /* exact */
    mpfr_mul(d[j], t, beta, MPFR_RNDN);
    mpfr_set_prec(t, P);
    mpfr_exp(e[j], d[j], MPFR_RNDN);
  }
  /* A_i = sum_{j != i} e_j = pre[i] + suf[i + 1] */
  for (size_t j = 0; j <= n; j++) mpfr_inits2(P, pre[j], suf[j], (mpfr_ptr)0);
  mpfr_set_zero(pre[0], 1), mpfr_set_zero(suf[n], 1);
  for (size_t j = 0; j < n; j++) mpfr_add(pre[j + 1], pre[j], e[j], MPFR_RNDN);
  for (size_t j = n; j-- > 0;) mpfr_add(suf[j], suf[j + 1], e[j], MPFR_RNDN);
#define A_OF(dst, i) mpfr_add(dst, pre[i], suf[(i) + 1], MPFR_RNDN)
  mpfr_set(S, pre[n], MPFR_RNDN);
  A_OF(u, k);
  mpfr_log1p(L, u, MPFR_RNDN); /* log S */

  /* groups, for the VJPs */
  size_t ng = 0, *gof = NULL, *gsize = NULL, *grep = NULL;
  mpq_t *gdy = NULL, Dq, cq, q2;
  mpfr_t *gpre = NULL, *gsuf = NULL, cf;
  mpq_inits(Dq, cq, q2, (mpq_ptr)0);
  mpfr_init2(cf, P);
  int vjp = is_vjp(v->f);
  if (vjp) {
    xi *o = malloc(n * sizeof *o);
    size_t c = 0;
    for (size_t j = 0; j < n; j++)
      if (!v->masked[j]) o[c].x = v->x[j], o[c].i = j, c++;
    qsort(o, c, sizeof *o, by_x);
    gof = calloc(n, sizeof *gof), gsize = calloc(c, sizeof *gsize), grep = calloc(c, sizeof *grep);
    gdy = malloc(c * sizeof *gdy);
    for (size_t a = 0; a < c; a++) {
      if (a == 0 || o[a].x != o[a - 1].x) {
        grep[ng] = o[a].i;
        mpq_init(gdy[ng]);
        ng++;
      }
      gof[o[a].i] = ng - 1;
      gsize[ng - 1]++;
      mpq_set_d(q2, v->dy[o[a].i]);
      mpq_add(gdy[ng - 1], gdy[ng - 1], q2);
    }
    free(o);
    for (size_t j = 0; j < n; j++) mpq_set_d(q2, v->dy[j]), mpq_add(Dq, Dq, q2);
    /* sum_{G' < G} |G'| e_G' and sum_{G' > G} */
    gpre = malloc((ng + 1) * sizeof *gpre), gsuf = malloc((ng + 1) * sizeof *gsuf);
    for (size_t g = 0; g <= ng; g++) mpfr_inits2(P, gpre[g], gsuf[g], (mpfr_ptr)0);
    mpfr_set_zero(gpre[0], 1), mpfr_set_zero(gsuf[ng], 1);
    for (size_t g = 0; g < ng; g++) {
      mpfr_mul_ui(t, e[grep[g]], gsize[g], MPFR_RNDN);
      mpfr_add(gpre[g + 1], gpre[g], t, MPFR_RNDN);
    }
    for (size_t g = ng; g-- > 0;) {
      mpfr_mul_ui(t, e[grep[g]], gsize[g], MPFR_RNDN);
      mpfr_add(gsuf[g], gsuf[g + 1], t, MPFR_RNDN);
    }
  }

  size_t nout = oracle_noutputs(v->f, n);
  for (size_t o = 0; o < nout; o++) {
    refout *r = &R[o];
    if (r->kind != R_APPROX || Z[o].decided) continue;
    mpfr_ptr y = second ? r->v2 : r->v1;
    size_t i = o;
    switch (v->f) {
    case ORACLE_SOFTMAX: mpfr_div(y, e[i], S, MPFR_RNDN); break;
    case ORACLE_LOG_SOFTMAX: mpfr_sub(y, d[i], L, MPFR_RNDN); break;
    case ORACLE_LOGSUMEXP:
      mpfr_set_d(t, v->x[k], MPFR_RNDN);
      mpfr_mul(t, t, beta, MPFR_RNDN);
      mpfr_add(y, t, L, MPFR_RNDN);
      break;
    case ORACLE_CROSS_ENTROPY: mpfr_sub(y, L, d[v->t], MPFR_RNDN); break;
    case ORACLE_CROSS_ENTROPY_GRAD:
      if ((size_t)v->t == i) { /* (s_t - 1) = -sum_{j != t} e_j / S */
        A_OF(t, i);
        mpfr_div(y, t, S, MPFR_RNDN);
        mpfr_neg(y, y, MPFR_RNDN);
      } else mpfr_div(y, e[i], S, MPFR_RNDN);
      mpfr_div_d(y, y, v->tau, MPFR_RNDN);
      break;
    case ORACLE_SOFTMAX_VJP:
      mpfr_set_zero(u, 1);
      for (size_t g = 0; g < ng; g++) {
        mpq_set_d(cq, v->dy[i]);
        mpq_set_ui(q2, gsize[g], 1);
        mpq_mul(cq, cq, q2);
        mpq_sub(cq, cq, gdy[g]);
        if (mpq_sgn(cq) == 0) continue;
        mpfr_set_q(cf, cq, MPFR_RNDN);
        mpfr_mul(t, e[grep[g]], cf, MPFR_RNDN);
        mpfr_add(u, u, t, MPFR_RNDN);
      }
      mpfr_mul(u, u, e[i], MPFR_RNDN);
      mpfr_div(u, u, S, MPFR_RNDN);
      mpfr_div(u, u, S, MPFR_RNDN);
      mpfr_div_d(y, u, v->tau, MPFR_RNDN);
      break;
    case ORACLE_LOG_SOFTMAX_VJP: {
      size_t g = gof[i];
      mpq_set_d(cq, v->dy[i]);
      mpq_set_ui(q2, gsize[g], 1);
      mpq_mul(q2, q2, cq);          /* |G_i| dy_i */
      mpq_sub(q2, q2, Dq);          /* (|G_i| - 1) dy_i - (D - dy_i) */
      mpfr_set_q(cf, q2, MPFR_RNDN);
      mpfr_mul(u, e[i], cf, MPFR_RNDN);
      mpfr_add(t, gpre[g], gsuf[g + 1], MPFR_RNDN);
      mpfr_mul_d(t, t, v->dy[i], MPFR_RNDN);
      mpfr_add(u, u, t, MPFR_RNDN);
      mpfr_div(u, u, S, MPFR_RNDN);
      mpfr_div_d(y, u, v->tau, MPFR_RNDN);
      break;
    }
    default: break;
    }
  }
#undef A_OF
  if (vjp) {
    for (size_t g = 0; g < ng; g++) mpq_clear(gdy[g]);
    for (size_t g = 0; g <= ng; g++) mpfr_clears(gpre[g], gsuf[g], (mpfr_ptr)0);
    free(gof), free(gsize), free(grep), free(gdy), free(gpre), free(gsuf);
  }
  mpq_clears(Dq, cq, q2, (mpq_ptr)0);
  mpfr_clear(cf);
  for (size_t j = 0; j < n; j++) mpfr_clears(d[j], e[j], (mpfr_ptr)0);
  for (size_t j = 0; j <= n; j++) mpfr_clears(pre[j], suf[j], (mpfr_ptr)0);
  free(d), free(e), free(pre), free(suf);
  mpfr_clears(beta, t, u, S, L, (mpfr_ptr)0);
}

/* |xv - exact| <= err 2^e (+ slack), exact in [lo, hi] */
static int xval_ok(const oracle_xval *xv, mpfr_srcptr lo, mpfr_srcptr hi) {
  mpfr_t a, b;
  mpfr_inits2(PX + 200, a, b, (mpfr_ptr)0);
  mpfr_set_d(a, xv->hi, MPFR_RNDN);
  mpfr_add_d(a, a, xv->lo, MPFR_RNDN);
  mpfr_mul_2si(a, a, xv->e, MPFR_RNDN);
  mpfr_set_d(b, xv->err, MPFR_RNDN);
  mpfr_mul_2si(b, b, xv->e, MPFR_RNDN);
  /* the farther end of [lo, hi] from a */
  mpfr_t d1, d2;
  mpfr_inits2(PX + 200, d1, d2, (mpfr_ptr)0);
  mpfr_sub(d1, a, lo, MPFR_RNDA);
  mpfr_sub(d2, a, hi, MPFR_RNDA);
  mpfr_abs(d1, d1, MPFR_RNDN);
  mpfr_abs(d2, d2, MPFR_RNDN);
  int ok = mpfr_lessequal_p(d1, b) && mpfr_lessequal_p(d2, b);
  mpfr_clears(a, b, d1, d2, (mpfr_ptr)0);
  return ok;
}

static oracle_stats stats;

/* The rounding of q + side * eps for an infinitesimal eps > 0 (side != 0):
 * every rounding boundary of the format is a multiple of 2^-g, so any eps
 * below 2^-g / den(q) leaves no boundary between q and q + side eps. */
static double round_beside(const fmt_spec *s, mpq_srcptr q, int side, int *clamped) {
  long g = s->fixed ? s->frac + 1 : s->p - s->emin + 1;
  mpq_t e;
  mpq_init(e);
  mpq_set_ui(e, 1, 1);
  mpz_mul_2exp(mpq_denref(e), mpq_denref(e),
               (mp_bitcnt_t)(g + (long)mpz_sizeinbase(mpq_denref(q), 2) + 8));
  if (side < 0) mpq_neg(e, e);
  mpq_add(e, e, q);
  double r = round_q(s, e, clamped);
  mpq_clear(e);
  return r;
}

/* An output whose value, in the limit where every group below the top one
 * vanishes (e_G -> 0), is a rational R, approached from the side sign:
 * value = R + side * (something > 0 and first order in the e_G).  Derived
 * from the formulas (c = size of the top group, T = sum of the others'
 * e_j > 0):
 *   log_softmax d_i - log1p(T): R = d_i, -     logsumexp z_k + log1p(T): R = z_k, +
 *   cross_entropy log1p(T) - d_t: R = -d_t, +
 *   softmax, ce_grad i != t: top R = 1/c (/tau), -; other R = 0, +
 *   ce_grad t: top R = (1/c - 1)/tau, -; other R = -1/tau, +
 *   log_softmax_vjp: top R = (dy_i - D/c)/tau, sign(D); other R = dy_i/tau, -sign(D)
 *   softmax_vjp: top R = c_top/(c^2 tau), c_top = c dy_i - sum_top dy, side
 *     sign(sum_G e_G (c_G - 2 c_top |G| / c)), c_G = |G| dy_i - sum_G dy;
 *     other: R = 0, side sign(c_top).
 * Returns the side (0: unknown) and R in q. */
static int limit_side(const vec *v, size_t o, mpq_t q, mpfr_prec_t P) {
  size_t n = v->n, k = (size_t)-1, c = 0, nact = 0;
  for (size_t j = 0; j < n; j++)
    if (!v->masked[j] && (k == (size_t)-1 || v->x[j] > v->x[k])) k = j;
  for (size_t j = 0; j < n; j++)
    if (!v->masked[j]) nact++, c += v->x[j] == v->x[k];
  if (c == nact) return 0; /* no lower group: not this case */
  int top = o < n && !v->masked[o] && v->x[o] == v->x[k];
  int side = 0;
  mpq_t t, tau, D, st;
  mpq_inits(t, tau, D, st, (mpq_ptr)0);
  mpq_set_d(tau, v->tau);
  for (size_t j = 0; j < n; j++) mpq_set_d(t, v->dy[j]), mpq_add(D, D, t);
  switch (v->f) {
  case ORACLE_LOG_SOFTMAX:
  case ORACLE_CROSS_ENTROPY: {
    size_t i = v->f == ORACLE_LOG_SOFTMAX ? o : (size_t)v->t;
    mpq_set_d(q, v->x[i]);
    mpq_set_d(t, v->x[k]);
    mpq_sub(q, q, t);
    mpq_set_d(t, v->scale);
    mpq_mul(q, q, t);
    mpq_div(q, q, tau);
    if (v->f == ORACLE_CROSS_ENTROPY) mpq_neg(q, q), side = 1;
    else side = -1;
    break;
  }
  case ORACLE_LOGSUMEXP:
    mpq_set_d(q, v->x[k]);
    mpq_set_d(t, v->scale);
    mpq_mul(q, q, t);
    mpq_div(q, q, tau);
    side = 1;
    break;
  case ORACLE_SOFTMAX:
  case ORACLE_CROSS_ENTROPY_GRAD:
    if (v->f == ORACLE_CROSS_ENTROPY_GRAD && o == (size_t)v->t) {
      if (top) mpq_set_ui(q, 1, c), mpq_set_ui(t, 1, 1), mpq_sub(q, q, t), side = -1;
      else mpq_set_si(q, -1, 1), side = 1;
    } else if (top) mpq_set_ui(q, 1, c), side = -1;
    else mpq_set_ui(q, 0, 1), side = 1;
    if (v->f == ORACLE_CROSS_ENTROPY_GRAD) mpq_div(q, q, tau);
    break;
  case ORACLE_LOG_SOFTMAX_VJP:
    mpq_set_d(q, v->dy[o]);
    if (top) mpq_set_ui(t, 1, c), mpq_mul(t, t, D), mpq_sub(q, q, t);
    mpq_div(q, q, tau);
    side = top ? mpq_sgn(D) : -mpq_sgn(D);
    break;
  case ORACLE_SOFTMAX_VJP: {
    /* c_top = c dy_i - sum_top dy */
    mpq_set_ui(st, 0, 1);
    for (size_t j = 0; j < n; j++)
      if (!v->masked[j] && v->x[j] == v->x[k]) mpq_set_d(t, v->dy[j]), mpq_add(st, st, t);
    mpq_set_d(t, v->dy[o]);
    mpq_set_ui(q, c, 1);
    mpq_mul(t, t, q);
    mpq_sub(st, t, st); /* c_top */
    if (!top) { mpq_set_ui(q, 0, 1); side = mpq_sgn(st); break; }
    mpq_set(q, st);
    mpq_set_ui(t, c, 1);
    mpq_div(q, q, t);
    mpq_div(q, q, t);
    mpq_div(q, q, tau);
    /* side: sign of sum over lower groups G of e_G (c_G - 2 c_top |G| / c) */
    mpfr_t sum, e, w;
    mpfr_inits2(P, sum, e, w, (mpfr_ptr)0);
    mpfr_set_zero(sum, 1);
    mpq_t cg, m;
    mpq_inits(cg, m, (mpq_ptr)0);
    unsigned char *seen = calloc(n, 1);
    for (size_t a = 0; a < n; a++) {
      if (v->masked[a] || seen[a] || v->x[a] == v->x[k]) continue;
      size_t gs = 0;
      mpq_set_ui(cg, 0, 1);
      for (size_t b = a; b < n; b++)
        if (!v->masked[b] && v->x[b] == v->x[a]) {
          seen[b] = 1, gs++;
          mpq_set_d(m, v->dy[b]), mpq_sub(cg, cg, m);
        }
      mpq_set_d(m, v->dy[o]);
      mpq_set_ui(t, gs, 1);
      mpq_mul(m, m, t);
      mpq_add(cg, cg, m);             /* c_G = |G| dy_i - sum_G dy */
      mpq_mul(m, st, t);
      mpq_set_ui(t, 2, c);
      mpq_mul(m, m, t);
      mpq_sub(cg, cg, m);             /* w_G */
      mpfr_set_d(e, v->x[a], MPFR_RNDN);
      mpfr_sub_d(e, e, v->x[k], MPFR_RNDN);
      mpfr_mul_d(e, e, v->scale, MPFR_RNDN);
      mpfr_div_d(e, e, v->tau, MPFR_RNDN);
      mpfr_exp(e, e, MPFR_RNDN);
      mpfr_set_q(w, cg, MPFR_RNDN);
      mpfr_mul(w, w, e, MPFR_RNDN);
      mpfr_add(sum, sum, w, MPFR_RNDN);
    }
    side = mpfr_sgn(sum);
    free(seen);
    mpq_clears(cg, m, (mpq_ptr)0);
    mpfr_clears(sum, e, w, (mpfr_ptr)0);
    break;
  }
  default: break;
  }
  mpq_clears(t, tau, D, st, (mpq_ptr)0);
  return side;
}

static void run_vec(const vec *v) {
  size_t n = v->n, nout = oracle_noutputs(v->f, n);
  double *out = malloc(nout * sizeof *out);
  oracle_xval *xv = malloc(nout * sizeof *xv);
  for (size_t o = 0; o < nout; o++) out[o] = 12345.0;
  oracle_params prm = {v->tau, v->scale, v->masked, v->dy, v->t};
  wide_range();
  int ret = oracle_eval(v->f, v->fs->f, n, v->x, &prm, out, xv, &stats);
  if (v->fs->fixed && is_grad(v->f)) {
    int untouched = 1;
    for (size_t o = 0; o < nout; o++) untouched &= out[o] == 12345.0;
    if (ret == -1 && untouched) npass++;
    else FAILV(v, "returned %d (outputs %s), want -1 with nothing written", ret,
               untouched ? "untouched" : "written");
    free(out), free(xv);
    return;
  }
  if (v->fs->fixed && v->f == ORACLE_CROSS_ENTROPY && ret == -1) {
    /* oracle.h and the CLI treat cross_entropy as undefined on fixed point,
     * SEMANTICS.md defines it (+inf -> kmax): accept a refusal, check values
     * if given */
    nce_fixed_refused++;
    free(out), free(xv);
    return;
  }
  if (ret != 0) FAILV(v, "returned %d, want 0 (outputs still compared)", ret);
  else npass++;

  /* the reference: rational outputs exactly */
  size_t c = 0, k0 = (size_t)-1;
  int one_group = 1;
  for (size_t j = 0; j < n; j++)
    if (!v->masked[j]) {
      if (k0 == (size_t)-1) k0 = j;
      else if (v->x[j] != v->x[k0]) one_group = 0;
      c++;
    }
  mpq_t D, gmean, s, q;
  mpq_inits(D, gmean, s, q, (mpq_ptr)0);
  for (size_t j = 0; j < n; j++) mpq_set_d(q, v->dy[j]), mpq_add(D, D, q);
  /* softmax_vjp: does every group of equal active inputs have one mean dy? */
  int groups_same = 0;
  if (v->f == ORACLE_SOFTMAX_VJP) {
    groups_same = 1;
    unsigned char *seen = calloc(n, 1);
    int first = 1;
    for (size_t a = 0; a < n && groups_same; a++) {
      if (v->masked[a] || seen[a]) continue;
      mpq_set_ui(s, 0, 1);
      size_t cnt = 0;
      for (size_t b = a; b < n; b++)
        if (!v->masked[b] && v->x[b] == v->x[a]) {
          seen[b] = 1, cnt++;
          mpq_set_d(q, v->dy[b]), mpq_add(s, s, q);
        }
      mpq_set_ui(q, 1, cnt);
      mpq_mul(s, s, q);
      if (first) mpq_set(gmean, s), first = 0;
      else groups_same = mpq_equal(gmean, s);
    }
    free(seen);
  }
  refout *R = malloc(nout * sizeof *R);
  refdec *Z = malloc(nout * sizeof *Z);
  size_t undecided = 0;
  for (size_t o = 0; o < nout; o++) {
    refout *r = &R[o];
    refdec *z = &Z[o];
    r->kind = R_APPROX;
    mpq_init(r->q);
    mpfr_inits2(P1, r->v1, r->v2, (mpfr_ptr)0);
    mpfr_inits2(PX, z->lo, z->hi, (mpfr_ptr)0);
    z->decided = z->clamped = z->exact_inf = 0;
    rational_out(v, o, r, c, one_group, D, groups_same, gmean);
    if (r->kind == R_INF) {
      z->want = round_inf(v->fs, r->infsign, &z->clamped);
      z->exact_inf = z->decided = 1;
    } else if (r->kind == R_RATIONAL) {
      nrational++;
      z->want = round_q(v->fs, r->q, &z->clamped);
      mpfr_set_q(z->lo, r->q, MPFR_RNDD);
      mpfr_set_q(z->hi, r->q, MPFR_RNDU);
      z->decided = 1;
    } else undecided++;
  }
  /* the others naively, at 2000/2400 bits, then 6000/6400, 18000/18400.
   * The error of the higher-precision value is estimated as its distance to
   * the lower one times 2^-(400 - 50); it must be below 2^-1900 relative
   * (the value has at least 1900 good bits), and the value +- that error
   * (at least 2^-(p1 - 100)) must round to one result: otherwise the output
   * is too close to a rounding boundary at this precision */
  mpfr_t w;
  mpfr_init2(w, 64);
  for (mpfr_prec_t p1 = P1; undecided && p1 <= 9 * P1; p1 *= 3) {
    mpfr_prec_t p2 = p1 + (P2 - P1);
    for (size_t o = 0; o < nout; o++)
      if (!Z[o].decided) mpfr_set_prec(R[o].v1, p1), mpfr_set_prec(R[o].v2, p2);
    naive(v, R, p1, 0, Z);
    naive(v, R, p2, 1, Z);
    for (size_t o = 0; o < nout; o++) {
      refout *r = &R[o];
      refdec *z = &Z[o];
      if (z->decided) continue;
      if (mpfr_zero_p(r->v2) || !mpfr_number_p(r->v2)) continue;
      long env = -(long)p1 + 100; /* log2 of the relative error of v2 */
      mpfr_sub(w, r->v1, r->v2, MPFR_RNDN);
      mpfr_div(w, w, r->v2, MPFR_RNDN);
      if (!mpfr_zero_p(w)) {
        long acc = (long)mpfr_get_exp(w) - (long)(p2 - p1) + 50;
        if (acc > env) env = acc;
      }
      if (env > CLOSE) continue;
      mpfr_set_prec(z->lo, p2 + 64), mpfr_set_prec(z->hi, p2 + 64);
      mpfr_abs(z->hi, r->v2, MPFR_RNDN);
      mpfr_mul_2si(z->hi, z->hi, env, MPFR_RNDU);
      mpfr_sub(z->lo, r->v2, z->hi, MPFR_RNDD);
      mpfr_add(z->hi, r->v2, z->hi, MPFR_RNDU);
      int c1, c2;
      double a = round_mpfr(v->fs, z->lo, &c1), b = round_mpfr(v->fs, z->hi, &c2);
      if (!same(a, b)) continue;
      z->want = a, z->clamped = c1 || c2, z->decided = 1;
      undecided--;
    }
  }
  /* still undecided: a rational limit approached from a known side, with
   * the rest of the value below what 18000 bits can see */
  for (size_t o = 0; o < nout && undecided; o++) {
    refout *r = &R[o];
    refdec *z = &Z[o];
    if (z->decided) continue;
    int side = limit_side(v, o, q, mpfr_get_prec(r->v2));
    if (side != 0 && mpfr_number_p(r->v2)) {
      /* the limit must agree with the naive value to all the digits the
       * last precision carries: |v2 - R| <= 2^-(p1 - 100) |v2| */
      mpfr_prec_t pz = mpfr_get_prec(r->v2) + 64;
      mpfr_set_prec(z->lo, pz), mpfr_set_prec(z->hi, pz);
      mpfr_set_q(z->lo, q, MPFR_RNDN);
      mpfr_sub(z->lo, r->v2, z->lo, MPFR_RNDN);
      mpfr_abs(z->lo, z->lo, MPFR_RNDN);
      mpfr_abs(z->hi, r->v2, MPFR_RNDN);
      mpfr_mul_2si(z->hi, z->hi, -(long)mpfr_get_prec(r->v1) + 100, MPFR_RNDU);
      if (mpfr_lessequal_p(z->lo, z->hi) || (mpfr_zero_p(r->v2) && mpq_sgn(q) == 0)) {
        /* [lo, hi] = [R, R + 2 slack] on the side */
        mpfr_mul_2ui(z->hi, z->hi, 1, MPFR_RNDU);
        mpfr_set_prec(w, pz);
        mpfr_set_q(w, q, side > 0 ? MPFR_RNDD : MPFR_RNDU);
        if (side > 0) mpfr_set(z->lo, w, MPFR_RNDD), mpfr_add(z->hi, w, z->hi, MPFR_RNDU);
        else mpfr_sub(z->lo, w, z->hi, MPFR_RNDD), mpfr_set(z->hi, w, MPFR_RNDU);
        mpfr_set_prec(w, 64);
        z->want = round_beside(v->fs, q, side, &z->clamped);
        z->decided = 1;
        undecided--;
        nlimit++;
        continue;
      }
    }
    ntooclose++;
    printf("NOTE too close to call, skipped: oracle_eval ");
    print_vec(v, stdout);
    mpfr_printf(": output %zu ~ %.30Rg\n", o, r->v2);
  }
  mpfr_clear(w);

  for (size_t o = 0; o < nout; o++) {
    refdec *z = &Z[o];
    if (!z->decided) continue;
    if (same(out[o], z->want)) npass++;
    else FAILV(v, "output %zu = %a, want %a", o, out[o], z->want);
    /* the exact-value record */
    if (z->exact_inf) {
      if (isinf(xv[o].hi) && (xv[o].hi > 0) == (R[o].infsign > 0)) npass++;
      else FAILV(v, "output %zu: exact record (%a + %a) 2^%ld, want %s", o, xv[o].hi, xv[o].lo,
                 xv[o].e, R[o].infsign > 0 ? "+inf" : "-inf");
      continue;
    }
    if (isfinite(xv[o].hi) && isfinite(xv[o].err) && xval_ok(&xv[o], z->lo, z->hi)) npass++;
    else FAILV(v, "output %zu: exact record (%a + %a) 2^%ld +- %a 2^%ld does not hold the exact value",
               o, xv[o].hi, xv[o].lo, xv[o].e, xv[o].err, xv[o].e);
    /* ulp error of the correctly rounded value: <= 1/2 unless it overflowed
     * or saturated */
    if (!z->clamped) {
      double unc = -1, ue = oracle_ulp_error(v->fs->f, out[o], &xv[o], &unc);
      if (ue <= 0.5 + unc && unc >= 0 && unc < 0.001) npass++;
      else if (!(unc >= 0 && unc < 0.001))
        FAILV(v, "output %zu = %a: exact record (%a + %a) 2^%ld +- %a 2^%ld leaves an uncertainty "
              "of %.3g ulp, want < 0.001", o, out[o], xv[o].hi, xv[o].lo, xv[o].e, xv[o].err,
              xv[o].e, unc);
      else FAILV(v, "output %zu = %a: oracle_ulp_error %.6g ulp (uncertainty %.3g), want <= 0.5", o,
                 out[o], ue, unc);
    }
  }
  for (size_t o = 0; o < nout; o++) {
    mpq_clear(R[o].q);
    mpfr_clears(R[o].v1, R[o].v2, Z[o].lo, Z[o].hi, (mpfr_ptr)0);
  }
  free(R), free(Z);
  mpq_clears(D, gmean, s, q, (mpq_ptr)0);
  free(out), free(xv);
}

/* ---- vector families ------------------------------------------------------ */
static const char *const FLOAT_FAM[] = {"normal1", "normal10", "normal100", "spread",
                                        "exp-underflow", "overflow", "ties-at-max",
                                        "all-equal", "small-int", "subnormal"};
#define NFLOAT_FAM (sizeof FLOAT_FAM / sizeof FLOAT_FAM[0])
static const char *const FIXED_FAM[] = {"int8", "int8-small", "int8-extreme", "all-equal",
                                        "ties-at-max"};
#define NFIXED_FAM (sizeof FIXED_FAM / sizeof FIXED_FAM[0])

/* -ln of the smallest subnormal / smallest normal of each float format, and
 * the fast path's own cut-offs */
static const double THRESH[] = {745.1332191019412, 744.44, 708.3964185322641, 103.27892990343184,
                                87.33654475055310, 92.1, 16.635532333438686, 17.33,
                                9.704060527839234, 1e6, 665.42, 1.0e6 + 1};

static void gen_float(vec *v, int fam) {
  const fmt_spec *s = v->fs;
  size_t n = v->n;
  double M = fmt_max(s);
  double lim = M / 4 < 1e13 ? M / 4 : 1e13; /* keeps |z| spreads < 1e15 */
  for (size_t i = 0; i < n; i++) {
    double x;
    switch (fam) {
    case 0: x = gauss(); break;
    case 1: x = 10 * gauss(); break;
    case 2: x = 100 * gauss(); break;
    case 3: x = ldexp(1 + rnd01(), (int)rndint(-30, 44)) * ((rnd64() & 1) ? 1 : -1);
      if (fabs(x) > lim) x = x > 0 ? lim : -lim;
      break;
    case 4: { /* x_max - x_j = threshold * tau / scale, +- a little */
      double T = THRESH[rnd64() % (sizeof THRESH / sizeof THRESH[0])];
      x = i == 0 ? 0 : -(T + ldexp(rnd01() - 0.5, -(int)rndint(0, 30))) * v->tau / v->scale;
      if (i > 0 && rnd64() % 3 == 0) x = -rnd01() * 20;
      if (fabs(x) > M) x = -M;
      break;
    }
    case 5: /* near the largest value: logsumexp overflow, huge z.  Only
             * binary16 can hold two different values there whose e^(z - max)
             * MPFR can still represent; wider formats get one group */
      x = M * (1 - ldexp(rnd01(), -(int)rndint(0, 12)));
      if (s->emax > 15 && i > 0) x = v->x[0];
      else if (rnd64() % 4 == 0) x = -x;
      break;
    case 6: x = i % 3 == 0 ? 5.0 : 5.0 - 10 * rnd01(); break; /* several at the max */
    case 7: x = 0; break;                                      /* set below */
    case 8: x = (double)rndint(-3, 3); break;
    default: x = ldexp(gauss(), s->emin - (int)rndint(0, s->p)); break; /* subnormal */
    }
    v->x[i] = fam == 5 && s->emax > 15 && i > 0 ? x : to_format(s, x);
  }
  if (fam == 7) {
    double x = to_format(s, 10 * gauss());
    if (rnd64() % 4 == 0) x = to_format(s, M * 0.999);
    for (size_t i = 0; i < n; i++) v->x[i] = x;
  }
  if (fam == 6 && rnd64() % 2) { /* shuffle the max around */
    for (size_t i = n; i > 1; i--) {
      size_t j = (size_t)rndint(0, (long)i - 1);
      double t = v->x[i - 1];
      v->x[i - 1] = v->x[j], v->x[j] = t;
    }
  }
}

static void gen_fixed(vec *v, int fam) {
  for (size_t i = 0; i < v->n; i++) {
    long x;
    switch (fam) {
    case 0: x = rndint(-128, 127); break;
    case 1: x = rndint(-4, 4); break;
    case 2: { static const long ex[] = {-128, -127, 127, 126, 0}; x = ex[rnd64() % 5]; break; }
    case 3: x = 0; break;
    default: x = i % 2 ? 100 : rndint(-128, 100); break;
    }
    v->x[i] = (double)x;
  }
  if (fam == 3) {
    double x = (double)rndint(-128, 127);
    for (size_t i = 0; i < v->n; i++) v->x[i] = x;
  }
}

static void gen_dy(vec *v) {
  const fmt_spec *s = v->fs;
  size_t n = v->n;
  int kind = (int)rndint(0, 5);
  double cst = to_format(s, gauss());
  for (size_t i = 0; i < n; i++) {
    double d;
    switch (kind) {
    case 0: case 1: d = gauss(); break;
    case 2: d = cst; break;                                   /* softmax_vjp: zeros */
    case 3: d = i % 2 ? -v->dy[i - 1] : gauss(); break;      /* sum 0 if n even */
    case 4: d = i == 0 ? 1.0 : 0.0; break;                    /* one-hot */
    default: d = (double)rndint(-2, 2); break;
    }
    v->dy[i] = to_format(s, d);
  }
  if (kind == 3 && n % 2) v->dy[n - 1] = 0;
}

/* hand-picked: values astronomically close to a rounding boundary that is
 * a rational limit of the formula (decided by limit_side), and near ties */
typedef struct {
  oracle_func f;
  const oracle_format *fmt;
  size_t n;
  double x[4], dy[4], tau, scale;
  long t;
  const char *why;
} hard;
static const hard HARD[] = {
    {ORACLE_LOG_SOFTMAX, &oracle_bfloat16, 2, {0, -0x1.01p8}, {0}, 1, 1, 0,
     "d = -257 is a bfloat16 tie, minus log1p(e^-257)"},
    {ORACLE_LOG_SOFTMAX, &oracle_bfloat16, 2, {0, -0x1.01p11}, {0}, 1, 1, 0,
     "tie -2056 minus e^-2056"},
    {ORACLE_CROSS_ENTROPY, &oracle_bfloat16, 2, {0, -0x1.01p8}, {0}, 1, 1, 1,
     "257 + log1p(e^-257): just above a tie"},
    {ORACLE_LOGSUMEXP, &oracle_binary16, 2, {0x1p-24, -60000}, {0}, 1, 0.5, 0,
     "z = 2^-25 (half the least subnormal) plus e^-30000"},
    {ORACLE_LOG_SOFTMAX_VJP, &oracle_binary16, 3, {0, -60000, -60000}, {0.5, 2048, 3}, 1, 1, 0,
     "(dy_0 - D) = -2051 is a tie, plus e^-60000 D"},
    {ORACLE_SOFTMAX_VJP, &oracle_binary16, 3, {0, 0, -2000}, {1 + 0x1p-10, -1, -2}, 1, 1, 0,
     "top group value (a - b)/4 is a tie, perturbed by e^-2000 (Ziv can climb)"},
    {ORACLE_SOFTMAX_VJP, &oracle_binary16, 3, {0, 0, -60000}, {1 + 0x1p-10, -1, -2}, 1, 1, 0,
     "the same tie perturbed by e^-60000 (no precision reaches it)"},
    {ORACLE_SOFTMAX_VJP, &oracle_binary16, 3, {0, 0, -60000}, {1 + 0x1p-10, -1, 0.5}, 1, 1, 0,
     "the same, perturbed from the other side"},
    {ORACLE_SOFTMAX, &oracle_binary64, 2, {0, 0x1p-1074}, {0}, 1, 1, 0,
     "1/2 - 2^-1076: Ziv to ~1100 bits"},
    {ORACLE_SOFTMAX, &oracle_binary16, 3, {0, 0, -60000}, {0}, 1, 1, 0,
     "1/2 - e^-60000: the rational 1/2 is representable"},
    {ORACLE_CROSS_ENTROPY_GRAD, &oracle_binary32, 3, {5, 5, -1e9}, {0}, 1, 1, 0,
     "(1/2 - 1) - tiny at the target"},
    {ORACLE_SOFTMAX_VJP, &oracle_binary64, 2, {-0x1.34473d0299a07p+6, 0x1.067cd10a6b6e6p+3},
     {-0x1.d71768a8d7ab3p-2, 0x1.d71768a8d7ab3p-2}, 3, 1, 0,
     "dy_k - g cancels: the fast path's bound must stay below 0.001 ulp"},
    /* fast.c tiny_by_exponents: x_j - x_k beyond 2^900 or overflowing */
    {ORACLE_SOFTMAX, &oracle_binary64, 3, {0x1p1023, -0x1p1023, 1}, {0}, 1, 1, 0,
     "x_j - x_k overflows: e_j tiny by exponents"},
    {ORACLE_SOFTMAX, &oracle_binary64, 3, {0x1p1000, 0x1p1000 - 0x1p948, -0x1p950}, {0}, 0x1p30, 1, 0,
     "|d| beyond 2^900 at tau 2^30: tiny by exponents"},
    {ORACLE_SOFTMAX, &oracle_binary64, 2, {0x1p1000, -0x1p1000}, {0}, 0x1p899, 1, 0,
     "x_j - x_k = -2^1001 but tau 2^899: d = -4, not tiny (Ziv)"},
    {ORACLE_CROSS_ENTROPY_GRAD, &oracle_binary64, 3, {1e308, -1e308, 1e308}, {0}, 1, 1, 2,
     "target at the max, tiny e_1 by exponents"},
    {ORACLE_CROSS_ENTROPY_GRAD, &oracle_binary32, 3, {0x1p127, -0x1p127, 0x1p127}, {0}, 1, 1, 1,
     "target tiny (e^(-2^128))"},
    {ORACLE_CROSS_ENTROPY, &oracle_binary64, 3, {1e308, -1e308, 0.5}, {0}, 1, 1, 1,
     "d_t read by the output: not settled by exponents"},
    {ORACLE_LOGSUMEXP, &oracle_binary64, 3, {0x1.8p1000, -1e308, 0x1p1000}, {0}, 4, 1, 0,
     "logsumexp: one tiny term by exponents"},
    {ORACLE_SOFTMAX_VJP, &oracle_binary64, 3, {1e308, -1e308, 1e308 - 0x1p971}, {0.5, 3, -1}, 0x1p-10, 1, 0,
     "softmax_vjp with a tiny e_j by exponents"},
    {ORACLE_LOG_SOFTMAX_VJP, &oracle_binary32, 3, {0x1p126, -0x1p126, 0}, {0.5, 3, -1}, 1, 1, 0,
     "log_softmax_vjp with a tiny e_j (dy_j read, e_j not)"},
};

int main(void) {
  wide_range();
  /* reproducible by default; TEST_SEED / TEST_NVEC explore further */
  long nvec = NVEC;
  if (getenv("TEST_SEED")) rng_state = strtoull(getenv("TEST_SEED"), NULL, 0);
  if (getenv("TEST_NVEC")) nvec = strtol(getenv("TEST_NVEC"), NULL, 0);
  if (getenv("TEST_SEED") || getenv("TEST_NVEC"))
    printf("seed %#llx, %ld vectors\n", (unsigned long long)rng_state, nvec);
  for (size_t h = 0; h < sizeof HARD / sizeof HARD[0]; h++) {
    const hard *c = &HARD[h];
    vec v;
    memset(&v, 0, sizeof v);
    for (size_t i = 0; i < NFMT; i++)
      if (FMTS[i].f == c->fmt) v.fs = &FMTS[i];
    unsigned char masked[4] = {0};
    double x[4], dy[4];
    memcpy(x, c->x, sizeof x), memcpy(dy, c->dy, sizeof dy);
    v.f = c->f, v.n = c->n, v.x = x, v.dy = dy, v.masked = masked;
    v.tau = c->tau, v.scale = c->scale, v.t = c->t, v.family = c->why;
    run_vec(&v);
  }
  static const double TAUS[] = {1, 0.5, 3, 0.1};
  static const oracle_func FIXED_FUNCS[] = {ORACLE_SOFTMAX, ORACLE_LOG_SOFTMAX, ORACLE_LOGSUMEXP,
                                            ORACLE_CROSS_ENTROPY};
  for (long iv = 0; iv < nvec; iv++) {
    vec v;
    memset(&v, 0, sizeof v);
    v.fs = &FMTS[(size_t)iv % NFMT];
    int fixed = v.fs->fixed;
    if (fixed) {
      v.f = rnd64() % 10 == 0 ? (oracle_func)(ORACLE_SOFTMAX_VJP + rnd64() % 2)
                              : FIXED_FUNCS[(iv / NFMT) % 4];
      if (rnd64() % 20 == 0) v.f = ORACLE_CROSS_ENTROPY_GRAD;
    } else {
      v.f = (oracle_func)((iv / NFMT) % ORACLE_NFUNCS);
    }
    uint64_t r = rnd64() % 100;
    size_t n = r < 5 ? (size_t)rndint(1, 2)
             : r < 85 ? (size_t)rndint(1, 19)
             : r < 97 ? (size_t)rndint(20, 80)
                      : (size_t)rndint(81, is_vjp(v.f) ? NMAX_VJP : 300);
    v.n = n;
    v.x = calloc(n, sizeof *v.x);
    v.dy = calloc(n, sizeof *v.dy);
    v.masked = calloc(n, 1);
    v.tau = TAUS[rnd64() % 4];
    if (fixed) {
      v.scale = (rnd64() & 1) ? 0.0625 : 0.1;
      int fam = (int)(rnd64() % NFIXED_FAM);
      v.family = FIXED_FAM[fam];
      gen_fixed(&v, fam);
    } else {
      v.scale = rnd64() % 8 == 0 ? 0.1 : 1;
      int fam = (int)(rnd64() % NFLOAT_FAM);
      v.family = FLOAT_FAM[fam];
      gen_float(&v, fam);
      if (is_vjp(v.f)) gen_dy(&v);
    }
    /* masked slots in a quarter of the vectors; at least one active slot */
    if (rnd64() % 4 == 0)
      for (size_t i = 0; i < n; i++) v.masked[i] = rnd64() % 3 == 0;
    size_t act = 0;
    for (size_t i = 0; i < n; i++) act += !v.masked[i];
    if (act == 0) v.masked[rndint(0, (long)n - 1)] = 0;
    v.t = rndint(0, (long)n - 1);
    if (rnd64() % 3 == 0) { /* the target at the max */
      size_t k = (size_t)-1;
      for (size_t j = 0; j < n; j++)
        if (!v.masked[j] && (k == (size_t)-1 || v.x[j] > v.x[k])) k = j;
      v.t = (long)k;
    }
    run_vec(&v);
    free(v.x), free(v.dy), free(v.masked);
  }
  printf("oracle stats: %lu outputs, %lu special, %lu exact, %lu fast, %lu ziv, "
         "%lu unresolved, max precision %lu bits\n",
         stats.outputs, stats.special, stats.exact, stats.fast, stats.ziv, stats.unresolved,
         stats.max_prec);
  printf("reference: %ld rational outputs, %ld decided from a rational limit and its side, "
         "%ld too close to call (skipped); %ld fixed-point cross_entropy calls refused\n",
         nrational, nlimit, ntooclose, nce_fixed_refused);
  oracle_cleanup();
  mpfr_free_cache();
  printf("%ld passed, %ld failed\n", npass, nfail);
  return nfail > 0;
}

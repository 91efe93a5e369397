/* search.c -- the worst-case search and its corpus files (search.h).
 *
 * Strategy, per row length n (the budget split evenly over the lengths):
 *  1. seeds: rows of every non-special input family (families.h, which
 *     includes uniform random bit patterns), scored; the best start the
 *     climbers.
 *  2. n <= 3: a Zimmermann-style subdivision of the input space.  Inputs are
 *     addressed by their ordinal (the rank of the value among the format's
 *     finite values, so bisection is over bit patterns, as in Zimmermann's
 *     searches, not over reals); the box of all rows is halved along its
 *     widest side, each half sampled and scored by the largest error seen,
 *     and only the best BOX_KEEP halves go to the next round, until the boxes
 *     are single rows.  It spends the first 40% of the budget.
 *  3. hill climbing: CLIMBERS rows per thread, each mutated (ulp steps,
 *     exponent moves, sign flips, near-ties, moving one element below the
 *     max to stretch the spread, shifting or scaling the row, re-drawing an
 *     element, jittering many) and the mutant kept when its score is not
 *     lower (equal scores let it walk over plateaus).  A climber that has
 *     not improved for a while restarts, from a fresh family row or from a
 *     kept row.
 * The kept rows (top T, at most one per lineage -- the descendants of one
 * start -- so the top is not T copies of one case one ulp apart) are shared
 * between the threads. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include "families.h"
#include "kio.h"
#include "oracle.h"
#include "search.h"
#include "vecio.h"

#define CLIMBERS 4        /* rows climbed per thread                        */
#define BOX_KEEP 8        /* boxes kept per subdivision round               */
#define BOX_SAMPLES 24    /* samples scored per box                         */
#define SEED_ROWS 2       /* rows drawn per family at each seeding          */
#define FIXED_SCALE (1.0 / 16) /* fixed-point input scale, as eval --input */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int is_vjp(smax_func f) { return f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP; }

/* outputs as metrics.c lays them out: cross-entropy n gradients + the loss */
static size_t nouts(smax_func f, size_t n) {
  return f == SMAX_LOGSUMEXP ? 1 : n + (f == SMAX_CROSS_ENTROPY);
}

int search_storable(smax_format f, double v) {
  if (kio_fixed(f)) return v == floor(v) && v >= -128 && v <= 127;
  return v == -INFINITY || (isfinite(v) && kio_round_in(f, v) == v);
}

/* The target eval --input uses: the first entry that is not -inf or NaN. */
static int32_t row_target(const double *x, size_t n) {
  size_t t = 0;
  while (t + 1 < n && (x[t] == -INFINITY || isnan(x[t]))) t++;
  return (int32_t)t;
}

int search_score(const smax_kernel *k, search_row *r) {
  size_t n = r->n, no = nouts(k->func, n), ny = k->func == SMAX_LOGSUMEXP ? 1 : n;
  int fixed = kio_fixed(k->fmt), rc = -1;
  unsigned char *xb = calloc(n + 1, 8), *dyb = calloc(n + 1, 8), *yb = calloc(n + 1, 8);
  unsigned char *lossb = calloc(1, 8), *mask = calloc(n + 1, 1);
  double *want = calloc(no + 1, sizeof *want), *dy0 = calloc(n + 1, sizeof *dy0);
  oracle_xval *xv = calloc(no + 1, sizeof *xv);
  r->err = -1;
  if (!xb || !dyb || !yb || !lossb || !mask || !want || !dy0 || !xv || n == 0) goto out;
  const double *dy = r->dy ? r->dy : dy0;
  for (size_t i = 0; i < n; i++) kio_store_in(k->fmt, xb, i, r->x[i]), kio_store_in(k->fmt, dyb, i, dy[i]);
  int32_t t = row_target(r->x, n);
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = 1, a.n = n, a.x = xb, a.x_stride = n, a.dy = dyb, a.dy_stride = n, a.mask = mask;
  a.mask_stride = n, a.target = &t, a.y = yb, a.y_stride = ny, a.loss = lossb, a.tau = 1;
  a.in_scale = fixed ? FIXED_SCALE : 1, a.threads = 1;
  if (k->run(&a)) goto out;
  const oracle_format *of = kio_oracle_format(k->fmt);
  oracle_params p = {1, a.in_scale, mask, dy, t};
  if (k->func == SMAX_CROSS_ENTROPY) {
    if (oracle_eval(ORACLE_CROSS_ENTROPY_GRAD, of, n, r->x, &p, want, xv, NULL) ||
        oracle_eval(ORACLE_CROSS_ENTROPY, of, n, r->x, &p, want + n, xv + n, NULL))
      goto out;
  } else if (oracle_eval((oracle_func)k->func, of, n, r->x, &p, want, xv, NULL)) {
    goto out;
  }
  double worst = -1;
  for (size_t o = 0; o < no; o++) {
    double got = k->func == SMAX_CROSS_ENTROPY && o == n ? kio_load_out(k->fmt, lossb, 0) : kio_load_out(k->fmt, yb, o);
    double e = kio_error(k->fmt, got, want[o], &xv[o], NULL);
    if (isnan(e)) e = INFINITY;
    if (e > worst) worst = e, r->out = o, r->got = got, r->want = want[o];
  }
  r->err = worst;
  rc = 0;
out:
  free(xb), free(dyb), free(yb), free(lossb), free(mask), free(want), free(dy0), free(xv);
  return rc;
}

static int row_alloc(search_row *r, size_t n, int vjp) {
  memset(r, 0, sizeof *r);
  r->n = n, r->err = -1;
  r->x = calloc(n + 1, sizeof *r->x);
  r->dy = vjp ? calloc(n + 1, sizeof *r->dy) : NULL;
  return !r->x || (vjp && !r->dy) ? -1 : 0;
}

int search_row_copy(search_row *dst, const search_row *r) {
  if (row_alloc(dst, r->n, r->dy != NULL)) { search_row_free(dst); return -1; }
  memcpy(dst->x, r->x, r->n * sizeof *r->x);
  if (r->dy) memcpy(dst->dy, r->dy, r->n * sizeof *r->dy);
  dst->err = r->err, dst->out = r->out, dst->got = r->got, dst->want = r->want, dst->lineage = r->lineage;
  dst->origin = r->origin ? strdup(r->origin) : NULL;
  return 0;
}

void search_row_free(search_row *r) {
  free(r->x), free(r->dy), free(r->origin);
  memset(r, 0, sizeof *r);
}

/* copy the values and score of src into dst (same n, buffers kept) */
static void row_assign(search_row *dst, const search_row *src) {
  memcpy(dst->x, src->x, src->n * sizeof *src->x);
  if (src->dy) memcpy(dst->dy, src->dy, src->n * sizeof *src->dy);
  dst->err = src->err, dst->out = src->out, dst->got = src->got, dst->want = src->want, dst->lineage = src->lineage;
}

/* bitwise equality of the values (the identity used to drop duplicates) */
static int row_same(const search_row *a, const search_row *b) {
  return a->n == b->n && !memcmp(a->x, b->x, a->n * sizeof *a->x) && !a->dy == !b->dy &&
         (!a->dy || !memcmp(a->dy, b->dy, a->n * sizeof *a->dy));
}

/* ---- ordinals: value <-> rank among the format's finite values ---------- */

typedef struct {
  smax_format f;
  int fixed, p, emin;
  int64_t omin, omax; /* ordinal range of the finite values */
  double under;       /* exp underflow threshold of the stored input (> 0) */
} fmtinfo;

static fmtinfo finfo(smax_format f) {
  const oracle_format *o = kio_oracle_format(f);
  fmtinfo F = {f, kio_fixed(f), o->p, o->emin, -128, 127, 0};
  if (!F.fixed) {
    F.omax = (int64_t)(o->emax - o->emin + 2) * ((int64_t)1 << (o->p - 1)) - 1;
    F.omin = -F.omax;
    F.under = -(o->emin - o->p) * M_LN2;
  } else {
    F.under = 6.3 / FIXED_SCALE; /* where e^(q/16) leaves the Q0.15 grid */
  }
  return F;
}

/* The ordinal of a finite value of the format: 0 for +-0, the count of
 * values between; monotone, and one binade is 2^(p-1) ordinals. */
static int64_t to_ord(const fmtinfo *F, double v) {
  if (F->fixed) return (int64_t)v;
  double a = fabs(v);
  int64_t h = (int64_t)1 << (F->p - 1), o;
  if (a < ldexp(1, F->emin)) o = (int64_t)ldexp(a, F->p - 1 - F->emin);
  else {
    int E = ilogb(a);
    o = (int64_t)(E - F->emin + 1) * h + (int64_t)((ldexp(a, -E) - 1) * (double)h);
  }
  return signbit(v) ? -o : o;
}

static double from_ord(const fmtinfo *F, int64_t o) {
  o = o < F->omin ? F->omin : o > F->omax ? F->omax : o;
  if (F->fixed) return (double)o;
  int64_t a = o < 0 ? -o : o, h = (int64_t)1 << (F->p - 1);
  double v = a < h ? ldexp((double)a, F->emin - F->p + 1)
                   : ldexp(1 + (double)(a % h) / (double)h, (int)(a / h - 1 + F->emin));
  return o < 0 ? -v : v;
}

/* v rounded to a finite value of the format (overflow clamps) */
static double fit(const fmtinfo *F, double v) {
  if (isnan(v)) return 0;
  double r = kio_round_in(F->f, v);
  if (isinf(r)) r = from_ord(F, r > 0 ? F->omax : F->omin);
  return r;
}

/* a uniform ordinal in [lo, hi], without signed overflow */
static int64_t ord_in(uint64_t *rng, int64_t lo, int64_t hi) {
  uint64_t w = (uint64_t)hi - (uint64_t)lo;
  uint64_t off = w == UINT64_MAX ? rng_next(rng) : rng_next(rng) % (w + 1);
  return (int64_t)((uint64_t)lo + off);
}

/* ---- shared state ------------------------------------------------------- */

typedef struct {
  const search_opts *o;
  fmtinfo F;
  search_row *pool;     /* the kept rows, at most o->top           */
  size_t npool;
  unsigned long evals;  /* scored rows, all lengths                */
  unsigned long ev0, evlim; /* this length: evals at its start, its budget */
  double t0, tlim;      /* this length: start time, its time budget */
  double best;          /* best score so far                       */
  size_t best_n;
  double last_print;
  int oom;
} ctx;

/* fraction of this length's budget used */
static double used(ctx *C) {
  unsigned long e;
#pragma omp atomic read
  e = C->evals;
  if (C->evlim) return (double)(e - C->ev0) / (double)C->evlim;
  return (now() - C->t0) / C->tlim;
}

static void progress(ctx *C, int final) {
  double t = now();
  if (!C->o->progress || (!final && t - C->last_print < 1)) return;
  C->last_print = t;
  const smax_kernel *k = C->o->k;
  double dt = t - C->t0;
  unsigned long e;
#pragma omp atomic read
  e = C->evals;
  fprintf(stderr, "\r[search %s %s %s] %lu evals, %.0f/s, best ", k->name, smax_func_name(k->func),
          smax_format_name(k->fmt), e, dt > 0 ? (double)(e - C->ev0) / dt : 0.0);
  if (isinf(C->best)) fprintf(stderr, "non-finite (n=%zu)   ", C->best_n);
  else if (C->best >= 0) fprintf(stderr, "%.4g ulps (n=%zu)   ", C->best, C->best_n);
  else fprintf(stderr, "-   ");
  if (final) fputc('\n', stderr);
}

/* Score r, count it, and keep it if it enters the top: one row per lineage
 * (its best), bitwise duplicates dropped. */
static void score(ctx *C, search_row *r) {
  search_score(C->o->k, r);
#pragma omp atomic
  C->evals++;
  if (r->err < 0) return;
#pragma omp critical(search_pool)
  {
    if (r->err > C->best) C->best = r->err, C->best_n = r->n;
    size_t lin = C->npool, slot = C->npool;
    int dup = 0;
    for (size_t i = 0; i < C->npool; i++) {
      if (C->pool[i].lineage == r->lineage) lin = i;
      if (row_same(&C->pool[i], r)) dup = 1;
    }
    if (!dup) {
      if (lin < C->npool) slot = r->err > C->pool[lin].err ? lin : C->o->top;
      else if (C->npool < C->o->top) slot = C->npool;
      else {
        size_t w = 0;
        for (size_t i = 1; i < C->npool; i++) if (C->pool[i].err < C->pool[w].err) w = i;
        slot = r->err > C->pool[w].err ? w : C->o->top;
      }
      if (slot < C->o->top) {
        search_row cp;
        if (search_row_copy(&cp, r)) C->oom = 1;
        else {
          free(cp.origin);
          cp.origin = C->o->origin ? strdup(C->o->origin) : NULL;
          if (slot < C->npool) search_row_free(&C->pool[slot]);
          else C->npool++;
          C->pool[slot] = cp;
        }
      }
    }
    if (omp_get_thread_num() == 0) progress(C, 0);
  }
}

/* ---- moves --------------------------------------------------------------- */

static double row_max(const search_row *r) {
  double m = -INFINITY;
  for (size_t i = 0; i < r->n; i++) m = fmax(m, r->x[i]);
  return m;
}

/* one random move on r (values stay values of the format, finite except
 * existing -inf masks); hint: an index worth moving (the worst output) */
static void mutate(const fmtinfo *F, uint64_t *rng, search_row *r, size_t hint) {
  size_t n = r->n;
  int onx = !r->dy || rng_unif(rng) < 0.7;
  double *v = onx ? r->x : r->dy;
  size_t i = hint < n && rng_unif(rng) < 0.3 ? hint : (size_t)(rng_next(rng) % n);
  int h = F->fixed ? 0 : F->p - 1, move = (int)(rng_next(rng) % 9);
  if (v[i] == -INFINITY) move = 4; /* a masked entry can only come back in */
  if (!onx && (move == 4 || move == 5)) move = 0;
  switch (move) {
  case 0: { /* ulp steps, of a size from 1 to a binade */
    int64_t s = (int64_t)1 << (rng_next(rng) % (uint64_t)(h + 1));
    s = 1 + (int64_t)(rng_next(rng) % (uint64_t)s);
    v[i] = from_ord(F, to_ord(F, v[i]) + (rng_next(rng) & 1 ? s : -s));
    break;
  }
  case 1: { /* exponent field: times 2^(+-1..4) */
    int e = 1 + (int)(rng_next(rng) % 4), up = rng_next(rng) & 1;
    if (F->fixed) v[i] = fit(F, ldexp(v[i], up ? e : -e));
    else {
      int64_t o = to_ord(F, v[i]), d = (int64_t)e << h;
      v[i] = from_ord(F, o + ((o >= 0) == up ? d : -d));
    }
    break;
  }
  case 2: v[i] = fit(F, -v[i]); break; /* sign flip */
  case 3: { /* a near-tie with another element */
    size_t j = (size_t)(rng_next(rng) % n);
    if (isfinite(v[j])) v[i] = from_ord(F, to_ord(F, v[j]) + (int64_t)(rng_next(rng) % 5) - 2);
    break;
  }
  case 4: { /* below the max by up to past the exp underflow: stretches the spread */
    double m = row_max(r);
    if (!isfinite(m)) m = 0;
    v[i] = fit(F, m - rng_unif(rng) * 1.1 * F->under);
    break;
  }
  case 5: { /* shift the row: the rounding of x - max changes with magnitude */
    double c = rng_gauss(rng) * ldexp(1, (int)(rng_next(rng) % 12)) / (F->fixed ? 1 : 8);
    if (F->fixed) c = nearbyint(c);
    for (size_t j = 0; j < n; j++) if (isfinite(r->x[j])) r->x[j] = fit(F, r->x[j] + c);
    break;
  }
  case 6: { /* scale the row by 2^(+-1), or by 1 +- a little */
    double s = rng_next(rng) & 1 ? (rng_next(rng) & 1 ? 2 : 0.5) : 1 + rng_gauss(rng) * 0x1p-6;
    for (size_t j = 0; j < n; j++) if (isfinite(v[j])) v[j] = fit(F, v[j] * s);
    break;
  }
  case 7: { /* jitter many elements by a few ulps: sum roundings line up */
    size_t m = 1 + n / 16;
    for (size_t c = 0; c < m; c++) {
      size_t j = (size_t)(rng_next(rng) % n);
      if (isfinite(v[j])) v[j] = from_ord(F, to_ord(F, v[j]) + (int64_t)(rng_next(rng) % 9) - 4);
    }
    break;
  }
  default: /* re-draw from N(0, s^2), s = 1 .. 1000 */
    v[i] = fit(F, rng_gauss(rng) * pow(10, 3 * rng_unif(rng)) * (F->fixed ? 16 : 1));
    break;
  }
}

/* ---- seeds ----------------------------------------------------------------- */

/* fill r with a row of family fam (masks as -inf; fixed point: none) */
static int family_row(const fmtinfo *F, const family *fam, uint64_t seed, search_row *r) {
  batch b;
  if (batch_make(&b, fam, F->f, r->n, 1, seed, 1.0)) return -1;
  for (size_t i = 0; i < r->n; i++) {
    r->x[i] = b.mask[i] && !F->fixed ? -INFINITY : b.x[i];
    if (!isfinite(r->x[i]) && r->x[i] != -INFINITY) r->x[i] = 0;
    if (r->dy) r->dy[i] = isfinite(b.dy[i]) ? b.dy[i] : 0;
  }
  int any = 0; /* a fully masked row is a special case, not an ulp case */
  for (size_t i = 0; i < r->n; i++) any |= r->x[i] != -INFINITY;
  if (!any) r->x[0] = 0;
  batch_free(&b);
  return 0;
}

static const family *pick_family(uint64_t *rng) {
  size_t nf;
  const family *all = families(&nf);
  for (;;) {
    const family *f = &all[rng_next(rng) % nf];
    if (!f->special) return f;
  }
}

/* ---- phase 2: subdivision for short rows --------------------------------- */

typedef struct {
  int64_t lo[3], hi[3];
  double best;
} box;

static int box_cmp(const void *a, const void *b) {
  double u = ((const box *)a)->best, v = ((const box *)b)->best;
  return (u < v) - (u > v); /* descending */
}

static void subdivide(ctx *C, uint64_t *rng, search_row *r, uint64_t *lineage, double until) {
  const fmtinfo *F = &C->F;
  size_t n = r->n;
  box *cur = malloc(BOX_KEEP * sizeof *cur), *next = malloc(2 * BOX_KEEP * sizeof *next);
  if (!cur || !next) { free(cur), free(next); C->oom = 1; return; }
  while (used(C) < until) {
    size_t nb = 1;
    for (size_t d = 0; d < n; d++) cur[0].lo[d] = F->omin, cur[0].hi[d] = F->omax;
    uint64_t lin = (*lineage)++;
    int points = 0;
    while (!points && used(C) < until) {
      size_t nx = 0;
      for (size_t b = 0; b < nb; b++) { /* halve along the widest side */
        size_t d = 0;
        for (size_t e = 1; e < n; e++)
          if ((uint64_t)cur[b].hi[e] - (uint64_t)cur[b].lo[e] > (uint64_t)cur[b].hi[d] - (uint64_t)cur[b].lo[d]) d = e;
        uint64_t w = (uint64_t)cur[b].hi[d] - (uint64_t)cur[b].lo[d];
        next[nx] = cur[b];
        if (w == 0) { nx++; continue; }
        next[nx + 1] = cur[b];
        next[nx].hi[d] = (int64_t)((uint64_t)cur[b].lo[d] + w / 2);
        next[nx + 1].lo[d] = (int64_t)((uint64_t)cur[b].lo[d] + w / 2 + 1);
        nx += 2;
      }
      for (size_t b = 0; b < nx; b++) { /* score a box by the largest error seen in it */
        next[b].best = -1;
        for (int s = 0; s < BOX_SAMPLES; s++) {
          for (size_t d = 0; d < n; d++) r->x[d] = from_ord(F, ord_in(rng, next[b].lo[d], next[b].hi[d]));
          if (r->dy) for (size_t d = 0; d < n; d++) r->dy[d] = fit(F, rng_gauss(rng));
          r->lineage = lin; /* one lineage per pass: it keeps its best */
          score(C, r);
          /* random tie-break, so equal boxes are kept at random */
          double sc = r->err + 1e-9 * rng_unif(rng);
          if (sc > next[b].best) next[b].best = sc;
        }
      }
      qsort(next, nx, sizeof *next, box_cmp);
      nb = nx < BOX_KEEP ? nx : BOX_KEEP;
      memcpy(cur, next, nb * sizeof *cur);
      points = 1;
      for (size_t b = 0; b < nb; b++)
        for (size_t d = 0; d < n; d++) points &= cur[b].lo[d] == cur[b].hi[d];
    }
  }
  free(cur), free(next);
}

/* ---- phase 3: climbing ---------------------------------------------------- */

/* restart climber c: a fresh family row (new lineage), or a kept row of the
 * same length kicked by a few moves */
static void restart(ctx *C, uint64_t *rng, search_row *c, uint64_t *lineage) {
  int from_pool = 0;
  if (rng_unif(rng) < 0.5) {
#pragma omp critical(search_pool)
    {
      size_t cand = 0, pick = 0;
      for (size_t i = 0; i < C->npool; i++)
        if (C->pool[i].n == c->n && rng_next(rng) % ++cand == 0) pick = i + 1;
      if (pick) row_assign(c, &C->pool[pick - 1]), from_pool = 1;
    }
  }
  if (from_pool) {
    int kicks = 1 + (int)(rng_next(rng) % 3);
    for (int i = 0; i < kicks; i++) mutate(&C->F, rng, c, c->out);
  } else {
    if (family_row(&C->F, pick_family(rng), rng_next(rng), c)) { C->oom = 1; return; }
    c->lineage = (*lineage)++;
  }
  score(C, c);
}

static void climb(ctx *C, uint64_t *rng, search_row *cl, search_row *child, uint64_t *lineage) {
  size_t n = cl[0].n;
  int stall[CLIMBERS] = {0}, limit = 150 + (int)(n < 2000 ? n / 2 : 1000);
  for (unsigned long it = 0; used(C) < 1 && !C->oom; it++) {
    search_row *c = &cl[it % CLIMBERS];
    int *st = &stall[it % CLIMBERS];
    row_assign(child, c);
    mutate(&C->F, rng, child, c->out);
    score(C, child);
    if (child->err >= 0 && child->err >= c->err) {
      *st = child->err > c->err ? 0 : *st + 1;
      row_assign(c, child);
    } else {
      ++*st;
    }
    if (*st > limit) *st = 0, restart(C, rng, c, lineage);
  }
}

/* one thread's search at length n: seeds, subdivision (n <= 3), climbing */
static void search_n(ctx *C, size_t n, uint64_t seed, int tid) {
  int vjp = is_vjp(C->o->k->func);
  uint64_t rng = seed ^ (0x9E3779B97F4A7C15u * (n + 1)) ^ ((uint64_t)tid << 40);
  uint64_t lineage = ((uint64_t)tid << 48) | ((uint64_t)n << 24);
  search_row cl[CLIMBERS], child, tmp;
  int ok = !row_alloc(&child, n, vjp) && !row_alloc(&tmp, n, vjp);
  for (int c = 0; c < CLIMBERS; c++) ok &= !row_alloc(&cl[c], n, vjp);
  if (!ok) { C->oom = 1; goto out; }
  /* 1. seeds: every non-special family; the best CLIMBERS start climbing */
  size_t nf;
  const family *fams = families(&nf);
  for (size_t f = 0; f < nf && used(C) < 1; f++) {
    if (fams[f].special) continue;
    for (int s = 0; s < SEED_ROWS; s++) {
      if (family_row(&C->F, &fams[f], rng_next(&rng), &tmp)) { C->oom = 1; goto out; }
      tmp.lineage = lineage++;
      score(C, &tmp);
      int w = 0; /* replace the weakest climber */
      for (int c = 1; c < CLIMBERS; c++) if (cl[c].err < cl[w].err) w = c;
      if (tmp.err > cl[w].err) row_assign(&cl[w], &tmp);
    }
  }
  for (int c = 0; c < CLIMBERS; c++) /* lengths where no seed scored */
    if (cl[c].err < 0) restart(C, &rng, &cl[c], &lineage);
  /* 2. subdivision of the input space for short rows */
  if (n <= 3) subdivide(C, &rng, &tmp, &lineage, 0.4);
  /* 3. climbing */
  climb(C, &rng, cl, &child, &lineage);
out:
  search_row_free(&child), search_row_free(&tmp);
  for (int c = 0; c < CLIMBERS; c++) search_row_free(&cl[c]);
}

static int row_cmp(const void *a, const void *b) {
  const search_row *u = a, *v = b;
  if (u->err != v->err) return (u->err < v->err) - (u->err > v->err);
  return (u->n > v->n) - (u->n < v->n); /* shorter rows first: easier to read */
}

int search_run(const search_opts *o, search_result *res) {
  memset(res, 0, sizeof *res);
  ctx C;
  memset(&C, 0, sizeof C);
  C.o = o, C.F = finfo(o->k->fmt), C.best = -1;
  C.pool = calloc(o->top + 1, sizeof *C.pool);
  if (!C.pool) return -1;
  double start = now();
  C.last_print = start;
  for (size_t j = 0; j < o->nn && !C.oom; j++) {
    C.ev0 = C.evals, C.t0 = now();
    C.evlim = o->evals ? o->evals / o->nn + (j < o->evals % o->nn) : 0;
    C.tlim = o->seconds / (double)o->nn;
    if (o->evals && !C.evlim) continue;
#pragma omp parallel num_threads(o->threads)
    {
      search_n(&C, o->ns[j], o->seed, omp_get_thread_num());
      oracle_cleanup();
    }
  }
  C.t0 = start, C.ev0 = 0;
  progress(&C, 1);
  res->seconds = now() - start;
  res->evals = C.evals;
  qsort(C.pool, C.npool, sizeof *C.pool, row_cmp);
  res->rows = C.pool, res->nrows = C.npool;
  return C.oom ? -1 : 0;
}

void search_result_free(search_result *res) {
  for (size_t i = 0; i < res->nrows; i++) search_row_free(&res->rows[i]);
  free(res->rows);
  memset(res, 0, sizeof *res);
}

/* ---- corpus files ------------------------------------------------------------ */

void search_corpus_name(const smax_kernel *k, char *buf, size_t len) {
  snprintf(buf, len, "%s-%s-%s.txt", k->name, smax_func_name(k->func), smax_format_name(k->fmt));
}

/* the value of "key=" in a comment line, into out; 1 if found */
static int kv(const char *line, const char *key, char *out, size_t len) {
  size_t kl = strlen(key);
  for (const char *p = line; (p = strstr(p, key)); p++)
    if (p == line || p[-1] == ' ' || p[-1] == '#') {
      p += kl;
      size_t m = strcspn(p, " \t\r\n");
      if (m == 0 || m >= len) return 0;
      memcpy(out, p, m), out[m] = 0;
      return 1;
    }
  return 0;
}

int search_corpus_header(const char *path, corpus_header *h, char *err, size_t errlen) {
  FILE *fp = fopen(path, "r");
  if (!fp) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
  char *line = NULL;
  size_t cap = 0;
  int found = 0;
  while (!found && getline(&line, &cap, fp) >= 0) {
    if (line[strspn(line, " \t")] != '#') continue;
    found = kv(line, "kernel=", h->kernel, sizeof h->kernel) && kv(line, "func=", h->func, sizeof h->func) &&
            kv(line, "format=", h->format, sizeof h->format);
  }
  free(line);
  fclose(fp);
  if (!found) snprintf(err, errlen, "%s: no header line '# kernel=K func=F format=FMT'", path);
  return found ? 0 : -1;
}

/* Rows of an existing corpus file with the command that found each (the
 * "by:" of the comment above the row).  Returns the count, or -1 with err. */
static long read_rows(const char *path, const smax_kernel *k, search_row **out, char *err, size_t errlen) {
  FILE *fp = fopen(path, "r");
  if (!fp) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
  vec_line *v = NULL;
  long nl = vec_read(fp, path, &v, err, errlen);
  if (nl < 0) { fclose(fp); return -1; }
  /* provenance: comment line L-1 "... by: CMD" belongs to the row on line L */
  rewind(fp);
  char *line = NULL, **by = calloc((size_t)nl + 1, sizeof *by);
  size_t cap = 0;
  long lineno = 0, r = 0;
  while (by && getline(&line, &cap, fp) >= 0 && r < nl) {
    lineno++;
    char *b = line[0] == '#' ? strstr(line, " by: ") : NULL;
    while (r < nl && v[r].lineno <= lineno) r++;
    if (b && r < nl && v[r].lineno == lineno + 1) {
      b[5 + strcspn(b + 5, "\r\n")] = 0;
      by[r] = strdup(b + 5);
    }
  }
  free(line);
  fclose(fp);
  search_row *rows = calloc((size_t)nl + 1, sizeof *rows);
  long nr = 0, rc = 0;
  for (long i = 0; i < nl && rows && by && !rc; i++) {
    vec_line *L = &v[i];
    if (L->n == 0) continue;
    if (!L->dy != !is_vjp(k->func) || (L->dy && L->ndy != L->n)) {
      snprintf(err, errlen, "%s:%ld: %s", path, L->lineno,
               is_vjp(k->func) ? "need 'x.. | dy..' with as many dy as x" : "unexpected '|' (not a VJP)");
      rc = -1;
      break;
    }
    for (size_t j = 0; j < L->n && !rc; j++) {
      int xok = search_storable(k->fmt, L->x[j]), dok = !L->dy || (isfinite(L->dy[j]) && search_storable(k->fmt, L->dy[j]));
      if (!xok || !dok) {
        snprintf(err, errlen, "%s:%ld: value %a is not a value of %s", path, L->lineno, !xok ? L->x[j] : L->dy[j],
                 smax_format_name(k->fmt));
        rc = -1;
      }
    }
    if (rc) break;
    search_row *R = &rows[nr];
    if (row_alloc(R, L->n, L->dy != NULL)) { rc = -1; snprintf(err, errlen, "%s: out of memory", path); break; }
    nr++;
    memcpy(R->x, L->x, L->n * sizeof *R->x);
    if (L->dy) memcpy(R->dy, L->dy, L->n * sizeof *R->dy);
    R->origin = by[i], by[i] = NULL;
  }
  if (!rows || !by) { rc = -1; snprintf(err, errlen, "%s: out of memory", path); }
  for (long i = 0; by && i < nl; i++) free(by[i]);
  free(by);
  vec_free(v, nl);
  if (rc) {
    for (long i = 0; i < nr; i++) search_row_free(&rows[i]);
    free(rows);
    return -1;
  }
  *out = rows;
  return nr;
}

static void write_row(FILE *fp, const search_row *r) {
  if (isinf(r->err)) fprintf(fp, "# err=non-finite");
  else fprintf(fp, "# err=%.6g ulps", r->err);
  fprintf(fp, " n=%zu out=%zu got=%a want=%a by: %s\n", r->n, r->out, r->got, r->want,
          r->origin ? r->origin : "(unknown)");
  for (size_t i = 0; i < r->n; i++) fprintf(fp, i ? " %a" : "%a", r->x[i]);
  if (r->dy) fputs(" |", fp);
  for (size_t i = 0; r->dy && i < r->n; i++) fprintf(fp, " %a", r->dy[i]);
  fputc('\n', fp);
}

int search_corpus_merge(const char *dir, const smax_kernel *k, const search_row *rows, size_t nrows,
                        size_t top, long *lines, char *err, size_t errlen) {
  char name[200], path[4096], tmp[4200];
  search_corpus_name(k, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  search_row *all = NULL;
  long nold = 0;
  if (access(path, F_OK) == 0) { /* merge: the file must be this kernel's */
    corpus_header h;
    if (search_corpus_header(path, &h, err, errlen)) return -1;
    if (strcmp(h.kernel, k->name) || strcmp(h.func, smax_func_name(k->func)) ||
        strcmp(h.format, smax_format_name(k->fmt))) {
      snprintf(err, errlen, "%s: holds kernel=%s func=%s format=%s, not %s %s %s", path, h.kernel, h.func,
               h.format, k->name, smax_func_name(k->func), smax_format_name(k->fmt));
      return -1;
    }
    if ((nold = read_rows(path, k, &all, err, errlen)) < 0) return -1;
    for (long i = 0; i < nold; i++) search_score(k, &all[i]); /* re-measured */
  }
  size_t tot = (size_t)nold;
  search_row *m = realloc(all, ((size_t)nold + nrows + 1) * sizeof *m);
  int *fresh = calloc((size_t)nold + nrows + 1, sizeof *fresh);
  int rc = -1;
  if (!m || !fresh) { snprintf(err, errlen, "%s: out of memory", path); goto done; }
  all = m;
  for (size_t i = 0; i < nrows; i++) {
    if (lines) lines[i] = 0;
    size_t j = 0;
    while (j < tot && !row_same(&all[j], &rows[i])) j++;
    if (j < tot) { /* already there: keep the old provenance, mark it found */
      fresh[j] = (int)i + 1;
      continue;
    }
    if (search_row_copy(&all[tot], &rows[i])) { snprintf(err, errlen, "%s: out of memory", path); goto done; }
    fresh[tot++] = (int)i + 1;
  }
  /* sort by score, carrying the fresh marks along */
  for (size_t i = 1; i < tot; i++)
    for (size_t j = i; j > 0 && row_cmp(&all[j - 1], &all[j]) > 0; j--) {
      search_row t = all[j]; all[j] = all[j - 1], all[j - 1] = t;
      int f = fresh[j]; fresh[j] = fresh[j - 1], fresh[j - 1] = f;
    }
  size_t keep = 0; /* rows that no longer score (err < 0) sort last: dropped */
  while (keep < tot && keep < top && all[keep].err >= 0) keep++;
  snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
  int fd = mkstemp(tmp);
  if (fd >= 0) fchmod(fd, 0644); /* mkstemp makes 0600; a corpus file is shared */
  FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!fp) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    if (fd >= 0) close(fd), unlink(tmp);
    goto done;
  }
  fprintf(fp, "# smaxcheck search corpus (harness/search.h): the worst rows found, worst first\n"
              "# kernel=%s func=%s format=%s\n"
              "# replay: smaxcheck eval --kernel %s --func %s --format %s --input FILE --line L\n"
              "# (temperature 1%s); `smaxcheck gate` replays every file of harness/corpus/search/\n",
          k->name, smax_func_name(k->func), smax_format_name(k->fmt), k->name, smax_func_name(k->func),
          smax_format_name(k->fmt), kio_fixed(k->fmt) ? ", int8 inputs at scale 1/16" : "");
  long ln = 4;
  for (size_t i = 0; i < keep; i++) {
    write_row(fp, &all[i]);
    ln += 2;
    if (lines && fresh[i]) lines[fresh[i] - 1] = ln;
  }
  if (fflush(fp) || ferror(fp) || fsync(fileno(fp))) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    fclose(fp), unlink(tmp);
    goto done;
  }
  if (fclose(fp) || rename(tmp, path)) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    unlink(tmp);
    goto done;
  }
  rc = 0;
done:
  for (size_t i = 0; i < tot; i++) search_row_free(&all[i]);
  free(all), free(fresh);
  return rc;
}

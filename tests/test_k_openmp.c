/* test_k_openmp.c -- the online family (impls/online.c) and the OpenMP
 * family (impls/openmp.c: openmp-fast, openmp-det) against the oracle.
 *
 *  1. claims: every kernel on seeded rows (normal sigma 1/10/100, a huge
 *     spread, +-0.9 of the format's largest value, near exp overflow and
 *     underflow, ties, increasing rows, masked slots storing NaN/inf, rows
 *     that begin with masked or -inf entries), n in {1,2,3,7,16,1000} and
 *     rows of 65536, tau in {1, 0.5, 3}, strided rows; every output within
 *     the kernel's own smax_claim of the correctly rounded value, exact
 *     zeros +0 (the declared convention is "reference").
 *  2. special values: the reference of oracle/SEMANTICS.md, output by output
 *     (NaN rows, +inf once and twice, all masked, n = 0, bad dy, masked
 *     cross-entropy target).
 *  3. threads: openmp-fast within its claim for 1..4 threads on rows of
 *     ~200000 and 2^20; openmp-det bitwise identical for threads 1, 2, 3, 4,
 *     0 (and omp_set_num_threads) from n = 1 to 2^20 and for many rows;
 *     threads = 1 starts no thread at all (counted in /proc/self/task).
 *  4. unsupported arguments return nonzero.
 * Failures print kernel, function, format, threads, tau, the row (%a).
 * Ends with "N passed, M failed"; exits nonzero iff M > 0. */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel.h"
#include "oracle.h"

static int npass, nfail;
static uint64_t rng = 20240607;
static double unif(void) {
  rng = rng * 6364136223846793005u + 1442695040888963407u;
  return (double)(rng >> 11) * 0x1p-53;
}
static double gauss(void) {
  double u = unif() + 0x1p-60, v = unif();
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}
static void result(int ok) { ok ? npass++ : nfail++; }

static int is_f32(smax_format f) { return f == SMAX_F32; }
static double to_fmt(smax_format f, double v) { return is_f32(f) ? (double)(float)v : v; }
static const oracle_format *ofmt(smax_format f) { return is_f32(f) ? &oracle_binary32 : &oracle_binary64; }
static double u_of(smax_format f) { return is_f32(f) ? 0x1p-24 : 0x1p-53; }
static int is_vjp(smax_func f) { return f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP; }
static size_t nout(smax_func f, size_t n) { return f == SMAX_LOGSUMEXP ? 1 : n; }

/* ---- batches: rows of doubles (values of the format), strided ---------- */

typedef struct {
  size_t rows, n, xs, ms, ds;
  double tau;
  double *x, *dy;
  unsigned char *mask;
  int32_t *tg;
  const char *what; /* family name, for failure lines */
} batch;

static batch batch_new(size_t rows, size_t n, double tau, const char *what) {
  batch b = {rows, n, n + 3, n + 1, n + 5, tau, NULL, NULL, NULL, NULL, what};
  b.x = calloc(rows * b.xs + 1, sizeof *b.x);
  b.dy = calloc(rows * b.ds + 1, sizeof *b.dy);
  b.mask = calloc(rows * b.ms + 1, 1);
  b.tg = calloc(rows + 1, sizeof *b.tg);
  return b;
}
static void batch_free(batch *b) { free(b->x), free(b->dy), free(b->mask), free(b->tg); }
static double *X(const batch *b, size_t r) { return b->x + r * b->xs; }
static double *DY(const batch *b, size_t r) { return b->dy + r * b->ds; }
static unsigned char *MK(const batch *b, size_t r) { return b->mask + r * b->ms; }

/* a target per row: an unmasked finite slot when there is one */
static void pick_targets(batch *b) {
  for (size_t r = 0; r < b->rows; r++) {
    size_t n = b->n, t = (size_t)(unif() * n);
    for (size_t i = 0; i < n; i++, t = (t + 1) % n)
      if (!MK(b, r)[t] && isfinite(X(b, r)[t])) break;
    b->tg[r] = n ? (int32_t)t : 0;
  }
}

/* ---- running a kernel --------------------------------------------------- */

/* k on b with `threads`; outputs as doubles: out[r * n + o], loss[r] */
static int run(const smax_kernel *k, const batch *b, int threads, double *out, double *loss) {
  size_t es = is_f32(k->fmt) ? 4 : 8, ys = b->n + 2, rows = b->rows;
  unsigned char *x = malloc(rows * b->xs * es + 8), *dy = malloc(rows * b->ds * es + 8),
                *y = malloc(rows * ys * es + 8), *ls = malloc(rows * es + 8);
  for (size_t i = 0; i < rows * b->xs; i++)
    is_f32(k->fmt) ? (void)(((float *)x)[i] = (float)b->x[i]) : (void)(((double *)x)[i] = b->x[i]);
  for (size_t i = 0; i < rows * b->ds; i++)
    is_f32(k->fmt) ? (void)(((float *)dy)[i] = (float)b->dy[i]) : (void)(((double *)dy)[i] = b->dy[i]);
  memset(y, 0x7f, rows * ys * es + 8); /* 0x7f..: a finite non-value, so unwritten slots show */
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = rows, a.n = b->n, a.x = x, a.x_stride = b->xs, a.dy = dy, a.dy_stride = b->ds;
  a.mask = b->mask, a.mask_stride = b->ms, a.target = b->tg, a.y = y;
  a.y_stride = k->func == SMAX_LOGSUMEXP ? 2 : ys, a.loss = ls, a.tau = b->tau;
  a.in_scale = 1, a.threads = threads;
  int rc = k->run(&a);
  size_t no = nout(k->func, b->n);
  for (size_t r = 0; r < rows && !rc; r++) {
    for (size_t o = 0; o < no; o++) {
      size_t i = r * a.y_stride + o;
      out[r * no + o] = is_f32(k->fmt) ? ((float *)y)[i] : ((double *)y)[i];
    }
    if (loss) loss[r] = is_f32(k->fmt) ? ((float *)ls)[r] : ((double *)ls)[r];
  }
  free(x), free(dy), free(y), free(ls);
  return rc;
}

/* ---- the oracle and the judge ------------------------------------------ */

typedef struct { double *want, *lwant; oracle_xval *xv, *lxv; } ref;

static oracle_params params(const batch *b, size_t r) {
  oracle_params p = {b->tau, 1, MK(b, r), DY(b, r), b->tg[r]};
  return p;
}

static ref oracle_batch(smax_func f, smax_format fmt, const batch *b) {
  size_t no = nout(f, b->n), rows = b->rows;
  ref rf = {malloc((rows * no + 1) * sizeof(double)), malloc((rows + 1) * sizeof(double)),
            malloc((rows * no + 1) * sizeof(oracle_xval)), malloc((rows + 1) * sizeof(oracle_xval))};
  oracle_func of = f == SMAX_CROSS_ENTROPY ? ORACLE_CROSS_ENTROPY_GRAD : (oracle_func)f;
  for (size_t r = 0; r < rows; r++) {
    oracle_params p = params(b, r);
    if (oracle_eval(of, ofmt(fmt), b->n, X(b, r), &p, rf.want + r * no, rf.xv + r * no, NULL) != 0)
      printf("note: oracle returned nonzero (%s, n=%zu)\n", oracle_func_name(of), b->n);
    if (f == SMAX_CROSS_ENTROPY)
      oracle_eval(ORACLE_CROSS_ENTROPY, ofmt(fmt), b->n, X(b, r), &p, rf.lwant + r, rf.lxv + r, NULL);
  }
  return rf;
}
static void ref_free(ref *rf) { free(rf->want), free(rf->lwant), free(rf->xv), free(rf->lxv); }

typedef struct {
  const smax_kernel *k;
  double maxulp, maxerr, maxratio; /* largest ulp error; at the worst error/claim */
  const char *at;
  size_t atn;
  double attau;
} kstat;
static kstat stats[64];
static size_t nstats;
static kstat *stat_of(const smax_kernel *k) {
  for (size_t i = 0; i < nstats; i++)
    if (stats[i].k == k) return &stats[i];
  stats[nstats].k = k;
  return &stats[nstats++];
}

static double spread_of(const batch *b, size_t r) {
  double mx = -INFINITY, mn = INFINITY;
  for (size_t i = 0; i < b->n; i++)
    if (!MK(b, r)[i] && isfinite(X(b, r)[i])) mx = fmax(mx, X(b, r)[i]), mn = fmin(mn, X(b, r)[i]);
  return mx > mn ? (mx - mn) / b->tau : 0;
}

/* one output against the reference: NaN/inf by identity, exact zeros +0,
 * finite values within the claim */
static int judge(const smax_kernel *k, double got, double want, const oracle_xval *xv, size_t n,
                 double spread, double *ratio) {
  *ratio = 0;
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  if (!isfinite(got)) return 0;
  if (xv->hi == 0 && xv->lo == 0 && got == 0 && signbit(got)) return 0; /* reference: +0 */
  const oracle_format *of = ofmt(k->fmt);
  double unc, e = oracle_ulp_error(of, got, xv, &unc);
  double ulp = ldexp(1, (int)oracle_ulp_exp(of, xv));
  double allow = k->claim.ulp_const + k->claim.ulp_per_n * (double)n +
                 k->claim.abs_u_per_n * (double)n * u_of(k->fmt) / ulp;
  if (k->claim.ulp_per_spread > 0) allow += k->claim.ulp_per_spread * spread; /* spread may be inf */
  *ratio = e / allow;
  return e <= allow + unc;
}

static void print_vec(const char *name, const double *v, size_t n) {
  printf(" %s=[", name);
  for (size_t i = 0; i < n && i < 24; i++) printf(i ? " %a" : "%a", v[i]);
  printf(n > 24 ? " ...(%zu)]" : "]", n);
}

static void print_fail(const smax_kernel *k, const batch *b, size_t r, size_t o, int threads,
                       double got, double want, const char *why) {
  printf("FAIL %s %s %s threads=%d tau=%a family=%s n=%zu row %zu output %zu%s: got %a want %a",
         k->name, smax_func_name(k->func), smax_format_name(k->fmt), threads, b->tau, b->what,
         b->n, r, o, why, got, want);
  print_vec("x", X(b, r), b->n);
  printf(" mask=[");
  for (size_t i = 0; i < b->n && i < 24; i++) printf("%d", MK(b, r)[i] != 0);
  printf("]");
  if (is_vjp(k->func)) print_vec("dy", DY(b, r), b->n);
  if (k->func == SMAX_CROSS_ENTROPY) printf(" target=%d", b->tg[r]);
  printf("\n");
}

/* the worst error (relative to the claim) seen per kernel, and where */
static void note(kstat *st, const smax_kernel *k, double got, const oracle_xval *xv, double ratio,
                 const batch *b) {
  double e = oracle_ulp_error(ofmt(k->fmt), got, xv, NULL);
  if (isfinite(e)) st->maxulp = fmax(st->maxulp, e);
  if (!(ratio > st->maxratio)) return;
  st->maxratio = ratio;
  st->maxerr = e;
  st->at = b->what, st->atn = b->n, st->attau = b->tau;
}

/* k on b against rf; one result per call */
static void check_kernel(const smax_kernel *k, const batch *b, const ref *rf, int threads) {
  size_t no = nout(k->func, b->n);
  double *got = malloc((b->rows * no + 1) * sizeof *got), *gl = malloc((b->rows + 1) * sizeof *gl);
  int rc = run(k, b, threads, got, gl), fails = 0;
  if (rc) {
    printf("FAIL %s %s %s threads=%d tau=%a family=%s n=%zu: returned %d\n", k->name,
           smax_func_name(k->func), smax_format_name(k->fmt), threads, b->tau, b->what, b->n, rc);
    fails = 1;
  }
  kstat *st = stat_of(k);
  for (size_t r = 0; r < b->rows && !rc; r++) {
    double sp = spread_of(b, r);
    for (size_t o = 0; o < no; o++) {
      size_t i = r * no + o;
      double ratio;
      if (!judge(k, got[i], rf->want[i], &rf->xv[i], b->n, sp, &ratio) && fails++ < 3)
        print_fail(k, b, r, o, threads, got[i], rf->want[i], "");
      note(st, k, got[i], &rf->xv[i], ratio, b);
    }
    double ratio;
    if (k->func == SMAX_CROSS_ENTROPY) {
      if (!judge(k, gl[r], rf->lwant[r], &rf->lxv[r], b->n, sp, &ratio) && fails++ < 3)
        print_fail(k, b, r, 0, threads, gl[r], rf->lwant[r], " (loss)");
      note(st, k, gl[r], &rf->lxv[r], ratio, b);
    }
  }
  result(!fails);
  free(got), free(gl);
}

/* ---- the kernels under test -------------------------------------------- */

static const smax_kernel *kern[64];
static size_t nkern;
static void find_kernels(void) {
  size_t nk;
  const smax_kernel *k = smax_registry(&nk);
  for (size_t i = 0; i < nk; i++)
    if (!strcmp(k[i].name, "online") || !strcmp(k[i].name, "openmp-fast") ||
        !strcmp(k[i].name, "openmp-det"))
      kern[nkern++] = &k[i];
}

/* every kernel of (f, fmt) on b, the oracle evaluated once */
static void check_all(smax_func f, smax_format fmt, const batch *b, int threads) {
  ref rf = oracle_batch(f, fmt, b);
  for (size_t i = 0; i < nkern; i++)
    if (kern[i]->func == f && kern[i]->fmt == fmt) check_kernel(kern[i], b, &rf, threads);
  ref_free(&rf);
}

/* the descriptors say what the brief asks */
static void check_descriptors(void) {
  size_t counts[3] = {0, 0, 0};
  for (size_t i = 0; i < nkern; i++) {
    const smax_kernel *k = kern[i];
    int fam = !strcmp(k->name, "online") ? 0 : !strcmp(k->name, "openmp-fast") ? 1 : 2;
    unsigned want = fam == 0 ? 0u : fam == 1 ? SMAX_THREADED : SMAX_THREADED | SMAX_DETERMINISTIC;
    int ok = k->flags == want && !strcmp(k->convention, "reference") &&
             (k->fmt == SMAX_F64 || k->fmt == SMAX_F32) && k->claim.max_abs_input == 0;
    if (!ok)
      printf("FAIL descriptor %s %s %s: flags %u convention \"%s\"\n", k->name,
             smax_func_name(k->func), smax_format_name(k->fmt), k->flags, k->convention);
    result(ok);
    counts[fam]++;
  }
  int ok = counts[0] == 6 && counts[1] == 12 && counts[2] == 12;
  if (!ok) printf("FAIL registered kernels: online %zu, openmp-fast %zu, openmp-det %zu (want 6, 12, 12)\n",
                  counts[0], counts[1], counts[2]);
  result(ok);
}

/* ---- 1. claims on seeded families --------------------------------------- */

enum { F_N1, F_N10, F_N100, F_WIDE, F_EXTREME, F_OVF, F_UNF, F_TIES, F_INCR, F_MASK, F_LEAD, NFAM };
static const char *const famname[NFAM] = {"normal1", "normal10", "normal100", "wide", "extreme",
                                          "overflow", "underflow", "ties", "increasing",
                                          "masked", "leading-masked"};

static double junk(void) { /* what a masked slot may store */
  double j[] = {NAN, INFINITY, -INFINITY, 1e30, -0.0};
  return j[(int)(unif() * 5)];
}

static void gen_row(int fam, smax_format fmt, size_t n, double *x, unsigned char *m, double *dy) {
  double big = is_f32(fmt) ? FLT_MAX : DBL_MAX, ovf = is_f32(fmt) ? 88 : 709;
  double decades = is_f32(fmt) ? 30 : 300;
  for (size_t i = 0; i < n; i++) {
    double v;
    m[i] = 0;
    switch (fam) {
    case F_N1: v = gauss(); break;
    case F_N10: v = 10 * gauss(); break;
    case F_N100: v = 100 * gauss(); break;
    case F_WIDE: v = (unif() < 0.5 ? -1 : 1) * pow(10, -3 + (decades + 3) * unif()); break;
    case F_EXTREME: v = (unif() < 0.5 ? -0.9 : 0.9) * big * (0.5 + 0.5 * unif()); break;
    case F_OVF: v = ovf - 2 * unif(); break;
    case F_UNF: v = -(is_f32(fmt) ? 85 + 25 * unif() : 700 + 50 * unif()); break;
    case F_TIES: v = (int)(unif() * 3); break;
    case F_INCR: v = 20.0 * (double)i / (double)n; break; /* a rescale at every tile */
    case F_MASK: v = 3 * gauss(), m[i] = unif() < 0.3; break;
    default: { /* F_LEAD: the first half (at least 600: a whole tile) masked or -inf */
      size_t lead = n < 4 ? n - 1 : n >= 1000 ? (n / 2 > 600 ? n / 2 : 600) : n / 2;
      v = 3 * gauss();
      if (i < lead) { if (i % 2) v = -INFINITY; else m[i] = 1; }
    }
    }
    if (m[i]) v = junk();
    x[i] = to_fmt(fmt, v);
    dy[i] = to_fmt(fmt, gauss());
  }
  if (fam == F_UNF) x[(size_t)(unif() * n)] = 0;
  if (fam == F_MASK) {
    size_t i = (size_t)(unif() * n);
    m[i] = 0, x[i] = to_fmt(fmt, 3 * gauss());
  }
}

static batch family_batch(int fam, smax_format fmt, size_t rows, size_t n, double tau) {
  batch b = batch_new(rows, n, tau, famname[fam]);
  for (size_t r = 0; r < rows; r++) gen_row(fam, fmt, n, X(&b, r), MK(&b, r), DY(&b, r));
  pick_targets(&b);
  return b;
}

static void test_claims(void) {
  const size_t ns[] = {1, 2, 3, 7, 16, 1000};
  const double taus[] = {1, 0.5, 3};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (int f = 0; f < SMAX_NFUNCS; f++) {
      for (int fam = 0; fam < NFAM; fam++)
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
          for (size_t t = 0; t < 3; t++) {
            /* the oracle's softmax_vjp takes ~1 ms an element on these: keep them short */
            if ((fam == F_WIDE || fam == F_EXTREME) && is_vjp(f) && ns[a] > 16) continue;
            batch b = family_batch(fam, fmt, 3, ns[a], taus[t]);
            check_all(f, fmt, &b, 0);
            batch_free(&b);
          }
      const int bigfam[] = {F_N1, F_N100, F_INCR, F_MASK, F_LEAD};
      for (size_t a = 0; a < 5; a++) {
        batch b = family_batch(bigfam[a], fmt, 1, 65536, taus[a % 3]);
        check_all(f, fmt, &b, 0);
        batch_free(&b);
      }
    }
}

/* ---- 2. special values: the reference ----------------------------------- */

static void special_case(smax_format fmt, size_t n, double tau, const char *what,
                         void (*shape)(batch *, size_t)) {
  batch b = batch_new(3, n, tau, what);
  for (size_t r = 0; r < b.rows; r++) {
    for (size_t i = 0; i < n; i++) X(&b, r)[i] = to_fmt(fmt, gauss()), DY(&b, r)[i] = to_fmt(fmt, gauss());
    shape(&b, r);
  }
  for (int f = 0; f < SMAX_NFUNCS; f++) {
    if (f == SMAX_CROSS_ENTROPY && n == 0) continue; /* no target: tested as invalid */
    check_all(f, fmt, &b, 0);
  }
  batch_free(&b);
}

static size_t slot(const batch *b) { return (size_t)(unif() * b->n); }
static void sh_nan(batch *b, size_t r) { X(b, r)[slot(b)] = NAN; pick_targets(b); }
static void sh_pinf2(batch *b, size_t r) {
  X(b, r)[0] = INFINITY, X(b, r)[b->n - 1] = INFINITY;
  MK(b, r)[1] = 1;
  b->tg[r] = (int32_t)(r % 2 ? 0 : b->n / 2);
}
static void sh_pinf1(batch *b, size_t r) { /* one +inf, masked slots, -inf; target at k or not */
  size_t k = slot(b);
  for (size_t i = 0; i < b->n; i++) {
    if (i == k || unif() >= 0.3) continue;
    if (unif() < 0.5) MK(b, r)[i] = 1, X(b, r)[i] = junk();
    else X(b, r)[i] = -INFINITY;
  }
  X(b, r)[k] = INFINITY;
  b->tg[r] = (int32_t)(r == 0 ? k : slot(b));
}
static void sh_allmasked(batch *b, size_t r) {
  for (size_t i = 0; i < b->n; i++) {
    if (i % 3 == 0) X(b, r)[i] = -INFINITY;
    else MK(b, r)[i] = 1, X(b, r)[i] = junk();
  }
  b->tg[r] = (int32_t)slot(b);
}
static void sh_baddy(batch *b, size_t r) { /* C2: a NaN or inf in dy, masked slot included */
  size_t i = slot(b);
  DY(b, r)[i] = r == 0 ? NAN : r == 1 ? INFINITY : -INFINITY;
  if (r == 1) MK(b, r)[i] = 1;
  pick_targets(b);
}
static void sh_masked_target(batch *b, size_t r) {
  size_t t = slot(b);
  MK(b, r)[t] = 1, X(b, r)[t] = junk(), b->tg[r] = (int32_t)t;
}
static void sh_empty(batch *b, size_t r) { (void)b, (void)r; }

static void test_specials(void) {
  const size_t ns[] = {1, 2, 5, 1000, 1500};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++) {
    for (size_t a = 0; a < 5; a++)
      for (int t = 0; t < 2; t++) {
        double tau = t ? 3 : 1;
        size_t n = ns[a];
        special_case(fmt, n, tau, "nan", sh_nan);
        if (n >= 2) special_case(fmt, n, tau, "two +inf", sh_pinf2);
        special_case(fmt, n, tau, "one +inf", sh_pinf1);
        special_case(fmt, n, tau, "all masked", sh_allmasked);
        special_case(fmt, n, tau, "bad dy", sh_baddy);
        if (n >= 2) special_case(fmt, n, tau, "masked target", sh_masked_target);
      }
    special_case(fmt, 0, 1, "n = 0", sh_empty);
  }
}

/* ---- 3. threads ---------------------------------------------------------- */

static size_t nthreads_now(void) {
  DIR *d = opendir("/proc/self/task");
  size_t c = 0;
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d));) c += e->d_name[0] != '.';
  closedir(d);
  return c;
}

/* threads = 1 must not start the OpenMP pool (run first, before any region) */
static void test_no_region(void) {
  size_t before = nthreads_now();
  for (size_t i = 0; i < nkern; i++) {
    if (!(kern[i]->flags & SMAX_THREADED)) continue;
    batch b = family_batch(F_MASK, kern[i]->fmt, 4, 40000, 3);
    double *o = malloc(4 * 40000 * sizeof *o), l[4];
    if (run(kern[i], &b, 1, o, l))
      printf("FAIL %s %s %s: returned nonzero\n", kern[i]->name, smax_func_name(kern[i]->func),
             smax_format_name(kern[i]->fmt)), result(0);
    free(o);
    batch_free(&b);
  }
  size_t after = nthreads_now();
  int ok = before > 0 && after == before;
  if (!ok)
    printf("FAIL threads=1 started threads: %zu before, %zu after (openmp-fast/det, 4 rows of 40000)\n",
           before, after);
  result(ok);
}

static void test_fast_threads(void) {
  const size_t ns[] = {200003, (size_t)1 << 20};
  for (int fmt = SMAX_F64; fmt <= SMAX_F32; fmt++)
    for (int f = 0; f < SMAX_NFUNCS; f++)
      for (size_t a = 0; a < 2; a++) {
        /* the oracle's binary64 softmax_vjp takes minutes at 2^20 (reported) */
        if (a && is_vjp(f)) continue;
        batch b = family_batch(a ? F_N1 : F_MASK, fmt, 1, ns[a], a ? 1 : 3);
        ref rf = oracle_batch(f, fmt, &b);
        for (size_t i = 0; i < nkern; i++)
          if ((int)kern[i]->func == f && (int)kern[i]->fmt == fmt && (kern[i]->flags & SMAX_THREADED))
            for (int th = 1; th <= 4; th++) check_kernel(kern[i], &b, &rf, th);
        ref_free(&rf);
        batch_free(&b);
      }
}

/* openmp-det: identical bits for threads 1, 2, 3, 4, 0 and omp_set_num_threads */
static void det_case(const smax_kernel *k, const batch *b) {
  size_t no = nout(k->func, b->n), len = (b->rows * no + 1) * sizeof(double);
  double *ref1 = malloc(len), *got = malloc(len), l1[64], lg[64];
  memset(ref1, 0, len), memset(got, 0, len);
  int rc = run(k, b, 1, ref1, l1), ok = !rc;
  const int ths[] = {2, 3, 4, 0, -1};
  for (int i = 0; i < 5 && ok; i++) {
    int th = ths[i];
    if (th < 0) omp_set_num_threads(3), th = 0;
    memset(got, 0, len);
    rc = run(k, b, th, got, lg);
    if (ths[i] < 0) omp_set_num_threads(omp_get_num_procs());
    ok = !rc && !memcmp(ref1, got, b->rows * no * sizeof(double)) &&
         (k->func != SMAX_CROSS_ENTROPY || !memcmp(l1, lg, b->rows * sizeof(double)));
    if (!ok) {
      size_t o = 0;
      while (o + 1 < b->rows * no && !memcmp(&ref1[o], &got[o], sizeof(double))) o++;
      printf("FAIL %s %s %s family=%s rows=%zu n=%zu tau=%a: threads=%d differs from threads=1"
             " at output %zu (%a vs %a)%s\n", k->name, smax_func_name(k->func), smax_format_name(k->fmt), b->what, b->rows, b->n,
             b->tau, ths[i], o, got[o], ref1[o], rc ? " (returned nonzero)" : "");
    }
  }
  result(ok);
  free(ref1), free(got);
}

static void test_det(void) {
  const size_t ns[] = {1, 7, 1000, 40000, 100001, (size_t)1 << 20};
  for (size_t i = 0; i < nkern; i++) {
    const smax_kernel *k = kern[i];
    if (!(k->flags & SMAX_DETERMINISTIC)) continue;
    for (size_t a = 0; a < 6; a++) {
      batch b = family_batch(a % 2 ? F_MASK : F_N10, k->fmt, 1, ns[a], a % 3 ? 1 : 3);
      det_case(k, &b);
      batch_free(&b);
    }
    batch b = family_batch(F_LEAD, k->fmt, 64, 3000, 0.5); /* rows over threads */
    det_case(k, &b);
    batch_free(&b);
    b = family_batch(F_N1, k->fmt, 3, 100001, 1); /* each row split */
    sh_nan(&b, 1); /* a special row between them */
    det_case(k, &b);
    batch_free(&b);
    b = family_batch(F_N1, k->fmt, 5, 20000, 3);
    sh_allmasked(&b, 2), sh_pinf1(&b, 3);
    det_case(k, &b);
    batch_free(&b);
  }
}

/* ---- 4. unsupported arguments ------------------------------------------ */

static void test_args(void) {
  double xd[4] = {1, 2, 3, 4}, yd[4], dyd[4] = {1, 1, 1, 1}, ld[1];
  float xf[4] = {1, 2, 3, 4}, yf[4], dyf[4] = {1, 1, 1, 1}, lf[1];
  for (size_t i = 0; i < nkern; i++) {
    const smax_kernel *k = kern[i];
    int f32 = is_f32(k->fmt);
    int32_t tg[1] = {0};
    smax_args a;
    memset(&a, 0, sizeof a);
    a.rows = 1, a.n = 4, a.x = f32 ? (void *)xf : (void *)xd, a.x_stride = 4;
    a.dy = f32 ? (void *)dyf : (void *)dyd, a.dy_stride = 4, a.y = f32 ? (void *)yf : (void *)yd;
    a.y_stride = 4, a.loss = f32 ? (void *)lf : (void *)ld, a.target = tg, a.tau = 1, a.threads = 1;
    int ok = k->run(&a) == 0;
    const double bad[] = {0, -1, NAN, INFINITY, -0.0};
    for (int j = 0; j < 5; j++) {
      smax_args b = a;
      b.tau = bad[j];
      ok &= k->run(&b) != 0;
    }
    smax_args b = a;
    b.y = NULL;
    ok &= k->run(&b) != 0;
    if (is_vjp(k->func)) b = a, b.dy = NULL, ok &= k->run(&b) != 0;
    if (k->func == SMAX_CROSS_ENTROPY) {
      int32_t t1[1] = {4}, t2[1] = {-1};
      b = a, b.target = t1, ok &= k->run(&b) != 0;
      b = a, b.target = t2, ok &= k->run(&b) != 0;
      b = a, b.target = NULL, ok &= k->run(&b) != 0;
      b = a, b.n = 0, ok &= k->run(&b) != 0; /* no valid target */
    }
    b = a, b.rows = 0, b.y = f32 ? (void *)yf : (void *)yd;
    ok &= k->run(&b) == 0;
    if (!ok) printf("FAIL %s %s %s: unsupported arguments not refused (tau <= 0 / NaN / inf, NULL"
                    " y/dy/target, target out of range) or valid ones refused\n",
                    k->name, smax_func_name(k->func), smax_format_name(k->fmt));
    result(ok);
  }
}

int main(void) {
  find_kernels();
  test_no_region(); /* first: before anything starts the OpenMP pool */
  check_descriptors();
  test_args();
  test_specials();
  test_claims();
  test_fast_threads();
  test_det();
  for (size_t i = 0; i < nstats; i++)
    printf("info: %-11s %-15s %-8s max %.3g ulp; worst error/claim %.3g: %.3g ulp (%s, n=%zu, tau=%g)\n",
           stats[i].k->name, smax_func_name(stats[i].k->func), smax_format_name(stats[i].k->fmt),
           stats[i].maxulp, stats[i].maxratio, stats[i].maxerr, stats[i].at ? stats[i].at : "-",
           stats[i].atn, stats[i].attau);
  oracle_cleanup();
  printf("%d passed, %d failed\n", npass, nfail);
  return nfail != 0;
}

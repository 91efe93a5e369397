/* fuzzcase.c -- fuzz inputs -> kernel calls -> findings (see fuzzcase.h for
 * the byte layout, fuzz/README.md for the checks).
 *
 * The checks reuse the gate's definitions so that a fuzz finding means what
 * a gate failure means: the same thresholds file and loader (gate.h), the
 * one ULP metric (kio_error -> oracle_ulp_error), the special-value
 * classifier (special.h), and the rules of harness/metrics.c for the
 * SEMANTICS.md case of a row, declared flush-to-zero, the Blanchard-Higham-
 * Higham bound and the sum drift.  Those helpers are static in metrics.c,
 * so the few lines are repeated here; keep them in step. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzzcase.h"
#include "kio.h"
#include "metrics.h"
#include "plugin.h"
#include "kcall.h"
#include "special.h"

/* Deliberately broken variants (fuzz/planted.c), linked into the fuzz
 * targets and smaxcheck when present; weak, so the library links without. */
extern const smax_kernel *fuzz_planted_kernels(size_t *count) __attribute__((weak));

const double FUZZ_TAU[16] = {1, 1, 1, 1, 2, 0.5, 3, 0.25, 10, 0.1, 0x1p-10, 1024, 7, 1.5, 0x1p-30, 0x1p30};
const double FUZZ_SCALE[16] = {0.0625, 0.125, 0.25, 0.5, 1, 2, 0x1p-5, 0x1p-6, 0.1, 3, 0x1p-7, 4, 8, 0.05, 1.0 / 3, 16};

static int is_vjp(smax_func f) { return f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP; }
/* outputs per row in the kernel's y array, and as judged (cross-entropy adds the loss) */
static size_t kout(smax_func f, size_t n) { return f == SMAX_LOGSUMEXP ? 1 : n; }
static size_t jout(smax_func f, size_t n) { return kout(f, n) + (f == SMAX_CROSS_ENTROPY); }

/* 1 if kernel format fmt answers to `name`: its own name or the name/alias
 * of the oracle format that judges it ("f32", "uq0.8"). */
static int format_matches(smax_format fmt, const char *name) {
  if (!strcmp(name, smax_format_name(fmt))) return 1;
  const oracle_format *of = oracle_format_by_name(name);
  return of && of == kio_oracle_format(fmt);
}

static int env_set(const char *v) { return v && *v; }

int fuzz_ctx_init(fuzz_ctx *c, const char *default_thresholds, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  const char *kn = getenv("SMAXCHECK_FUZZ_KERNEL"), *fn = getenv("SMAXCHECK_FUZZ_FUNC");
  const char *fm = getenv("SMAXCHECK_FUZZ_FORMAT"), *tp = getenv("SMAXCHECK_THRESHOLDS");
  const char *gd = getenv("SMAXCHECK_FUZZ_GUIDE"), *pl = getenv("SMAXCHECK_FUZZ_PLUGIN");
  c->guide = !(env_set(gd) && !strcmp(gd, "0"));
  if (env_set(fn) && oracle_func_by_name(fn) < 0 && strcmp(fn, "cross_entropy")) {
    snprintf(err, errlen, "SMAXCHECK_FUZZ_FUNC=%s: unknown function (smaxcheck list functions)", fn);
    return -1;
  }
  size_t nreg, npl = 0, nplug = 0;
  const smax_kernel *reg = smax_registry(&nreg), *pk = fuzz_planted_kernels ? fuzz_planted_kernels(&npl) : NULL;
  if (env_set(pl) && plugin_load(pl, &c->plugin, &nplug, err, errlen)) return -1;
  c->k = malloc((nreg + npl + nplug + 1) * sizeof *c->k);
  if (!c->k) { snprintf(err, errlen, "out of memory"); fuzz_ctx_free(c); return -1; }
  for (size_t i = 0; i < nreg + npl + nplug; i++) {
    const smax_kernel *k = i < nreg ? &reg[i] : i < nreg + npl ? &pk[i - nreg] : &c->plugin[i - nreg - npl];
    /* planted kernels only when asked for by name; plugin kernels always */
    if (i >= nreg && i < nreg + npl && !env_set(kn)) continue;
    if ((k->flags & SMAX_KNOWN_DEFECT) && !env_set(kn)) continue; /* naive: its overflow is known */
    if (env_set(kn) && strcmp(kn, k->name)) continue;
    if (env_set(fn) && strcmp(fn, smax_func_name(k->func))) continue;
    if (env_set(fm) && !format_matches(k->fmt, fm)) continue;
    c->k[c->nk++] = k;
  }
  if (!c->nk) {
    snprintf(err, errlen, "no kernel matches SMAXCHECK_FUZZ_KERNEL=%s SMAXCHECK_FUZZ_FUNC=%s SMAXCHECK_FUZZ_FORMAT=%s",
             kn ? kn : "", fn ? fn : "", fm ? fm : "");
    fuzz_ctx_free(c);
    return -1;
  }
  c->tpath = env_set(tp) ? tp : default_thresholds;
  c->nt = thresholds_load(c->tpath, &c->t, err, errlen);
  if (c->nt < 0) { c->t = NULL; fuzz_ctx_free(c); return -1; }
  return 0;
}

void fuzz_ctx_free(fuzz_ctx *c) {
  free(c->k), free(c->t);
  if (c->plugin) plugin_unload(c->plugin);
  memset(c, 0, sizeof *c);
}

const threshold *fuzz_threshold(const fuzz_ctx *c, const smax_kernel *k) {
  for (long i = 0; i < c->nt; i++)
    if (!strcmp(c->t[i].kernel, k->name) && !strcmp(c->t[i].func, smax_func_name(k->func)) &&
        !strcmp(c->t[i].format, smax_format_name(k->fmt)))
      return &c->t[i];
  return NULL;
}

/* ---- decoding ------------------------------------------------------------ */

static uint8_t byte_at(const uint8_t *d, size_t size, size_t i) { return i < size ? d[i] : 0; }

/* binary16 / bfloat16 bits -> value (p = 11 / 8 significand bits) */
static double dec16(uint16_t b, int p, int emin) {
  int ebits = p == 11 ? 5 : 8, bias = (1 << (ebits - 1)) - 1;
  int E = (b >> (p - 1)) & ((1 << ebits) - 1);
  uint32_t frac = b & ((1u << (p - 1)) - 1);
  double v = E == (1 << ebits) - 1 ? (frac ? NAN : INFINITY)
           : E == 0 ? ldexp((double)frac, emin - p + 1)
                    : ldexp(1 + ldexp((double)frac, -(p - 1)), E - bias);
  return b >> 15 ? -v : v;
}

/* element i of the value region, as a value of format f (bytes past the end
 * read as 0; NaN canonicalised, since payloads are not what is measured) */
static double elem(smax_format f, const uint8_t *d, size_t size, size_t off) {
  uint64_t u = 0;
  size_t w = kio_in_size(f);
  for (size_t b = 0; b < w; b++) u |= (uint64_t)byte_at(d, size, off + b) << (8 * b);
  double v;
  switch (f) {
  case SMAX_F64: memcpy(&v, &u, 8); break;
  case SMAX_F32: { uint32_t u32 = (uint32_t)u; float g; memcpy(&g, &u32, 4); v = g; break; }
  case SMAX_F16: v = dec16((uint16_t)u, 11, -14); break;
  case SMAX_BF16: v = dec16((uint16_t)u, 8, -126); break;
  default: v = (double)(int8_t)(uint8_t)u; break;
  }
  return isnan(v) ? NAN : v;
}

/* the n the header encodes */
static size_t hdr_n(const uint8_t *d, size_t size) {
  uint8_t b2 = byte_at(d, size, 2), b3 = byte_at(d, size, 3), b7 = byte_at(d, size, 7);
  /* large rows rarely (1 byte value in 256): they cost the oracle O(n) each */
  return b2 != 0xFF ? b2 % 65u : 65 + ((size_t)b7 << 8 | b3) % 960;
}

/* rows: 1, or (bits 3 and 4 both set: a quarter of the inputs, since every
 * row costs an oracle call) 1 + bits 0-1 */
static size_t hdr_rows(uint8_t b5) { return (b5 & 0x18) == 0x18 ? 1 + (b5 & 3u) : 1; }

static const smax_kernel *hdr_kernel(const fuzz_ctx *c, const uint8_t *d, size_t size, size_t *idx) {
  *idx = ((size_t)byte_at(d, size, 0) | (size_t)byte_at(d, size, 1) << 8) % c->nk;
  return c->k[*idx];
}

void fuzz_case_free(fuzz_case *fc) {
  free(fc->x), free(fc->dy), free(fc->mask);
  memset(fc, 0, sizeof *fc);
}

int fuzz_decode(const fuzz_ctx *c, const uint8_t *d, size_t size, fuzz_case *fc) {
  memset(fc, 0, sizeof *fc);
  const smax_kernel *k = fc->k = hdr_kernel(c, d, size, &fc->kidx);
  size_t n = hdr_n(d, size);
  if (k->func == SMAX_CROSS_ENTROPY && n == 0) n = 1; /* the target must index the row */
  uint8_t b4 = byte_at(d, size, 4), b5 = byte_at(d, size, 5), b6 = byte_at(d, size, 6);
  fc->n = n, fc->rows = hdr_rows(b5);
  fc->tau = FUZZ_TAU[b4 & 15], fc->in_scale = kio_fixed(k->fmt) ? FUZZ_SCALE[b4 >> 4] : 1;
  size_t tot = fc->rows * n, w = kio_in_size(k->fmt);
  fc->x = malloc((tot + 1) * sizeof *fc->x);
  if (is_vjp(k->func)) fc->dy = malloc((tot + 1) * sizeof *fc->dy);
  if (b5 & 4) fc->mask = malloc(tot + 1);
  if (!fc->x || (is_vjp(k->func) && !fc->dy) || ((b5 & 4) && !fc->mask)) { fuzz_case_free(fc); return -1; }
  uint64_t mw = 0;
  for (int b = 0; b < 8; b++) mw |= (uint64_t)byte_at(d, size, 8 + (size_t)b) << (8 * b);
  for (size_t i = 0; i < tot; i++) {
    fc->x[i] = elem(k->fmt, d, size, FUZZ_HDR + i * w);
    if (fc->dy) fc->dy[i] = elem(k->fmt, d, size, FUZZ_HDR + (tot + i) * w);
    if (fc->mask) fc->mask[i] = (unsigned char)(mw >> (i % 64) & 1);
  }
  for (size_t r = 0; r < fc->rows; r++) {
    fc->target[r] = n ? (int32_t)((b6 + r) % n) : 0;
    if (fc->mask && n) fc->mask[r * n + (size_t)fc->target[r]] = 0;
  }
  return 0;
}

/* ---- judging ------------------------------------------------------------- */

static int same(double a, double b) { return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b)); }

/* 1 if verdict v is one of the '+'-joined ids of the accepted entry */
static int verdict_accepted(const char *entry, const char *v) {
  size_t lv = strlen(v);
  for (const char *p = entry; *p;) {
    size_t l = strcspn(p, "+");
    if (l == lv && !strncmp(p, v, lv)) return 1;
    p += l + (p[l] == '+');
  }
  return 0;
}

/* the Blanchard-Higham-Higham leading-order bound in unit roundoffs (as metrics.c) */
static double bhh_bound(smax_func f, size_t n, double s, double y) {
  switch (f) {
  case SMAX_LOG_SOFTMAX: case SMAX_LOGSUMEXP: case SMAX_CROSS_ENTROPY:
    return 1 + ((double)n + 1 + s) / fmax(fabs(y), 0x1p-1000);
  default: return (double)n + 2 + 2 * s;
  }
}

/* |sum(y) - 1| / ulp1 for outputs y in [0, 1] (others are range findings);
 * the signed sum - 1 in *dev.  metrics.c sums exactly with MPFR, which
 * costs more than the rest of an execution; here each addition's rounding
 * error is captured by TwoSum (exact without FMA contraction, which the
 * build disables) and summed apart, and s - 1 is exact (Sterbenz) near 1,
 * so *dev is within about n^2 2^-106 of the exact value: far below the
 * resolution of any drift threshold (ulps of 1 are 2^-52 and coarser). */
static double drift(const double *y, size_t n, double ulp1, double *dev) {
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    double t = s + y[i], bv = t - s;
    c += (s - (t - bv)) + (y[i] - bv);
    s = t;
  }
  *dev = (s - 1) + c;
  return fabs(*dev) / ulp1;
}

/* A kernel with no thresholds entry and no claim is held to the
 * Blanchard-Higham-Higham leading-order bound times this (its forward
 * outputs): every library measured meets it (SciPy, PyTorch <= 0.9), and
 * only defects exceed it (oneDNN's log_softmax 2.76, XNNPACK's flushed
 * normal outputs). */
#define FUZZ_BHH_SLACK 2.0

/* one failed check, kept per class; the lowest rank is reported */
enum { C_NONFINITE, C_RANGE, C_SPECIAL, C_ULP, C_BOUND, C_DRIFT, C_INVARIANT, C_N };
static const char *const cls_name[C_N] = {"nonfinite", "range", "special", "ulp", "bound", "drift", "invariant"};
typedef struct {
  int set;
  double score;     /* the worst of its class wins */
  size_t row;
  char what[700];
} failure;

static void fail_at(failure *f, double score, size_t row, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail_at(failure *f, double score, size_t row, const char *fmt, ...) {
  if (f->set && !(score > f->score)) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->what, sizeof f->what, fmt, ap);
  va_end(ap);
  f->set = 1, f->score = score, f->row = row;
}

/* where the limit came from, for the finding line */
static void limit_src(char *buf, size_t bl, const fuzz_ctx *c, const threshold *th) {
  if (th) snprintf(buf, bl, "%s:%ld", c->tpath, th->line);
  else snprintf(buf, bl, "no entry in %s", c->tpath);
}

size_t fuzz_bucket(double e) {
  if (!(e > 0)) return 0;
  if (e <= 0.5) return 1;
  if (isinf(e) || isnan(e)) return FUZZ_NBUCKETS - 1;
  int b = 3 + ilogb(e); /* (0.5, 1): 2, [1, 2): 3, ... */
  return (size_t)(b < 2 ? 2 : b > FUZZ_NBUCKETS - 2 ? FUZZ_NBUCKETS - 2 : b);
}

/* 1 if some unmasked x_i > x_j has y_i < y_j although the correctly rounded
 * w_i > w_j (an order the format can show; inversions among outputs the
 * format rounds equal are rounding noise), the pair in *pi, *pj.  O(n log n):
 * scan by increasing x, keeping the largest y seen at strictly smaller x (a
 * heuristic: that is the likeliest partner).  ord: n indices of scratch. */
static const double *sort_key;
static int by_key(const void *a, const void *b) {
  double u = sort_key[*(const size_t *)a], v = sort_key[*(const size_t *)b];
  return (u > v) - (u < v);
}
static int mono_violation(const double *x, const unsigned char *mk, const double *y, const double *w, size_t n,
                          size_t *ord, size_t *pi, size_t *pj) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!(mk && mk[i]) && !isnan(x[i])) ord[m++] = i;
  sort_key = x;
  qsort(ord, m, sizeof *ord, by_key);
  size_t best = SIZE_MAX, pend = SIZE_MAX; /* argmax y below the current x; of the current run of equal x */
  for (size_t a = 0; a < m; a++) {
    size_t i = ord[a];
    if (a && x[i] > x[ord[a - 1]]) { /* a new x: the previous run is now strictly below */
      if (best == SIZE_MAX || y[pend] > y[best]) best = pend;
      pend = SIZE_MAX;
    }
    if (best != SIZE_MAX && y[i] < y[best] && w[i] > w[best]) { *pi = i, *pj = best; return 1; }
    if (pend == SIZE_MAX || y[i] > y[pend]) pend = i;
  }
  return 0;
}

void fuzz_verdict_free(fuzz_verdict *v) {
  free(v->got), free(v->want), free(v->err);
  v->got = v->want = v->err = NULL;
}

int fuzz_judge(const fuzz_ctx *c, const fuzz_case *fc, fuzz_verdict *v) {
  memset(v, 0, sizeof *v);
  const smax_kernel *k = fc->k;
  const oracle_format *of = kio_oracle_format(k->fmt);
  const threshold *th = fuzz_threshold(c, k);
  size_t n = fc->n, rows = fc->rows, tot = rows * n, ko = kout(k->func, n), no = jout(k->func, n);
  size_t isz = kio_in_size(k->fmt), osz = kio_out_size(k->fmt);
  v->nout = no;
  /* kernel buffers sized exactly (+0 bytes) so ASan sees any overrun */
  unsigned char *xb = malloc(tot * isz + !tot), *dyb = malloc(tot * isz + !tot);
  unsigned char *yb = malloc(rows * ko * osz + !ko), *lb = malloc(rows * osz);
  v->got = malloc((rows * no + 1) * sizeof *v->got), v->want = malloc((rows * no + 1) * sizeof *v->want);
  v->err = malloc((rows * no + 1) * sizeof *v->err);
  oracle_xval *xv = malloc((no + 1) * sizeof *xv);
  double *unc = malloc((no + 1) * sizeof *unc);
  size_t *ord = malloc((n + 1) * sizeof *ord);
  unsigned char *nomask = calloc(n + 1, 1); /* special_classify wants a mask */
  int rc = -1, ftz = special_declared(k->convention, "ftz");
  if (!xb || !dyb || !yb || !lb || !v->got || !v->want || !v->err || !xv || !unc || !ord || !nomask) goto out;
  for (size_t i = 0; i < tot; i++) {
    kio_store_in(k->fmt, xb, i, fc->x[i]);
    if (fc->dy) kio_store_in(k->fmt, dyb, i, fc->dy[i]);
  }
  memset(yb, 0, rows * ko * osz + !ko), memset(lb, 0, rows * osz);
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = rows, a.n = n, a.x = xb, a.x_stride = n, a.dy = fc->dy ? dyb : NULL, a.dy_stride = n;
  a.mask = fc->mask, a.mask_stride = n, a.target = fc->target, a.y = yb, a.y_stride = ko;
  a.loss = k->func == SMAX_CROSS_ENTROPY ? lb : NULL, a.tau = fc->tau, a.in_scale = fc->in_scale;
  a.threads = 1; /* single-threaded: AFL stability, one core per fuzzer */
  if (kernel_call(k, &a)) { v->rejected = 1; rc = 0; goto out; }

  failure F[C_N];
  memset(F, 0, sizeof F);
  char src[600];
  limit_src(src, sizeof src, c, th);
  double ulp1 = of->kind == ORACLE_FLOAT ? ldexp(1, 1 - of->p) : ldexp(1, -of->frac);
  double u = of->kind == ORACLE_FLOAT ? ldexp(1, -of->p) : 0;
  for (size_t r = 0; r < rows; r++) {
    const double *x = fc->x + r * n, *dy = fc->dy ? fc->dy + r * n : NULL;
    const unsigned char *mk = fc->mask ? fc->mask + r * n : NULL;
    double *got = v->got + r * no, *want = v->want + r * no, *err = v->err + r * no;
    for (size_t o = 0; o < no; o++) {
      got[o] = k->func == SMAX_CROSS_ENTROPY && o == n ? kio_load_out(k->fmt, lb, r)
                                                        : kio_load_out(k->fmt, yb, r * ko + o);
      want[o] = NAN, err[o] = NAN;
    }
    oracle_params p = {fc->tau, fc->in_scale, mk, dy, fc->target[r]};
    int orc = k->func == SMAX_CROSS_ENTROPY
                  ? (oracle_eval(ORACLE_CROSS_ENTROPY_GRAD, of, n, x, &p, want, xv, NULL) < 0 ||
                     oracle_eval(ORACLE_CROSS_ENTROPY, of, n, x, &p, want + n, xv + n, NULL) < 0)
                  : oracle_eval((oracle_func)k->func, of, n, x, &p, want, xv, NULL) < 0;
    if (orc) continue; /* arguments the oracle does not define: nothing to judge */
    int cs = special_case(k->func, x, mk, dy, n);
    for (size_t o = 0; o < no; o++) {
      err[o] = kio_error(k->fmt, got[o], want[o], &xv[o], &unc[o]);
      if (ftz && got[o] == 0 && err[o] > 0 && of->kind == ORACLE_FLOAT && isfinite(xv[o].hi) &&
          fabs(ldexp(xv[o].hi + xv[o].lo, (int)xv[o].e)) < ldexp(1, of->emin))
        err[o] = 0; /* declared ftz: a subnormal result flushed to 0 is the convention */
    }
    /* range: any row, any non-NaN output */
    for (size_t o = 0; o < ko; o++) {
      if ((k->func == SMAX_SOFTMAX && (got[o] < 0 || got[o] > 1)) || (k->func == SMAX_LOG_SOFTMAX && got[o] > 0))
        fail_at(&F[C_RANGE], 0, r, "n=%zu tau=%a row=%zu out=%zu got=%a want=%a: %s output outside %s", n, fc->tau, r,
                o, got[o], want[o], smax_func_name(k->func), k->func == SMAX_SOFTMAX ? "[0,1]" : "(-inf,0]");
    }
    if (cs < 6) { /* special rows: the verdict against the entry */
      int nanref = 0;
      for (size_t o = 0; o < no; o++) nanref |= isnan(want[o]) != 0;
      if (!th || (of->kind == ORACLE_FIXED && nanref)) continue; /* no entry / no reference */
      special_row sr = {cs, n, x, dy, mk ? mk : nomask, fc->target[r], fc->tau, fc->in_scale, got, want};
      const char *vd = special_classify(k, &sr), *acc = th->special[cs];
      /* the gate merges a case's rows with "wrong" dominating: an entry of
       * "wrong" accepts any row, and the reference is never a regression */
      if (strcmp(vd, "reference") && (acc[0] ? !verdict_accepted(acc, vd) && !verdict_accepted(acc, "wrong")
                                             : !strcmp(vd, "wrong"))) {
        size_t o = 0;
        while (o + 1 < no && same(got[o], want[o])) o++;
        fail_at(&F[C_SPECIAL], 0, r, "n=%zu tau=%a row=%zu case=%s verdict=%s out=%zu got=%a want=%a: thresholds say '%s' (%s)",
                n, fc->tau, r, met_case_name[cs], vd, o, no ? got[o] : NAN, no ? want[o] : NAN,
                acc[0] ? acc : "(nothing)", src);
      }
      continue;
    }
    /* finite rows */
    double mx = -INFINITY, mn = INFINITY;
    for (size_t i = 0; i < n; i++)
      if (!(mk && mk[i]) && x[i] != -INFINITY) mx = fmax(mx, x[i] * fc->in_scale), mn = fmin(mn, x[i] * fc->in_scale);
    double spread = (mx - mn) / fc->tau;
    int claimed = kernel_has_claim(k) && !(k->claim.max_abs_input > 0 && fmax(fabs(mx), fabs(mn)) / fc->tau > k->claim.max_abs_input);
    double gscale = k->func == SMAX_CROSS_ENTROPY ? 1 / fc->tau : 0;
    for (size_t i = 0; i < n && dy; i++) gscale = fmax(gscale, fabs(dy[i]) / fc->tau);
    int allfinite = 1;
    double claim_drift = 0; /* SEMANTICS.md err-sum: sum over i of (B_i + 1/2) ulp(s_i) */
    for (size_t o = 0; o < no; o++) {
      double e = err[o];
      v->max_err = fmax(v->max_err, e);
      if (isfinite(got[o]) && isfinite(want[o]) && !isfinite(e))
        e = INFINITY; /* finite for exact 0 etc.: error beyond double range, judged as ulp below */
      else if (isinf(e) || isnan(e)) {
        allfinite = 0;
        fail_at(&F[C_NONFINITE], 0, r, "n=%zu tau=%a row=%zu out=%zu got=%a want=%a: the reference is finite (nonfinite=%g, %s)",
                n, fc->tau, r, o, got[o], want[o], th ? th->nonfinite : -1.0, src);
        continue;
      }
      /* the accepted error: the thresholds entry, widened by the kernel's own
       * claim where it has one -- the gate's suite cannot see every input, and
       * an error the kernel promises is not a finding */
      /* in absolute terms, so an error beyond double's range of ulps (a
       * nonzero result for an exact 0) is still judged */
      double yv0 = ldexp(xv[o].hi + xv[o].lo, (int)xv[o].e), ulp0 = ldexp(1, (int)oracle_ulp_exp(of, &xv[o]));
      double allow = claimed ? kernel_claim_abs(k, n, spread, ulp0, u, gscale) : -1; /* absolute */
      int in_claim = allow >= 0 && fabs(got[o] - yv0) <= allow + unc[o] * ulp0;
      claim_drift += allow >= 0 ? allow + (unc[o] + 0.5) * ulp0 : INFINITY;
      if (th && th->max_ulp >= 0 && e > th->max_ulp && !in_claim)
        fail_at(&F[C_ULP], e, r, "n=%zu tau=%a row=%zu out=%zu got=%a want=%a: error %.6g ulp > max_ulp=%g (%s)%s", n,
                fc->tau, r, o, got[o], want[o], e, th->max_ulp, src, allow >= 0 ? " and > the kernel's claim" : "");
      if (!th && claimed) { /* no entry: the kernel's own claim (kernel.h), within its domain */
        if (!in_claim)
          fail_at(&F[C_ULP], e, r, "n=%zu tau=%a row=%zu out=%zu got=%a want=%a: error %.6g ulp > claim %.6g ulp (%s; kernel.h claim)",
                  n, fc->tau, r, o, got[o], want[o], e, allow / ulp0, src);
      }
      double yv = ldexp(xv[o].hi + xv[o].lo, (int)xv[o].e);
      /* the bound to hold: the entry's, or -- for a kernel with neither an
       * entry nor a claim (a third-party plugin) -- the textbook bound itself
       * with a factor FUZZ_BHH_SLACK, for the functions it covers (the VJPs
       * have none under cancellation) */
      int is_grad = k->func == SMAX_SOFTMAX_VJP || k->func == SMAX_LOG_SOFTMAX_VJP ||
                    (k->func == SMAX_CROSS_ENTROPY && o < n);
      double limit = th ? th->bound_ratio : !claimed && !is_grad ? FUZZ_BHH_SLACK : -1;
      if (limit >= 0 && u > 0 && fabs(yv) >= ldexp(1, of->emin) && isfinite(yv) && isfinite(got[o])) {
        double ratio = fabs(got[o] - yv) / fabs(yv) / (bhh_bound(k->func, n, spread, yv) * u);
        if (ratio > limit && e > 0.5 + unc[o] && !in_claim) /* a correctly rounded output is never blamed */
          fail_at(&F[C_BOUND], ratio, r, "n=%zu tau=%a row=%zu out=%zu got=%a want=%a: error %.6g ulp, bound ratio %.6g > %s%g (%s)",
                  n, fc->tau, r, o, got[o], want[o], e, ratio, th ? "bound_ratio=" : "the Blanchard-Higham-Higham bound x ",
                  limit, th ? src : "no thresholds entry and no claim");
      }
    }
    if (k->func == SMAX_SOFTMAX && th && th->drift >= 0 && allfinite) {
      /* not blamed for the drift the correctly rounded outputs have too
       * (n outputs each rounded to the grid drift by up to n/2 ulps) */
      double dev, dw, d = drift(got, n, ulp1, &dev), cr = drift(want, n, ulp1, &dw);
      if (d > th->drift && d > cr && !(d * ulp1 <= claim_drift))
        fail_at(&F[C_DRIFT], d, r, "n=%zu tau=%a row=%zu sum-1=%a: drift %.6g ulp of 1 > drift=%g (%s; correctly rounded: %.6g)",
                n, fc->tau, r, dev, d, th->drift, src, cr);
    }
    /* monotonicity (no extra kernel run): x_i > x_j must give y_i >= y_j.
     * An inversion is at most the two outputs' errors (want_i > want_j), so
     * where an accepted error exists (an entry or a claim) it is a ulp
     * finding or accepted; only kernels with neither are held to it. */
    if ((k->func == SMAX_SOFTMAX || k->func == SMAX_LOG_SOFTMAX) && allfinite && !F[C_INVARIANT].set &&
        !th && !kernel_has_claim(k)) {
      size_t i, j;
      if (mono_violation(x, mk, got, want, n, ord, &i, &j))
        fail_at(&F[C_INVARIANT], 0, r, "n=%zu tau=%a row=%zu x[%zu]=%a > x[%zu]=%a but out %zu got=%a < out %zu got=%a (want %a, %a): not monotone",
                n, fc->tau, r, i, x[i], j, x[j], i, got[i], j, got[j], want[i], want[j]);
    }
  }
  v->bucket = fuzz_bucket(v->max_err);
  rc = 0;
  for (int cl = 0; cl < C_N; cl++)
    if (F[cl].set) {
      v->cls = cls_name[cl];
      snprintf(v->line, sizeof v->line, "SMAXCHECK-FINDING class=%s kernel=%s func=%s format=%s: rows=%zu %s", v->cls,
               k->name, smax_func_name(k->func), smax_format_name(k->fmt), rows, F[cl].what);
      rc = 1;
      break;
    }
out:
  free(xb), free(dyb), free(yb), free(lb), free(xv), free(unc), free(ord), free(nomask);
  return rc;
}

/* ---- mutation ------------------------------------------------------------ */

static uint64_t rnd(uint64_t *s) { return rng_next(s); }
static size_t rndn(uint64_t *s, size_t n) { return n ? (size_t)(rnd(s) % n) : 0; }

/* write value v (rounded to the format) as element bytes at p */
static void put(smax_format f, uint8_t *p, double v) {
  unsigned char tmp[8];
  kio_store_in(f, tmp, 0, kio_round_in(f, v));
  memcpy(p, tmp, kio_in_size(f));
}

/* exponent field of the format: shift and width (fixed point: none) */
static void expfield(smax_format f, int *shift, int *width) {
  static const int sh[] = {52, 23, 10, 7}, wd[] = {11, 8, 5, 8};
  *shift = (unsigned)f < 4 ? sh[f] : 0, *width = (unsigned)f < 4 ? wd[f] : 0;
}

size_t fuzz_mutate(const fuzz_ctx *c, uint8_t *d, size_t size, size_t max_size, uint64_t *rng) {
  if (max_size < FUZZ_HDR) return 0;
  if (size < FUZZ_HDR) memset(d + size, 0, FUZZ_HDR - size), size = FUZZ_HDR;
  size_t kidx;
  const smax_kernel *k = hdr_kernel(c, d, size, &kidx);
  smax_format f = k->fmt;
  size_t n = hdr_n(d, size), rows = hdr_rows(d[5]), w = kio_in_size(f);
  if (k->func == SMAX_CROSS_ENTROPY && n == 0) n = 1;
  size_t per = rows * n, cnt = per * (is_vjp(k->func) ? 2 : 1);
  /* make room for every element the header asks for (zeros), as far as allowed */
  size_t want = FUZZ_HDR + cnt * w;
  if (want > max_size) want = max_size - (max_size - FUZZ_HDR) % w;
  if (size < want) memset(d + size, 0, want - size), size = want;
  size_t avail = (size - FUZZ_HDR) / w;
  if (avail > cnt) avail = cnt;
  int op = (int)rndn(rng, 11);
  if (avail == 0 || op == 10) { /* header moves: n, temperature, rows, mask */
    switch (rndn(rng, 6)) {
    case 5: d[0] = (uint8_t)rnd(rng), d[1] = (uint8_t)rnd(rng); break;
    case 0: d[2] = (uint8_t)(rndn(rng, 16) ? rndn(rng, 65) : 0xFF), d[3] = (uint8_t)rnd(rng), d[7] = (uint8_t)rnd(rng); break;
    case 1: d[4] = (uint8_t)((d[4] & 0xF0) | rndn(rng, 16)); break;
    case 2: d[4] = (uint8_t)((d[4] & 0x0F) | rndn(rng, 16) << 4); break;
    case 3: d[5] ^= (uint8_t)(1u << rndn(rng, 5)); break;
    default: d[8 + rndn(rng, 8)] ^= (uint8_t)(1u << rndn(rng, 8)); break;
    }
    return size;
  }
  uint8_t *base = d + FUZZ_HDR;
  size_t i = rndn(rng, avail);
  /* the row (of x, or of dy) holding element i: elements [r0, r1) */
  size_t r0 = n ? i - i % n : 0, r1 = r0 + n < avail ? r0 + n : avail;
  double tau = FUZZ_TAU[d[4] & 15];
  if (kio_fixed(f)) tau /= FUZZ_SCALE[d[4] >> 4];
  double xi = elem(f, d, size, FUZZ_HDR + i * w);
  const oracle_format *of = kio_oracle_format(f);
  switch (op) {
  case 0: { /* exponent-field move (fixed point: double or halve) */
    int sh, wd;
    expfield(f, &sh, &wd);
    if (!wd) { put(f, base + i * w, rndn(rng, 2) ? xi * 2 : xi / 2); break; }
    uint64_t u = 0;
    memcpy(&u, base + i * w, w);
    uint64_t m = ((1ull << wd) - 1) << sh, e = (u & m) >> sh;
    int step = (int)rndn(rng, 9) - 4;
    e = (e + (uint64_t)(int64_t)(step ? step : 1)) & ((1ull << wd) - 1);
    u = (u & ~m) | e << sh;
    memcpy(base + i * w, &u, w);
    break;
  }
  case 1: /* sign flip */
    if (kio_fixed(f)) put(f, base + i * w, -xi);
    else base[i * w + w - 1] ^= 0x80;
    break;
  case 2: { /* special values, and the exp overflow / underflow thresholds of z = x/tau */
    double maxf = of->kind == ORACLE_FLOAT ? ldexp(2 - ldexp(1, 1 - of->p), of->emax) : 127;
    double minsub = of->kind == ORACLE_FLOAT ? ldexp(1, of->emin - of->p + 1) : 1;
    double ovf = log(maxf) * tau, unf = log(minsub) * tau;
    const double sv[] = {0, -0.0, INFINITY, -INFINITY, NAN, minsub, -minsub, maxf, -maxf,
                         of->kind == ORACLE_FLOAT ? ldexp(1, of->emin) : -128, 1, -1,
                         ovf, -ovf, unf, ovf * 1.0001, unf * 1.0001, ovf * 0.9999, 2 * ovf};
    put(f, base + i * w, sv[rndn(rng, sizeof sv / sizeof sv[0])]);
    break;
  }
  case 3: { /* duplicate the row's max */
    size_t im = r0;
    for (size_t j = r0; j < r1; j++) if (elem(f, d, size, FUZZ_HDR + j * w) > elem(f, d, size, FUZZ_HDR + im * w)) im = j;
    memcpy(base + (r0 + rndn(rng, r1 - r0)) * w, base + im * w, w);
    break;
  }
  case 4: { /* scale the whole row by 2^k or a random factor */
    double s = rndn(rng, 2) ? ldexp(1, (int)rndn(rng, 17) - 8) : 0.5 + 4 * rng_unif(rng);
    for (size_t j = r0; j < r1; j++) put(f, base + j * w, elem(f, d, size, FUZZ_HDR + j * w) * s);
    break;
  }
  case 5: { /* grow the spread: push the max up or the min down by the spread */
    size_t im = r0, jm = r0;
    for (size_t j = r0; j < r1; j++) {
      double v = elem(f, d, size, FUZZ_HDR + j * w);
      if (v > elem(f, d, size, FUZZ_HDR + im * w)) im = j;
      if (v < elem(f, d, size, FUZZ_HDR + jm * w)) jm = j;
    }
    double hi = elem(f, d, size, FUZZ_HDR + im * w), lo = elem(f, d, size, FUZZ_HDR + jm * w);
    double s = isfinite(hi - lo) && hi > lo ? hi - lo : 1;
    if (rndn(rng, 2)) put(f, base + im * w, hi + s);
    else put(f, base + jm * w, lo - s);
    break;
  }
  case 6: /* copy one element over another (ties, duplicates) */
    memcpy(base + (r0 + rndn(rng, r1 - r0)) * w, base + i * w, w);
    break;
  case 7: { /* one unit in the last place up or down (near rounding boundaries) */
    uint64_t u = 0;
    memcpy(&u, base + i * w, w);
    u += rndn(rng, 2) ? 1 : (uint64_t)-1;
    memcpy(base + i * w, &u, w);
    break;
  }
  case 8: { /* shift the row by a constant (shift invariance) */
    double s = (rng_unif(rng) - 0.5) * ldexp(1, (int)rndn(rng, 12));
    for (size_t j = r0; j < r1; j++) put(f, base + j * w, elem(f, d, size, FUZZ_HDR + j * w) + s);
    break;
  }
  default: { /* a near-overflow row: one large entry, the rest close below it */
    double top = log(of->kind == ORACLE_FLOAT ? ldexp(1, of->emax) : 64) * tau * (0.5 + rng_unif(rng));
    for (size_t j = r0; j < r1; j++) put(f, base + j * w, top - (double)rndn(rng, 8) * rng_unif(rng));
    break;
  }
  }
  return size;
}

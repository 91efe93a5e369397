/* test_k_lowp.c -- the low-precision families: half.c (binary16/bfloat16
 * storage, binary32 arithmetic) and fixedpoint.c (int8 in, Q0.8 / Q0.15 /
 * Q4.11 out), and the conversion helpers of impls/halfconv.h.
 *
 *  1. Conversions, judged by the oracle and by an independent decoder: all
 *     65536 binary16 and bfloat16 patterns to binary32 and back; binary32 to
 *     binary16/bfloat16 on every value of the format, every midpoint (ties),
 *     their binary32 neighbours, the overflow threshold and random bit
 *     patterns, against oracle_round -- both binary16 paths (bit
 *     manipulation, and _Float16 where the compiler has it).  halfconv.h's
 *     exp against binary64 exp on every 61st binary32 in [-104, 0].
 *  2. Every half and fixedpoint kernel against its claim and the oracle, on
 *     families: normal (sigma 1, 10, 100), near exp overflow and underflow of
 *     the format, ties, masked (masked slots storing NaN/inf too), huge
 *     values; n in {1, 2, 3, 7, 16, 1000} and 65536 on a few rows; tau in
 *     {1, 0.5, 3}; fixed point also in_scale in {1/16, 0.1, 0.0390625, 1}.
 *     Fixed point is also held to its stronger derived bound against the
 *     saturated exact value (fixedpoint.c's header).
 *  3. Special rows (NaN, +inf, all masked, n = 0) by the kernels' declared
 *     conventions, unsupported arguments, and that nothing is written
 *     outside the rows.
 * Expected values come from the oracle, from SEMANTICS.md, or from exact
 * decoding -- never from the kernels.  One line per failure; a summary line
 * per kernel gives the worst error seen. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "halfconv.h"
#include "kernel.h"
#include "oracle.h"

static int npass, nfail;
static uint64_t rng = 0x5eed;
static uint64_t next(void) {
  rng = rng * 6364136223846793005u + 1442695040888963407u;
  return rng >> 11;
}
static double unif(void) { return (double)next() * 0x1p-53; }
static double gauss(void) {
  double u = unif() + 0x1p-60, v = unif();
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* a named group of checks: passes once, or fails once with up to 5 lines */
typedef struct {
  const char *name;
  long bad;
} group;
static void grp_fail(group *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void grp_fail(group *g, const char *fmt, ...) {
  if (g->bad++ < 5) {
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", g->name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
  }
}
static void grp_end(group *g) {
  if (g->bad) {
    nfail++;
    if (g->bad > 5) printf("FAIL %s: %ld failures in all\n", g->name, g->bad);
  } else {
    npass++;
  }
}

/* ---- exact encode/decode of 16-bit IEEE-style formats (independent) ------ */

static int bias_of(const oracle_format *f) { return f->emax; }

static double dec16(const oracle_format *f, uint16_t h) {
  int mb = f->p - 1, eb = 15 - mb;
  int sign = h >> 15, E = (h >> mb) & ((1 << eb) - 1);
  double mant = h & ((1 << mb) - 1), v;
  if (E == (1 << eb) - 1) v = mant ? NAN : INFINITY;
  else if (E == 0) v = ldexp(mant, f->emin - mb);
  else v = ldexp(mant + ldexp(1, mb), E - bias_of(f) - mb);
  return sign ? -v : v;
}

/* v must be a value of f (or inf/NaN) */
static uint16_t enc16(const oracle_format *f, double v) {
  int mb = f->p - 1, eb = 15 - mb;
  uint16_t sign = signbit(v) ? 0x8000 : 0, top = (uint16_t)(((1 << eb) - 1) << mb);
  double a = fabs(v);
  if (isnan(v)) return (uint16_t)(top | (1 << (mb - 1)));
  if (isinf(v)) return sign | top;
  if (a < ldexp(1, f->emin)) return sign | (uint16_t)ldexp(a, mb - f->emin);
  int e;
  double m = frexp(a, &e); /* a = m 2^e, m in [1/2, 1) */
  int E = e - 1 + bias_of(f);
  return sign | (uint16_t)(E << mb) | (uint16_t)(ldexp(m, f->p) - ldexp(1, mb));
}

static int same_value(double a, double b) {
  return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

/* ---- 1. conversions -------------------------------------------------------- */

static void test_decode_all(void) {
  group g16 = {"binary16 -> binary32, all 65536 (bit path)", 0};
  group g16c = {"binary16 -> binary32, all 65536 (compiler path)", 0};
  group gb = {"bfloat16 -> binary32, all 65536", 0};
  group r16 = {"binary16 round trip, all 65536 (bit path)", 0};
  group r16c = {"binary16 round trip, all 65536 (compiler path)", 0};
  group rb = {"bfloat16 round trip, all 65536", 0};
  for (uint32_t i = 0; i < 65536; i++) {
    uint16_t h = (uint16_t)i;
    double want16 = dec16(&oracle_binary16, h), wantb = dec16(&oracle_bfloat16, h);
    float a = smax_f16_bits_to_float(h), c = smax_f16_to_float(h), b = smax_bf16_to_float(h);
    if (!same_value(a, want16)) grp_fail(&g16, "0x%04x -> %a, want %a", i, a, want16);
    if (!same_value(c, want16)) grp_fail(&g16c, "0x%04x -> %a, want %a", i, c, want16);
    if (!same_value(b, wantb)) grp_fail(&gb, "0x%04x -> %a, want %a", i, b, wantb);
    /* back: identity, except a NaN comes back quiet with its sign and payload */
    uint16_t want_rt16 = isnan(want16) ? (uint16_t)(h | 0x0200) : h;
    uint16_t want_rtb = isnan(wantb) ? (uint16_t)(h | 0x0040) : h;
    uint16_t back = smax_f16_bits_from_float(a), backc = smax_float_to_f16(c),
             backb = smax_float_to_bf16(b);
    if (back != want_rt16) grp_fail(&r16, "0x%04x -> %a -> 0x%04x", i, a, back);
    if (isnan(want16) ? !(isnan(dec16(&oracle_binary16, backc)) && (backc & 0x8000) == (h & 0x8000))
                      : backc != h)
      grp_fail(&r16c, "0x%04x -> %a -> 0x%04x", i, c, backc);
    if (backb != want_rtb) grp_fail(&rb, "0x%04x -> %a -> 0x%04x", i, b, backb);
  }
  grp_end(&g16), grp_end(&g16c), grp_end(&gb), grp_end(&r16), grp_end(&r16c), grp_end(&rb);
}

/* float -> 16-bit by one converter, against oracle_round */
typedef uint16_t (*to16_fn)(float);
static void check_round(group *g, const oracle_format *f, to16_fn conv, float v) {
  double want = oracle_round(f, (double)v);
  uint16_t h = conv(v);
  double got = dec16(f, h);
  if (!same_value(got, want)) grp_fail(g, "%s(%a) = 0x%04x = %a, oracle %a", f->name, v, h, got, want);
}

static float fnext(float v, int up) { return nextafterf(v, up ? INFINITY : -INFINITY); }

static void test_round_one(const char *name, const oracle_format *f, to16_fn conv) {
  char buf[160];
  snprintf(buf, sizeof buf, "binary32 -> %s rounding vs oracle_round (%s)", f->name, name);
  group g = {buf, 0};
  for (uint32_t i = 0; i < 65536; i++) {
    double v = dec16(f, (uint16_t)i);
    if (isnan(v)) continue;
    float fv = (float)v;
    check_round(&g, f, conv, fv);
    check_round(&g, f, conv, fnext(fv, 1));
    check_round(&g, f, conv, fnext(fv, 0));
    if (isinf(v)) continue;
    double w = dec16(f, (uint16_t)(i + 1)); /* the next pattern: next value away from 0 */
    if (isinf(w)) w = copysign(ldexp(1, f->emax + 1), v); /* overflow threshold's midpoint */
    if (isnan(w)) continue;
    float mid = (float)((v + w) / 2); /* exact: a 16-bit midpoint has <= 12 bits */
    check_round(&g, f, conv, mid);
    check_round(&g, f, conv, fnext(mid, 1));
    check_round(&g, f, conv, fnext(mid, 0));
  }
  const float extra[] = {0.0f, -0.0f, 0x1p-149f, -0x1p-149f, 0x1p-126f, 0x1p-25f, 0x1.000002p-25f,
                         0x1.8p-25f, 0x1p-24f, 0x1.7fep-15f, 65504.0f, 65519.99f, 65520.0f,
                         -65520.0f, 65536.0f, 3.389531e38f, 3.3961e38f, 3.4028235e38f,
                         INFINITY, -INFINITY, NAN, -NAN};
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) check_round(&g, f, conv, extra[i]);
  for (int i = 0; i < 1000000; i++) check_round(&g, f, conv, smax_f32_from_bits((uint32_t)next()));
  grp_end(&g);
}

static uint16_t f16_bits_conv(float v) { return smax_f16_bits_from_float(v); }
static uint16_t f16_cc_conv(float v) { return smax_float_to_f16(v); }
static uint16_t bf16_conv(float v) { return smax_float_to_bf16(v); }

static void test_expf(void) {
  group g = {"smax_expf_nonpos vs binary64 exp, every 61st binary32 in [-104, 0]", 0};
  for (uint32_t b = 0x80000000u; b <= 0xc2d00000u; b += 61) {
    float t = smax_f32_from_bits(b);
    double ex = exp((double)t), got = smax_expf_nonpos(t);
    int ok = ex >= 0x1p-126 ? fabs(got - ex) <= 1.5 * 0x1p-24 * ex : fabs(got - ex) <= 0.751 * 0x1p-149;
    if (!ok) grp_fail(&g, "exp(%a) = %a, binary64 %a", t, got, ex);
  }
  const float below[] = {-104.0001f, -105, -1e30f, -INFINITY};
  for (int i = 0; i < 4; i++)
    if (!same_value(smax_expf_nonpos(below[i]), 0.0)) grp_fail(&g, "exp(%a) != +0", below[i]);
  if (!isnan(smax_expf_nonpos(NAN))) grp_fail(&g, "exp(NaN) not NaN");
  if (smax_expf_nonpos(0.0f) != 1.0f || smax_expf_nonpos(-0.0f) != 1.0f) grp_fail(&g, "exp(0) != 1");
  grp_end(&g);
}

/* ---- 2. kernels against the oracle ---------------------------------------- */

static const oracle_format *oracle_fmt(smax_format f) {
  switch (f) {
  case SMAX_F16: return &oracle_binary16;
  case SMAX_BF16: return &oracle_bfloat16;
  case SMAX_Q8_UQ0_8: return &oracle_uq0_8;
  case SMAX_Q8_Q0_15: return &oracle_q0_15;
  case SMAX_Q8_Q4_11: return &oracle_q4_11;
  default: return NULL;
  }
}
static int is_fixed(smax_format f) { return f >= SMAX_Q8_UQ0_8; }
static size_t out_size(smax_format f) { return f == SMAX_Q8_UQ0_8 ? 1 : 2; }

static double load_out(smax_format f, const void *y, size_t i) {
  switch (f) {
  case SMAX_F16: return dec16(&oracle_binary16, ((const uint16_t *)y)[i]);
  case SMAX_BF16: return dec16(&oracle_bfloat16, ((const uint16_t *)y)[i]);
  case SMAX_Q8_UQ0_8: return ((const uint8_t *)y)[i] / 256.0;
  case SMAX_Q8_Q0_15: return ((const int16_t *)y)[i] / 32768.0;
  default: return ((const int16_t *)y)[i] / 2048.0;
  }
}
static void store_in(smax_format f, void *x, size_t i, double v) {
  if (is_fixed(f)) ((int8_t *)x)[i] = (int8_t)v;
  else ((uint16_t *)x)[i] = enc16(oracle_fmt(f), v);
}

/* a storable input near v */
static double round_in(smax_format f, double v) {
  if (is_fixed(f)) {
    double q = nearbyint(v);
    return q > 127 ? 127 : q < -128 ? -128 : q;
  }
  return oracle_round(oracle_fmt(f), v);
}

enum { F_SIG1, F_SIG10, F_SIG100, F_OVER, F_UNDER, F_TIES, F_MASKED, F_HUGE, NFAM };
static const char *const fam_names[NFAM] = {"normal-1", "normal-10", "normal-100", "near-exp-overflow",
                                            "near-exp-underflow", "ties", "masked", "huge"};

/* one row of family fam: x (storable doubles; masked slots may hold NaN/inf), m */
static void gen_row(smax_format f, int fam, size_t n, double tau, double scale, double *x,
                    unsigned char *m) {
  int fixed = is_fixed(f), f16 = f == SMAX_F16;
  double over = f16 ? 11.09 : 88.72, under = f16 ? -17.33 : (next() & 1) ? -103.97 : -92.9;
  double big = f16 ? 65504 : 3.3895e38;
  for (size_t i = 0; i < n; i++) {
    double v;
    m[i] = 0;
    switch (fam) {
    case F_SIG1: v = fixed ? 1 * gauss() / scale : gauss(); break;
    case F_SIG10: v = fixed ? 40 * gauss() : 10 * gauss(); break;
    case F_SIG100: v = fixed ? 300 * gauss() : 100 * gauss(); break; /* fixed: saturates */
    case F_OVER: v = fixed ? 127 - 8 * unif() : over * tau - 2 * unif(); break;
    case F_UNDER: /* the max at 0, the rest about `under` below it (in z) */
      v = i == 0 ? 0 : fixed ? -128 + 30 * unif() : (under + 3 * (unif() - 0.5)) * tau;
      if (fixed && i == 0) v = 127;
      break;
    case F_TIES: v = (double)(int)(unif() * 3) * (fixed ? 1 : 0.5); break;
    case F_MASKED:
      v = fixed ? 60 * gauss() : 3 * gauss();
      m[i] = unif() < 0.3;
      break;
    default: /* huge magnitudes: output overflow for log_softmax / logsumexp */
      v = fixed ? ((next() & 1) ? 127 : -128) : big * (unif() < 0.7 ? 1 - 0.001 * unif() : -1);
      break;
    }
    x[i] = round_in(f, v);
    if (m[i] && !fixed) { /* the mask overrides whatever is stored */
      uint64_t r = next() % 4;
      x[i] = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : x[i];
    }
  }
  if (fam == F_MASKED) { /* at least one unmasked slot, holding a finite value */
    size_t i = next() % n;
    m[i] = 0;
    x[i] = round_in(f, fixed ? 60 * gauss() : 3 * gauss());
  }
}

/* worst error seen, per kernel */
typedef struct {
  double err, allow; /* the largest error, and the claim for that output */
  size_t n;
  double margin;     /* the smallest allow - err */
  double sat_err;    /* fixed point: the largest error against the saturated exact value */
} worst;

/* the claim's allowance for one output (kernel.h), u = 2^-p the format's */
static double allowance(const smax_kernel *k, const oracle_format *of, const oracle_xval *xv, size_t n,
                        double spread) {
  double ulp = ldexp(1, (int)oracle_ulp_exp(of, xv));
  double u = of->kind == ORACLE_FLOAT ? ldexp(1, -of->p) : 0;
  return k->claim.ulp_const + k->claim.ulp_per_n * (double)n + k->claim.ulp_per_spread * spread +
         k->claim.abs_u_per_n * (double)n * u / ulp;
}

/* error in ulps/LSBs of `got` from the exact value.  Float: a computed +-inf
 * where the exact value is finite counts as +-2^(emax+1), the value IEEE
 * rounding with an unbounded exponent gives before overflow.  Fixed, if
 * `clamp`: the exact value saturated to the grid's range. */
static double err_of(const oracle_format *of, double got, const oracle_xval *xv, double want,
                     int clamp, double *unc) {
  *unc = 0;
  if (of->kind == ORACLE_FLOAT) {
    if (isinf(got) && isfinite(xv->hi)) {
      if (got == want) return 0; /* correctly rounded overflow */
      got = copysign(ldexp(1, of->emax + 1), got);
    }
    return oracle_ulp_error(of, got, xv, unc);
  }
  double lo = ldexp((double)of->kmin, -of->frac), hi = ldexp((double)of->kmax, -of->frac);
  double y = ldexp(xv->hi, (int)xv->e);
  if (clamp && isinf(xv->hi)) return fabs(got - (xv->hi < 0 ? lo : hi)) * ldexp(1, of->frac);
  if (clamp && y > hi) return fabs(got - hi) * ldexp(1, of->frac);
  if (clamp && y < lo) return fabs(got - lo) * ldexp(1, of->frac);
  return oracle_ulp_error(of, got, xv, unc);
}

static void print_fail(const smax_kernel *k, const char *what, double tau, double scale, int fam,
                       size_t n, const double *x, const unsigned char *m, size_t o, double got,
                       double want, double e, double allow) {
  printf("FAIL %s %s %s [%s] family %s tau=%a scale=%a n=%zu output %zu: got %a oracle %a, "
         "%.4g ulp > %.4g x=[",
         k->name, smax_func_name(k->func), smax_format_name(k->fmt), what, fam_names[fam], tau,
         scale, n, o, got, want, e, allow);
  for (size_t i = 0; i < n && i < 1000; i++) printf(i ? " %a" : "%a", m[i] ? -INFINITY : x[i]);
  printf(n > 1000 ? " ...]\n" : "]\n");
}

static oracle_func ofunc(smax_func f) { return (oracle_func)f; }

/* run kernel k on `rows` rows of family fam; returns the failure count */
static int check_rows(const smax_kernel *k, int fam, size_t n, size_t rows, double tau, double scale,
                      worst *w) {
  const oracle_format *of = oracle_fmt(k->fmt);
  int lse = k->func == SMAX_LOGSUMEXP, fixed = is_fixed(k->fmt);
  size_t xs = n + 3, ys = lse ? 2 : n + 3, no = lse ? 1 : n; /* strides leave gaps */
  double *x = malloc(rows * xs * sizeof *x);
  unsigned char *m = malloc(rows * xs);
  unsigned char *xb = malloc(rows * xs * 2), *yb = malloc((rows * ys + 4) * 2);
  double *want = malloc(no * sizeof *want);
  oracle_xval *xv = malloc(no * sizeof *xv);
  memset(yb, 0xA5, (rows * ys + 4) * 2);
  for (size_t r = 0; r < rows; r++) {
    gen_row(k->fmt, fam, n, tau, scale, x + r * xs, m + r * xs);
    for (size_t i = 0; i < n; i++) store_in(k->fmt, xb, r * xs + i, x[r * xs + i]);
  }
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = rows, a.n = n, a.x = xb, a.x_stride = xs, a.mask = m, a.mask_stride = xs;
  a.y = yb, a.y_stride = ys, a.tau = tau, a.in_scale = scale;
  int fails = 0;
  if (k->run(&a)) {
    printf("FAIL %s %s %s: returned nonzero (family %s n=%zu tau=%a scale=%a)\n", k->name,
           smax_func_name(k->func), smax_format_name(k->fmt), fam_names[fam], n, tau, scale);
    fails = 1;
    goto out;
  }
  for (size_t r = 0; r < rows; r++) {
    const double *xr = x + r * xs;
    const unsigned char *mr = m + r * xs;
    double mx = -INFINITY, mn = INFINITY;
    for (size_t i = 0; i < n; i++)
      if (!mr[i]) mx = fmax(mx, xr[i]), mn = fmin(mn, xr[i]);
    double spread = (mx - mn) * (fixed ? scale : 1) / tau;
    oracle_params p = {tau, fixed ? scale : 1, mr, NULL, 0};
    if (oracle_eval(ofunc(k->func), of, n, xr, &p, want, xv, NULL) != 0) {
      printf("FAIL oracle_eval did not resolve (family %s n=%zu)\n", fam_names[fam], n);
      fails++;
      continue;
    }
    for (size_t o = 0; o < no; o++) {
      double got = load_out(k->fmt, yb, r * ys + o), unc;
      /* the registered claim, as the generic harness measures it; for
       * fixed-point log_softmax against the saturated exact value */
      int clamp = fixed && k->func == SMAX_LOG_SOFTMAX;
      double e = err_of(of, got, &xv[o], want[o], clamp, &unc);
      double allow = allowance(k, of, &xv[o], n, spread);
      if (e > w->err) w->err = e, w->allow = allow, w->n = n;
      if (allow - e < w->margin) w->margin = allow - e;
      if (!(e <= allow + unc)) {
        if (fails++ < 3) print_fail(k, "claim", tau, scale, fam, n, xr, mr, o, got, want[o], e, allow);
      }
      if (fixed) { /* the stronger derived bound against the saturated exact value */
        int F = of->frac;
        double strong = k->func == SMAX_LOG_SOFTMAX
                            ? 0.5 + 0x1p-16 + (double)n * 0x1p-30
                            : 0.5 + 23.1 * ldexp(1, F - 32) + (double)n * ldexp(1, F - 41);
        double es = err_of(of, got, &xv[o], want[o], 1, &unc);
        if (es > w->sat_err) w->sat_err = es;
        if (!(es <= strong + unc) && fails++ < 3)
          print_fail(k, "derived bound, saturated", tau, scale, fam, n, xr, mr, o, got, want[o], es,
                     strong);
      }
    }
  }
  /* nothing written between rows or after the last */
  for (size_t r = 0; r < rows; r++)
    for (size_t i = no; i < ys; i++) {
      const unsigned char *c = yb + (r * ys + i) * out_size(k->fmt);
      for (size_t b = 0; b < out_size(k->fmt); b++)
        if (c[b] != 0xA5) {
          if (fails++ < 3)
            printf("FAIL %s %s %s: wrote outside row %zu (slot %zu)\n", k->name,
                   smax_func_name(k->func), smax_format_name(k->fmt), r, i);
          b = out_size(k->fmt), i = ys;
        }
    }
out:
  free(x), free(m), free(xb), free(yb), free(want), free(xv);
  return fails;
}

static int is_mine(const smax_kernel *k) {
  return !strcmp(k->name, "stable-f32acc") || !strcmp(k->name, "online-f32acc") ||
         !strcmp(k->name, "fixedpoint");
}

static void test_kernel_claims(const smax_kernel *k) {
  const size_t ns[] = {1, 2, 3, 7, 16, 1000};
  const double taus[] = {1, 0.5, 3};
  const double scales[] = {1.0 / 16, 0.1, 0.0390625, 1};
  int fixed = is_fixed(k->fmt), fails = 0;
  worst w = {-1, 0, 0, INFINITY, -1};
  for (int fam = 0; fam < NFAM; fam++)
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
      for (size_t b = 0; b < 3; b++) {
        size_t rows = ns[a] >= 1000 ? 2 : fixed ? 8 : 24;
        if (!fixed) {
          fails += check_rows(k, fam, ns[a], rows, taus[b], 1, &w);
        } else {
          for (size_t c = 0; c < 4; c++)
            if (ns[a] < 1000 || c == (b + (size_t)fam) % 4)
              fails += check_rows(k, fam, ns[a], rows, taus[b], scales[c], &w);
        }
      }
  /* n = 65536 on a few rows */
  fails += check_rows(k, F_SIG1, 65536, 1, 1, 0.0390625, &w);
  fails += check_rows(k, F_MASKED, 65536, 1, 3, 0.1, &w);
  fails += check_rows(k, F_TIES, 65536, 1, 0.5, 1, &w);
  printf("  %-14s %-11s %-9s max %.6f (claim there %.6f, n=%zu); least margin %.3g\n", k->name,
         smax_func_name(k->func), smax_format_name(k->fmt), w.err, w.allow, w.n, w.margin);
  if (fixed) printf("  %-14s %-11s %-9s max %.6f against the saturated exact value\n", "", "", "", w.sat_err);
  if (fails) nfail++;
  else npass++;
}

/* ---- 3. special rows, conventions, unsupported arguments ------------------- */

/* run k on one row x (stored exactly), mask m; outputs into y (doubles) */
static int run_one(const smax_kernel *k, const double *x, const unsigned char *m, size_t n,
                   double tau, double scale, double *y) {
  unsigned char xb[64], yb[64];
  smax_args a;
  memset(&a, 0, sizeof a);
  for (size_t i = 0; i < n; i++) store_in(k->fmt, xb, i, x[i]);
  a.rows = 1, a.n = n, a.x = xb, a.x_stride = n, a.mask = m, a.mask_stride = n;
  a.y = yb, a.y_stride = n, a.tau = tau, a.in_scale = scale;
  int rc = k->run(&a);
  size_t no = k->func == SMAX_LOGSUMEXP ? 1 : n;
  for (size_t i = 0; i < no && !rc; i++) y[i] = load_out(k->fmt, yb, i);
  return rc;
}

static void expect_row(group *g, const smax_kernel *k, const char *what, const double *x,
                       const unsigned char *m, size_t n, const double *want) {
  double y[16];
  if (run_one(k, x, m, n, 1, 1, y)) {
    grp_fail(g, "%s %s %s %s: returned nonzero", k->name, smax_func_name(k->func),
             smax_format_name(k->fmt), what);
    return;
  }
  size_t no = k->func == SMAX_LOGSUMEXP ? 1 : n;
  for (size_t i = 0; i < no; i++)
    if (!same_value(y[i], want[i]))
      grp_fail(g, "%s %s %s %s: output %zu = %a, want %a (x[0]=%a)", k->name, smax_func_name(k->func),
               smax_format_name(k->fmt), what, i, y[i], want[i], x[0]);
}

static void test_specials_float(const smax_kernel *k) {
  group g = {"half kernels: special rows (SEMANTICS.md; convention ieee-nan)", 0};
  const oracle_format *of = oracle_fmt(k->fmt);
  int lse = k->func == SMAX_LOGSUMEXP;
  double want[8], ref[8];
  unsigned char none[4] = {0, 0, 0, 0}, all[4] = {1, 1, 1, 1};
  oracle_params p = {1, 1, NULL, NULL, 0};
  /* NaN anywhere unmasked: all NaN (the reference) */
  double xn[4] = {1, NAN, 0.5, -2};
  for (int i = 0; i < 4; i++) want[i] = NAN;
  expect_row(&g, k, "NaN row", xn, none, 4, want);
  /* +inf (one and two): logsumexp +inf (reference); softmax/log_softmax all NaN (ieee-nan) */
  double xi[4] = {1, INFINITY, 0.5, -2}, xi2[4] = {INFINITY, 1, INFINITY, 0};
  for (int i = 0; i < 4; i++) want[i] = lse ? INFINITY : NAN;
  expect_row(&g, k, "+inf entry", xi, none, 4, want);
  expect_row(&g, k, "two +inf entries", xi2, none, 4, want);
  if (lse) { /* and that is the oracle's value */
    oracle_eval(ORACLE_LOGSUMEXP, of, 4, xi, &p, ref, NULL, NULL);
    if (ref[0] != INFINITY) grp_fail(&g, "oracle lse(+inf row) = %a", ref[0]);
  }
  /* all masked (stored values anything), and all -inf: reference NaN / lse -inf */
  double xm[4] = {1, NAN, INFINITY, -3}, xneg[3] = {-INFINITY, -INFINITY, -INFINITY};
  p.masked = all;
  oracle_eval(ofunc(k->func), of, 4, xm, &p, ref, NULL, NULL);
  expect_row(&g, k, "all masked", xm, all, 4, ref);
  p.masked = NULL;
  oracle_eval(ofunc(k->func), of, 3, xneg, &p, ref, NULL, NULL);
  expect_row(&g, k, "all -inf", xneg, none, 3, ref);
  /* -inf entries unmasked count as masked; masked NaN is ignored: oracle values */
  double xp[4] = {-INFINITY, 0.5, NAN, 2};
  unsigned char mp[4] = {0, 0, 1, 0};
  p.masked = mp;
  double y[4];
  if (run_one(k, xp, mp, 4, 1, 1, y)) grp_fail(&g, "%s: part-masked row returned nonzero", k->name);
  else {
    oracle_xval xv[4];
    oracle_eval(ofunc(k->func), of, 4, xp, &p, ref, xv, NULL);
    for (size_t i = 0; i < (lse ? 1u : 4u); i++) {
      double unc, e = err_of(of, y[i], &xv[i], ref[i], 0, &unc);
      if (isinf(ref[i]) ? y[i] != ref[i] : !(e <= allowance(k, of, &xv[i], 4, 2.5) + unc))
        grp_fail(&g, "%s %s %s part-masked: output %zu = %a, oracle %a", k->name,
                 smax_func_name(k->func), smax_format_name(k->fmt), i, y[i], ref[i]);
    }
  }
  /* n = 0: logsumexp -inf; others write nothing */
  {
    uint16_t yb[2] = {0x1234, 0x1234}, xb[1] = {0};
    smax_args a;
    memset(&a, 0, sizeof a);
    a.rows = 2, a.n = 0, a.x = xb, a.y = yb, a.y_stride = 1, a.tau = 1;
    if (k->run(&a)) grp_fail(&g, "%s %s n = 0 returned nonzero", k->name, smax_func_name(k->func));
    else if (lse ? !(dec16(of, yb[0]) == -INFINITY && dec16(of, yb[1]) == -INFINITY)
                 : !(yb[0] == 0x1234 && yb[1] == 0x1234))
      grp_fail(&g, "%s %s n = 0 wrote 0x%04x 0x%04x", k->name, smax_func_name(k->func), yb[0], yb[1]);
  }
  /* unsupported: tau 0, NaN, inf, or 2/tau not a normal binary32 */
  const double bad_tau[] = {0, -1, NAN, INFINITY, 1e-39, 0x1p128};
  for (size_t i = 0; i < sizeof bad_tau / sizeof bad_tau[0]; i++) {
    double x1[1] = {1}, y1[1];
    if (run_one(k, x1, NULL, 1, bad_tau[i], 1, y1) == 0)
      grp_fail(&g, "%s %s %s tau=%a accepted", k->name, smax_func_name(k->func),
               smax_format_name(k->fmt), bad_tau[i]);
  }
  {
    smax_args a;
    memset(&a, 0, sizeof a);
    a.rows = 1, a.n = ((size_t)1 << 24) + 1, a.tau = 1; /* x NULL: must not be read */
    if (k->run(&a) == 0) grp_fail(&g, "%s n = 2^24 + 1 accepted", k->name);
  }
  grp_end(&g);
}

static void test_specials_fixed(const smax_kernel *k) {
  group g = {"fixedpoint: all-masked rows (zero-row / neg-inf-row), n = 0, bad arguments", 0};
  int lsm = k->func == SMAX_LOG_SOFTMAX;
  double x[4] = {5, -7, 127, -128}, want[4];
  unsigned char all[4] = {1, 1, 1, 1};
  for (int i = 0; i < 4; i++) want[i] = lsm ? -16.0 : 0.0; /* -32768/2048 = -16 */
  expect_row(&g, k, "all masked", x, all, 4, want);
  /* masked slots: 0 / -32768 exactly */
  unsigned char some[4] = {1, 0, 1, 0};
  double y[4];
  if (run_one(k, x, some, 4, 1, 0.1, y) || y[0] != want[0] || y[2] != want[2])
    grp_fail(&g, "%s %s masked slots: %a %a", k->name, smax_format_name(k->fmt), y[0], y[2]);
  {
    unsigned char yb[4] = {0x5a, 0x5a, 0x5a, 0x5a}, xb[1] = {0};
    smax_args a;
    memset(&a, 0, sizeof a);
    a.rows = 2, a.n = 0, a.x = xb, a.y = yb, a.tau = 1, a.in_scale = 1;
    if (k->run(&a) || yb[0] != 0x5a || yb[3] != 0x5a) grp_fail(&g, "%s n = 0", k->name);
  }
  const double bad[][2] = {{0, 1}, {-1, 1}, {NAN, 1}, {INFINITY, 1}, {0.1, 0}, {0.1, NAN}, {0.1, -2}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (run_one(k, x, NULL, 4, bad[i][1], bad[i][0], y) == 0)
      grp_fail(&g, "%s %s in_scale=%a tau=%a accepted", k->name, smax_format_name(k->fmt), bad[i][0],
               bad[i][1]);
  {
    smax_args a;
    memset(&a, 0, sizeof a);
    a.rows = 1, a.n = ((size_t)1 << 22) + 1, a.tau = 1, a.in_scale = 1;
    if (k->run(&a) == 0) grp_fail(&g, "%s n = 2^22 + 1 accepted", k->name);
  }
  /* extreme scales against the oracle: beta huge (every gap past e^-40) and tiny (uniform) */
  const double scales[] = {1e30, 1e-30, 0x1p-60, 1e300};
  double xe[4] = {3, -2, 3, 100};
  oracle_params p = {1, 0, NULL, NULL, 0};
  for (size_t s = 0; s < 4; s++) {
    oracle_xval xv[4];
    double ref[4];
    p.scale = scales[s];
    if (run_one(k, xe, NULL, 4, 1, scales[s], y)) {
      grp_fail(&g, "%s in_scale=%a returned nonzero", k->name, scales[s]);
      continue;
    }
    oracle_eval(ofunc(k->func), oracle_fmt(k->fmt), 4, xe, &p, ref, xv, NULL);
    for (int i = 0; i < 4; i++) {
      double unc, e = err_of(oracle_fmt(k->fmt), y[i], &xv[i], ref[i], lsm, &unc);
      if (!(e <= allowance(k, oracle_fmt(k->fmt), &xv[i], 4, 0) + unc))
        grp_fail(&g, "%s %s in_scale=%a x=[3 -2 3 100] output %d = %a, oracle %a", k->name,
                 smax_format_name(k->fmt), scales[s], i, y[i], ref[i]);
    }
  }
  grp_end(&g);
}

int main(void) {
  test_decode_all();
  test_round_one("bit path", &oracle_binary16, f16_bits_conv);
  test_round_one(SMAX_HALFCONV_FLOAT16 ? "_Float16 path" : "bit path again", &oracle_binary16, f16_cc_conv);
  test_round_one("bit path", &oracle_bfloat16, bf16_conv);
  test_expf();

  size_t nk, mine = 0;
  const smax_kernel *ks = smax_registry(&nk);
  printf("worst error per kernel (ulps / LSBs; fixed log_softmax vs the saturated exact value):\n");
  for (size_t i = 0; i < nk; i++) {
    if (!is_mine(&ks[i])) continue;
    mine++;
    test_kernel_claims(&ks[i]);
    if (is_fixed(ks[i].fmt)) test_specials_fixed(&ks[i]);
    else test_specials_float(&ks[i]);
  }
  if (mine != 15) {
    printf("FAIL expected 15 registered half/fixedpoint kernels, found %zu\n", mine);
    nfail++;
  }
  oracle_cleanup();
  printf("%d passed, %d failed\n", npass, nfail);
  return nfail != 0;
}

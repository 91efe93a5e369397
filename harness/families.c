/* families.c -- the input families.  A generator writes one row of real
 * values; batch_make rounds them to the kernel's input format (fixed point:
 * to int8 after dividing by in_scale), so every input is exactly storable. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "families.h"
#include "kio.h"

uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}
double rng_unif(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1p-53; }
double rng_gauss(uint64_t *s) {
  double u = rng_unif(s) + 0x1p-60, v = rng_unif(s);
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* exp overflow / underflow thresholds of the real input of format f:
 * ln(largest finite) and ln(half the least subnormal) */
static double over(smax_format f) {
  const oracle_format *o = kio_oracle_format(f);
  return o->kind == ORACLE_FLOAT ? (o->emax + 1) * M_LN2 : 5.5;
}
static double under(smax_format f) {
  const oracle_format *o = kio_oracle_format(f);
  return o->kind == ORACLE_FLOAT ? (o->emin - o->p) * M_LN2 : -6.3;
}
static double biggest(smax_format f) {
  const oracle_format *o = kio_oracle_format(f);
  return o->kind == ORACLE_FLOAT ? ldexp(2 - ldexp(1, 1 - o->p), o->emax) : 127.0 / 16;
}

#define GEN(name) static void name(smax_format f, uint64_t *r, size_t n, double *x, unsigned char *m)
#define UNUSED (void)f, (void)m

GEN(g_normal1) { UNUSED; for (size_t i = 0; i < n; i++) x[i] = rng_gauss(r); }
GEN(g_normal10) { UNUSED; for (size_t i = 0; i < n; i++) x[i] = 10 * rng_gauss(r); }
GEN(g_normal100) { UNUSED; for (size_t i = 0; i < n; i++) x[i] = 100 * rng_gauss(r); }
GEN(g_normal1000) { UNUSED; for (size_t i = 0; i < n; i++) x[i] = 1000 * rng_gauss(r); }
GEN(g_bits) { /* uniform over the finite bit patterns */
  (void)m;
  const oracle_format *o = kio_oracle_format(f);
  for (size_t i = 0; i < n; i++) {
    double v;
    do {
      uint64_t b = rng_next(r);
      if (o->kind == ORACLE_FIXED) v = (double)(int8_t)b / 16;
      else if (o->p == 53) memcpy(&v, &b, 8);
      else if (o->p == 24) { float g; uint32_t w = (uint32_t)b; memcpy(&g, &w, 4); v = g; }
      else { /* 16-bit formats: sign, exponent field, fraction */
        int eb = o->p == 11 ? 5 : 8, E = (int)((b >> 1) & ((1u << eb) - 1));
        double fr = (double)((b >> 9) & ((1u << (o->p - 1)) - 1));
        int bias = (1 << (eb - 1)) - 1;
        v = E == (1 << eb) - 1 ? NAN
            : E == 0 ? ldexp(fr, o->emin - o->p + 1) : ldexp(1 + ldexp(fr, 1 - o->p), E - bias);
        if (b & 1) v = -v;
      }
    } while (!isfinite(v));
    x[i] = v;
  }
}
GEN(g_spread) { /* max - min near the format's limit */
  (void)m;
  double B = biggest(f);
  for (size_t i = 0; i < n; i++) x[i] = (i % 2 ? -1 : 1) * B * (0.5 + 0.5 * rng_unif(r));
}
GEN(g_overflow) { (void)m; for (size_t i = 0; i < n; i++) x[i] = over(f) + 2 * rng_gauss(r); }
GEN(g_underflow) { /* x - max near the underflow threshold */
  (void)m;
  for (size_t i = 0; i < n; i++) x[i] = i == 0 ? 0 : under(f) + 2 * rng_gauss(r);
}
GEN(g_equal) { UNUSED; double v = 10 * rng_gauss(r); for (size_t i = 0; i < n; i++) x[i] = v; }
GEN(g_dominant) {
  (void)m;
  double gap = kio_oracle_format(f)->kind == ORACLE_FLOAT && kio_oracle_format(f)->p == 11 ? 8 : 30;
  size_t k = (size_t)(rng_unif(r) * n);
  for (size_t i = 0; i < n; i++) x[i] = rng_gauss(r) + (i == k ? gap : 0);
}
GEN(g_ties) { /* several entries share the max */
  UNUSED;
  for (size_t i = 0; i < n; i++) x[i] = rng_unif(r) < 0.3 ? 4 : rng_gauss(r);
}
GEN(g_mask) {
  (void)f;
  for (size_t i = 0; i < n; i++) x[i] = 3 * rng_gauss(r), m[i] = rng_unif(r) < 0.3;
  m[(size_t)(rng_unif(r) * n)] = 0;
}
GEN(g_mask_full) { (void)f; for (size_t i = 0; i < n; i++) x[i] = rng_gauss(r), m[i] = 1; }
GEN(g_specials) { /* NaN, +inf, -inf among finite values */
  (void)f, (void)m;
  static const double sp[] = {NAN, INFINITY, -INFINITY, 0.0};
  for (size_t i = 0; i < n; i++) x[i] = rng_unif(r) < 0.25 ? sp[rng_next(r) % 4] : rng_gauss(r);
}
GEN(g_subnormal) {
  (void)m;
  const oracle_format *o = kio_oracle_format(f);
  double least = o->kind == ORACLE_FLOAT ? ldexp(1, o->emin - o->p + 1) : 1.0 / 16;
  for (size_t i = 0; i < n; i++)
    x[i] = (rng_unif(r) < 0.5 ? -1 : 1) * least * floor(rng_unif(r) * (o->kind == ORACLE_FLOAT ? ldexp(1, o->p - 1) : 4));
}
GEN(g_attention) { /* q.k / sqrt(d), d = 64, q and k ~ N(0, 1) */
  UNUSED;
  double q[64];
  for (int j = 0; j < 64; j++) q[j] = rng_gauss(r);
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < 64; j++) s += q[j] * rng_gauss(r);
    x[i] = s / 8;
  }
}

static const family all[] = {
    {"normal1", "x ~ N(0, 1)", g_normal1, 0},
    {"normal10", "x ~ N(0, 10^2)", g_normal10, 0},
    {"normal100", "x ~ N(0, 100^2)", g_normal100, 0},
    {"normal1000", "x ~ N(0, 1000^2)", g_normal1000, 0},
    {"bits", "uniform over the format's finite bit patterns", g_bits, 0},
    {"spread", "max - min near the format's limit", g_spread, 0},
    {"overflow", "x near the exp overflow threshold ln(max)", g_overflow, 0},
    {"underflow", "x - max near the exp underflow threshold", g_underflow, 0},
    {"equal", "all entries equal", g_equal, 0},
    {"dominant", "one entry dominates by e^30", g_dominant, 0},
    {"ties", "ties at the max", g_ties, 0},
    {"masked", "30% of entries masked", g_mask, 0},
    {"masked-all", "every entry masked", g_mask_full, 1},
    {"specials", "NaN, +inf, -inf among finite values", g_specials, 1},
    {"subnormal", "subnormal inputs", g_subnormal, 0},
    {"attention", "q.k/sqrt(64), q and k ~ N(0, 1)", g_attention, 0},
};

const family *families(size_t *count) {
  *count = sizeof all / sizeof all[0];
  return all;
}

const family *family_by_name(const char *name) {
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (!strcmp(all[i].name, name)) return &all[i];
  return NULL;
}

/* FNV-1a of the family name, so each family has its own stream */
static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603u;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211u;
  return h;
}

int batch_make(batch *b, const family *fam, smax_format f, size_t n, size_t rows,
               uint64_t seed, double tau) {
  memset(b, 0, sizeof *b);
  size_t tot = rows * n > 0 ? rows * n : 1;
  b->rows = rows, b->n = n, b->tau = tau, b->in_scale = kio_fixed(f) ? 1.0 / 16 : 1;
  b->x = malloc(tot * sizeof *b->x);
  b->dy = malloc(tot * sizeof *b->dy);
  b->mask = calloc(tot, 1);
  b->target = calloc(rows ? rows : 1, sizeof *b->target);
  if (!b->x || !b->dy || !b->mask || !b->target) { batch_free(b); return -1; }
  uint64_t r = seed ^ hash(fam->name) ^ ((uint64_t)f << 56) ^ ((uint64_t)n << 20);
  for (size_t k = 0; k < rows; k++) {
    double *x = b->x + k * n, *dy = b->dy + k * n;
    unsigned char *m = b->mask + k * n;
    if (n) fam->gen(f, &r, n, x, m);
    for (size_t i = 0; i < n; i++) {
      double v = x[i];
      if (kio_fixed(f)) v = isnan(v) ? 0 : v / b->in_scale;
      x[i] = kio_round_in(f, v);
      dy[i] = kio_fixed(f) ? 0 : kio_round_in(f, rng_gauss(&r));
    }
    size_t t = n ? (size_t)(rng_unif(&r) * n) : 0;
    for (size_t j = 0; j < n && m[t]; j++) t = (t + 1) % n;
    b->target[k] = (int32_t)t;
  }
  return 0;
}

void batch_free(batch *b) {
  free(b->x), free(b->dy), free(b->mask), free(b->target);
  memset(b, 0, sizeof *b);
}

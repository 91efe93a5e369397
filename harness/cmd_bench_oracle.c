/* cmd_bench_oracle.c -- `smaxcheck bench-oracle`: oracle throughput on one
 * core, side by side with a naive fixed-precision MPFR evaluation at 1024
 * bits (no proof of correct rounding), in one run, ratio printed.
 * Inputs: x ~ N(0, 3^2) rounded to the format, dy ~ N(0, 1); seeded. */
#include <getopt.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "families.h"
#include "oracle.h"

static uint64_t rng = 0x9E3779B97F4A7C15u; /* seeded: same inputs every run */
static double gauss(void) { return rng_gauss(&rng); }
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The baseline: the textbook formula at 1024 bits, rounded once. */
static void naive(oracle_func f, const oracle_format *fmt, size_t n,
                  const double *x, const double *dy, double *out) {
  mpfr_t m, s, t, g;
  mpfr_inits2(1024, m, s, t, g, (mpfr_ptr)0);
  mpfr_set_d(m, x[0], MPFR_RNDN);
  for (size_t i = 1; i < n; i++) if (x[i] > mpfr_get_d(m, MPFR_RNDN)) mpfr_set_d(m, x[i], MPFR_RNDN);
  mpfr_t *e = malloc(n * sizeof *e);
  mpfr_set_ui(s, 0, MPFR_RNDN);
  mpfr_set_ui(g, 0, MPFR_RNDN);
  for (size_t i = 0; i < n; i++) {
    mpfr_init2(e[i], 1024);
    mpfr_set_d(t, x[i], MPFR_RNDN);
    mpfr_sub(t, t, m, MPFR_RNDN);
    mpfr_exp(e[i], t, MPFR_RNDN);
    mpfr_add(s, s, e[i], MPFR_RNDN);
    if (dy) mpfr_mul_d(t, e[i], dy[i], MPFR_RNDN), mpfr_add(g, g, t, MPFR_RNDN);
  }
  if (f == ORACLE_LOGSUMEXP) {
    mpfr_log(t, s, MPFR_RNDN);
    mpfr_add(t, t, m, MPFR_RNDN);
    out[0] = oracle_round(fmt, mpfr_get_d(t, MPFR_RNDN));
  } else {
    mpfr_div(g, g, s, MPFR_RNDN);
    for (size_t i = 0; i < n; i++) {
      mpfr_div(t, e[i], s, MPFR_RNDN);
      if (dy) {
        mpfr_t w;
        mpfr_init2(w, 1024);
        mpfr_d_sub(w, dy[i], g, MPFR_RNDN);
        mpfr_mul(t, t, w, MPFR_RNDN);
        mpfr_clear(w);
      }
      out[i] = oracle_round(fmt, mpfr_get_d(t, MPFR_RNDN));
    }
  }
  for (size_t i = 0; i < n; i++) mpfr_clear(e[i]);
  free(e);
  mpfr_clears(m, s, t, g, (mpfr_ptr)0);
}

/* elements per second of `run` over vectors of n, for at least `secs` */
static double rate(int oracle, oracle_func f, const oracle_format *fmt,
                   size_t n, const double *x, const double *dy, double *out,
                   double secs, oracle_stats *st) {
  oracle_params prm = {1, 1, NULL, dy, 0};
  double t0 = now(), t;
  long reps = 0;
  do {
    if (oracle) oracle_eval(f, fmt, n, x, &prm, out, NULL, st);
    else naive(f, fmt, n, x, dy, out);
    reps++;
  } while ((t = now() - t0) < secs);
  return (double)reps * (double)n / t;
}

static const char usage[] =
    "usage: smaxcheck bench-oracle [--seconds S] [--quick]\n"
    "Prints correctly rounded elements/s of the oracle (one core) for n in\n"
    "{16, 1024, 65536}, binary32 and binary64, softmax, logsumexp and\n"
    "softmax_vjp, beside a naive 1024-bit MPFR evaluation; the ratio is\n"
    "oracle / naive, measured in the same run.  --seconds: time per cell\n"
    "(default 0.5); --quick: only n = 16 and 1024.\n";

int cmd_bench_oracle(int argc, char **argv) {
  static const struct option opts[] = {
      {"seconds", 1, 0, 's'}, {"quick", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  double secs = 0.5;
  int quick = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 's') secs = atof(optarg);
    else if (c == 'q') quick = 1;
    else if (c == 'h') { fputs(usage, stdout); return 0; }
    else { fputs(usage, stderr); return 2; }
  }
  if (!(secs > 0)) { fprintf(stderr, "smaxcheck bench-oracle: --seconds must be > 0\n"); return 2; }
  const size_t ns[] = {16, 1024, 65536};
  const oracle_format *fmts[] = {&oracle_binary32, &oracle_binary64};
  const oracle_func fs[] = {ORACLE_SOFTMAX, ORACLE_LOGSUMEXP, ORACLE_SOFTMAX_VJP};
  printf("%-12s %-9s %6s %16s %16s %9s %8s\n", "function", "format", "n",
         "oracle elem/s", "mpfr-1024 el/s", "ratio", "fast %");
  for (size_t a = 0; a < 3; a++)
    for (size_t b = 0; b < 2; b++)
      for (size_t k = 0; k < (quick ? 2u : 3u); k++) {
        size_t n = ns[k];
        double *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy),
               *out = malloc(n * sizeof *out);
        for (size_t i = 0; i < n; i++)
          x[i] = oracle_round(fmts[b], 3 * gauss()), dy[i] = oracle_round(fmts[b], gauss());
        const double *d = fs[a] == ORACLE_SOFTMAX_VJP ? dy : NULL;
        oracle_stats st = {0};
        double ro = rate(1, fs[a], fmts[b], n, x, d, out, secs, &st);
        double rn = rate(0, fs[a], fmts[b], n, x, d, out, secs, NULL);
        printf("%-12s %-9s %6zu %16.4g %16.4g %8.1fx %7.3f%%\n", oracle_func_name(fs[a]),
               fmts[b]->name, n, ro, rn, ro / rn,
               100.0 * (double)st.fast / (double)(st.outputs ? st.outputs : 1));
        fflush(stdout);
        free(x), free(dy), free(out);
      }
  oracle_cleanup();
  return 0;
}

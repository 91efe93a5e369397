/* cmd_bench_kernels.c -- `smaxcheck bench-kernels`: softmax throughput of
 * every registered kernel family side by side in one run, for rows of
 * n in {1024, 65536, 1M, 16M}; threaded kernels with 1 and 2 threads.
 * Prints figures; asserts nothing (speed targets are read, not tested). */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "families.h"
#include "kio.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* elements per second of k on one row of n, at least `secs` of runs */
static double rate(const smax_kernel *k, size_t n, const void *x, void *y, int threads,
                   double secs) {
  smax_args a;
  memset(&a, 0, sizeof a);
  a.rows = 1, a.n = n, a.x = x, a.x_stride = n, a.y = y, a.y_stride = n;
  a.tau = 1, a.in_scale = 1.0 / 16, a.threads = threads;
  if (k->run(&a)) return NAN;
  double t0 = now(), t;
  long reps = 0;
  do { k->run(&a), reps++; } while ((t = now() - t0) < secs);
  return (double)reps * (double)n / t;
}

static const char usage[] =
    "usage: smaxcheck bench-kernels [--seconds S] [--max-n N] [--format FMT]\n"
    "Softmax elements/s of every registered kernel on one row of n elements,\n"
    "n in {1024, 65536, 1M, 16M} (up to --max-n), inputs x ~ N(0, 3^2);\n"
    "threaded kernels run with 1 and 2 threads (ratio = 2 threads / 1).\n"
    "--format limits to one kernel format (binary32, binary64, binary16, ...).\n";

int cmd_bench_kernels(int argc, char **argv) {
  static const struct option opts[] = {{"seconds", 1, 0, 's'}, {"max-n", 1, 0, 'n'},
                                       {"format", 1, 0, 'f'},  {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
  double secs = 0.3;
  size_t maxn = (size_t)1 << 24;
  const char *only = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 's') secs = atof(optarg);
    else if (c == 'n') maxn = (size_t)atof(optarg);
    else if (c == 'f') only = optarg;
    else if (c == 'h') { fputs(usage, stdout); return 0; }
    else { fputs(usage, stderr); return 2; }
  }
  if (!(secs > 0)) { fprintf(stderr, "smaxcheck bench-kernels: --seconds must be > 0\n"); return 2; }
  size_t nk;
  const smax_kernel *k = smax_registry(&nk);
  const size_t ns[] = {1024, 65536, 1u << 20, 1u << 24};
  uint64_t s = 12345;
  printf("%-16s %-9s %9s %14s %14s %7s\n", "kernel", "format", "n", "elem/s", "2 threads", "ratio");
  for (size_t a = 0; a < 4 && ns[a] <= maxn; a++) {
    size_t n = ns[a];
    unsigned char *x = malloc(n * 8), *y = malloc(n * 8);
    if (!x || !y) { fprintf(stderr, "smaxcheck bench-kernels: out of memory for n = %zu\n", n); return 1; }
    for (int f = 0; f < SMAX_NFORMATS; f++) {
      if (only && strcmp(only, smax_format_name(f)) && strcmp(only, kio_oracle_format(f)->name)) continue;
      int have = 0;
      for (size_t i = 0; i < nk; i++) have |= k[i].fmt == (smax_format)f && k[i].func == SMAX_SOFTMAX;
      if (!have) continue;
      for (size_t i = 0; i < n; i++) {
        double g = rng_gauss(&s);
        kio_store_in(f, x, i, kio_round_in(f, kio_fixed(f) ? 30 * g : 3 * g));
      }
      for (size_t i = 0; i < nk; i++) {
        if (k[i].fmt != (smax_format)f || k[i].func != SMAX_SOFTMAX || (k[i].flags & SMAX_BROKEN)) continue;
        double r1 = rate(&k[i], n, x, y, 1, secs);
        if (k[i].flags & SMAX_THREADED) {
          double r2 = rate(&k[i], n, x, y, 2, secs);
          printf("%-16s %-9s %9zu %14.4g %14.4g %6.2fx\n", k[i].name, smax_format_name(f), n, r1, r2, r2 / r1);
        } else {
          printf("%-16s %-9s %9zu %14.4g %14s %7s\n", k[i].name, smax_format_name(f), n, r1, "", "");
        }
        fflush(stdout);
      }
    }
    free(x), free(y);
  }
  return 0;
}

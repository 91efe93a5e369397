/* cmd_replay.c -- `smaxcheck replay FILE`: decode a fuzz_kernel input exactly
 * as the fuzz target does (harness/fuzzcase.c, the same env vars), show the
 * batch, the kernel's and the oracle's outputs and the verdict. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fuzzcase.h"
#include "oracle.h"

#ifndef SMAXCHECK_THRESHOLDS
#define SMAXCHECK_THRESHOLDS "harness/thresholds.txt"
#endif

static const char usage[] =
    "usage: smaxcheck replay FILE [--signature]\n"
    "Decodes a fuzz_kernel input (fuzz/README.md) as the fuzz target does,\n"
    "honouring SMAXCHECK_FUZZ_KERNEL, _FUNC, _FORMAT and SMAXCHECK_THRESHOLDS\n"
    "(default " SMAXCHECK_THRESHOLDS "), runs the kernel and the oracle and\n"
    "prints the decoded case, the input rows, every output (got, correctly\n"
    "rounded, ulp error) in %a and the verdict: the SMAXCHECK-FINDING line\n"
    "of the first failed check, or 'pass'.\n"
    "--signature  print only 'CLASS KERNEL FUNC FORMAT' of a finding (nothing\n"
    "             if the input passes)\n"
    "Exit 0 pass (or the kernel rejected the arguments), 1 a check failed,\n"
    "2 bad usage or an unreadable file.\n";

/* the whole file, malloc'd, size in *len; NULL with errno on failure */
static uint8_t *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  size_t cap = 4096, n = 0;
  uint8_t *b = malloc(cap);
  for (size_t r; b && (r = fread(b + n, 1, cap - n, fp)) > 0;) {
    n += r;
    if (n == cap) {
      uint8_t *p = realloc(b, cap *= 2);
      if (!p) free(b);
      b = p;
    }
  }
  int bad = !b || ferror(fp);
  fclose(fp);
  if (bad) { free(b); errno = b ? EIO : ENOMEM; return NULL; }
  *len = n;
  return b;
}

static void print_row(const char *label, size_t r, const double *v, size_t n) {
  printf("row %zu %s:", r, label);
  for (size_t i = 0; i < n; i++) printf(" %a", v[i]);
  putchar('\n');
}

int cmd_replay(int argc, char **argv) {
  static const struct option opts[] = {{"signature", 0, 0, 's'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int sig = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 's': sig = 1; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind != argc - 1) { fputs(usage, stderr); return 2; }
  const char *path = argv[optind];
  size_t len = 0;
  uint8_t *data = slurp(path, &len);
  if (!data) {
    fprintf(stderr, "smaxcheck replay: %s: %s\n", path, strerror(errno));
    return 2;
  }
  fuzz_ctx ctx;
  char err[600];
  if (fuzz_ctx_init(&ctx, SMAXCHECK_THRESHOLDS, err, sizeof err)) {
    fprintf(stderr, "smaxcheck replay: %s\n", err);
    free(data);
    return 2;
  }
  fuzz_case fc;
  fuzz_verdict v;
  int rc = 2;
  memset(&v, 0, sizeof v);
  if (fuzz_decode(&ctx, data, len, &fc) || fuzz_judge(&ctx, &fc, &v) < 0) {
    fprintf(stderr, "smaxcheck replay: %s: out of memory\n", path);
    goto out;
  }
  rc = v.cls ? 1 : 0;
  if (sig) {
    if (v.cls) printf("%s %s %s %s\n", v.cls, fc.k->name, smax_func_name(fc.k->func), smax_format_name(fc.k->fmt));
    goto out;
  }
  printf("file: %s (%zu bytes)\n", path, len);
  printf("kernel=%s func=%s format=%s n=%zu rows=%zu tau=%a in_scale=%a mask=%s", fc.k->name,
         smax_func_name(fc.k->func), smax_format_name(fc.k->fmt), fc.n, fc.rows, fc.tau, fc.in_scale,
         fc.mask ? "yes" : "none");
  if (fc.k->func == SMAX_CROSS_ENTROPY) printf(" target=%d", (int)fc.target[0]);
  printf("\nthresholds: %s\n", ctx.tpath);
  for (size_t r = 0; r < fc.rows; r++) {
    print_row("x", r, fc.x + r * fc.n, fc.n);
    if (fc.dy) print_row("dy", r, fc.dy + r * fc.n, fc.n);
    if (fc.mask) {
      printf("row %zu masked:", r);
      for (size_t i = 0; i < fc.n; i++) printf(" %d", fc.mask[r * fc.n + i]);
      putchar('\n');
    }
  }
  if (v.rejected) {
    printf("the kernel rejected the arguments: not judged\n");
    goto out;
  }
  printf("# row out got want ulp_error%s\n", fc.k->func == SMAX_CROSS_ENTROPY ? "  (out n: the loss)" : "");
  for (size_t r = 0; r < fc.rows; r++)
    for (size_t o = 0; o < v.nout; o++) {
      size_t j = r * v.nout + o;
      printf("%zu %zu %a %a %.6g\n", r, o, v.got[j], v.want[j], v.err[j]);
    }
  printf("%s\n", v.cls ? v.line : "pass");
out:
  fuzz_verdict_free(&v);
  fuzz_case_free(&fc);
  fuzz_ctx_free(&ctx);
  free(data);
  oracle_cleanup();
  return rc;
}

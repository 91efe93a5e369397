/* fuzz_vecio.c -- the oracle's text vector format parser (harness/vecio.c,
 * vec_read), crashes only: sanitizer errors, leaks and aborts are the
 * findings.  Any input is a file; a parse error is a normal result.  Built
 * for libFuzzer and AFL++ from this one file (fuzz/CMakeLists.txt). */
#include <stdint.h>
#include <stdio.h>
#include "vecio.h"

/* Parse data as one file; print the values back (vec_print), as the CLI does,
 * so the writer is exercised on whatever the reader accepted. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0; /* fmemopen needs a non-empty buffer */
  FILE *fp = fmemopen((void *)data, size, "r"), *out = fopen("/dev/null", "w");
  if (!fp || !out) {
    if (fp) fclose(fp);
    if (out) fclose(out);
    return 0;
  }
  vec_line *v = NULL;
  char err[512];
  long n = vec_read(fp, "fuzz", &v, err, sizeof err);
  for (long i = 0; i < n; i++) {
    vec_print(out, v[i].x, v[i].n);
    if (v[i].dy) vec_print(out, v[i].dy, v[i].ndy);
  }
  if (n >= 0) vec_free(v, n);
  fclose(fp);
  fclose(out);
  return 0;
}

/* fuzz_thresholds.c -- the thresholds-file parser (harness/gate.c,
 * thresholds_load), crashes only: sanitizer errors, leaks and aborts are
 * the findings; a rejected file is a normal result.  thresholds_load reads
 * a path, so the input goes to an in-memory file (memfd) opened by its
 * /proc/self/fd name.  Built for libFuzzer and AFL++ from this one file. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "gate.h"

static int fd = -1;
static char path[64];

/* Load data as a thresholds file; check what the loader promises: the
 * error names the file, entries are NUL-terminated and their line numbers
 * increase (abort otherwise: a broken promise is a finding too). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fd < 0) {
    fd = memfd_create("thresholds", 0);
    if (fd < 0) { perror("fuzz_thresholds: memfd_create"); exit(2); }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) { perror("fuzz_thresholds: write"); exit(2); }
  threshold *t = NULL;
  char err[512];
  long n = thresholds_load(path, &t, err, sizeof err);
  if (n < 0 && strncmp(err, path, strlen(path))) {
    fprintf(stderr, "fuzz_thresholds: error message does not name the file: %s\n", err);
    abort();
  }
  for (long i = 0; i < n; i++)
    if (!memchr(t[i].kernel, 0, sizeof t[i].kernel) || !memchr(t[i].func, 0, sizeof t[i].func) ||
        !memchr(t[i].format, 0, sizeof t[i].format) || (i && t[i].line <= t[i - 1].line)) {
      fprintf(stderr, "fuzz_thresholds: malformed entry %ld (line %ld)\n", i, t[i].line);
      abort();
    }
  if (n >= 0) free(t);
  return 0;
}

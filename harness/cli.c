/* cli.c -- helpers the sub-commands share: one error line, size lists. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cli_die(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "%s: ", cmd);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  return 2;
}

int cli_sizes(const char *s, size_t *ns, int max, size_t lo, size_t hi) {
  int c = 0;
  char *dup = strdup(s), *save = NULL;
  if (!dup) return -1;
  for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(t, &end, 10);
    if (end == t || *end || errno || t[0] == '-' || v < lo || v > hi || c == max) { free(dup); return -1; }
    ns[c++] = (size_t)v;
  }
  free(dup);
  return c;
}

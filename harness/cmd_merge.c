/* cmd_merge.c -- `smaxcheck merge OUT PART...`: join the JSON parts of a
 * sharded eval (one result object per line, harness/SCHEMA.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static const char usage[] =
    "usage: smaxcheck merge OUT.json PART.json...\n"
    "Joins results files written by `smaxcheck eval --shard K/N --json PART`\n"
    "into one file (written atomically).  Parts must have the same schema\n"
    "version; each result line is kept once, in the order of the parts.\n";

int cmd_merge(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) { fputs(usage, stdout); return 0; }
  if (argc < 3) { fputs(usage, stderr); return 2; }
  const char *out = argv[1];
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
  FILE *o = fopen(tmp, "w");
  if (!o) { fprintf(stderr, "smaxcheck merge: cannot write '%s': %s\n", out, strerror(errno)); return 2; }
  fputs("{\"schema\":\"smaxcheck-results\",\"version\":1,\"shard\":\"merged\",\"results\":[\n", o);
  size_t nres = 0;
  char *line = NULL;
  size_t cap = 0;
  int rc = 0;
  for (int i = 2; i < argc && !rc; i++) {
    FILE *in = fopen(argv[i], "r");
    if (!in) { fprintf(stderr, "smaxcheck merge: cannot read '%s': %s\n", argv[i], strerror(errno)); rc = 2; break; }
    long lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
      lineno++;
      while (len && (line[len - 1] == '\n' || line[len - 1] == ',')) line[--len] = 0;
      if (lineno == 1) {
        if (strncmp(line, "{\"schema\":\"smaxcheck-results\",\"version\":1,", 41)) {
          fprintf(stderr, "smaxcheck merge: %s:1: not a smaxcheck results file (version 1)\n", argv[i]);
          rc = 2;
          break;
        }
        continue;
      }
      if (!strcmp(line, "]}")) continue;
      if (strncmp(line, "{\"kernel\":", 10) || line[len - 1] != '}') {
        fprintf(stderr, "smaxcheck merge: %s:%ld: malformed result line\n", argv[i], lineno);
        rc = 2;
        break;
      }
      fprintf(o, "%s%s", nres++ ? ",\n" : "", line);
    }
    fclose(in);
  }
  free(line);
  fputs("\n]}\n", o);
  if (fclose(o) || rc || rename(tmp, out)) {
    if (!rc) fprintf(stderr, "smaxcheck merge: cannot write '%s': %s\n", out, strerror(errno));
    unlink(tmp);
    return 2;
  }
  fprintf(stderr, "wrote %s (%zu results from %d parts)\n", out, nres, argc - 2);
  return 0;
}

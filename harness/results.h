/* results.h -- evaluation cells and their JSON form (harness/SCHEMA.md). */
#ifndef SMAXCHECK_RESULTS_H
#define SMAXCHECK_RESULTS_H
#include <stdio.h>
#include "families.h"
#include "metrics.h"

/* One measured cell: kernel x family x n (x tau). */
typedef struct {
  const smax_kernel *k;
  const family *fam;
  size_t n, rows;
  double tau;
  unsigned long seed;
  int ok;              /* 0: the kernel rejected the arguments */
  metrics m;
  char *worst_input;   /* the worst row, "%a" tokens, masked as -inf */
  const batch *given;  /* rows read from a file (eval --input/--corpus), or NULL */
  const char *source;  /* "FILE:LINE" of a given row */
  /* smaxcheck compare (strings owned by the caller; NULL/zero in eval) */
  const char *origin;  /* "plugin:PATH", "cmd:COMMAND"; NULL: "builtin" */
  struct {             /* how a remote kernel's run ended (harness/PROTOCOL.md) */
    const char *cls;   /* NULL, or "crashed", "hung", "protocol", "garbage" */
    const char *message, *input, *repro;
  } finding;
  const char *skipped; /* not run: why (an earlier finding of its kernel) */
} cell;

/* Evaluate cells[0..nc) (harness threads: parallel over cells; kernels
 * then run single-threaded).  Progress on stderr when longer than 1 s. */
void cells_eval(cell *cells, size_t nc, int threads, int progress);
void cells_free(cell *cells, size_t nc);

/* Write the results file atomically (temp file + rename); returns 0 or -1
 * with errno set.  shard_k/shard_n describe which part this is. */
int results_write(const char *path, const cell *cells, size_t nc, int shard_k, int shard_n);
/* Print the terminal table. */
void results_table(FILE *fp, const cell *cells, size_t nc);
#endif

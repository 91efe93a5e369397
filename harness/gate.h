/* gate.h -- the accuracy gate: a fixed, seeded suite over kernels, compared
 * with the checked-in thresholds file (harness/thresholds.txt). */
#ifndef SMAXCHECK_GATE_H
#define SMAXCHECK_GATE_H
#include <stdio.h>
#include "kernel.h"
#include "metrics.h"

/* One accepted-error entry: kernel function format -> limits. */
typedef struct {
  char kernel[48], func[24], format[16];
  double max_ulp, bound_ratio, drift;     /* < 0: not gated */
  double nonfinite;                       /* count, < 0: not gated */
  char special[MET_NCASES][48];           /* "" : not gated */
  long line;                              /* in the thresholds file */
} threshold;

/* Parse a thresholds file.  On error writes "FILE:LINE: why (token)" into
 * err and returns -1; else the number of entries, *out malloc'd. */
long thresholds_load(const char *path, threshold **out, char *err, size_t errlen);

/* What the suite measured for one kernel descriptor. */
typedef struct {
  const smax_kernel *k;
  double max_ulp, bound_ratio, drift, nonfinite;
  char special[MET_NCASES][48];
  char worst_nonfinite[640];
  char worst_ulp[640], worst_ratio[640], worst_drift[640]; /* repro lines */
  char worst_special[MET_NCASES][640];
  char corpus[512];  /* "": the seeded suite; else the corpus file replayed
                        (special-value cases it did not hold are not compared) */
  size_t corpus_rows;
} gate_entry;

/* Run the gate suite over kernels k[0..nk); entries[i] for k[i]. */
void gate_measure(const smax_kernel *k, size_t nk, gate_entry *entries, int threads, int progress);
/* Replay the corpus files (harness/corpus/search/, written by `smaxcheck
 * search`, search.h) of directory dir: every *.txt file names its kernel in
 * its header; the files of kernels among k[0..nk) are measured row by row
 * exactly as `smaxcheck eval --input` does (temperature 1, fixed point at
 * scale 1/16), one entry per file, for gate_check.  Returns the number of
 * entries (*out malloc'd, NULL if none), or -1 with "FILE[:LINE]: why" in
 * err (unreadable directory or file, no header, a kernel not registered, a
 * value not in the kernel's format). */
long gate_corpus(const char *dir, const smax_kernel *k, size_t nk, gate_entry **out, int threads,
                 int progress, char *err, size_t errlen);
/* Fold corpus entry c into the suite entry e of the same kernel (maxima,
 * non-finite counts added), so a proposal covers both. */
void gate_fold(gate_entry *e, const gate_entry *c);
/* Compare; prints one line per failure to fp, returns the failure count. */
size_t gate_check(FILE *fp, const gate_entry *e, size_t ne, const threshold *t, size_t nt);
/* Print a thresholds file that the measured entries would pass. */
void gate_propose(FILE *fp, const gate_entry *e, size_t ne);
#endif

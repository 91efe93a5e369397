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
} gate_entry;

/* Run the gate suite over kernels k[0..nk); entries[i] for k[i]. */
void gate_measure(const smax_kernel *k, size_t nk, gate_entry *entries, int threads, int progress);
/* Compare; prints one line per failure to fp, returns the failure count. */
size_t gate_check(FILE *fp, const gate_entry *e, size_t ne, const threshold *t, size_t nt);
/* Print a thresholds file that the measured entries would pass. */
void gate_propose(FILE *fp, const gate_entry *e, size_t ne);
#endif

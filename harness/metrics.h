/* metrics.h -- measuring one kernel on one batch against the oracle. */
#ifndef SMAXCHECK_METRICS_H
#define SMAXCHECK_METRICS_H
#include <stddef.h>
#include "families.h"
#include "kernel.h"
#include "oracle.h"

#define MET_NCASES 8
#define MET_EX_VALS 6   /* values kept per special-case example */
#define MET_EX_LEN 240  /* room for MET_EX_VALS "[i]=%a" values and " (n=N)" */
/* The special-value cases of oracle/SEMANTICS.md, in precedence order. */
extern const char *const met_case_name[MET_NCASES];

typedef struct {
  /* ULP error over the outputs of finite rows */
  size_t outputs;
  double max_ulp, mean_ulp, p50, p99, p999, pct_cr;
  double max_finite_ulp;     /* max over the outputs with a finite error  */
  size_t ftz_outputs;        /* declared ftz: outputs flushed to 0 whose exact value is subnormal (error 0) */
  size_t nonfinite;          /* outputs with an infinite error (NaN/inf for a finite value, or the reverse) */
  double max_ratio;          /* relative error / (BHH bound * u), max      */
  double max_claim_ratio;    /* ulp error / the kernel's own claim, max    */
  double max_drift;          /* softmax: |sum(y) - 1| exactly, in ulps of 1 */
  /* the worst output: row (in %a), output index, got, correctly rounded */
  size_t worst_row, worst_out;
  double worst_got, worst_want;
  /* special-value behaviour per case: rows seen, verdict */
  size_t case_rows[MET_NCASES];
  char case_verdict[MET_NCASES][48]; /* "reference", an alternative id, "wrong" */
  /* invariants (finite rows): max ulp change under an exact shift and a
   * permutation; count of monotonicity violations */
  double shift_ulp, perm_ulp;
  size_t mono_viol;
  /* determinism: bitwise identical across repeated runs / thread counts */
  int det_repeat, det_threads; /* 1 yes, 0 no, -1 not applicable */
  double elem_per_s;
  size_t failures;           /* outputs beyond the claim                   */
  char repro[512];           /* one line reproducing the worst output      */
  /* per special case, one example row (the one with the worst verdict):
   * input, kernel output and oracle output in %a, at most MET_EX_VALS values */
  char case_input[MET_NCASES][MET_EX_LEN], case_got[MET_NCASES][MET_EX_LEN];
  char case_want[MET_NCASES][MET_EX_LEN];
  int case_rank[MET_NCASES];  /* verdict rank of the example: 0 ref, 1 alt, 2 wrong */
} metrics;

/* Evaluate kernel k on batch b (from family fam, seed) and fill m.
 * threads: for the kernel (0 default).  Returns 0, or -1 if the kernel
 * rejected the batch (message in m->repro). */
int metrics_eval(const smax_kernel *k, const family *fam, const batch *b,
                 unsigned long seed, int threads, metrics *m);
#endif

/* fuzzcase.h -- structure-aware decoding of fuzz inputs into kernel calls,
 * and the checks that turn one call into a finding.  Shared by the fuzz
 * target fuzz/fuzz_kernel.c and `smaxcheck replay`, so both decode a file
 * identically (fuzz/README.md documents the byte layout).
 *
 * Layout (bytes past the end of the input read as 0, so any length decodes):
 *   0-1   kernel selector, u16 LE, modulo the number of candidate kernels
 *   2     n: n = b % 65 (0..64), except b = 0xFF: n = 65 + (b7 << 8 | b3) % 960
 *   3     low bits of a large n
 *   4     low nibble: temperature index (FUZZ_TAU); high nibble: fixed-point
 *         input scale index (FUZZ_SCALE)
 *   5     bit 2: a mask is passed; bits 3 and 4 both set: rows = 1 + bits 0-1,
 *         else one row
 *   6     cross-entropy target index (mod n; the target is never masked)
 *   7     high bits of a large n
 *   8-15  mask word, u64 LE: element k of the batch (row-major) is masked iff
 *         bit k % 64 is set
 *   16-   rows*n inputs x, then rows*n upstream gradients dy (VJPs only), as
 *         little-endian bit patterns of the kernel's storage format (int8 for
 *         fixed point); NaN payloads are canonicalised.
 */
#ifndef SMAXCHECK_FUZZCASE_H
#define SMAXCHECK_FUZZCASE_H
#include <stddef.h>
#include <stdint.h>
#include "gate.h"
#include "kernel.h"

#define FUZZ_HDR 16
#define FUZZ_NMAX 1024
#define FUZZ_ROWS_MAX 4
#define FUZZ_NBUCKETS 64 /* error-guidance buckets per kernel descriptor */
#define FUZZ_KMAX 256    /* candidate kernels the guidance tracks         */

extern const double FUZZ_TAU[16], FUZZ_SCALE[16];

/* What a fuzz run draws from: the candidate kernels (after the env var
 * restrictions) and the accepted-error file. */
typedef struct {
  const smax_kernel **k;  /* candidates: registry, planted, plugin order */
  size_t nk;
  threshold *t;           /* thresholds_load() entries */
  long nt;
  const char *tpath;      /* the thresholds file read */
  int guide;              /* error-guided feedback on (SMAXCHECK_FUZZ_GUIDE != 0) */
  const smax_kernel *plugin; /* SMAXCHECK_FUZZ_PLUGIN's table (plugin.h), or NULL */
} fuzz_ctx;

/* One decoded input: a batch for one kernel, values as doubles (each a value
 * of the kernel's input format). */
typedef struct {
  const smax_kernel *k;
  size_t kidx;            /* index in fuzz_ctx.k */
  size_t rows, n;
  double tau, in_scale;
  double *x, *dy;         /* rows*n; dy NULL unless a VJP */
  unsigned char *mask;    /* rows*n, or NULL (no mask passed) */
  int32_t target[FUZZ_ROWS_MAX];
} fuzz_case;

/* The verdict on one case: every output of every row, and the first failed
 * check.  Outputs are laid out per row as the oracle's (cross-entropy: the n
 * gradients, then the loss at index n). */
typedef struct {
  int rejected;           /* the kernel returned nonzero: not judged */
  size_t nout;            /* outputs per row */
  double *got, *want, *err; /* rows*nout each */
  double max_err;         /* max ulp error over the finite rows' outputs */
  size_t bucket;          /* guidance bucket of max_err, < FUZZ_NBUCKETS */
  const char *cls;        /* NULL if every check passed, else the class */
  char line[1024];        /* the SMAXCHECK-FINDING line when cls != NULL */
} fuzz_verdict;

/* Build the candidate list from the registry, fuzz_planted_kernels() when
 * linked in (selected only by name) and the plugin SMAXCHECK_FUZZ_PLUGIN
 * names (harness/plugin.h; all its kernels join the set), restricted
 * by SMAXCHECK_FUZZ_KERNEL / _FUNC / _FORMAT, and load the thresholds file
 * (SMAXCHECK_THRESHOLDS, else default_thresholds).  Returns 0, or -1 with a
 * message in err (unknown name, a plugin that does not load, nothing left
 * to fuzz, bad thresholds file). */
int fuzz_ctx_init(fuzz_ctx *c, const char *default_thresholds, char *err, size_t errlen);
void fuzz_ctx_free(fuzz_ctx *c);

/* Decode data[0..size) (any size) into fc, allocating its arrays.  Returns 0,
 * or -1 if out of memory (fc is then empty; fuzz_case_free is still safe). */
int fuzz_decode(const fuzz_ctx *c, const uint8_t *data, size_t size, fuzz_case *fc);
void fuzz_case_free(fuzz_case *fc);

/* Run the kernel single-threaded on fc, compute the correctly rounded
 * outputs and apply the checks (fuzz/README.md: ulp, bound, nonfinite,
 * range, drift, invariant, special).  Returns 1 if a check failed (v->cls,
 * v->line set), 0 if not or if the kernel rejected the arguments, -1 if out
 * of memory.  Free v with fuzz_verdict_free whatever the result. */
int fuzz_judge(const fuzz_ctx *c, const fuzz_case *fc, fuzz_verdict *v);
void fuzz_verdict_free(fuzz_verdict *v);

/* Guidance bucket (< FUZZ_NBUCKETS) of an ulp error: 0 exact, 1 within half
 * an ulp, then one per binade of the error, the last for infinite errors. */
size_t fuzz_bucket(double e);

/* The threshold entry of kernel k, or NULL. */
const threshold *fuzz_threshold(const fuzz_ctx *c, const smax_kernel *k);

/* Mutate an input in place like a numerics person would (exponent moves,
 * sign flips, special values and the format's exp overflow/underflow
 * thresholds, duplicating the max, scaling a row, growing the spread, header
 * tweaks), using *rng.  data has room for max_size bytes; returns the new
 * size, or 0 if the input had no element to mutate (caller falls back to a
 * generic mutation). */
size_t fuzz_mutate(const fuzz_ctx *c, uint8_t *data, size_t size, size_t max_size, uint64_t *rng);
#endif

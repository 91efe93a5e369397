/* families.h -- named input families: reproducible rows of x (and dy, mask,
 * target) for a kernel format, from a seed.  Every value generated is a
 * value of the kernel's input format (int8 for fixed point). */
#ifndef SMAXCHECK_FAMILIES_H
#define SMAXCHECK_FAMILIES_H
#include <stddef.h>
#include <stdint.h>
#include "kernel.h"

typedef struct {
  size_t rows, n;
  double *x, *dy;         /* rows * n, row-major, storable values         */
  unsigned char *mask;    /* rows * n, nonzero = masked                   */
  int32_t *target;        /* rows                                         */
  double tau, in_scale;
} batch;

typedef struct {
  const char *name, *help;
  void (*gen)(smax_format f, uint64_t *rng, size_t n, double *x, unsigned char *m);
  int special;            /* rows may hold NaN / inf / fully masked        */
} family;

/* All families; *count receives their number. */
const family *families(size_t *count);
const family *family_by_name(const char *name);

/* Fill b (allocating its arrays) with `rows` rows of length n of family fam,
 * deterministic in (fam, f, n, rows, seed).  dy ~ N(0, 1), target uniform
 * among unmasked entries.  Returns 0, or -1 if out of memory. */
int batch_make(batch *b, const family *fam, smax_format f, size_t n, size_t rows,
               uint64_t seed, double tau);
void batch_free(batch *b);

/* splitmix64 and helpers shared by the harness */
uint64_t rng_next(uint64_t *s);
double rng_unif(uint64_t *s);   /* [0, 1) */
double rng_gauss(uint64_t *s);  /* N(0, 1) */
#endif

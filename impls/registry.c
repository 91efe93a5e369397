/* registry.c -- the one list of built-in kernels.  Each family file exports
 * its table as smax_<family>_kernels[] and smax_<family>_count. */
#include "kernel.h"

#define FAMILIES(X) X(naive) X(stable) X(accurate) X(online) X(half) \
                    X(fixedpoint) X(openmp)
#define DECL(f) extern const smax_kernel smax_##f##_kernels[]; \
                extern const size_t smax_##f##_count;
FAMILIES(DECL)

static smax_kernel all[512];
static size_t nall;

static void add(const smax_kernel *k, size_t n) {
  for (size_t i = 0; i < n && nall < sizeof all / sizeof all[0]; i++) all[nall++] = k[i];
}

const smax_kernel *smax_registry(size_t *count) {
  if (!nall) {
#define ADD(f) add(smax_##f##_kernels, smax_##f##_count);
    FAMILIES(ADD)
  }
  *count = nall;
  return all;
}

static const char *const fnames[SMAX_NFUNCS] = {
    "softmax", "log_softmax", "logsumexp", "softmax_vjp", "log_softmax_vjp", "cross_entropy"};
static const char *const fmtnames[SMAX_NFORMATS] = {
    "binary64", "binary32", "binary16", "bfloat16", "q8-uq0.8", "q8-q0.15", "q8-q4.11"};

const char *smax_func_name(smax_func f) { return (unsigned)f < SMAX_NFUNCS ? fnames[f] : "?"; }
const char *smax_format_name(smax_format f) {
  return (unsigned)f < SMAX_NFORMATS ? fmtnames[f] : "?";
}

/* badabi.c -- a plugin built against a future ABI: smaxcheck must refuse it
 * with an error naming the file and both versions (tests/cli_compare.sh). */
#include <stddef.h>
#include "kernel.h"

static int never(const smax_args *a) {
  (void)a;
  return 1;
}

static const smax_kernel kernels[] = {
    {"badabi", SMAX_SOFTMAX, SMAX_F64, never, 0, "reference", {0, 0, 0, 0, 0}, "never run"},
};

const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = 1;
  *abi_version = SMAX_ABI_VERSION + 1;
  return kernels;
}

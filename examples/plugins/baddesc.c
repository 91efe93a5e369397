/* baddesc.c -- a plugin with an invalid descriptor (func out of range):
 * loading it must fail naming the file, the kernel and the field
 * (tests/cli_compare.sh). */
#include <stddef.h>
#include "kernel.h"

static int never(const smax_args *a) {
  (void)a;
  return 1;
}

static const smax_kernel kernels[] = {
    {"fine", SMAX_SOFTMAX, SMAX_F64, never, 0, "reference", {0, 0, 0, 0, 0}, "valid"},
    {"broken", (smax_func)SMAX_NFUNCS, SMAX_F64, never, 0, "reference", {0, 0, 0, 0, 0}, "func out of range"},
};

const smax_kernel *smax_plugin_kernels(size_t *count, int *abi_version) {
  *count = 2;
  *abi_version = SMAX_ABI_VERSION;
  return kernels;
}

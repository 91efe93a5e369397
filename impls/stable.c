/* stable.c -- placeholder until the family is written (issue 4, in progress). */
#include "kernel.h"
const smax_kernel smax_stable_kernels[1];
const size_t smax_stable_count = 0;

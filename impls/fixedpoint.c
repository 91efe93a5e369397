/* fixedpoint.c -- placeholder until the family is written (issue 4, in progress). */
#include "kernel.h"
const smax_kernel smax_fixedpoint_kernels[1];
const size_t smax_fixedpoint_count = 0;

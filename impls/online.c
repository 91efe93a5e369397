/* online.c -- placeholder until the family is written (issue 4, in progress). */
#include "kernel.h"
const smax_kernel smax_online_kernels[1];
const size_t smax_online_count = 0;

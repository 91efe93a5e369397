/* kcall.h -- the one way the harness calls a kernel.
 *
 * smax_fn takes no context pointer, so a kernel running in a child process
 * (proxy.h) cannot be called through its run field: every harness call of a
 * kernel goes through kernel_call, which forwards proxy descriptors to their
 * child and calls every other descriptor directly. */
#ifndef SMAXCHECK_KCALL_H
#define SMAXCHECK_KCALL_H
#include "kernel.h"

/* Runs kernel k on a; returns what its smax_fn returns (0 success, nonzero
 * rejected or, for a remote kernel, failed: see proxy_call). */
int kernel_call(const smax_kernel *k, const smax_args *a);

/* 1 if k declares an accuracy claim (a nonzero ulp or absolute term);
 * third-party kernels need not, and then claim ratios are n/a. */
int kernel_has_claim(const smax_kernel *k);

/* The error k's claim allows an output, in ulps of the exact value y
 * (ulp: ulp(y) in the format, u: its unit roundoff, 0 for fixed point), for
 * a row of n entries with spread (max - min)/tau.  Gradients' absolute
 * terms are derived for max|dy|/tau <= 16 (cross-entropy: 1/tau <= 16,
 * impls/stable.c) and are linear in it, so they are scaled by
 * max(1, gscale/16), gscale = max|dy|/tau (1/tau for cross-entropy). */
double kernel_claim_allow(const smax_kernel *k, size_t n, double spread, double ulp, double u, double gscale);
/* The same bound as an absolute error (no overflow where ulp is tiny). */
double kernel_claim_abs(const smax_kernel *k, size_t n, double spread, double ulp, double u, double gscale);
#endif

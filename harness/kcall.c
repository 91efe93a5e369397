/* kcall.c -- kernel_call: direct call, or through the kernel's proxy. */
#include "kcall.h"
#include "proxy.h"

int kernel_call(const smax_kernel *k, const smax_args *a) {
  /* the sentinel marks proxy descriptors; built-in and plugin kernels
   * loaded in this process are called directly, without a lock */
  if (k->run == proxy_run_sentinel) return proxy_call(k, a);
  return k->run(a);
}

double kernel_claim_abs(const smax_kernel *k, size_t n, double spread, double ulp, double u, double gscale) {
  const smax_claim *c = &k->claim;
  int grad = k->func == SMAX_SOFTMAX_VJP || k->func == SMAX_LOG_SOFTMAX_VJP || k->func == SMAX_CROSS_ENTROPY;
  double g = grad && gscale > 16 ? gscale / 16 : 1;
  return (c->ulp_const + c->ulp_per_n * (double)n + c->ulp_per_spread * spread) * ulp + g * c->abs_u_per_n * (double)n * u;
}

double kernel_claim_allow(const smax_kernel *k, size_t n, double spread, double ulp, double u, double gscale) {
  return kernel_claim_abs(k, n, spread, ulp, u, gscale) / ulp;
}

int kernel_has_claim(const smax_kernel *k) {
  const smax_claim *c = &k->claim;
  return c->ulp_const > 0 || c->ulp_per_n > 0 || c->ulp_per_spread > 0 || c->abs_u_per_n > 0;
}

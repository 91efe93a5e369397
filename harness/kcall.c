/* kcall.c -- kernel_call: direct call, or through the kernel's proxy. */
#include "kcall.h"
#include "proxy.h"

int kernel_call(const smax_kernel *k, const smax_args *a) {
  /* the sentinel marks proxy descriptors; built-in and plugin kernels
   * loaded in this process are called directly, without a lock */
  if (k->run == proxy_run_sentinel) return proxy_call(k, a);
  return k->run(a);
}

int kernel_has_claim(const smax_kernel *k) {
  const smax_claim *c = &k->claim;
  return c->ulp_const > 0 || c->ulp_per_n > 0 || c->ulp_per_spread > 0 || c->abs_u_per_n > 0;
}

#!/usr/bin/python3
"""scipy_softmax.py -- SciPy's softmax family as smaxcheck kernels.

Wraps (SciPy 1.10, Debian's python3-scipy, numpy 1.24):
  softmax      scipy.special.softmax(z, axis=1)
  log_softmax  scipy.special.log_softmax(z, axis=1)
  logsumexp    scipy.special.logsumexp(z, axis=1)
for binary64 (float64 arrays) and binary32 (float32 arrays).  SciPy keeps
float32: the three functions are numpy expressions (max, exp(x - max), sum,
log, divide or subtract) evaluated in the array's dtype, and return float32
(checked: the adapter asserts the result dtype).  There are no gradients and
no fused cross-entropy in scipy.special, and numpy has no bfloat16;
binary16 is not offered either (numpy's float16 exp and sum would be
measured, not SciPy, and nobody uses SciPy that way).

Masks: a masked entry is set to -inf before the call (SciPy 1.10 has no
where= argument).  Temperature: SciPy has none; users write softmax(x / tau),
and so does this adapter: z = x / tau in the array's dtype (skipped for
tau == 1, where it is exact), so the measured error includes that rounding.
n = 0: SciPy raises (numpy's max of an empty axis), which this adapter
reports as a rejection (convention empty-error).

Claim: none (SciPy documents no accuracy bound).  Conventions: from runs of
this adapter on SEMANTICS.md's special rows (adapters/README.md).

Run:  smaxcheck compare --cmd '/usr/bin/python3 adapters/scipy_softmax.py'
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.special as sps  # noqa: E402

import smaxcheck_shim as shim  # noqa: E402

DTYPES = {"binary64": np.float64, "binary32": np.float32}


def make_kernel(op, dtype):
    """A kernel computing op(x / tau, axis=1) in `dtype`; op is
    scipy.special.softmax, log_softmax or logsumexp.  Rejects n == 0."""
    def run(x, mask=None, dy=None, target=None, tau=1.0, in_scale=1.0):
        if x.shape[1] == 0:
            raise shim.Unsupported()
        z = np.array(x, dtype=np.float64)
        if mask is not None:
            z[mask] = -np.inf
        z = z.astype(dtype)                  # exact: values are representable
        if tau != 1.0:
            z = z / dtype(tau)               # user code: x / tau in the dtype
        with np.errstate(all="ignore"):      # IEEE results are what we measure
            y = op(z, axis=1)
        if np.asarray(y).dtype != dtype:     # the premise of this adapter
            raise RuntimeError("scipy returned %s for %s input" % (np.asarray(y).dtype, dtype))
        return np.asarray(y, dtype=np.float64)
    return run


# Conventions observed with this adapter (adapters/README.md, "findings"):
# a +inf entry: softmax computes exp(x - max) / sum, and inf - inf makes the
# sum NaN, so every output is NaN (ieee-nan); log_softmax resets a non-finite
# max to 0, so it returns x - log(sum) = x - inf: NaN at the +inf slots and
# -inf elsewhere (ieee-partial); logsumexp gives +inf (reference);
# a fully masked row: NaN (softmax, log_softmax: reference) and -inf
# (logsumexp: reference); n = 0 raises (empty-error).
CONVENTIONS = {
    "softmax": "ieee-nan empty-error",
    "log_softmax": "ieee-partial empty-error",
    "logsumexp": "empty-error",
}


def register_all():
    """Register the 6 kernels (3 functions x 2 formats) with the shim."""
    for fmt, dtype in DTYPES.items():
        for func in ("softmax", "log_softmax", "logsumexp"):
            shim.register("scipy", func, fmt, make_kernel(getattr(sps, func), dtype),
                          CONVENTIONS[func],
                          "scipy.special.%s(x / tau, axis=1) in %s (SciPy %s, numpy %s)"
                          % (func, np.dtype(dtype).name, scipy.__version__, np.__version__))


if __name__ == "__main__":
    register_all()
    shim.serve()

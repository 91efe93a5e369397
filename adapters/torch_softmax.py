#!/usr/bin/python3
"""torch_softmax.py -- PyTorch's CPU softmax family as smaxcheck kernels.

Wraps (PyTorch 1.13, Debian's python3-torch, one intra-op thread):
  softmax          torch.softmax(z, -1)
  log_softmax      torch.log_softmax(z, -1)
  logsumexp        torch.logsumexp(z, -1)
  softmax_vjp      autograd: torch.autograd.grad(torch.softmax(z, -1), x, dy)
  log_softmax_vjp  autograd: the same through torch.log_softmax
  cross_entropy    torch.nn.functional.cross_entropy(z, t, reduction='none')
                   (the per-row loss) and its autograd gradient with
                   respect to x for a unit upstream gradient
for binary64 (torch.float64), binary32 (torch.float32) and bfloat16
(torch.bfloat16).  binary16 is not offered: in 1.13 the CPU softmax,
log_softmax and logsumexp kernels raise "not implemented for 'Half'".

Inputs arrive as float64 values exactly representable in the format, so the
conversion to the tensor's dtype is exact, and so is the conversion of the
results back to float64 (every binary32/bfloat16 value is a binary64 value).

Masks: a masked entry is set to -inf before the call (what
masked_fill(mask, -inf) does in user code).

Temperature: PyTorch has no temperature argument; users write
softmax(x / tau).  So does this adapter: z = x / tau is computed by torch in
the tensor's dtype (for tau == 1 the division is skipped, being exact), and
the gradients flow through that division by autograd.  The measured error
therefore includes the rounding of x / tau, as a real user's would; the ABI's
reference applies the function to the exact x / tau.

Claim: none (PyTorch documents no accuracy bound for these functions).
Conventions: declared per function below, from runs of this adapter on the
special rows of oracle/SEMANTICS.md (adapters/README.md lists them).

Run:  smaxcheck compare --cmd '/usr/bin/python3 adapters/torch_softmax.py'
(/usr/bin/python3: Debian's torch is visible to that interpreter only.)
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import smaxcheck_shim as shim  # noqa: E402

torch.set_num_threads(1)

DTYPES = {"binary64": torch.float64, "binary32": torch.float32, "bfloat16": torch.bfloat16}


def _input(x, mask, dtype, grad):
    """x (float64 [rows, n]) with masked entries set to -inf, as a tensor of
    `dtype` (exact: every value is representable), a leaf of autograd if
    `grad`."""
    x = np.array(x, dtype=np.float64)
    if mask is not None:
        x[mask] = -np.inf
    t = torch.from_numpy(x).to(dtype)
    if grad:
        t.requires_grad_(True)
    return t


def _scaled(t, tau):
    """z = t / tau in t's dtype, as user code writes it (no-op for tau == 1)."""
    return t if tau == 1.0 else t / tau


def _out(t):
    """A result tensor as float64 numpy (exact for the three dtypes)."""
    return t.detach().to(torch.float64).numpy()


def make_forward(op, dtype):
    """A kernel computing op(z) over the last axis; op is softmax,
    log_softmax or logsumexp."""
    def run(x, mask=None, dy=None, target=None, tau=1.0, in_scale=1.0):
        with torch.no_grad():
            return _out(op(_scaled(_input(x, mask, dtype, False), tau), -1))
    return run


def make_vjp(op, dtype):
    """A kernel computing the vector-Jacobian product dy^T d op(x / tau)/dx
    by autograd (op: torch.softmax or torch.log_softmax)."""
    def run(x, mask=None, dy=None, target=None, tau=1.0, in_scale=1.0):
        if dy is None:
            raise shim.Unsupported()
        t = _input(x, mask, dtype, True)
        y = op(_scaled(t, tau), -1)
        g = torch.from_numpy(np.array(dy, dtype=np.float64)).to(dtype)
        (dx,) = torch.autograd.grad(y, t, grad_outputs=g)
        return _out(dx)
    return run


def make_cross_entropy(dtype):
    """A kernel returning (d loss / dx, loss) of
    F.cross_entropy(x / tau, target, reduction='none'); n == 0 is rejected
    (there is no target), as torch raises there."""
    def run(x, mask=None, dy=None, target=None, tau=1.0, in_scale=1.0):
        if target is None or x.shape[1] == 0:
            raise shim.Unsupported()
        t = _input(x, mask, dtype, True)
        loss = F.cross_entropy(_scaled(t, tau), torch.from_numpy(np.array(target, dtype=np.int64)),
                               reduction="none")
        (dx,) = torch.autograd.grad(loss, t, grad_outputs=torch.ones_like(loss))
        return _out(dx), _out(loss)
    return run


# Conventions observed with this adapter (adapters/README.md, "findings"):
# a +inf entry meets inf - inf after the max shift, so softmax, log_softmax,
# the VJPs and cross_entropy give NaN rows (ieee-nan); logsumexp gives +inf
# there and -inf for a fully masked row (reference); fully masked rows are
# NaN for softmax/log_softmax (reference, PyTorch issue #25110); a NaN or
# inf in dy spreads through the VJP (ieee-propagate); softmax_vjp writes
# 0 * (negative) = -0 at masked slots (zero-sign).
CONVENTIONS = {
    "softmax": "ieee-nan",
    "log_softmax": "ieee-nan",
    "logsumexp": "",
    "softmax_vjp": "ieee-nan ieee-propagate zero-sign",
    "log_softmax_vjp": "ieee-nan ieee-propagate",
    "cross_entropy": "ieee-nan",
}


def register_all():
    """Register the 18 kernels (6 functions x 3 formats) with the shim."""
    ops = {"softmax": torch.softmax, "log_softmax": torch.log_softmax,
           "logsumexp": torch.logsumexp}
    for fmt, dtype in DTYPES.items():
        tag = "torch%s (%s, 1 thread)" % (torch.__version__, dtype)
        for func in ("softmax", "log_softmax", "logsumexp"):
            shim.register("torch", func, fmt, make_forward(ops[func], dtype), CONVENTIONS[func],
                          "torch.%s(x / tau, -1), division in the dtype; %s" % (func, tag))
        for func, op in (("softmax_vjp", torch.softmax), ("log_softmax_vjp", torch.log_softmax)):
            shim.register("torch", func, fmt, make_vjp(op, dtype), CONVENTIONS[func],
                          "autograd.grad(torch.%s(x / tau, -1), x, dy); %s"
                          % (func[:-4], tag))
        shim.register("torch", "cross_entropy", fmt, make_cross_entropy(dtype),
                      CONVENTIONS["cross_entropy"],
                      "F.cross_entropy(x / tau, t, reduction='none') + autograd grad; %s" % tag)


if __name__ == "__main__":
    register_all()
    shim.serve()

#!/usr/bin/python3
"""test_shim.py -- the Python adapters (adapters/*.py, built on
python/smaxcheck_shim.py) spoken to over harness/PROTOCOL.md, as smaxcheck
would: each adapter is started as a child, asked to DESCRIBE, RUN on small
known rows, and QUIT.

Checked: the DESCRIBE lines (five tab-separated fields, known function,
format and convention ids, the documented set of kernels); RUN counts, that
every value is representable in the format, and the values against the
exact result computed here with mpmath (200 bits) from the definitions; a
masked slot (softmax 0, log_softmax -inf); a request for the wrong function
is answered with a nonzero status and count 0 and the child stays in step;
QUIT ends the child with status 0.

Tolerances come from the formats and the algorithm class (max-shifted
softmax: first-order relative bound (n + 2 + 2 spread) u, Blanchard, D.
Higham & N. Higham 2021, plus 2 u for the library's exp/log), never from an
adapter's output:
  softmax, cross_entropy grad      E |y| + half an ulp, E = (n + 4 + 2 spread) u
  log_softmax, logsumexp, CE loss  (|y| + spread + n + 4) 2u + half an ulp
  softmax_vjp                      s_i (|dy_i| + |g| + sum s_j |dy_j|)(E' + (n+2)u) + half
  log_softmax_vjp                  (|dy_i| + s_i sum |dy_j|)(E' + (n+2)u) + half
with u the unit roundoff of the arithmetic (binary64: 2^-53; binary32:
2^-24; bfloat16: 2^-8, the format's own, because PyTorch composes
logsumexp, and the loss of cross_entropy, from separate bfloat16 operations,
each rounded to bfloat16) and E' = E plus 2^-8 for bfloat16 (autograd reads
the bf16-rounded softmax output).

Exit status 0 if every check passed, 1 if one failed, 77 (CTest: skipped)
if neither torch nor scipy can be imported by this interpreter (Debian's
modules are visible to /usr/bin/python3 only).  Last line: "N passed, M failed".
"""

import importlib.util
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))

FUNCS = ["softmax", "log_softmax", "logsumexp", "softmax_vjp", "log_softmax_vjp", "cross_entropy"]
FORMATS = ["binary64", "binary32", "binary16", "bfloat16", "q8-uq0.8", "q8-q0.15", "q8-q4.11"]
CONVENTIONS = set("""reference ieee-nan ieee-partial ieee-propagate uniform-inf zero-row
neg-inf-row uniform-row mask-large-negative unmask-row masked-const zero-loss mask-additive
vjp-masked-zero vjp-sum-unmasked ignore-nan ftz daz zero-sign empty-error""".split())
# (p, emin, unit roundoff of the arithmetic) per format
FMT = {"binary64": (53, -1022, 2.0 ** -53), "binary32": (24, -126, 2.0 ** -24),
       "bfloat16": (8, -126, 2.0 ** -8)}

ADAPTERS = {
    "torch": ("torch_softmax.py", "torch",
              {(f, m) for f in FUNCS for m in ("binary64", "binary32", "bfloat16")}),
    "scipy": ("scipy_softmax.py", "scipy",
              {(f, m) for f in ("softmax", "log_softmax", "logsumexp")
               for m in ("binary64", "binary32")}),
}

passed = failed = 0


def check(cond, msg):
    """Count one check; print msg when it failed."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL", msg)


class Child:
    """One adapter process, spoken to over the protocol."""

    def __init__(self, script):
        self.p = subprocess.Popen([sys.executable, script], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)

    def request(self, op, kernel=0, func=0, fmt=0, rows=0, n=0, tau=1.0, scale=1.0, flags=0,
                payload=b""):
        """Send one request; returns (status, count, payload bytes) or None for QUIT."""
        hdr = struct.pack("<4sIIIIIQQddII", b"SMXQ", 1, op, kernel, func, fmt, rows, n, tau,
                          scale, flags, 0)
        self.p.stdin.write(hdr + payload)
        self.p.stdin.flush()
        if op == 3:
            return None
        raw = self.p.stdout.read(16)
        magic, status, count = struct.unpack("<4sIQ", raw)
        check(magic == b"SMXR", "bad response magic %r" % magic)
        unit = 1 if op == 1 else 8
        return status, count, self.p.stdout.read(count * unit)

    def run(self, kernel, func, fmt, x, mask=None, dy=None, target=None, tau=1.0):
        """RUN on rows x (lists of floats); returns (status, list of outputs)."""
        rows, n = len(x), len(x[0]) if x else 0
        flags, payload = 0, struct.pack("<%dd" % (rows * n), *[v for r in x for v in r])
        if mask is not None:
            flags |= 1
            payload += bytes(1 if m else 0 for r in mask for m in r)
        if dy is not None:
            flags |= 2
            payload += struct.pack("<%dd" % (rows * n), *[v for r in dy for v in r])
        if target is not None:
            flags |= 4
            payload += struct.pack("<%di" % rows, *target)
        status, count, body = self.request(2, kernel, FUNCS.index(func), FORMATS.index(fmt), rows,
                                           n, tau, 1.0, flags, payload)
        return status, list(struct.unpack("<%dd" % count, body))


def exact(func, x, mask, dy, target):
    """The exact outputs (mpmath, 200 bits) of func on one row, as mpf,
    and the exact softmax s (for the tolerances)."""
    import mpmath
    mpmath.mp.prec = 200
    z = [mpmath.mpf("-inf") if m else mpmath.mpf(v) for v, m in zip(x, mask)]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z if v != mpmath.mpf("-inf")))
    s = [mpmath.exp(v - lse) for v in z]
    if func == "softmax":
        return s, s
    if func == "log_softmax":
        return [v - lse for v in z], s
    if func == "logsumexp":
        return [lse], s
    if func == "softmax_vjp":
        g = mpmath.fsum(si * d for si, d in zip(s, dy))
        return [si * (d - g) for si, d in zip(s, dy)], s
    if func == "log_softmax_vjp":
        G = mpmath.fsum(dy)
        return [d - si * G for si, d in zip(s, dy)], s
    grad = [si - (1 if i == target else 0) for i, si in enumerate(s)]
    return grad + [lse - z[target]], s


def half_ulp(fmt, y):
    """Half an ulp of the exact y in fmt (subnormal ulp clamped)."""
    import mpmath
    p, emin, _ = FMT[fmt]
    e = emin if y == 0 else max(int(mpmath.floor(mpmath.log(abs(y), 2))), emin)
    return mpmath.mpf(2) ** (e - p + 1) / 2


def representable(fmt, v):
    """Is the float v a value of fmt?"""
    import numpy as np
    if v != v or fmt == "binary64":
        return True
    f = np.float32(v)
    if float(f) != v and abs(v) != float("inf"):
        return False
    return fmt != "bfloat16" or (int(f.view(np.uint32)) & 0xFFFF) == 0


def check_values(name, func, fmt, x, mask, dy, target, got):
    """Compare got (one row's outputs) with the exact values."""
    import mpmath
    n = len(x)
    want, s = exact(func, x, mask, dy or [0] * n, target)
    live = [v for v, m in zip(x, mask) if not m]
    spread = max(live) - min(live)
    u = FMT[fmt][2]
    E = (n + 4 + 2 * spread) * u
    Ep = E + (2.0 ** -8 if fmt == "bfloat16" else 0)
    for i, (g, w) in enumerate(zip(got, want)):
        check(representable(fmt, g), "%s %s %s: output %r not in the format" % (name, func, fmt, g))
        if mpmath.isinf(w):
            check(g == float(w), "%s %s %s [%d]: got %r, want %s" % (name, func, fmt, i, g, w))
            continue
        h = half_ulp(fmt, w)
        loss = func == "cross_entropy" and i == n
        if func == "softmax" or (func == "cross_entropy" and not loss):
            tol = E * abs(w) + h + (E if func == "cross_entropy" and i == target else 0)
        elif func in ("log_softmax", "logsumexp") or loss:
            tol = (abs(w) + spread + n + 4) * 2 * u + h
        elif func == "softmax_vjp":
            g_ = sum(si * d for si, d in zip(s, dy))
            tol = s[i] * (abs(dy[i]) + abs(g_) + sum(si * abs(d) for si, d in zip(s, dy))) \
                * (Ep + (n + 2) * u) + h
        else:
            tol = (abs(dy[i]) + s[i] * sum(abs(d) for d in dy)) * (Ep + (n + 2) * u) + h
        check(abs(mpmath.mpf(g) - w) <= tol, "%s %s %s [%d]: got %r, exact %s, tol %s"
              % (name, func, fmt, i, g, mpmath.nstr(w, 17), mpmath.nstr(tol, 3)))


def test_adapter(name):
    """Everything about one Python adapter; returns False if skipped."""
    script, module, want = ADAPTERS[name]
    if importlib.util.find_spec(module) is None:
        print("skip %s: module %s not importable by %s" % (name, module, sys.executable))
        return False
    c = Child(os.path.join(ROOT, "adapters", script))
    status, count, text = c.request(1)
    lines = text.decode("utf-8").split("\n")
    check(status == 0 and lines[-1] == "", "%s DESCRIBE: status %d, text not newline-terminated" % (name, status))
    kernels = [ln.split("\t") for ln in lines[:-1]]
    check(all(len(k) == 5 for k in kernels), "%s DESCRIBE: a line without 5 fields" % name)
    got = {(k[1], k[2]) for k in kernels}
    check(got == want and len(kernels) == len(want), "%s DESCRIBE: kernels %s" % (name, sorted(got)))
    for k in kernels:
        check(all(w in CONVENTIONS for w in k[3].split()), "%s: unknown convention %r" % (name, k[3]))
        check(k[0] == name and k[4] != "", "%s: name %r / empty about" % (name, k[0]))
    # every values exact in binary64, binary32 and bfloat16
    rows = [[1.0, 2.0, 3.0, 0.5], [-4.0, 0.25, 0.75, -1.5]]
    masks = [[0, 0, 0, 0], [0, 1, 0, 0]]
    dys = [[0.5, -1.0, 2.0, 0.25], [1.0, 1.0, -0.5, 0.125]]
    targets = [2, 0]
    for idx, k in enumerate(kernels):
        func, fmt = k[1], k[2]
        vjp = func.endswith("_vjp")
        status, out = c.run(idx, func, fmt, rows, mask=masks, dy=dys if vjp else None,
                            target=targets if func == "cross_entropy" else None)
        per = 1 if func == "logsumexp" else 4
        want_count = 2 * 4 + 2 if func == "cross_entropy" else 2 * per
        check(status == 0 and len(out) == want_count, "%s %s %s: status %d, %d values"
              % (name, func, fmt, status, len(out)))
        if status != 0 or len(out) != want_count:
            continue
        for r in range(2):
            if func == "cross_entropy":
                row_out = out[4 * r:4 * r + 4] + [out[8 + r]]
            else:
                row_out = out[per * r:per * r + per]
            check_values(name, func, fmt, rows[r], masks[r], dys[r] if vjp else None, targets[r],
                         row_out)
    # the wrong function for kernel 0: rejected, and the child stays in step
    status, out = c.run(0, "logsumexp" if kernels[0][1] != "logsumexp" else "softmax",
                        kernels[0][2], rows)
    check(status != 0 and out == [], "%s: wrong function accepted (status %d)" % (name, status))
    status, count, text2 = c.request(1)
    check(status == 0 and text2 == text, "%s: DESCRIBE after a rejection differs" % name)
    c.request(3)
    c.p.stdin.close()
    try:
        rc = c.p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        c.p.kill()
        rc = None
    check(rc == 0, "%s: exit status %r after QUIT" % (name, rc))
    return True


def main():
    """Run every adapter's checks; exit 77 if none could run."""
    if importlib.util.find_spec("numpy") is None or importlib.util.find_spec("mpmath") is None:
        print("skip: numpy or mpmath not importable by %s" % sys.executable)
        return 77
    ran = [test_adapter(name) for name in ADAPTERS]
    print("%d passed, %d failed" % (passed, failed))
    if not any(ran):
        return 77
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

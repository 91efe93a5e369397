#!/usr/bin/python3
"""py_softmax.py -- an external kernel command (harness/PROTOCOL.md) in
pure Python: a max-shifted softmax and log_softmax in binary64, with the
row sum taken by math.fsum (correctly rounded), so each output carries a
few roundings only.  Run it as

    smaxcheck compare --cmd '/usr/bin/python3 examples/cmd/py_softmax.py'

A test fixture (tests/cli_compare.sh) and the smallest complete child of
the protocol: it reads requests from stdin and answers on stdout, nothing
else may be written there (diagnostics go to stderr)."""
import math
import struct
import sys

# Softmax's claim (DESCRIBE's optional sixth field): d_i = (x_i - max)/tau
# carries 2u|d_i| <= 2u spread absolutely, so e^d_i is within (2 spread + 2)u
# relatively (math.exp < 1 ulp); fsum rounds the sum once (+u) and the
# division once (+u): relative error (4 spread + 6)u, i.e. 4 spread + 6 ulps.
# log_softmax declares none (its error near 0 is absolute).
KERNELS = [  # name, func, format, convention, about[, claim]
    ("py-softmax", "softmax", "binary64", "ieee-nan", "max shift, math.exp, math.fsum, divide", "6,0,4,0,0"),
    ("py-softmax", "log_softmax", "binary64", "ieee-nan", "max shift, math.exp, math.fsum, log"),
]


def read_exact(f, n):
    """n bytes from f, or None at a clean end of input before the first."""
    b = f.read(n)
    if not b:
        return None
    if len(b) != n:
        sys.exit("py_softmax: input ended inside a message")
    return b


def row(x, mask, tau, log):
    """softmax (log: log_softmax) of one row; masked entries are -inf."""
    live = [v for v, m in zip(x, mask) if not m]
    if any(math.isnan(v) for v in live) or not live or max(live) == math.inf:
        return [math.nan] * len(x)  # NaN row; all masked; +inf: ieee-nan
    top = max(live)
    d = [-math.inf if m else (v - top) / tau for v, m in zip(x, mask)]
    s = math.fsum(math.exp(v) for v in d)
    if log:
        ls = math.log(s)
        return [v - ls for v in d]
    return [math.exp(v) / s for v in d]


def main():
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        h = read_exact(inp, 64)
        if h is None:
            return 0
        magic, ver, op, k, func, fmt, rows, n, tau, scale, flags, _ = struct.unpack("<4sIIIIIQQddII", h)
        if magic != b"SMXQ" or ver != 1:
            sys.exit("py_softmax: bad request header")
        if op == 3:
            return 0
        if op == 1:
            text = "".join("\t".join(k) + "\n" for k in KERNELS).encode()
            out.write(struct.pack("<4sIQ", b"SMXR", 0, len(text)) + text)
            out.flush()
            continue
        x = struct.unpack("<%dd" % (rows * n), inp.read(8 * rows * n))
        mask = inp.read(rows * n) if flags & 1 else bytes(rows * n)
        if flags & 2:
            inp.read(8 * rows * n)
        if flags & 4:
            inp.read(4 * rows)
        if k >= len(KERNELS):
            out.write(struct.pack("<4sIQ", b"SMXR", 1, 0))
            out.flush()
            continue
        y = []
        for r in range(rows):
            y += row(x[r * n:(r + 1) * n], mask[r * n:(r + 1) * n], tau, KERNELS[k][1] == "log_softmax")
        out.write(struct.pack("<4sIQ", b"SMXR", 0, len(y)) + struct.pack("<%dd" % len(y), *y))
        out.flush()


if __name__ == "__main__":
    sys.exit(main())

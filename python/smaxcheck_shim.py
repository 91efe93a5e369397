"""smaxcheck_shim -- the child side of smaxcheck's external-kernel protocol
(harness/PROTOCOL.md, version 1) for kernels written in Python.

It lets `smaxcheck compare --cmd 'python3 my_kernels.py'` measure any Python
softmax-family kernel with the same metrics as the built-in C kernels.  Pure
numpy + struct; nothing else.

API
---
    import smaxcheck_shim as shim

    def my_softmax(x, mask=None, dy=None, target=None, tau=1.0, in_scale=1.0):
        # x: float64 ndarray [rows, n], every value exactly representable in
        #    the kernel's format (binary16/bfloat16 values as their exact
        #    binary64 equivalents; fixed point: the int8 integers q).
        # mask: None or bool ndarray [rows, n] (True = masked, i.e. -inf,
        #    whatever x stores there); dy: None or float64 [rows, n] (VJPs);
        # target: None or int64 ndarray [rows] (cross_entropy); tau > 0.
        # Returns the outputs as an array-like, float64-convertible:
        #    [rows, n] (softmax, log_softmax, the VJPs), [rows] (logsumexp),
        #    or a pair (grad [rows, n], loss [rows]) for cross_entropy.
        # Each value must be exactly representable in the format (return
        # binary32 results as float32 or float64 holding a float32 value,
        # never a value rounded differently); fixed point: the integers q.
        # Raise shim.Unsupported to reject the arguments (status != 0).
        ...

    shim.register("mylib", "softmax", "binary32", my_softmax,
                  convention="ieee-nan", about="one line: what it computes")
    shim.serve()        # answers DESCRIBE / RUN / QUIT until QUIT or EOF

register(name, func, fmt, fn, convention="", about="")
    func: smax_func name ("softmax", "log_softmax", "logsumexp",
    "softmax_vjp", "log_softmax_vjp", "cross_entropy"); fmt: format name
    ("binary64", "binary32", "binary16", "bfloat16", "q8-uq0.8", "q8-q0.15",
    "q8-q4.11"); convention: space-separated ids of oracle/SEMANTICS.md ("" =
    reference).  The registration order is the DESCRIBE index.
serve(inp=sys.stdin.buffer, out=sys.stdout.buffer)
    Runs the protocol loop; returns on QUIT or at end of input.  Anything
    the kernels print must go to stderr: stdout carries the protocol.
Unsupported
    Exception a kernel raises to answer "these arguments are not supported"
    (a nonzero status, count 0).  Any other exception propagates and ends
    the child with its traceback on stderr: smaxcheck then reports the run
    as crashed, naming the input, which is what a library raising on a
    valid input deserves.
representable(fmt, values) -> bool ndarray
    Whether each float64 value is a value of the format (NaN and +-inf count
    for the float formats).  serve() checks every output with it and says
    on stderr when a kernel breaks the contract; the values are sent as they
    are, so smaxcheck classifies the run (`garbage`) as it would any child's.
"""

import struct
import sys

import numpy as np

__all__ = ["register", "serve", "Unsupported", "representable", "FUNCS", "FORMATS"]

# Numbered exactly as smax_func / smax_format in impls/kernel.h (the protocol
# sends these numbers).
FUNCS = ["softmax", "log_softmax", "logsumexp", "softmax_vjp",
         "log_softmax_vjp", "cross_entropy"]
FORMATS = ["binary64", "binary32", "binary16", "bfloat16",
           "q8-uq0.8", "q8-q0.15", "q8-q4.11"]

_REQ = struct.Struct("<4sIIIIIQQddII")   # 64-byte request header
_RESP = struct.Struct("<4sIQ")           # 16-byte response header
assert _REQ.size == 64 and _RESP.size == 16
_OP_DESCRIBE, _OP_RUN, _OP_QUIT = 1, 2, 3
_FLAG_MASK, _FLAG_DY, _FLAG_TARGET = 1, 2, 4

_kernels = []


class Unsupported(Exception):
    """Raised by a kernel to reject its arguments (protocol status 1)."""


class ProtocolError(Exception):
    """The parent sent something that is not version-1 protocol."""


def register(name, func, fmt, fn, convention="", about="", claim=None):
    """Add kernel `fn` computing `func` in storage format `fmt`.
    claim: None, or the accuracy claim of impls/kernel.h's smax_claim as
    five numbers (ulp_const, ulp_per_n, ulp_per_spread, abs_u_per_n,
    max_abs_input), sent as DESCRIBE's optional sixth field.
    Raises ValueError for an unknown func/format, a bad claim or a field
    holding a tab or newline (DESCRIBE is tab-separated, one kernel per line)."""
    if claim is not None:
        claim = tuple(float(c) for c in claim)
        if len(claim) != 5 or not all(c >= 0 and c != float("inf") for c in claim):
            raise ValueError("claim must be five finite numbers >= 0: %r" % (claim,))
    if func not in FUNCS:
        raise ValueError("unknown func %r (one of %s)" % (func, ", ".join(FUNCS)))
    if fmt not in FORMATS:
        raise ValueError("unknown format %r (one of %s)" % (fmt, ", ".join(FORMATS)))
    for field in (name, convention, about):
        if "\t" in field or "\n" in field:
            raise ValueError("kernel fields may not hold tabs or newlines: %r" % field)
    _kernels.append((name, func, fmt, fn, convention, about, claim))


def _bf16_representable(v):
    """bfloat16 values are the binary32 values whose low 16 bits are zero."""
    f = v.astype(np.float32)
    same = (f.astype(np.float64) == v) | np.isnan(v)
    bits = f.view(np.uint32)
    return same & (((bits & 0xFFFF) == 0) | np.isnan(v))


def representable(fmt, values):
    """Elementwise: is each float64 in `values` a value of format `fmt`?"""
    v = np.asarray(values, dtype=np.float64)
    if fmt == "binary64":
        return np.ones(v.shape, dtype=bool)
    if fmt == "binary32":
        with np.errstate(over="ignore"):
            return (v.astype(np.float32).astype(np.float64) == v) | np.isnan(v)
    if fmt == "binary16":
        with np.errstate(over="ignore"):
            return (v.astype(np.float16).astype(np.float64) == v) | np.isnan(v)
    if fmt == "bfloat16":
        with np.errstate(over="ignore"):
            return _bf16_representable(v)
    # fixed point: outputs are integers q in the output type's range
    lo, hi = {"q8-uq0.8": (0, 255), "q8-q0.15": (-32768, 32767),
              "q8-q4.11": (-32768, 32767)}[fmt]
    with np.errstate(invalid="ignore"):
        return (v == np.floor(v)) & (v >= lo) & (v <= hi)


def _read_exact(inp, size):
    """Read exactly `size` bytes; None at a clean end of input before the
    first byte, ProtocolError if the stream ends inside a message."""
    chunks, got = [], 0
    while got < size:
        b = inp.read(size - got)
        if not b:
            if got == 0:
                return None
            raise ProtocolError("end of input inside a message")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def _need(inp, size):
    """Like _read_exact, but the end of input is an error here."""
    b = _read_exact(inp, size)
    if b is None and size:
        raise ProtocolError("end of input inside a message")
    return b if b is not None else b""


def _respond(out, status, payload=b"", count=0):
    """Send a 16-byte response header with `count` units, then `payload`."""
    out.write(_RESP.pack(b"SMXR", status, count) + payload)
    out.flush()


def _describe_text():
    """One kernel per line: name, func, format, convention, about[, claim]."""
    return "".join("%s\t%s\t%s\t%s\t%s%s\n" % (k[0], k[1], k[2], k[4], k[5],
                                               "\t" + ",".join(c.hex() for c in k[6]) if k[6] else "")
                   for k in _kernels).encode("utf-8")


def _run(inp, out, hdr):
    """Read a RUN payload, call the kernel, send its outputs (or a status)."""
    (_, _, _, kidx, func, fmt, rows, n, tau, in_scale, flags, _) = hdr
    if rows * n > (1 << 34) or rows > (1 << 32):
        raise ProtocolError("implausible batch %d x %d" % (rows, n))
    x = np.frombuffer(_need(inp, 8 * rows * n), dtype="<f8").reshape(rows, n)
    mask = dy = target = None
    if flags & _FLAG_MASK:
        mask = np.frombuffer(_need(inp, rows * n), dtype=np.uint8).reshape(rows, n) != 0
    if flags & _FLAG_DY:
        dy = np.frombuffer(_need(inp, 8 * rows * n), dtype="<f8").reshape(rows, n)
    if flags & _FLAG_TARGET:
        target = np.frombuffer(_need(inp, 4 * rows), dtype="<i4").astype(np.int64)
    # the payload is read whole before any rejection, so the stream stays in step
    if kidx >= len(_kernels) or func >= len(FUNCS) or fmt >= len(FORMATS):
        return _respond(out, 1)
    name, kfunc, kfmt, fn = _kernels[kidx][:4]
    if FUNCS[func] != kfunc or FORMATS[fmt] != kfmt:
        return _respond(out, 1)
    # copies: kernels may write into their inputs
    args = dict(mask=None if mask is None else mask.copy(),
                dy=None if dy is None else dy.astype(np.float64),
                target=target, tau=float(tau), in_scale=float(in_scale))
    try:
        res = fn(x.astype(np.float64), **args)
    except Unsupported:
        return _respond(out, 1)
    if kfunc == "cross_entropy":
        grad, loss = res
        outs = [np.asarray(grad, dtype=np.float64).reshape(-1),
                np.asarray(loss, dtype=np.float64).reshape(-1)]
        want = rows * n + rows
    else:
        outs = [np.asarray(res, dtype=np.float64).reshape(-1)]
        want = rows if kfunc == "logsumexp" else rows * n
    y = np.concatenate(outs) if len(outs) > 1 else outs[0]
    if y.size != want:
        # the adapter is wrong, not the library: say so and stop
        raise RuntimeError("kernel %s returned %d values, expected %d" % (name, y.size, want))
    bad = ~representable(kfmt, y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        sys.stderr.write("smaxcheck_shim: kernel %s output %d = %r is not a %s value\n"
                         % (name, i, float(y[i]), kfmt))
    _respond(out, 0, y.astype("<f8").tobytes(), y.size)
    return None


def serve(inp=None, out=None):
    """Answer the protocol on `inp`/`out` (binary streams; default stdin and
    stdout) until QUIT or a clean end of input.  Raises ProtocolError on a
    malformed request (bad magic or version, unknown op, truncated payload)."""
    inp = inp if inp is not None else sys.stdin.buffer
    out = out if out is not None else sys.stdout.buffer
    while True:
        raw = _read_exact(inp, _REQ.size)
        if raw is None:
            return
        hdr = _REQ.unpack(raw)
        if hdr[0] != b"SMXQ" or hdr[1] != 1:
            raise ProtocolError("bad magic %r or version %d" % (hdr[0], hdr[1]))
        op = hdr[2]
        if op == _OP_DESCRIBE:
            text = _describe_text()
            _respond(out, 0, text, len(text))
        elif op == _OP_RUN:
            _run(inp, out, hdr)
        elif op == _OP_QUIT:
            return
        else:
            raise ProtocolError("unknown op %d" % op)

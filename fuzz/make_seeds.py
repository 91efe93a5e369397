#!/usr/bin/python3
"""make_seeds.py -- (re)generate the checked-in seed corpora fuzz/seeds/<target>/
and the special-value dictionary fuzz/dict/fuzz_kernel.dict.

usage: fuzz/make_seeds.py SMAXCHECK   (the smaxcheck binary; its `list kernels`
gives the registry order that the kernel selector of a fuzz_kernel input
indexes, see harness/fuzzcase.h for the byte layout)

Deterministic (fixed seed): rerunning it rewrites the same files.  Every
fuzz_kernel seed must pass `smaxcheck replay` (tests/fuzz_smoke.sh checks),
so values are moderate (|x| < 16) except in the special-value seeds.
"""
import math, os, random, shutil, struct, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTH = {"binary64": 8, "binary32": 4, "binary16": 2, "bfloat16": 2}


def pack(fmt, v):
    """little-endian bit pattern of v in the kernel's input format"""
    if fmt == "binary64":
        return struct.pack("<d", v)
    if fmt == "binary32":
        return struct.pack("<f", v)
    if fmt == "binary16":
        return struct.pack("<e", v)
    if fmt == "bfloat16":  # round to nearest even on the upper 16 bits of binary32
        u = struct.unpack("<I", struct.pack("<f", v))[0]
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        return struct.pack("<H", u & 0xFFFF)
    return struct.pack("<b", max(-128, min(127, int(round(v)))))  # fixed point: int8


def header(k, n, tau_idx=0, rows=1, mask=0, target=0):
    b5 = (rows - 1) | (0x18 if rows > 1 else 0) | (4 if mask else 0)
    return struct.pack("<HBBBBBBQ", k, n, 0, tau_idx, b5, target, 0, mask)


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# (pack name, precision p, emin, emax) of the float storage formats
FLOATS = {"f64": ("binary64", 53, -1022, 1023), "f32": ("binary32", 24, -126, 127),
          "f16": ("binary16", 11, -14, 15), "bf16": ("bfloat16", 8, -126, 127)}


def write_dict():
    """special values of every format as bit patterns: +-0, +-inf, NaN, the
    smallest subnormal, the largest finite, the smallest normal, 1, and the
    exp overflow / underflow thresholds ln(max finite), ln(min subnormal / 2)"""
    lines = ["# fuzz_kernel: special values of each storage format as little-endian bit",
             "# patterns (libFuzzer -dict, AFL++ -x); written by fuzz/make_seeds.py."]
    esc = lambda b: "".join("\\x%02x" % c for c in b)
    for tag, (fmt, p, emin, emax) in FLOATS.items():
        maxf = math.ldexp(2 - math.ldexp(1, 1 - p), emax)
        sub = math.ldexp(1, emin - p + 1)
        vals = {"zero": 0.0, "nzero": -0.0, "inf": math.inf, "ninf": -math.inf, "nan": math.nan,
                "minsub": sub, "maxfin": maxf, "nmaxfin": -maxf, "minnorm": math.ldexp(1, emin), "one": 1.0,
                "ovf": math.log(maxf), "novf": -math.log(maxf), "unf": math.log(sub) - math.log(2)}
        for k, v in vals.items():
            lines.append('%s_%s="%s"' % (tag, k, esc(pack(fmt, v))))
    lines += ['i8_min="\\x80"', 'i8_max="\\x7f"']
    os.makedirs(os.path.join(HERE, "dict"), exist_ok=True)
    with open(os.path.join(HERE, "dict", "fuzz_kernel.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = subprocess.run([sys.argv[1], "list", "kernels"], check=True, capture_output=True, text=True).stdout
    kernels = [l.split()[:3] for l in out.splitlines()[1:] if l and not l.startswith("(")]
    for t in ("fuzz_kernel", "fuzz_vecio", "fuzz_thresholds"):
        shutil.rmtree(os.path.join(HERE, "seeds", t), ignore_errors=True)
    rng = random.Random(1)
    sizes = [1, 3, 8, 16, 33, 64]
    for i, (name, func, fmt) in enumerate(kernels):
        n = sizes[i % len(sizes)]
        vjp = func.endswith("_vjp")
        scale = 4 if fmt in WIDTH else 20
        rows = 1 + i % 2 if n <= 16 else 1
        data = header(i, n, rows=rows)
        vals = [rng.gauss(0, scale) for _ in range(rows * n * (2 if vjp else 1))]
        write("fuzz_kernel", "k%02d-%s-%s-%s" % (i, name, func, fmt), data + b"".join(pack(fmt, v) for v in vals))
    # special rows for kernel 0 (binary64 in the registry): NaN, +inf, masked, n = 0
    f0 = kernels[0][2]
    specials = {"nan": [1.0, float("nan"), 2.0], "pinf": [1.0, float("inf"), 2.0], "masked": [1.0, 2.0, 3.0]}
    for tag, v in specials.items():
        write("fuzz_kernel", "special-" + tag, header(0, 3, mask=7 if tag == "masked" else 0)
              + b"".join(pack(f0, x) for x in v))
    write("fuzz_kernel", "special-empty", header(0, 0))
    # vector text format (harness/vecio.h)
    write("fuzz_vecio", "plain", b"1000 1001 1002\n-inf 0.5 1\n")
    write("fuzz_vecio", "hex-vjp", b"0x1.8p+3 -0x1p-1074 nan | 1 -2 0x1.fffffffffffffp+1023\n")
    write("fuzz_vecio", "blank-comment", b"\n  \t\n1e308 -1e-320 inf\n")
    # thresholds file (harness/gate.h)
    with open(os.path.join(HERE, "..", "harness", "thresholds.txt"), "rb") as f:
        lines = f.read().splitlines(keepends=True)
    write("fuzz_thresholds", "head", b"".join(lines[:8]))
    write("fuzz_thresholds", "fixed", b"".join(l for l in lines if b"fixedpoint" in l))
    write("fuzz_thresholds", "bad", b"naive softmax binary64 max_ulp=x\nk f\n")
    write_dict()


if __name__ == "__main__":
    main()

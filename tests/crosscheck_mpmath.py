#!/usr/bin/python3
"""Independent cross-check of `smaxcheck oracle` with mpmath.

Run with the Debian interpreter (mpmath is python3-mpmath):

    /usr/bin/python3 tests/crosscheck_mpmath.py --smaxcheck build/smaxcheck \
        --format binary32 [--count 2000] [--seed 1] [--keep DIR]
    /usr/bin/python3 tests/crosscheck_mpmath.py --selftest

The expected results are derived here from the mathematical definitions only:
inputs are exact rationals (fractions.Fraction of the doubles), transcendental
parts are enclosed with mpmath interval arithmetic (mpmath.iv), and every
enclosure is rounded to the target format by our own integer rounding code.
If the two ends of an enclosure round differently, the precision is doubled
(Ziv's strategy) up to a cap, after which the value is reported "undecided".
Results that are exact rationals (or exactly zero) are recognised up front, so
the refinement loop only ever sees irrational values and therefore terminates.
An output that is a rational q plus an astronomically small part of known sign
(log_softmax = d_i - log(1 + e^-17000), where d_i may be a midpoint) is
settled by rounding "just beside q" (see Transcendental.anchor).

Families (float formats): normal and uniform at several scales, small
integers, huge spread (+-max), z near the exp overflow / underflow thresholds,
subnormal outputs, ties at the max and all-equal rows, neighbours one ulp
apart, masked (-inf) entries incl. fully masked rows and masked targets,
NaN / +inf rows, empty rows, a few rows of n = 300..4096; dy for the vjps:
normal, integers, constant (exact zero), zero sum, one-hot, huge, tiny,
-0, non-finite.  Fixed formats: int8 uniform / small / extreme, ties, empty,
large, with --scale 1/16, 0.0390625, 0.1, 1.  Temperatures 1, 0.5, 3, 0.1,
7.25 and rarely 2^-1070, 1e-310, 2^-20; float rows sometimes get --scale too.
One CLI call per (function, tau, scale, target) batch; a few malformed inputs
must give exit 2, empty stdout and the line and token on stderr.  The last
line is "N passed, M failed"; the exit status is 0 only if nothing failed.
"""

import argparse
import math
import os
import random
import struct
import re
import subprocess
import sys
import time
from fractions import Fraction

from mpmath import iv, libmp

INF = math.inf
NAN = math.nan

# ---------------------------------------------------------------------------
# Target formats
# ---------------------------------------------------------------------------


class FloatFmt:
    """IEEE-style binary format: precision p (with hidden bit), exponent range."""
    kind = "float"

    def __init__(self, name, p, emin, emax, width):
        self.name, self.p, self.emin, self.emax, self.width = name, p, emin, emax, width
        self.bias = emax
        self.expbits = width - p
        self.maxval = math.ldexp(2.0 - 2.0 ** (1 - p), emax)
        # exp(z) overflows above ln(max) and underflows to 0 below ln(2^(emin-p))
        self.ln_max = math.log(self.maxval)
        self.ln_uflow = (emin - p) * math.log(2.0)
        self.ln_normal = emin * math.log(2.0)


class FixedFmt:
    """Fixed point k * 2^-fbits with integer k saturated to [kmin, kmax]."""
    kind = "fixed"

    def __init__(self, name, fbits, kmin, kmax):
        self.name, self.fbits, self.kmin, self.kmax = name, fbits, kmin, kmax


FORMATS = {
    "binary64": FloatFmt("binary64", 53, -1022, 1023, 64),
    "binary32": FloatFmt("binary32", 24, -126, 127, 32),
    "binary16": FloatFmt("binary16", 11, -14, 15, 16),
    "bfloat16": FloatFmt("bfloat16", 8, -126, 127, 16),
    "uq0.8": FixedFmt("uq0.8", 8, 0, 255),
    "q0.15": FixedFmt("q0.15", 15, -32768, 32767),
}

VJP_FUNCS = ("softmax_vjp", "log_softmax_vjp")
SCALAR_FUNCS = ("logsumexp", "cross_entropy")
TARGET_FUNCS = ("cross_entropy", "cross_entropy_grad")
FLOAT_FUNCS = ("softmax", "log_softmax", "logsumexp", "softmax_vjp",
               "log_softmax_vjp", "cross_entropy", "cross_entropy_grad")
FIXED_FUNCS = ("softmax", "log_softmax", "logsumexp")

# Result keys: ("f", bits) for a float format, ("k", k) for a fixed format,
# ("nan",) for any NaN (a NaN's payload/sign is not observable through %a),
# ("undecided",) when the refinement cap was hit.
KEY_NAN = ("nan",)
KEY_UNDECIDED = ("undecided",)

# ---------------------------------------------------------------------------
# Exact rounding (the single rounding step from an exact value to the target)
# ---------------------------------------------------------------------------


def floor_log2_ratio(a, b):
    """floor(log2(a/b)) for positive integers, without forming the quotient."""
    e = a.bit_length() - b.bit_length()
    if e >= 0:
        if a < (b << e):
            e -= 1
    elif (a << -e) < b:
        e -= 1
    return e


def div_rne(num, den):
    """num/den rounded to the nearest integer, ties to even (num >= 0)."""
    k, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and k & 1):
        k += 1
    return k


def scaled_rne(a, b, s):
    """round_half_even(a/b * 2^s) for a >= 0, b > 0."""
    if s >= 0:
        return div_rne(a << s, b)
    return div_rne(a, b << -s)


def float_bits(fmt, neg, k, q):
    """Bit pattern of (-1)^neg * k * 2^q where k <= 2^p is already rounded."""
    p = fmt.p
    if k == 1 << p:                       # rounding carried into the next binade
        k, q = k >> 1, q + 1
    sign = (1 << (fmt.width - 1)) if neg else 0
    if k < (1 << (p - 1)):                # subnormal or zero (q == emin-p+1 here)
        return sign | k
    e = q + p - 1                         # exponent of the leading bit
    if e > fmt.emax:
        return float_inf_bits(fmt, neg)
    return sign | ((e + fmt.bias) << (p - 1)) | (k - (1 << (p - 1)))


def float_inf_bits(fmt, neg):
    sign = (1 << (fmt.width - 1)) if neg else 0
    return sign | (((1 << fmt.expbits) - 1) << (fmt.p - 1))


def round_scaled(fmt, neg, a, b, x2):
    """Key of (-1)^neg * (a/b) * 2^x2 rounded once to fmt (a >= 0, b > 0).

    An exact zero is +0 whatever neg says (the contract: exact zeros are +0).
    Extreme exponents are decided before any shifting, so values like
    exp(-2^2000) stay cheap.
    """
    if a == 0:
        return ("f", 0) if fmt.kind == "float" else ("k", 0)
    e = floor_log2_ratio(a, b) + x2       # 2^e <= |v| < 2^(e+1)
    if fmt.kind == "fixed":
        return round_fixed(fmt, neg, a, b, x2, e)
    if e > fmt.emax + 1:
        return ("f", float_inf_bits(fmt, neg))
    if e < fmt.emin - fmt.p:              # |v| < half the smallest subnormal
        return ("f", float_bits(fmt, neg, 0, 0))
    q = max(e, fmt.emin) - (fmt.p - 1)    # quantum (ulp exponent) at |v|
    k = scaled_rne(a, b, x2 - q)
    return ("f", float_bits(fmt, neg, k, q))


def round_fixed(fmt, neg, a, b, x2, e):
    """Fixed point: round |v| * 2^fbits half-even, apply sign, then saturate."""
    e += fmt.fbits
    if e > 64:
        k = 1 << 70
    elif e < -1:                          # |v| * 2^f < 1/2
        k = 0
    else:
        k = scaled_rne(a, b, x2 + fmt.fbits)
    if neg:
        k = -k
    return ("k", min(max(k, fmt.kmin), fmt.kmax))


def round_fraction(fmt, q):
    """Key of the exact rational q rounded to fmt."""
    q = Fraction(q)
    return round_scaled(fmt, q < 0, abs(q.numerator), q.denominator, 0)


def round_beside(fmt, q, side):
    """Rounding of q + side*eps for an infinitesimal eps > 0.

    Every rounding boundary (representable value, midpoint, overflow
    threshold) is a multiple of 2^(emin-p) (float) or 2^-(fbits+1) (fixed),
    so an eps below 1/(denominator(q) * 2^(p-emin)) / 16 crosses none of them
    except q itself.
    """
    q = Fraction(q)
    grid = (fmt.p - fmt.emin) if fmt.kind == "float" else fmt.fbits + 1
    eps = Fraction(1, 1 << (q.denominator.bit_length() + grid + 4))
    return round_fraction(fmt, q + side * eps)


def round_infinity(fmt, neg):
    if fmt.kind == "fixed":
        return ("k", fmt.kmin if neg else fmt.kmax)
    return ("f", float_inf_bits(fmt, neg))


def round_raw(fmt, raw):
    """Key of an mpmath raw mpf (sign, man, exp, bc) rounded to fmt."""
    if raw == libmp.fnan:
        return KEY_NAN
    if raw == libmp.finf or raw == libmp.fninf:
        return round_infinity(fmt, raw == libmp.fninf)
    sign, man, exp, _ = raw
    return round_scaled(fmt, bool(sign), man, 1, exp)


def key_to_float(fmt, key):
    """The double holding the value a key stands for (exact: targets fit in binary64)."""
    if key[0] == "nan":
        return NAN
    if key[0] == "k":
        return math.ldexp(float(key[1]), -fmt.fbits)
    bits = key[1]
    p = fmt.p
    neg = bits >> (fmt.width - 1)
    biased = (bits >> (p - 1)) & ((1 << fmt.expbits) - 1)
    frac = bits & ((1 << (p - 1)) - 1)
    if biased == (1 << fmt.expbits) - 1:
        v = NAN if frac else INF
    elif biased == 0:
        v = math.ldexp(float(frac), fmt.emin - p + 1)
    else:
        v = math.ldexp(float(frac + (1 << (p - 1))), biased - fmt.bias - p + 1)
    return -v if neg else v


def float_to_key(fmt, v):
    """Key of a double that must already be a value of fmt, else ("nonrep", hex)."""
    if math.isnan(v):
        return KEY_NAN
    if math.isinf(v):
        return round_infinity(fmt, v < 0)
    if v == 0:
        if fmt.kind == "fixed":
            return ("k", 0)
        return ("f", float_bits(fmt, math.copysign(1.0, v) < 0, 0, 0))
    key = round_fraction(fmt, Fraction(v))
    if key_to_float(fmt, key) != v:
        return ("nonrep", v.hex())
    return key


def to_format(fmt, v):
    """Round a double to a finite value of the float format (saturating)."""
    if not math.isfinite(v):
        return v
    if v == 0:
        return v
    key = round_fraction(fmt, Fraction(v))
    w = key_to_float(fmt, key)
    if math.isinf(w):
        return math.copysign(fmt.maxval, v)
    return w


def key_hex(fmt, key):
    if key[0] in ("nan", "undecided"):
        return key[0]
    if key[0] == "nonrep":
        return "nonrep:" + key[1]
    return key_to_float(fmt, key).hex()


# ---------------------------------------------------------------------------
# Rigorous enclosures with mpmath.iv
# ---------------------------------------------------------------------------


def ivq(q):
    """Interval enclosing the rational q at the current iv precision."""
    q = Fraction(q)
    prec = iv.prec
    lo = libmp.from_rational(q.numerator, q.denominator, prec, libmp.round_floor)
    hi = libmp.from_rational(q.numerator, q.denominator, prec, libmp.round_ceiling)
    return iv.make_mpf((lo, hi))


def widen(x):
    """Outward-pad an enclosure by 4 ulps.

    mpmath's directed-rounding transcendental kernels keep guard bits but do
    not formally promise correct rounding; padding each transcendental result
    keeps the enclosure valid even if an endpoint were off by an ulp.
    """
    prec = iv.prec
    lo, hi = x._mpi_
    lo = libmp.mpf_sub(lo, libmp.mpf_shift(libmp.mpf_abs(lo), 2 - prec), prec, libmp.round_floor)
    hi = libmp.mpf_add(hi, libmp.mpf_shift(libmp.mpf_abs(hi), 2 - prec), prec, libmp.round_ceiling)
    return iv.make_mpf((lo, hi))


def iv_exp(q):
    """exp of a rational, enclosed."""
    if q == 0:
        return iv.mpf(1)
    return widen(iv.exp(ivq(q)))


def log1p_point(t_raw, terms):
    """Enclosure of log1p(t) for an exact small t >= 0 (alternating series).

    After `terms` terms the remainder is at most t^(terms+1)/(terms+1) in
    magnitude, which we add as a symmetric error interval.
    """
    t = iv.make_mpf((t_raw, t_raw))
    acc, power = iv.mpf(0), iv.mpf(1)
    for k in range(1, terms + 1):
        power = power * t
        acc = acc + power / k if k % 2 else acc - power / k
    rem = power * t / (terms + 1)
    return acc + iv.make_mpf(((-rem)._mpi_[0], rem._mpi_[1]))


def iv_log1p(t):
    """log(1 + t) for an enclosure t >= 0, accurate also when t is tiny.

    iv.log(1 + t) would lose everything below 2^-prec of 1, e.g. for
    log_softmax of [0, -2000]; for small t use the series at both ends
    (log1p is increasing).
    """
    lo, hi = t._mpi_
    small = libmp.mpf_lt(hi, libmp.mpf_shift(libmp.fone, -20))
    if not small:
        return widen(iv.log(1 + t))
    terms = iv.prec // 20 + 2
    a = log1p_point(lo, terms) if lo != libmp.fzero else iv.mpf(0)
    b = log1p_point(hi, terms)
    return iv.make_mpf((a._mpi_[0], b._mpi_[1]))


def ziv_round(fmt, make_interval, start=96, cap=6144):
    """Round the value enclosed by make_interval(prec) once to fmt.

    Doubles the precision until both ends of the enclosure round alike.
    """
    prec = start
    while prec <= cap:
        iv.prec = prec
        lo, hi = make_interval()._mpi_
        klo, khi = round_raw(fmt, lo), round_raw(fmt, hi)
        if klo == khi:
            return klo
        prec *= 2
    return KEY_UNDECIDED


# ---------------------------------------------------------------------------
# Reference semantics
# ---------------------------------------------------------------------------


class Row:
    """One input vector with its exact rational data."""

    def __init__(self, func, fmt, x, dy, tau, scale, target):
        self.func, self.fmt, self.x, self.dy = func, fmt, x, dy
        self.tau, self.scale, self.target = Fraction(tau), Fraction(scale), target
        self.n = len(x)

    def out_len(self):
        return 1 if self.func in SCALAR_FUNCS else self.n


def expected(row):
    """List of expected keys for one row, following the reference semantics."""
    fmt, func, x, n = row.fmt, row.func, row.x, row.n
    if n == 0:
        return [round_infinity(fmt, True)] if func == "logsumexp" else []
    if any(math.isnan(v) for v in x):
        return [KEY_NAN] * row.out_len()
    if func in VJP_FUNCS and not all(math.isfinite(d) for d in row.dy):
        return [KEY_NAN] * row.out_len()
    unmasked = [i for i in range(n) if x[i] != -INF]
    pinf = [i for i in unmasked if x[i] == INF]
    if len(pinf) >= 2:
        return [round_infinity(fmt, False)] if func == "logsumexp" else [KEY_NAN] * row.out_len()
    if len(pinf) == 1:
        return one_infinity(row, pinf[0])
    if not unmasked:
        return [round_infinity(fmt, True)] if func == "logsumexp" else [KEY_NAN] * row.out_len()
    return finite_case(row, unmasked)


def one_infinity(row, k):
    """Exactly one +inf at k: every result is an exact rational or infinite."""
    fmt, func, n, T, t = row.fmt, row.func, row.n, row.tau, row.target
    R = lambda q: round_fraction(fmt, q)
    if func == "softmax":
        return [R(1 if i == k else 0) for i in range(n)]
    if func == "log_softmax":
        return [R(0) if i == k else round_infinity(fmt, True) for i in range(n)]
    if func == "logsumexp":
        return [round_infinity(fmt, False)]
    if func == "softmax_vjp":
        return [R(0)] * n
    dy = [Fraction(d) for d in row.dy or []]
    if func == "log_softmax_vjp":
        D = sum(dy)
        return [R((dy[i] - (D if i == k else 0)) / T) for i in range(n)]
    if func == "cross_entropy":
        return [R(0) if t == k else round_infinity(fmt, False)]
    return [R(Fraction((i == k) - (i == t)) / T) for i in range(n)]   # cross_entropy_grad


def finite_case(row, unmasked):
    """No NaN, no +inf, at least one finite unmasked entry."""
    z = {i: Fraction(row.x[i]) * row.scale / row.tau for i in unmasked}
    if len(set(z.values())) == 1:
        return single_level(row, unmasked, z)
    return Transcendental(row, unmasked, z).results()


def single_level(row, unmasked, z):
    """All unmasked z equal: s_i = 1/c exactly; only log c is transcendental."""
    fmt, func, n, T, t = row.fmt, row.func, row.n, row.tau, row.target
    R = lambda q: round_fraction(fmt, q)
    c = len(unmasked)
    um = set(unmasked)
    s = [Fraction(1, c) if i in um else Fraction(0) for i in range(n)]
    m = z[unmasked[0]]
    log_c = lambda shift: (lambda: ivq(shift) + widen(iv.log(iv.mpf(c))))
    if func == "softmax":
        return [R(v) for v in s]
    if func == "log_softmax":
        neg_log_c = R(0) if c == 1 else ziv_round(fmt, lambda: -widen(iv.log(iv.mpf(c))))
        return [neg_log_c if i in um else round_infinity(fmt, True) for i in range(n)]
    if func == "logsumexp":
        return [R(m) if c == 1 else ziv_round(fmt, log_c(m))]
    if func == "cross_entropy":
        if t not in um:
            return [round_infinity(fmt, False)]
        return [R(0) if c == 1 else ziv_round(fmt, log_c(0))]
    if func == "cross_entropy_grad":
        return [R((s[i] - (i == t)) / T) for i in range(n)]
    dy = [Fraction(d) for d in row.dy]
    if func == "softmax_vjp":
        avg = sum(s[j] * dy[j] for j in range(n))
        return [R(s[i] * (dy[i] - avg) / T) for i in range(n)]
    D = sum(dy)                                                      # log_softmax_vjp
    return [R((dy[i] - s[i] * D) / T) for i in range(n)]


class Transcendental:
    """At least two distinct unmasked z values.

    By Lindemann-Weierstrass (e^q for distinct rationals q are linearly
    independent over the algebraic numbers) every output here is either an
    exact rational that we detect (masked entries, sum(dy) == 0, the zero
    pattern of softmax_vjp) or irrational, so Ziv refinement terminates.
    """

    def __init__(self, row, unmasked, z):
        self.row, self.fmt, self.func = row, row.fmt, row.func
        self.um = unmasked
        self.umset = set(unmasked)
        m = max(z.values())
        self.m = m
        self.d = {i: z[i] - m for i in unmasked}        # <= 0, exact
        self.top = [i for i in unmasked if self.d[i] == 0]
        self.dy = [Fraction(v) for v in row.dy] if row.dy is not None else None
        self.use_groups = False
        if self.dy is not None:
            # entries with equal z: (d, count, sum of their dy, one member)
            groups = {}
            for j in unmasked:
                cnt, tot, rep = groups.get(self.d[j], (0, Fraction(0), j))
                groups[self.d[j]] = (cnt + 1, tot + self.dy[j], rep)
            self.groups = [(d, cnt, tot, rep) for d, (cnt, tot, rep) in groups.items()]

    # -- exact decisions --------------------------------------------------
    def exact_outputs(self):
        """Outputs known exactly without exponentials (index -> key)."""
        row, fmt, func, n, T = self.row, self.fmt, self.func, self.row.n, self.row.tau
        R = lambda q: round_fraction(fmt, q)
        masked = [i for i in range(n) if i not in self.umset]
        if func in ("softmax", "softmax_vjp"):
            out = {i: R(0) for i in masked}
            if func == "softmax_vjp":
                out.update({i: R(0) for i in self.vjp_zero_indices()})
            return out
        if func == "log_softmax":
            return {i: round_infinity(fmt, True) for i in masked}
        if func == "log_softmax_vjp":
            out = {i: R(self.dy[i] / T) for i in masked}
            if sum(self.dy) == 0:
                out.update({i: R(self.dy[i] / T) for i in range(n)})
            return out
        if func == "cross_entropy":
            return {0: round_infinity(fmt, False)} if row.target not in self.umset else {}
        if func == "cross_entropy_grad":
            return {i: R(Fraction(-(i == row.target)) / T) for i in masked}
        return {}

    def vjp_zero_indices(self):
        """Unmasked i with dx_i exactly 0.

        sum_j e^{z_j} (dy_i - dy_j) = 0 iff, grouping j by equal z, every
        group's dy mean equals dy_i (linear independence of the e^z).
        """
        means = {tot / cnt for _, cnt, tot, _ in self.groups}
        if len(means) != 1:
            return []
        mu = means.pop()
        return [i for i in self.um if self.dy[i] == mu]

    # -- enclosures at the current precision ------------------------------
    def prepare(self):
        """Shared enclosures: E_i = e^{d_i}, Sigma = sum E, log Sigma."""
        self.E = {i: iv_exp(self.d[i]) for i in self.um}
        self.tail = self.sum_tail(exclude=None)
        self.sigma = len(self.top) + self.tail
        if len(self.top) == 1:
            self.log_sigma = iv_log1p(self.tail)
        else:
            self.log_sigma = widen(iv.log(self.sigma))
        self.inv_tau = 1 / ivq(self.row.tau)
        if self.func == "softmax_vjp":
            # deviations from dy at a maximal entry: avoids cancelling against
            # a large common part of dy (e.g. dy nearly constant)
            r = self.top[0]
            self.dev = {j: self.dy[j] - self.dy[r] for j in self.um}
            acc = iv.mpf(0)
            for j in self.um:
                if self.dev[j] != 0:
                    acc = acc + self.E[j] * ivq(self.dev[j])
            self.mean_dev = acc / self.sigma
        if self.func == "log_softmax_vjp":
            self.D = sum(self.dy)

    def sum_tail(self, exclude):
        acc = iv.mpf(0)
        for i in self.um:
            if self.d[i] != 0 and i != exclude:
                acc = acc + self.E[i]
        return acc

    def group_sum(self, coef):
        """sum over equal-z groups g of e^{d_g} * coef(g), dropping exact zeros.

        Used for the vjp numerators once the direct formulas failed twice:
        a coefficient that is exactly zero can then no longer leave an
        unresolvable cancellation (e.g. dy_i - s_i*D with s_i = 1 - e^-1e300).
        """
        acc = iv.mpf(0)
        for g in self.groups:
            c = coef(g)
            if c != 0:
                acc = acc + self.E[g[3]] * ivq(c)
        return acc

    def enclose_vjp_grouped(self, i):
        dyi = self.dy[i]
        if self.func == "softmax_vjp":
            # dx_i = e^{d_i} * sum_g e^{d_g} (n_g dy_i - S_g) / Sigma^2 / tau
            num = self.group_sum(lambda g: g[1] * dyi - g[2])
            return self.E[i] * num / (self.sigma * self.sigma) * self.inv_tau
        # log_softmax_vjp: dx_i = sum_g e^{d_g} (n_g dy_i - [g = g(i)] D) / Sigma / tau
        di = self.d[i]
        num = self.group_sum(lambda g: g[1] * dyi - (self.D if g[0] == di else 0))
        return num / self.sigma * self.inv_tau

    def enclose(self, i):
        """Enclosure of output i (for scalar functions i == 0)."""
        f = self.func
        if self.use_groups and f in VJP_FUNCS:
            return self.enclose_vjp_grouped(i)
        if f == "softmax":
            return self.E[i] / self.sigma
        if f == "log_softmax":
            return ivq(self.d[i]) - self.log_sigma
        if f == "logsumexp":
            return ivq(self.m) + self.log_sigma
        if f == "cross_entropy":
            return ivq(-self.d[self.row.target]) + self.log_sigma
        if f == "softmax_vjp":
            return self.E[i] / self.sigma * (ivq(self.dev[i]) - self.mean_dev) * self.inv_tau
        if f == "log_softmax_vjp":
            return (ivq(self.dy[i]) - self.E[i] / self.sigma * ivq(self.D)) * self.inv_tau
        # cross_entropy_grad
        if i != self.row.target:
            return self.E[i] / self.sigma * self.inv_tau
        # s_t - 1 = -(sum of the others)/Sigma, summed directly (no cancellation)
        others = (len(self.top) - (i in self.top)) + self.sum_tail(exclude=i)
        return -others / self.sigma * self.inv_tau

    def anchor(self, i):
        """(q, side): a rational q with output i strictly on `side` of q.

        The outputs are q plus a positive or negative part that can be
        astronomically small (e.g. log_softmax = d_i - log(1 + e^-17000)).
        If q is itself a rounding boundary no precision separates the two
        ends of the enclosure, but knowing the side decides the rounding.
        """
        f, T, c = self.func, self.row.tau, len(self.top)
        top = self.d.get(i) == 0
        if f == "log_softmax":
            return self.d[i], -1                      # log Sigma > 0
        if f == "logsumexp":
            return self.m, 1
        if f == "cross_entropy":
            return -self.d[self.row.target], 1
        if f == "softmax":
            return (Fraction(1, c), -1) if top else (Fraction(0), 1)
        if f == "log_softmax_vjp":                    # 0 < s_i (< 1/c at the top)
            sgn = 1 if self.D > 0 else -1
            if top:
                return (self.dy[i] - self.D / c) / T, sgn
            return self.dy[i] / T, -sgn
        if f == "cross_entropy_grad":
            shift = -1 if i == self.row.target else 0
            if top:
                return (Fraction(1, c) + shift) / T, -1
            return Fraction(shift) / T, 1
        if f == "softmax_vjp" and top:
            return self.softmax_vjp_top_anchor(i)
        return None       # tiny softmax_vjp outputs: relative precision suffices

    def softmax_vjp_top_anchor(self, i):
        """Anchor for dx_i at one of the c tied maxima (E = 1 there).

        With tau_ = sum of the tail e^{d_j}, w = sum of tail e^{d_j} dy_j,
        mu = mean dy over the maxima, delta = dy_i - mu:
            dx_i * T = (c delta + tau_ dy_i - w) / (c + tau_)^2
        and, against the rational A = delta / (c T),
            (dx_i - A) * T * c (c + tau_)^2 = c * G - delta * tau_^2,
            G = sum over tail groups g of e^{d_g} (n_g (dy_i - 2 delta) - S_g),
        whose sign an enclosure settles (exact-zero coefficients dropped).
        """
        c, T = len(self.top), self.row.tau
        mu = sum(self.dy[j] for j in self.top) / c
        delta = self.dy[i] - mu
        G = self.group_sum(lambda g: 0 if g[0] == 0 else g[1] * (self.dy[i] - 2 * delta) - g[2])
        lo, hi = (c * G - ivq(delta) * self.tail * self.tail)._mpi_
        if libmp.mpf_gt(lo, libmp.fzero):
            return delta / (c * T), 1
        if libmp.mpf_lt(hi, libmp.fzero):
            return delta / (c * T), -1
        return None

    def decide(self, i, enclosure):
        """Key of output i if the enclosure (plus its anchor) settles it."""
        lo, hi = enclosure._mpi_
        klo, khi = round_raw(self.fmt, lo), round_raw(self.fmt, hi)
        if klo == khi:
            return klo
        a = self.anchor(i)
        if a is not None:
            # v lies in [lo, q) or (q, hi]; rounding is monotone and constant
            # just beside q, so agreement with that end settles it
            k = round_beside(self.fmt, a[0], a[1])
            if k == (klo if a[1] < 0 else khi):
                return k
        return None

    def results(self):
        out = self.exact_outputs()
        pending = [i for i in range(self.row.out_len()) if i not in out]
        prec = 96
        while pending and prec <= 6144:
            iv.prec = prec
            self.use_groups = prec >= 384
            self.prepare()
            still = []
            for i in pending:
                key = self.decide(i, self.enclose(i))
                if key is None:
                    still.append(i)
                else:
                    out[i] = key
            pending = still
            prec *= 2
        for i in pending:
            out[i] = KEY_UNDECIDED
        return [out[i] for i in range(self.row.out_len())]


# ---------------------------------------------------------------------------
# Input generation
# ---------------------------------------------------------------------------

TAUS = ["1", "0.5", "3", "0.1", "7.25"]
TINY_TAUS = ["0x1p-1070", "1e-310", "0x1p-20"]     # subnormal doubles / very small
FIXED_SCALES = ["0.0625", "0.0390625", "0.1", "1"]
FLOAT_SCALES = ["0.5", "0.1", "3", "0x1p-10"]          # occasionally, for float formats


def parse_c_double(text):
    """strtod-like: correctly rounded decimal, or exact hex float."""
    try:
        return float(text)
    except ValueError:
        return float.fromhex(text)


class Generator:
    """Deterministic vector families for one format."""

    FLOAT_FAMILIES = {"normal": 14, "uniform": 8, "int": 6, "spread": 6, "exp_edge": 10,
                      "subnormal_out": 8, "ties": 8, "ulp": 6, "masked": 10, "special": 6,
                      "empty": 1}
    FIXED_FAMILIES = {"int8_uniform": 14, "int8_small": 10, "int8_extreme": 6, "ties": 6,
                      "empty": 1}
    DY_FAMILIES = {"normal": 10, "int": 5, "const": 5, "zero_sum": 5, "onehot": 3,
                   "huge": 2, "tiny": 3, "negzero": 2, "nonfinite": 1}

    def __init__(self, fmt, rng):
        self.fmt, self.rng = fmt, rng

    def pick(self, weights):
        names = list(weights)
        return self.rng.choices(names, weights=[weights[k] for k in names])[0]

    def small_n(self):
        r = self.rng.random()
        if r < 0.3:
            return self.rng.randint(1, 4)
        if r < 0.7:
            return self.rng.randint(5, 16)
        if r < 0.92:
            return self.rng.randint(17, 64)
        return self.rng.randint(65, 200)

    def R(self, v):
        return to_format(self.fmt, v)

    # -- float families ----------------------------------------------------
    def float_x(self, family, n, tau):
        """x values (already values of the format) for one family."""
        f, rng, R = self.fmt, self.rng, self.R
        if family == "normal":
            sd = rng.choice([1e-3, 0.3, 1.0, 5.0, 30.0])
            return [R(rng.gauss(0, sd)) for _ in range(n)]
        if family == "uniform":
            a = rng.choice([0.5, 8.0, 100.0, 1e4])
            return [R(rng.uniform(-a, a)) for _ in range(n)]
        if family == "int":
            return [float(rng.randint(-6, 6)) for _ in range(n)]
        if family == "spread":        # max - min close to the format's limit
            M = f.maxval
            pool = lambda: rng.choice([M, -M, M * rng.uniform(0.5, 1), -M * rng.uniform(0.5, 1),
                                       0.0, rng.gauss(0, 10), M * rng.uniform(-1e-3, 1e-3)])
            x = [R(pool()) for _ in range(n)]
            x[0] = R(M * rng.uniform(0.6, 1.0))
            if n > 1:
                x[rng.randrange(1, n)] = -R(M * rng.uniform(0.6, 1.0))
            return x
        if family == "exp_edge":      # z near ln(max) / exp underflow / ln(min normal)
            base = rng.choice([f.ln_max, -f.ln_max, f.ln_uflow, f.ln_normal,
                               f.ln_uflow + 0.5 * math.log(2)])
            shift = rng.choice([0.0, 0.0, rng.gauss(0, 3), f.ln_max])
            x = [R(tau * (base + shift + rng.choice([0, 1, -1, 3]) * 2.0 ** -8 * rng.random()))
                 for _ in range(n)]
            x[0] = R(tau * shift)
            return x
        if family == "subnormal_out":  # e^{z_i - max} lands in the subnormal range
            x = [R(tau * rng.uniform(f.ln_uflow - 0.7, f.ln_normal + 0.3)) for _ in range(n)]
            x[0] = 0.0
            return x
        if family == "ties":
            a = R(rng.gauss(0, 4))
            if rng.random() < 0.5:
                return [a] * n                                   # all equal: s = 1/n
            k = rng.randint(1, max(1, n))
            x = [a] * k + [R(a - abs(rng.gauss(0, 3)) - 2.0 ** -6) for _ in range(n - k)]
            rng.shuffle(x)
            return x
        if family == "ulp":           # neighbours one or two ulps apart
            a = R(rng.gauss(0, rng.choice([1, 100, 1e4])))
            e = math.frexp(a)[1] - 1 if a else f.emin
            u = math.ldexp(1.0, max(e, f.emin) - f.p + 1)
            return [R(a + rng.choice([0, 1, -1, 2]) * u) for _ in range(n)]
        if family == "masked":
            x = [R(rng.gauss(0, 3)) for _ in range(n)]
            p = rng.choice([0.3, 0.7, 1.0])
            return [-INF if rng.random() < p else v for v in x]
        if family == "special":
            return self.special_x(n)
        raise ValueError(family)

    def special_x(self, n):
        """NaN and +inf patterns (with some masks)."""
        rng = self.rng
        x = [self.R(rng.gauss(0, 2)) for _ in range(n)]
        kind = rng.choice(["nan", "one_inf", "two_inf", "inf_masked", "nan_masked"])
        pos = lambda: rng.randrange(n)
        if kind == "nan":
            x[pos()] = NAN
        elif kind == "one_inf":
            x[pos()] = INF
        elif kind == "two_inf":
            x[pos()] = INF
            x[pos()] = INF
        elif kind == "inf_masked":
            x = [-INF if rng.random() < 0.5 else v for v in x]
            x[pos()] = INF
        else:
            x = [-INF if rng.random() < 0.5 else v for v in x]
            x[pos()] = NAN
        return x

    def dy_values(self, family, x):
        f, rng, R, n = self.fmt, self.rng, self.R, len(x)
        if family == "normal":
            return [R(rng.gauss(0, rng.choice([0.01, 1, 50]))) for _ in range(n)]
        if family == "int":
            return [float(rng.randint(-3, 3)) for _ in range(n)]
        if family == "const":         # constant on unmasked entries: softmax_vjp is 0
            c = R(rng.gauss(0, 2))
            return [c if v != -INF else R(rng.gauss(0, 2)) for v in x]
        if family == "zero_sum":      # sum dy == 0 exactly
            half = [R(rng.gauss(0, 3)) for _ in range(n // 2)]
            dy = half + [-v for v in half] + ([0.0] if n % 2 else [])
            rng.shuffle(dy)
            return dy
        if family == "onehot":
            dy = [0.0] * n
            dy[rng.randrange(n)] = R(rng.choice([1.0, -1.0, rng.gauss(0, 5)]))
            return dy
        if family == "huge":
            return [R(rng.uniform(-1, 1) * f.maxval / 4) for _ in range(n)]
        if family == "tiny":
            return [R(rng.uniform(-1, 1) * math.ldexp(1.0, f.emin + 2)) for _ in range(n)]
        if family == "negzero":
            return [-0.0 if rng.random() < 0.5 else R(rng.gauss(0, 1)) for _ in range(n)]
        dy = [R(rng.gauss(0, 1)) for _ in range(n)]     # nonfinite
        dy[rng.randrange(n)] = rng.choice([NAN, INF, -INF])
        return dy

    # -- fixed families ----------------------------------------------------
    def fixed_x(self, family, n):
        rng = self.rng
        if family == "int8_uniform":
            return [rng.randint(-128, 127) for _ in range(n)]
        if family == "int8_small":
            return [rng.randint(-4, 4) for _ in range(n)]
        if family == "int8_extreme":
            return [rng.choice([-128, -127, 127, 126, 0]) for _ in range(n)]
        if family == "empty":
            return []
        a = rng.randint(-128, 127)                     # ties
        if rng.random() < 0.5:
            return [a] * n
        return [a if rng.random() < 0.5 else rng.randint(-128, a) for _ in range(n)]


class Case:
    """One vector of the run, with everything needed to call and check it."""

    def __init__(self, func, tau, scale, target, family, x, dy, decimal):
        self.func, self.tau, self.scale, self.target = func, tau, scale, target
        self.family, self.x, self.dy, self.decimal = family, x, dy, decimal

    def batch_key(self):
        return (self.func, self.tau, self.scale, self.target)

    def line(self, fmt):
        if fmt.kind == "fixed":
            return " ".join(str(v) for v in self.x)
        tok = (lambda v: repr(v)) if self.decimal else (lambda v: float.hex(v))
        s = " ".join(tok(v) for v in self.x)
        if self.func in VJP_FUNCS:
            s += " | " + " ".join(tok(v) for v in self.dy)
        return s

    def row(self, fmt):
        scale = parse_c_double(self.scale) if self.scale else 1.0
        return Row(self.func, fmt, [float(v) for v in self.x], self.dy,
                   parse_c_double(self.tau), scale, self.target)


def pick_tau(rng, fmt):
    if fmt.kind == "float" and rng.random() < 0.04:
        return rng.choice(TINY_TAUS)
    return rng.choice(TAUS)


def make_cases(fmt, count, seed):
    """count vectors spread over functions, temperatures and families."""
    rng = random.Random(seed)
    gen = Generator(fmt, rng)
    funcs = FLOAT_FUNCS if fmt.kind == "float" else FIXED_FUNCS
    n_large = max(1, count // 100)
    cases = []
    for idx in range(count):
        func = funcs[idx % len(funcs)]
        tau = pick_tau(rng, fmt)
        large = idx >= count - n_large
        cases.append(make_case(gen, func, tau, large))
    return cases


def make_case(gen, func, tau, large):
    fmt, rng = gen.fmt, gen.rng
    target = rng.choice([0, 0, 1, 2, 5]) if func in TARGET_FUNCS else None
    n = rng.choice([300, 1024, 4096]) if large else gen.small_n()
    if target is not None:
        n = max(n, target + 1)
    if fmt.kind == "fixed":
        family = "large" if large else gen.pick(Generator.FIXED_FAMILIES)
        x = gen.fixed_x("int8_uniform" if large else family, n)
        return Case(func, tau, rng.choice(FIXED_SCALES), None, family, x, None, False)
    families = dict(Generator.FLOAT_FAMILIES)
    if func in VJP_FUNCS or func in TARGET_FUNCS:
        del families["empty"]                # n = 0 only for softmax-like rows
    family = "large" if large else gen.pick(families)
    if family == "empty":
        x = []
    elif family == "large":
        x = gen.float_x(rng.choice(["normal", "normal", "masked", "ties"]), n,
                        parse_c_double(tau))
    else:
        if family in ("spread",) and n == 1:
            n = 2
        x = gen.float_x(family, n, parse_c_double(tau))
    dy = None
    if func in VJP_FUNCS:
        dfam = gen.pick(Generator.DY_FAMILIES)
        dy = gen.dy_values(dfam, x)
        family += "/dy:" + dfam
    if func in TARGET_FUNCS and rng.random() < 0.08:
        x[target] = -INF                       # masked target
        family += "/masked_target"
    scale = rng.choice(FLOAT_SCALES) if rng.random() < 0.1 else None
    return Case(func, tau, scale, target, family, x, dy, rng.random() < 0.3)


# ---------------------------------------------------------------------------
# Running the CLI and comparing
# ---------------------------------------------------------------------------


def run_cli(args, fmt, cases, keep, batch_no):
    """One CLI call for a batch with the same (func, tau, scale, target)."""
    c0 = cases[0]
    cmd = [args.smaxcheck, "oracle", "--func", c0.func, "--format", fmt.name, "--tau", c0.tau]
    if c0.scale is not None:
        cmd += ["--scale", c0.scale]
    if c0.target is not None:
        cmd += ["--target", str(c0.target)]
    text = "".join(c.line(fmt) + "\n" for c in cases)
    if keep:
        stem = os.path.join(keep, "batch%04d" % batch_no)
        with open(stem + ".in", "w") as fh:
            fh.write(text)
        with open(stem + ".cmd", "w") as fh:
            fh.write(" ".join(cmd) + " < " + stem + ".in\n")
    try:
        proc = subprocess.run(cmd, input=text, capture_output=True, text=True)
    except OSError as err:            # e.g. the binary is being rebuilt
        proc = subprocess.CompletedProcess(cmd, 127, "", "cannot run: %s" % err)
    if keep:
        with open(stem + ".out", "w") as fh:
            fh.write(proc.stdout)
        with open(stem + ".err", "w") as fh:
            fh.write(proc.stderr)
    return cmd, proc


def parse_output_line(fmt, line):
    """Keys of one output line; None if the line is malformed."""
    if line == "":
        return []
    keys = []
    for tok in line.split(" "):
        try:
            v = float.fromhex(tok)
        except ValueError:
            return None
        keys.append(float_to_key(fmt, v))
    return keys


def describe(fmt, case, exp, got):
    xs = " ".join(float(v).hex() for v in case.x)
    dys = (" dy=[" + " ".join(v.hex() for v in case.dy) + "]") if case.dy is not None else ""
    if got is None:
        diff = "expected=[%s] got=<malformed or missing line>" % " ".join(key_hex(fmt, k) for k in exp)
    elif len(got) != len(exp):
        diff = "expected=[%s] got=[%s]" % (" ".join(key_hex(fmt, k) for k in exp),
                                           " ".join(key_hex(fmt, k) for k in got))
    else:
        parts = ["[%d] %s vs %s" % (i, key_hex(fmt, e), key_hex(fmt, g))
                 for i, (e, g) in enumerate(zip(exp, got)) if e != g]
        diff = "expected vs got: " + "; ".join(parts)
    return ("MISMATCH func=%s format=%s tau=%s scale=%s target=%s family=%s x=[%s]%s %s"
            % (case.func, fmt.name, case.tau, case.scale, case.target, case.family, xs, dys, diff))


def check_batch(args, fmt, cases, keep, batch_no, stats):
    cmd, proc = run_cli(args, fmt, cases, keep, batch_no)
    lines = proc.stdout.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # exit 1 is the oracle's documented "an output reached the precision
    # cap": results are printed and the rows are named on stderr.  Those rows
    # are not compared (the oracle itself says it could not decide them);
    # they are counted and printed, and more than MAX_UNRESOLVED fail the run.
    unresolved = set()
    if proc.returncode == 1:
        for m in re.finditer(r"<stdin>:(\d+): \d+ output\(s\) unresolved", proc.stderr):
            unresolved.add(int(m.group(1)) - 1)
    crashed = (proc.returncode not in (0, 1) or (proc.returncode == 1 and not unresolved)
               or len(lines) != len(cases))
    if crashed:
        stats["cli_errors"] += 1
        print("CLI ERROR: %s exited %d with %d lines for %d rows; stderr: %s"
              % (" ".join(cmd), proc.returncode, len(lines), len(cases),
                 proc.stderr.strip()[:500]))
    for i, case in enumerate(cases):
        if i in unresolved and not crashed:
            stats["oracle_unresolved"] += 1
            dys = (" dy=[" + " ".join(v.hex() for v in case.dy) + "]") if case.dy is not None else ""
            # for information: our own decision next to the oracle's fallback
            ours = expected(case.row(fmt))
            differs = parse_output_line(fmt, lines[i]) != ours
            stats["unresolved_differs"] += differs
            print("ORACLE-UNRESOLVED%s func=%s format=%s tau=%s scale=%s x=[%s]%s ours=[%s] oracle=[%s]"
                  % (" (printed value differs from ours)" if differs else "", case.func, fmt.name,
                     case.tau, case.scale, " ".join(float(v).hex() for v in case.x), dys,
                     " ".join(key_hex(fmt, k) for k in ours), lines[i]))
            continue
        row = case.row(fmt)
        exp = expected(row)
        got = parse_output_line(fmt, lines[i]) if i < len(lines) and not crashed else None
        if KEY_UNDECIDED in exp:
            stats["undecided"] += 1
            print("UNDECIDED func=%s tau=%s x=[%s]" % (case.func, case.tau,
                                                       " ".join(float(v).hex() for v in case.x)))
            exp_cmp = [g if e == KEY_UNDECIDED else e for e, g in zip(exp, got or exp)]
        else:
            exp_cmp = exp
        if got == exp_cmp:
            stats["passed"] += 1
        else:
            stats["failed"] += 1
            print(describe(fmt, case, exp, got))


# -- malformed input ----------------------------------------------------------


def bad_inputs(fmt):
    """(func, text, line number, offending token) that must be rejected."""
    cases = [("softmax", "0x1p+0 2\n1 zz3 4\n", 2, "zz3")]
    if fmt.kind == "float":
        cases.append(("softmax_vjp", "1 2\n1 2 | 3\n", 2, None))     # length mismatch
        cases.append(("log_softmax_vjp", "1 2 | 3 4\n1 2 3 | 0x1p+0 2\n", 2, None))
        if fmt.p < 53:
            cases.append(("softmax", "1\n0.5 0.1\n", 2, "0.1"))      # not representable
        if fmt.name == "binary16":
            cases.append(("logsumexp", "1\n65520\n", 2, "65520"))
        if fmt.name == "bfloat16":
            cases.append(("log_softmax", "1\n2 257\n", 2, "257"))
    else:
        cases.append(("softmax", "1 2\n128 1\n", 2, "128"))          # outside int8
        cases.append(("logsumexp", "1 2\n3 1.5\n", 2, "1.5"))         # not an integer
    return cases


def check_bad_inputs(args, fmt, stats):
    """Bad input: exit code 2, empty stdout, stderr names the line and token."""
    for func, text, lineno, token in bad_inputs(fmt):
        cmd = [args.smaxcheck, "oracle", "--func", func, "--format", fmt.name]
        try:
            proc = subprocess.run(cmd, input=text, capture_output=True, text=True)
        except OSError as err:
            proc = subprocess.CompletedProcess(cmd, 127, "", "cannot run: %s" % err)
        problems = []
        if proc.returncode != 2:
            problems.append("exit %d (want 2)" % proc.returncode)
        if proc.stdout != "":
            problems.append("stdout not empty: %r" % proc.stdout[:200])
        if str(lineno) not in proc.stderr:
            problems.append("stderr does not name line %d" % lineno)
        if token is not None and token not in proc.stderr:
            problems.append("stderr does not name token %r" % token)
        if problems:
            stats["failed"] += 1
            print("BADINPUT MISMATCH func=%s format=%s input=%r: %s; stderr=%r"
                  % (func, fmt.name, text, ", ".join(problems), proc.stderr[:300]))
        else:
            stats["passed"] += 1


def crosscheck(args):
    fmt = FORMATS[args.format]
    if not os.path.exists(args.smaxcheck):
        print("smaxcheck binary not found: %s" % args.smaxcheck, file=sys.stderr)
        return 2
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    t0 = time.time()
    cases = make_cases(fmt, args.count, args.seed)
    batches = {}
    for c in cases:
        batches.setdefault(c.batch_key(), []).append(c)
    stats = {"passed": 0, "failed": 0, "undecided": 0, "cli_errors": 0, "oracle_unresolved": 0,
             "unresolved_differs": 0}
    for no, key in enumerate(sorted(batches, key=str)):
        check_batch(args, fmt, batches[key], args.keep, no, stats)
    check_bad_inputs(args, fmt, stats)
    print("format %s: %d CLI calls, %d undecided, %d CLI errors, %d oracle-unresolved "
          "(%d printed differently from ours), %.1f s"
          % (fmt.name, len(batches), stats["undecided"], stats["cli_errors"],
             stats["oracle_unresolved"], stats["unresolved_differs"], time.time() - t0))
    print("%d passed, %d failed" % (stats["passed"], stats["failed"]))
    ok = (stats["failed"] == 0 and stats["cli_errors"] == 0
          and stats["oracle_unresolved"] <= MAX_UNRESOLVED)
    return 0 if ok else 1


# Known limit: a value within ~2^-500000 of a rounding boundary (e.g. a
# log_softmax_vjp output equal to a binary16 midpoint plus e^-367000) is
# beyond the oracle's 32768-bit cap; it says so rather than guess.
MAX_UNRESOLVED = 2


# ---------------------------------------------------------------------------
# Self-test of the rounding code and of a few reference values
# ---------------------------------------------------------------------------


def selftest_rounding():
    """Hand-picked cases whose answers follow from the format definitions."""
    F = Fraction
    f64, f32, f16, bf = (FORMATS[k] for k in ("binary64", "binary32", "binary16", "bfloat16"))
    uq8, q15 = FORMATS["uq0.8"], FORMATS["q0.15"]
    two = lambda e: F(2) ** e
    cases = [
        # binary16: max 65504, overflow threshold 65520 (tie, rounds to inf)
        (f16, F(65504), 0x7BFF), (f16, F(65520) - two(-20), 0x7BFF), (f16, F(65520), 0x7C00),
        (f16, -F(65520), 0xFC00), (f16, two(-24), 0x0001), (f16, two(-25), 0x0000),
        (f16, -two(-25), 0x8000), (f16, two(-25) + two(-60), 0x0001), (f16, 3 * two(-26), 0x0001),
        (f16, 3 * two(-25), 0x0002), (f16, 2 ** 10 * two(-24) - two(-25), 0x0400),
        (f16, two(-14), 0x0400), (f16, 1 + two(-11), 0x3C00), (f16, 1 + 3 * two(-11), 0x3C02),
        (f16, F(1, 3), 0x3555), (f16, F(0), 0x0000), (f16, two(16), 0x7C00),
        # binary32
        (f32, two(-149), 0x00000001), (f32, two(-150), 0), (f32, 3 * two(-151), 1),
        (f32, F(1, 3), 0x3EAAAAAB), (f32, F(1, 10), 0x3DCCCCCD),
        (f32, (2 - two(-23)) * two(127), 0x7F7FFFFF), (f32, (2 - two(-24)) * two(127), 0x7F800000),
        (f32, (2 - two(-24)) * two(127) - 1, 0x7F7FFFFF), (f32, -two(-126), 0x80800000),
        # bfloat16
        (bf, 1 + two(-8), 0x3F80), (bf, 1 + 3 * two(-8), 0x3F82), (bf, F(1, 3), 0x3EAB),
        (bf, (2 - two(-7)) * two(127), 0x7F7F), (bf, (2 - two(-8)) * two(127), 0x7F80),
        (bf, two(-133), 0x0001), (bf, two(-134), 0), (bf, 3 * two(-135), 0x0001),
        # binary64
        (f64, F(1, 3), 0x3FD5555555555555), (f64, two(-1074), 1), (f64, two(-1075), 0),
        (f64, 3 * two(-1076), 1), (f64, two(1024), 0x7FF0000000000000),
        (f64, (2 - two(-53)) * two(1023), 0x7FF0000000000000),
        (f64, (2 - two(-53)) * two(1023) - 1, 0x7FEFFFFFFFFFFFFF),
        (f64, F(-1), 0xBFF0000000000000),
    ]
    fails = 0
    for fmt, q, bits in cases:
        got = round_fraction(fmt, q)
        if got != ("f", bits):
            fails += 1
            print("selftest: %s round(%s) = %s, want %#x" % (fmt.name, q, got, bits))
    fixed = [(uq8, F(1), 255), (uq8, F(1, 512), 0), (uq8, F(3, 512), 2), (uq8, F(-3, 10), 0),
             (uq8, F(5, 512), 2), (uq8, F(255, 256), 255), (q15, F(-1), -32768),
             (q15, F(-11, 10), -32768), (q15, F(1), 32767), (q15, F(5, 2) * two(-15), 2),
             (q15, F(-5, 2) * two(-15), -2), (q15, F(-1, 2) * two(-15), 0), (q15, F(1, 3), 10923)]
    for fmt, q, k in fixed:
        got = round_fraction(fmt, q)
        if got != ("k", k):
            fails += 1
            print("selftest: %s round(%s) = %s, want %d" % (fmt.name, q, got, k))
    return fails


def selftest_struct(rng):
    """Compare with single correctly rounded steps Python itself performs.

    struct 'e' (PyFloat_Pack2, own RNE code) and 'f' (a C double->float cast)
    each round a double once; a/b on doubles is one IEEE rounding; rounding an
    exact binary32 value to bfloat16 by the carry trick on its bit pattern is
    one rounding from a value that is already exact.
    """
    f64, f32, f16, bf = (FORMATS[k] for k in ("binary64", "binary32", "binary16", "bfloat16"))
    fails = 0
    for _ in range(20000):
        x = math.ldexp(rng.uniform(-1, 1), rng.randint(-160, 140))
        if rng.random() < 0.2:     # exact ties for binary16
            x = math.ldexp(rng.randint(-(1 << 13), 1 << 13) | 1, rng.randint(-40, 5))
        for fmt, code in ((f16, "<e"), (f32, "<f")):
            try:
                want = struct.unpack("<H" if code == "<e" else "<I", struct.pack(code, x))[0]
            except OverflowError:
                want = float_inf_bits(fmt, x < 0)
            got = round_fraction(fmt, Fraction(x))
            if x == 0:
                got = float_to_key(fmt, x)
            if got != ("f", want):
                fails += 1
                print("selftest struct %s: %r -> %s want %#x" % (fmt.name, x, got, want))
        y = struct.unpack("<f", struct.pack("<f", x))[0] if abs(x) < 3e38 else 1.0
        b32 = struct.unpack("<I", struct.pack("<f", y))[0]
        want_bf = ((b32 + 0x7FFF + ((b32 >> 16) & 1)) >> 16) & 0xFFFF
        if y != 0 and round_fraction(bf, Fraction(y)) != ("f", want_bf):
            fails += 1
            print("selftest bf16: %r -> %s want %#x" % (y, round_fraction(bf, Fraction(y)), want_bf))
        a = math.ldexp(rng.uniform(0.5, 1), rng.randint(-1074, 1023)) * rng.choice([1, -1])
        b = math.ldexp(rng.uniform(0.5, 1), rng.randint(-1074, 1023))
        if b == 0:
            continue
        try:
            quot = a / b
        except OverflowError:
            quot = math.copysign(INF, a)
        if quot != 0 and round_fraction(f64, Fraction(a) / Fraction(b)) != float_to_key(f64, quot):
            fails += 1
            print("selftest f64 division %r/%r" % (a, b))
    return fails


def selftest_reference():
    """A few reference results known in closed form."""
    f64, f32, f16 = FORMATS["binary64"], FORMATS["binary32"], FORMATS["binary16"]
    uq8 = FORMATS["uq0.8"]
    ln2 = 0.6931471805599453          # correctly rounded ln 2 (0x1.62e42fefa39efp-1)

    def ex(func, fmt, x, dy=None, tau=1.0, scale=1.0, target=None):
        return [key_hex(fmt, k) for k in expected(Row(func, fmt, x, dy, tau, scale, target))]

    checks = [
        (ex("softmax", f64, [0.0, 0.0]), ["0x1.0000000000000p-1"] * 2),
        (ex("logsumexp", f64, [0.0, 0.0]), [ln2.hex()]),
        (ex("log_softmax", f64, [5.0, 5.0]), [(-ln2).hex()] * 2),
        (ex("cross_entropy", f64, [3.0, 3.0], target=1), [ln2.hex()]),
        (ex("softmax", f64, [0.0, -1.0])[1:], [float("0.26894142136999512074").hex()]),
        (ex("logsumexp", f64, [1.0]), ["0x1.0000000000000p+0"]),
        (ex("softmax", f16, [1.0, 1.0, 1.0]), ["0x1.5540000000000p-2"] * 3),
        (ex("softmax", f32, [0.0, -INF]), ["0x1.0000000000000p+0", "0x0.0p+0"]),
        (ex("softmax", f32, [-INF, -INF]), ["nan", "nan"]),
        (ex("logsumexp", f32, [-INF, -INF]), ["-inf"]),
        (ex("logsumexp", f32, [INF, INF]), ["inf"]),
        (ex("logsumexp", f32, []), ["-inf"]),
        (ex("softmax_vjp", f32, [1.0, 2.0, 3.0], [4.0, 4.0, 4.0]), ["0x0.0p+0"] * 3),
        (ex("softmax_vjp", f32, [1.0, 1.0, 1.0], [0.0, 1.0, 2.0])[1:2], ["0x0.0p+0"]),
        (ex("log_softmax_vjp", f32, [1.0, 7.0], [2.0, -2.0], tau=0.5), ["0x1.0000000000000p+2", "-0x1.0000000000000p+2"]),
        (ex("log_softmax_vjp", f32, [INF, 1.0], [1.0, 2.0], tau=2.0), ["-0x1.0000000000000p+0", "0x1.0000000000000p+0"]),
        (ex("cross_entropy_grad", f32, [INF, 1.0], target=1, tau=0.5), ["0x1.0000000000000p+1", "-0x1.0000000000000p+1"]),
        (ex("cross_entropy", f32, [-INF, 1.0], target=0), ["inf"]),
        # e^-1000 is far below every subnormal: log_softmax of the max is -0
        (ex("log_softmax", f64, [0.0, -1000.0])[:1], ["-0x0.0p+0"]),
        (ex("softmax", uq8, [3.0, 3.0]), ["0x1.0000000000000p-1"] * 2),
        (ex("softmax", uq8, [0.0]), ["0x1.fe00000000000p-1"]),
        (ex("log_softmax", uq8, [0.0, 1.0]), ["0x0.0p+0"] * 2),
    ]
    fails = 0
    for got, want in checks:
        if got != want:
            fails += 1
            print("selftest reference: got %s want %s" % (got, want))
    return fails


def selftest():
    rng = random.Random(12345)
    fails = selftest_rounding() + selftest_struct(rng) + selftest_reference()
    print("selftest: %s" % ("ok" if fails == 0 else "%d failures" % fails))
    return 0 if fails == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smaxcheck", default="build/smaxcheck")
    ap.add_argument("--format", choices=sorted(FORMATS))
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="keep batch inputs/outputs in DIR")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    if args.selftest:
        return selftest()
    if not args.format:
        ap.error("--format is required")
    return crosscheck(args)


if __name__ == "__main__":
    sys.exit(main())

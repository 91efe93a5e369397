#!/usr/bin/env python3
"""Tests of `smaxcheck report` (reports/), run by CTest (tests/report_checks.cmake).

  test_report.py structure --smaxcheck BIN --work DIR [--plugins DIR]
      eval a few families over every kernel, and `compare` the example
      plugins (DIR, default <dir of BIN>/examples/plugins; skipped with a
      note if absent) and examples/cmd/bad_cmd, write a report with a
      baseline, a thresholds file and a fuzz summary, and check the HTML: well
      formed, self-contained (no URL, one script pinned by the CSP hash), every
      kernel present, the summary's numbers equal to the JSON's, the
      special-value matrix equal to the JSON's verdicts, diff / fuzz /
      threshold colouring; third-party kernels badged with their source,
      claim n/a, each finding (class, message, input, repro) in the Findings
      section, skipped cells counted, a Pareto point per kernel.
  test_report.py hostile --smaxcheck BIN --work DIR
      a hand-made results file whose strings are HTML/script injections and
      invalid UTF-8: everything must come out as text.
  test_report.py badinput --smaxcheck BIN --work DIR
      bad JSON, wrong schema, missing fields, bad options: exit 2, one error
      line naming file (and line), nothing written.
  test_report.py render --smaxcheck BIN --work DIR [--keep PNG]
      render the page with headless Chromium (network off) and check the PNG
      is not blank.  Exit 77 (CTest SKIP_RETURN_CODE) without chromium.
      --keep copies the PNG (docs/report-example.png is made this way).

Only the Python standard library is used.
"""
import argparse
import base64
import hashlib
import html
import html.parser
import json
import math
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# --------------------------------------------------------------------------
# HTML model

VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "embed", "source", "track", "wbr"}


class Page(html.parser.HTMLParser):
    """Checks balance, collects tags, attributes, script bodies, tables.

    A table cell is [text, attrs, tag, badges]: the source badges of
    third-party kernels (<span class="badge src">) are kept apart as
    [text, attrs], so the text of a kernel cell is the kernel's name."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.attrs = [], [], [], []
        self.scripts, self.text = [], []
        self.tables = {}  # id -> list of rows, row = list of (text, attrs)
        self._table = None
        self._row = None
        self._cell = None
        self._badge = None
        self._script = None
        self.doctype = False

    def handle_decl(self, decl):
        self.doctype |= decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append((tag, attrs))
        if tag not in VOID:
            self.stack.append(tag)
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id", "table%d" % len(self.tables))
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
            self.tables[self._table].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ["", a, tag, []]
            self._row.append(self._cell)
        elif tag == "span" and self._cell is not None and "src" in a.get("class", "").split():
            self._badge = ["", a]
            self._cell[3].append(self._badge)
        elif tag == "script":
            self._script = []

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> at %s (open: %s)" % (tag, self.getpos(), self.stack[-3:]))
            return
        self.stack.pop()
        if tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag in ("td", "th"):
            if self._cell is not None:
                self._cell[0] = self._cell[0].strip()
            self._cell = None
        elif tag == "span":
            self._badge = None
        elif tag == "script":
            self.scripts.append("".join(self._script))
            self._script = None

    def handle_data(self, data):
        self.text.append(data)
        if self._badge is not None:
            self._badge[0] += data
        elif self._cell is not None:
            self._cell[0] += data
        if self._script is not None:
            self._script.append(data)


def parse_page(path):
    raw = open(path, "rb").read()
    check(raw.startswith(b"<!DOCTYPE html>"), "page starts with <!DOCTYPE html>")
    try:
        src = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, "page is valid UTF-8 (%s)" % e)
        src = raw.decode("utf-8", "replace")
    p = Page()
    p.feed(src)
    p.close()
    check(not p.errors, "balanced tags: %s" % p.errors[:3])
    check(not p.stack, "every element closed (left open: %s)" % p.stack)
    check(p.doctype, "doctype seen")
    return p, src


def check_self_contained(p, src):
    """no URL to load, exactly one script, pinned by the CSP"""
    for tag, attrs in p.attrs:
        for k, v in attrs:
            check(not k.startswith("on"), "no event-handler attribute (<%s %s>)" % (tag, k))
            if k in ("src", "srcset", "data", "action", "formaction", "poster"):
                check(False, "no %s attribute (<%s>)" % (k, tag))
            if k in ("href", "xlink:href"):
                check(v.startswith("#"), "only in-page links (%s)" % v)
    for tag in ("img", "iframe", "link", "object", "embed", "base", "form", "input", "video", "audio"):
        check(tag not in p.tags, "no <%s> element" % tag)
    urls = set(re.findall(r"(?:https?|ftp)://[^\s\"'<>)]+", src))
    check(urls <= {"http://www.w3.org/2000/svg"}, "no URL but the SVG namespace: %s" % sorted(urls)[:5])
    check(len(p.scripts) == 1, "exactly one script element (%d)" % len(p.scripts))
    csp = [dict(a).get("content", "") for t, a in p.attrs
           if t == "meta" and dict(a).get("http-equiv", "").lower() == "content-security-policy"]
    check(len(csp) == 1, "one Content-Security-Policy")
    if csp and p.scripts:
        check("default-src 'none'" in csp[0], "CSP forbids loading anything")
        digest = base64.b64encode(hashlib.sha256(p.scripts[0].encode()).digest()).decode()
        check("'sha256-%s'" % digest in csp[0], "CSP pins the script's SHA-256 (%s)" % digest)
        check("unsafe-inline" not in csp[0].split("script-src")[1], "no unsafe-inline scripts")


# --------------------------------------------------------------------------
# what the report should show, recomputed from the JSON


def jnum(v):
    if isinstance(v, str):
        return {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}.get(v) or float(v)
    return float(v)


def load_results(*paths):
    cells = []
    for p in paths:
        cells += json.load(open(p))["results"]
    return cells


def nmax(vals):
    r = 0.0
    for v in vals:
        if math.isnan(v) or math.isnan(r):
            r = math.nan
        elif v > r:
            r = v
    return r


def descriptors(cells):
    out = {}
    for c in cells:
        out.setdefault((c["kernel"], c["func"], c["format"]), []).append(c)
    agg = {}
    for key, cs in out.items():
        ok = [c for c in cs if c["ok"] and c["outputs"] > 0]
        outs = sum(c["outputs"] for c in ok)
        ran = [c for c in cs if c["ok"]]
        elems = sum(c["n"] * max(c.get("rows", 1), 1) for c in ran if 0 < jnum(c["elem_per_s"]) < math.inf)
        secs = sum(c["n"] * max(c.get("rows", 1), 1) / jnum(c["elem_per_s"]) for c in ran
                   if 0 < jnum(c["elem_per_s"]) < math.inf)
        agg[key] = {
            "cells": len(cs),
            "ok_cells": len(ran),
            "source": cs[0].get("source", "builtin"),
            "claim_na": any(c.get("claim_declared") is False for c in cs),
            "findings": [c for c in cs if "finding" in c],
            "skipped": sum(1 for c in cs if "skipped" in c and c["skipped"] is not False),
            "eps": elems / secs if secs > 0 else 0.0,
            "outputs": outs,
            "max_ulp": nmax(jnum(c["max_ulp"]) for c in ok),
            "p99_ulp": nmax(jnum(c["p99_ulp"]) for c in ok),
            "mean_ulp": sum(jnum(c["mean_ulp"]) * c["outputs"] for c in ok) / outs if outs else 0.0,
            "pct": sum(jnum(c["pct_correctly_rounded"]) * c["outputs"] for c in ok) / outs if outs else 0.0,
            "bound": nmax(jnum(c["max_bound_ratio"]) for c in ok),
            "claim": nmax(jnum(c["max_claim_ratio"]) for c in ok),
            "drift": nmax(jnum(c["max_sum_drift_ulp"]) for c in ok),
            "special": {},
        }
        for c in cs:
            for case, e in c.get("special", {}).items():
                cur = agg[key]["special"].get(case, "")
                v = e["verdict"]
                if not cur:
                    cur = v
                elif cur != v and cur != "wrong":
                    cur = "wrong" if v == "wrong" else (cur if v in cur else cur + "+" + v)
                agg[key]["special"][case] = cur
    return agg


def fmt_num(v):
    """reports/html.c fmt_num"""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 999.5:
        return "%.3g" % v
    if 999.5 <= a < 999999.5:
        return "%.0f" % v
    t = "%.3g" % v
    if "e" in t:
        m, e = t.split("e")
        return m + "e" + str(int(e))
    return t


def same(a, b, rel=0.0):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return rel > 0 and abs(a - b) <= rel * max(abs(a), abs(b))


# --------------------------------------------------------------------------


def eval_json(smax, out, families, extra=()):
    cmd = [smax, "eval", "--family", families, "--n", "16,300", "--rows", "4", "--json", out, "--quiet"] + list(extra)
    r = run(cmd)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        sys.exit("eval failed: %s" % " ".join(cmd))


def compare_json(a, out):
    """`smaxcheck compare` over the build's example plugins example.so (an
    honest kernel) and crash.so (a crash on NaN input), plus the protocol
    breaker examples/cmd/bad_cmd when built: specials first, so the crash
    ends its kernel's run and its normal1 cell is skipped.  Returns the JSON's
    path, or None (with the reason printed) if the plugins are absent."""
    pdir = a.plugins
    plugins = [os.path.join(pdir, n) for n in ("example.so", "crash.so")]
    missing = [x for x in plugins if not os.path.exists(x)]
    if missing:
        print("SKIP the third-party part: no example plugin %s (build examples/ or pass --plugins DIR)" % missing[0])
        return None
    cmd = [a.smaxcheck, "compare"]
    for x in plugins:
        cmd += ["--plugin", x]
    bad = os.path.join(os.path.dirname(os.path.abspath(pdir)), "cmd", "bad_cmd")
    if os.access(bad, os.X_OK):
        cmd += ["--cmd", shlex.quote(bad)]
    cmd += ["--family", "specials,normal1", "--n", "16", "--rows", "4", "--json", out, "--quiet"]
    r = run(cmd)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        sys.exit("compare failed: %s" % " ".join(cmd))
    return out


def write_results(path, cells, shard="1/1"):
    with open(path, "w") as f:
        f.write('{"schema":"smaxcheck-results","version":1,"shard":"%s","results":[\n' % shard)
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cells))
        f.write("\n]}\n")


def report(smax, args, expect=0):
    r = run([smax, "report"] + args)
    check(r.returncode == expect, "report %s exits %d (got %d: %s)" % (" ".join(args), expect, r.returncode, r.stderr.strip()))
    return r


def t_structure(a):
    smax, w = a.smaxcheck, a.work
    main = os.path.join(w, "results.json")
    eval_json(smax, main, "normal1,normal100,specials,masked-all,overflow")
    extra = []
    broken = [l.split()[0] for l in run([smax, "list", "kernels"]).stdout.splitlines()[1:]
              if len(l.split()) > 3 and "B" in l.split()[3] and set(l.split()[3]) <= set("DTB")]
    if broken:  # a deliberately broken kernel must come out red
        extra_json = os.path.join(w, "broken.json")
        eval_json(smax, extra_json, "normal1,specials", ["--kernel", broken[0]])
        extra = [extra_json]
    third = compare_json(a, os.path.join(w, "compare.json"))
    if third:
        extra.append(third)
    cells = load_results(main, *extra)
    check(len(cells) > 0, "eval wrote cells")
    agg = descriptors(cells)

    # a baseline: one cell had twice the error, one cell's special verdict differed, one cell only there
    base = [dict(c) for c in load_results(main)]
    worse_key = better_key = None
    for c in base:
        if c["ok"] and jnum(c["max_ulp"]) > 0 and better_key is None:
            c["max_ulp"] = jnum(c["max_ulp"]) * 2  # now it is better
            better_key = (c["kernel"], c["func"], c["format"], c["family"], c["n"])
        elif c.get("special") and worse_key is None:
            case = sorted(c["special"])[0]
            if c["special"][case]["verdict"] != "wrong":
                c["special"] = dict(c["special"])
                c["special"][case] = {"rows": c["special"][case]["rows"], "verdict": "wrong"}
                worse_key = (c["kernel"], c["func"], c["format"], c["family"], c["n"], case)
    gone = dict(base[0])
    gone["family"] = "only-in-baseline"
    base.append(gone)
    basef = os.path.join(w, "baseline.json")
    write_results(basef, base)

    # thresholds: one row held to an impossible max_ulp, one to generous limits
    keys = [k for k, v in agg.items() if v["outputs"] > 0 and 0 < v["max_ulp"] < math.inf]
    tight, loose = keys[0], keys[-1]
    thr = os.path.join(w, "thresholds.txt")
    with open(thr, "w") as f:
        f.write("# test thresholds\n%s %s %s max_ulp=%r\n" % (tight + (agg[tight]["max_ulp"] / 4,)))
        f.write("%s %s %s max_ulp=1e300 bound_ratio=1e300 drift=1e300\n" % loose)
        spec_key = next((k for k, v in agg.items() if v["special"].get("C1-nan-x") == "reference"
                         and k not in (tight, loose)), None)
        if spec_key:  # the file accepts another verdict than the one measured
            f.write("%s %s %s special=C1-nan-x:ieee-nan\n" % spec_key)

    fuzz = os.path.join(w, "fuzz.json")
    json.dump({"schema": "smaxcheck-fuzz", "version": 1, "campaigns": [
        {"engine": "libfuzzer", "target": "fuzz_softmax_f32", "hours": 1.5, "execs": 1234567, "exec_per_s": 228.6,
         "findings": [{"signature": "C4-pinf-one naive softmax NaN", "count": 3,
                       "replay": "build/fuzz/fuzz_softmax_f32 crash-abc123"}]},
        {"engine": "afl++", "target": "fuzz_lse_bf16", "hours": 0.25, "execs": 99, "exec_per_s": "inf",
         "findings": []}]}, open(fuzz, "w"), indent=1)

    out = os.path.join(w, "out")
    shutil.rmtree(out, ignore_errors=True)
    r = report(smax, [main] + extra + ["-o", out, "--baseline", basef, "--thresholds", thr, "--fuzz", fuzz])
    page = os.path.join(out, "index.html")
    check(r.stdout.strip() == page, "prints the page's path (%r)" % r.stdout)
    check(os.listdir(out) == ["index.html"], "only index.html in the output directory (%s)" % os.listdir(out))
    p, src = parse_page(page)
    check_self_contained(p, src)
    text = html.unescape("".join(p.text))

    # the summary: one row per descriptor with the JSON's numbers
    rows = p.tables.get("summary-table", [])
    head = [c[0].strip() for c in rows[0]] if rows else []
    check(head[:4] == ["#", "kernel", "function", "format"], "summary header (%s)" % head)
    body = {(r[1][0], r[2][0], r[3][0]): r for r in rows[1:]}
    check(set(body) == set(agg), "one summary row per kernel x function x format (missing %s, extra %s)"
          % (sorted(set(agg) - set(body))[:3], sorted(set(body) - set(agg))[:3]))
    for k in {c["kernel"] for c in cells}:
        check(k in text, "kernel %s appears" % k)
    col = {name: head.index(name) for name in head}
    compared = 0
    for key, row in body.items():
        g = agg.get(key)
        if not g or g["outputs"] == 0:
            continue
        fields = [("max ulp", "max_ulp", 0), ("p99 ulp", "p99_ulp", 0), ("mean ulp", "mean_ulp", 1e-12),
                  ("CR %", "pct", 1e-12)]
        if g["claim_na"]:  # no claim declared: n/a, not 0
            check(row[col["claim ratio"]][0] == "n/a", "%s declares no claim: claim ratio n/a (got %r)"
                  % (key, row[col["claim ratio"]][0]))
        else:
            fields.append(("claim ratio", "claim", 0))
        for name, field, rel in fields:
            cell = row[col[name]]
            dv = jnum(cell[1].get("data-v", "nan"))
            check(same(dv, g[field], rel), "%s %s: data-v %r equals the JSON's %r" % (key, name, dv, g[field]))
            check(cell[0].strip() == fmt_num(dv), "%s %s printed as %r (want %r)" % (key, name, cell[0], fmt_num(dv)))
            compared += 1
        if key[2] in ("binary64", "binary32", "binary16", "bfloat16"):
            dv = jnum(row[col["bound ratio"]][1]["data-v"])
            check(same(dv, g["bound"]), "%s bound ratio %r equals %r" % (key, dv, g["bound"]))
        if key[1] == "softmax":
            dv = jnum(row[col["sum drift"]][1]["data-v"])
            check(same(dv, g["drift"]), "%s sum drift %r equals %r" % (key, dv, g["drift"]))
        verdict = row[col["verdict"]]
        if g["claim"] > 1:
            check("r" in verdict[1].get("class", "").split(), "%s claim broken -> red" % (key,))
        if any(v == "wrong" for v in g["special"].values()):
            check(verdict[0] == "broken", "%s with a wrong special value is 'broken'" % (key,))
    check(compared > 20, "numbers compared (%d)" % compared)
    if third:
        check_third_party(p, src, text, body, col, agg, cells)
    check(body[tight][col["verdict"]][0] == "broken", "tight threshold -> broken (%s)" % (tight,))
    check("r" in body[tight][col["max ulp"]][1].get("class", ""), "tight threshold colours max ulp red")
    check("exceeds the threshold" in body[tight][col["verdict"]][1].get("title", ""), "threshold named in the verdict")
    if spec_key:
        check(body[spec_key][col["verdict"]][0] == "broken" and "accepts ieee-nan" in body[spec_key][col["verdict"]][1]
              .get("title", ""), "special verdict differing from the thresholds file -> broken (%s)" % (spec_key,))
    others = [k for k in body if k not in (tight, loose, spec_key)]
    check(all("no entry in the thresholds file" in body[k][col["verdict"]][1].get("title", "") for k in others),
          "rows without a threshold entry say so")

    # special-value matrix = the JSON's merged verdicts
    spec = [t for t in p.tables.values() if t and t[0] and t[0][4][0] == "declared conventions"]
    check(len(spec) == 1, "special-value matrix present")
    if spec:
        hdr = [c[1].get("title", "").split(":")[0] for c in spec[0][0]]
        seen = 0
        for r in spec[0][1:]:
            key = (r[1][0], r[2][0], r[3][0])
            for i in range(5, len(r)):
                want = agg[key]["special"].get(hdr[i])
                got = r[i][0]
                check(got == (want or "\u2014"), "%s %s: %r (JSON: %r)" % (key, hdr[i], got, want))
                if want:
                    title = r[i][1].get("title", "")
                    check("rows seen" in title, "%s %s has a rows-seen tooltip" % (key, hdr[i]))
                    # the hover shows one cell's example row, as the JSON has it
                    exs = [c["special"][hdr[i]] for c in cells
                           if (c["kernel"], c["func"], c["format"]) == key and hdr[i] in c.get("special", {})]
                    check(any("input: %s\ngot:   %s\nwant:  %s" % (e["input"], e["got"], e["want"]) in title
                              for e in exs if e.get("input")),
                          "%s %s: the tooltip shows an example input/got/want from the JSON" % (key, hdr[i]))
                    seen += 1
        check(seen > 0, "some special-value verdicts shown")

    # charts, worst inputs, diff, fuzz
    check(sum(1 for t, a in p.attrs if t == "svg" and "chart" in dict(a).get("class", "")) == 3, "three SVG charts")
    check("Blanchard\u2013Higham\u2013Higham bound (ratio = 1)" in text, "the bound line is labelled")
    worst = max((c for c in cells if c["ok"] and c["outputs"] > 0 and jnum(c["max_ulp"]) > 0),
                key=lambda c: jnum(c["max_ulp"]))
    check(worst["repro"] in text, "the worst cell's repro command is shown")
    check(worst["worst"]["got"] in text and worst["worst"]["want"] in text, "the worst got/want in %a are shown")
    check("Changes against the baseline" in text, "diff section present")
    check("1 only in the baseline" in text, "the cell only in the baseline is counted")
    diff = [t for t in p.tables.values() if t and [c[0] for c in t[0]][-1:] == ["change"]]
    check(len(diff) == 1, "per-cell diff table")
    if diff and better_key:
        hits = [r for r in diff[0][1:] if (r[0][0], r[1][0], r[2][0], r[3][0], int(r[4][0])) == better_key
                and r[5][0] == "max ulp"]
        check(hits and "better" in hits[0][8][0], "halved max ulp marked better (%s)" % (better_key,))
    if diff and worse_key:
        hits = [r for r in diff[0][1:] if (r[0][0], r[1][0], r[2][0], r[3][0], int(r[4][0])) == worse_key[:5]
                and r[5][0] == worse_key[5]]
        check(hits and "better" in hits[0][8][0] and hits[0][6][0] == "wrong",
              "verdict wrong -> fixed marked better (%s)" % (worse_key,))
    check("Fuzzing campaigns" in text and "fuzz_lse_bf16" in text, "fuzz campaigns listed")
    check("C4-pinf-one naive softmax NaN" in text and "build/fuzz/fuzz_softmax_f32 crash-abc123" in text,
          "fuzz finding with its replay command")

    # multiple files join; --top limits the worst list; the page is rewritten atomically
    r = report(smax, [main, "-o", out, "--top", "1", "--quiet"])
    check(r.stdout == "" and r.stderr == "", "--quiet prints nothing")
    p2, _ = parse_page(page)
    check("Changes against the baseline" not in "".join(p2.text), "rewritten without the diff")


def check_third_party(p, src, text, body, col, agg, cells):
    """the kernels of `smaxcheck compare` beside the built-in ones: badges,
    cells not run, findings, and a point in the charts for each"""
    tp = {k: g for k, g in agg.items() if g["source"] != "builtin"}
    check(len(tp) >= 3, "third-party kernels in the JSON (%d)" % len(tp))
    check(any(g["findings"] for g in tp.values()) and any(g["skipped"] for g in tp.values()),
          "the compare run has a finding and a skipped cell")
    ids = {key: int(row[0][0]) for key, row in body.items()}
    for key, g in agg.items():
        row = body.get(key)
        if not row:
            continue
        badges = row[1][3]
        if g["source"] == "builtin":
            check(not badges, "%s is built in: no source badge" % (key,))
        else:
            src_ = g["source"]
            kind = "plugin" if src_.startswith("plugin:") else "cmd" if src_.startswith("cmd:") else "third-party"
            check(len(badges) == 1 and badges[0][0] == kind and badges[0][1].get("title") == src_,
                  "%s: badge %r titled with its source %r (got %s)" % (key, kind, src_, badges))
        cell, title = row[col["cells"]], row[col["cells"]][1].get("title", "")
        nok = g["cells"] - g["ok_cells"]
        if nok:
            check(cell[0] == "%d/%d" % (g["ok_cells"], g["cells"]) and "r" in cell[1].get("class", "").split(),
                  "%s: cells %r, red (%d did not run to the end)" % (key, cell[0], nok))
        if g["findings"]:
            check("%d ended in a finding" % len(g["findings"]) in title, "%s: the finding counted (%r)" % (key, title))
        if g["skipped"]:
            check("%d not run after a finding" % g["skipped"] in title, "%s: skipped cells counted (%r)" % (key, title))
        verdict = row[col["verdict"]]
        vt = verdict[1].get("title", "")
        for c in g["findings"]:
            want = "finding: %s in family %s n=%d (see Findings)" % (c["finding"]["class"], c["family"], c["n"])
            check(verdict[0] == "broken" and want in vt, "%s: broken, the why names the class (%r in %r)" % (key, want, vt))
        if g["skipped"]:
            want = "%d of %d cells not run" % (g["skipped"], g["cells"])
            check(want in vt, "%s: the why says %r (%r)" % (key, want, vt))
        if g["claim_na"]:
            check("declares no accuracy claim" in vt, "%s: the why says there is no claim" % (key,))

    # the findings: one row each, class, message, input and repro as in the JSON
    allf = [c for c in cells if "finding" in c]
    print("third-party: %d rows, %d findings (%s), %d cells not run" % (
        len(tp), len(allf), " ".join(sorted({c["finding"]["class"] for c in allf})), sum(g["skipped"] for g in tp.values())))
    ft = p.tables.get("findings-table")
    check('<a href="#findings">Findings</a>' in src, "Findings in the nav")
    nskip = sum(g["skipped"] for g in agg.values())
    check("%d finding%s, %d not run" % (len(allf), "" if len(allf) == 1 else "s", nskip) in text,
          "the header card counts findings and cells not run")
    if check(ft is not None, "Findings table present"):
        rows, seen = ft[1:], 0
        for i, r in enumerate(rows):
            if len(r) != 8:
                continue
            key = (r[1][0], r[2][0], r[3][0], r[4][0], int(r[5][0]))
            m = [c for c in allf if (c["kernel"], c["func"], c["format"], c["family"], c["n"]) == key]
            if not check(len(m) == 1, "finding row %s is a finding of the JSON" % (key,)):
                continue
            f, g = m[0]["finding"], agg[key[:3]]
            seen += 1
            check(int(r[0][0]) == ids[key[:3]], "%s: finding row numbered as in the summary" % (key,))
            check(r[6][0] == f["class"] and "r" in r[6][1].get("class", "").split(), "%s: class %r" % (key, f["class"]))
            check(r[7][1].get("title") == f["message"] and r[7][0] == (f["message"][:200] + ("\u2026" if len(f["message"]) > 200 else "")).strip(),
                  "%s: message %r (title %r)" % (key, r[7][0], r[7][1].get("title")))
            sub = rows[i + 1][1][0] if i + 1 < len(rows) and len(rows[i + 1]) == 2 else ""
            check(f["input"] and f["input"] in sub, "%s: the reproducing input as in the JSON" % (key,))
            check(f["repro"] in sub, "%s: the repro command as in the JSON" % (key,))
            if g["skipped"]:
                check("%d later cell" % g["skipped"] in sub, "%s: later cells not run said" % (key,))
        check(seen == len(allf), "one findings row per finding (%d of %d)" % (seen, len(allf)))
    # third-party worst inputs, like built-in ones
    worst_tp = [c for c in cells if c.get("source", "builtin") != "builtin" and c["ok"] and c["outputs"] > 0
                and jnum(c["max_ulp"]) > 0]
    for key in {(c["kernel"], c["func"], c["format"]) for c in worst_tp}:
        w = max((c for c in worst_tp if (c["kernel"], c["func"], c["format"]) == key), key=lambda c: jnum(c["max_ulp"]))
        check(w["repro"] in text and w["worst"]["got"] in text, "%s: its worst cell in the worst inputs" % (key,))

    # charts: every row with outputs and a throughput is a Pareto point, third-party ones hollow
    svgs = re.findall(r'<svg class="chart".*?</svg>', src, re.S)
    par = [x for x in svgs if 'aria-label="accuracy against throughput"' in x]
    if check(len(par) == 1, "the Pareto chart is drawn"):
        pts = re.findall(r'<g class="pt( tp)?" data-id="(\d+)">', par[0])
        got = [int(i) for _, i in pts]
        want = {ids[k] for k, g in agg.items() if k in ids and g["outputs"] > 0 and g["eps"] > 0}
        check(sorted(got) == sorted(want), "one Pareto point per row with outputs and a throughput (missing %s, extra %s)"
              % (sorted(want - set(got))[:5], sorted(set(got) - want)[:5]))
        want_tp = {ids[k] for k in tp if k in ids and ids[k] in want}
        check(want_tp and {int(i) for t, i in pts if t} == want_tp, "third-party points marked (%s)" % sorted(want_tp))
        check("hollow: third-party" in par[0], "the Pareto legend explains the hollow points")
    prof = [x for x in svgs if 'aria-label="ulp error per kernel' in x]
    if check(len(prof) == 1, "the ulp profile is drawn"):
        n = sum(1 for k, g in tp.items() if g["outputs"] > 0)
        check(prof[0].count('<tspan class="tp">') == n, "the ulp profile marks its %d third-party rows" % n)


def t_hostile(a):
    smax, w = a.smaxcheck, a.work
    evil = "<script>alert(1)</script>&\"'"
    cell = {
        "kernel": evil, "func": "softmax", "format": "binary32",
        "family": "<img src=x onerror=alert(2)>", "n": 4, "rows": 1, "tau": 1, "seed": 1, "ok": True, "outputs": 4,
        "max_ulp": 3.5, "mean_ulp": 1, "p50_ulp": 1, "p99_ulp": 3, "p999_ulp": 3.5, "pct_correctly_rounded": 25,
        "max_bound_ratio": 2, "max_claim_ratio": 1.5, "max_sum_drift_ulp": "inf", "shift_ulp": 0, "perm_ulp": 0,
        "elem_per_s": 1e6, "claim_failures": 1, "mono_violations": 0, "deterministic_repeat": 1,
        "deterministic_threads": -1, "convention": "\"><svg onload=alert(3)>",
        "special": {"C1-nan-x": {"rows": 1, "verdict": "</td><script>alert(4)</script>"},
                    "<i>C9-x</i>": {"rows": 2, "verdict": "wrong"}},
        "worst": {"row": 0, "output": 1, "got": "</code><script>alert(5)</script>", "want": "0x1p+0",
                  "input": "0x1p+0 <style>*{display:none}</style> -inf"},
        "repro": "smaxcheck eval --kernel '</code><script>alert(6)</script>' \u00e9\U0001F600",
    }
    second = dict(cell, kernel="caf\u00e9 \u2603", family="normal1")
    # a plugin's strings are untrusted too: its name, source, description and
    # the finding's class, message (a child's stderr), input and repro
    zeros = {k: 0 for k in ("outputs", "max_ulp", "mean_ulp", "p50_ulp", "p99_ulp", "p999_ulp", "pct_correctly_rounded",
                            "max_bound_ratio", "max_claim_ratio", "max_sum_drift_ulp", "elem_per_s", "claim_failures")}
    tp_source = "plugin:/tmp/\"><script>alert(9)</script>&amp;.so"
    tp_about = "about <img src=y onerror=alert(10)> & 'q'"
    tp_msg = "msg \x01</td></tr><script>alert(12)</script> & \"q\""
    plug = dict(cell, **zeros, kernel="<b>plug</b>\"'&", family="specials", ok=False, source=tp_source, about=tp_about,
                claim_declared=False, special={}, repro="",
                finding={"class": "<svg onload=alert(11)>", "message": tp_msg,
                         "input": "0x1p+0 <script>alert(13)</script> nan", "repro": "smaxcheck compare --cmd '</code><b>x</b>' \"&\""})
    skipped = dict(plug, family="normal100", skipped="<i>not</i> run")
    del skipped["finding"]
    measured = dict(cell, kernel=plug["kernel"], func="log_softmax", source=tp_source, about=tp_about, claim_declared=False)
    path = os.path.join(w, "hostile.json")
    write_results(path, [cell, second, plug, skipped, measured])
    # raw invalid UTF-8 and a control character (escaped in JSON) in a name and a finding's message
    raw = open(path, "rb").read().replace(b'"family":"normal1"', b'"family":"bad\xff\xfeutf8 \\u0007 end"')
    raw = raw.replace(b"msg ", b"msg \xff\xfe ")
    open(path, "wb").write(raw)
    fuzz = os.path.join(w, "fuzz.json")
    json.dump({"schema": "smaxcheck-fuzz", "version": 1, "campaigns": [
        {"engine": "<b>eng</b>", "target": "t&t", "hours": 1, "execs": 2, "exec_per_s": 2,
         "findings": [{"signature": "<script>alert(7)</script>", "count": 1, "replay": "x' onclick='alert(8)"}]}]},
        open(fuzz, "w"))
    out = os.path.join(w, "out")
    shutil.rmtree(out, ignore_errors=True)
    report(smax, [path, "-o", out, "--fuzz", fuzz, "--baseline", path, "--title", "<title>x</title>"])
    page = os.path.join(out, "index.html")
    p, src = parse_page(page)
    check_self_contained(p, src)
    check("alert" not in p.scripts[0] if p.scripts else True, "no injected script")
    allowed = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "div", "nav", "a", "span",
               "b", "code", "ul", "li", "p", "table", "thead", "tbody", "tr", "th", "td", "svg", "g", "line", "rect",
               "circle", "path", "text", "tspan", "figure", "figcaption", "details", "summary", "pre", "dl", "dt",
               "dd", "footer", "script", "sup"}
    check(set(p.tags) <= allowed, "only the report's own elements (%s)" % sorted(set(p.tags) - allowed))
    check(p.tags.count("style") == 1 and p.tags.count("title") >= 1, "one style element")
    check("<script>alert" not in src and "<img" not in src and "<svg onload" not in src, "no raw injection in the source")
    text = "".join(p.text)
    for s in (evil, "<img src=x onerror=alert(2)>", "</td><script>alert(4)</script>", "<i>C9-x</i>",
              "</code><script>alert(5)</script>", "<style>*{display:none}</style>", "caf\u00e9 \u2603",
              "\u00e9\U0001F600", "<script>alert(7)</script>", "x' onclick='alert(8)", "<b>eng</b>"):
        check(s in text, "shown as text: %r" % s)
    check("bad\ufffd\ufffdutf8 \ufffd end" in text, "invalid UTF-8 and control characters become U+FFFD")
    titles = [dict(a).get("title") or "" for t, a in p.attrs]
    # the third-party kernel's strings, as text
    shown_msg = "msg \ufffd\ufffd \ufffd</td></tr><script>alert(12)</script> & \"q\""
    for s in (plug["kernel"], plug["finding"]["class"], shown_msg, plug["finding"]["input"], plug["finding"]["repro"]):
        check(s in text, "third-party string shown as text: %r" % s)
    for s in (tp_source, tp_about, shown_msg):
        check(any(s == t or s in t for t in titles), "third-party string escaped in a title: %r" % s)
    ft = p.tables.get("findings-table", [])
    check(len([r for r in ft[1:] if len(r) == 8]) == 1, "the hostile finding has its row")
    badges = [b for r in p.tables.get("summary-table", []) for c in r for b in c[3]]
    check(len(badges) == 2 and all(b[0] == "plugin" and b[1].get("title") == tp_source for b in badges),
          "the plugin's two rows badged, the source escaped in the title (%s)" % badges)
    check(any("\"><svg onload=alert(3)>" in t for t in titles) or "\"><svg onload=alert(3)>" in text,
          "attribute values escaped")


def t_badinput(a):
    smax, w = a.smaxcheck, a.work
    good_cell = {"kernel": "k", "func": "softmax", "format": "binary32", "family": "normal1", "n": 16, "ok": True,
                 "outputs": 16, "max_ulp": 1, "mean_ulp": 0.5, "p99_ulp": 1, "pct_correctly_rounded": 50,
                 "max_bound_ratio": 0.1, "max_claim_ratio": 0.1, "max_sum_drift_ulp": 0.5, "elem_per_s": 1e6}
    line = json.dumps(good_cell, separators=(",", ":"))
    head = '{"schema":"smaxcheck-results","version":1,"shard":"1/1","results":[\n'
    good = os.path.join(w, "good.json")
    open(good, "w").write(head + line + "\n]}\n")

    def bad(name, content):
        path = os.path.join(w, name)
        open(path, "wb" if isinstance(content, bytes) else "w").write(content)
        return path

    miss = dict(good_cell)
    del miss["max_ulp"]
    cases = [  # (files/args, expected substring in the error, or None)
        ([os.path.join(w, "missing.json")], "missing.json"),
        ([bad("syntax.json", head + line + ",\n" + line[:-20] + "\n]}\n")], "syntax.json:3:"),
        ([bad("schema.json", '{"schema":"other","version":1,"results":[]}\n')], "schema.json:1:"),
        ([bad("version.json", '{"schema":"smaxcheck-results",\n"version":2,"results":[]}\n')], "version.json:2:"),
        ([bad("field.json", head + line + ",\n" + json.dumps(miss) + "\n]}\n")], "field.json:3: result object has no \"max_ulp\""),
        ([bad("type.json", head + line.replace('"n":16', '"n":"sixteen"') + "\n]}\n")], "type.json:2:"),
        ([bad("negn.json", head + line.replace('"n":16', '"n":-1') + "\n]}\n")], "negn.json:2:"),
        ([bad("badnum.json", head + line.replace('"max_ulp":1', '"max_ulp":"lots"') + "\n]}\n")], "badnum.json:2:"),
        ([bad("nanword.json", head + line.replace('"max_ulp":1', '"max_ulp":NaN') + "\n]}\n")], "nanword.json:2:"),
        ([bad("empty.json", "")], "empty.json:1:"),
        ([bad("trunc.json", head + line[:40])], "trunc.json:2:"),
        ([bad("trailing.json", head + line + "\n]}\n}\n")], "trailing.json:4:"),
        ([bad("escape.json", head + line.replace('"kernel":"k"', '"kernel":"\\q"') + "\n]}\n")], "escape.json:2:"),
        ([bad("surrogate.json", head + line.replace('"kernel":"k"', '"kernel":"\\ud800x"') + "\n]}\n")], "surrogate.json:2:"),
        ([bad("ctrl.json", head + line.replace('"kernel":"k"', '"kernel":"a\tb"') + "\n]}\n")], "ctrl.json:2:"),
        ([bad("deep.json", "[" * 5000 + "]" * 5000)], "deep.json:1:"),
        ([bad("noresults.json", head + "]}\n")], "noresults.json"),
        ([bad("notobj.json", head + "[1,2]\n]}\n")], "notobj.json:2:"),
        ([bad("special.json", head + line[:-1] + ',"special":{"C1-nan-x":{"rows":1}}}\n]}\n')], "special.json:2:"),
        # the fields of `compare` (harness/SCHEMA.md): optional, but typed
        ([bad("source.json", head + line[:-1] + ',"source":1}\n]}\n')], "source.json:2: \"source\" must be a string"),
        ([bad("about.json", head + line[:-1] + ',"about":["x"]}\n]}\n')], "about.json:2: \"about\" must be a string"),
        ([bad("claimdecl.json", head + line[:-1] + ',"claim_declared":"no"}\n]}\n')], "claimdecl.json:2: \"claim_declared\""),
        ([bad("ftz.json", head + line[:-1] + ',"ftz_outputs":-1}\n]}\n')], "ftz.json:2: \"ftz_outputs\""),
        ([bad("finding1.json", head + line.replace('"ok":true', '"ok":false')[:-1] + ',"finding":"crashed"}\n]}\n')],
         "finding1.json:2: \"finding\" must be an object"),
        ([bad("finding2.json", head + line.replace('"ok":true', '"ok":false')[:-1] +
              ',\n"finding":{"class":"crashed","input":"","repro":""}}\n]}\n')], "finding2.json:3: \"finding\" has no \"message\""),
        ([bad("finding3.json", head + line.replace('"ok":true', '"ok":false')[:-1] +
              ',"finding":{"class":"crashed","message":7,"input":"","repro":""}}\n]}\n')], "finding3.json:2: \"message\" must be a string"),
        ([bad("finding4.json", head + line[:-1] + ',"finding":{"class":"hung","message":"m","input":"","repro":""}}\n]}\n')],
         "finding4.json:2: a cell with \"finding\" must have \"ok\": false"),
        ([bad("skipped.json", head + line.replace('"ok":true', '"ok":false')[:-1] + ',"skipped":3}\n]}\n')],
         "skipped.json:2: \"skipped\" must be"),
        ([good, "--baseline", bad("base.json", "{")], "base.json:1:"),
        ([good, "--fuzz", bad("fuzz1.json", '{"schema":"smaxcheck-fuzz","version":1,"campaigns":[\n'
                              '{"engine":"e","target":"t","hours":1,"execs":1,"exec_per_s":1,\n'
                              ' "findings":[{"signature":"s","count":1}]}]}')], "fuzz1.json:3: finding has no \"replay\""),
        ([good, "--fuzz", bad("fuzz2.json", '{"schema":"smaxcheck-results","version":1}')], "fuzz2.json:1:"),
        ([good, "--thresholds", bad("thr.txt", "# c\nk softmax binary32 max_ulp=abc\n")], "thr.txt:2:"),
        ([good, "-o"], "-o needs a value"),
        ([good], "-o DIR is required"),
        ([good, "--frobnicate"], "unknown option"),
        ([good, "--top", "0"], "--top"),
        ([], "no results file"),
    ]
    out = os.path.join(w, "out")
    os.makedirs(out, exist_ok=True)
    sentinel = os.path.join(out, "index.html")
    for args, want in cases:
        open(sentinel, "w").write("previous report\n")
        full = args + (["-o", out] if "-o" not in args and want not in ("-o DIR is required",) else [])
        r = run([smax, "report"] + full)
        label = " ".join(os.path.basename(x) for x in args) or "(no arguments)"
        check(r.returncode == 2, "%s: exit 2 (got %d)" % (label, r.returncode))
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check(len(lines) >= 1 and want in lines[0], "%s: error names %r (got %r)" % (label, want, lines[:1]))
        if args and not args[-1].startswith("-") and want not in ("-o DIR is required",):
            check(len(lines) == 1, "%s: one error line (got %d)" % (label, len(lines)))
        check(r.stdout == "", "%s: nothing on stdout" % label)
        check(open(sentinel).read() == "previous report\n", "%s: the previous page is untouched" % label)
        check(sorted(os.listdir(out)) == ["index.html"], "%s: no temporary file left (%s)" % (label, os.listdir(out)))
    # -o naming a regular file
    r = run([smax, "report", good, "-o", sentinel])
    check(r.returncode == 2 and "cannot create" in r.stderr, "-o FILE: exit 2, cannot create (%s)" % r.stderr.strip())
    # --help
    r = run([smax, "report", "--help"])
    check(r.returncode == 0 and r.stdout.startswith("usage: smaxcheck report"), "--help prints the usage")
    # the good file works, into a directory that does not exist yet
    fresh = os.path.join(w, "new", "deeper")
    shutil.rmtree(os.path.join(w, "new"), ignore_errors=True)
    r = run([smax, "report", good, "-o", fresh])
    check(r.returncode == 0 and os.path.exists(os.path.join(fresh, "index.html")), "creates the output directory")
    # "inf"/"nan" strings and a UTF-8 BOM are accepted
    ok2 = bad("infnan.json", "\ufeff" + head + line.replace('"max_ulp":1', '"max_ulp":"inf"')
              .replace('"mean_ulp":0.5', '"mean_ulp":"nan"') + "\n]}\n")
    r = run([smax, "report", ok2, "-o", fresh])
    check(r.returncode == 0, "non-finite numbers as strings are accepted (%s)" % r.stderr.strip())
    # "skipped" as harness/results.c writes it (the reason) and as true
    sk = dict(good_cell, ok=False, source="cmd:./k", claim_declared=False)
    ok3 = bad("skipped-ok.json", head + ",\n".join(json.dumps(dict(sk, family=f, skipped=v)) for f, v in
                                                     (("a", "an earlier cell ended in a finding"), ("b", True), ("c", False)))
              + "\n]}\n")
    r = run([smax, "report", ok3, "-o", fresh])
    page = open(os.path.join(fresh, "index.html"), encoding="utf-8").read() if r.returncode == 0 else ""
    check(r.returncode == 0 and "2 not run after a finding;" in page and "1 rejected by the kernel;" in page,
          "\"skipped\" as a string or true counts as not run, false as not skipped (%s)" % r.stderr.strip())


# --------------------------------------------------------------------------
# PNG check without PIL


def png_pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        (ln,) = struct.unpack(">I", data[pos:pos + 4])
        typ, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + ln]
        pos += 12 + ln
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or interlace or ctype not in (2, 6):
        raise ValueError("unexpected PNG layout %s" % (hdr,))
    ch = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * ch
    prev, rows, i = bytearray(stride), [], 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(ch, stride):
                line[x] = (line[x] + line[x - ch]) & 255
        elif f == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 255
        elif f == 3:
            for x in range(stride):
                line[x] = (line[x] + (((line[x - ch] if x >= ch else 0) + prev[x]) >> 1)) & 255
        elif f == 4:
            for x in range(stride):
                a_ = line[x - ch] if x >= ch else 0
                b_, c_ = prev[x], (prev[x - ch] if x >= ch else 0)
                p_ = a_ + b_ - c_
                pa, pb, pc = abs(p_ - a_), abs(p_ - b_), abs(p_ - c_)
                line[x] = (line[x] + (a_ if pa <= pb and pa <= pc else b_ if pb <= pc else c_)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, ch, rows


def t_render(a):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("SKIP: chromium is not installed (scripts/install-deps.sh installs it)")
        sys.exit(77)
    smax, w = a.smaxcheck, a.work
    results = a.results
    if not results:
        results = os.path.join(w, "results.json")
        eval_json(smax, results, a.families)
    out = os.path.join(w, "out")
    report(smax, [results, "-o", out, "--quiet"])
    page = os.path.abspath(os.path.join(out, "index.html"))
    png = os.path.join(w, "report.png")
    if os.path.exists(png):
        os.unlink(png)
    def chromium_run(*args):
        profile = tempfile.mkdtemp(prefix="smaxcheck-chromium-")
        try:
            return run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--host-resolver-rules=MAP * ~NOTFOUND",  # the network is off for the page
                        "--enable-logging=stderr", "--v=0", "--hide-scrollbars", "--user-data-dir=" + profile]
                       + list(args), timeout=180)
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    r = chromium_run("--screenshot=" + png, "--window-size=%s" % a.size, "file://" + page)
    if not check(os.path.exists(png), "chromium wrote a screenshot (%s)" % r.stderr[-500:]):
        return
    console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    check(not console, "no console message: no script error, no CSP violation, nothing blocked (%s)" % console[:2])

    # the sort script works: a copy without the CSP gets a probe that clicks "max ulp"
    src = open(page, encoding="utf-8").read()
    probe = ("<script>const t=document.getElementById('summary-table');"
             "const h=[...t.tHead.rows[0].cells].find(c=>c.textContent==='max ulp');h.click();"
             "document.body.dataset.order=[...t.tBodies[0].rows].map(r=>r.cells[h.cellIndex].dataset.v).join(' ');"
             "</script>")
    probe_page = os.path.join(out, "probe.html")
    with open(probe_page, "w", encoding="utf-8") as f:
        f.write(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", src).replace("</body>", probe + "</body>"))
    r = chromium_run("--dump-dom", "file://" + os.path.abspath(probe_page))
    m = re.search(r'<body data-order="([^"]*)"', r.stdout)
    if check(m is not None, "the probe ran (%s)" % r.stderr[-300:]):
        key = [math.inf if v in ("inf", "nan") else -math.inf if v == "-inf" else float(v) for v in m.group(1).split()]
        check(len(key) > 3 and key == sorted(key), "clicking 'max ulp' sorts the summary ascending")
    os.unlink(probe_page)
    w_, h_, ch, rows = png_pixels(png)
    check((w_, h_) == tuple(int(x) for x in a.size.split(",")), "screenshot size %dx%d" % (w_, h_))
    nonwhite, colours = 0, set()
    tints = {"green": 0, "amber": 0}
    for y in range(0, h_, 2):
        row = rows[y]
        for x in range(0, w_ * ch, ch * 2):
            r_, g_, b_ = row[x], row[x + 1], row[x + 2]
            if r_ < 245 or g_ < 245 or b_ < 245:
                nonwhite += 1
            colours.add((r_ >> 3, g_ >> 3, b_ >> 3))
            if abs(r_ - 0xe2) < 6 and abs(g_ - 0xf3) < 6 and abs(b_ - 0xe5) < 6:
                tints["green"] += 1
            if abs(r_ - 0xff) < 6 and abs(g_ - 0xf1) < 6 and abs(b_ - 0xcf) < 8:
                tints["amber"] += 1
    total = ((h_ + 1) // 2) * ((w_ + 1) // 2)
    frac = nonwhite / total
    print("screenshot: %dx%d, %.1f%% non-white, %d colours, tints %s" % (w_, h_, 100 * frac, len(colours), tints))
    check(frac > 0.05, "the page is not blank (%.1f%% non-white pixels)" % (100 * frac))
    check(len(colours) > 40, "text, tables and charts in many colours (%d)" % len(colours))
    check(tints["green"] > 500, "verdict colours rendered (inline CSS applied)")
    if a.keep:
        shutil.copyfile(png, a.keep)
        print("kept", a.keep)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["structure", "hostile", "badinput", "render"])
    ap.add_argument("--smaxcheck", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", help="render: an existing results file instead of a small eval")
    ap.add_argument("--families", default="normal1,normal100,attention,masked,specials,masked-all,overflow")
    ap.add_argument("--size", default="1400,3000", help="render: window size W,H")
    ap.add_argument("--keep", help="render: copy the PNG here")
    ap.add_argument("--plugins", help="structure: the example plugins (example.so, crash.so; default "
                    "<dir of --smaxcheck>/examples/plugins); their sibling cmd/bad_cmd is used when built")
    a = ap.parse_args()
    if not a.plugins:
        a.plugins = os.path.join(os.path.dirname(os.path.abspath(a.smaxcheck)), "examples", "plugins")
    os.makedirs(a.work, exist_ok=True)
    {"structure": t_structure, "hostile": t_hostile, "badinput": t_badinput, "render": t_render}[a.mode](a)
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

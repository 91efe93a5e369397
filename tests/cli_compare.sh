#!/usr/bin/env bash
# cli_compare.sh SMAXCHECK EXAMPLES_BUILD_DIR EXAMPLES_SOURCE_DIR -- the
# `smaxcheck compare` contract (harness/PROTOCOL.md, harness/SCHEMA.md):
#  * the example plugin measures like the built-in stable kernel (both
#    judged by the oracle in the same run);
#  * a crash, a hang and each protocol breach (wrong count, bad magic, early
#    exit, values a float cannot hold) end in a finding of the right class
#    with the input row that reproduces it, the run goes on with the next
#    kernel (the child restarted), the parent exits 0 and writes the JSON;
#    a plugin that lies is caught by the oracle's measurements;
#  * a plugin with a bad ABI version, without the symbol or with a bad
#    descriptor is refused with one line naming the file; bad usage exits 2;
#  * no child process (zombie or not) outlives the run.
S=$1 BUILD=$2 SRC=$3
PL=$BUILD/plugins BAD=$BUILD/cmd/bad_cmd PY=/usr/bin/python3
pass=0 fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok() { if [ "$1" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }
# jq-like checks with python: q FILE 'python expression over R (the results)'
q() { "$PY" -c 'import json,sys; R=json.load(open(sys.argv[1]))["results"]; sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"; }

# runs "$@" under a child subreaper and fails if any process it started is
# still there afterwards (a zombie it did not reap, or a child it did not kill)
no_orphans() {
  "$PY" - "$@" <<'EOF'
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.2)
try:
    pid, _ = os.waitpid(-1, os.WNOHANG)
    print("left behind: process %d" % pid if pid else "left behind: a running child", file=sys.stderr)
    sys.exit(1)
except ChildProcessError:
    sys.exit(0 if rc in (0, 1) else 1)
EOF
}

# ---- the example plugin, like the built-in stable kernel -------------------
"$S" compare --plugin "$PL/example.so" --builtin stable --func softmax --family normal1,normal10,attention \
  --n 16,1000 --rows 8 --json "$tmp/ex.json" --quiet 2>"$tmp/err"
ok $? "compare example.so: $(cat "$tmp/err")"
q "$tmp/ex.json" 'sum(r["source"].startswith("plugin:") and r["kernel"]=="example" for r in R) == 12'; ok $? "12 example cells"
# binary32: computed in double and rounded once, so within 1 ulp of the oracle
q "$tmp/ex.json" 'all(r["max_ulp"] <= 1 for r in R if r["kernel"]=="example" and r["format"]=="binary32")'
ok $? "example binary32 softmax within 1 ulp"
# binary64: the same algorithm as stable: no worse than stable on the same cell (+2 ulps)
q "$tmp/ex.json" '[r for r in R if r["kernel"]=="example"] and all(e["max_ulp"] <= 1.1*s["max_ulp"] + 2 and e["max_ulp"] < 100
   for e in R if e["kernel"]=="example" and e["format"]=="binary64"
   for s in R if s["kernel"]=="stable" and (s["func"],s["format"],s["family"],s["n"])==(e["func"],e["format"],e["family"],e["n"]))'
ok $? "example binary64 softmax in stable's accuracy class"
q "$tmp/ex.json" 'all(r["claim_declared"] is False and r["max_claim_ratio"] == 0 and r["claim_failures"] == 0
   and r["about"] for r in R if r["kernel"]=="example")'; ok $? "no claim: n/a, not failures"
q "$tmp/ex.json" 'all(r["source"]=="builtin" and r["claim_declared"] for r in R if r["kernel"]=="stable")'; ok $? "builtin source"

# ---- crash, hang, lies: findings and measurements, the run goes on ---------
fams="--family normal1,specials --n 4,16 --rows 8 --timeout-ms 400"
no_orphans "$S" compare --plugin "$PL/crash.so" --plugin "$PL/hang.so" --plugin "$PL/lying.so" $fams --json "$tmp/bad.json"
ok $? "compare crash/hang/lying exits normally and leaves no process behind"
"$S" compare --plugin "$PL/crash.so" --plugin "$PL/hang.so" --plugin "$PL/lying.so" $fams --json "$tmp/bad.json" \
  >"$tmp/out" 2>"$tmp/err"
ok $? "compare crash/hang/lying exit 0: $(tail -3 "$tmp/err")"
q "$tmp/bad.json" '[r["finding"]["class"] for r in R if r["kernel"]=="crash" and "finding" in r] == ["crashed"]'; ok $? "crash: one crashed finding"
q "$tmp/bad.json" 'all("SIGSEGV" in r["finding"]["message"] and "nan" in r["finding"]["input"].split()
   and r["finding"]["repro"].startswith("smaxcheck compare --plugin") for r in R if "finding" in r and r["kernel"]=="crash")'
ok $? "crash finding: SIGSEGV, the NaN row, a repro"
q "$tmp/bad.json" 'all(r["ok"] or "skipped" in r or "finding" in r for r in R) and any(r.get("skipped") for r in R if r["kernel"]=="crash")'
ok $? "cells after a finding are marked skipped"
q "$tmp/bad.json" 'all(r["ok"] and r["outputs"] > 0 or r["family"]=="specials" for r in R if r["kernel"] in ("crash-survivor","hang-survivor"))'
ok $? "the kernels after crash and hang ran (child restarted)"
q "$tmp/bad.json" '[r["finding"]["class"] for r in R if r["kernel"]=="hang" and "finding" in r] == ["hung"]'; ok $? "hang: one hung finding"
q "$tmp/bad.json" 'all(r["n"] == 16 and len(r["finding"]["input"].split()) == 16 for r in R if r["kernel"]=="hang" and "finding" in r)'
ok $? "hang finding: the n=16 row (n <= 8 runs)"
q "$tmp/bad.json" 'all(r["ok"] for r in R if r["kernel"]=="hang" and r["n"]==4 and r["family"]=="normal1")'; ok $? "hang: n=4 measured"
# lies are measured, not findings: the oracle shows them
q "$tmp/bad.json" 'all("finding" not in r for r in R if r["kernel"].startswith("lying"))
   and all(r["max_ulp"] in ("inf",) or r["max_ulp"] > 1e6 for r in R if r["kernel"].startswith("lying") and r["family"]=="normal1")'
ok $? "lying kernels: measured errors > 1e6 ulp or non-finite"
grep -q "findings (2)" "$tmp/out"; ok $? "table lists the 2 findings"

# ---- protocol breaches by an external command -----------------------------
no_orphans "$S" compare --cmd "$BAD" --family normal1 --n 4,16 --rows 8 --timeout-ms 2000
ok $? "compare --cmd bad_cmd leaves no process behind"
"$S" compare --cmd "$BAD" --family normal1 --n 4,16 --rows 8 --timeout-ms 2000 --json "$tmp/cmd.json" >"$tmp/out" 2>"$tmp/err"
ok $? "compare --cmd bad_cmd exit 0: $(tail -3 "$tmp/err")"
cls() { q "$tmp/cmd.json" "[(r['finding']['class'], '$3' in r['finding']['message']) for r in R if r['kernel']=='$1' and 'finding' in r] == [('$2', True)]"; }
cls wrong-count protocol "count 3, want 4"; ok $? "wrong count -> protocol"
cls not-f32 garbage "not a value of binary32"; ok $? "binary64 values for binary32 -> garbage"
cls bad-magic protocol "magic"; ok $? "bad magic -> protocol"
cls early-exit protocol "exit status 3"; ok $? "early exit -> protocol"
cls abort crashed "SIGABRT"; ok $? "abort -> crashed"
q "$tmp/cmd.json" 'all(r["ok"] and r["max_ulp"] <= 8 and r["source"].startswith("cmd:") for r in R if r["kernel"]=="honest")'
ok $? "the last kernel ran after five broken ones"
q "$tmp/cmd.json" 'all(len(r["finding"]["input"].split()) == 4 for r in R if "finding" in r)'; ok $? "findings carry a 4-value row"
ls "$tmp" | grep -q '\.tmp' ; ok $([ $? != 0 ]; echo $?) "no temporary JSON left"

"$S" compare --cmd "$BAD" --kernel abort --family normal1 --n 4 --rows 2 --fail-on-finding --json "$tmp/f.json" >/dev/null 2>&1
ok $([ $? = 1 ] && q "$tmp/f.json" 'R[0]["finding"]["class"]=="crashed"'; echo $?) "--fail-on-finding: exit 1, JSON written"

# --mem-mb: RLIMIT_AS on the child.  A sanitised build does not apply it and
# says so (then the 1 GiB hog is not run: it would really allocate).
"$S" compare --plugin "$PL/example.so" --mem-mb 256 --func softmax --format binary64 --family normal1 --n 4 \
  --rows 1 >/dev/null 2>"$tmp/err"
ok $? "--mem-mb 256 with an honest plugin: $(cat "$tmp/err")"
if ! grep -q "not applied: this build uses AddressSanitizer" "$tmp/err"; then
  "$S" compare --cmd "$BAD hog" --mem-mb 256 --family normal1 --n 4 --rows 1 --json "$tmp/m.json" >/dev/null 2>&1
  q "$tmp/m.json" 'R[0]["finding"]["class"] == "protocol" and "out of memory" in R[0]["finding"]["message"]'
  ok $? "--mem-mb 256: a child allocating 1 GiB fails (finding)"
fi

if [ -x "$PY" ]; then
  "$S" compare --cmd "$PY $SRC/cmd/py_softmax.py" --family normal1,specials --n 16 --rows 8 --json "$tmp/py.json" --quiet 2>"$tmp/err"
  ok $? "compare a Python command: $(tail -3 "$tmp/err")"
  q "$tmp/py.json" 'len(R) == 4 and all(r["ok"] and "finding" not in r for r in R) and all(r["max_ulp"] <= 4 for r in R if r["family"]=="normal1")'
  ok $? "Python softmax measured within 4 ulp"
  # DESCRIBE's optional claim field reaches the metrics: softmax declares one
  # (4 spread + 6 ulps, derived in py_softmax.py), log_softmax none
  q "$tmp/py.json" 'all(r["claim_declared"] == (r["func"] == "softmax") for r in R) and all(r["max_claim_ratio"] <= 1 and r["claim_failures"] == 0 for r in R if r["func"] == "softmax")'
  ok $? "a claim sent in DESCRIBE is checked (softmax within it, log_softmax none)"
fi

# ---- a claim-less plugin beyond the textbook bound: the report says broken ---
"$S" compare --plugin "$PL/sloppy.so" --family normal1,normal10 --n 16,300 --rows 8 --json "$tmp/sl.json" --quiet 2>"$tmp/err"
ok $? "compare sloppy.so: $(tail -2 "$tmp/err")"
q "$tmp/sl.json" 'all(r["ok"] and not r["claim_declared"] and r["max_bound_ratio"] > 1000 for r in R)'
ok $? "sloppy (float-accumulated binary64 sum): bound ratio far above the BHH bound"
"$S" report "$tmp/sl.json" -o "$tmp/slrep" >"$tmp/out" 2>&1
ok $([ $? = 0 ] && grep -q "1 broken" "$tmp/out" && grep -q "exceeds the Blanchard.*Higham.*bound: ratio" "$tmp/slrep/index.html"; echo $?) \
   "the report marks a claim-less kernel beyond the BHH bound broken: $(cat "$tmp/out")"

# ---- plugins that are refused, bad usage ------------------------------------
"$S" compare --plugin "$PL/badabi.so" >/dev/null 2>"$tmp/err"
ok $([ $? = 2 ] && grep -q "badabi.so: .*ABI version 2.*SMAX_ABI_VERSION 1" "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ]; echo $?) "bad ABI version: $(cat "$tmp/err")"
"$S" compare --plugin "$PL/nosym.so" >/dev/null 2>"$tmp/err"
ok $([ $? = 2 ] && grep -q "nosym.so: .*no symbol smax_plugin_kernels" "$tmp/err"; echo $?) "missing symbol: $(cat "$tmp/err")"
"$S" compare --plugin "$PL/baddesc.so" >/dev/null 2>"$tmp/err"
ok $([ $? = 2 ] && grep -q "baddesc.so: kernel 1 (broken): func" "$tmp/err"; echo $?) "bad descriptor: $(cat "$tmp/err")"
"$S" compare --plugin "$tmp/none.so" >/dev/null 2>"$tmp/err"
ok $([ $? = 2 ] && grep -q "none.so: cannot load" "$tmp/err"; echo $?) "missing file: $(cat "$tmp/err")"
"$S" compare --cmd 'echo hello; cat >/dev/null' >/dev/null 2>"$tmp/err"
ok $([ $? = 2 ] && grep -q "bad response magic" "$tmp/err"; echo $?) "a command that does not speak the protocol: $(cat "$tmp/err")"
"$S" compare >/dev/null 2>&1; ok $([ $? = 2 ]; echo $?) "no source: exit 2"
"$S" compare --plugin "$PL/example.so" --timeout-ms 0 >/dev/null 2>&1; ok $([ $? = 2 ]; echo $?) "--timeout-ms 0: exit 2"
"$S" compare --plugin "$PL/example.so" --family nosuch >/dev/null 2>"$tmp/err"; ok $([ $? = 2 ] && grep -q "unknown family 'nosuch'" "$tmp/err"; echo $?) "unknown family"
"$S" compare --plugin "$PL/example.so" --kernel nosuch >/dev/null 2>"$tmp/err"; ok $([ $? = 2 ] && grep -q "no kernel named 'nosuch'" "$tmp/err"; echo $?) "unknown kernel"
"$S" compare --plugin "$PL/example.so" --json /nonexistent/dir/x.json >/dev/null 2>"$tmp/err"; ok $([ $? = 2 ] && grep -q "cannot write" "$tmp/err"; echo $?) "unwritable json"
"$S" compare --help | grep -q -- --fail-on-finding; ok $? "compare --help"
"$S" serve --help | grep -q PROTOCOL.md; ok $? "serve --help"
"$S" serve >/dev/null 2>&1; ok $([ $? = 2 ]; echo $?) "serve without --plugin: exit 2"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

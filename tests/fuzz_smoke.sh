#!/usr/bin/env bash
# fuzz_smoke.sh -- short runs of the fuzz targets (fuzz/README.md).
# usage: fuzz_smoke.sh MODE SMAXCHECK SRCDIR LIBFUZZER_BUILD [AFL_BUILD]
#   libfuzzer  fuzz_kernel (libFuzzer, -seed=1, SMAXCHECK_FUZZ_KERNEL=naive,
#              SMAXCHECK_FUZZ_FUNC=softmax) must report the naive kernel's
#              missing max shift: a nonfinite finding whose row overflows
#              e^(x/tau) (x/tau > ln max finite: inf/inf) or underflows it in
#              every entry (0/0); replay gives the same signature and line
#   plugin     fuzz_kernel on examples/plugins/sloppy.so (SMAXCHECK_FUZZ_PLUGIN):
#              no entry, no claim, so the textbook bound: a 'bound' finding,
#              replayed to the same signature
#   afl        the same under afl-fuzz -V 15: a saved crash whose replay
#              signature is 'nonfinite naive softmax ...'
#   parsers    fuzz_vecio and fuzz_thresholds run 4 s each without a finding
#   seeds      every fuzz_kernel seed passes `smaxcheck replay` (exit 0), and
#              error guidance adds libFuzzer features (GUIDE=1 vs 0)
# Exit 77 (CTest: skipped) when the needed fuzz build is absent.
set -u
mode=$1 smax=$2 src=$3 fz=$4 afl=${5:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "fuzz_smoke $mode: FAIL: $*" >&2; exit 1; }
need() { [ -x "$1" ] || { echo "fuzz_smoke $mode: $1 not built, skipped" >&2; exit 77; }; }
seeds=$src/fuzz/seeds dict=$src/fuzz/dict

# the signature of the one SMAXCHECK-FINDING line in file $1: CLASS KERNEL FUNC FORMAT
sig_of_log() {
  grep -m1 '^SMAXCHECK-FINDING ' "$1" |
    sed -E 's/^SMAXCHECK-FINDING class=([^ ]+) kernel=([^ ]+) func=([^ ]+) format=([^:]+):.*/\1 \2 \3 \4/'
}

# 0 if the replayed case ($1: replay output) is the missing max shift of the
# naive kernel: a row entry with x/tau above ln(largest finite) (e^(x/tau)
# overflows: inf/inf) or every entry below ln(smallest subnormal / 2) (every
# term underflows: 0/0)
no_shift() {
  /usr/bin/python3 - "$1" <<'EOF'
import math, re, sys
txt = open(sys.argv[1]).read()
m = re.search(r"format=(\S+) n=\d+ rows=\d+ tau=(\S+)", txt)
lo, hi = {"binary64": (-1075, 1024), "binary32": (-150, 128)}[m.group(1)]
tau = float.fromhex(m.group(2))
for l in txt.splitlines():
    if re.match(r"row \d+ x:", l):
        z = [float.fromhex(t) / tau for t in l.split()[3:]]
        if any(math.isfinite(v) and v > hi * math.log(2) for v in z) or \
           (z and all(v < lo * math.log(2) for v in z)):
            sys.exit(0)
sys.exit(1)
EOF
}

case $mode in
libfuzzer)
  need "$fz/fuzz/fuzz_kernel"
  mkdir "$work/corpus"
  SMAXCHECK_FUZZ_KERNEL=naive SMAXCHECK_FUZZ_FUNC=softmax timeout 60 "$fz/fuzz/fuzz_kernel" -seed=1 \
    -max_total_time=20 -dict="$dict/fuzz_kernel.dict" -artifact_prefix="$work/" "$work/corpus" \
    "$seeds/fuzz_kernel" >"$work/log" 2>&1
  rc=$?
  [ $rc -ne 0 ] || fail "libFuzzer exited 0: no finding in 20 s"
  sig=$(sig_of_log "$work/log")
  echo "finding: $(grep -m1 '^SMAXCHECK-FINDING' "$work/log")"
  case $sig in "nonfinite naive softmax binary"*) ;; *) fail "expected a nonfinite naive softmax finding, got '$sig'";; esac
  crash=$(ls "$work"/crash-* 2>/dev/null | head -1)
  [ -n "$crash" ] || fail "no crash file written"
  SMAXCHECK_FUZZ_KERNEL=naive SMAXCHECK_FUZZ_FUNC=softmax "$smax" replay "$crash" >"$work/replay"
  [ $? -eq 1 ] || fail "replay of $crash did not exit 1"
  no_shift "$work/replay" || fail "the finding's row neither overflows nor fully underflows e^(x/tau): $(cat "$work/replay")"
  rsig=$(SMAXCHECK_FUZZ_KERNEL=naive SMAXCHECK_FUZZ_FUNC=softmax "$smax" replay --signature "$crash")
  [ "$rsig" = "$sig" ] || fail "replay signature '$rsig' differs from the fuzzer's '$sig'"
  grep -qxF "$(grep -m1 '^SMAXCHECK-FINDING' "$work/log")" "$work/replay" || fail "replay prints a different finding line"
  ;;
plugin)
  # a third-party kernel with neither a thresholds entry nor a claim
  # (examples/plugins/sloppy.c: binary64 softmax summed in float) is held to
  # the Blanchard-Higham-Higham bound: class bound, replayed alike
  need "$fz/fuzz/fuzz_kernel"
  pl=$fz/examples/plugins/sloppy.so rpl=$(dirname "$smax")/examples/plugins/sloppy.so
  need "$pl"
  need "$rpl"
  mkdir "$work/pcorpus"
  SMAXCHECK_FUZZ_PLUGIN=$pl SMAXCHECK_FUZZ_KERNEL=sloppy timeout 60 "$fz/fuzz/fuzz_kernel" -seed=1 \
    -max_total_time=20 -artifact_prefix="$work/p-" "$work/pcorpus" >"$work/plog" 2>&1
  [ $? -ne 0 ] || fail "libFuzzer exited 0: the sloppy plugin passed 20 s"
  sig=$(sig_of_log "$work/plog")
  echo "finding: $(grep -m1 '^SMAXCHECK-FINDING' "$work/plog")"
  [ "$sig" = "bound sloppy softmax binary64" ] || fail "expected 'bound sloppy softmax binary64', got '$sig'"
  crash=$(ls "$work"/p-crash-* 2>/dev/null | head -1)
  [ -n "$crash" ] || fail "no crash file written"
  rsig=$(SMAXCHECK_FUZZ_PLUGIN=$rpl SMAXCHECK_FUZZ_KERNEL=sloppy "$smax" replay --signature "$crash")
  [ "$rsig" = "$sig" ] || fail "replay signature '$rsig' differs from the fuzzer's '$sig'"
  ;;
afl)
  need "$afl/fuzz/fuzz_kernel"
  command -v afl-fuzz >/dev/null || { echo "fuzz_smoke afl: afl-fuzz not installed, skipped" >&2; exit 77; }
  AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_QUIET=1 \
    SMAXCHECK_FUZZ_KERNEL=naive SMAXCHECK_FUZZ_FUNC=softmax timeout 60 afl-fuzz -V 15 -s 1 \
    -i "$seeds/fuzz_kernel" -o "$work/out" -x "$dict/fuzz_kernel.dict" -- "$afl/fuzz/fuzz_kernel" \
    >"$work/log" 2>&1 || fail "afl-fuzz failed: $(tail -5 "$work/log")"
  stats=$work/out/default/fuzzer_stats
  [ -f "$stats" ] || fail "no fuzzer_stats"
  n=$(sed -n 's/^saved_crashes *: *//p' "$stats")
  echo "afl: $(grep -E '^(execs_done|execs_per_sec|saved_crashes|stability)' "$stats" | tr -s ' ' | tr '\n' ' ')"
  [ "${n:-0}" -gt 0 ] || fail "afl-fuzz saved no crash in 15 s"
  ok=0
  for c in "$work"/out/default/crashes/id:*; do
    s=$(SMAXCHECK_FUZZ_KERNEL=naive SMAXCHECK_FUZZ_FUNC=softmax "$smax" replay --signature "$c")
    case $s in "nonfinite naive softmax binary"*) ok=1; break;; esac
  done
  [ $ok -eq 1 ] || fail "no AFL++ crash replays as a nonfinite naive softmax finding"
  ;;
parsers)
  need "$fz/fuzz/fuzz_vecio"
  need "$fz/fuzz/fuzz_thresholds"
  for t in fuzz_vecio fuzz_thresholds; do
    mkdir "$work/$t"
    timeout 60 "$fz/fuzz/$t" -seed=1 -max_total_time=4 -dict="$dict/$t.dict" -artifact_prefix="$work/" \
      "$work/$t" "$seeds/$t" >"$work/$t.log" 2>&1 || fail "$t: a finding: $(grep -m3 -E 'ERROR|SUMMARY|abort' "$work/$t.log")"
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/$t.log")
    echo "$t: ${runs:-0} runs in 4 s"
    [ "${runs:-0}" -gt 1000 ] || fail "$t ran only ${runs:-0} inputs"
  done
  ;;
seeds)
  need "$fz/fuzz/fuzz_kernel"
  for f in "$seeds"/fuzz_kernel/*; do
    "$smax" replay "$f" >"$work/r" 2>&1 || fail "seed $f does not pass: $(tail -1 "$work/r")"
  done
  # features at startup on the seed corpus: guidance must add some
  ft() { SMAXCHECK_FUZZ_GUIDE=$1 "$fz/fuzz/fuzz_kernel" -runs=0 "$seeds/fuzz_kernel" 2>&1 |
         sed -n 's/.*INITED.* ft: \([0-9]*\).*/\1/p'; }
  on=$(ft 1) off=$(ft 0)
  echo "features on the seeds: guidance on $on, off $off"
  [ -n "$on" ] && [ -n "$off" ] && [ "$on" -gt "$off" ] || fail "error guidance adds no features ($on vs $off)"
  ;;
*) echo "usage: fuzz_smoke.sh libfuzzer|plugin|afl|parsers|seeds SMAXCHECK SRCDIR LIBFUZZER_BUILD [AFL_BUILD]" >&2; exit 2;;
esac
echo "fuzz_smoke $mode: ok"

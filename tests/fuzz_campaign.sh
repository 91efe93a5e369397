#!/usr/bin/env bash
# fuzz_campaign.sh -- CTest for scripts/fuzz-campaign.sh and fuzz-triage.sh.
# Usage: tests/fuzz_campaign.sh SMAXCHECK FUZZ_BUILD_DIR
#   SMAXCHECK       the smaxcheck binary (report --fuzz, replay)
#   FUZZ_BUILD_DIR  the libFuzzer build (build-fuzz/: fuzz/fuzz_kernel)
# A libFuzzer campaign on the naive kernel (planted overflow), interrupted
# after 3 s and resumed for 5 s, then: summary.json is accepted by
# `smaxcheck report --fuzz`, names >= 1 naive finding, adds up both runs,
# and each stored reproducer replays to its signature; bad arguments exit 2.
# Exit 77 (skipped) if the libFuzzer build is absent.  About 20 s.
set -euo pipefail
smax=${1:?usage: fuzz_campaign.sh SMAXCHECK FUZZ_BUILD_DIR}
fbuild=${2:?usage: fuzz_campaign.sh SMAXCHECK FUZZ_BUILD_DIR}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
campaign=$root/scripts/fuzz-campaign.sh
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ -x "$smax" ] || { echo "FAIL: $smax not found"; exit 1; }
if [ ! -x "$fbuild/fuzz/fuzz_kernel" ]; then
  echo "SKIP: $fbuild/fuzz/fuzz_kernel not built (make check builds build-fuzz/)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/smax-fuzz-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
dir=$work/camp
args=(--engine libfuzzer --target fuzz_kernel --jobs 1 --out "$dir" --kernel naive
  --build-dir "$fbuild" --no-build --smaxcheck "$smax" --budget 1)

# ---- bad arguments: exit 2, one line naming the value ----
expect2() { # WHAT ARGS...: exit status 2 and WHAT on stderr
  local what=$1 rc=0
  shift
  "$campaign" "$@" >/dev/null 2>"$work/err" || rc=$?
  [ "$rc" = 2 ] || fail "$* exited $rc, not 2"
  grep -q -- "$what" "$work/err" || fail "$* did not say '$what': $(head -n 1 "$work/err")"
}
expect2 "unknown engine 'honggfuzz'" --engine honggfuzz --target fuzz_kernel
expect2 "unknown target 'fuzz_nope'" --engine libfuzzer --target fuzz_nope
expect2 "bad duration '-1'" --engine libfuzzer --target fuzz_kernel --seconds -1
expect2 "bad --jobs '0'" --engine libfuzzer --target fuzz_kernel --jobs 0
expect2 "apply to fuzz_kernel only" --engine libfuzzer --target fuzz_vecio --kernel naive
expect2 "SMAXCHECK_FUZZ_KERNEL=no-such-kernel" "${args[@]/naive/no-such-kernel}" --seconds 1
"$campaign" --help | grep -q -- '--engine afl|libfuzzer' || fail "--help"

# ---- a campaign, interrupted, then resumed ----
"$campaign" "${args[@]}" --seconds 60 2>"$work/run1.err" &
pid=$!
sleep 3
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 130 ] || fail "interrupted campaign exited $rc, not 130: $(tail -n 3 "$work/run1.err")"
grep -q 'interrupted' "$dir/runs.tsv" || fail "the interrupted run is not in runs.tsv"
[ ! -f "$dir/summary.json" ] || fail "summary.json written by an interrupted run"
if pgrep -f "$dir/crashes" >/dev/null; then fail "fuzzers left running after the interrupt"; fi

"$campaign" "${args[@]}" --seconds 5 2>"$work/run2.err" || fail "resumed campaign exited $?: $(tail -n 3 "$work/run2.err")"
grep -q 'resumed' "$work/run2.err" || fail "second run did not resume: $(head -n 2 "$work/run2.err")"
grep -q 'execs=' "$work/run2.err" || fail "no progress line on stderr"
s=$dir/summary.json
[ -f "$s" ] || { fail "no $s"; exit 1; }
[ "$(wc -l <"$dir/runs.tsv")" = 2 ] || fail "runs.tsv has not 2 runs: $(cat "$dir/runs.tsv")"
grep -q '"runs": 2' "$s" || fail "summary does not add up the two runs"
ls "$dir"/.[!.]* >/dev/null 2>&1 && fail "temporary files left in $dir: $(ls -a "$dir")"

# ---- the summary: accepted by the report, with a naive finding ----
"$smax" eval --kernel naive --func softmax --format binary32 --n 16 --rows 2 --family normal1 \
  --json "$work/results.json" --quiet || fail "smaxcheck eval"
if "$smax" report "$work/results.json" -o "$work/report" --fuzz "$s" >"$work/report.log" 2>&1; then
  grep -q 'Fuzzing campaigns' "$work/report/index.html" || fail "report has no fuzzing section"
else
  fail "smaxcheck report rejected $s: $(cat "$work/report.log")"
fi
grep -q '"engine": "libfuzzer", "target": "fuzz_kernel"' "$s" || fail "engine/target not in summary"
awk '/"execs":/ { if (match($0, /"execs": [1-9][0-9]*/) == 0) exit 1 }' "$s" || fail "execs is 0"
grep -q '"signature": "[a-z]* naive ' "$s" || fail "no naive finding in $s"

# ---- every stored finding replays to its signature ----
n=0
for f in "$dir"/findings/*/; do
  [ -f "$f/input" ] || continue
  n=$((n + 1))
  sig=$(cat "$f/signature")
  [[ $sig == *" naive "* ]] || fail "$f: signature '$sig' is not the naive kernel's"
  [ "$(head -c 1 "$f/count")" != 0 ] || fail "$f: count 0"
  got=$(SMAXCHECK_FUZZ_KERNEL=naive "$smax" replay --signature "$f/input" || true)
  [ "$got" = "$sig" ] || fail "$f/input replays to '$got', not '$sig'"
  rc=0
  bash -c "$(cat "$f/replay.cmd")" >"$work/replay.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "$f/replay.cmd exited $rc, not 1 (a failed check)"
  grep -q "SMAXCHECK-FINDING" "$f/replay.txt" || fail "$f/replay.txt has no finding line"
  grep -qF "$(cat "$f/replay.cmd")" "$s" || fail "$f/replay.cmd is not the summary's replay command"
done
[ "$n" -ge 1 ] || fail "no finding stored under $dir/findings"

# ---- resuming with other options is refused ----
expect2 "holds a campaign with kernel='naive'" "${args[@]/naive/stable}" --seconds 1

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: campaign, interrupt, resume, triage ($n findings), report --fuzz, replay"

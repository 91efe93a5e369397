#!/usr/bin/env bash
# fuzz-triage.sh -- deduplicate, minimise and store the findings of a fuzz
# campaign directory (scripts/fuzz-campaign.sh), and write its summary.json
# (reports/FUZZ_SCHEMA.md).  See --help.
set -euo pipefail
PROG=fuzz-triage.sh
# shellcheck source=scripts/fuzz-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/fuzz-triage.sh --out DIR [--budget S] [--smaxcheck BIN] [--help]

Triage the crash inputs of the campaign in DIR (made by fuzz-campaign.sh;
DIR/campaign.conf says engine, target, build directory and restrictions):

 1. signature of every crash input (libFuzzer DIR/crashes/*, AFL++
    DIR/afl/*/crashes*/id:*), by running the target on it: the target's
    "SMAXCHECK-FINDING class=C kernel=K func=F format=FMT" line gives
    "C K F FMT" (what `smaxcheck replay --signature` prints); a sanitizer
    report gives "asan:TYPE frame frame frame" (top frames, runtime frames
    skipped); cached by content hash (and binaries) in DIR/triage/, so a
    rerun only looks at new inputs;
 2. one input per new signature minimised (libFuzzer -minimize_crash=1, or
    afl-tmin, within S seconds, default 10), kept only if it still gives the
    same signature;
 3. stored in DIR/findings/<signature-slug>/: input (the reproducer),
    signature, count, replay.cmd (one line: the command replaying it) and
    replay.txt (that command's output);
 4. DIR/summary.json rewritten: the campaign's engine, target, hours, execs,
    exec/s (DIR/runs.tsv) and the findings with their counts.

Inputs that do not reproduce are reported on stderr and left out.
Exit status: 0 done, 1 failure, 2 bad arguments.
EOF
}

out='' budget=10 smax=''
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "option $1 needs a value"; fi; }
while [ $# -gt 0 ]; do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --budget) need "$@"; budget=$2; shift 2 ;;
    --smaxcheck) need "$@"; smax=$2; shift 2 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
[ -n "$out" ] || usage_error "--out DIR is required"
[ -f "$out/campaign.conf" ] || usage_error "$out/campaign.conf not found: not a campaign directory (scripts/fuzz-campaign.sh)"
[[ $budget =~ ^[0-9]+$ ]] || usage_error "bad --budget '$budget' (whole seconds)"
out=$(cd "$out" && pwd)

engine=$(conf_get "$out" engine)
target=$(conf_get "$out" target)
build_dir=$(conf_get "$out" build_dir)
[ -n "$smax" ] || smax=$(conf_get "$out" smaxcheck)
bin=$build_dir/fuzz/$target
[ -x "$bin" ] || die "$bin not found (campaign.conf: build_dir=$build_dir)"
envs=()
while IFS= read -r e; do [ -n "$e" ] && envs+=("$e"); done < <(target_env "$out")
# sanitizer reports with frames; the AFL++ build reads files given as arguments too
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}

work=$(mktemp -d "$out/.triage.XXXXXX")
cleanup() { rm -rf "$work" "$out"/findings/.new.*; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$out/triage" "$out/findings"
# the cache holds for these binaries only: a rebuilt target re-triages
binhash=$(cat "$bin" "$([ -x "$smax" ] && echo "$smax" || echo "$bin")" | sha1sum | cut -c1-12)
cache=$out/triage/signatures-$binhash.tsv
touch "$cache"

# `smaxcheck replay` decodes fuzz_kernel inputs; the other targets replay themselves
have_replay=0
if [ "$target" = fuzz_kernel ] && [ -x "$smax" ] && "$smax" replay --help >/dev/null 2>&1; then
  have_replay=1
fi
# signature FILE: the signature of FILE (empty if the input passes):
# `smaxcheck replay --signature` (fast, no stack to symbolise), else the
# target run once on FILE (sanitizer reports, the parsers' targets)
signature() {
  local log=$work/run.log s=''
  if [ "$have_replay" = 1 ]; then
    s=$(env "${envs[@]}" timeout 60 "$smax" replay --signature "$1" 2>/dev/null </dev/null || true)
  fi
  if [ -z "$s" ]; then
    env "${envs[@]}" timeout 60 "$bin" "$1" >"$log" 2>&1 </dev/null || true
    s=$(signature_of "$log")
  fi
  printf '%s\n' "$s"
}

# ---- 1. signatures of the crash inputs ----
list=$work/inputs
if [ "$engine" = libfuzzer ]; then
  find "$out/crashes" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) >"$list"
else
  # crashes.<date>/: where afl-fuzz moves crashes/ when it resumes
  find "$out/afl" -path '*/crashes*/id:*' -type f >"$list"
fi
total=$(wc -l <"$list")
note "$total crash inputs in $out"
declare -A known=()
while IFS=$'\t' read -r h s; do known[$h]=$s; done <"$cache"
sigs=$work/sigs.tsv # signature \t size \t path
: >"$sigs"
unrepro=0 fresh=0
while IFS= read -r f <&3; do
  h=$(sha1sum <"$f" | cut -c1-40)
  if [ -z "${known[$h]+x}" ]; then
    s=$(signature "$f")
    known[$h]=$s
    printf '%s\t%s\n' "$h" "$s" >>"$cache"
    fresh=$((fresh + 1))
  fi
  s=${known[$h]}
  if [ -z "$s" ]; then
    unrepro=$((unrepro + 1))
    continue
  fi
  printf '%s\t%s\t%s\n' "$s" "$(wc -c <"$f")" "$f" >>"$sigs"
done 3<"$list"
[ "$fresh" = 0 ] || note "ran $fresh new inputs"
[ "$unrepro" = 0 ] || note "$unrepro crash inputs do not reproduce (flaky or environment-dependent): left out"

# ---- 2-3. one minimised reproducer per signature ----
replay_cmd() { # FILE [--signature]: the one-line command replaying FILE
  local q='' e
  for e in "${envs[@]}"; do q+="$(printf '%q' "$e") "; done
  if [ "$have_replay" = 1 ]; then
    printf 'env %s%q replay %s%q\n' "$q" "$smax" "${2:+$2 }" "$1"
  else
    printf 'env %s%q %q\n' "$q" "$bin" "$1"
  fi
}
minimise() { # IN SIG OUT: OUT = a smaller input with the same signature, or IN
  local in=$1 sig=$2 res=$3 cand=$work/min.cand
  rm -f "$cand"
  if [ "$budget" -gt 0 ]; then
    if [ "$engine" = libfuzzer ]; then
      # each step rewrites $cand; the hard stop keeps the last one (checked below)
      (cd "$work" && env "${envs[@]}" ASAN_OPTIONS=symbolize=0 timeout "$budget" "$bin" -minimize_crash=1 \
        -max_total_time="$budget" -exact_artifact_path="$cand" -runs=2000 "$in" \
        >"$work/min.log" 2>&1) || true
    else
      env "${envs[@]}" AFL_NO_AFFINITY=1 timeout "$budget" afl-tmin -i "$in" -o "$cand" -m none -t 2000 \
        -- "$bin" >"$work/min.log" 2>&1 || true
    fi
  fi
  if [ -s "$cand" ] && [ "$(wc -c <"$cand")" -lt "$(wc -c <"$in")" ] && [ "$(signature "$cand")" = "$sig" ]; then
    cp "$cand" "$res"
  else
    cp "$in" "$res"
  fi
}
nsig=0
findings_json=$work/findings.json
: >"$findings_json"
# signatures by count (descending), then name
cut -f1 "$sigs" | sort | uniq -c | sort -k1,1nr -k2 | sed 's/^ *//' >"$work/counts"
while read -r count sig <&3; do
  nsig=$((nsig + 1))
  sl=$(slug "$sig")
  dest=$out/findings/$sl
  smallest=$(awk -F'\t' -v s="$sig" '$1 == s { print $2 "\t" $3 }' "$sigs" | sort -n | head -n 1 | cut -f2)
  tmp=$(mktemp -d "$out/findings/.new.XXXXXX")
  if [ -f "$dest/input" ] && [ "$(cat "$dest/signature" 2>/dev/null)" = "$sig" ] &&
    [ "$(signature "$dest/input")" = "$sig" ]; then
    cp "$dest/input" "$tmp/input" # minimised before and still failing so: keep it
  else
    note "minimising one input of: $sig"
    minimise "$smallest" "$sig" "$tmp/input"
  fi
  printf '%s\n' "$sig" >"$tmp/signature"
  printf '%s\n' "$count" >"$tmp/count"
  cmd=$(replay_cmd "$dest/input")
  printf '%s\n' "$cmd" >"$tmp/replay.cmd"
  # replace the old directory in two renames: never a half-written finding
  if [ -d "$dest" ]; then
    mv "$dest" "$tmp.old"
    mv "$tmp" "$dest"
    rm -rf "$tmp.old"
  else
    mv "$tmp" "$dest"
  fi
  # replay.txt: the command's output on the stored reproducer
  bash -c "$cmd" >"$dest/.replay.txt.tmp" 2>&1 </dev/null || true
  mv -f "$dest/.replay.txt.tmp" "$dest/replay.txt"
  if [ "$have_replay" = 1 ] && [ "$(signature "$dest/input")" != "$sig" ]; then
    note "warning: $dest/input no longer gives '$sig' (flaky?)"
  fi
  [ -s "$findings_json" ] && printf ',\n' >>"$findings_json"
  printf '     {"signature": %s, "count": %s, "replay": %s, "dir": %s}' \
    "$(json_str "$sig")" "$count" "$(json_str "$cmd")" "$(json_str "$dest")" >>"$findings_json"
done 3<"$work/counts"

# findings of earlier triages whose signature no input gives any more (the
# target was rebuilt, a threshold changed): removed, said on stderr
for d in "$out"/findings/*/; do
  d=${d%/}
  [ -f "$d/signature" ] || continue
  if ! grep -qxF "$(cat "$d/signature")" <(cut -d' ' -f2- "$work/counts"); then
    note "no input gives '$(cat "$d/signature")' any more: removing $d"
    rm -rf "$d"
  fi
done

# ---- 4. summary.json (temporary file, then rename) ----
read -r seconds execs runs < <(awk -F'\t' '{ s += $2; e += $3; n++ } END { printf "%d %d %d\n", s, e, n }' "$out/runs.tsv" 2>/dev/null || echo "0 0 0")
hours=$(awk -v s="$seconds" 'BEGIN { printf "%.6g", s / 3600 }')
eps=$(awk -v s="$seconds" -v e="$execs" 'BEGIN { printf "%.1f", (s > 0 ? e / s : 0) }')
ename=$engine
[ "$engine" = afl ] && ename=afl++
tmpjson=$(mktemp "$out/.summary.json.XXXXXX")
{
  printf '{"schema": "smaxcheck-fuzz", "version": 1, "campaigns": [\n'
  printf '  {"engine": %s, "target": %s, "hours": %s, "execs": %s, "exec_per_s": %s,\n' \
    "$(json_str "$ename")" "$(json_str "$target")" "$hours" "$execs" "$eps"
  printf '   "seconds": %s, "runs": %s, "kernel": %s, "func": %s, "format": %s, "guide": %s, "dir": %s,\n' \
    "$seconds" "$runs" "$(json_str "$(conf_get "$out" kernel)")" "$(json_str "$(conf_get "$out" func)")" \
    "$(json_str "$(conf_get "$out" format)")" "$(json_str "$( [ "$(conf_get "$out" guide)" = 0 ] && echo off || echo on)")" \
    "$(json_str "$out")"
  printf '   "findings": [\n'
  cat "$findings_json"
  printf '\n   ]}\n]}\n'
} >"$tmpjson"
mv -f "$tmpjson" "$out/summary.json"
note "$nsig distinct findings; $out/summary.json"

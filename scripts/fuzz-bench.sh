#!/usr/bin/env bash
# fuzz-bench.sh -- figures for the fuzz targets: throughput, time to first
# finding on the planted bugs, error guidance on vs off.  A benchmark, not a
# test: it prints Markdown tables (stdout) and progress (stderr).  See --help.
set -euo pipefail
PROG=fuzz-bench.sh
# shellcheck source=scripts/fuzz-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/fuzz-bench.sh [--libfuzzer-build DIR] [--afl-build DIR]
         [--engines libfuzzer,afl] [--seeds K] [--cap S] [--secs S]
         [--parts exec,ttff,maxerr] [--kernels K,K..] [--work DIR] [--help]

One fuzzing process at a time (one core), no fork/parallel mode:
  exec    exec/s of each target (fuzz_kernel on accurate softmax binary64
          and binary32, the online-f32acc and fixedpoint families;
          fuzz_vecio, fuzz_thresholds), S seconds each (--secs, default 15),
          until a finding stops the process (said in the table); inputs at
          most 16 + 64*8*2 bytes (-max_len / -G 1040), so n <= 64 except
          where the n byte asks for a large n (n > 64 then reads zeros)
  ttff    time to the first finding on naive (its exp overflow) and on each
          planted kernel of fuzz/planted.c (--kernels: another list),
          error guidance on and off
          (SMAXCHECK_FUZZ_GUIDE), K runs with seeds 1..K (default 3), each
          from one neutral 80-byte zero input with the target's dictionary,
          capped at S seconds (--cap, default 60); median wall time (startup
          included) and median executions; a run that hits the cap counts
          as the cap (">")
  maxerr  the largest finite ulp error in the corpus and the crashes after
          S seconds (libFuzzer -fork=1, going on past findings) on correct
          kernels (accurate log_softmax, online softmax binary32), guidance on
          and off, K seeds: does the guidance reach larger errors?
Builds: --libfuzzer-build (default build-fuzz/), --afl-build (default
build-afl/); each needs fuzz/fuzz_kernel, fuzz/fuzz_vecio,
fuzz/fuzz_thresholds and smaxcheck (scripts/fuzz-campaign.sh builds them).
Exit status: 0 done, 1 failure, 2 bad arguments.
EOF
}

lfb=$(default_build_dir libfuzzer) aflb=$(default_build_dir afl)
engines=libfuzzer,afl seeds=3 cap=60 secs=15 parts=exec,ttff,maxerr work=''
kernels=naive,planted-lazyshift,planted-log1p,planted-expdiff,planted-seqsum
while [ $# -gt 0 ]; do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --libfuzzer-build | --afl-build | --engines | --seeds | --cap | --secs | --parts | --work | --kernels)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "option $1 needs a value"; fi
      case $1 in
        --libfuzzer-build) lfb=$2 ;; --afl-build) aflb=$2 ;; --engines) engines=$2 ;;
        --seeds) seeds=$2 ;; --cap) cap=$2 ;; --secs) secs=$2 ;; --parts) parts=$2 ;; --work) work=$2 ;;
        --kernels) kernels=$2 ;;
      esac
      shift 2 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
for v in seeds cap secs; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || usage_error "bad --$v '${!v}' (a positive integer)"
done
IFS=, read -r -a elist <<<"$engines"
for e in "${elist[@]}"; do
  case $e in libfuzzer | afl) ;; *) usage_error "unknown engine '$e' in --engines (libfuzzer, afl)" ;; esac
done
IFS=, read -r -a klist <<<"$kernels"
for k in "${klist[@]}"; do
  [[ $k =~ ^[A-Za-z0-9._+-]+$ ]] || usage_error "bad kernel name '$k' in --kernels"
done
IFS=, read -r -a plist <<<"$parts"
for p in "${plist[@]}"; do
  case $p in exec | ttff | maxerr) ;; *) usage_error "unknown part '$p' in --parts (exec, ttff, maxerr)" ;; esac
done
builddir() { if [ "$1" = libfuzzer ]; then echo "$lfb"; else echo "$aflb"; fi; }
for e in "${elist[@]}"; do
  for t in fuzz/fuzz_kernel fuzz/fuzz_vecio fuzz/fuzz_thresholds smaxcheck; do
    [ -x "$(builddir "$e")/$t" ] || die "$(builddir "$e")/$t not found (build it: scripts/fuzz-campaign.sh --engine $e ...)"
  done
  if [ "$e" = afl ]; then command -v afl-fuzz >/dev/null || die "afl-fuzz not found"; fi
done
tmpw=0
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/smax-fuzz-bench.XXXXXX"); tmpw=1; fi
mkdir -p "$work"
cleanup() { if [ "$tmpw" = 1 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_SUPPRESS_WARNINGS=1
seed0=$work/seed0
mkdir -p "$seed0"
head -c 80 /dev/zero >"$seed0/zero"
MAXLEN=1040

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run ENGINE TARGET SECONDS SEED UNTIL_CRASH OUTDIR ENV...: one fuzzing
# process (UNTIL_CRASH 1: AFL++ stops at the first crash, as libFuzzer does;
# 2: libFuzzer goes on, -fork=1); prints "wall_seconds execs crashed"
run() {
  local e=$1 t=$2 s=$3 seed=$4 until=$5 o=$6
  shift 6
  local b bin t0 t1 execs crashed=0
  b=$(builddir "$e")
  bin=$b/fuzz/$t
  rm -rf "$o"
  mkdir -p "$o/corpus" "$o/art"
  local dict=$FUZZ_ROOT/fuzz/dict/$t.dict
  t0=$(date +%s.%N)
  if [ "$e" = libfuzzer ]; then
    local fl=(-seed="$seed" -max_total_time="$s" -max_len="$MAXLEN" -artifact_prefix="$o/art/" -print_final_stats=1)
    # UNTIL_CRASH=2: go on past findings (one -fork worker, restarted)
    [ "$until" = 2 ] && fl+=(-fork=1 -ignore_crashes=1)
    [ -f "$dict" ] && fl+=(-dict="$dict")
    (cd "$o" && env "$@" timeout $((s + 30)) "$bin" "${fl[@]}" "$o/corpus" "$seed0" >"$o/log" 2>&1) || true
    t1=$(date +%s.%N)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$o/log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$o/log" | tail -n 1)
    [ -z "$(ls -A "$o/art")" ] || crashed=1
  else
    local al=(-i "$seed0" -o "$o/afl" -V "$s" -s "$seed" -G "$MAXLEN" -t 2000 -m none)
    [ -f "$dict" ] && al+=(-x "$dict")
    if [ "$until" = 1 ]; then
      env "$@" AFL_BENCH_UNTIL_CRASH=1 timeout $((s + 30)) afl-fuzz "${al[@]}" -- "$bin" >"$o/log" 2>&1 || true
    else
      env "$@" timeout $((s + 30)) afl-fuzz "${al[@]}" -- "$bin" >"$o/log" 2>&1 || true
    fi
    t1=$(date +%s.%N)
    execs=$(sed -n 's/^execs_done *: *//p' "$o/afl/default/fuzzer_stats" 2>/dev/null | tail -n 1)
    [ -z "$(find "$o/afl/default/crashes" -name 'id:*' 2>/dev/null | head -n 1)" ] || crashed=1
    cp -r "$o/afl/default/queue" "$o/corpus.q" 2>/dev/null && { rm -rf "$o/corpus"; mv "$o/corpus.q" "$o/corpus"; }
  fi
  awk -v a="$t0" -v b="$t1" -v e="${execs:-0}" -v c="$crashed" 'BEGIN { printf "%.2f %d %d\n", b - a, e, c }'
}

has() { case ",$parts," in *",$1,"*) return 0 ;; esac; return 1; }
echo "# fuzz-bench.sh: $(date -u +%Y-%m-%d), $(nproc) cores, clang $(clang --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n 1)$(command -v afl-fuzz >/dev/null && afl-fuzz -h 2>&1 | sed -n 's/.*afl-fuzz++\([0-9.a-z]*\).*/, AFL++ \1/p' | head -n 1)"
echo

# ---- exec/s ----
if has exec; then
  echo "## Throughput (one process, ${secs} s each, inputs <= $MAXLEN bytes)"
  echo
  echo "| engine | target | restriction | exec/s | execs | finding |"
  echo "|---|---|---|---:|---:|---|"
  for e in "${elist[@]}"; do
    for spec in "fuzz_kernel accurate softmax binary64" "fuzz_kernel accurate softmax binary32" \
      "fuzz_kernel online-f32acc - -" "fuzz_kernel fixedpoint - -" "fuzz_vecio - - -" "fuzz_thresholds - - -"; do
      read -r t k f fm <<<"$spec"
      envs=()
      [ "$k" = - ] || envs+=("SMAXCHECK_FUZZ_KERNEL=$k")
      [ "$f" = - ] || envs+=("SMAXCHECK_FUZZ_FUNC=$f")
      [ "$fm" = - ] || envs+=("SMAXCHECK_FUZZ_FORMAT=$fm")
      note "exec/s: $e $t ${envs[*]:-}"
      read -r wall execs crashed < <(run "$e" "$t" "$secs" 1 0 "$work/x" "${envs[@]}")
      eps=$(awk -v e="$execs" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? e / w : 0) }')
      r="${envs[*]:-(none)}"
      if [ "$crashed" = 0 ]; then stop=no; elif [ "$e" = libfuzzer ]; then stop="yes, stopped at ${wall} s"; else stop="yes (AFL++ goes on)"; fi
      echo "| $e | $t | ${r//SMAXCHECK_FUZZ_/} | $eps | $execs | $stop |"
    done
  done
  echo
fi

# ---- time to first finding ----
if has ttff; then
  echo "## Time to first finding (median of $seeds seeds, cap ${cap} s; wall time incl. startup)"
  echo
  echo "| engine | kernel | guidance on: s (execs) | guidance off: s (execs) | first signature (on) |"
  echo "|---|---|---:|---:|---|"
  for e in "${elist[@]}"; do
    for k in "${klist[@]}"; do
      declare -A res=()
      firstsig=''
      for g in 1 0; do
        ts=() xs=()
        for ((s = 1; s <= seeds; s++)); do
          note "ttff: $e $k guide=$g seed=$s"
          read -r wall execs crashed < <(run "$e" fuzz_kernel "$cap" "$s" 1 "$work/t" \
            SMAXCHECK_FUZZ_KERNEL="$k" SMAXCHECK_FUZZ_GUIDE="$g")
          if [ "$crashed" = 1 ]; then ts+=("$wall"); else ts+=(">$cap"); fi
          xs+=("$execs")
          if [ "$g" = 1 ] && [ -z "$firstsig" ] && [ "$crashed" = 1 ]; then
            f=$(find "$work/t/art" "$work/t/afl/default/crashes" -type f \( -name 'crash-*' -o -name 'id:*' \) 2>/dev/null | head -n 1 || true)
            [ -z "$f" ] || firstsig=$(SMAXCHECK_FUZZ_KERNEL=$k "$(builddir "$e")/smaxcheck" replay --signature "$f" 2>/dev/null || true)
          fi
        done
        # a capped run counts as the cap; the median says ">" if it is one
        mt=$(printf '%s\n' "${ts[@]}" | sed "s/^>$cap\$/$cap.0001/" | median)
        mx=$(printf '%s\n' "${xs[@]}" | median)
        if awk -v m="$mt" -v c="$cap" 'BEGIN { exit !(m > c) }'; then mt=">$cap"; fi
        res[$g]="$mt ($mx) [$(IFS=' '; echo "${ts[*]}")]"
      done
      echo "| $e | $k | ${res[1]} | ${res[0]} | ${firstsig:--} |"
      unset res
    done
  done
  echo
  echo "Bracketed: the individual runs (s)."
  echo
fi

# ---- largest error reached ----
if has maxerr; then
  echo "## Largest ulp error in the corpus after ${secs} s (correct kernels; median of $seeds seeds)"
  echo
  echo "| engine | kernel func format | guidance on | guidance off |"
  echo "|---|---|---:|---:|"
  for e in "${elist[@]}"; do
    for spec in "accurate log_softmax binary32" "online softmax binary32"; do
      read -r k f fm <<<"$spec"
      declare -A res=()
      for g in 1 0; do
        ms=()
        for ((s = 1; s <= seeds; s++)); do
          note "maxerr: $e $k $f $fm guide=$g seed=$s"
          envs=(SMAXCHECK_FUZZ_KERNEL="$k" SMAXCHECK_FUZZ_FUNC="$f" SMAXCHECK_FUZZ_FORMAT="$fm" SMAXCHECK_FUZZ_GUIDE="$g")
          run "$e" fuzz_kernel "$secs" "$s" 2 "$work/m" "${envs[@]}" >/dev/null
          # the worst finite ulp error over the corpus, by `smaxcheck replay`
          m=0
          for c in "$work"/m/corpus/* "$work"/m/art/*; do
            [ -f "$c" ] || continue
            v=$(env "${envs[@]}" "$(builddir "$e")/smaxcheck" replay "$c" 2>/dev/null |
              awk '/^# row out got want ulp_error/ { t = 1; next } t && NF == 5 && $1 ~ /^[0-9]+$/ && $5 ~ /^[0-9.]+(e[-+]?[0-9]+)?$/ { if ($5 + 0 > m) m = $5 + 0 } END { print m + 0 }' || true)
            m=$(awk -v a="$m" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
          done
          ms+=("$m")
        done
        res[$g]="$(printf '%s\n' "${ms[@]}" | median) [$(IFS=' '; echo "${ms[*]}")]"
      done
      echo "| $e | $k $f $fm | ${res[1]} | ${res[0]} |"
      unset res
    done
  done
  echo
fi

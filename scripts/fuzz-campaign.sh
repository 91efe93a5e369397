#!/usr/bin/env bash
# fuzz-campaign.sh -- run a fuzzing campaign (libFuzzer or AFL++) on one of the
# fuzz/ targets, then minimise the corpus, triage the findings and write
# DIR/summary.json (reports/FUZZ_SCHEMA.md).  See --help.
set -euo pipefail
PROG=fuzz-campaign.sh
# shellcheck source=scripts/fuzz-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/fuzz-lib.sh"

usage() {
  cat <<EOF
Usage: scripts/fuzz-campaign.sh --engine afl|libfuzzer --target T
         [--hours H | --minutes M | --seconds S] [--jobs J] [--out DIR]
         [--kernel K] [--func F] [--format FMT] [--guide on|off]
         [--seeds DIR|none] [--build-dir DIR] [--no-build] [--smaxcheck BIN] [--budget S]
         [--no-merge] [--no-triage] [--help]

Fuzzes target T (one of: $FUZZ_TARGETS) for the given wall-clock
time (default 1 hour) with J parallel instances (default 1), then merges and
minimises the corpus, deduplicates and minimises the findings
(scripts/fuzz-triage.sh) and writes DIR/summary.json (reports/FUZZ_SCHEMA.md),
which \`smaxcheck report RESULTS.json -o OUT --fuzz DIR/summary.json\` shows.

  --engine E      libfuzzer: T -fork=J (crashes are kept and fuzzing goes on);
                  afl: one afl-fuzz -M main and J-1 -S secondaries, one sync dir
  --target T      fuzz_kernel (every built-in kernel, structure-aware input),
                  fuzz_vecio, fuzz_thresholds (the parsers)
  --hours H, --minutes M, --seconds S
                  how long to fuzz (decimals allowed); one of them
  --jobs J        parallel fuzzing processes (default 1)
  --out DIR       campaign directory (default ./fuzz-out/ENGINE-T); rerunning
                  with the same DIR resumes the campaign: the corpus, the AFL++
                  queues and the findings are kept, hours and execs add up
  --kernel K, --func F, --format FMT
                  fuzz_kernel only: restrict the kernel (also the planted-*
                  kernels of fuzz/planted.c), function, format
                  (SMAXCHECK_FUZZ_KERNEL / _FUNC / _FORMAT)
  --guide on|off  fuzz_kernel's error-guided feedback (SMAXCHECK_FUZZ_GUIDE;
                  default on)
  --seeds DIR     initial inputs (default fuzz/seeds/T/; none when --kernel,
                  --func or --format is given: that corpus is made for the
                  whole registry, decodes to other cases under a restriction,
                  and its inputs that fail there would each cost libFuzzer's
                  fork mode a restart before fuzzing starts); none: no seeds
  --build-dir D   where the engine's targets are (default build-fuzz/ for
                  libfuzzer, build-afl/ for afl); configured with
                  CC=clang / CC=afl-clang-fast -DSMAXCHECK_FUZZ=ENGINE and
                  built if a target is missing
                  (for throughput, point it at a build configured with
                  -DSMAXCHECK_FUZZ_SANITIZE=OFF: 2-4x the exec/s, fuzz/README.md)
  --no-build      never configure or build: fail if a binary is missing
  --smaxcheck B   the smaxcheck binary for 'replay' (default D/smaxcheck)
  --budget S      triage: seconds to minimise each new signature (default 10)
  --no-merge      skip the corpus merge/minimisation at the end
  --no-triage     skip triage (DIR/summary.json is then not updated)

The dictionary is fuzz/dict/T.dict (if present).  Progress goes to stderr every few seconds.  Interrupting (Ctrl-C,
SIGTERM) stops the fuzzers, records the run and leaves DIR resumable.
Exit status: 0 when the campaign ran (findings or not: see summary.json),
1 on a failure (build, fuzzer, triage), 2 on bad arguments.
EOF
}

engine='' target='' secs='' jobs=1 out='' kernel='' func='' format='' guide=''
build_dir='' no_build=0 smax='' budget=10 do_merge=1 do_triage=1 nduration=0 seeds=''
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "option $1 needs a value"; fi; }
while [ $# -gt 0 ]; do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --engine) need "$@"; engine=$2; shift 2 ;;
    --target) need "$@"; target=$2; shift 2 ;;
    --hours | --minutes | --seconds)
      need "$@"
      case $1 in --hours) unit=3600 ;; --minutes) unit=60 ;; *) unit=1 ;; esac
      secs=$(seconds_of "$2" "$unit")
      [ -n "$secs" ] || usage_error "bad duration '$2' for $1 (a positive number, at least 1 second)"
      nduration=$((nduration + 1)); shift 2 ;;
    --jobs) need "$@"; jobs=$2; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --kernel) need "$@"; kernel=$2; shift 2 ;;
    --func) need "$@"; func=$2; shift 2 ;;
    --format) need "$@"; format=$2; shift 2 ;;
    --guide) need "$@"; guide=$2; shift 2 ;;
    --seeds) need "$@"; seeds=$2; shift 2 ;;
    --build-dir) need "$@"; build_dir=$2; shift 2 ;;
    --no-build) no_build=1; shift ;;
    --smaxcheck) need "$@"; smax=$2; shift 2 ;;
    --budget) need "$@"; budget=$2; shift 2 ;;
    --no-merge) do_merge=0; shift ;;
    --no-triage) do_triage=0; shift ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

# ---- argument checks (exit 2) ----
case $engine in
  libfuzzer) ;;
  afl | afl++ | aflplusplus) engine=afl ;;
  "") usage_error "--engine is required (afl or libfuzzer)" ;;
  *) usage_error "unknown engine '$engine' (afl or libfuzzer)" ;;
esac
[ -n "$target" ] || usage_error "--target is required (one of: $FUZZ_TARGETS)"
case " $FUZZ_TARGETS " in *" $target "*) ;; *) usage_error "unknown target '$target' (one of: $FUZZ_TARGETS)" ;; esac
[ "$nduration" -le 1 ] || usage_error "give one of --hours, --minutes, --seconds"
[ -n "$secs" ] || secs=3600
[[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "bad --jobs '$jobs' (a positive integer)"
[[ $budget =~ ^[0-9]+$ ]] || usage_error "bad --budget '$budget' (whole seconds)"
case $guide in "" | on | off) ;; *) usage_error "bad --guide '$guide' (on or off)" ;; esac
if [ "$target" != fuzz_kernel ] && [ -n "$kernel$func$format$guide" ]; then
  usage_error "--kernel, --func, --format and --guide apply to fuzz_kernel only, not $target"
fi
for v in "$kernel" "$func" "$format"; do
  [[ -z $v || $v =~ ^[A-Za-z0-9._+-]+$ ]] || usage_error "bad name '$v' (letters, digits, . _ + -)"
done
if [ "$engine" = afl ]; then
  for t in afl-fuzz afl-cmin afl-tmin; do
    command -v "$t" >/dev/null || die "$t not found (install afl++: scripts/install-deps.sh)"
  done
fi
[ -n "$build_dir" ] || build_dir=$(default_build_dir "$engine")
[ -n "$out" ] || out=fuzz-out/$engine-$target
out=$(realpath -m -- "$out")
build_dir=$(realpath -m -- "$build_dir")
[ -n "$smax" ] || smax=$build_dir/smaxcheck
smax=$(realpath -m -- "$smax")
bin=$build_dir/fuzz/$target
[ ! -e "$out" ] || [ -d "$out" ] || usage_error "--out $out exists and is not a directory"
if [ -z "$seeds" ]; then
  if [ -n "$kernel$func$format" ]; then seeds=none; else seeds=$FUZZ_ROOT/fuzz/seeds/$target; fi
fi
if [ "$seeds" = none ]; then
  seeds=''
else
  [ -d "$seeds" ] || usage_error "--seeds $seeds: not a directory"
  seeds=$(cd "$seeds" && pwd)
fi

# stopping before the fuzzers run leaves nothing behind; after, see on_signal
started=0
# shellcheck disable=SC2317 # called by trap
early_signal() { echo "${PROG}: interrupted before fuzzing started" >&2; exit 130; }
trap early_signal INT TERM

# ---- the campaign directory: new, or the same campaign resumed ----
case $guide in on) guide=1 ;; off) guide=0 ;; esac
resumed=0
if [ -f "$out/campaign.conf" ]; then
  resumed=1
  for k in engine target kernel func format; do
    was=$(conf_get "$out" "$k") now=${!k}
    [ "$was" = "$now" ] ||
      usage_error "$out holds a campaign with $k='$was', not '$now': resume it with the same options or use another --out"
  done
  was=$(conf_get "$out" guide)
  [ -n "$guide" ] || guide=$was
  [ "${guide:-1}" = "${was:-1}" ] ||
    usage_error "$out holds a campaign with --guide $([ "${was:-1}" = 1 ] && echo on || echo off): resume it with the same options or use another --out"
fi

# ---- build ----
build() {
  local cc
  if [ "$engine" = libfuzzer ]; then cc=clang; else cc=afl-clang-fast; fi
  command -v "$cc" >/dev/null || die "$cc not found (scripts/install-deps.sh installs clang and afl++)"
  mkdir -p "$build_dir" || die "cannot create build directory $build_dir"
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    note "configuring $build_dir (CC=$cc, -DSMAXCHECK_FUZZ=$engine)"
    CC=$cc cmake -S "$FUZZ_ROOT" -B "$build_dir" -DSMAXCHECK_FUZZ="$engine" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build_dir/configure.log" 2>&1 ||
      die "configuring $build_dir failed: see $build_dir/configure.log"
  fi
  note "building $target and smaxcheck in $build_dir"
  cmake --build "$build_dir" -j 2 --target "$target" smaxcheck >"$build_dir/build-$target.log" 2>&1 ||
    die "building $target in $build_dir failed: see $build_dir/build-$target.log"
}
if [ ! -x "$bin" ] || [ ! -x "$smax" ]; then
  [ "$no_build" = 0 ] || die "$([ -x "$bin" ] && echo "$smax" || echo "$bin") not found (and --no-build)"
  build
  [ -x "$bin" ] || die "$bin was not built: is fuzz/$target.c in fuzz/CMakeLists.txt?"
fi
[ -x "$smax" ] || die "smaxcheck binary $smax not found"

# ---- the target's environment ----
envs=()
[ -n "$kernel" ] && envs+=("SMAXCHECK_FUZZ_KERNEL=$kernel")
[ -n "$func" ] && envs+=("SMAXCHECK_FUZZ_FUNC=$func")
[ -n "$format" ] && envs+=("SMAXCHECK_FUZZ_FORMAT=$format")
[ -n "$guide" ] && envs+=("SMAXCHECK_FUZZ_GUIDE=$guide")
# a restriction the target does not know must not fuzz nothing for an hour:
# run the target once on an empty input; it exits 2 with the reason
if [ "$target" = fuzz_kernel ] && [ -n "$kernel$func$format" ]; then
  probe=$(mktemp "${TMPDIR:-/tmp}/fuzz-probe.XXXXXX")
  if ! env "${envs[@]}" "$bin" "$probe" >"$probe.log" 2>&1; then
    msg=$(grep -m1 'fuzz_kernel:\|SMAXCHECK' "$probe.log" || head -n 1 "$probe.log")
    rm -f "$probe" "$probe.log"
    usage_error "the target rejects --kernel/--func/--format: ${msg:-exit status non-zero on an empty input}"
  fi
  rm -f "$probe" "$probe.log"
fi

mkdir -p "$out/corpus" "$out/crashes" "$out/logs" "$out/afl" || die "cannot create --out directory $out"
tmpconf=$(mktemp "$out/.campaign.conf.XXXXXX")
printf 'engine=%s\ntarget=%s\nbuild_dir=%s\nsmaxcheck=%s\nkernel=%s\nfunc=%s\nformat=%s\nguide=%s\n' \
  "$engine" "$target" "$build_dir" "$smax" "$kernel" "$func" "$format" "$guide" >"$tmpconf"
mv -f "$tmpconf" "$out/campaign.conf"

dict=$FUZZ_ROOT/fuzz/dict/$target.dict
[ -f "$dict" ] || dict=

# ---- run ----
run_no=$(($(find "$out/logs" -maxdepth 1 -name 'run-*' | wc -l) + 1))
logdir=$out/logs/run-$run_no
mkdir -p "$logdir"
pids=()
start=$(date +%s)

# total executions so far: libFuzzer, the last "#N" of this run's log;
# AFL++, execs_done summed over the instances (cumulative across resumes)
execs_now() {
  if [ "$engine" = libfuzzer ]; then
    sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$logdir/fuzzer.log" 2>/dev/null | tail -n 1 | grep . || echo 0
  else
    find "$out/afl" -mindepth 2 -maxdepth 2 -name fuzzer_stats -exec cat {} + |
      awk -F: '$1 ~ /^execs_done *$/ { s += $2 } END { printf "%d\n", s }'
  fi
}
crashes_now() {
  if [ "$engine" = libfuzzer ]; then
    find "$out/crashes" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l
  else
    find "$out/afl" -path '*/crashes*/id:*' -type f | wc -l
  fi
}
execs_before=0
[ "$engine" = afl ] && execs_before=$(execs_now)

recorded=0
record_run() { # status
  [ "$recorded" = 0 ] || return 0
  recorded=1
  local now e
  now=$(date +%s)
  e=$(execs_now)
  [ "$engine" = afl ] && e=$((e - execs_before))
  [ "$e" -ge 0 ] || e=0
  printf '%s\t%s\t%s\t%s\t%s\n' "$start" "$((now - start))" "$e" "$1" "$jobs" >>"$out/runs.tsv"
}
stop_fuzzers() {
  local p i
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # libFuzzer's -fork workers outlive their parent for a moment: wait for the
  # whole process group (each fuzzer leads its own), then kill what is left
  for p in "${pids[@]}"; do
    for i in $(seq 100); do pgrep -g "$p" >/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$p" 2>/dev/null || true
  done
}
# shellcheck disable=SC2317 # called by trap
on_signal() {
  trap - INT TERM
  note "interrupted: stopping the fuzzers; rerun with --out $out to resume"
  stop_fuzzers
  [ "$started" = 1 ] && record_run interrupted
  rm -rf "$out/.seed-default"
  exit 130
}
trap on_signal INT TERM
started=1

# the fuzzers run in their own sessions (setsid) so that stopping one stops
# its children (libFuzzer's fork workers)
if [ "$engine" = libfuzzer ]; then
  lf_args=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
    -max_total_time="$secs" -timeout=10 -artifact_prefix="$out/crashes/" -print_final_stats=1)
  [ -n "$dict" ] && lf_args+=(-dict="$dict")
  corpora=("$out/corpus")
  [ -n "$seeds" ] && corpora+=("$seeds")
  resume_msg=
  [ "$resumed" = 1 ] && resume_msg=" (resumed: $(find "$out/corpus" -type f | wc -l) corpus inputs)"
  note "run $run_no: libfuzzer $target -fork=$jobs for ${secs}s into $out$resume_msg"
  (cd "$logdir" && exec setsid -w env "${envs[@]}" "$bin" "${lf_args[@]}" "${corpora[@]}" >"$logdir/fuzzer.log" 2>&1) &
  pids+=($!)
else
  export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_AUTORESUME=1
  export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SUPPRESS_WARNINGS=1
  # a first run needs seeds: --seeds, or one 64-byte zero input
  seeddir=$seeds
  if [ -z "$seeddir" ] || [ -z "$(ls -A "$seeddir")" ]; then
    seeddir=$out/.seed-default
    mkdir -p "$seeddir"
    head -c 64 /dev/zero >"$seeddir/zero"
  fi
  note "run $run_no: afl++ $target, 1 main + $((jobs - 1)) secondary for ${secs}s into $out/afl"
  for ((j = 0; j < jobs; j++)); do
    if [ "$j" = 0 ]; then name=main role=-M; else name=s$j role=-S; fi
    inp=$seeddir
    [ -f "$out/afl/$name/fuzzer_stats" ] && inp=-
    afl_args=("$role" "$name" -i "$inp" -o "$out/afl" -V "$secs" -t 2000 -m none)
    [ -n "$dict" ] && afl_args+=(-x "$dict")
    (exec setsid -w env "${envs[@]}" afl-fuzz "${afl_args[@]}" -- "$bin" >"$logdir/afl-$name.log" 2>&1) &
    pids+=($!)
  done
fi

# progress on stderr until every fuzzer has exited; a safety stop at 2x + 60 s
every=$((secs / 10))
[ "$every" -ge 5 ] || every=5
[ "$every" -le 60 ] || every=60
deadline=$((start + 2 * secs + 60))
last=$start
while :; do
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 1 ] || break
  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then
    note "the fuzzers did not stop after ${secs}s: stopping them"
    stop_fuzzers
    break
  fi
  if [ $((now - last)) -ge "$every" ]; then
    last=$now
    e=$(execs_now)
    [ "$engine" = afl ] && e=$((e - execs_before))
    el=$((now - start))
    note "$(printf '%d/%ds execs=%d exec/s=%d crashes=%d' "$el" "$secs" "$e" $((e / (el > 0 ? el : 1))) "$(crashes_now)")"
  fi
  sleep 1
done
status=0
for p in "${pids[@]}"; do
  wait "$p" || status=$?
done
trap - INT TERM
record_run finished
rm -rf "$out/.seed-default"

if [ "$engine" = libfuzzer ]; then
  # libFuzzer exits non-zero when it found crashes (kept, -ignore_crashes=1);
  # only a run that never started is a failure
  if ! grep -q '^#[0-9]' "$logdir/fuzzer.log"; then
    grep -q 'fuzzing in separate process' "$logdir/fuzzer.log" ||
      die "libfuzzer did not run (status $status): see $logdir/fuzzer.log"
    note "warning: libFuzzer spent the run loading its corpus (each failing input costs a restart): $(crashes_now) crash inputs, no fuzzing"
  fi
else
  # afl-fuzz exits 0 even with crashes; non-zero means it could not start
  if [ "$status" != 0 ] || [ ! -f "$out/afl/main/fuzzer_stats" ]; then
    grep -h -m3 'PROGRAM ABORT\|\[-\]' "$logdir"/afl-*.log >&2 || true
    die "afl-fuzz failed (status $status): see $logdir/afl-*.log"
  fi
fi
note "run $run_no: $(tail -n 1 "$out/runs.tsv" | awk -F'\t' '{ printf "%d s, %d execs (%.0f/s)", $2, $3, $3 / ($2 > 0 ? $2 : 1) }'), $(crashes_now) crash inputs in all"

# ---- merge / minimise the corpus (into a temporary directory, then rename) ----
if [ "$do_merge" = 1 ]; then
  new=$(mktemp -d "$out/.corpus-new.XXXXXX")
  if [ "$engine" = libfuzzer ]; then
    before=$(find "$out/corpus" -type f | wc -l)
    if env "${envs[@]}" "$bin" -merge=1 -timeout=10 -merge_control_file="$new.ctl" \
      "$new" "$out/corpus" >"$logdir/merge.log" 2>&1; then
      old=$out/.corpus-old.$$
      mv "$out/corpus" "$old" && mv "$new" "$out/corpus" && rm -rf "$old"
      note "corpus merged: $before -> $(find "$out/corpus" -type f | wc -l) inputs"
    else
      rm -rf "$new"
      note "corpus merge failed (see $logdir/merge.log): corpus left as it was"
    fi
    rm -f "$new.ctl"
  else
    all=$(mktemp -d "$out/.queue-all.XXXXXX")
    find "$out/afl" -path '*/queue/id:*' -type f | while IFS= read -r f; do
      cp "$f" "$all/$(sha1sum <"$f" | cut -c1-40)"
    done
    rmdir "$new" # afl-cmin wants to create it
    if AFL_ALLOW_TMP=1 AFL_NO_AFFINITY=1 env "${envs[@]}" afl-cmin -i "$all" -o "$new" -m none -t 2000 \
      -- "$bin" >"$logdir/cmin.log" 2>&1; then
      old=$out/.corpus-old.$$
      mv "$out/corpus" "$old" && mv "$new" "$out/corpus" && rm -rf "$old"
      note "queues minimised (afl-cmin): $(find "$all" -type f | wc -l) -> $(find "$out/corpus" -type f | wc -l) inputs in $out/corpus"
    else
      rm -rf "$new"
      note "afl-cmin failed (see $logdir/cmin.log): $out/corpus left as it was"
    fi
    rm -rf "$all"
  fi
fi

# ---- triage and summary ----
if [ "$do_triage" = 1 ]; then
  "$FUZZ_ROOT/scripts/fuzz-triage.sh" --out "$out" --budget "$budget" ||
    die "triage failed (the campaign itself is in $out)"
fi
exit 0

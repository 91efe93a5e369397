#!/usr/bin/env bash
# oss-fuzz-local.sh -- run .clusterfuzzlite/build.sh in an emulated OSS-Fuzz
# environment (no Docker) and check what it ships.  See --help.
set -euo pipefail
PROG=oss-fuzz-local.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<'EOF'
Usage: scripts/oss-fuzz-local.sh [--out DIR] [--work DIR] [--run S] [--keep] [--help]

Emulates the OSS-Fuzz / ClusterFuzzLite build environment of a libFuzzer +
AddressSanitizer build on this machine and runs .clusterfuzzlite/build.sh:
  CC=clang CXX=clang++
  CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only
          -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address
          -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
  LIB_FUZZING_ENGINE=-fsanitize=fuzzer   SANITIZER=address  FUZZING_ENGINE=libfuzzer
  SRC (a directory holding smaxcheck -> this tree), WORK, OUT
Then checks $OUT like OSS-Fuzz's check_build: every target is there and
runs its (unzipped) seed corpus with its dictionary; with --run S each is
also fuzzed for S seconds (a crash found then is a finding, printed, not a
build failure).

  --out DIR   $OUT (default: a new directory under ${TMPDIR:-/tmp}, kept)
  --work DIR  $WORK (default: a temporary directory, removed unless --keep)
  --run S     fuzz each target S seconds after the seed check (default 0)
  --keep      keep $WORK and the unzipped seeds
Exit status: 0 the build and the checks passed, 1 a failure, 2 bad arguments.
EOF
}
die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }
note() { echo "[$PROG] $*" >&2; }

out='' work='' run=0 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --out | --work | --run)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "option $1 needs a value"; fi
      case $1 in --out) out=$2 ;; --work) work=$2 ;; --run) run=$2 ;; esac
      shift 2 ;;
    --keep) keep=1; shift ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $run =~ ^[0-9]+$ ]] || usage_error "bad --run '$run' (whole seconds)"
command -v clang >/dev/null || die "clang not found (scripts/install-deps.sh)"
command -v zip >/dev/null || die "zip not found (apt-get install zip)"

[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/smax-oss-fuzz-out.XXXXXX")
mkdir -p "$out" || die "cannot create --out $out"
out=$(cd "$out" && pwd)
tmpwork=0
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/smax-oss-fuzz-work.XXXXXX"); tmpwork=1; fi
mkdir -p "$work" || die "cannot create --work $work"
work=$(cd "$work" && pwd)
cleanup() { [ "$keep" = 1 ] || [ "$tmpwork" = 0 ] || rm -rf "$work"; }
trap cleanup EXIT
src=$work/src
mkdir -p "$src"
ln -sfn "$root" "$src/smaxcheck"

note "OUT=$out WORK=$work: running .clusterfuzzlite/build.sh"
(
  export CC=clang CXX=clang++ SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64
  export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
  export CXXFLAGS=$CFLAGS LIB_FUZZING_ENGINE=-fsanitize=fuzzer
  export SRC=$src WORK=$work OUT=$out SMAXCHECK_JOBS=2
  cd "$src/smaxcheck"
  bash "$root/.clusterfuzzlite/build.sh"
) >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; keep=1; die "build.sh failed: see $work/build.log"; }

# ---- what OSS-Fuzz expects in $OUT ----
fails=0
for t in fuzz_kernel fuzz_vecio fuzz_thresholds; do
  [ -x "$out/$t" ] || { echo "$PROG: $out/$t missing" >&2; fails=$((fails + 1)); continue; }
  [ -f "$out/${t}_seed_corpus.zip" ] || { echo "$PROG: $out/${t}_seed_corpus.zip missing" >&2; fails=$((fails + 1)); }
  [ -f "$out/$t.dict" ] || { echo "$PROG: $out/$t.dict missing" >&2; fails=$((fails + 1)); }
  syms=$(nm "$out/$t" 2>/dev/null || true)
  grep -q ' T LLVMFuzzerTestOneInput$' <<<"$syms" || { echo "$PROG: $out/$t has no LLVMFuzzerTestOneInput" >&2; fails=$((fails + 1)); }
  grep -q ' T __asan_init$' <<<"$syms" || { echo "$PROG: $out/$t is not built with ASan (\$CFLAGS ignored?)" >&2; fails=$((fails + 1)); }
  seeds=$work/seeds-$t
  rm -rf "$seeds"
  mkdir -p "$seeds"
  [ -f "$out/${t}_seed_corpus.zip" ] && (cd "$seeds" && unzip -q "$out/${t}_seed_corpus.zip")
  # the runner's view: cwd elsewhere, only $OUT; the seeds must run clean
  if (cd "$work" && "$out/$t" -runs=0 -dict="$out/$t.dict" "$seeds" >"$work/$t.seeds.log" 2>&1); then
    note "$t: $(find "$seeds" -type f | wc -l) seeds run clean ($(stat -c %s "$out/$t") bytes)"
  else
    echo "$PROG: $t fails on its seed corpus: see $work/$t.seeds.log" >&2
    grep -m3 'SMAXCHECK-FINDING\|ERROR' "$work/$t.seeds.log" >&2 || true
    keep=1 fails=$((fails + 1))
  fi
  if [ "$run" -gt 0 ]; then
    mkdir -p "$work/corpus-$t" "$work/artifacts-$t"
    (cd "$work" && "$out/$t" -max_total_time="$run" -dict="$out/$t.dict" -artifact_prefix="$work/artifacts-$t/" \
      "$work/corpus-$t" "$seeds" >"$work/$t.run.log" 2>&1) || true
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$work/$t.run.log" | tail -n 1)
    finding=$(grep -m1 'SMAXCHECK-FINDING\|ERROR: ' "$work/$t.run.log" || true)
    note "$t: fuzzed ${run}s, ${execs:-0} execs${finding:+; finding: $finding}"
  fi
done
[ "$fails" = 0 ] || die "$fails check(s) failed"
note "ok: $out holds $(cd "$out" && echo *)"

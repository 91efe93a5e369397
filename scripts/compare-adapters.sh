#!/usr/bin/env bash
# Measure every available third-party adapter (adapters/) with `smaxcheck
# compare`, on the same families, sizes and rows as the main job's eval, one
# results file per library.  An adapter whose library is missing is skipped
# with a note; one that fails is reported and the others still run.
# Usage: scripts/compare-adapters.sh BUILD_DIR OUT_DIR [compare options...]
#   BUILD_DIR  a build tree (smaxcheck, adapters/libsmax_*.so)
#   OUT_DIR    receives thirdparty-LIB.json (stale ones are removed first)
#   options    passed to every compare (default: --n 16,1000 --rows 32)
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
if [ $# -lt 2 ]; then usage >&2; exit 2; fi
build=$1 out=$2
shift 2
opts=("$@")
[ ${#opts[@]} -eq 0 ] && opts=(--n 16,1000 --rows 32)
smax=$build/smaxcheck
[ -x "$smax" ] || { echo "compare-adapters: $smax: not built" >&2; exit 2; }
mkdir -p "$out" || { echo "compare-adapters: cannot create $out" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
rm -f "$out"/thirdparty-*.json

PY=/usr/bin/python3 # Debian's torch and scipy are visible to this one only
failed=0
# run LIB SOURCE-ARGS...: one compare, its JSON in OUT_DIR/thirdparty-LIB.json
run() {
  local lib=$1 t0=$SECONDS
  shift
  echo "compare-adapters: $lib ..." >&2
  if "$smax" compare "$@" "${opts[@]}" --quiet --json "$out/thirdparty-$lib.json"; then
    echo "compare-adapters: $lib done in $((SECONDS - t0)) s -> $out/thirdparty-$lib.json" >&2
  else
    echo "compare-adapters: $lib FAILED (exit $?); the other libraries still run" >&2
    failed=1
  fi
}

for lib in xnnpack onednn; do
  so=$build/adapters/libsmax_$lib.so
  if [ -f "$so" ]; then run "$lib" --plugin "$so"
  else echo "compare-adapters: $lib skipped: $so not built (scripts/install-deps.sh --optional installs the library)" >&2
  fi
done
for lib in scipy torch; do
  mod=$lib
  if [ -x "$PY" ] && "$PY" -c "import $mod" 2>/dev/null; then
    run "$lib" --cmd "$PY $here/adapters/${lib}_softmax.py"
  else echo "compare-adapters: $lib skipped: $PY cannot import $mod (python3-$lib)" >&2
  fi
done
exit $failed

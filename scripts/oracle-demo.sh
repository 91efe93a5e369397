#!/usr/bin/env bash
# oracle-demo.sh [SMAXCHECK] -- `make oracle-demo`: correctly rounded
# reference values for worked examples in every format, and the oracle's
# throughput; written to reports/out/oracle-demo.txt.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
S=${1:-build-release/smaxcheck}
out=reports/out
mkdir -p "$out"
tmp=$(mktemp "$out/.demo.XXXXXX"); trap 'rm -f "$tmp"' EXIT
{
  echo "# smaxcheck oracle demo, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '10 0 -5\n1000 1001 1002\n2 1 0.1\n-inf 0.5 1\n' >"$out/.demo-in"
  for fmt in binary64 binary32 binary16 bfloat16; do
    for fn in softmax log_softmax logsumexp; do
      echo "## $fn $fmt  (inputs: [10 0 -5], [1000 1001 1002], [2 1 0.1], [-inf 0.5 1])"
      # inputs not representable in the narrow formats are rounded first
      awk '{for(i=1;i<=NF;i++) printf "%s%s", $i, (i<NF?" ":"\n")}' "$out/.demo-in" |
        while read -r line; do
          printf '%s\n' "$line" | "$S" oracle --func $fn --format $fmt 2>/dev/null || echo "(input not representable in $fmt)"
        done
    done
  done
  echo "## oracle throughput (one core), beside a naive 1024-bit MPFR evaluation"
  "$S" bench-oracle --quick --seconds 0.2
} >"$tmp" 2>&1
rm -f "$out/.demo-in"
mv "$tmp" "$out/oracle-demo.txt"; trap - EXIT
cat "$out/oracle-demo.txt"
echo "wrote $out/oracle-demo.txt" >&2

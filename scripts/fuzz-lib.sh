# fuzz-lib.sh -- shared by scripts/fuzz-campaign.sh, fuzz-triage.sh and
# fuzz-bench.sh (sourced, not run).  Campaign directory layout (DIR = --out):
#   DIR/campaign.conf        key=value: engine, target, build dir, restrictions
#   DIR/corpus/              the corpus (libFuzzer: the live one; AFL++: the
#                            afl-cmin export of the queues)
#   DIR/crashes/             libFuzzer artifacts (crash-*, timeout-*, oom-*, leak-*)
#   DIR/afl/<instance>/      AFL++ sync directory (main, s1, s2, ...)
#   DIR/logs/run-N/          engine output of each run
#   DIR/runs.tsv             one line per run: start epoch, seconds, execs, status
#   DIR/triage/              signature cache (sha1 -> signature)
#   DIR/findings/<slug>/     one per signature: input, signature, replay.cmd,
#                            replay.txt, count
#   DIR/summary.json         reports/FUZZ_SCHEMA.md, one campaign
# shellcheck shell=bash

FUZZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # used by the scripts sourcing this file
FUZZ_TARGETS="fuzz_kernel fuzz_vecio fuzz_thresholds"

die() { echo "${PROG}: $*" >&2; exit 1; }
usage_error() { echo "${PROG}: $* (see ${PROG} --help)" >&2; exit 2; }
note() { echo "[${PROG}] $*" >&2; }

# json_str S: S as a JSON string literal (ASCII; control characters dropped)
json_str() {
  local s
  s=$(printf '%s' "$1" | LC_ALL=C tr -cd '\11\40-\176')
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# default build directory of an engine: build-fuzz/ or build-afl/ in the tree
default_build_dir() {
  case $1 in
    libfuzzer) echo "$FUZZ_ROOT/build-fuzz" ;;
    afl) echo "$FUZZ_ROOT/build-afl" ;;
  esac
}

# conf_get DIR KEY: a value of DIR/campaign.conf (empty if absent)
conf_get() {
  local line
  [ -f "$1/campaign.conf" ] || return 0
  while IFS= read -r line; do
    case $line in "$2="*) printf '%s\n' "${line#*=}"; return 0 ;; esac
  done <"$1/campaign.conf"
}

# target_env DIR: the SMAXCHECK_FUZZ_* assignments of the campaign, one per line
target_env() {
  local k v
  for k in KERNEL FUNC FORMAT GUIDE; do
    v=$(conf_get "$1" "$(echo "$k" | tr '[:upper:]' '[:lower:]')")
    [ -n "$v" ] && printf 'SMAXCHECK_FUZZ_%s=%s\n' "$k" "$v"
  done
  return 0
}

# signature_of STDERR_FILE: the finding's signature from a target's stderr:
#   "CLASS KERNEL FUNC FORMAT" for a SMAXCHECK-FINDING line (the contract of
#   fuzz/), "SANITIZER:TYPE frame frame frame" for a sanitizer report,
#   "libfuzzer:timeout" / "libfuzzer:oom" / "signal:..." otherwise; empty if
#   the output holds no failure.
signature_of() {
  awk '
    function clean(s) { gsub(/[^A-Za-z0-9_.:+-]/, "", s); return s }
    /SMAXCHECK-FINDING / && !found {
      line = $0; sub(/.*SMAXCHECK-FINDING /, "", line); sub(/:.*/, "", line)
      n = split(line, kv, " "); cls = kern = fn = fmt = "?"
      for (i = 1; i <= n; i++) {
        split(kv[i], p, "=")
        if (p[1] == "class") cls = p[2]; else if (p[1] == "kernel") kern = p[2]
        else if (p[1] == "func") fn = p[2]; else if (p[1] == "format") fmt = p[2]
      }
      found = clean(cls) " " clean(kern) " " clean(fn) " " clean(fmt); exit
    }
    /ERROR: (Address|Memory|Thread|Leak)Sanitizer: / && !san {
      s = $0; sub(/.*ERROR: /, "", s); split(s, w, " ")
      kind = w[2]; if (kind == "SEGV" || kind == "ABRT" || kind == "BUS" || kind == "FPE") kind = "signal-" kind
      tool = tolower(w[1]); sub(/sanitizer:$/, "", tool)
      tool = tool == "address" ? "asan" : tool == "leak" ? "lsan" : tool == "memory" ? "msan" : tool == "thread" ? "tsan" : tool
      san = tool ":" clean(kind)
    }
    /runtime error: / && !san {
      s = $0; sub(/.*runtime error: /, "", s); sub(/[:(].*/, "", s)
      gsub(/ /, "-", s); san = "ubsan:" clean(s)
    }
    /ERROR: libFuzzer: timeout/ && !san { san = "libfuzzer:timeout" }
    /ERROR: libFuzzer: out-of-memory/ && !san { san = "libfuzzer:oom" }
    /ERROR: libFuzzer: deadly signal/ && !san { san = "signal:deadly" }
    # the top frames of the first stack after the report, runtime frames skipped
    /^ *#[0-9]+ 0x[0-9a-f]+ / && san && !stackdone { instack = 1
      f = $0; if (f !~ / in /) next
      sub(/.* in /, "", f); sub(/ .*/, "", f)
      if (nf >= 3 || f ~ /^(__|_start$|abort$|raise$|gsignal$|main$|fuzzer::|std::)/) next
      frames = frames " " clean(f); nf++; next
    }
    instack && !/^ *#[0-9]+ / { stackdone = 1 }
    END { if (found) print found; else if (san) print san frames }
  ' "$1"
}

# slug SIG: a directory name for a signature
slug() {
  local s
  s=$(printf '%s' "$1" | LC_ALL=C tr '[:upper:]' '[:lower:]' | LC_ALL=C tr -c 'a-z0-9._+-' '-' | sed 's/--*/-/g; s/^-//; s/-$//')
  if [ ${#s} -gt 80 ]; then
    s="${s:0:70}-$(printf '%s' "$1" | sha1sum | cut -c1-8)"
  fi
  printf '%s' "${s:-finding}"
}

# seconds_of VALUE UNIT: a duration in whole seconds (>= 1), or empty if bad
seconds_of() {
  awk -v v="$1" -v u="$2" 'BEGIN {
    if (v !~ /^([0-9]+\.?[0-9]*|\.[0-9]+)$/) exit
    s = v * u; if (s < 1) exit
    printf "%d\n", s + 0.5 }'
}

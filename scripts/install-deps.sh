#!/usr/bin/env bash
# Install, with apt-get, every Debian package smaxcheck builds or tests with.
# Idempotent: when everything is present it prints nothing and changes nothing.
# Usage: scripts/install-deps.sh [--optional]
#   --optional  also install the third-party libraries compared by `smaxcheck compare`
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  ''|--optional) ;;
  *) echo "install-deps: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

required=(
  cmake make gcc g++ clang          # build (clang: libFuzzer and AFL++ builds)
  libmpfr-dev libgmp-dev            # the oracle
  libomp-dev libclang-rt-14-dev     # OpenMP with clang; sanitizer/fuzzer runtimes
  python3 python3-mpmath            # independent cross-check of the oracle (tests)
  chromium                          # renders the HTML report headless (CTest report_render)
  afl++                             # AFL++ fuzz builds and smoke runs (fuzz/)
)
optional=()
# third-party softmax implementations measured by `smaxcheck compare` (impls/adapters)
[ "${1:-}" = "--optional" ] && optional+=(libxnnpack-dev libpthreadpool-dev libdnnl-dev python3-torch python3-scipy)

missing=()
for p in "${required[@]}" "${optional[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has stale or empty package lists: update once before installing.
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

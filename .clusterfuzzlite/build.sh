#!/bin/bash -eu
set -euo pipefail
# ClusterFuzzLite / OSS-Fuzz build of smaxcheck's fuzz targets (fuzz/).
# The environment is OSS-Fuzz's: $CC, $CFLAGS (sanitizers and
# -fsanitize=fuzzer-no-link), $LIB_FUZZING_ENGINE (the engine to link),
# $SRC (sources: $SRC/smaxcheck), $WORK (scratch), $OUT (what is shipped).
# Writes to $OUT, per target T: T, T_seed_corpus.zip (fuzz/seeds/T/),
# T.dict (fuzz/dict/T.dict), and smaxcheck-thresholds.txt, the accepted
# errors fuzz_kernel judges against (compiled in as $OUT/...; the runner
# mounts $OUT at the same path).  scripts/oss-fuzz-local.sh runs this script
# outside Docker.
src=${SMAXCHECK_SRC:-$SRC/smaxcheck}
build=$WORK/smaxcheck-build
targets=(fuzz_kernel fuzz_vecio fuzz_thresholds)

# CMake reads $CC and $CFLAGS itself; SMAXCHECK_FUZZ=external adds no
# sanitizer or engine flag of its own and links $LIB_FUZZING_ENGINE.
# CMAKE_BUILD_TYPE=OSSFuzz: no -O/-g beyond $CFLAGS.
cmake -S "$src" -B "$build" -DSMAXCHECK_FUZZ=external -DCMAKE_BUILD_TYPE=OSSFuzz \
  -DSMAXCHECK_FUZZ_THRESHOLDS="$OUT/smaxcheck-thresholds.txt"
cmake --build "$build" -j "${SMAXCHECK_JOBS:-$(nproc)}" --target "${targets[@]}"

cp "$src/harness/thresholds.txt" "$OUT/smaxcheck-thresholds.txt"
for t in "${targets[@]}"; do
  cp "$build/fuzz/$t" "$OUT/$t"
  rm -f "$OUT/${t}_seed_corpus.zip"
  if [ -d "$src/fuzz/seeds/$t" ]; then
    (cd "$src/fuzz/seeds/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
  fi
  if [ -f "$src/fuzz/dict/$t.dict" ]; then
    cp "$src/fuzz/dict/$t.dict" "$OUT/$t.dict"
  fi
done

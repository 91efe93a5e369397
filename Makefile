# Thin wrapper around CMake.  `make check` (README's test command): install
# dependencies, configure build/ with ASan+UBSan and the fuzz builds
# build-fuzz/ (libFuzzer) and build-afl/ (AFL++), build, run CTest.
# `make oracle-demo` / `make bench`: optimised build in build-release/.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all check release bench report oracle-demo clean deps deps-optional
all: release

deps:
	@scripts/install-deps.sh

build/CMakeCache.txt: | deps
	cmake -S . -B build -DSMAXCHECK_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

# Fuzz builds (fuzz/README.md): libFuzzer in build-fuzz/, AFL++ in build-afl/;
# CTest's fuzz_smoke_* tests run them briefly (tests/fuzz_smoke.sh).
FUZZ_TARGETS = fuzz_kernel fuzz_vecio fuzz_thresholds
build-fuzz/CMakeCache.txt: | deps
	CC=clang cmake -S . -B build-fuzz -DSMAXCHECK_FUZZ=libfuzzer -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
build-afl/CMakeCache.txt: | deps
	CC=afl-clang-fast cmake -S . -B build-afl -DSMAXCHECK_FUZZ=afl -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

check: deps build/CMakeCache.txt build-fuzz/CMakeCache.txt build-afl/CMakeCache.txt
	cmake --build build -j $(JOBS)
	cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS) smaxplugin_sloppy
	AFL_QUIET=1 cmake --build build-afl -j $(JOBS) --target $(FUZZ_TARGETS)
	cd build && ctest --output-on-failure -j $(JOBS)

build-release/CMakeCache.txt: | deps
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null

release: deps build-release/CMakeCache.txt
	cmake --build build-release -j $(JOBS)

bench: release
	build-release/smaxcheck bench-oracle

# The third-party libraries `smaxcheck compare` measures; the main job goes on
# without them if they cannot be installed.
deps-optional:
	@scripts/install-deps.sh --optional || echo "make: the third-party libraries could not be installed; the report will show the built-in kernels only" >&2

# The main job: every built-in kernel on every input family, the available
# third-party adapters on the same inputs, then the HTML report.
report: deps-optional release
	@mkdir -p reports/out
	build-release/smaxcheck eval --n 16,1000 --rows 32 --threads $(JOBS) --quiet --json reports/out/results.json
	-scripts/compare-adapters.sh build-release reports/out --n 16,1000 --rows 32
	build-release/smaxcheck report reports/out/results.json $$(ls reports/out/thirdparty-*.json 2>/dev/null) -o reports/out

oracle-demo: release
	@scripts/oracle-demo.sh build-release/smaxcheck

clean:
	rm -rf build build-release build-fuzz build-afl

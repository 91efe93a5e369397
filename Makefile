# Thin wrapper around CMake.  `make check` (README's test command): install
# dependencies, configure build/ with ASan+UBSan, build, run CTest.
# `make oracle-demo` / `make bench`: optimised build in build-release/.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all check release bench report oracle-demo clean deps
all: release

deps:
	@scripts/install-deps.sh

build/CMakeCache.txt: | deps
	cmake -S . -B build -DSMAXCHECK_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

check: deps build/CMakeCache.txt
	cmake --build build -j $(JOBS)
	cd build && ctest --output-on-failure -j $(JOBS)

build-release/CMakeCache.txt: | deps
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null

release: deps build-release/CMakeCache.txt
	cmake --build build-release -j $(JOBS)

bench: release
	build-release/smaxcheck bench-oracle

# The main job: every built-in kernel on every input family, then the HTML report.
report: release
	@mkdir -p reports/out
	build-release/smaxcheck eval --n 16,1000 --rows 32 --threads $(JOBS) --quiet --json reports/out/results.json
	build-release/smaxcheck report reports/out/results.json -o reports/out

oracle-demo: release
	@scripts/oracle-demo.sh build-release/smaxcheck

clean:
	rm -rf build build-release

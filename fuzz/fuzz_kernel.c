/* fuzz_kernel.c -- every built-in kernel (and, by name, fuzz/planted.c and
 * plugin kernels), structure-aware: harness/fuzzcase.c decodes the bytes
 * into a batch, runs the kernel single-threaded, asks the oracle for the
 * correctly rounded outputs and checks them against harness/thresholds.txt.
 * A failed check prints one SMAXCHECK-FINDING line and aborts.
 *
 * One source, two engines: libFuzzer (clang -fsanitize=fuzzer) and AFL++
 * (afl-clang-fast -fsanitize=fuzzer links AFL++'s libAFLDriver: persistent
 * mode with shared-memory test cases).  SMAXCHECK_FUZZ_AFL selects the AFL++
 * variant of the error-guided feedback and leaves out the custom mutator,
 * which only libFuzzer calls.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "fuzzcase.h"
#include "oracle.h"

#ifndef SMAXCHECK_THRESHOLDS
#error "SMAXCHECK_THRESHOLDS (the default thresholds file) must be defined"
#endif

static fuzz_ctx ctx;

/* Error-guided feedback: one feature per (candidate kernel, error bucket),
 * so an input that reaches a new binade of ulp error for a kernel counts as
 * new coverage and is kept, even when it takes no new branch. */
#define GUIDE_N (FUZZ_KMAX * FUZZ_NBUCKETS)
#ifdef SMAXCHECK_FUZZ_AFL
/* AFL++ 4.04c ignores libFuzzer's extra-counters section.  Instead the
 * target registers its own block of coverage guards with the runtime, which
 * gives them map slots after the compiler's edges (and grows the map), then
 * marks a slot per feature with __afl_coverage_interesting(val, slot). */
void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop);
void __afl_coverage_interesting(uint8_t val, uint32_t id);
static uint32_t guide_guard[GUIDE_N];
/* runs before AFL++'s forkserver handshake (constructor priority 65535), so
 * the map size it reports already counts these slots */
__attribute__((constructor(200))) static void guide_register(void) {
  __sanitizer_cov_trace_pc_guard_init(guide_guard, guide_guard + GUIDE_N);
}
static void guide_mark(size_t i) {
  if (guide_guard[i]) __afl_coverage_interesting(1, guide_guard[i]);
}
#else
__attribute__((section("__libfuzzer_extra_counters"), used)) static uint8_t guide_ctr[GUIDE_N];
static void guide_mark(size_t i) { guide_ctr[i] = 1; }
#endif

/* Read the env vars and the thresholds file once; a bad setting is fatal
 * (exit 2 with the reason), never a finding. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  char err[600];
  if (fuzz_ctx_init(&ctx, SMAXCHECK_THRESHOLDS, err, sizeof err)) {
    fprintf(stderr, "fuzz_kernel: %s\n", err);
    exit(2);
  }
  return 0;
}

/* One input: decode, judge, feed the error bucket back; a finding aborts
 * after its one line (the triage contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_case fc;
  fuzz_verdict v;
  if (fuzz_decode(&ctx, data, size, &fc)) return 0;
  int bad = fuzz_judge(&ctx, &fc, &v);
  if (ctx.guide && !v.rejected && fc.kidx < FUZZ_KMAX) guide_mark(fc.kidx * FUZZ_NBUCKETS + v.bucket);
  if (bad > 0) {
    fprintf(stderr, "%s\n", v.line);
    fflush(stderr);
    abort();
  }
  fuzz_verdict_free(&v);
  fuzz_case_free(&fc);
  return 0;
}

#ifndef SMAXCHECK_FUZZ_AFL
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
/* Numerics-aware mutation (fuzz_mutate) three times in four, libFuzzer's
 * own byte-level mutation otherwise or when there is nothing to mutate. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  uint64_t rng = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1;
  if (seed % 4) {
    size_t r = fuzz_mutate(&ctx, data, size, max_size, &rng);
    if (r) return r;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
#endif

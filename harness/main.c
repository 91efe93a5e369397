/* main.c -- smaxcheck: accuracy of softmax-family kernels, with proof. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const struct {
  const char *name, *help;
  int (*run)(int, char **);
} cmds[] = {
    {"oracle", "correctly rounded reference values for vectors read from a file", cmd_oracle},
    {"bench-oracle", "oracle throughput vs a naive 1024-bit MPFR evaluation", cmd_bench_oracle},
    {"eval", "measure kernels on input families against the oracle", cmd_eval},
    {"report", "write the HTML accuracy report from results JSON", cmd_report},
    {"gate", "the CI accuracy gate against harness/thresholds.txt", cmd_gate},
    {"merge", "join the JSON parts of a sharded eval", cmd_merge},
    {"list", "the registered kernels, functions and formats", cmd_list},
    {"bench-kernels", "softmax throughput of every kernel family, 1 and 2 threads", cmd_bench_kernels},
    {"compare", "third-party kernels (plugins, commands) measured in isolated child processes", cmd_compare},
    {"serve", "answer the external-kernel protocol for a plugin (compare's child)", cmd_serve},
    {"replay", "decode and judge a fuzz_kernel input (a fuzz finding)", cmd_replay},
    {"search", "worst-case search: the inputs a kernel is least accurate on", cmd_search},
};

static void usage(FILE *fp) {
  fprintf(fp, "usage: smaxcheck COMMAND [OPTIONS]   (smaxcheck COMMAND --help)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    fprintf(fp, "  %-14s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv) {
  if (argc < 2) { usage(stderr); return 2; }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp(argv[1], cmds[i].name)) return cmds[i].run(argc - 1, argv + 1);
  fprintf(stderr, "smaxcheck: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}

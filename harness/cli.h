/* cli.h -- the smaxcheck sub-commands. */
#ifndef SMAXCHECK_CLI_H
#define SMAXCHECK_CLI_H
int cmd_oracle(int argc, char **argv);
int cmd_bench_oracle(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_bench_kernels(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_search(int argc, char **argv);
#include <stddef.h>
/* Prints "CMD: " and fmt with arg (one line) to stderr; returns 2, the
 * exit status of bad usage. */
int cli_die(const char *cmd, const char *fmt, const char *arg);
/* Parses a comma-separated list of decimal sizes in [lo, hi] into
 * ns[0..max); returns the count, or -1 (bad number, out of range, more
 * than max, out of memory). */
int cli_sizes(const char *s, size_t *ns, int max, size_t lo, size_t hi);
#endif

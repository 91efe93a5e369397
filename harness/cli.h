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
#endif

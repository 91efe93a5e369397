/* placeholder replaced below */
#include "cli.h"
int cmd_bench_oracle(int argc, char **argv) { (void)argc; (void)argv; return 2; }

/* cmd_report.c -- `smaxcheck report` (being written). */
#include <stdio.h>
#include "cli.h"
int cmd_report(int argc, char **argv) {
  (void)argc, (void)argv;
  fprintf(stderr, "smaxcheck report: not available yet\n");
  return 2;
}

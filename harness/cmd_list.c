/* cmd_list.c -- `smaxcheck list`: the registered kernels, the functions and
 * the formats (kernel storage and oracle targets). */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "kernel.h"
#include "families.h"
#include "oracle.h"

static const char usage[] =
    "usage: smaxcheck list [kernels|functions|formats|families]\n"
    "Lists the built-in kernels (name, function, format, flags, claim,\n"
    "special-value convention), the functions and the formats.\n";

static void kernels(void) {
  size_t n;
  const smax_kernel *k = smax_registry(&n);
  printf("%-16s %-16s %-9s %-6s %-34s %s\n", "kernel", "function", "format", "flags",
         "claim (ulp: c + n*a + spread*b; abs n*u)", "convention");
  for (size_t i = 0; i < n; i++) {
    char fl[8] = "", cl[64];
    if (k[i].flags & SMAX_DETERMINISTIC) strcat(fl, "D");
    if (k[i].flags & SMAX_THREADED) strcat(fl, "T");
    if (k[i].flags & SMAX_BROKEN) strcat(fl, "B");
    if (k[i].flags & SMAX_KNOWN_DEFECT) strcat(fl, "K");
    snprintf(cl, sizeof cl, "%g + n*%g + s*%g; %g", k[i].claim.ulp_const, k[i].claim.ulp_per_n,
             k[i].claim.ulp_per_spread, k[i].claim.abs_u_per_n);
    printf("%-16s %-16s %-9s %-6s %-34s %s\n", k[i].name, smax_func_name(k[i].func),
           smax_format_name(k[i].fmt), fl, cl, k[i].convention ? k[i].convention : "");
  }
  printf("(%zu kernels; flags: D deterministic across thread counts, T threaded, B deliberately broken, K a known defect kept as a yardstick)\n", n);
}

int cmd_list(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "all";
  if (!strcmp(what, "--help") || !strcmp(what, "-h")) { fputs(usage, stdout); return 0; }
  int all = !strcmp(what, "all");
  if (all || !strcmp(what, "kernels")) kernels();
  if (all || !strcmp(what, "functions")) {
    printf("%sfunctions (oracle):", all ? "\n" : "");
    for (int f = 0; f < ORACLE_NFUNCS; f++) printf(" %s", oracle_func_name(f));
    printf("\nfunctions (kernels):");
    for (int f = 0; f < SMAX_NFUNCS; f++) printf(" %s", smax_func_name(f));
    printf("\n");
  }
  if (all || !strcmp(what, "formats")) {
    printf("%sformats (oracle): binary64 binary32 binary16 bfloat16 uq0.8 q0.15 q4.11\n", all ? "\n" : "");
    printf("formats (kernels):");
    for (int f = 0; f < SMAX_NFORMATS; f++) printf(" %s", smax_format_name(f));
    printf("\n");
  }
  if (all || !strcmp(what, "families")) {
    size_t nf;
    const family *f = families(&nf);
    printf("%sfamilies:\n", all ? "\n" : "");
    for (size_t i = 0; i < nf; i++) printf("  %-12s %s\n", f[i].name, f[i].help);
  }
  if (!all && strcmp(what, "families") && strcmp(what, "kernels") && strcmp(what, "functions") && strcmp(what, "formats")) {
    fprintf(stderr, "smaxcheck list: unknown list '%s'\n%s", what, usage);
    return 2;
  }
  return 0;
}

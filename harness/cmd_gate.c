/* cmd_gate.c -- `smaxcheck gate`: the CI accuracy gate. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "gate.h"

#ifndef SMAXCHECK_THRESHOLDS
#define SMAXCHECK_THRESHOLDS "harness/thresholds.txt"
#endif

static const char usage[] =
    "usage: smaxcheck gate [--thresholds FILE] [--propose] [--kernel K]\n"
    "                      [--threads T] [--shard K/N] [--corpus DIR] [--corpus-only] [--quiet]\n"
    "Runs the fixed, seeded gate suite (every family, n in {1,2,7,16,300},\n"
    "tau in {1,3}, 12 rows, seed 1) over every registered kernel and compares\n"
    "the measured maxima (ulp error, bound ratio, sum drift) and special-value\n"
    "verdicts with the thresholds file (default " SMAXCHECK_THRESHOLDS ").\n"
    "Exit 1 and one line per failure (kernel, function, format, metric,\n"
    "measured vs allowed, the command reproducing the worst case) on any\n"
    "regression; exit 2 on bad usage or a malformed thresholds file.\n"
    "--propose prints a thresholds file the current kernels pass (review it,\n"
    "then commit it yourself: the gate never rewrites it).\n"
    "It then replays the worst cases `smaxcheck search` saved: every *.txt file\n"
    "of the corpus directory (default harness/corpus/search next to the default\n"
    "thresholds file; --corpus DIR instead) whose header names a selected kernel\n"
    "is measured as `smaxcheck eval --input` does and held to that kernel's\n"
    "entry (failures say \"(corpus)\" and name the file and line).\n"
    "--corpus-only skips the seeded suite.\n";

int cmd_gate(int argc, char **argv) {
  static const struct option opts[] = {{"thresholds", 1, 0, 't'}, {"propose", 0, 0, 'p'},
                                       {"kernel", 1, 0, 'k'},     {"threads", 1, 0, 'T'},
                                       {"shard", 1, 0, 'S'},      {"quiet", 0, 0, 'q'},
                                       {"help", 0, 0, 'h'},       {"corpus", 1, 0, 'c'},
                                       {"corpus-only", 0, 0, 'C'}, {0, 0, 0, 0}};
  const char *path = SMAXCHECK_THRESHOLDS, *kname = NULL;
  int propose = 0, quiet = 0, c, sk = 1, sn = 1, corpus_only = 0;
  char defcorpus[4096]; /* harness/corpus/search beside the default thresholds */
  snprintf(defcorpus, sizeof defcorpus, "%s", SMAXCHECK_THRESHOLDS);
  char *slash = strrchr(defcorpus, '/');
  snprintf(slash ? slash + 1 : defcorpus, sizeof defcorpus - (size_t)(slash ? slash + 1 - defcorpus : 0), "corpus/search");
  const char *corpus = NULL;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = ncpu > 0 ? (int)ncpu : 1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 't': path = optarg; break;
    case 'p': propose = 1; break;
    case 'k': kname = optarg; break;
    case 'T': threads = atoi(optarg); if (threads < 1) { fprintf(stderr, "smaxcheck gate: --threads must be >= 1\n"); return 2; } break;
    case 'S': if (sscanf(optarg, "%d/%d", &sk, &sn) != 2 || sn < 1 || sk < 1 || sk > sn) {
                fprintf(stderr, "smaxcheck gate: --shard '%s': need K/N with 1 <= K <= N\n", optarg);
                return 2;
              }
              break;
    case 'q': quiet = 1; break;
    case 'c': corpus = optarg; break;
    case 'C': corpus_only = 1; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (propose && corpus_only) {
    fprintf(stderr, "smaxcheck gate: --propose needs the seeded suite (drop --corpus-only)\n");
    return 2;
  }
  threshold *t = NULL;
  long nt = 0;
  char err[512];
  if (!propose && (nt = thresholds_load(path, &t, err, sizeof err)) < 0) {
    fprintf(stderr, "smaxcheck gate: %s\n", err);
    return 2;
  }
  size_t nk, ns = 0;
  const smax_kernel *all = smax_registry(&nk);
  smax_kernel *sel = malloc((nk + 1) * sizeof *sel);
  for (size_t i = 0, j = 0; i < nk; i++) {
    if (kname && strcmp(all[i].name, kname)) continue;
    if ((int)(j++ % (size_t)sn) == sk - 1) sel[ns++] = all[i];
  }
  if (!ns) {
    fprintf(stderr, "smaxcheck gate: no kernel selected%s%s\n", kname ? " named " : "", kname ? kname : "");
    free(sel), free(t);
    return 2;
  }
  gate_entry *e = calloc(ns, sizeof *e), *ce = NULL;
  if (!corpus_only) gate_measure(sel, ns, e, threads, !quiet);
  /* the saved worst cases; a missing default directory is no corpus yet */
  const char *cdir = corpus ? corpus : defcorpus;
  long nce = 0;
  if (corpus || access(defcorpus, F_OK) == 0) {
    nce = gate_corpus(cdir, sel, ns, &ce, threads, !quiet, err, sizeof err);
    if (nce < 0) {
      fprintf(stderr, "smaxcheck gate: corpus: %s\n", err);
      free(e), free(sel), free(t);
      oracle_cleanup();
      return 2;
    }
  }
  size_t crows = 0;
  for (long i = 0; i < nce; i++) crows += ce[i].corpus_rows;
  int rc = 0;
  if (propose) { /* the proposal covers the corpus too */
    for (long i = 0; i < nce; i++)
      for (size_t j = 0; j < ns; j++)
        if (e[j].k == ce[i].k) gate_fold(&e[j], &ce[i]);
    gate_propose(stdout, e, ns);
  } else {
    size_t fails = corpus_only ? 0 : gate_check(stdout, e, ns, t, (size_t)nt);
    fails += gate_check(stdout, ce, (size_t)nce, t, (size_t)nt);
    if (nce || corpus) printf("gate: replayed %ld corpus file%s (%zu rows) from %s\n", nce, nce == 1 ? "" : "s", crows, cdir);
    printf("gate: %zu kernels checked against %s: %zu failure%s\n", ns, path, fails, fails == 1 ? "" : "s");
    rc = fails ? 1 : 0;
  }
  free(e), free(ce), free(sel), free(t);
  oracle_cleanup();
  return rc;
}

/* cmd_search.c -- `smaxcheck search`: error-maximising worst-case search
 * (harness/search.h) for the kernels matching K/F/FMT, the top rows merged
 * into the corpus directory the gate replays. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "kio.h"
#include "oracle.h"
#include "search.h"

#ifndef SMAXCHECK_THRESHOLDS
#define SMAXCHECK_THRESHOLDS "harness/thresholds.txt"
#endif

static const char usage[] =
    "usage: smaxcheck search --kernel K [--func F] [--format FMT] [--n N,M,..]\n"
    "                        [--seconds S | --evals E] [--seed S] [--top T]\n"
    "                        [--out DIR] [--threads J] [--quiet]\n"
    "Searches for the inputs on which kernel K (each of its functions and\n"
    "formats matching F / FMT) is least accurate: rows of the input families\n"
    "and random bit patterns, then, for n <= 3, a Zimmermann-style subdivision\n"
    "of the input space (bisection over bit patterns keeping the top-scoring\n"
    "boxes) and, for every n, hill climbing over bit-pattern moves.  A row's\n"
    "score is the ulp error of its worst output against the oracle's correctly\n"
    "rounded value (a NaN or inf where the value is finite ranks highest), at\n"
    "temperature 1 and, for fixed point, int8 inputs at scale 1/16 -- as\n"
    "`smaxcheck eval --input` measures it.\n"
    "  --n N,M,..    row lengths (default 2,16,300, the gate suite's range); the\n"
    "                budget is split evenly\n"
    "  --seconds S   wall-clock budget per kernel (default 10)\n"
    "  --evals E     budget in scored rows per kernel instead (reproducible with\n"
    "                --threads 1)\n"
    "  --seed S      (default 1)    --top T  rows kept (default 8)\n"
    "  --out DIR     corpus directory (default harness/corpus/search); the top\n"
    "                rows are merged into DIR/KERNEL-FUNC-FORMAT.txt (the file's\n"
    "                rows re-measured, duplicates dropped, the top T kept,\n"
    "                written atomically); `smaxcheck gate` replays that directory\n"
    "  --threads J   searching threads (default 1)\n"
    "  --quiet       no progress on stderr\n"
    "Prints one line per row kept: kernel, function, format, n, error, the\n"
    "command replaying it and the row in %a.  Exit 2 on bad usage.\n";

static int die(const char *msg, const char *arg) { return cli_die("smaxcheck search", msg, arg); }

static int match_format(smax_format f, const char *name) {
  return !strcmp(name, smax_format_name(f)) || kio_oracle_format(f) == oracle_format_by_name(name);
}

/* dir exists (created if missing, one level) and a file can be made in it */
static int check_dir(const char *dir) {
  if (mkdir(dir, 0777) && errno != EEXIST) return -1;
  char t[4200];
  snprintf(t, sizeof t, "%s/.search-probe.XXXXXX", dir);
  int fd = mkstemp(t);
  if (fd < 0) return -1;
  close(fd);
  unlink(t);
  return 0;
}

int cmd_search(int argc, char **argv) {
  static const struct option opts[] = {
      {"kernel", 1, 0, 'k'}, {"func", 1, 0, 'f'},    {"format", 1, 0, 'F'}, {"n", 1, 0, 'n'},
      {"seconds", 1, 0, 's'}, {"evals", 1, 0, 'e'}, {"seed", 1, 0, 'S'},   {"top", 1, 0, 't'},
      {"out", 1, 0, 'o'},    {"threads", 1, 0, 'T'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
      {0, 0, 0, 0}};
  const char *kname = NULL, *fname = NULL, *fmtname = NULL, *nlist = "2,16,300";
  char defout[4096];
  snprintf(defout, sizeof defout, "%s", SMAXCHECK_THRESHOLDS); /* its directory + corpus/search */
  char *slash = strrchr(defout, '/');
  snprintf(slash ? slash + 1 : defout, sizeof defout - (size_t)(slash ? slash + 1 - defout : 0), "corpus/search");
  const char *out = defout;
  size_t ns[32], top = 8;
  int nn, threads = 1, quiet = 0, c, have_s = 0;
  double seconds = 10;
  unsigned long evals = 0, seed = 1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end;
    errno = 0;
    switch (c) {
    case 'k': kname = optarg; break;
    case 'f': fname = optarg; break;
    case 'F': fmtname = optarg; break;
    case 'n': nlist = optarg; break;
    case 's': seconds = strtod(optarg, &end), have_s = 1;
              if (end == optarg || *end || !(seconds > 0 && seconds < 1e7)) return die("--seconds '%s': need a number of seconds > 0", optarg);
              break;
    case 'e': evals = strtoul(optarg, &end, 10);
              if (end == optarg || *end || errno || optarg[0] == '-' || !evals) return die("--evals '%s': need a count >= 1", optarg);
              break;
    case 'S': seed = strtoul(optarg, &end, 0);
              if (end == optarg || *end || errno || optarg[0] == '-') return die("--seed '%s': need an integer >= 0", optarg);
              break;
    case 't': top = strtoul(optarg, &end, 10);
              if (end == optarg || *end || errno || optarg[0] == '-' || top < 1 || top > 1000) return die("--top '%s': need a count 1..1000", optarg);
              break;
    case 'o': out = optarg; break;
    case 'T': threads = (int)strtol(optarg, &end, 10);
              if (end == optarg || *end || threads < 1 || threads > 256) return die("--threads '%s': need 1..256", optarg);
              break;
    case 'q': quiet = 1; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind < argc) return die("unexpected argument '%s'", argv[optind]);
  if (!kname) return die("%s", "--kernel K is required (see smaxcheck list kernels)");
  if (have_s && evals) return die("%s", "give --seconds or --evals, not both");
  if ((nn = cli_sizes(nlist, ns, 32, 1, 1 << 20)) <= 0) return die("--n '%s': need row lengths 1..1048576, comma-separated", nlist);
  size_t nk;
  const smax_kernel *ks = smax_registry(&nk);
  int any = 0;
  for (size_t i = 0; i < nk; i++) any |= !strcmp(ks[i].name, kname);
  if (!any) return die("unknown kernel '%s' (see smaxcheck list kernels)", kname);
  if (fname && oracle_func_by_name(fname) < 0) return die("unknown function '%s' (see smaxcheck list functions)", fname);
  if (fmtname && !oracle_format_by_name(fmtname)) {
    int ok = 0;
    for (int f = 0; f < SMAX_NFORMATS; f++) ok |= !strcmp(fmtname, smax_format_name(f));
    if (!ok) return die("unknown format '%s' (see smaxcheck list formats)", fmtname);
  }
  const smax_kernel *sel[64];
  size_t nsel = 0;
  for (size_t i = 0; i < nk && nsel < 64; i++)
    if (!strcmp(ks[i].name, kname) && (!fname || !strcmp(fname, smax_func_name(ks[i].func))) &&
        (!fmtname || match_format(ks[i].fmt, fmtname)))
      sel[nsel++] = &ks[i];
  if (!nsel) return die("no kernel '%s' matches the --func / --format given", kname);
  if (check_dir(out)) {
    fprintf(stderr, "smaxcheck search: --out '%s': cannot write there: %s\n", out, strerror(errno));
    return 2;
  }
  int rc = 0;
  for (size_t s = 0; s < nsel && !rc; s++) {
    const smax_kernel *k = sel[s];
    /* the command that found the rows, recorded beside each of them */
    char origin[1024];
    int len = snprintf(origin, sizeof origin, "smaxcheck search --kernel %s --func %s --format %s --n %s",
                       k->name, smax_func_name(k->func), smax_format_name(k->fmt), nlist);
    if (evals) len += snprintf(origin + len, sizeof origin - (size_t)len, " --evals %lu", evals);
    else len += snprintf(origin + len, sizeof origin - (size_t)len, " --seconds %g", seconds);
    snprintf(origin + len, sizeof origin - (size_t)len, " --seed %lu --threads %d", seed, threads);
    search_opts o = {k, ns, (size_t)nn, seconds, evals, seed, top, threads, !quiet, origin};
    search_result res;
    if (search_run(&o, &res)) {
      fprintf(stderr, "smaxcheck search: out of memory\n");
      search_result_free(&res);
      rc = 2;
      break;
    }
    if (!quiet)
      fprintf(stderr, "search %s %s %s: %lu rows scored in %.1f s (%.0f/s)\n", k->name, smax_func_name(k->func),
              smax_format_name(k->fmt), res.evals, res.seconds, res.seconds > 0 ? (double)res.evals / res.seconds : 0.0);
    long *lines = calloc(res.nrows + 1, sizeof *lines);
    char err[4400], name[200];
    search_corpus_name(k, name, sizeof name);
    if (!lines || search_corpus_merge(out, k, res.rows, res.nrows, top, lines, err, sizeof err)) {
      fprintf(stderr, "smaxcheck search: %s\n", lines ? err : "out of memory");
      rc = 2;
    }
    for (size_t i = 0; i < res.nrows && !rc; i++) {
      const search_row *r = &res.rows[i];
      printf("%s %s %s n=%zu ", k->name, smax_func_name(k->func), smax_format_name(k->fmt), r->n);
      if (isinf(r->err)) printf("non-finite");
      else printf("%.6g ulps", r->err);
      printf(" (output %zu: got %a want %a)  replay: ", r->out, r->got, r->want);
      if (lines[i])
        printf("smaxcheck eval --kernel %s --func %s --format %s --input %s/%s --line %ld", k->name,
               smax_func_name(k->func), smax_format_name(k->fmt), out, name, lines[i]);
      else /* the file already holds T worse rows: replay from stdin */
        printf("echo ROW | smaxcheck eval --kernel %s --func %s --format %s --input /dev/stdin", k->name,
               smax_func_name(k->func), smax_format_name(k->fmt));
      printf("  row:");
      for (size_t j = 0; j < r->n; j++) printf(" %a", r->x[j]);
      if (r->dy) printf(" |");
      for (size_t j = 0; r->dy && j < r->n; j++) printf(" %a", r->dy[j]);
      putchar('\n');
    }
    free(lines);
    search_result_free(&res);
  }
  oracle_cleanup();
  return rc;
}

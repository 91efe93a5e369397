/* cmd_eval.c -- `smaxcheck eval`: measure kernels on input families. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include "cli.h"
#include "vecio.h"
#include "kcall.h"
#include "kio.h"
#include "results.h"

static const char usage[] =
    "usage: smaxcheck eval [--kernel K] [--func F] [--format FMT] [--family A,B,..]\n"
    "                      [--n N,M,..] [--rows R] [--tau T] [--seed S] [--threads T]\n"
    "                      [--shard K/N] [--json OUT] [--show-row R] [--quiet (no table)]\n"
    "                      [--input FILE [--line L]] [--corpus DIR]\n"
    "Measures every registered kernel matching K/F/FMT (default: all) on the\n"
    "input families (default: all) for each n (default 16,1000): ULP error vs\n"
    "the oracle (max, mean, p50/p99/p99.9, %% correctly rounded), ratio to the\n"
    "Blanchard-Higham-Higham bound and to the kernel's claim, exact sum-to-one\n"
    "drift, special-value verdicts (oracle/SEMANTICS.md), invariants,\n"
    "determinism, throughput.  Prints a table; --json writes the results\n"
    "(harness/SCHEMA.md) atomically.  --threads: harness threads over cells.\n"
    "--shard K/N evaluates every N-th cell from the K-th (1-based), for array\n"
    "jobs; `smaxcheck merge` joins the parts.  --show-row R prints row R of\n"
    "the (single) selected cell: input, kernel output and oracle output in %%a.\n"
    "--input FILE measures rows read from FILE in the oracle's text format (one\n"
    "row per line, decimal or hex floats, -inf for a masked entry, 'x.. | dy..'\n"
    "for gradients) instead of families; --line L takes only line L.  --corpus\n"
    "DIR reads every *.txt file of DIR the same way (saved hard cases).  Rows\n"
    "must be values of the kernel's format (with --format: an error otherwise;\n"
    "without: kernels that cannot store them are skipped).\n"
    "Lists: `smaxcheck list` (kernels, functions, formats), `smaxcheck list families`.\n";

static int die(const char *msg, const char *arg) { return cli_die("smaxcheck eval", msg, arg); }

/* print row r of cell c: input, the kernel's outputs, the oracle's */
static void show_row(const cell *c, size_t r) {
  batch b;
  if (batch_make(&b, c->fam, c->k->fmt, c->n, c->rows, c->seed, c->tau)) return;
  size_t n = b.n, no = c->k->func == SMAX_LOGSUMEXP ? 1 : n;
  unsigned char *x = calloc(n + 1, 8), *dy = calloc(n + 1, 8), *y = calloc(n + 1, 8), *loss = calloc(1, 8);
  double *want = calloc(n + 1, sizeof *want);
  for (size_t i = 0; i < n; i++) {
    kio_store_in(c->k->fmt, x, i, b.x[r * n + i]);
    kio_store_in(c->k->fmt, dy, i, b.dy[r * n + i]);
  }
  smax_args a = {1, n, x, n, dy, n, b.mask + r * n, n, b.target + r, y, no, loss, b.tau, b.in_scale, 1};
  int rc = kernel_call(c->k, &a);
  const oracle_format *of = kio_oracle_format(c->k->fmt);
  oracle_params p = {b.tau, b.in_scale, b.mask + r * n, b.dy + r * n, b.target[r]};
  oracle_func f = c->k->func == SMAX_CROSS_ENTROPY ? ORACLE_CROSS_ENTROPY_GRAD : (oracle_func)c->k->func;
  oracle_eval(f, of, n, b.x + r * n, &p, want, NULL, NULL);
  printf("row %zu of %s n=%zu tau=%a seed=%lu (format %s, in_scale %a)\nx:     ", r, c->fam->name, n, b.tau,
         c->seed, smax_format_name(c->k->fmt), b.in_scale);
  for (size_t i = 0; i < n; i++) printf(" %a", b.mask[r * n + i] ? -INFINITY : b.x[r * n + i]);
  if (f == ORACLE_SOFTMAX_VJP || f == ORACLE_LOG_SOFTMAX_VJP) {
    printf("\ndy:    ");
    for (size_t i = 0; i < n; i++) printf(" %a", b.dy[r * n + i]);
  }
  if (c->k->func == SMAX_CROSS_ENTROPY) printf("\ntarget: %d", (int)b.target[r]);
  printf("\nkernel:");
  if (rc) printf(" (rejected the arguments)");
  else for (size_t i = 0; i < no; i++) printf(" %a", kio_load_out(c->k->fmt, y, i));
  printf("\noracle:");
  for (size_t i = 0; i < no; i++) printf(" %a", want[i]);
  if (c->k->func == SMAX_CROSS_ENTROPY) {
    oracle_eval(ORACLE_CROSS_ENTROPY, of, n, b.x + r * n, &p, want, NULL, NULL);
    printf("\nloss:   kernel %a oracle %a", kio_load_out(c->k->fmt, loss, 0), want[0]);
  }
  printf("\n");
  free(x), free(dy), free(y), free(loss), free(want);
  batch_free(&b);
}

static int match_format(smax_format f, const char *name) {
  return !strcmp(name, smax_format_name(f)) || !strcmp(name, kio_oracle_format(f)->name) ||
         kio_oracle_format(f) == oracle_format_by_name(name);
}

/* ---- rows from files (--input / --corpus) ------------------------------ */
typedef struct { char *path; vec_line *v; long nl; } src_file;

static const family file_family = {"file", "rows read from --input / --corpus", NULL, 0};

static int load_file(const char *path, src_file *f) {
  char err[512];
  FILE *fp = fopen(path, "r");
  if (!fp) { fprintf(stderr, "smaxcheck eval: cannot open '%s': %s\n", path, strerror(errno)); return -1; }
  f->path = strdup(path);
  f->nl = vec_read(fp, path, &f->v, err, sizeof err);
  fclose(fp);
  if (f->nl < 0) { fprintf(stderr, "smaxcheck eval: %s\n", err); free(f->path); return -1; }
  return 0;
}

/* a value that the kernel format can store exactly */
static int storable(smax_format f, double v) {
  if (kio_fixed(f)) return v == floor(v) && v >= -128 && v <= 127;
  return isnan(v) || kio_round_in(f, v) == v || (isinf(v));
}

static int eval_files(const char *input, const char *corpus, long only_line, const smax_kernel *ks,
                      size_t nk, const char *kname, const char *fname, const char *fmtname, double tau,
                      int threads, int quiet, const char *json) {
  src_file *files = NULL;
  size_t nfiles = 0;
  int rc = 0;
  if (input) {
    files = calloc(1, sizeof *files);
    if (load_file(input, &files[0])) { free(files); return 2; }
    nfiles = 1;
  } else {
    DIR *d = opendir(corpus);
    if (!d) { fprintf(stderr, "smaxcheck eval: cannot open directory '%s': %s\n", corpus, strerror(errno)); return 2; }
    struct dirent *de;
    while ((de = readdir(d))) {
      size_t L = strlen(de->d_name);
      if (L < 5 || strcmp(de->d_name + L - 4, ".txt")) continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", corpus, de->d_name);
      files = realloc(files, (nfiles + 1) * sizeof *files);
      if (load_file(path, &files[nfiles])) { rc = 2; break; }
      nfiles++;
    }
    closedir(d);
  }
  /* one batch (one row) per line */
  size_t nrows = 0;
  for (size_t f = 0; f < nfiles; f++) nrows += (size_t)files[f].nl;
  batch *rows = calloc(nrows + 1, sizeof *rows);
  char **srcs = calloc(nrows + 1, sizeof *srcs);
  size_t nb = 0;
  for (size_t f = 0; f < nfiles && !rc; f++)
    for (long l = 0; l < files[f].nl; l++) {
      vec_line *L = &files[f].v[l];
      if (only_line > 0 && L->lineno != only_line) continue;
      if (L->dy && L->ndy != L->n) {
        fprintf(stderr, "smaxcheck eval: %s:%ld: %zu dy values for %zu x values\n", files[f].path, L->lineno, L->ndy, L->n);
        rc = 2;
        break;
      }
      batch *b = &rows[nb];
      size_t n = L->n;
      b->rows = 1, b->n = n, b->tau = tau, b->in_scale = 1;
      b->x = calloc(n + 1, sizeof *b->x), b->dy = calloc(n + 1, sizeof *b->dy);
      b->mask = calloc(n + 1, 1), b->target = calloc(1, sizeof *b->target);
      for (size_t i = 0; i < n; i++) b->x[i] = L->x[i], b->dy[i] = L->dy ? L->dy[i] : 0;
      size_t t = 0;
      while (t + 1 < n && (L->x[t] == -INFINITY || isnan(L->x[t]))) t++;
      b->target[0] = (int32_t)t;
      char buf[4200];
      snprintf(buf, sizeof buf, "%s --line %ld", files[f].path, L->lineno);
      srcs[nb++] = strdup(buf);
    }
  if (!rc && nb == 0) { fprintf(stderr, "smaxcheck eval: no rows read\n"); rc = 2; }
  cell *cells = calloc(nk * (nb + 1), sizeof *cells);
  size_t ncell = 0, skipped = 0;
  for (size_t i = 0; i < nk && !rc; i++) {
    const smax_kernel *k = &ks[i];
    if ((kname && strcmp(k->name, kname)) || (k->flags & SMAX_BROKEN && !kname)) continue;
    if (fname && strcmp(fname, smax_func_name(k->func))) continue;
    if (fmtname && !match_format(k->fmt, fmtname)) continue;
    for (size_t r = 0; r < nb && !rc; r++) {
      int ok = 1;
      const batch *b = &rows[r];
      for (size_t j = 0; j < b->n && ok; j++)
        if (!storable(k->fmt, b->x[j]) || !storable(k->fmt, b->dy[j])) {
          ok = 0;
          if (fmtname) {
            double bad = !storable(k->fmt, b->x[j]) ? b->x[j] : b->dy[j];
            fprintf(stderr, "smaxcheck eval: %s: value %a is not a value of %s\n", srcs[r], bad, smax_format_name(k->fmt));
            rc = 2;
          }
        }
      if (kio_fixed(k->fmt)) ((batch *)b)->in_scale = 1.0 / 16;
      if (!ok) { skipped++; continue; }
      cell *c = &cells[ncell++];
      c->k = k, c->fam = &file_family, c->n = b->n, c->rows = 1, c->tau = tau, c->seed = 0;
      c->given = b, c->source = srcs[r];
    }
  }
  if (!rc && !ncell) { fprintf(stderr, "smaxcheck eval: no selected kernel can store these rows\n"); rc = 2; }
  if (!rc) {
    if (skipped) fprintf(stderr, "smaxcheck eval: %zu kernel x row pairs skipped (values not in the kernel's format)\n", skipped);
    cells_eval(cells, ncell, threads, 1);
    if (!quiet) results_table(stdout, cells, ncell);
    if (json && results_write(json, cells, ncell, 1, 1)) {
      fprintf(stderr, "smaxcheck eval: cannot write '%s': %s\n", json, strerror(errno));
      rc = 2;
    }
  }
  for (size_t i = 0; i < ncell; i++) free(cells[i].worst_input);
  free(cells);
  for (size_t r = 0; r < nb; r++) batch_free(&rows[r]), free(srcs[r]);
  free(rows), free(srcs);
  for (size_t f = 0; f < nfiles; f++) vec_free(files[f].v, files[f].nl), free(files[f].path);
  free(files);
  oracle_cleanup();
  return rc;
}

int cmd_eval(int argc, char **argv) {
  static const struct option opts[] = {
      {"kernel", 1, 0, 'k'}, {"func", 1, 0, 'f'},    {"format", 1, 0, 'F'}, {"family", 1, 0, 'a'},
      {"n", 1, 0, 'n'},      {"rows", 1, 0, 'r'},    {"tau", 1, 0, 't'},    {"seed", 1, 0, 's'},
      {"threads", 1, 0, 'T'}, {"shard", 1, 0, 'S'},  {"json", 1, 0, 'j'},   {"show-row", 1, 0, 'w'},
      {"quiet", 0, 0, 'q'},  {"help", 0, 0, 'h'},    {"input", 1, 0, 'i'},  {"line", 1, 0, 'l'},
      {"corpus", 1, 0, 'c'}, {0, 0, 0, 0}};
  const char *kname = NULL, *fname = NULL, *fmtname = NULL, *fams = NULL, *json = NULL;
  size_t ns[16] = {16, 1000}, rows = 64;
  int nn = 2, threads = 1, shard_k = 1, shard_n = 1, quiet = 0, c;
  long show = -1, only_line = -1;
  const char *input = NULL, *corpus = NULL;
  double tau = 1;
  unsigned long seed = 1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'k': kname = optarg; break;
    case 'f': fname = optarg; break;
    case 'F': fmtname = optarg; break;
    case 'a': fams = optarg; break;
    case 'n': if ((nn = cli_sizes(optarg, ns, 16, 0, 1 << 24)) <= 0) return die("--n '%s': need sizes 0..2^24, comma-separated", optarg); break;
    case 'r': rows = strtoul(optarg, &end, 10); if (*end || !rows) return die("--rows '%s': need a count >= 1", optarg); break;
    case 't': tau = strtod(optarg, &end); if (*end || !(tau > 0 && tau < INFINITY)) return die("--tau '%s': need a finite number > 0", optarg); break;
    case 's': seed = strtoul(optarg, &end, 0); if (*end) return die("--seed '%s': need an integer", optarg); break;
    case 'T': threads = atoi(optarg); if (threads < 1) return die("--threads '%s': need >= 1", optarg); break;
    case 'S': if (sscanf(optarg, "%d/%d", &shard_k, &shard_n) != 2 || shard_n < 1 || shard_k < 1 || shard_k > shard_n)
                return die("--shard '%s': need K/N with 1 <= K <= N", optarg);
              break;
    case 'j': json = optarg; break;
    case 'w': show = strtol(optarg, &end, 10); if (*end || show < 0) return die("--show-row '%s': need a row index", optarg); break;
    case 'q': quiet = 1; break;
    case 'i': input = optarg; break;
    case 'c': corpus = optarg; break;
    case 'l': only_line = strtol(optarg, &end, 10); if (*end || only_line < 1) return die("--line '%s': need a line number >= 1", optarg); break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind < argc) return die("unexpected argument '%s'", argv[optind]);
  size_t nk, nf;
  const smax_kernel *ks = smax_registry(&nk);
  const family *fl = families(&nf);
  /* validate the selections, so a typo is an error, not an empty run */
  int any = 0;
  for (size_t i = 0; i < nk; i++) any |= !kname || !strcmp(ks[i].name, kname);
  if (!any) return die("unknown kernel '%s' (see smaxcheck list kernels)", kname);
  if (fname && oracle_func_by_name(fname) < 0) return die("unknown function '%s'", fname);
  if (fmtname && !oracle_format_by_name(fmtname)) {
    int ok = 0;
    for (int f = 0; f < SMAX_NFORMATS; f++) ok |= !strcmp(fmtname, smax_format_name(f));
    if (!ok) return die("unknown format '%s'", fmtname);
  }
  const family *sel[64];
  size_t nsel = 0;
  if (fams) {
    char *dup = strdup(fams), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      const family *f = family_by_name(t);
      if (!f) { fprintf(stderr, "smaxcheck eval: unknown family '%s' (see smaxcheck list families)\n", t); free(dup); return 2; }
      if (nsel < 64) sel[nsel++] = f;
    }
    free(dup);
  } else {
    for (size_t i = 0; i < nf && nsel < 64; i++) sel[nsel++] = &fl[i];
  }
  if (input || corpus) return eval_files(input, corpus, only_line, ks, nk, kname, fname, fmtname, tau,
                                         threads, quiet, json);
  /* the cells, then this shard's share */
  size_t cap = nk * nsel * (size_t)nn + 1, ncell = 0, idx = 0;
  cell *cells = calloc(cap, sizeof *cells);
  for (size_t i = 0; i < nk; i++) {
    const smax_kernel *k = &ks[i];
    if ((kname && strcmp(k->name, kname)) || (k->flags & SMAX_BROKEN && !kname)) continue;
    if (fname && strcmp(fname, smax_func_name(k->func)) &&
        !(k->func == SMAX_CROSS_ENTROPY && !strcmp(fname, "cross_entropy_grad")))
      continue;
    if (fmtname && !match_format(k->fmt, fmtname)) continue;
    for (size_t a = 0; a < nsel; a++)
      for (int b = 0; b < nn; b++, idx++) {
        if ((int)(idx % (size_t)shard_n) != shard_k - 1) continue;
        cell *cl = &cells[ncell++];
        cl->k = k, cl->fam = sel[a], cl->n = ns[b], cl->rows = rows, cl->tau = tau, cl->seed = seed;
      }
  }
  if (idx == 0) { free(cells); return die("%s", "no kernel matches the selection"); }
  if (json) { /* fail early on an unwritable output, before the work */
    FILE *t = fopen(json, "a");
    if (!t) { fprintf(stderr, "smaxcheck eval: cannot write '%s': %s\n", json, strerror(errno)); free(cells); return 2; }
    fclose(t);
  }
  if (show >= 0) {
    if (ncell != 1) { free(cells); return die("%s", "--show-row needs a selection of exactly one cell"); }
    if ((size_t)show >= rows) { free(cells); return die("%s", "--show-row: row out of range"); }
  }
  cells_eval(cells, ncell, threads, 1); /* progress on stderr past 1 s */
  if (show >= 0) show_row(&cells[0], (size_t)show);
  if (!quiet) results_table(stdout, cells, ncell);
  int rc = 0;
  if (json && results_write(json, cells, ncell, shard_k, shard_n)) {
    fprintf(stderr, "smaxcheck eval: cannot write '%s': %s\n", json, strerror(errno));
    rc = 2;
  } else if (json && !quiet) {
    fprintf(stderr, "wrote %s (%zu cells)\n", json, ncell);
  }
  cells_free(cells, ncell);
  oracle_cleanup();
  return rc;
}

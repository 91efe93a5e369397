/* cmd_compare.c -- `smaxcheck compare`: third-party kernels (shared-library
 * plugins, or commands speaking harness/PROTOCOL.md) measured by the same
 * families, metrics, table and results JSON as `smaxcheck eval`.
 *
 * Isolation: every source runs in a child process (a plugin through
 * `smaxcheck serve --plugin`), so a kernel that crashes, hangs, breaks the
 * protocol or returns values its format cannot hold ends with a finding for
 * that kernel, and the run goes on with the next kernel.
 *
 * Threading: the cells of remote kernels are evaluated one after another in
 * this thread (a child answers one request at a time, and a kernel's first
 * finding must end its run before its next cell starts); built-in kernels
 * chosen with --builtin run through cells_eval, in parallel over --threads. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "kio.h"
#include "proxy.h"
#include "results.h"

static const char usage[] =
    "usage: smaxcheck compare (--plugin PATH.so | --cmd 'COMMAND')... [--builtin K]...\n"
    "                         [--kernel NAME] [--func F] [--format FMT] [--family A,B,..]\n"
    "                         [--n N,M,..] [--rows R] [--tau T] [--seed S] [--threads T]\n"
    "                         [--timeout-ms T] [--mem-mb M] [--json OUT] [--quiet]\n"
    "                         [--fail-on-finding]\n"
    "Measures every kernel of every plugin (a shared library exporting\n"
    "smax_plugin_kernels, impls/kernel.h) and every command (speaking\n"
    "harness/PROTOCOL.md on stdin/stdout, started with /bin/sh -c) on the same\n"
    "families and metrics as `smaxcheck eval` (same defaults: every family,\n"
    "n 16,1000, 64 rows, seed 1, tau 1), prints the same table and writes the\n"
    "same results JSON (harness/SCHEMA.md), each result with its \"source\".\n"
    "--builtin K adds the built-in kernels named K (smaxcheck list kernels) for\n"
    "a side-by-side view; --kernel, --func and --format select kernels by name,\n"
    "function and storage format.\n"
    "Each source runs in a child process (a plugin through `smaxcheck serve\n"
    "--plugin PATH`): a kernel that crashes (a signal), hangs (no reply within\n"
    "--timeout-ms, default 10000; the child is killed), breaks the protocol or\n"
    "returns a value its format cannot hold gets a finding with the one input row\n"
    "that reproduces it; its remaining cells are not run, the child is\n"
    "restarted and the run goes on with the next kernel.  --mem-mb (default\n"
    "8192, 0 = none) limits each child's address space (RLIMIT_AS; not applied\n"
    "by a build with AddressSanitizer, which reserves terabytes of address\n"
    "space).  Remote kernels run one request at a time, in this thread;\n"
    "--threads parallelises the --builtin cells.  A kernel declares an accuracy\n"
    "claim in its descriptor (plugins) or DESCRIBE's optional sixth field\n"
    "(commands, harness/PROTOCOL.md); without one its claim ratio is n/a.\n"
    "Exit status: 0 when every cell ran or ended in a finding (findings are\n"
    "results, listed after the table and in the JSON); 1 with --fail-on-finding\n"
    "if there was a finding; 2 on bad usage, a source that cannot be started\n"
    "or does not DESCRIBE its kernels, or an unwritable --json file (written\n"
    "whole or not at all).\n";

static int die(const char *msg, const char *arg) { return cli_die("smaxcheck compare", msg, arg); }

/* s quoted for /bin/sh (malloc'd): 'a'\''b' */
static char *shq(const char *s) {
  size_t len = 3;
  for (const char *p = s; *p; p++) len += *p == '\'' ? 4 : 1;
  char *q = malloc(len), *w = q;
  if (!q) return NULL;
  *w++ = '\'';
  for (; *s; s++) {
    if (*s == '\'') memcpy(w, "'\\''", 4), w += 4;
    else *w++ = *s;
  }
  *w++ = '\'', *w = 0;
  return q;
}

/* a sprintf into a new string (NULL if out of memory) */
static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s) vsnprintf(s, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return s;
}

static int match_format(smax_format f, const char *name) {
  return !strcmp(name, smax_format_name(f)) || !strcmp(name, kio_oracle_format(f)->name) ||
         kio_oracle_format(f) == oracle_format_by_name(name);
}

/* The path of this executable (to start `smaxcheck serve`); malloc'd. */
static char *self_exe(void) {
  size_t cap = 4096;
  char *b = malloc(cap);
  if (!b) return NULL;
  ssize_t n = readlink("/proc/self/exe", b, cap - 1);
  if (n <= 0 || (size_t)n >= cap - 1) { free(b); return NULL; }
  b[n] = 0;
  return b;
}

typedef struct {
  int is_plugin;
  const char *arg;   /* PATH or COMMAND as given               */
  char *label;       /* "plugin:PATH" / "cmd:COMMAND"          */
  char *opt;         /* "--plugin 'PATH'" for repro commands   */
  proxy *px;
} source;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int cmd_compare(int argc, char **argv) {
  static const struct option opts[] = {
      {"plugin", 1, 0, 'p'},  {"cmd", 1, 0, 'c'},    {"builtin", 1, 0, 'b'}, {"kernel", 1, 0, 'k'},
      {"func", 1, 0, 'f'},    {"format", 1, 0, 'F'}, {"family", 1, 0, 'a'},  {"n", 1, 0, 'n'},
      {"rows", 1, 0, 'r'},    {"tau", 1, 0, 't'},    {"seed", 1, 0, 's'},    {"threads", 1, 0, 'T'},
      {"timeout-ms", 1, 0, 'o'}, {"mem-mb", 1, 0, 'm'}, {"json", 1, 0, 'j'}, {"quiet", 0, 0, 'q'},
      {"fail-on-finding", 0, 0, 'x'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  const char *kname = NULL, *fname = NULL, *fmtname = NULL, *fams = NULL, *json = NULL;
  const char *builtins[64];
  size_t ns[16] = {16, 1000}, rows = 64, nsrc = 0, nbuiltin = 0;
  source *src = calloc((size_t)argc + 1, sizeof *src);
  int nn = 2, threads = 1, quiet = 0, fail_on_finding = 0, c, mem_given = 0;
  proxy_opts po = {10000, 8192};
  double tau = 1;
  unsigned long seed = 1;
  if (!src) return die("%s", "out of memory");
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end;
    long v;
    switch (c) {
    case 'p': case 'c': src[nsrc].is_plugin = c == 'p', src[nsrc++].arg = optarg; break;
    case 'b':
      if (nbuiltin == 64) { free(src); return die("%s", "--builtin: at most 64"); }
      builtins[nbuiltin++] = optarg;
      break;
    case 'k': kname = optarg; break;
    case 'f': fname = optarg; break;
    case 'F': fmtname = optarg; break;
    case 'a': fams = optarg; break;
    case 'n': if ((nn = cli_sizes(optarg, ns, 16, 0, 1 << 24)) <= 0) { free(src); return die("--n '%s': need sizes 0..2^24, comma-separated", optarg); } break;
    case 'r': rows = strtoul(optarg, &end, 10); if (*end || !rows || optarg[0] == '-') { free(src); return die("--rows '%s': need a count >= 1", optarg); } break;
    case 't': tau = strtod(optarg, &end); if (*end || !(tau > 0 && tau < INFINITY)) { free(src); return die("--tau '%s': need a finite number > 0", optarg); } break;
    case 's': seed = strtoul(optarg, &end, 0); if (*end || !optarg[0]) { free(src); return die("--seed '%s': need an integer", optarg); } break;
    case 'T': v = strtol(optarg, &end, 10); if (*end || v < 1 || v > 1024) { free(src); return die("--threads '%s': need 1..1024", optarg); } threads = (int)v; break;
    case 'o': v = strtol(optarg, &end, 10); if (*end || v < 1 || v > 86400000) { free(src); return die("--timeout-ms '%s': need 1..86400000", optarg); } po.timeout_ms = (int)v; break;
    case 'm': v = strtol(optarg, &end, 10); if (*end || v < 0 || v > (1L << 30)) { free(src); return die("--mem-mb '%s': need 0 (no limit) .. 2^30", optarg); } po.mem_mb = v, mem_given = 1; break;
    case 'j': json = optarg; break;
    case 'q': quiet = 1; break;
    case 'x': fail_on_finding = 1; break;
    case 'h': fputs(usage, stdout); free(src); return 0;
    default: fputs(usage, stderr); free(src); return 2;
    }
  }
  if (optind < argc) { free(src); return die("unexpected argument '%s'", argv[optind]); }
  if (!nsrc) { free(src); return die("%s", "nothing to compare: give --plugin PATH.so or --cmd 'COMMAND' (see --help)"); }
  if (fname && oracle_func_by_name(fname) < 0) { free(src); return die("unknown function '%s'", fname); }
  if (fmtname && !oracle_format_by_name(fmtname)) {
    int ok = 0;
    for (int f = 0; f < SMAX_NFORMATS; f++) ok |= !strcmp(fmtname, smax_format_name((smax_format)f));
    if (!ok) { free(src); return die("unknown format '%s'", fmtname); }
  }
  size_t nreg, nf;
  const smax_kernel *reg = smax_registry(&nreg);
  for (size_t b = 0; b < nbuiltin; b++) {
    int any = 0;
    for (size_t i = 0; i < nreg; i++) any |= !strcmp(reg[i].name, builtins[b]);
    if (!any) { free(src); return die("--builtin: unknown kernel '%s' (see smaxcheck list kernels)", builtins[b]); }
  }
  const family *fl = families(&nf), *sel[64];
  size_t nsel = 0;
  if (fams) {
    char *dup = strdup(fams), *save = NULL;
    for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
      const family *f = family_by_name(t);
      if (!f) {
        fprintf(stderr, "smaxcheck compare: unknown family '%s' (see smaxcheck list families)\n", t);
        free(dup), free(src);
        return 2;
      }
      if (nsel < 64) sel[nsel++] = f;
    }
    free(dup);
  } else {
    for (size_t i = 0; i < nf && nsel < 64; i++) sel[nsel++] = &fl[i];
  }
  if (json) { /* fail early on an unwritable output, before the work */
    FILE *t = fopen(json, "a");
    if (!t) { fprintf(stderr, "smaxcheck compare: cannot write '%s': %s\n", json, strerror(errno)); free(src); return 2; }
    fclose(t);
  }
  if (mem_given && po.mem_mb > 0 && !proxy_mem_limit_supported())
    fprintf(stderr, "smaxcheck compare: --mem-mb is not applied: this build uses AddressSanitizer\n");

  /* start every source; one that does not DESCRIBE is a usage error */
  int rc = 0;
  char *exe = self_exe();
  for (size_t i = 0; i < nsrc && !rc; i++) {
    source *s = &src[i];
    char *q = shq(s->arg), err[2048];
    s->label = xprintf("%s:%s", s->is_plugin ? "plugin" : "cmd", s->arg);
    s->opt = q ? xprintf("%s %s", s->is_plugin ? "--plugin" : "--cmd", q) : NULL;
    free(q);
    if (!s->label || !s->opt || (s->is_plugin && !exe)) {
      rc = die("%s", s->is_plugin && !exe ? "cannot find this executable (/proc/self/exe) to start `serve`" : "out of memory");
      break;
    }
    char *pargv[] = {exe, (char *)"serve", (char *)"--plugin", (char *)s->arg, NULL};
    char *cargv[] = {(char *)"/bin/sh", (char *)"-c", (char *)s->arg, NULL};
    s->px = proxy_start(s->is_plugin ? pargv : cargv, s->label, &po, err, sizeof err);
    if (!s->px) {
      /* a plugin serve could not load: its own one-line reason is the message */
      const char *why = s->is_plugin ? strstr(err, "stderr: smaxcheck serve: ") : NULL;
      if (why) fprintf(stderr, "smaxcheck compare: --plugin %s\n", why + strlen("stderr: smaxcheck serve: "));
      else fprintf(stderr, "smaxcheck compare: %s\n", err);
      rc = 2;
    }
  }
  free(exe);

  /* the cells: remote kernels first (in source order), then built-ins */
  size_t nk_all = 0;
  for (size_t i = 0; i < nsrc && !rc; i++) {
    size_t n;
    proxy_kernels(src[i].px, &n);
    nk_all += n;
  }
  size_t cap = (nk_all + nreg * nbuiltin) * nsel * (size_t)nn + 1, ncell = 0, nremote = 0;
  cell *cells = rc ? NULL : calloc(cap, sizeof *cells);
  source **cell_src = rc ? NULL : calloc(cap, sizeof *cell_src);
  if (!rc && (!cells || !cell_src)) rc = die("%s", "out of memory");
  int kname_seen = 0;
  for (size_t i = 0; i < nsrc + nbuiltin && !rc; i++) {
    size_t nk;
    const smax_kernel *ks = i < nsrc ? proxy_kernels(src[i].px, &nk) : reg;
    if (i >= nsrc) nk = nreg;
    for (size_t j = 0; j < nk; j++) {
      const smax_kernel *k = &ks[j];
      if (i >= nsrc && strcmp(k->name, builtins[i - nsrc])) continue;
      if (kname && strcmp(k->name, kname)) continue;
      kname_seen = 1;
      if (fname && strcmp(fname, smax_func_name(k->func)) &&
          !(k->func == SMAX_CROSS_ENTROPY && !strcmp(fname, "cross_entropy_grad")))
        continue;
      if (fmtname && !match_format(k->fmt, fmtname)) continue;
      for (size_t a = 0; a < nsel; a++)
        for (int b = 0; b < nn; b++) {
          cell *cl = &cells[ncell];
          cl->k = k, cl->fam = sel[a], cl->n = ns[b], cl->rows = rows, cl->tau = tau, cl->seed = seed;
          cl->origin = i < nsrc ? src[i].label : NULL;
          cell_src[ncell++] = i < nsrc ? &src[i] : NULL;
        }
    }
    if (i < nsrc) nremote = ncell;
  }
  if (!rc && kname && !kname_seen) rc = die("no kernel named '%s' in the given sources", kname);
  else if (!rc && !ncell) rc = die("%s", "no kernel matches the selection");

  /* evaluate: remote cells one at a time (see the header), then built-ins */
  size_t nfind = 0;
  if (!rc) {
    double t0 = now_s(), last = t0;
    for (size_t i = 0; i < nremote; i++) {
      cell *cl = &cells[i];
      const proxy_finding *before = proxy_finding_of(cl->k);
      if (before) {
        cl->skipped = "an earlier cell of this kernel ended in a finding";
        continue;
      }
      cells_eval(cl, 1, 1, 0);
      const proxy_finding *f = proxy_finding_of(cl->k);
      if (f) { /* this cell ended the kernel's run */
        char *fam = shq(cl->fam->name), mem[40] = "";
        if (mem_given) snprintf(mem, sizeof mem, " --mem-mb %ld", po.mem_mb);
        char *repro = xprintf("smaxcheck compare %s --kernel %s --func %s --format %s --family %s --n %zu --rows %zu "
                              "--tau %a --seed %lu --timeout-ms %d%s",
                              cell_src[i]->opt, cl->k->name, smax_func_name(cl->k->func),
                              smax_format_name(cl->k->fmt), fam ? fam : "?", cl->n, cl->rows, cl->tau, cl->seed,
                              po.timeout_ms, mem);
        free(fam);
        cl->ok = 0;
        memset(&cl->m, 0, sizeof cl->m);
        cl->m.det_repeat = cl->m.det_threads = -1;
        free(cl->worst_input), cl->worst_input = NULL;
        cl->finding.cls = f->cls, cl->finding.message = f->message ? f->message : "";
        cl->finding.input = f->input ? f->input : "";
        cl->finding.repro = repro; /* freed below (cells own it via this field) */
        if (repro) snprintf(cl->m.repro, sizeof cl->m.repro, "%s", repro);
        nfind++;
      } else {
        /* eval's repro names `eval`, which cannot see this kernel */
        char *fam = shq(cl->fam->name);
        snprintf(cl->m.repro, sizeof cl->m.repro,
                 "smaxcheck compare %s --kernel %s --func %s --format %s --family %s --n %zu --rows %zu --tau %a --seed %lu",
                 cell_src[i]->opt, cl->k->name, smax_func_name(cl->k->func), smax_format_name(cl->k->fmt),
                 fam ? fam : "?", cl->n, cl->rows, cl->tau, cl->seed);
        free(fam);
      }
      double t = now_s();
      if (t - last > 1 || (i + 1 == nremote && t - t0 > 1)) {
        fprintf(stderr, "\r[%zu/%zu remote cells, %.0f s] %-14s %-16s %-9s %-12s n=%zu   ", i + 1, nremote, t - t0,
                cl->k->name, smax_func_name(cl->k->func), smax_format_name(cl->k->fmt), cl->fam->name, cl->n);
        if (i + 1 == nremote) fputc('\n', stderr);
        last = t;
      }
    }
    if (ncell > nremote) cells_eval(cells + nremote, ncell - nremote, threads, 1);
    if (!quiet) {
      printf("sources:\n");
      for (size_t i = 0; i < nsrc; i++) {
        size_t nk;
        const smax_kernel *ks = proxy_kernels(src[i].px, &nk);
        printf("  %s\n", src[i].label);
        for (size_t j = 0; j < nk; j++)
          printf("    %-14s %-16s %-9s %s\n", ks[j].name, smax_func_name(ks[j].func), smax_format_name(ks[j].fmt),
                 ks[j].about);
      }
      if (nbuiltin) printf("  builtin (impls/)\n");
      printf("\n");
      results_table(stdout, cells, ncell);
      if (nfind) printf("\nfindings (%zu):\n", nfind);
      for (size_t i = 0; i < nremote; i++) {
        const cell *cl = &cells[i];
        if (!cl->finding.cls) continue;
        printf("  %s %s %s (%s), family %s n=%zu: %s: %s\n    input: %s\n    repro: %s\n", cl->k->name,
               smax_func_name(cl->k->func), smax_format_name(cl->k->fmt), cl->origin, cl->fam->name, cl->n,
               cl->finding.cls, cl->finding.message, cl->finding.input, cl->finding.repro ? cl->finding.repro : "");
      }
    }
    if (json && results_write(json, cells, ncell, 1, 1)) {
      fprintf(stderr, "smaxcheck compare: cannot write '%s': %s\n", json, strerror(errno));
      rc = 2;
    } else if (json && !quiet) {
      fprintf(stderr, "wrote %s (%zu cells, %zu findings)\n", json, ncell, nfind);
    }
    if (!rc && fail_on_finding && nfind) rc = 1;
  }
  for (size_t i = 0; i < ncell; i++) free((char *)cells[i].finding.repro);
  if (cells) cells_free(cells, ncell);
  free(cell_src);
  for (size_t i = 0; i < nsrc; i++) {
    if (src[i].px) proxy_stop(src[i].px); /* after the JSON: findings live in the proxy */
    free(src[i].label), free(src[i].opt);
  }
  free(src);
  oracle_cleanup();
  return rc;
}

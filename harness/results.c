/* results.c -- evaluate cells, print them, write them as JSON.  Each result
 * object sits on one line of the file, so parts merge line by line. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kcall.h"
#include "kio.h"
#include "results.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* the worst row as text */
static char *row_text(const batch *b, size_t r) {
  size_t cap = b->n * 26 + 2, len = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  s[0] = 0;
  for (size_t i = 0; i < b->n; i++) {
    double v = b->mask[r * b->n + i] ? -INFINITY : b->x[r * b->n + i];
    len += (size_t)snprintf(s + len, cap - len, i ? " %a" : "%a", v);
  }
  return s;
}

static void eval_one(cell *c, int kthreads) {
  batch b;
  if (c->given) b = *c->given;
  else if (batch_make(&b, c->fam, c->k->fmt, c->n, c->rows, c->seed, c->tau)) return;
  c->ok = metrics_eval(c->k, c->fam, &b, c->seed, kthreads, &c->m) == 0;
  if (c->ok && c->m.outputs) c->worst_input = row_text(&b, c->m.worst_row);
  if (c->given)
    snprintf(c->m.repro, sizeof c->m.repro, "smaxcheck eval --kernel %s --func %s --format %s --tau %a --input %s",
             c->k->name, smax_func_name(c->k->func), smax_format_name(c->k->fmt), b.tau, c->source);
  else
    batch_free(&b);
}

static void progress_line(const cell *c, size_t done, size_t nc, double t0, double *last) {
  double t = now();
  if (t - *last > 1 || (done == nc && t - t0 > 1)) {
    fprintf(stderr, "\r[%zu/%zu cells, %.0f s] %-14s %-16s %-9s %-12s n=%zu   ", done, nc, t - t0,
            c->k->name, smax_func_name(c->k->func), smax_format_name(c->k->fmt), c->fam->name, c->n);
    if (done == nc) fputc('\n', stderr);
    *last = t;
  }
}

/* Cells of threaded kernels run outside the parallel loop: inside it OpenMP
 * would not nest, and the thread-count determinism check would see one
 * thread only. */
void cells_eval(cell *cells, size_t nc, int threads, int progress) {
  double t0 = now(), last = t0;
  size_t done = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads > 0 ? threads : 1)
  for (size_t i = 0; i < nc; i++) {
    if (cells[i].k->flags & SMAX_THREADED) continue;
    eval_one(&cells[i], 0);
    oracle_cleanup();
#pragma omp critical
    {
      done++;
      if (progress) progress_line(&cells[i], done, nc, t0, &last);
    }
  }
  for (size_t i = 0; i < nc; i++) {
    if (!(cells[i].k->flags & SMAX_THREADED)) continue;
    eval_one(&cells[i], threads);
    done++;
    if (progress) progress_line(&cells[i], done, nc, t0, &last);
  }
}

void cells_free(cell *cells, size_t nc) {
  for (size_t i = 0; i < nc; i++) free(cells[i].worst_input);
  free(cells);
}

/* JSON number: non-finite values as the strings "inf", "-inf", "nan" */
static void jnum(FILE *fp, double v) {
  if (isnan(v)) fputs("\"nan\"", fp);
  else if (isinf(v)) fputs(v > 0 ? "\"inf\"" : "\"-inf\"", fp);
  else fprintf(fp, "%.17g", v);
}
static void jstr(FILE *fp, const char *s) {
  fputc('"', fp);
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(fp, "\\%c", ch);
    else if (ch < 0x20) fprintf(fp, "\\u%04x", ch);
    else fputc(ch, fp);
  }
  fputc('"', fp);
}
static void jhex(FILE *fp, double v) {
  char b[40];
  snprintf(b, sizeof b, "%a", v);
  jstr(fp, b);
}

static void cell_json(FILE *fp, const cell *c) {
  const metrics *m = &c->m;
  fputs("{\"kernel\":", fp), jstr(fp, c->k->name);
  fputs(",\"func\":", fp), jstr(fp, smax_func_name(c->k->func));
  fputs(",\"format\":", fp), jstr(fp, smax_format_name(c->k->fmt));
  fputs(",\"family\":", fp), jstr(fp, c->fam->name);
  fprintf(fp, ",\"n\":%zu,\"rows\":%zu,\"tau\":", c->n, c->rows), jnum(fp, c->tau);
  fprintf(fp, ",\"seed\":%lu,\"ok\":%s,\"outputs\":%zu", c->seed, c->ok ? "true" : "false", m->outputs);
  const struct { const char *k; double v; } f[] = {
      {"max_ulp", m->max_ulp}, {"mean_ulp", m->mean_ulp}, {"p50_ulp", m->p50}, {"p99_ulp", m->p99},
      {"p999_ulp", m->p999}, {"pct_correctly_rounded", m->pct_cr}, {"max_bound_ratio", m->max_ratio},
      {"max_claim_ratio", m->max_claim_ratio}, {"max_sum_drift_ulp", m->max_drift},
      {"shift_ulp", m->shift_ulp}, {"perm_ulp", m->perm_ulp}, {"elem_per_s", m->elem_per_s}};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) fprintf(fp, ",\"%s\":", f[i].k), jnum(fp, f[i].v);
  fprintf(fp, ",\"claim_failures\":%zu,\"mono_violations\":%zu", m->failures, m->mono_viol);
  fprintf(fp, ",\"ftz_outputs\":%zu", m->ftz_outputs);
  fprintf(fp, ",\"deterministic_repeat\":%d,\"deterministic_threads\":%d", m->det_repeat, m->det_threads);
  fputs(",\"convention\":", fp), jstr(fp, c->k->convention);
  fputs(",\"about\":", fp), jstr(fp, c->k->about ? c->k->about : "");
  fputs(",\"source\":", fp), jstr(fp, c->origin ? c->origin : "builtin");
  fprintf(fp, ",\"claim_declared\":%s", kernel_has_claim(c->k) ? "true" : "false");
  fputs(",\"special\":{", fp);
  int first = 1;
  for (int s = 0; s < MET_NCASES; s++) {
    if (!m->case_rows[s] || s >= 6) continue;
    fprintf(fp, "%s\"%s\":{\"rows\":%zu,\"verdict\":", first ? "" : ",", met_case_name[s], m->case_rows[s]);
    jstr(fp, m->case_verdict[s]);
    fputs(",\"input\":", fp), jstr(fp, m->case_input[s]);
    fputs(",\"got\":", fp), jstr(fp, m->case_got[s]);
    fputs(",\"want\":", fp), jstr(fp, m->case_want[s]);
    fputc('}', fp);
    first = 0;
  }
  fprintf(fp, "},\"worst\":{\"row\":%zu,\"output\":%zu,\"got\":", m->worst_row, m->worst_out);
  jhex(fp, m->worst_got), fputs(",\"want\":", fp), jhex(fp, m->worst_want);
  fputs(",\"input\":", fp), jstr(fp, c->worst_input ? c->worst_input : "");
  fputs("},\"repro\":", fp), jstr(fp, m->repro);
  if (c->finding.cls) { /* smaxcheck compare: how a remote kernel's run ended */
    fputs(",\"finding\":{\"class\":", fp), jstr(fp, c->finding.cls);
    fputs(",\"message\":", fp), jstr(fp, c->finding.message);
    fputs(",\"input\":", fp), jstr(fp, c->finding.input);
    fputs(",\"repro\":", fp), jstr(fp, c->finding.repro), fputc('}', fp);
  }
  if (c->skipped) fputs(",\"skipped\":", fp), jstr(fp, c->skipped);
  fputc('}', fp);
}

int results_write(const char *path, const cell *cells, size_t nc, int shard_k, int shard_n) {
  size_t len = strlen(path);
  char *tmp = malloc(len + 16);
  if (!tmp) return -1;
  snprintf(tmp, len + 16, "%s.tmp%ld", path, (long)getpid());
  FILE *fp = fopen(tmp, "w");
  if (!fp) { free(tmp); return -1; }
  fprintf(fp, "{\"schema\":\"smaxcheck-results\",\"version\":1,\"shard\":\"%d/%d\",\"results\":[\n",
          shard_k, shard_n);
  for (size_t i = 0; i < nc; i++) {
    cell_json(fp, &cells[i]);
    fputs(i + 1 < nc ? ",\n" : "\n", fp);
  }
  fputs("]}\n", fp);
  int err = ferror(fp);
  if (fclose(fp) || err || rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    free(tmp);
    errno = e ? e : EIO;
    return -1;
  }
  free(tmp);
  return 0;
}

void results_table(FILE *fp, const cell *cells, size_t nc) {
  fprintf(fp, "%-14s %-16s %-9s %-11s %6s %9s %9s %9s %7s %8s %8s %8s %10s %s\n", "kernel", "function",
          "format", "family", "n", "max ulp", "mean ulp", "p99 ulp", "CR %", "bound", "claim", "drift",
          "elem/s", "special");
  for (size_t i = 0; i < nc; i++) {
    const cell *c = &cells[i];
    const metrics *m = &c->m;
    char sp[160] = "";
    for (int s = 0; s < 6; s++)
      if (m->case_rows[s] && strlen(sp) < 100)
        snprintf(sp + strlen(sp), sizeof sp - strlen(sp), "%s%s:%s", sp[0] ? " " : "", met_case_name[s] + 3,
                 m->case_verdict[s]);
    if (!c->ok) {
      fprintf(fp, "%-14s %-16s %-9s %-11s %6zu  (%s%s)\n", c->k->name, smax_func_name(c->k->func),
              smax_format_name(c->k->fmt), c->fam->name, c->n,
              c->finding.cls ? "finding: " : c->skipped ? "not run: " : "kernel rejected the arguments",
              c->finding.cls ? c->finding.cls : c->skipped ? c->skipped : "");
      continue;
    }
    if (!m->outputs) {
      fprintf(fp, "%-14s %-16s %-9s %-11s %6zu %9s %9s %9s %7s %8s %8s %8s %10.3g %s\n", c->k->name,
              smax_func_name(c->k->func), smax_format_name(c->k->fmt), c->fam->name, c->n, "-", "-", "-", "-",
              "-", "-", "-", m->elem_per_s, sp);
      continue;
    }
    char claim[16] = "n/a"; /* a kernel without a claim (third-party) */
    if (kernel_has_claim(c->k)) snprintf(claim, sizeof claim, "%.3g", m->max_claim_ratio);
    fprintf(fp, "%-14s %-16s %-9s %-11s %6zu %9.3g %9.3g %9.3g %7.2f %8.3g %8s %8.3g %10.3g %s\n",
            c->k->name, smax_func_name(c->k->func), smax_format_name(c->k->fmt), c->fam->name, c->n,
            m->max_ulp, m->mean_ulp, m->p99, m->pct_cr, m->max_ratio, claim, m->max_drift,
            m->elem_per_s, sp);
  }
}

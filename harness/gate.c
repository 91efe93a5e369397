/* gate.c -- the gate suite, the thresholds file and the comparison.
 *
 * Thresholds file (harness/thresholds.txt), one entry per line:
 *   KERNEL FUNCTION FORMAT max_ulp=X nonfinite=K bound_ratio=Y drift=Z special=CASE:V,...
 * max_ulp is the largest finite ulp error; nonfinite counts outputs whose
 * error is infinite (NaN or inf where the value is finite, or the reverse).
 * '#' starts a comment; any key may be omitted (not gated).  The gate fails
 * when a measured maximum exceeds its entry, when a special-value verdict
 * differs, or when a kernel has no entry.  The file is never rewritten by
 * the tool: `smaxcheck gate --propose` prints a proposal for a human.
 * The gate also replays the worst cases `smaxcheck search` saved
 * (harness/corpus/search/, gate_corpus) against the same entries. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "gate.h"
#include "kio.h"
#include "results.h"
#include "search.h"
#include "vecio.h"

/* the suite: every family, these sizes and temperatures, one seed */
static const size_t SUITE_N[] = {1, 2, 7, 16, 300};
static const double SUITE_TAU[] = {1, 3};
#define SUITE_ROWS 12
#define SUITE_SEED 1

static int case_index(const char *s) {
  for (int i = 0; i < MET_NCASES; i++)
    if (!strcmp(s, met_case_name[i])) return i;
  return -1;
}

static int parse_entry(char *line, threshold *t, char *why, size_t wl) {
  char *save = NULL, *tok[3];
  for (int i = 0; i < 3; i++) {
    tok[i] = strtok_r(i ? NULL : line, " \t", &save);
    if (!tok[i]) { snprintf(why, wl, "need KERNEL FUNCTION FORMAT"); return -1; }
  }
  snprintf(t->kernel, sizeof t->kernel, "%s", tok[0]);
  snprintf(t->func, sizeof t->func, "%s", tok[1]);
  snprintf(t->format, sizeof t->format, "%s", tok[2]);
  t->max_ulp = t->bound_ratio = t->drift = t->nonfinite = -1;
  for (char *kv; (kv = strtok_r(NULL, " \t", &save));) {
    char *eq = strchr(kv, '=');
    if (!eq) { snprintf(why, wl, "expected key=value (%s)", kv); return -1; }
    *eq = 0;
    const char *key = kv, *val = eq + 1;
    double *dst = !strcmp(key, "max_ulp") ? &t->max_ulp : !strcmp(key, "bound_ratio") ? &t->bound_ratio
                : !strcmp(key, "drift") ? &t->drift : !strcmp(key, "nonfinite") ? &t->nonfinite : NULL;
    if (dst) {
      char *end;
      *dst = strtod(val, &end);
      if (end == val || *end || !(*dst >= 0)) { snprintf(why, wl, "bad number for %s (%s)", key, val); return -1; }
    } else if (!strcmp(key, "special")) {
      char *s2 = NULL, *dup = strdup(val);
      for (char *p = strtok_r(dup, ",", &s2); p; p = strtok_r(NULL, ",", &s2)) {
        char *colon = strchr(p, ':');
        int ci = colon ? (*colon = 0, case_index(p)) : -1;
        if (ci < 0 || !colon[1]) { snprintf(why, wl, "bad special entry, want CASE:VERDICT (%s)", p); free(dup); return -1; }
        snprintf(t->special[ci], sizeof t->special[ci], "%s", colon + 1);
      }
      free(dup);
    } else {
      snprintf(why, wl, "unknown key (%s)", key);
      return -1;
    }
  }
  return 0;
}

long thresholds_load(const char *path, threshold **out, char *err, size_t errlen) {
  FILE *fp = fopen(path, "r");
  if (!fp) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
  threshold *t = NULL;
  long n = 0, cap = 0, lineno = 0;
  char *line = NULL, why[200];
  size_t lcap = 0;
  while (getline(&line, &lcap, fp) >= 0) {
    lineno++;
    char *h = strchr(line, '#');
    if (h) *h = 0;
    line[strcspn(line, "\r\n")] = 0;
    if (strspn(line, " \t") == strlen(line)) continue;
    if (n == cap) {
      threshold *p = realloc(t, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *t);
      if (!p) { snprintf(err, errlen, "%s: out of memory", path); goto fail; }
      t = p;
    }
    memset(&t[n], 0, sizeof t[n]);
    t[n].line = lineno;
    if (parse_entry(line, &t[n], why, sizeof why)) {
      snprintf(err, errlen, "%s:%ld: %s", path, lineno, why);
      goto fail;
    }
    for (long j = 0; j < n; j++)
      if (!strcmp(t[j].kernel, t[n].kernel) && !strcmp(t[j].func, t[n].func) && !strcmp(t[j].format, t[n].format)) {
        snprintf(err, errlen, "%s:%ld: duplicate entry (first at line %ld)", path, lineno, t[j].line);
        goto fail;
      }
    n++;
  }
  free(line);
  fclose(fp);
  *out = t;
  return n;
fail:
  free(line);
  free(t);
  fclose(fp);
  return -1;
}

static void entry_add(gate_entry *g, const cell *x);

void gate_measure(const smax_kernel *k, size_t nk, gate_entry *e, int threads, int progress) {
  size_t nf;
  const family *fam = families(&nf);
  size_t per = nf * (sizeof SUITE_N / sizeof SUITE_N[0]) * (sizeof SUITE_TAU / sizeof SUITE_TAU[0]);
  cell *c = calloc(nk * per, sizeof *c);
  size_t nc = 0;
  for (size_t i = 0; i < nk; i++)
    for (size_t a = 0; a < nf; a++)
      for (size_t b = 0; b < sizeof SUITE_N / sizeof SUITE_N[0]; b++)
        for (size_t d = 0; d < sizeof SUITE_TAU / sizeof SUITE_TAU[0]; d++) {
          cell *x = &c[nc++];
          x->k = &k[i], x->fam = &fam[a], x->n = SUITE_N[b], x->rows = SUITE_ROWS;
          x->tau = SUITE_TAU[d], x->seed = SUITE_SEED;
        }
  cells_eval(c, nc, threads, progress);
  for (size_t i = 0; i < nk; i++) {
    gate_entry *g = &e[i];
    memset(g, 0, sizeof *g);
    g->k = &k[i];
    for (size_t j = i * per; j < (i + 1) * per; j++) entry_add(g, &c[j]);
  }
  cells_free(c, nc);
}

/* Fold measured cell x into the entry g of its kernel. */
static void entry_add(gate_entry *g, const cell *x) {
  const metrics *m = &x->m;
  if (!x->ok) { /* a kernel that rejects the suite's arguments is wrong */
    snprintf(g->special[0], sizeof g->special[0], "wrong");
    snprintf(g->worst_special[0], sizeof g->worst_special[0], "%s", m->repro);
    return;
  }
#define WORST(field, metric, buf)                                                        \
  if (m->outputs && (metric > g->field || !g->buf[0]))                                     \
    g->field = fmax(g->field, metric),                                                     \
    snprintf(g->buf, sizeof g->buf, "family=%s n=%zu tau=%g: %s  # got %a want %a", \
         x->fam->name, x->n, x->tau, m->repro, m->worst_got, m->worst_want);
  WORST(max_ulp, m->max_finite_ulp, worst_ulp)
  if (m->nonfinite) {
    if (!g->nonfinite) snprintf(g->worst_nonfinite, sizeof g->worst_nonfinite, "family=%s n=%zu tau=%g: %s  # got %a want %a",
                                x->fam->name, x->n, x->tau, m->repro, m->worst_got, m->worst_want);
    g->nonfinite += (double)m->nonfinite;
  }
  WORST(bound_ratio, m->max_ratio, worst_ratio)
  WORST(drift, m->max_drift, worst_drift)
  for (int s = 0; s < MET_NCASES; s++) {
    if (!m->case_rows[s] || !m->case_verdict[s][0]) continue;
    char before[48];
    snprintf(before, sizeof before, "%s", g->special[s]);
    if (!g->special[s][0]) snprintf(g->special[s], sizeof g->special[s], "%s", m->case_verdict[s]);
    else if (strcmp(g->special[s], m->case_verdict[s])) {
      /* merge like metrics.c: wrong dominates, else join */
      if (strstr(m->case_verdict[s], "wrong")) snprintf(g->special[s], sizeof g->special[s], "wrong");
      else if (!strstr(g->special[s], m->case_verdict[s]) && strcmp(g->special[s], "wrong") &&
               strlen(g->special[s]) + strlen(m->case_verdict[s]) + 2 < sizeof g->special[s])
        strcat(strcat(g->special[s], "+"), m->case_verdict[s]);
    }
    if (strcmp(before, g->special[s]) || !g->worst_special[s][0])
      snprintf(g->worst_special[s], sizeof g->worst_special[s], "family=%s n=%zu tau=%g: %s",
               x->fam->name, x->n, x->tau, m->repro);
  }
#undef WORST
}

/* ---- corpus replay ---------------------------------------------------- */

static const family corpus_family = {"corpus", "rows replayed from a search corpus file", NULL, 0};

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* the *.txt names of dir, sorted (so entries come in a stable order) */
static long txt_files(const char *dir, char ***out, char *err, size_t errlen) {
  DIR *d = opendir(dir);
  if (!d) { snprintf(err, errlen, "%s: %s", dir, strerror(errno)); return -1; }
  char **v = NULL;
  long n = 0;
  for (struct dirent *de; (de = readdir(d));) {
    size_t L = strlen(de->d_name);
    if (L < 5 || strcmp(de->d_name + L - 4, ".txt") || de->d_name[0] == '.') continue;
    char **p = realloc(v, (size_t)(n + 1) * sizeof *v);
    if (!p || !(p[n] = strdup(de->d_name))) { v = p ? p : v; snprintf(err, errlen, "%s: out of memory", dir); closedir(d); goto fail; }
    v = p, n++;
  }
  closedir(d);
  if (n) qsort(v, (size_t)n, sizeof *v, str_cmp);
  *out = v;
  return n;
fail:
  for (long i = 0; i < n; i++) free(v[i]);
  free(v);
  return -1;
}

long gate_corpus(const char *dir, const smax_kernel *k, size_t nk, gate_entry **out, int threads,
                 int progress, char *err, size_t errlen) {
  char **names = NULL;
  long nn = txt_files(dir, &names, err, errlen), ne = 0, rc = 0;
  *out = NULL;
  if (nn < 0) return -1;
  size_t nreg, ncell = 0, cap = 0;
  const smax_kernel *reg = smax_registry(&nreg);
  gate_entry *e = calloc((size_t)nn + 1, sizeof *e);
  long *first = calloc((size_t)nn + 1, sizeof *first); /* entry -> its first cell */
  cell *c = NULL;
  if (!e || !first) { snprintf(err, errlen, "%s: out of memory", dir); rc = -1; }
  for (long f = 0; f < nn && !rc; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[f]);
    corpus_header h;
    if (search_corpus_header(path, &h, err, errlen)) { rc = -1; break; }
    const smax_kernel *kd = NULL;
    int known = 0;
    for (size_t i = 0; i < nreg; i++)
      known |= !strcmp(reg[i].name, h.kernel) && !strcmp(smax_func_name(reg[i].func), h.func) &&
               !strcmp(smax_format_name(reg[i].fmt), h.format);
    for (size_t i = 0; i < nk && !kd; i++)
      if (!strcmp(k[i].name, h.kernel) && !strcmp(smax_func_name(k[i].func), h.func) &&
          !strcmp(smax_format_name(k[i].fmt), h.format))
        kd = &k[i];
    if (!known) {
      snprintf(err, errlen, "%s: header names kernel=%s func=%s format=%s, which is not registered", path,
               h.kernel, h.func, h.format);
      rc = -1;
      break;
    }
    if (!kd) continue; /* a kernel outside this run's selection */
    FILE *fp = fopen(path, "r");
    vec_line *v = NULL;
    long nl = fp ? vec_read(fp, path, &v, err, errlen) : -1;
    if (!fp) snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (fp) fclose(fp);
    if (nl < 0) { rc = -1; break; }
    gate_entry *g = &e[ne];
    g->k = kd;
    snprintf(g->corpus, sizeof g->corpus, "%.511s", path);
    first[ne++] = (long)ncell;
    int vjp = kd->func == SMAX_SOFTMAX_VJP || kd->func == SMAX_LOG_SOFTMAX_VJP;
    for (long l = 0; l < nl && !rc; l++) {
      vec_line *L = &v[l];
      if (L->n == 0) continue;
      if (!L->dy != !vjp || (L->dy && L->ndy != L->n)) {
        snprintf(err, errlen, "%s:%ld: %s", path, L->lineno, vjp ? "need 'x.. | dy..' with as many dy as x" : "unexpected '|' (not a VJP)");
        rc = -1;
        break;
      }
      for (size_t j = 0; j < L->n && !rc; j++) {
        int xok = search_storable(kd->fmt, L->x[j]), dok = !L->dy || (isfinite(L->dy[j]) && search_storable(kd->fmt, L->dy[j]));
        if (!xok || !dok) {
          snprintf(err, errlen, "%s:%ld: value %a is not a value of %s", path, L->lineno, !xok ? L->x[j] : L->dy[j],
                   smax_format_name(kd->fmt));
          rc = -1;
        }
      }
      if (rc) break;
      if (ncell == cap) {
        cell *p = realloc(c, (cap = cap ? 2 * cap : 64) * sizeof *c);
        if (!p) { snprintf(err, errlen, "%s: out of memory", path); rc = -1; break; }
        c = p;
      }
      /* one cell per row, measured as eval --input measures it */
      cell *x = &c[ncell];
      memset(x, 0, sizeof *x);
      batch *b = calloc(1, sizeof *b);
      char *src = malloc(strlen(path) + 32);
      if (b) {
        b->rows = 1, b->n = L->n, b->tau = 1, b->in_scale = kio_fixed(kd->fmt) ? 1.0 / 16 : 1;
        b->x = calloc(L->n, sizeof *b->x), b->dy = calloc(L->n, sizeof *b->dy);
        b->mask = calloc(L->n, 1), b->target = calloc(1, sizeof *b->target);
      }
      if (!b || !src || !b->x || !b->dy || !b->mask || !b->target) {
        if (b) batch_free(b);
        free(b), free(src);
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -1;
        break;
      }
      for (size_t j = 0; j < L->n; j++) b->x[j] = L->x[j], b->dy[j] = L->dy ? L->dy[j] : 0;
      size_t t = 0; /* the target eval --input uses */
      while (t + 1 < L->n && (L->x[t] == -INFINITY || isnan(L->x[t]))) t++;
      b->target[0] = (int32_t)t;
      sprintf(src, "%s --line %ld", path, L->lineno);
      x->k = kd, x->fam = &corpus_family, x->n = L->n, x->rows = 1, x->tau = 1, x->given = b, x->source = src;
      ncell++, g->corpus_rows++;
    }
    vec_free(v, nl);
  }
  if (!rc && ncell) {
    cells_eval(c, ncell, threads, progress);
    for (long i = 0; i < ne; i++)
      for (size_t j = (size_t)first[i]; j < (i + 1 < ne ? (size_t)first[i + 1] : ncell); j++) entry_add(&e[i], &c[j]);
  }
  for (size_t j = 0; j < ncell; j++) {
    batch_free((batch *)c[j].given);
    free((void *)c[j].given), free((void *)c[j].source), free(c[j].worst_input);
  }
  free(c), free(first);
  for (long i = 0; i < nn; i++) free(names[i]);
  free(names);
  if (rc) { free(e); return -1; }
  *out = e;
  return ne;
}

void gate_fold(gate_entry *e, const gate_entry *c) {
  const struct { double *dst; double src; char *dw; const char *sw; size_t len; } m[] = {
      {&e->max_ulp, c->max_ulp, e->worst_ulp, c->worst_ulp, sizeof e->worst_ulp},
      {&e->bound_ratio, c->bound_ratio, e->worst_ratio, c->worst_ratio, sizeof e->worst_ratio},
      {&e->drift, c->drift, e->worst_drift, c->worst_drift, sizeof e->worst_drift}};
  for (int j = 0; j < 3; j++)
    if (m[j].src > *m[j].dst) *m[j].dst = m[j].src, snprintf(m[j].dw, m[j].len, "%s", m[j].sw);
  if (c->nonfinite && !e->nonfinite) snprintf(e->worst_nonfinite, sizeof e->worst_nonfinite, "%s", c->worst_nonfinite);
  e->nonfinite += c->nonfinite;
}

static const threshold *find(const threshold *t, size_t nt, const smax_kernel *k) {
  for (size_t i = 0; i < nt; i++)
    if (!strcmp(t[i].kernel, k->name) && !strcmp(t[i].func, smax_func_name(k->func)) &&
        !strcmp(t[i].format, smax_format_name(k->fmt)))
      return &t[i];
  return NULL;
}

size_t gate_check(FILE *fp, const gate_entry *e, size_t ne, const threshold *t, size_t nt) {
  size_t fails = 0;
  for (size_t i = 0; i < ne; i++) {
    const smax_kernel *k = e[i].k;
    const char *id[3] = {k->name, smax_func_name(k->func), smax_format_name(k->fmt)};
    const threshold *th = find(t, nt, k);
    if (!th) {
      fprintf(fp, "FAIL %s %s %s: no thresholds entry (run smaxcheck gate --propose)\n", id[0], id[1], id[2]);
      fails++;
      continue;
    }
    const struct { const char *name; double got, allow; const char *worst; } m[] = {
        {"max_ulp", e[i].max_ulp, th->max_ulp, e[i].worst_ulp},
        {"nonfinite", e[i].nonfinite, th->nonfinite, e[i].worst_nonfinite},
        {"bound_ratio", e[i].bound_ratio, th->bound_ratio, e[i].worst_ratio},
        {"drift", e[i].drift, th->drift, e[i].worst_drift}};
    const char *src = e[i].corpus[0] ? " (corpus)" : ""; /* a replayed search finding */
    for (int j = 0; j < 4; j++)
      if (m[j].allow >= 0 && !(m[j].got <= m[j].allow)) {
        fprintf(fp, "FAIL %s %s %s %s%s measured %.4g > allowed %.4g (thresholds line %ld) %s\n", id[0], id[1],
                id[2], m[j].name, src, m[j].got, m[j].allow, th->line, m[j].worst);
        fails++;
      }
    for (int s = 0; s < MET_NCASES; s++)
      if (e[i].corpus[0] && (!e[i].special[s][0] || strstr(th->special[s], e[i].special[s])))
        continue; /* a corpus row shows one verdict of the several the suite may have seen */
      else if ((th->special[s][0] || e[i].special[s][0]) && strcmp(th->special[s], e[i].special[s]) &&
          (th->special[s][0] || !strcmp(e[i].special[s], "wrong"))) {
        fprintf(fp, "FAIL %s %s %s special %s is '%s', thresholds say '%s' (line %ld) %s\n", id[0], id[1], id[2],
                met_case_name[s], e[i].special[s][0] ? e[i].special[s] : "(not seen)",
                th->special[s][0] ? th->special[s] : "(nothing)", th->line, e[i].worst_special[s]);
        fails++;
      }
  }
  return fails;
}

/* round up to 3 significant digits, so the proposal passes */
static double up3(double v) {
  if (!(v > 0) || !isfinite(v)) return v;
  double s = pow(10, floor(log10(v)) - 2);
  return ceil(v / s - 1e-9) * s;
}

void gate_propose(FILE *fp, const gate_entry *e, size_t ne) {
  fprintf(fp, "# smaxcheck accepted errors, measured by `smaxcheck gate --propose`.\n"
              "# Reviewed by a human and committed; never regenerated silently.\n"
              "# KERNEL FUNCTION FORMAT max_ulp=X nonfinite=K bound_ratio=Y drift=Z special=CASE:VERDICT,...\n"
              "# max_ulp: largest finite ulp error; nonfinite: outputs NaN/inf where the value is finite\n");
  for (size_t i = 0; i < ne; i++) {
    const smax_kernel *k = e[i].k;
    if (k->flags & SMAX_BROKEN) continue;
    fprintf(fp, "%s %s %s max_ulp=%.3g", k->name, smax_func_name(k->func), smax_format_name(k->fmt),
            up3(e[i].max_ulp));
    fprintf(fp, " nonfinite=%.0f", e[i].nonfinite);
    if (kio_oracle_format(k->fmt)->kind == ORACLE_FLOAT) fprintf(fp, " bound_ratio=%.3g", up3(e[i].bound_ratio));
    if (k->func == SMAX_SOFTMAX) fprintf(fp, " drift=%.3g", up3(e[i].drift));
    int first = 1;
    for (int s = 0; s < MET_NCASES; s++)
      if (e[i].special[s][0]) fprintf(fp, "%s%s:%s", first ? " special=" : ",", met_case_name[s], e[i].special[s]), first = 0;
    fputc('\n', fp);
  }
}

/* load.c -- read and check results files (harness/SCHEMA.md) and fuzz
 * summaries (reports/FUZZ_SCHEMA.md).  Every problem is reported as one
 * line naming the file and the line of the offending value. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

static char *read_file(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *s = malloc(cap);
  while (s) {
    if (n == cap) {
      char *p = realloc(s, cap *= 2);
      if (!p) { free(s), s = NULL; errno = ENOMEM; break; }
      s = p;
    }
    size_t r = fread(s + n, 1, cap - n, fp);
    n += r;
    if (r == 0) {
      if (ferror(fp)) { free(s), s = NULL; errno = EIO; }
      break;
    }
  }
  fclose(fp);
  *len = n;
  return s;
}

static void err(const char *path, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(const char *path, long line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (line > 0) fprintf(stderr, "smaxcheck report: %s:%ld: ", path, line);
  else fprintf(stderr, "smaxcheck report: %s: ", path);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static json_doc *load_doc(const char *path, json **root) {
  size_t len;
  char *text = read_file(path, &len);
  if (!text) { err(path, 0, "%s", strerror(errno)); return NULL; }
  char why[256];
  long line = 0;
  json_doc *d = json_parse(text, len, root, &line, why, sizeof why);
  free(text);
  if (!d) err(path, line, "bad JSON: %s", why);
  return d;
}

/* typed field access; each returns 0, or -1 after printing the error */
typedef struct {
  const char *path;
  const json *obj;
  const char *what; /* "result object", "campaign", ... */
} ctx;

static int get_str(const ctx *c, const char *key, int required, const char **out) {
  const json *v = json_get(c->obj, key);
  if (!v) {
    if (!required) { *out = ""; return 0; }
    err(c->path, c->obj->line, "%s has no \"%s\"", c->what, key);
    return -1;
  }
  if (v->type != JSON_STR) { err(c->path, v->line, "\"%s\" must be a string", key); return -1; }
  *out = v->str;
  return 0;
}

static int get_num(const ctx *c, const char *key, int required, double dflt, double *out) {
  const json *v = json_get(c->obj, key);
  if (!v) {
    if (!required) { *out = dflt; return 0; }
    err(c->path, c->obj->line, "%s has no \"%s\"", c->what, key);
    return -1;
  }
  if (json_number(v, out)) {
    err(c->path, v->line, "\"%s\" must be a number (or \"inf\", \"-inf\", \"nan\")", key);
    return -1;
  }
  return 0;
}

static int get_count(const ctx *c, const char *key, int required, double dflt, double *out) {
  if (get_num(c, key, required, dflt, out)) return -1;
  if (!(*out >= 0) || isinf(*out) || *out != floor(*out)) {
    const json *v = json_get(c->obj, key);
    err(c->path, v ? v->line : c->obj->line, "\"%s\" must be a non-negative integer", key);
    return -1;
  }
  return 0;
}

/* optional boolean: *out = dflt if absent */
static int get_bool(const ctx *c, const char *key, int dflt, int *out) {
  const json *v = json_get(c->obj, key);
  if (!v) { *out = dflt; return 0; }
  if (v->type != JSON_BOOL) { err(c->path, v->line, "\"%s\" must be true or false", key); return -1; }
  *out = v->boolean;
  return 0;
}

int cell_third_party(const rcell *c) { return c->source[0] && strcmp(c->source, "builtin"); }

const char *source_kind(const char *source) {
  return !strncmp(source, "plugin:", 7) ? "plugin" : !strncmp(source, "cmd:", 4) ? "cmd" : "third-party";
}

/* The fields `compare` adds (harness/SCHEMA.md): source, about,
 * claim_declared, ftz_outputs, finding, skipped.  All optional; a finding or
 * a skipped cell must say ok false, since its metrics are zeros, not
 * measurements. */
static int load_origin(const ctx *c, rcell *r) {
  const char *path = c->path;
  const json *o = c->obj;
  if (get_str(c, "source", 0, &r->source) || get_str(c, "about", 0, &r->about) ||
      get_bool(c, "claim_declared", 1, &r->claim_declared) || get_count(c, "ftz_outputs", 0, 0, &r->ftz))
    return -1;
  if (!r->source[0]) r->source = "builtin";
  r->f_class = r->f_message = r->f_input = r->f_repro = "";
  const json *f = json_get(o, "finding");
  if (f) {
    if (f->type != JSON_OBJ) { err(path, f->line, "\"finding\" must be an object {class, message, input, repro}"); return -1; }
    ctx cf = {path, f, "\"finding\""};
    if (get_str(&cf, "class", 1, &r->f_class) || get_str(&cf, "message", 1, &r->f_message) ||
        get_str(&cf, "input", 1, &r->f_input) || get_str(&cf, "repro", 1, &r->f_repro))
      return -1;
    if (!r->f_class[0]) { err(path, json_get(f, "class")->line, "finding \"class\" is empty"); return -1; }
    r->has_finding = 1;
  }
  /* harness/results.c writes the reason as a string; true is accepted too */
  const json *sk = json_get(o, "skipped");
  if (sk) {
    if (sk->type == JSON_STR) r->skipped = sk->str;
    else if (sk->type == JSON_BOOL) r->skipped = sk->boolean ? "" : NULL;
    else { err(path, sk->line, "\"skipped\" must be true, false or a string (the reason)"); return -1; }
  }
  if ((r->has_finding || r->skipped) && r->ok) {
    err(path, (f ? f : sk)->line, "a cell with \"%s\" must have \"ok\": false", f ? "finding" : "skipped");
    return -1;
  }
  if (r->has_finding && r->skipped) { err(path, sk->line, "a cell cannot have both \"finding\" and \"skipped\""); return -1; }
  return 0;
}

static int load_cell(const char *path, const json *o, rcell *r) {
  if (o->type != JSON_OBJ) { err(path, o->line, "a result must be an object"); return -1; }
  ctx c = {path, o, "result object"};
  memset(r, 0, sizeof *r);
  r->file = path, r->line = o->line;
  const json *ok = json_get(o, "ok");
  if (get_str(&c, "kernel", 1, &r->kernel) || get_str(&c, "func", 1, &r->func) ||
      get_str(&c, "format", 1, &r->format) || get_str(&c, "family", 1, &r->family) ||
      get_count(&c, "n", 1, 0, &r->n) || get_count(&c, "rows", 0, 0, &r->rows) ||
      get_num(&c, "tau", 0, 1, &r->tau) || get_num(&c, "seed", 0, 0, &r->seed))
    return -1;
  if (!ok) { err(path, o->line, "result object has no \"ok\""); return -1; }
  if (ok->type != JSON_BOOL) { err(path, ok->line, "\"ok\" must be true or false"); return -1; }
  r->ok = ok->boolean;
  double dr, dt;
  if (get_count(&c, "outputs", 1, 0, &r->outputs) || get_num(&c, "max_ulp", 1, 0, &r->max_ulp) ||
      get_num(&c, "mean_ulp", 1, 0, &r->mean_ulp) || get_num(&c, "p50_ulp", 0, 0, &r->p50) ||
      get_num(&c, "p99_ulp", 1, 0, &r->p99) || get_num(&c, "p999_ulp", 0, 0, &r->p999) ||
      get_num(&c, "pct_correctly_rounded", 1, 0, &r->pct_cr) ||
      get_num(&c, "max_bound_ratio", 1, 0, &r->bound) || get_num(&c, "max_claim_ratio", 1, 0, &r->claim) ||
      get_num(&c, "max_sum_drift_ulp", 1, 0, &r->drift) || get_num(&c, "shift_ulp", 0, 0, &r->shift) ||
      get_num(&c, "perm_ulp", 0, 0, &r->perm) || get_num(&c, "elem_per_s", 1, 0, &r->eps) ||
      get_count(&c, "claim_failures", 0, 0, &r->claim_failures) ||
      get_count(&c, "mono_violations", 0, 0, &r->mono) ||
      get_num(&c, "deterministic_repeat", 0, -2, &dr) || get_num(&c, "deterministic_threads", 0, -2, &dt) ||
      get_str(&c, "convention", 0, &r->convention) || get_str(&c, "repro", 0, &r->repro))
    return -1;
  r->det_repeat = (int)dr, r->det_threads = (int)dt;
  if (load_origin(&c, r)) return -1;
  const json *sp = json_get(o, "special");
  if (sp) {
    if (sp->type != JSON_OBJ) { err(path, sp->line, "\"special\" must be an object"); return -1; }
    for (size_t i = 0; i < sp->len; i++) {
      const json *e = sp->items[i];
      if (e->type != JSON_OBJ) { err(path, e->line, "special \"%.60s\" must be an object {rows, verdict}", sp->keys[i]); return -1; }
      if (r->nspecial == REP_MAX_SPECIAL) { err(path, e->line, "more than %d special-value cases", REP_MAX_SPECIAL); return -1; }
      ctx ce = {path, e, "special-value entry"};
      if (get_count(&ce, "rows", 1, 0, &r->special[r->nspecial].rows) ||
          get_str(&ce, "verdict", 1, &r->special[r->nspecial].verdict) ||
          get_str(&ce, "input", 0, &r->special[r->nspecial].input) ||
          get_str(&ce, "got", 0, &r->special[r->nspecial].got) ||
          get_str(&ce, "want", 0, &r->special[r->nspecial].want))
        return -1;
      r->special[r->nspecial++].name = sp->keys[i];
    }
  }
  const json *w = json_get(o, "worst");
  if (w) {
    if (w->type != JSON_OBJ) { err(path, w->line, "\"worst\" must be an object"); return -1; }
    ctx cw = {path, w, "\"worst\""};
    if (get_count(&cw, "row", 0, 0, &r->worst_row) || get_count(&cw, "output", 0, 0, &r->worst_out) ||
        get_str(&cw, "got", 0, &r->got) || get_str(&cw, "want", 0, &r->want) || get_str(&cw, "input", 0, &r->input))
      return -1;
    r->has_worst = 1;
  } else r->got = r->want = r->input = "";
  return 0;
}

int rset_load(rset *set, const char *path) {
  json *root;
  json_doc *d = load_doc(path, &root);
  if (!d) return -1;
  const json *schema = json_get(root, "schema"), *ver = json_get(root, "version"), *res = json_get(root, "results");
  const char *why = NULL;
  long line = root->line;
  if (root->type != JSON_OBJ) why = "not a results file (the top level must be an object)";
  else if (!schema || schema->type != JSON_STR || strcmp(schema->str, "smaxcheck-results"))
    why = "not a results file (\"schema\" must be \"smaxcheck-results\"; see harness/SCHEMA.md)";
  else if (!ver || ver->type != JSON_NUM) why = "\"version\" missing or not a number";
  else if (ver->num != 1) {
    err(path, ver->line, "results schema version %g is not supported (this reader knows version 1)", ver->num);
    json_free(d);
    return -1;
  } else if (!res || res->type != JSON_ARR) why = "\"results\" missing or not an array", line = res ? res->line : line;
  if (why) {
    err(path, line, "%s", why);
    json_free(d);
    return -1;
  }
  json_doc **nd = realloc(set->docs, (set->ndocs + 1) * sizeof *nd);
  if (!nd) { err(path, 0, "out of memory"); json_free(d); return -1; }
  set->docs = nd;
  set->docs[set->ndocs++] = d; /* the cells point into it */
  if (set->n + res->len > set->cap) {
    size_t cap = set->cap ? set->cap : 64;
    while (cap < set->n + res->len) cap *= 2;
    rcell *c = realloc(set->c, cap * sizeof *c);
    if (!c) { err(path, 0, "out of memory"); return -1; }
    set->c = c, set->cap = cap;
  }
  for (size_t i = 0; i < res->len; i++)
    if (load_cell(path, res->items[i], &set->c[set->n + i])) return -1;
  set->n += res->len;
  return 0;
}

void rset_free(rset *set) {
  for (size_t i = 0; i < set->ndocs; i++) json_free(set->docs[i]);
  free(set->docs);
  free(set->c);
  memset(set, 0, sizeof *set);
}

int rfuzz_load(rfuzz *fz, const char *path) {
  json *root;
  memset(fz, 0, sizeof *fz);
  json_doc *d = load_doc(path, &root);
  if (!d) return -1;
  fz->doc = d;
  const json *schema = json_get(root, "schema"), *ver = json_get(root, "version"), *camp = json_get(root, "campaigns");
  if (root->type != JSON_OBJ || !schema || schema->type != JSON_STR || strcmp(schema->str, "smaxcheck-fuzz")) {
    err(path, root->line, "not a fuzz summary (\"schema\" must be \"smaxcheck-fuzz\"; see reports/FUZZ_SCHEMA.md)");
    return -1;
  }
  if (!ver || ver->type != JSON_NUM || ver->num != 1) {
    err(path, ver ? ver->line : root->line, "fuzz summary \"version\" must be 1");
    return -1;
  }
  if (!camp || camp->type != JSON_ARR) {
    err(path, camp ? camp->line : root->line, "\"campaigns\" missing or not an array");
    return -1;
  }
  fz->c = calloc(camp->len ? camp->len : 1, sizeof *fz->c);
  if (!fz->c) { err(path, 0, "out of memory"); return -1; }
  for (size_t i = 0; i < camp->len; i++) {
    const json *o = camp->items[i];
    rcampaign *k = &fz->c[i];
    if (o->type != JSON_OBJ) { err(path, o->line, "a campaign must be an object"); return -1; }
    ctx c = {path, o, "campaign"};
    if (get_str(&c, "engine", 1, &k->engine) || get_str(&c, "target", 1, &k->target) ||
        get_num(&c, "hours", 1, 0, &k->hours) || get_num(&c, "execs", 1, 0, &k->execs) ||
        get_num(&c, "exec_per_s", 1, 0, &k->exec_per_s))
      return -1;
    const json *f = json_get(o, "findings");
    if (!f || f->type != JSON_ARR) {
      err(path, f ? f->line : o->line, "campaign \"findings\" missing or not an array");
      return -1;
    }
    k->f = calloc(f->len ? f->len : 1, sizeof *k->f);
    if (!k->f) { err(path, 0, "out of memory"); return -1; }
    fz->n = i + 1;
    for (size_t j = 0; j < f->len; j++) {
      const json *e = f->items[j];
      if (e->type != JSON_OBJ) { err(path, e->line, "a finding must be an object"); return -1; }
      ctx cf = {path, e, "finding"};
      if (get_str(&cf, "signature", 1, &k->f[j].signature) || get_count(&cf, "count", 1, 0, &k->f[j].count) ||
          get_str(&cf, "replay", 1, &k->f[j].replay))
        return -1;
      k->nf = j + 1;
    }
  }
  fz->n = camp->len;
  return 0;
}

void rfuzz_free(rfuzz *fz) {
  if (fz->c)
    for (size_t i = 0; i < fz->n; i++) free(fz->c[i].f);
  free(fz->c);
  json_free(fz->doc);
  memset(fz, 0, sizeof *fz);
}

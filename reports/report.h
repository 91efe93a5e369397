/* report.h -- `smaxcheck report`: the data it reads and the HTML it writes.
 *
 *   load.c    results files (harness/SCHEMA.md) and fuzz summaries
 *             (reports/FUZZ_SCHEMA.md) into the structures below, checked
 *   html.c    the growable output buffer, HTML escaping, number formats
 *   charts.c  the SVG charts
 *   cmd_report.c  the command and the page's sections
 */
#ifndef SMAXCHECK_REPORT_H
#define SMAXCHECK_REPORT_H
#include <stddef.h>
#include "json.h"

#define REP_MAX_SPECIAL 16

/* one result object: kernel x function x format x family x n */
typedef struct {
  const char *kernel, *func, *format, *family;
  double n, rows, tau, seed;
  int ok;
  double outputs, max_ulp, mean_ulp, p50, p99, p999, pct_cr;
  double bound, claim, drift, shift, perm, eps;
  double claim_failures, mono;
  int det_repeat, det_threads; /* -2: not in the file */
  const char *convention;      /* "" if absent */
  size_t nspecial;
  struct {
    const char *name, *verdict;
    const char *input, *got, *want; /* one example row in %a, "" if absent */
    double rows;
  } special[REP_MAX_SPECIAL];
  int has_worst;
  double worst_row, worst_out;
  const char *got, *want, *input, *repro; /* "" if absent */
  const char *about;  /* the kernel's own description, "" if absent */
  const char *source; /* "builtin" (also when absent), "plugin:PATH", "cmd:COMMAND" */
  int claim_declared; /* 0: no accuracy claim (claim ratio n/a); 1 if absent */
  double ftz;         /* ftz_outputs, 0 if absent */
  /* `compare`: this cell ended its kernel's run (ok is then false) */
  int has_finding;
  const char *f_class, *f_message, *f_input, *f_repro;
  /* `compare`: not run after an earlier finding; NULL if run, else the
   * reason ("" when the file says only true) */
  const char *skipped;
  const char *file;
  long line;
} rcell;

/* is the cell's kernel third-party (a plugin or a command, not impls/)? */
int cell_third_party(const rcell *c);
/* short badge text for a source: "plugin", "cmd", "third-party" */
const char *source_kind(const char *source);

/* cells from one or more results files */
typedef struct {
  rcell *c;
  size_t n, cap;
  json_doc **docs;
  size_t ndocs;
} rset;

/* Read FILE into set (appending).  On error prints one line
 * "smaxcheck report: FILE:LINE: why" to stderr and returns -1. */
int rset_load(rset *set, const char *path);
void rset_free(rset *set);

typedef struct {
  const char *signature, *replay;
  double count;
} rfinding;
typedef struct {
  const char *engine, *target;
  double hours, execs, exec_per_s;
  rfinding *f;
  size_t nf;
} rcampaign;
typedef struct {
  rcampaign *c;
  size_t n;
  json_doc *doc;
} rfuzz;
int rfuzz_load(rfuzz *fz, const char *path);
void rfuzz_free(rfuzz *fz);

/* ---- html.c: output buffer ---- */
typedef struct {
  char *s;
  size_t len, cap;
  int oom;
} hbuf;
void hb_raw(hbuf *b, const char *s);
void hb_rawn(hbuf *b, const char *s, size_t n);
void hb_printf(hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* text escaped for HTML content and attribute values (&<>"'); bytes that
 * are not valid UTF-8 and control characters become U+FFFD */
void hb_esc(hbuf *b, const char *s);
/* the same, at most `max` characters, then an ellipsis */
void hb_esc_trunc(hbuf *b, const char *s, size_t max);
/* a number as printed in the tables: 3 significant digits, "inf", "nan" */
void fmt_num(char *out, size_t ol, double v);
/* a number exactly (%.17g), as the JSON writes it: data-v attributes */
void fmt_exact(char *out, size_t ol, double v);
/* elements per second, with k/M/G */
void fmt_rate(char *out, size_t ol, double v);

/* ---- descriptors: one per kernel x function x format ---- */
typedef struct {
  const char *kernel, *func, *format, *convention;
  size_t *cells, ncells; /* indices into the set */
  size_t ok_cells, nok_cells;
  double outputs;
  double max_ulp, mean_ulp, p50, p99, p999, pct_cr;
  double bound, claim, claim_failures, drift, eps;
  double mono, ftz;
  const char *source, *about; /* of the first cell */
  int third_party;            /* source is not "builtin" */
  int claim_na;               /* some cell declares no claim: claim ratio n/a */
  size_t finding_cells, skipped_cells, rejected_cells; /* ok false, by cause */
  int det_repeat_fail, det_threads_fail;
  int is_float, is_softmax;
  int verdict;      /* 0 green, 1 amber, 2 red */
  char why[512];    /* reasons for amber/red, plain text */
  int id;           /* 1-based row number */
} rdesc;

/* format helpers */
int format_is_float(const char *fmt);
/* ulp of 1 in FMT (2^(1-p)), LSB for fixed point; 0 if unknown */
double format_unit(const char *fmt);

/* ---- charts.c ---- */
/* palette colour i (cycled) */
const char *chart_colour(size_t i);
void chart_ulp_profile(hbuf *b, const rset *s, const rdesc *d, size_t nd);
void chart_bound_spread(hbuf *b, const rset *s, const rdesc *d, size_t nd);
/* one point per descriptor with finite outputs and a throughput; third-party
 * descriptors hollow.  Each point is <g class="pt[ tp]" data-id="ID"> */
void chart_pareto(hbuf *b, const rset *s, const rdesc *d, size_t nd);
/* spread (max - min)/tau of the finite entries of a worst-input row, or -1 */
double row_spread(const char *input, double tau);
#endif

/* cmd_report.c -- `smaxcheck report RESULTS.json... -o DIR`: one
 * self-contained HTML page (inline CSS and SVG; a tiny inline script only
 * makes tables sortable) from results files (harness/SCHEMA.md), optionally
 * compared with a baseline run, coloured against a thresholds file, and with
 * a fuzz campaign summary (reports/FUZZ_SCHEMA.md).
 *
 * Third-party kernels (`smaxcheck compare`: plugins, commands) sit beside
 * the built-in ones in every section, badged with their source; a cell that
 * ended such a kernel's run with a finding gets a row in "Findings".
 *
 * Every input is read and checked before anything is written; the page is
 * written to DIR/index.html.tmp.PID and renamed, so DIR/index.html is never
 * half written.  Every string from the inputs is HTML-escaped (kernel names
 * come from third-party plugins), and a Content-Security-Policy forbids any
 * network access and any script but ours (pinned by its hash). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "gate.h"
#include "report.h"
#include "sha256.h"

static const char usage[] =
    "usage: smaxcheck report RESULTS.json... -o DIR [--baseline OLD.json]\n"
    "                        [--thresholds FILE] [--fuzz SUMMARY.json] [--top K]\n"
    "                        [--title TEXT] [--quiet]\n"
    "Writes DIR/index.html: one self-contained page (no network access, opens\n"
    "from disk) with, per kernel x function x format, a summary row (max / mean\n"
    "/ p99 ulp, % correctly rounded, bound and claim ratios, sum drift,\n"
    "special-value verdicts, throughput) coloured by verdict, third-party\n"
    "kernels (`compare` plugins and commands) badged with their source; the\n"
    "findings (a third-party kernel that crashed, hung, broke the protocol or\n"
    "returned garbage: class, message, the input in %a, the repro command); the\n"
    "special-value matrix (oracle/SEMANTICS.md cases); SVG charts (ulp error per\n"
    "kernel, bound ratio vs input spread with the Blanchard-Higham-Higham bound,\n"
    "accuracy vs throughput with the Pareto front); the worst inputs in %a with\n"
    "the command reproducing each.  RESULTS files (harness/SCHEMA.md, from\n"
    "`smaxcheck eval --json`, `compare --json` or `merge`) are joined.\n"
    "  --baseline OLD.json  add a diff against an earlier run (better / worse)\n"
    "  --thresholds FILE    also colour against accepted errors (format of\n"
    "                       harness/thresholds.txt, see harness/gate.c)\n"
    "  --fuzz SUMMARY.json  add a fuzz campaign summary (reports/FUZZ_SCHEMA.md)\n"
    "  --top K              worst cases shown per kernel (default 3)\n"
    "  --title TEXT         page title\n"
    "Bad input (unreadable file, bad JSON, wrong schema) gives one error line\n"
    "naming file and line, exit status 2, and writes nothing.\n";

/* The page's only script: click a column header to sort.  The page is
 * complete without it.  Its SHA-256 is pinned in the Content-Security-Policy
 * (tests/test_report_check.py recomputes it). */
static const char SORT_JS[] =
    "for(const t of document.querySelectorAll('table.sortable'))t.tHead.addEventListener('click',e=>{"
    "const h=e.target.closest('th');if(!h)return;const i=[...h.parentNode.children].indexOf(h),b=t.tBodies[0],"
    "d=h.dataset.dir==='a'?'d':'a';for(const o of h.parentNode.children)delete o.dataset.dir;h.dataset.dir=d;"
    "const k=r=>{const c=r.cells[i];if(!c)return'';const v=c.dataset.v;if(v===undefined)return c.textContent;"
    "return v==='inf'||v==='nan'?Infinity:v==='-inf'?-Infinity:parseFloat(v)};"
    "[...b.rows].sort((x,y)=>{const p=k(x),q=k(y);const r=typeof p==='number'&&typeof q==='number'?"
    "(p===q?0:p<q?-1:1):String(p).localeCompare(String(q));return d==='a'?r:-r}).forEach(r=>b.appendChild(r))});";

static const char CSS[] =
    ":root{--fg:#1c2330;--mut:#5d6677;--line:#e2e5eb;--head:#f2f4f7;--g:#e2f3e5;--gf:#17602c;--a:#fff1cf;"
    "--af:#7d5200;--r:#fde0dd;--rf:#9c1f17;--t:#e3f0f7;--tf:#1d5a75;--n:#f0f1f3;--nf:#6b7280}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#eef0f3;color:var(--fg);font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans','Liberation Sans',sans-serif}\n"
    "main{max-width:1280px;margin:0 auto;background:#fff;padding:28px 36px 60px;min-height:100vh}\n"
    "h1{font-size:26px;margin:0 0 2px;letter-spacing:-.01em}\n"
    "h2{font-size:19px;margin:38px 0 10px;padding-bottom:5px;border-bottom:2px solid var(--line)}\n"
    "h3{font-size:15px;margin:22px 0 6px}\n"
    "p{margin:6px 0;max-width:98ch}.mut,.meta{color:var(--mut)}.meta{margin-bottom:14px}\n"
    "nav{margin:10px 0 4px;font-size:13px}nav a{color:#2958a8;text-decoration:none;margin-right:16px}\n"
    "nav a:hover{text-decoration:underline}\n"
    ".cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0 6px}\n"
    ".card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px}\n"
    ".card b{display:block;font-size:24px;font-variant-numeric:tabular-nums}.card span{color:var(--mut);font-size:12px}\n"
    ".card.g{border-left:5px solid #2f9e4f}.card.a{border-left:5px solid #e0a100}.card.r{border-left:5px solid #d93b2f}\n"
    ".scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13px}\n"
    "th,td{padding:4px 9px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;vertical-align:top}\n"
    "th{background:var(--head);font-weight:600;font-size:12px;color:#394152;border-bottom:1px solid #cfd4dc}\n"
    "table.sortable th{cursor:pointer}table.sortable th[data-dir=a]::after{content:' \\25B2'}"
    "table.sortable th[data-dir=d]::after{content:' \\25BC'}\n"
    "th.l,td.l{text-align:left}td.w{white-space:normal}tbody tr:hover td{filter:brightness(.97)}\n"
    "td.g,span.g{background:var(--g);color:var(--gf)}td.a,span.a{background:var(--a);color:var(--af)}"
    "td.r,span.r{background:var(--r);color:var(--rf);font-weight:600}td.t,span.t{background:var(--t);color:var(--tf)}"
    "td.n,span.n{background:var(--n);color:var(--nf)}td.x{color:#9aa1ad}\n"
    ".badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600}\n"
    ".id{color:var(--mut);font-size:12px}.badge.src{background:#ebe5f6;color:#51358c;font-weight:500;font-size:11px}\n"
    "code,pre,.mono{font-family:'DejaVu Sans Mono',ui-monospace,Menlo,Consolas,monospace;font-size:12px}\n"
    "code.cmd{background:#f4f5f7;border:1px solid var(--line);border-radius:4px;padding:1px 5px;white-space:pre-wrap;"
    "word-break:break-all;user-select:all}\n"
    "tr.sub td{border-bottom:2px solid var(--line);text-align:left;white-space:normal;padding-bottom:8px}\n"
    "tr.sub td div{margin:2px 0}details summary{cursor:pointer;color:#2958a8}details.row{display:inline}"
    "details.row[open]{display:block}tr.first td{border-top:2px solid #cfd4dc}\n"
    "details pre{white-space:pre-wrap;word-break:break-all;max-height:14em;overflow:auto;background:#f7f8fa;padding:6px}\n"
    "figure{margin:18px 0 26px}figcaption{color:#394152;font-size:13px;max-width:110ch;margin-top:6px}\n"
    "svg.chart{max-width:100%;height:auto;display:block;border:1px solid var(--line);border-radius:6px;background:#fff}\n"
    "svg .grid{stroke:#e8eaee}svg .minor{stroke:#b8bec8}svg .axis{stroke:#6b7280}"
    "svg .tick{font-size:11px;fill:#4b5363}svg .atitle{font-size:12px;fill:#2b3240}"
    "svg .leg{font-size:11.5px;fill:#2b3240}svg .leghead{font-size:12px;font-weight:600;fill:#2b3240}"
    "svg .rowlab{font-size:12px;fill:#1c2330}svg .rid{fill:#8a92a0}svg .tp{fill:#51358c;font-size:10.5px}svg .plab{font-size:10.5px;fill:#394152}"
    "svg .ref{stroke:#8a92a0;stroke-dasharray:4 3}svg .reflab{font-size:11px;fill:#5d6677}"
    "svg .front{fill:none;stroke:#111;stroke-width:1.5;stroke-dasharray:6 3}\n"
    "ul.find{margin:6px 0 0 0;padding-left:20px}ul.find li{margin:2px 0}\n"
    ".legend span{margin-right:12px;padding:1px 8px;border-radius:4px;font-size:12px}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;font-size:13px}dt{font-weight:600}dd{margin:0}\n"
    "footer{margin-top:40px;color:var(--mut);font-size:12px}\n";

/* ---------------------------------------------------------------------- */

enum { V_GREEN, V_AMBER, V_RED };
static const char *const VCLASS[] = {"g", "a", "r"};

typedef struct {
  const char *name, *label, *about;
} case_info;
static const case_info CASES[] = {
    {"C0-empty", "C0 empty", "n = 0"},
    {"C1-nan-x", "C1 NaN in x", "an unmasked NaN in x: every output NaN"},
    {"C2-bad-dy", "C2 bad dy", "VJPs: a NaN or \xc2\xb1inf in dy"},
    {"C3-pinf-multi", "C3 several +inf", "two or more +inf entries: no limit exists"},
    {"C4-pinf-one", "C4 one +inf", "exactly one +inf entry: the one-hot limit"},
    {"C5-all-masked", "C5 all masked", "every entry masked or \xe2\x88\x92inf"},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static int is_known_case(const char *s) {
  for (size_t i = 0; i < NCASES; i++)
    if (!strcmp(CASES[i].name, s)) return 1;
  return 0;
}

/* merged verdict of several cells, as the gate merges them (harness/metrics.c):
 * "wrong" wins, otherwise distinct verdicts joined by '+' */
static void verdict_merge(char *cell, size_t cl, const char *v) {
  if (!cell[0]) snprintf(cell, cl, "%s", v);
  else if (strcmp(cell, v) && strcmp(cell, "wrong")) {
    if (!strcmp(v, "wrong")) snprintf(cell, cl, "wrong");
    else if (!strstr(cell, v) && strlen(cell) + strlen(v) + 2 < cl) {
      strcat(cell, "+");
      strcat(cell, v);
    }
  }
}

/* is every '+'-part of verdict v "reference", "n/a", a modifier allowed in
 * every case, or declared in the kernel's convention list? */
static int verdict_declared(const char *v, const char *convention) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", v);
  char *save = NULL;
  for (char *p = strtok_r(buf, "+", &save); p; p = strtok_r(NULL, "+", &save)) {
    if (!strcmp(p, "reference") || !strcmp(p, "n/a") || !strcmp(p, "masked-const") || !strcmp(p, "zero-sign") ||
        !strcmp(p, "ftz") || !strcmp(p, "daz"))
      continue;
    size_t n = strlen(p);
    int found = 0;
    for (const char *q = convention; (q = strstr(q, p)); q += n)
      if ((q == convention || q[-1] == ' ') && (q[n] == 0 || q[n] == ' ')) { found = 1; break; }
    if (!found) return 0;
  }
  return 1;
}

typedef struct {
  char verdict[128];
  double rows;
  size_t cells;
} case_agg;

static void desc_case(const rset *s, const rdesc *d, const char *name, case_agg *out) {
  memset(out, 0, sizeof *out);
  for (size_t k = 0; k < d->ncells; k++) {
    const rcell *c = &s->c[d->cells[k]];
    for (size_t j = 0; j < c->nspecial; j++)
      if (!strcmp(c->special[j].name, name)) {
        verdict_merge(out->verdict, sizeof out->verdict, c->special[j].verdict);
        out->rows += c->special[j].rows;
        out->cells++;
      }
  }
}

static const threshold *find_threshold(const threshold *t, long nt, const rdesc *d) {
  for (long i = 0; i < nt; i++)
    if (!strcmp(t[i].kernel, d->kernel) && !strcmp(t[i].func, d->func) && !strcmp(t[i].format, d->format))
      return &t[i];
  return NULL;
}

static int case_slot(const char *name) {
  for (int i = 0; i < MET_NCASES; i++)
    if (!strcmp(met_case_name[i], name)) return i;
  return -1;
}

static void why_add(rdesc *d, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_add(rdesc *d, int level, const char *fmt, ...) {
  if (level > d->verdict) d->verdict = level;
  size_t l = strlen(d->why);
  if (l + 4 >= sizeof d->why) return;
  if (l) strcat(d->why, "; "), l += 2;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->why + l, sizeof d->why - l, fmt, ap);
  va_end(ap);
}

/* sticky NaN max */
static double nmax(double a, double b) { return isnan(a) || isnan(b) ? NAN : a > b ? a : b; }

/* group cells into descriptors (first appearance order) and aggregate */
/* a kernel declaring no claim: the bound ratio above which it is broken
 * (harness/fuzzcase.c's FUZZ_BHH_SLACK) */
#define REP_BHH_SLACK 2.0

static rdesc *build_descs(const rset *s, size_t *nd_out, const threshold *th, long nth) {
  rdesc *d = calloc(s->n ? s->n : 1, sizeof *d);
  size_t nd = 0;
  if (!d) return NULL;
  size_t *slot = calloc(s->n ? s->n : 1, sizeof *slot);
  if (!slot) { free(d); return NULL; }
  for (size_t i = 0; i < s->n; i++) {
    const rcell *c = &s->c[i];
    size_t j;
    /* the source is part of the key: a plugin's kernel named like a
     * built-in one is another kernel, not more cells of it */
    for (j = 0; j < nd; j++)
      if (!strcmp(d[j].kernel, c->kernel) && !strcmp(d[j].func, c->func) && !strcmp(d[j].format, c->format) &&
          !strcmp(d[j].source, c->source))
        break;
    if (j == nd) {
      d[nd].kernel = c->kernel, d[nd].func = c->func, d[nd].format = c->format, d[nd].convention = c->convention;
      d[nd].source = c->source, d[nd].about = c->about, d[nd].third_party = cell_third_party(c);
      nd++;
    }
    slot[i] = j;
    d[j].ncells++;
  }
  size_t off = 0;
  size_t *all = calloc(s->n ? s->n : 1, sizeof *all);
  if (!all) { free(d), free(slot); return NULL; }
  for (size_t j = 0; j < nd; j++) d[j].cells = all + off, off += d[j].ncells, d[j].ncells = 0;
  for (size_t i = 0; i < s->n; i++) d[slot[i]].cells[d[slot[i]].ncells++] = i;
  free(slot);
  if (!nd) free(all); /* else d[0].cells owns it */
  for (size_t j = 0; j < nd; j++) {
    rdesc *q = &d[j];
    q->id = (int)j + 1;
    q->is_float = format_is_float(q->format);
    q->is_softmax = !strcmp(q->func, "softmax");
    double wmean = 0, wcr = 0, elems = 0, secs = 0;
    for (size_t k = 0; k < q->ncells; k++) {
      const rcell *c = &s->c[q->cells[k]];
      q->claim_na |= !c->claim_declared;
      if (!c->ok) {
        q->nok_cells++;
        if (c->has_finding) q->finding_cells++;
        else if (c->skipped) q->skipped_cells++;
        else q->rejected_cells++;
        continue;
      }
      q->ok_cells++;
      q->ftz += c->ftz;
      double el = c->n * (c->rows > 0 ? c->rows : 1);
      if (c->eps > 0 && isfinite(c->eps) && el > 0) elems += el, secs += el / c->eps;
      q->claim_failures += c->claim_failures;
      q->mono += c->mono;
      q->det_repeat_fail += c->det_repeat == 0;
      q->det_threads_fail += c->det_threads == 0;
      if (c->outputs <= 0) continue;
      q->outputs += c->outputs;
      q->max_ulp = nmax(q->max_ulp, c->max_ulp);
      q->p50 = nmax(q->p50, c->p50), q->p99 = nmax(q->p99, c->p99), q->p999 = nmax(q->p999, c->p999);
      wmean += c->mean_ulp * c->outputs, wcr += c->pct_cr * c->outputs;
      q->bound = nmax(q->bound, c->bound);
      q->claim = nmax(q->claim, c->claim);
      q->drift = nmax(q->drift, c->drift);
    }
    q->mean_ulp = q->outputs > 0 ? wmean / q->outputs : 0;
    q->pct_cr = q->outputs > 0 ? wcr / q->outputs : 0;
    q->eps = secs > 0 ? elems / secs : 0;
    /* verdict */
    char t1[32], t2[32];
    for (size_t k = 0; k < q->ncells; k++) {
      const rcell *c = &s->c[q->cells[k]];
      if (c->has_finding)
        why_add(q, V_RED, "finding: %.40s in family %.40s n=%.0f (see Findings)", c->f_class, c->family, c->n);
    }
    if (q->skipped_cells)
      why_add(q, q->finding_cells ? V_RED : V_AMBER, "%zu of %zu cells not run (an earlier cell of the kernel ended in a finding)",
              q->skipped_cells, q->ncells);
    if (q->rejected_cells)
      why_add(q, V_RED, "the kernel rejected the arguments in %zu of %zu cells", q->rejected_cells, q->ncells);
    if (isnan(q->max_ulp)) why_add(q, V_RED, "ulp error is nan");
    if (q->claim_na) {
      /* nothing to hold the errors against: said, not coloured */
      why_add(q, V_GREEN, "declares no accuracy claim (claim ratio n/a)");
      if (isinf(q->max_ulp)) why_add(q, V_AMBER, "infinite ulp error in some outputs (overflow or NaN)");
      /* ... but the forward functions are held to the textbook bound
       * (Blanchard-Higham-Higham, x REP_BHH_SLACK), as fuzz_kernel holds
       * such kernels; the VJPs have no such bound under cancellation */
      if (!strcmp(q->func, "softmax") || !strcmp(q->func, "log_softmax") || !strcmp(q->func, "logsumexp")) {
        fmt_num(t1, sizeof t1, q->bound);
        if (!(q->bound <= REP_BHH_SLACK))
          why_add(q, V_RED, "no claim, and the error exceeds the Blanchard\xe2\x80\x93Higham\xe2\x80\x93Higham bound: ratio %s > %g", t1,
                  REP_BHH_SLACK);
        else if (q->bound > 1)
          why_add(q, V_AMBER, "no claim, and the error is above the Blanchard\xe2\x80\x93Higham\xe2\x80\x93Higham bound: ratio %s", t1);
      }
    } else if (isnan(q->claim)) why_add(q, V_RED, "claim ratio is nan");
    else if (q->claim > 1 || q->claim_failures > 0) {
      fmt_num(t1, sizeof t1, q->claim);
      why_add(q, V_RED, "claim broken: error up to %s\xc3\x97 the claimed bound (%.0f outputs beyond it)", t1, q->claim_failures);
    } else if (q->claim > 0.8) {
      fmt_num(t1, sizeof t1, q->claim);
      why_add(q, V_AMBER, "near the claim: error up to %s\xc3\x97 the claimed bound", t1);
    }
    if (!q->claim_na && isinf(q->max_ulp) && q->claim <= 1)
      why_add(q, V_AMBER, "infinite ulp error in some outputs (overflow or NaN) on inputs its claim does not cover");
    const char *cases[64];
    size_t ncs = 0;
    for (size_t k = 0; k < q->ncells; k++) {
      const rcell *c = &s->c[q->cells[k]];
      for (size_t i = 0; i < c->nspecial; i++) {
        size_t j = 0;
        while (j < ncs && strcmp(cases[j], c->special[i].name)) j++;
        if (j == ncs && ncs < 64) cases[ncs++] = c->special[i].name;
      }
    }
    for (size_t j = 0; j < ncs; j++) {
      case_agg ca;
      desc_case(s, q, cases[j], &ca);
      if (!strcmp(ca.verdict, "wrong")) why_add(q, V_RED, "special value wrong in %s", cases[j]);
      else if (!verdict_declared(ca.verdict, q->convention))
        why_add(q, V_AMBER, "%s follows %s, which the kernel does not declare", cases[j], ca.verdict);
    }
    if (q->det_repeat_fail) why_add(q, V_AMBER, "not bitwise reproducible on repeat in %d cells", q->det_repeat_fail);
    if (th) {
      const threshold *t = find_threshold(th, nth, q);
      if (!t) why_add(q, V_AMBER, "no entry in the thresholds file");
      else {
        const struct { const char *name; double got, allowed; } m[] = {
            {"max_ulp", q->max_ulp, t->max_ulp}, {"bound_ratio", q->bound, t->bound_ratio}, {"drift", q->drift, t->drift}};
        for (size_t i = 0; i < 3; i++) {
          if (m[i].allowed < 0) continue;
          fmt_num(t1, sizeof t1, m[i].got), fmt_num(t2, sizeof t2, m[i].allowed);
          if (!(m[i].got <= m[i].allowed)) why_add(q, V_RED, "%s %s exceeds the threshold %s", m[i].name, t1, t2);
          else if (m[i].allowed > 0 && m[i].got > 0.9 * m[i].allowed)
            why_add(q, V_AMBER, "%s %s is within 10%% of the threshold %s", m[i].name, t1, t2);
        }
        for (int ci = 0; ci < MET_NCASES; ci++) {
          if (!t->special[ci][0]) continue;
          case_agg ca;
          desc_case(s, q, met_case_name[ci], &ca);
          if (ca.cells && strcmp(ca.verdict, t->special[ci]))
            why_add(q, V_RED, "%s is %s, the thresholds file accepts %s", met_case_name[ci], ca.verdict, t->special[ci]);
        }
      }
    }
  }
  *nd_out = nd;
  return d;
}

/* ---------------------------------------------------------------------- */
/* table cells */

static void td_num(hbuf *b, double v, const char *cls, const char *title) {
  char ex[40], sh[40];
  fmt_exact(ex, sizeof ex, v), fmt_num(sh, sizeof sh, v);
  hb_printf(b, "<td data-v=\"%s\"", ex);
  if (cls && *cls) hb_printf(b, " class=\"%s\"", cls);
  if (title && *title) hb_raw(b, " title=\""), hb_esc(b, title), hb_raw(b, "\"");
  hb_printf(b, ">%s</td>", sh);
}

static void td_dash(hbuf *b, const char *title) {
  hb_raw(b, "<td data-v=\"-inf\" class=\"x\"");
  if (title) hb_raw(b, " title=\""), hb_esc(b, title), hb_raw(b, "\"");
  hb_raw(b, ">\xe2\x80\x94</td>");
}

static void td_text(hbuf *b, const char *s, const char *cls) {
  hb_printf(b, "<td class=\"%s\">", cls ? cls : "l");
  hb_esc(b, s);
  hb_raw(b, "</td>");
}

/* " <badge>" marking a third-party kernel, its source (untrusted: a path
 * or a command line) in the title; nothing for a built-in one */
static void badge_src(hbuf *b, const char *source) {
  if (!source[0] || !strcmp(source, "builtin")) return;
  hb_raw(b, " <span class=\"badge src\" title=\""), hb_esc(b, source), hb_raw(b, "\">");
  hb_raw(b, source_kind(source)), hb_raw(b, "</span>");
}

/* the kernel's name cell: its own description as the title, the source badge */
static void td_kernel(hbuf *b, const rdesc *q) {
  hb_raw(b, "<td class=\"l\"");
  if (q->about[0]) hb_raw(b, " title=\""), hb_esc(b, q->about), hb_raw(b, "\"");
  hb_raw(b, ">"), hb_esc(b, q->kernel), badge_src(b, q->source), hb_raw(b, "</td>");
}

/* a claim-ratio cell: n/a when the kernel declares no claim */
static void td_claim(hbuf *b, const rdesc *q, double v) {
  if (q->claim_na)
    hb_raw(b, "<td data-v=\"-inf\" class=\"n\" title=\"the kernel declares no accuracy claim\">n/a</td>");
  else td_num(b, v, v > 1 || isnan(v) ? "r" : v > 0.8 ? "a" : "g", NULL);
}

/* ---------------------------------------------------------------------- */

typedef struct {
  const rset *s;
  rdesc *d;
  size_t nd;
  const threshold *th;
  long nth;
  const char **case_names;
  size_t ncase;
  int top;
} page;

static void section_header(hbuf *b, const page *p, char **files, int nfiles, const char *title,
                           const char *baseline, const char *fuzz, const char *thr) {
  hb_raw(b, "<h1>"), hb_esc(b, title), hb_raw(b, "</h1>");
  /* date: SOURCE_DATE_EPOCH for reproducible pages */
  time_t now = time(NULL);
  const char *sde = getenv("SOURCE_DATE_EPOCH");
  if (sde && *sde) now = (time_t)strtoll(sde, NULL, 10);
  struct tm tm;
  char date[64] = "";
  if (gmtime_r(&now, &tm)) strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
  size_t ntp = 0, nfind = 0, nskip = 0, nrej = 0;
  for (size_t i = 0; i < p->nd; i++) {
    ntp += (size_t)p->d[i].third_party, nfind += p->d[i].finding_cells;
    nskip += p->d[i].skipped_cells, nrej += p->d[i].rejected_cells;
  }
  hb_printf(b, "<div class=\"meta\">%zu cells, %zu kernel \xc3\x97 function \xc3\x97 format rows", p->s->n, p->nd);
  if (ntp) hb_printf(b, " (%zu of third-party kernels: plugins or commands)", ntp);
  hb_raw(b, ", from ");
  for (int i = 0; i < nfiles; i++) {
    if (i) hb_raw(b, ", ");
    hb_raw(b, "<code>"), hb_esc(b, files[i]), hb_raw(b, "</code>");
  }
  if (baseline) hb_raw(b, "; baseline <code>"), hb_esc(b, baseline), hb_raw(b, "</code>");
  if (thr) hb_raw(b, "; thresholds <code>"), hb_esc(b, thr), hb_raw(b, "</code>");
  if (fuzz) hb_raw(b, "; fuzz summary <code>"), hb_esc(b, fuzz), hb_raw(b, "</code>");
  hb_printf(b, ". Generated %s by <code>smaxcheck report</code>.</div>", date);
  hb_raw(b, "<nav><a href=\"#summary\">Summary</a>");
  if (nfind) hb_raw(b, "<a href=\"#findings\">Findings</a>");
  hb_raw(b, "<a href=\"#special\">Special values</a><a href=\"#charts\">Charts</a><a href=\"#worst\">Worst inputs</a>");
  if (baseline) hb_raw(b, "<a href=\"#diff\">Changes vs baseline</a>");
  if (fuzz) hb_raw(b, "<a href=\"#fuzz\">Fuzzing</a>");
  hb_raw(b, "<a href=\"#notes\">How to read</a></nav>");
  size_t cnt[3] = {0, 0, 0};
  double outs = 0;
  for (size_t i = 0; i < p->nd; i++) cnt[p->d[i].verdict]++, outs += p->d[i].outputs;
  char o[32];
  fmt_num(o, sizeof o, outs);
  hb_printf(b, "<div class=\"cards\"><div class=\"card g\"><b>%zu</b><span>within %s</span></div>"
               "<div class=\"card a\"><b>%zu</b><span>near a limit / to review</span></div>"
               "<div class=\"card r\"><b>%zu</b><span>claim broken, wrong or a finding</span></div>"
               "<div class=\"card\"><b>%zu</b><span>cells measured (%zu rejected",
            cnt[0], p->th ? "claim and thresholds" : "claim", cnt[1], cnt[2], p->s->n, nrej);
  if (nfind) hb_printf(b, ", %zu finding%s", nfind, nfind == 1 ? "" : "s");
  if (nskip) hb_printf(b, ", %zu not run", nskip);
  hb_printf(b, ")</span></div><div class=\"card\"><b>%s</b><span>outputs checked against the oracle</span></div></div>", o);
  if (cnt[1] + cnt[2]) {
    hb_raw(b, "<ul class=\"find\">");
    for (int lvl = V_RED; lvl >= V_AMBER; lvl--)
      for (size_t i = 0; i < p->nd; i++) {
        const rdesc *q = &p->d[i];
        if (q->verdict != lvl) continue;
        hb_printf(b, "<li><span class=\"badge %s\">%s</span> <span class=\"id\">#%d</span> <b>", VCLASS[lvl],
                  lvl == V_RED ? "red" : "amber", q->id);
        hb_esc(b, q->kernel), hb_raw(b, "</b>"), badge_src(b, q->source), hb_raw(b, " ");
        hb_esc(b, q->func), hb_raw(b, " "), hb_esc(b, q->format);
        hb_raw(b, ": "), hb_esc(b, q->why);
        if (q->finding_cells) hb_raw(b, " <a href=\"#findings\">\xe2\x86\x92 findings</a>");
        hb_raw(b, "</li>");
      }
    hb_raw(b, "</ul>");
  }
}

static void special_summary(hbuf *b, const page *p, const rdesc *q) {
  char text[160] = "", title[1024] = "";
  int wrong = 0, alt = 0, undeclared = 0, seen = 0, na = 0;
  size_t tl = 0;
  for (size_t i = 0; i < p->ncase; i++) {
    case_agg ca;
    desc_case(p->s, q, p->case_names[i], &ca);
    if (!ca.cells) continue;
    seen++;
    if (tl < sizeof title - 1)
      tl += (size_t)snprintf(title + tl, sizeof title - tl, "%s%s: %s", tl ? "\n" : "", p->case_names[i], ca.verdict);
    if (!strcmp(ca.verdict, "wrong")) {
      if (wrong++ < 3)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%.2s", wrong > 1 ? "," : "wrong: ", p->case_names[i]);
    } else if (!strcmp(ca.verdict, "n/a")) na++;
    else if (strcmp(ca.verdict, "reference")) {
      alt++;
      if (!verdict_declared(ca.verdict, q->convention)) undeclared++;
    }
  }
  if (tl >= sizeof title - 1) tl = sizeof title - 1;
  if (!seen) { td_dash(b, q->ok_cells ? "no special-value rows in these cells" : "no cell ran to the end"); return; }
  const char *cls = wrong ? "r" : undeclared ? "a" : alt ? "t" : na == seen ? "n" : "g";
  if (!wrong) {
    if (alt) snprintf(text, sizeof text, "%d ref, %d alt", seen - alt - na, alt);
    else if (na == seen) snprintf(text, sizeof text, "n/a");
    else snprintf(text, sizeof text, "reference");
  }
  hb_printf(b, "<td class=\"l %s\" data-v=\"%d\" title=\"", cls, wrong ? 3 : undeclared ? 2 : alt ? 1 : 0);
  hb_esc(b, title);
  hb_raw(b, "\">");
  hb_esc(b, text);
  hb_raw(b, "</td>");
}

static void section_summary(hbuf *b, const page *p) {
  hb_raw(b, "<h2 id=\"summary\">Summary: one row per kernel \xc3\x97 function \xc3\x97 format</h2>");
  hb_raw(b, "<p class=\"mut\">Aggregated over every input family and size measured. Click a column heading to sort. "
            "Colours: <span class=\"badge g\">within</span> the kernel's claim");
  if (p->th) hb_raw(b, " and the thresholds file");
  hb_raw(b, ", <span class=\"badge a\">near</span> it (over 80% of the claim, 90% of a threshold) or to review, "
            "<span class=\"badge r\">broken</span> (claim exceeded, special value wrong");
  if (p->th) hb_raw(b, ", threshold exceeded");
  hb_raw(b, ", a finding), <span class=\"badge t\">alternative</span> special-value convention. "
            "<span class=\"badge src\">plugin</span> <span class=\"badge src\">cmd</span>: a third-party kernel "
            "measured by <code>smaxcheck compare</code> (hover for its source); its claim ratio is n/a when it declares "
            "no accuracy claim.</p>");
  hb_raw(b, "<div class=\"scroll\"><table class=\"sortable\" id=\"summary-table\"><thead><tr>"
            "<th title=\"row number, used in the charts\">#</th>"
            "<th class=\"l\">kernel</th><th class=\"l\">function</th><th class=\"l\">format</th>"
            "<th title=\"cells (family \xc3\x97 n) measured; rejected ones in red\">cells</th>"
            "<th title=\"largest ulp error over all outputs\">max ulp</th>"
            "<th title=\"mean ulp error, weighted by outputs\">mean ulp</th>"
            "<th title=\"the largest per-cell 99th percentile\">p99 ulp</th>"
            "<th title=\"% of outputs equal to the correctly rounded value, weighted by outputs\">CR %</th>"
            "<th title=\"max relative error / (Blanchard-Higham-Higham bound \xc2\xb7 u); over 1: outside the textbook bound (float formats)\">bound ratio</th>"
            "<th title=\"max ulp error / the kernel's own claim; over 1: claim broken\">claim ratio</th>"
            "<th title=\"softmax: max |sum - 1|, summed exactly, in ulps of 1\">sum drift</th>"
            "<th class=\"l\" title=\"special-value verdicts (oracle/SEMANTICS.md); hover for each case\">special values</th>"
            "<th title=\"input elements per second: all elements / all time over the cells (indicative)\">elem/s</th>"
            "<th class=\"l\">verdict</th></tr></thead><tbody>");
  for (size_t i = 0; i < p->nd; i++) {
    const rdesc *q = &p->d[i];
    const threshold *t = p->th ? find_threshold(p->th, p->nth, q) : NULL;
    char tt[128];
    hb_printf(b, "<tr><td data-v=\"%d\" class=\"id\">%d</td>", q->id, q->id);
    td_kernel(b, q), td_text(b, q->func, "l"), td_text(b, q->format, "l");
    if (q->nok_cells) {
      /* ok/total, and why the others did not run */
      hb_printf(b, "<td class=\"r\" data-v=\"%zu\" title=\"%zu of %zu cells ran to the end:", q->ncells, q->ok_cells, q->ncells);
      if (q->finding_cells) hb_printf(b, " %zu ended in a finding (see Findings);", q->finding_cells);
      if (q->skipped_cells) hb_printf(b, " %zu not run after a finding;", q->skipped_cells);
      if (q->rejected_cells) hb_printf(b, " %zu rejected by the kernel;", q->rejected_cells);
      hb_printf(b, "\">%zu/%zu</td>", q->ok_cells, q->ncells);
    } else hb_printf(b, "<td data-v=\"%zu\">%zu</td>", q->ncells, q->ncells);
    if (q->outputs <= 0) {
      const char *why = q->ok_cells ? "no finite outputs measured" : "no cell ran to the end";
      for (int k = 0; k < 7; k++) td_dash(b, why);
    } else {
      /* max ulp: coloured against the thresholds when given */
      const char *cls = "";
      tt[0] = 0;
      if (t && t->max_ulp >= 0) {
        cls = !(q->max_ulp <= t->max_ulp) ? "r" : q->max_ulp > 0.9 * t->max_ulp && t->max_ulp > 0 ? "a" : "g";
        char a[32];
        fmt_num(a, sizeof a, t->max_ulp);
        snprintf(tt, sizeof tt, "threshold max_ulp=%s", a);
      }
      if (q->ftz > 0) /* allowed flushes are not in the error: say how many */
        snprintf(tt + strlen(tt), sizeof tt - strlen(tt), "%s%.0f outputs flushed to zero (ftz, counted as 0 ulp)",
                 tt[0] ? "; " : "", q->ftz);
      td_num(b, q->max_ulp, cls, tt);
      td_num(b, q->mean_ulp, "", NULL);
      td_num(b, q->p99, "", NULL);
      td_num(b, q->pct_cr, "", NULL);
      if (q->is_float) {
        cls = isnan(q->bound) || q->bound > 1 ? "a" : "g";
        tt[0] = 0;
        if (t && t->bound_ratio >= 0) {
          char a[32];
          fmt_num(a, sizeof a, t->bound_ratio);
          snprintf(tt, sizeof tt, "threshold bound_ratio=%s", a);
          if (!(q->bound <= t->bound_ratio)) cls = "r";
        }
        td_num(b, q->bound, cls, tt[0] ? tt : q->bound > 1 ? "outside the textbook bound (not a failure unless the claim says so)" : NULL);
      } else td_dash(b, "fixed point: no relative-error bound");
      td_claim(b, q, q->claim);
      if (q->is_softmax) {
        cls = "";
        tt[0] = 0;
        if (t && t->drift >= 0) {
          char a[32];
          fmt_num(a, sizeof a, t->drift);
          snprintf(tt, sizeof tt, "threshold drift=%s", a);
          cls = !(q->drift <= t->drift) ? "r" : q->drift > 0.9 * t->drift && t->drift > 0 ? "a" : "g";
        }
        td_num(b, q->drift, cls, tt);
      } else td_dash(b, "softmax only");
    }
    special_summary(b, p, q);
    char ex[40], sh[40];
    fmt_exact(ex, sizeof ex, q->eps), fmt_rate(sh, sizeof sh, q->eps);
    if (!q->ok_cells) td_dash(b, "no cell ran to the end");
    else hb_printf(b, "<td data-v=\"%s\">%s</td>", ex, sh);
    static const char *const vt[] = {"ok", "review", "broken"};
    hb_printf(b, "<td class=\"l %s\" data-v=\"%d\" title=\"", VCLASS[q->verdict], q->verdict);
    hb_esc(b, q->why[0] ? q->why : p->th ? "within the claim and the thresholds" : "within the claim");
    hb_printf(b, "\">%s</td></tr>", vt[q->verdict]);
  }
  hb_raw(b, "</tbody></table></div>");
}

/* Appends to an open title attribute one example row of case `name` for
 * descriptor q: from a cell whose verdict equals the aggregate `verdict`
 * (else any with an example), as input / got / want lines, escaped. */
static void special_example(hbuf *b, const rset *s, const rdesc *q, const char *name, const char *verdict) {
  const rcell *best = NULL;
  size_t bj = 0;
  for (size_t k = 0; k < q->ncells; k++) {
    const rcell *cc = &s->c[q->cells[k]];
    for (size_t j = 0; j < cc->nspecial; j++) {
      if (strcmp(cc->special[j].name, name) || !cc->special[j].input[0]) continue;
      int match = !strcmp(cc->special[j].verdict, verdict);
      if (!best || (match && strcmp(best->special[bj].verdict, verdict))) best = cc, bj = j;
    }
  }
  if (!best) return;
  hb_raw(b, "\n\nexample ("), hb_esc(b, best->family), hb_printf(b, " n=%.0f, ", best->n);
  hb_esc(b, best->special[bj].verdict), hb_raw(b, "):\ninput: "), hb_esc(b, best->special[bj].input);
  hb_raw(b, "\ngot:   "), hb_esc(b, best->special[bj].got);
  hb_raw(b, "\nwant:  "), hb_esc(b, best->special[bj].want);
}

static void section_special(hbuf *b, const page *p) {
  hb_raw(b, "<h2 id=\"special\">Special values</h2>");
  hb_raw(b, "<p class=\"mut\">What each kernel returns for the special cases of <code>oracle/SEMANTICS.md</code>: "
            "<span class=\"badge g\">reference</span> (the oracle's value), <span class=\"badge t\">a named alternative "
            "convention</span> the kernel declares, <span class=\"badge a\">an alternative it does not declare</span>, "
            "<span class=\"badge r\">wrong</span>, <span class=\"badge n\">n/a</span> (fixed point: the reference is NaN, "
            "which has no representation), \xe2\x80\x94 not exercised by the families run. Hover a cell for the rows "
            "seen and one example row: its input, the kernel's outputs and the oracle's.</p>");
  hb_raw(b, "<div class=\"scroll\"><table><thead><tr><th>#</th><th class=\"l\">kernel</th><th class=\"l\">function</th>"
            "<th class=\"l\">format</th><th class=\"l\">declared conventions</th>");
  for (size_t i = 0; i < p->ncase; i++) {
    const char *label = p->case_names[i], *about = "";
    for (size_t k = 0; k < NCASES; k++)
      if (!strcmp(CASES[k].name, label)) label = CASES[k].label, about = CASES[k].about;
    hb_raw(b, "<th class=\"l\" title=\""), hb_esc(b, p->case_names[i]), hb_raw(b, ": "), hb_esc(b, about);
    hb_raw(b, "\">"), hb_esc(b, label), hb_raw(b, "</th>");
  }
  hb_raw(b, "</tr></thead><tbody>");
  for (size_t i = 0; i < p->nd; i++) {
    const rdesc *q = &p->d[i];
    const threshold *t = p->th ? find_threshold(p->th, p->nth, q) : NULL;
    hb_printf(b, "<tr><td class=\"id\">%d</td>", q->id);
    td_kernel(b, q), td_text(b, q->func, "l"), td_text(b, q->format, "l");
    td_text(b, q->convention[0] ? q->convention : "\xe2\x80\x94", "l mut");
    for (size_t c = 0; c < p->ncase; c++) {
      case_agg ca;
      desc_case(p->s, q, p->case_names[c], &ca);
      if (!ca.cells) { hb_raw(b, "<td class=\"l x\" title=\"no rows of this case in the families run\">\xe2\x80\x94</td>"); continue; }
      const char *cls = !strcmp(ca.verdict, "wrong") ? "r" : !strcmp(ca.verdict, "reference") ? "g"
                      : !strcmp(ca.verdict, "n/a") ? "n" : verdict_declared(ca.verdict, q->convention) ? "t" : "a";
      char extra[160] = "";
      int slot = case_slot(p->case_names[c]);
      if (t && slot >= 0 && t->special[slot][0]) {
        if (strcmp(t->special[slot], ca.verdict)) cls = "r";
        snprintf(extra, sizeof extra, "; the thresholds file accepts %.60s", t->special[slot]);
      }
      /* families behind it */
      char fam[400] = "";
      for (size_t k = 0; k < q->ncells; k++) {
        const rcell *cc = &p->s->c[q->cells[k]];
        for (size_t j = 0; j < cc->nspecial; j++)
          if (!strcmp(cc->special[j].name, p->case_names[c]) && strlen(fam) < sizeof fam - 80)
            snprintf(fam + strlen(fam), sizeof fam - strlen(fam), "%s%.30s n=%.0f: %.0f rows %.30s", fam[0] ? "\n" : "",
                     cc->family, cc->n, cc->special[j].rows, cc->special[j].verdict);
      }
      hb_printf(b, "<td class=\"l %s\" title=\"%.0f rows seen in %zu cells", cls, ca.rows, ca.cells);
      hb_esc(b, extra);
      hb_raw(b, "\n");
      hb_esc(b, fam);
      special_example(b, p->s, q, p->case_names[c], ca.verdict);
      hb_raw(b, "\">");
      hb_esc(b, ca.verdict);
      hb_raw(b, "</td>");
    }
    hb_raw(b, "</tr>");
  }
  hb_raw(b, "</tbody></table></div>");
}

static void section_charts(hbuf *b, const page *p) {
  hb_raw(b, "<h2 id=\"charts\">Charts</h2>");
  hb_raw(b, "<figure>");
  chart_ulp_profile(b, p->s, p->d, p->nd);
  hb_raw(b, "<figcaption><b>Figure 1. ulp error per kernel \xc3\x97 function \xc3\x97 format</b> (log scale). "
            "Grey ticks: the maximum ulp error of each measured cell (one input family at one n), so their spread is a "
            "histogram of cell maxima. The results file keeps only summary statistics per cell, not every output's "
            "error, so the box spans the largest per-cell median (p50) to the largest per-cell p99, the dashed tick is "
            "the largest per-cell p99.9: an upper envelope, not a pooled percentile. The whisker ends at the exact "
            "maximum over all outputs; the circle is the exact mean over all outputs. Dashed lines: 0.5 ulp (every "
            "correctly rounded result is within it) and 1 ulp (faithful rounding). Third-party kernels are marked "
            "plugin or cmd; cells that ended in a finding or did not run have no outputs and no "
            "tick.</figcaption></figure>");
  hb_raw(b, "<figure>");
  chart_bound_spread(b, p->s, p->d, p->nd);
  hb_raw(b, "<figcaption><b>Figure 2. Error relative to the Blanchard\xe2\x80\x93Higham\xe2\x80\x93Higham bound "
            "against input spread</b> (floating-point formats; one point per cell). y: the cell's maximum over its "
            "outputs of relative error / (B\xc2\xb7u), where B is the leading-order bound in unit roundoffs u "
            "(n + 2 + 2\xc2\xb7spread for softmax and its gradients, 1 + (n + 1 + spread)/|y| for log-domain outputs), so "
            "the bound itself is the line at 1 and points in the shaded band exceed it. x: the spread "
            "(max \xe2\x88\x92 min)/\xcf\x84 of the cell's worst row (the row with the largest ulp error, recomputed from "
            "its <code>worst.input</code>); the maximum ratio may come from another row of the same cell, so x is the "
            "typical spread of the family at that n rather than the exact spread behind y. Spreads beyond 10<sup>5</sup> "
            "(families covering the whole format range, where every output is a 0 or 1 limit) share the right-hand "
            "column; ratios of 0 (exact results) sit on the bottom edge. Hollow points are third-party kernels (plugins and "
            "commands run by <code>smaxcheck compare</code>). Hover a point for its cell.</figcaption></figure>");
  hb_raw(b, "<figure>");
  chart_pareto(b, p->s, p->d, p->nd);
  hb_raw(b, "<figcaption><b>Figure 3. Accuracy against throughput</b>, every kernel \xc3\x97 function \xc3\x97 format "
            "(built-in and plugins alike). y: the maximum ulp error times the format's ulp of 1 (2<sup>1\xe2\x88\x92p</sup>; "
            "the LSB for fixed point): about the largest relative error, so formats of different precision share one "
            "axis. x: throughput of the measured runs (all input elements / all time over the descriptor's cells; the "
            "eval run is not a benchmark, <code>smaxcheck bench-kernels</code> measures throughput properly). Ringed "
            "points form the Pareto front of their function (kernels of different functions do different work, so "
            "each function has its own front): no other row of that function is both at least as fast and at least as "
            "accurate. Hollow points are third-party kernels (plugins and commands run by <code>smaxcheck compare</code>); a "
            "row whose cells all ended in a finding has no throughput and no point. Numbers are the summary's row "
            "numbers.</figcaption></figure>");
}

/* what each finding class means (harness/PROTOCOL.md), for the hover */
static const char *finding_about(const char *cls) {
  if (!strcmp(cls, "crashed")) return "the kernel's process died of a signal";
  if (!strcmp(cls, "hung")) return "no reply within the time limit; the process was killed";
  if (!strcmp(cls, "protocol")) return "a broken reply: bad magic, wrong output count or an early end of stream";
  if (!strcmp(cls, "garbage")) return "an output its format cannot hold";
  return "";
}

static void input_cell(hbuf *b, const char *in);

/* "Findings": one row per cell that ended a third-party kernel's run
 * (harness/SCHEMA.md "finding"), with the input row reproducing it and the
 * command rerunning it.  Written only when some cell has one. */
static void section_findings(hbuf *b, const page *p) {
  size_t nf = 0, nskip = 0;
  for (size_t i = 0; i < p->nd; i++) nf += p->d[i].finding_cells, nskip += p->d[i].skipped_cells;
  if (!nf) return;
  hb_printf(b, "<h2 id=\"findings\">Findings</h2><p class=\"mut\">A third-party kernel run by <code>smaxcheck "
               "compare</code> that <b>crashed</b> (a signal), <b>hung</b> (no reply within the time limit), broke the "
               "<b>protocol</b> (bad magic, wrong output count, early end of stream) or returned <b>garbage</b> (a value "
               "its format cannot hold) ends its run with a finding (<code>harness/PROTOCOL.md</code>): the cell that hit "
               "it, the one input row that reproduces it in <code>%%a</code> (masked entries <code>-inf</code>, "
               "<code>x\xe2\x80\xa6 | dy\xe2\x80\xa6</code> for the VJPs) and the command that reruns the cell. "
               "The kernel's later cells are not run: %zu finding%s, %zu cell%s not run.</p>",
            nf, nf == 1 ? "" : "s", nskip, nskip == 1 ? "" : "s");
  hb_raw(b, "<div class=\"scroll\"><table id=\"findings-table\"><thead><tr><th>#</th><th class=\"l\">kernel</th>"
            "<th class=\"l\">function</th><th class=\"l\">format</th><th class=\"l\">family</th><th>n</th>"
            "<th class=\"l\">class</th><th class=\"l\">message</th></tr></thead><tbody>");
  for (size_t i = 0; i < p->nd; i++) {
    const rdesc *q = &p->d[i];
    for (size_t k = 0; k < q->ncells && q->finding_cells; k++) {
      const rcell *c = &p->s->c[q->cells[k]];
      if (!c->has_finding) continue;
      hb_printf(b, "<tr class=\"first\"><td class=\"id\">%d</td>", q->id);
      td_kernel(b, q), td_text(b, q->func, "l"), td_text(b, q->format, "l"), td_text(b, c->family, "l");
      hb_printf(b, "<td>%.0f</td><td class=\"l r\" title=\"", c->n);
      hb_esc(b, finding_about(c->f_class)), hb_raw(b, "\">"), hb_esc(b, c->f_class), hb_raw(b, "</td>");
      /* one line, but it carries the tail of the child's stderr: cut, whole in the title */
      hb_raw(b, "<td class=\"l w\" title=\""), hb_esc(b, c->f_message), hb_raw(b, "\">");
      hb_esc_trunc(b, c->f_message, 200), hb_raw(b, "</td></tr>");
      hb_raw(b, "<tr class=\"sub\"><td></td><td colspan=\"7\">");
      if (c->f_input[0]) input_cell(b, c->f_input);
      else hb_raw(b, "<div><span class=\"mut\">input:</span> no single row was isolated</div>");
      if (c->f_repro[0])
        hb_raw(b, "<div><span class=\"mut\">reproduce:</span> <code class=\"cmd\">"), hb_esc(b, c->f_repro), hb_raw(b, "</code></div>");
      if (q->skipped_cells)
        hb_printf(b, "<div class=\"mut\">%zu later cell%s of this kernel not run.</div>", q->skipped_cells,
                  q->skipped_cells == 1 ? "" : "s");
      hb_raw(b, "</td></tr>");
    }
  }
  hb_raw(b, "</tbody></table></div>");
}

static const rset *worst_set; /* qsort's context */
static int cmp_worst(const void *a, const void *b) {
  const rset *s = worst_set;
  double x = s->c[*(const size_t *)a].max_ulp, y = s->c[*(const size_t *)b].max_ulp;
  if (isnan(x)) x = INFINITY;
  if (isnan(y)) y = INFINITY;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* a row in %a: the first 6 values inline, the whole row behind a
 * <details> (up to 4096 values); every value escaped (they come from
 * third-party kernels' findings as well as from smaxcheck) */
static void input_cell(hbuf *b, const char *in) {
  size_t ntok = 0;
  for (const char *q = in; *q;) {
    while (*q == ' ') q++;
    if (!*q) break;
    ntok++;
    while (*q && *q != ' ') q++;
  }
  /* the first 6 values inline */
  const char *q = in;
  size_t shown = 0;
  hb_raw(b, "<div><span class=\"mut\">input:</span> <span class=\"mono\">");
  while (*q && shown < 6) {
    while (*q == ' ') q++;
    const char *e = q;
    while (*e && *e != ' ') e++;
    if (e == q) break;
    char tok[64];
    snprintf(tok, sizeof tok, "%.*s", (int)(e - q < 63 ? e - q : 63), q);
    if (shown) hb_raw(b, " ");
    hb_esc(b, tok);
    shown++, q = e;
  }
  hb_raw(b, "</span>");
  if (ntok > shown) {
    hb_printf(b, " <span class=\"mut\">\xe2\x80\xa6 (%zu values)</span>", ntok);
    if (ntok <= 4096) {
      hb_raw(b, " <details class=\"row\"><summary>the whole row</summary><pre>");
      hb_esc(b, in);
      hb_raw(b, "</pre></details>");
    } else hb_raw(b, " <span class=\"mut\">(too long to show: the repro command prints it)</span>");
  }
  hb_raw(b, "</div>");
}

static void section_worst(hbuf *b, const page *p) {
  hb_printf(b, "<h2 id=\"worst\">Worst inputs</h2><p class=\"mut\">Per kernel \xc3\x97 function \xc3\x97 format, the %d "
               "cells with the largest ulp error (cells without error are left out): the worst output (<code>got</code>) beside the correctly rounded value "
               "(<code>want</code>) in <code>%%a</code>, the row that produced it, and the command that reproduces it "
               "(it prints the row, the kernel's output and the oracle's).</p>", p->top);
  hb_raw(b, "<div class=\"scroll\"><table><thead><tr><th>#</th><th class=\"l\">kernel \xc2\xb7 function \xc2\xb7 format</th>"
            "<th class=\"l\">family</th><th>n</th><th>\xcf\x84</th><th>max ulp</th><th>row</th><th>output</th>"
            "<th class=\"l\">got</th><th class=\"l\">want (correctly rounded)</th></tr></thead><tbody>");
  size_t *idx = malloc((p->s->n + 1) * sizeof *idx);
  if (!idx) { b->oom = 1; return; }
  size_t shown_any = 0;
  for (size_t i = 0; i < p->nd; i++) {
    const rdesc *q = &p->d[i];
    size_t m = 0;
    for (size_t k = 0; k < q->ncells; k++) {
      const rcell *c = &p->s->c[q->cells[k]];
      if (c->ok && c->outputs > 0 && c->has_worst && !(c->max_ulp <= 0)) idx[m++] = q->cells[k];
    }
    worst_set = p->s;
    qsort(idx, m, sizeof *idx, cmp_worst);
    for (size_t k = 0; k < m && k < (size_t)p->top; k++) {
      const rcell *c = &p->s->c[idx[k]];
      char n[32], tau[32], u[32];
      fmt_num(n, sizeof n, c->n), fmt_num(tau, sizeof tau, c->tau), fmt_num(u, sizeof u, c->max_ulp);
      const char *cls = c->claim > 1 || isnan(c->claim) ? "r" : c->claim > 0.8 ? "a" : "";
      hb_printf(b, "<tr%s><td class=\"id\">%d</td><td class=\"l\">", k ? "" : " class=\"first\"", q->id);
      hb_esc(b, q->kernel), badge_src(b, q->source), hb_raw(b, " \xc2\xb7 "), hb_esc(b, q->func);
      hb_raw(b, " \xc2\xb7 "), hb_esc(b, q->format), hb_raw(b, "</td>");
      td_text(b, c->family, "l");
      hb_printf(b, "<td>%.0f</td><td>%s</td><td class=\"%s\">%s</td><td>%.0f</td><td>%.0f</td>", c->n, tau, cls, u,
                c->worst_row, c->worst_out);
      td_text(b, c->got, "l mono"), td_text(b, c->want, "l mono");
      hb_raw(b, "</tr><tr class=\"sub\"><td></td><td colspan=\"9\">");
      input_cell(b, c->input);
      if (c->repro[0]) hb_raw(b, "<div><span class=\"mut\">reproduce:</span> <code class=\"cmd\">"), hb_esc(b, c->repro), hb_raw(b, "</code></div>");
      hb_raw(b, "</td></tr>");
      shown_any++;
    }
  }
  free(idx);
  if (!shown_any) hb_raw(b, "<tr><td colspan=\"10\" class=\"l mut\">No cell has an output with a nonzero error.</td></tr>");
  hb_raw(b, "</tbody></table></div>");
}

/* ---------------------------------------------------------------------- */
/* baseline diff */

/* cells are matched on kernel, function, format, family, n, tau */
static int cmp_key(const rcell *a, const rcell *b) {
  int r;
  if ((r = strcmp(a->kernel, b->kernel)) || (r = strcmp(a->func, b->func)) || (r = strcmp(a->format, b->format)) ||
      (r = strcmp(a->family, b->family)))
    return r;
  if (a->n != b->n) return a->n < b->n ? -1 : 1;
  double ta = isnan(a->tau) ? INFINITY : a->tau, tb = isnan(b->tau) ? INFINITY : b->tau;
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}
static const rset *key_set; /* qsort's context */
static int cmp_key_idx(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int r = cmp_key(&key_set->c[i], &key_set->c[j]);
  return r ? r : i < j ? -1 : i > j ? 1 : 0; /* stable: file order among equal keys */
}

static int differs(double a, double b) {
  if (isnan(a) || isnan(b)) return !(isnan(a) && isnan(b));
  if (a == b) return 0;
  return fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b));
}

/* +1 better, -1 worse (lower is better unless higher_better) */
static int direction(double o, double n, int higher_better) {
  double so = isnan(o) ? (higher_better ? -INFINITY : INFINITY) : o;
  double sn = isnan(n) ? (higher_better ? -INFINITY : INFINITY) : n;
  if (sn == so) return 0;
  return (sn < so) != higher_better ? 1 : -1;
}

typedef struct {
  size_t cell;  /* index in new set */
  size_t old;   /* index in baseline */
  const char *metric;
  double o, n;
  const char *vo, *vn; /* special verdicts */
  int dir;
  double mag;
} change;

static int cmp_change(const void *a, const void *b) {
  const change *x = a, *y = b;
  if (x->dir != y->dir) return x->dir - y->dir; /* worse (-1) first */
  return x->mag < y->mag ? 1 : x->mag > y->mag ? -1 : 0;
}

static int verdict_rank(const char *v) { return !strcmp(v, "wrong") ? 2 : !strcmp(v, "reference") ? 0 : 1; }

static void section_diff(hbuf *b, const page *p, const rset *old, const char *oldname) {
  const rset *s = p->s;
  hb_raw(b, "<h2 id=\"diff\">Changes against the baseline</h2>");
  size_t cap = 64, nch = 0, matched = 0, only_new = 0, only_old = 0, rowsdiff = 0;
  change *ch = malloc(cap * sizeof *ch);
  char *seen_old = calloc(old->n + 1, 1);
  size_t cells_worse = 0, cells_better = 0;
  if (!ch || !seen_old) { free(ch), free(seen_old); b->oom = 1; return; }
  size_t *ord = malloc((old->n + 1) * sizeof *ord);
  if (!ord) { free(ch), free(seen_old); b->oom = 1; return; }
  for (size_t j = 0; j < old->n; j++) ord[j] = j;
  key_set = old;
  qsort(ord, old->n, sizeof *ord, cmp_key_idx);
  for (size_t i = 0; i < s->n; i++) {
    const rcell *c = &s->c[i];
    /* the first unmatched baseline cell with the same key */
    size_t lo = 0, hi = old->n, j = old->n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (cmp_key(&old->c[ord[mid]], c) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (; lo < old->n && !cmp_key(&old->c[ord[lo]], c); lo++)
      if (!seen_old[ord[lo]]) { j = ord[lo]; break; }
    if (j == old->n) { only_new++; continue; }
    seen_old[j] = 1;
    matched++;
    const rcell *o = &old->c[j];
    if (o->rows != c->rows || o->seed != c->seed) rowsdiff++;
    const struct { const char *name; double o, n; int hb; } m[] = {
        {"ok", o->ok, c->ok, 1},
        {"max ulp", o->max_ulp, c->max_ulp, 0},
        {"mean ulp", o->mean_ulp, c->mean_ulp, 0},
        {"p99 ulp", o->p99, c->p99, 0},
        {"correctly rounded %", o->pct_cr, c->pct_cr, 1},
        {"bound ratio", o->bound, c->bound, 0},
        {"claim ratio", o->claim, c->claim, 0},
        {"claim failures", o->claim_failures, c->claim_failures, 0},
        {"sum drift ulp", o->drift, c->drift, 0},
        {"monotonicity violations", o->mono, c->mono, 0},
    };
    int worse = 0, better = 0;
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
      if (!differs(m[k].o, m[k].n)) continue;
      if (nch == cap) {
        change *nc = realloc(ch, (cap *= 2) * sizeof *ch);
        if (!nc) { free(ch), free(seen_old), free(ord); b->oom = 1; return; }
        ch = nc;
      }
      change *x = &ch[nch++];
      memset(x, 0, sizeof *x);
      x->cell = i, x->old = j, x->metric = m[k].name, x->o = m[k].o, x->n = m[k].n;
      x->dir = direction(m[k].o, m[k].n, m[k].hb);
      double lo = fmin(fabs(m[k].o), fabs(m[k].n)), hi = fmax(fabs(m[k].o), fabs(m[k].n));
      x->mag = isnan(m[k].o) || isnan(m[k].n) || isinf(hi) ? INFINITY : lo > 0 ? hi / lo : hi > 0 ? 1e300 : 0;
      worse |= x->dir < 0, better |= x->dir > 0;
    }
    /* special verdicts, by case name */
    for (size_t a = 0; a < c->nspecial + o->nspecial; a++) {
      const char *name = a < c->nspecial ? c->special[a].name : o->special[a - c->nspecial].name;
      if (a >= c->nspecial) { /* only in old? */
        int in_new = 0;
        for (size_t q = 0; q < c->nspecial; q++) in_new |= !strcmp(c->special[q].name, name);
        if (in_new) continue;
      }
      const char *vn = "", *vo = "";
      for (size_t q = 0; q < c->nspecial; q++)
        if (!strcmp(c->special[q].name, name)) vn = c->special[q].verdict;
      for (size_t q = 0; q < o->nspecial; q++)
        if (!strcmp(o->special[q].name, name)) vo = o->special[q].verdict;
      if (!strcmp(vn, vo) || !*vn || !*vo) continue;
      if (nch == cap) {
        change *nc = realloc(ch, (cap *= 2) * sizeof *ch);
        if (!nc) { free(ch), free(seen_old), free(ord); b->oom = 1; return; }
        ch = nc;
      }
      change *x = &ch[nch++];
      memset(x, 0, sizeof *x);
      x->cell = i, x->old = j, x->metric = name, x->vo = vo, x->vn = vn;
      int ro = verdict_rank(vo), rn = verdict_rank(vn);
      x->dir = rn < ro ? 1 : rn > ro ? -1 : 0;
      x->mag = 1e300;
      worse |= x->dir < 0, better |= x->dir > 0;
    }
    cells_worse += worse, cells_better += better && !worse;
  }
  for (size_t j = 0; j < old->n; j++) only_old += !seen_old[j];
  free(seen_old);
  free(ord);
  hb_printf(b, "<p>Baseline <code>");
  hb_esc(b, oldname);
  hb_printf(b, "</code>: %zu cells matched (kernel, function, format, family, n, \xcf\x84); "
               "<span class=\"badge %s\">%zu worse</span> <span class=\"badge %s\">%zu better only</span> "
               "%zu unchanged; %zu only in this run, %zu only in the baseline.",
            matched, cells_worse ? "r" : "n", cells_worse, cells_better ? "g" : "n", cells_better,
            matched - cells_worse - cells_better, only_new, only_old);
  if (rowsdiff) hb_printf(b, " <b>%zu matched cells used a different seed or row count</b>: their changes may come from the inputs.", rowsdiff);
  hb_raw(b, " Throughput is compared per row of the summary only (it is noisy).</p>");

  /* per descriptor: max ulp, CR %, claim, throughput, verdict (same thresholds) */
  size_t ndo = 0;
  rdesc *dold = build_descs(old, &ndo, p->th, p->nth);
  if (!dold) { free(ch); b->oom = 1; return; }
  hb_raw(b, "<h3>Per kernel \xc3\x97 function \xc3\x97 format (before \xe2\x86\x92 now)</h3><div class=\"scroll\">"
            "<table class=\"sortable\"><thead><tr><th>#</th><th class=\"l\">kernel</th><th class=\"l\">function</th>"
            "<th class=\"l\">format</th><th>max ulp</th><th>mean ulp</th><th>CR %</th><th>claim ratio</th>"
            "<th>elem/s</th><th title=\"throughput is noisy: only over 25% counts\">elem/s change</th>"
            "<th class=\"l\">verdict</th></tr></thead><tbody>");
  static const char *const vt[] = {"ok", "review", "broken"};
  for (size_t i = 0; i < p->nd; i++) {
    const rdesc *q = &p->d[i], *o = NULL;
    /* same name, function and format; the same source preferred (a
     * plugin's path may differ between the runs) */
    for (size_t j = 0; j < ndo; j++)
      if (!strcmp(dold[j].kernel, q->kernel) && !strcmp(dold[j].func, q->func) && !strcmp(dold[j].format, q->format) &&
          (!o || !strcmp(dold[j].source, q->source)))
        o = &dold[j];
    hb_printf(b, "<tr><td class=\"id\">%d</td>", q->id);
    td_kernel(b, q), td_text(b, q->func, "l"), td_text(b, q->format, "l");
    if (!o) {
      hb_raw(b, "<td class=\"l mut\" colspan=\"7\">new: not in the baseline</td></tr>");
      continue;
    }
    const struct { double o, n; int hb; } m[] = {
        {o->max_ulp, q->max_ulp, 0}, {o->mean_ulp, q->mean_ulp, 0}, {o->pct_cr, q->pct_cr, 1}, {o->claim, q->claim, 0}};
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
      if (k == 3 && (q->claim_na || o->claim_na)) { td_claim(b, q->claim_na ? q : o, 0); continue; }
      int dir = differs(m[k].o, m[k].n) ? direction(m[k].o, m[k].n, m[k].hb) : 0;
      char e1[40], s1[40], s2[40];
      fmt_exact(e1, sizeof e1, m[k].n), fmt_num(s1, sizeof s1, m[k].o), fmt_num(s2, sizeof s2, m[k].n);
      if (!dir) hb_printf(b, "<td data-v=\"%s\" class=\"mut\">%s</td>", e1, s2);
      else hb_printf(b, "<td data-v=\"%s\" class=\"%s\">%s \xe2\x86\x92 %s</td>", e1, dir > 0 ? "g" : "r", s1, s2);
    }
    char r1[32], r2[32], ex[40];
    fmt_rate(r1, sizeof r1, o->eps), fmt_rate(r2, sizeof r2, q->eps);
    fmt_exact(ex, sizeof ex, q->eps);
    hb_printf(b, "<td data-v=\"%s\">%s \xe2\x86\x92 %s</td>", ex, r1, r2);
    if (o->eps > 0 && q->eps > 0) {
      double pc = 100 * (q->eps / o->eps - 1);
      fmt_exact(ex, sizeof ex, pc);
      hb_printf(b, "<td data-v=\"%s\" class=\"%s\">%+.0f%%</td>", ex, pc > 25 ? "g" : pc < -20 ? "a" : "", pc);
    } else td_dash(b, NULL);
    if (o->verdict == q->verdict) hb_printf(b, "<td class=\"l mut\" data-v=\"%d\">%s</td>", q->verdict, vt[q->verdict]);
    else hb_printf(b, "<td class=\"l %s\" data-v=\"%d\">%s \xe2\x86\x92 %s</td>", q->verdict > o->verdict ? "r" : "g",
                   q->verdict, vt[o->verdict], vt[q->verdict]);
    hb_raw(b, "</tr>");
  }
  for (size_t j = 0; j < ndo; j++) {
    int found = 0;
    for (size_t i = 0; i < p->nd && !found; i++)
      found = !strcmp(dold[j].kernel, p->d[i].kernel) && !strcmp(dold[j].func, p->d[i].func) && !strcmp(dold[j].format, p->d[i].format);
    if (found) continue;
    hb_raw(b, "<tr><td class=\"id\">\xe2\x80\x94</td>");
    td_kernel(b, &dold[j]), td_text(b, dold[j].func, "l"), td_text(b, dold[j].format, "l");
    hb_raw(b, "<td class=\"l mut\" colspan=\"7\">removed: only in the baseline</td></tr>");
  }
  hb_raw(b, "</tbody></table></div>");
  if (ndo) free(dold[0].cells);
  free(dold);

  /* per cell and metric */
  hb_raw(b, "<h3>Per cell: every metric that changed</h3>");
  if (!nch) {
    hb_raw(b, "<p>No metric changed in any matched cell.</p>");
    free(ch);
    return;
  }
  qsort(ch, nch, sizeof *ch, cmp_change);
  const size_t LIMIT = 400;
  hb_raw(b, "<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th class=\"l\">kernel</th><th class=\"l\">function</th>"
            "<th class=\"l\">format</th><th class=\"l\">family</th><th>n</th><th class=\"l\">metric</th><th>before</th>"
            "<th>now</th><th class=\"l\">change</th></tr></thead><tbody>");
  for (size_t k = 0; k < nch && k < LIMIT; k++) {
    const change *x = &ch[k];
    const rcell *c = &s->c[x->cell];
    hb_raw(b, "<tr>");
    td_text(b, c->kernel, "l"), td_text(b, c->func, "l"), td_text(b, c->format, "l"), td_text(b, c->family, "l");
    hb_printf(b, "<td>%.0f</td>", c->n);
    td_text(b, x->metric, "l");
    if (x->vo) td_text(b, x->vo, "l"), td_text(b, x->vn, "l");
    else td_num(b, x->o, "", NULL), td_num(b, x->n, "", NULL);
    hb_printf(b, "<td class=\"l %s\" data-v=\"%d\">%s</td></tr>", x->dir > 0 ? "g" : x->dir < 0 ? "r" : "", x->dir,
              x->dir > 0 ? "\xe2\x96\xbc better" : x->dir < 0 ? "\xe2\x96\xb2 worse" : "changed");
  }
  hb_raw(b, "</tbody></table></div>");
  if (nch > LIMIT) hb_printf(b, "<p class=\"mut\">%zu more changes not shown (the worst are listed first).</p>", nch - LIMIT);
  free(ch);
}

static void section_fuzz(hbuf *b, const rfuzz *fz, const char *name) {
  hb_raw(b, "<h2 id=\"fuzz\">Fuzzing campaigns</h2><p class=\"mut\">From <code>");
  hb_esc(b, name);
  hb_raw(b, "</code> (<code>reports/FUZZ_SCHEMA.md</code>).</p>");
  hb_raw(b, "<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th class=\"l\">engine</th><th class=\"l\">target</th>"
            "<th>hours</th><th>executions</th><th>exec/s</th><th>signatures</th><th>findings</th></tr></thead><tbody>");
  double tot = 0;
  for (size_t i = 0; i < fz->n; i++) {
    const rcampaign *c = &fz->c[i];
    double nf = 0;
    for (size_t j = 0; j < c->nf; j++) nf += c->f[j].count;
    tot += nf;
    hb_raw(b, "<tr>");
    td_text(b, c->engine, "l"), td_text(b, c->target, "l");
    td_num(b, c->hours, "", NULL), td_num(b, c->execs, "", NULL), td_num(b, c->exec_per_s, "", NULL);
    hb_printf(b, "<td data-v=\"%zu\">%zu</td>", c->nf, c->nf);
    td_num(b, nf, nf > 0 ? "r" : "g", NULL);
    hb_raw(b, "</tr>");
  }
  if (!fz->n) hb_raw(b, "<tr><td colspan=\"7\" class=\"l mut\">No campaign in the summary.</td></tr>");
  hb_raw(b, "</tbody></table></div>");
  if (tot <= 0) { hb_raw(b, "<p>No findings.</p>"); return; }
  hb_raw(b, "<h3>Findings by signature</h3><div class=\"scroll\"><table><thead><tr><th class=\"l\">engine</th>"
            "<th class=\"l\">target</th><th class=\"l\">signature</th><th>count</th><th class=\"l\">replay</th></tr></thead><tbody>");
  for (size_t i = 0; i < fz->n; i++)
    for (size_t j = 0; j < fz->c[i].nf; j++) {
      const rfinding *f = &fz->c[i].f[j];
      hb_raw(b, "<tr>");
      td_text(b, fz->c[i].engine, "l"), td_text(b, fz->c[i].target, "l"), td_text(b, f->signature, "l w");
      td_num(b, f->count, "", NULL);
      hb_raw(b, "<td class=\"l w\"><code class=\"cmd\">"), hb_esc(b, f->replay), hb_raw(b, "</code></td></tr>");
    }
  hb_raw(b, "</tbody></table></div>");
}

static void section_notes(hbuf *b) {
  hb_raw(b,
         "<h2 id=\"notes\">How to read this report</h2><dl>"
         "<dt>ulp error</dt><dd>|computed \xe2\x88\x92 exact| / ulp(exact), the ulp of the exact value's binade "
         "(subnormal ulp clamped; the LSB for fixed point), against the correctly rounded MPFR oracle. A correctly "
         "rounded result is within 0.5 ulp.</dd>"
         "<dt>CR %</dt><dd>Outputs bitwise equal to the correctly rounded value.</dd>"
         "<dt>bound ratio</dt><dd>Relative error / (B\xc2\xb7u), B the Blanchard\xe2\x80\x93Higham\xe2\x80\x93Higham "
         "leading-order bound; over 1 the kernel is outside the textbook bound (amber, not a failure by itself).</dd>"
         "<dt>claim ratio</dt><dd>ulp error / the kernel's own declared bound (<code>smax_claim</code> in "
         "<code>impls/kernel.h</code>); over 1 the claim is broken (red).</dd>"
         "<dt>sum drift</dt><dd>Softmax: |\xce\xa3 y \xe2\x88\x92 1| with the sum taken exactly, in ulps of 1.</dd>"
         "<dt>special values</dt><dd>Verdicts for NaN, \xc2\xb1inf and fully masked rows per "
         "<code>oracle/SEMANTICS.md</code>; an alternative is fine when the kernel declares it.</dd>"
         "<dt>aggregation</dt><dd>A summary row joins every cell (family \xc3\x97 n \xc3\x97 \xcf\x84) of one kernel, "
         "function and format: max and ratios are maxima, mean ulp and CR % are weighted by outputs, p99 is the "
         "largest per-cell p99.</dd>"
         "<dt>repro</dt><dd>Each command re-runs the cell from its seed and prints the worst row, the kernel's output "
         "and the oracle's.</dd>"
         "<dt>third-party</dt><dd>Kernels measured by <code>smaxcheck compare</code> from a plugin or a command "
         "(<code>harness/PROTOCOL.md</code>), on the same inputs and metrics as the built-in ones. Their run ends at "
         "the first crash, hang, protocol breach or garbage output: a finding, listed with its input; the kernel's "
         "later cells are not run.</dd></dl>");
}

/* ---------------------------------------------------------------------- */

static int mkdir_p(const char *dir) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
  for (char *q = buf + 1; *q; q++)
    if (*q == '/') {
      *q = 0;
      if (mkdir(buf, 0777) && errno != EEXIST) return -1;
      *q = '/';
    }
  if (mkdir(buf, 0777) && errno != EEXIST) return -1;
  struct stat st;
  if (stat(buf, &st)) return -1;
  if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return -1; }
  return 0;
}

int cmd_report(int argc, char **argv) {
  const char *outdir = NULL, *baseline = NULL, *fuzz = NULL, *thr = NULL, *title = "smaxcheck accuracy report";
  int top = 3, quiet = 0;
  char **files = calloc((size_t)argc + 1, sizeof *files);
  int nfiles = 0;
  if (!files) return 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage, stdout); free(files); return 0; }
    int takes = !strcmp(a, "-o") || !strcmp(a, "--out") || !strcmp(a, "--baseline") || !strcmp(a, "--fuzz") ||
                !strcmp(a, "--thresholds") || !strcmp(a, "--top") || !strcmp(a, "--title");
    if (takes) {
      if (i + 1 >= argc) { fprintf(stderr, "smaxcheck report: %s needs a value\n%s", a, usage); free(files); return 2; }
      const char *v = argv[++i];
      if (!strcmp(a, "-o") || !strcmp(a, "--out")) outdir = v;
      else if (!strcmp(a, "--baseline")) baseline = v;
      else if (!strcmp(a, "--fuzz")) fuzz = v;
      else if (!strcmp(a, "--thresholds")) thr = v;
      else if (!strcmp(a, "--title")) title = v;
      else {
        char *end;
        long t = strtol(v, &end, 10);
        if (end == v || *end || t < 1 || t > 100) { fprintf(stderr, "smaxcheck report: --top wants 1..100 (%s)\n", v); free(files); return 2; }
        top = (int)t;
      }
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
    else if (a[0] == '-' && a[1]) { fprintf(stderr, "smaxcheck report: unknown option '%s'\n%s", a, usage); free(files); return 2; }
    else files[nfiles++] = argv[i];
  }
  if (!nfiles || !outdir) {
    fprintf(stderr, "smaxcheck report: %s\n%s", !nfiles ? "no results file given" : "-o DIR is required", usage);
    free(files);
    return 2;
  }
  /* read and check everything first */
  rset s = {0}, old = {0};
  rfuzz fz = {0};
  threshold *th = NULL;
  long nth = 0;
  int rc = 2;
  rdesc *d = NULL;
  size_t nd = 0;
  hbuf b = {0};
  const char **case_names = NULL;
  for (int i = 0; i < nfiles; i++)
    if (rset_load(&s, files[i])) goto done;
  if (!s.n) { fprintf(stderr, "smaxcheck report: %s: no result objects in the input\n", files[nfiles - 1]); goto done; }
  if (baseline && rset_load(&old, baseline)) goto done;
  if (fuzz && rfuzz_load(&fz, fuzz)) goto done;
  if (thr) {
    char err[512];
    nth = thresholds_load(thr, &th, err, sizeof err);
    if (nth < 0) { fprintf(stderr, "smaxcheck report: %s\n", err); th = NULL; goto done; }
    if (!th) th = calloc(1, sizeof *th); /* an empty file: every kernel lacks an entry */
  }
  d = build_descs(&s, &nd, th, nth);
  if (!d) { fprintf(stderr, "smaxcheck report: out of memory\n"); goto done; }
  /* special-value columns: C1..C5 always, C0 and unknown cases when seen */
  case_names = calloc(NCASES + REP_MAX_SPECIAL * 4 + 1, sizeof *case_names);
  if (!case_names) goto done;
  size_t ncase = 0;
  for (size_t k = 0; k < NCASES; k++) {
    int seen = k > 0;
    for (size_t i = 0; i < s.n && !seen; i++)
      for (size_t j = 0; j < s.c[i].nspecial; j++) seen |= !strcmp(s.c[i].special[j].name, CASES[k].name);
    if (seen) case_names[ncase++] = CASES[k].name;
  }
  for (size_t i = 0; i < s.n; i++)
    for (size_t j = 0; j < s.c[i].nspecial; j++) {
      const char *nm = s.c[i].special[j].name;
      if (is_known_case(nm)) continue;
      size_t k;
      for (k = 0; k < ncase && strcmp(case_names[k], nm); k++) {}
      if (k == ncase && ncase < NCASES + REP_MAX_SPECIAL * 4) case_names[ncase++] = nm;
    }
  page pg = {&s, d, nd, th, nth, case_names, ncase, top};

  hb_raw(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  char js_hash[45];
  sha256_base64(SORT_JS, strlen(SORT_JS), js_hash);
  hb_printf(&b, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
                "img-src data:; script-src 'sha256-%s'\">\n", js_hash);
  hb_raw(&b, "<meta name=\"generator\" content=\"smaxcheck report\">\n<title>");
  hb_esc(&b, title);
  hb_raw(&b, "</title>\n<style>\n");
  hb_raw(&b, CSS);
  hb_raw(&b, "</style></head>\n<body><main>\n");
  section_header(&b, &pg, files, nfiles, title, baseline, fuzz, thr);
  hb_raw(&b, "\n");
  section_summary(&b, &pg);
  hb_raw(&b, "\n");
  section_findings(&b, &pg);
  hb_raw(&b, "\n");
  section_special(&b, &pg);
  hb_raw(&b, "\n");
  section_charts(&b, &pg);
  hb_raw(&b, "\n");
  section_worst(&b, &pg);
  hb_raw(&b, "\n");
  if (baseline) section_diff(&b, &pg, &old, baseline), hb_raw(&b, "\n");
  if (fuzz) section_fuzz(&b, &fz, fuzz), hb_raw(&b, "\n");
  section_notes(&b);
  hb_raw(&b, "\n<footer>Written by <code>smaxcheck report</code> from the results files above; the page is self-contained "
             "and needs no network. Specification of the results: <code>harness/SCHEMA.md</code>.</footer>\n</main>\n<script>");
  hb_raw(&b, SORT_JS);
  hb_raw(&b, "</script>\n</body></html>\n");
  if (b.oom) { fprintf(stderr, "smaxcheck report: out of memory\n"); goto done; }

  /* write atomically */
  if (mkdir_p(outdir)) { fprintf(stderr, "smaxcheck report: cannot create '%s': %s\n", outdir, strerror(errno)); goto done; }
  size_t pl = strlen(outdir) + 64;
  char *path = malloc(pl), *tmp = malloc(pl);
  if (!path || !tmp) { free(path), free(tmp); goto done; }
  snprintf(path, pl, "%s/index.html", outdir);
  snprintf(tmp, pl, "%s/index.html.tmp.%ld", outdir, (long)getpid());
  FILE *fp = fopen(tmp, "w");
  int ok = fp && fwrite(b.s, 1, b.len, fp) == b.len;
  if (fp && fclose(fp)) ok = 0;
  if (!ok || rename(tmp, path)) {
    fprintf(stderr, "smaxcheck report: cannot write '%s': %s\n", path, strerror(errno ? errno : EIO));
    unlink(tmp);
  } else {
    rc = 0;
    if (!quiet) {
      size_t cnt[3] = {0, 0, 0};
      for (size_t i = 0; i < nd; i++) cnt[d[i].verdict]++;
      printf("%s\n", path);
      fprintf(stderr, "smaxcheck report: %zu cells, %zu kernel x function x format rows: %zu ok, %zu to review, %zu broken\n",
              s.n, nd, cnt[0], cnt[1], cnt[2]);
    }
  }
  free(path), free(tmp);
done:
  free(b.s);
  free(case_names);
  if (d && nd) free(d[0].cells);
  free(d);
  free(th);
  rfuzz_free(&fz);
  rset_free(&old);
  rset_free(&s);
  free(files);
  return rc;
}

/* charts.c -- the report's SVG charts, drawn from the results alone.
 *
 *  1. ulp-error profile per descriptor (kernel x function x format), log axis
 *  2. bound ratio vs input spread, with the Blanchard-Higham-Higham bound
 *  3. accuracy vs throughput over all descriptors, Pareto front marked
 *
 * Every caption in cmd_report.c says exactly what is plotted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NPAL (sizeof PALETTE / sizeof PALETTE[0])
const char *chart_colour(size_t i) { return PALETTE[i % NPAL]; }

/* ---- log axes ---- */
typedef struct {
  int lo, hi;     /* decades: 10^lo .. 10^hi */
  double p0, p1;  /* pixels (p1 may be < p0 for a y axis) */
} laxis;

static double lpos(const laxis *a, double v) {
  double t = (log10(v) - a->lo) / (a->hi - a->lo);
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  return a->p0 + t * (a->p1 - a->p0);
}

/* decades covering [mn, mx] (positive, finite), with limits */
static void lrange(laxis *a, double mn, double mx, int minlo, int mingap, int floor_hi) {
  if (!(mn > 0) || !(mx > 0) || isinf(mn) || isinf(mx)) mn = 0.1, mx = 10;
  a->lo = (int)floor(log10(mn) + 1e-9);
  a->hi = (int)ceil(log10(mx) - 1e-9);
  if (a->lo < minlo) a->lo = minlo;
  if (a->hi < floor_hi) a->hi = floor_hi;
  if (a->hi - a->lo < mingap) a->hi = a->lo + mingap;
}

static void dec_label(char *o, size_t ol, int e) {
  if (e >= -3 && e <= 4) {
    snprintf(o, ol, "%.*f", e < 0 ? -e : 0, pow(10, e));
  } else snprintf(o, ol, "1e%d", e);
}

/* which decades get a label and a grid line: at most about 10 */
static int dec_step(const laxis *a) {
  int n = a->hi - a->lo;
  return n <= 10 ? 1 : (n + 9) / 10;
}

/* grid + labels for a horizontal log axis at y = base */
static void xaxis(hbuf *b, const laxis *a, double ytop, double base, const char *title, double xmid) {
  char lab[32];
  int step = dec_step(a);
  for (int e = a->lo; e <= a->hi; e++) {
    double x = lpos(a, pow(10, e));
    if (e < a->hi && a->hi - a->lo <= 8)
      for (int m = 2; m <= 9; m++) {
        double xm = lpos(a, m * pow(10, e));
        hb_printf(b, "<line class=\"minor\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xm, base - 4, xm, base);
        if (a->hi - a->lo <= 2 && (m == 2 || m == 5)) {
          dec_label(lab, sizeof lab, e);
          hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d\xc3\x97%s</text>", xm, base + 14, m, lab);
        }
      }
    if ((e - a->lo) % step) continue;
    hb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, ytop, x, base);
    dec_label(lab, sizeof lab, e);
    hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", x, base + 14, lab);
  }
  hb_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", a->p0, base, a->p1, base);
  hb_printf(b, "<text class=\"atitle\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", xmid, base + 32);
  hb_esc(b, title);
  hb_raw(b, "</text>");
}

static void yaxis(hbuf *b, const laxis *a, double xl, double xr, const char *title) {
  char lab[32];
  int step = dec_step(a);
  for (int e = a->lo; e <= a->hi; e++) {
    double y = lpos(a, pow(10, e));
    if (e < a->hi && a->hi - a->lo <= 8)
      for (int m = 2; m <= 9; m++) {
        double ym = lpos(a, m * pow(10, e));
        hb_printf(b, "<line class=\"minor\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xl, ym, xl + 4, ym);
      }
    if ((e - a->lo) % step) continue;
    hb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xl, y, xr, y);
    dec_label(lab, sizeof lab, e);
    hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", xl - 6, y + 4, lab);
  }
  hb_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xl, a->p0, xl, a->p1);
  double ym = (a->p0 + a->p1) / 2;
  hb_printf(b, "<text class=\"atitle\" transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">",
            xl - 52, ym);
  hb_esc(b, title);
  hb_raw(b, "</text>");
}

/* marker shapes: 0 circle, 1 square, 2 triangle, 3 diamond, 4 cross,
 * 5 triangle pointing down, 6 plus */
static void marker(hbuf *b, int shape, double x, double y, double r, const char *fill, const char *stroke,
                   double opacity) {
  switch (shape % 7) {
  case 0:
    hb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", x, y, r);
    break;
  case 1:
    hb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x - r * .9, y - r * .9, r * 1.8, r * 1.8);
    break;
  case 2:
    hb_printf(b, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", x, y - r * 1.2, x + r * 1.1, y + r * .8, x - r * 1.1, y + r * .8);
    break;
  case 3:
    hb_printf(b, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", x, y - r * 1.25, x + r * 1.1, y, x, y + r * 1.25, x - r * 1.1, y);
    break;
  case 4:
    hb_printf(b, "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke-width=\"2.2\"", x - r, y - r, x + r, y + r,
              x - r, y + r, x + r, y - r);
    break;
  case 5:
    hb_printf(b, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", x, y + r * 1.2, x + r * 1.1, y - r * .8, x - r * 1.1, y - r * .8);
    break;
  default:
    hb_printf(b, "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1f\" stroke-width=\"2.2\"", x - r * 1.2, y, x + r * 1.2, x, y - r * 1.2, y + r * 1.2);
    break;
  }
  int line_only = shape % 7 == 4 || shape % 7 == 6;
  hb_printf(b, " fill=\"%s\" stroke=\"%s\" fill-opacity=\"%.2f\"", line_only ? "none" : fill, line_only ? fill : stroke,
            opacity);
}

/* A data point, closed: filled for a built-in kernel; hollow for a
 * third-party one (white inside, a thick outline in the colour; the line
 * shapes, which have no inside, get a hollow dot at their centre), so the
 * two read apart whatever the shape and colour already encode. */
static void point(hbuf *b, int shape, double x, double y, double r, const char *colour, int hollow, double opacity) {
  if (!hollow) {
    marker(b, shape, x, y, r, colour, "#222", opacity);
    hb_raw(b, "/>");
  } else if (shape % 7 == 4 || shape % 7 == 6) {
    marker(b, shape, x, y, r, colour, colour, 1);
    hb_printf(b, "/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"1.5\"/>", x, y,
              r * .55, colour);
  } else {
    marker(b, shape, x, y, r, "#fff", colour, 1);
    hb_raw(b, " stroke-width=\"2\"/>");
  }
}

/* ---- distinct names, for colours and shapes ---- */
typedef struct {
  const char *name[64];
  size_t n;
} names;
static size_t name_index(names *t, const char *s) {
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->name[i], s)) return i;
  if (t->n < 64) t->name[t->n++] = s;
  return t->n - 1; /* more than 64: the last slot is shared */
}

static int func_shape(const char *f) {
  if (!strcmp(f, "softmax")) return 0;
  if (!strcmp(f, "log_softmax")) return 1;
  if (!strcmp(f, "logsumexp")) return 2;
  if (!strcmp(f, "softmax_vjp")) return 3;
  if (!strcmp(f, "cross_entropy")) return 4;
  if (!strcmp(f, "log_softmax_vjp")) return 5;
  return 6;
}

static void svg_open(hbuf *b, double w, double h, const char *label) {
  hb_printf(b, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
               "width=\"%.0f\" role=\"img\" aria-label=\"", w, h, w);
  hb_esc(b, label);
  hb_raw(b, "\">");
}

static void legend_item(hbuf *b, double x, double y, int shape, const char *colour, const char *text) {
  marker(b, shape, x + 5, y - 4, 4.5, colour, "#333", 0.85);
  hb_raw(b, "/>");
  hb_printf(b, "<text class=\"leg\" x=\"%.1f\" y=\"%.1f\">", x + 14, y);
  hb_esc_trunc(b, text, 28);
  hb_raw(b, "</text>");
}

/* ================= 1. ulp-error profile ================= */
void chart_ulp_profile(hbuf *b, const rset *s, const rdesc *d, size_t nd) {
  double mn = INFINITY, mx = 0;
  size_t rows = 0;
  for (size_t i = 0; i < nd; i++) {
    if (d[i].outputs <= 0) continue;
    rows++;
    double v[] = {d[i].mean_ulp, d[i].p50, d[i].p99, d[i].p999, d[i].max_ulp};
    for (size_t k = 0; k < 5; k++)
      if (v[k] > 0 && !isinf(v[k])) mn = fmin(mn, v[k]), mx = fmax(mx, v[k]);
    for (size_t k = 0; k < d[i].ncells; k++) {
      double u = s->c[d[i].cells[k]].max_ulp;
      if (u > 0 && !isinf(u)) mn = fmin(mn, u), mx = fmax(mx, u);
    }
  }
  if (!rows) { hb_raw(b, "<p class=\"note\">No descriptor has finite outputs to plot.</p>"); return; }
  mn = fmin(mn, 0.1); /* the 0.5 and 1 ulp lines stay on the axis */
  const double W = 1100, L = 330, R = W - 70, top = 56, rh = 22;
  double H = top + rows * rh + 56;
  laxis a;
  lrange(&a, mn, mx, -3, 2, 1);
  a.p0 = L, a.p1 = R;
  names kn = {{0}, 0};
  svg_open(b, W, H, "ulp error per kernel, log scale");
  /* legend */
  double ly = 18;
  hb_printf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#777\" stroke-width=\"1.5\"/>", L, ly - 4, L, ly + 4);
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">max ulp of one cell (family, n)</text>", L + 8, ly + 4);
  hb_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"22\" height=\"10\" fill=\"#4e79a7\" fill-opacity=\".35\" stroke=\"#4e79a7\"/>", L + 230, ly - 5);
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">p50 to p99 (largest over cells)</text>", L + 258, ly + 4);
  hb_printf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/><line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\" stroke-width=\"2\"/>",
            L + 470, ly, L + 495, ly, L + 495, ly - 6, L + 495, ly + 6);
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">to the max</text>", L + 502, ly + 4);
  hb_printf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\" stroke-dasharray=\"2 1\"/>", L + 580, ly - 5, L + 580, ly + 5);
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">p99.9</text>", L + 586, ly + 4);
  hb_printf(b, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"3.5\" fill=\"#fff\" stroke=\"#111\" stroke-width=\"1.5\"/>", L + 636, ly);
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">mean</text>", L + 644, ly + 4);
  double y1 = top + rows * rh;
  xaxis(b, &a, top - 8, y1 + 4, "ulp error (log scale; 0 drawn at the left edge, inf/nan in the right column)", (L + R) / 2);
  /* reference lines */
  double x05 = lpos(&a, 0.5), x1 = lpos(&a, 1);
  hb_printf(b, "<line class=\"ref\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x05, top - 8, x05, y1 + 4);
  hb_printf(b, "<text class=\"reflab\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0.5: correctly rounded</text>", x05 - 3, top - 10);
  hb_printf(b, "<line class=\"ref\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, top - 8, x1, y1 + 4);
  hb_printf(b, "<text class=\"reflab\" x=\"%.1f\" y=\"%.1f\">1: faithful</text>", x1 + 3, top - 10);
  double xinf = R + 34;
  hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">inf/nan</text>", xinf, y1 + 18);
  size_t row = 0;
  for (size_t i = 0; i < nd; i++) {
    const rdesc *q = &d[i];
    if (q->outputs <= 0) continue;
    double y = top + row * rh + rh / 2;
    if (row % 2) hb_printf(b, "<rect x=\"4\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f6f7f9\"/>", y - rh / 2, W - 8, rh);
    row++;
    const char *col = chart_colour(name_index(&kn, q->kernel));
    hb_printf(b, "<g><title>#%d ", q->id);
    hb_esc(b, q->kernel);
    hb_raw(b, " ");
    hb_esc(b, q->func);
    hb_raw(b, " ");
    hb_esc(b, q->format);
    char t1[32], t2[32], t3[32], t4[32], t5[32];
    fmt_num(t1, sizeof t1, q->mean_ulp), fmt_num(t2, sizeof t2, q->p50), fmt_num(t3, sizeof t3, q->p99);
    fmt_num(t4, sizeof t4, q->p999), fmt_num(t5, sizeof t5, q->max_ulp);
    hb_printf(b, ": mean %s, p50 %s, p99 %s, p99.9 %s, max %s ulp over %zu cells", t1, t2, t3, t4, t5, q->ncells);
    if (q->third_party) hb_raw(b, "; "), hb_esc(b, q->source);
    hb_raw(b, "</title>");
    hb_printf(b, "<text class=\"rowlab\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", L - 10, y + 4);
    hb_printf(b, "<tspan class=\"rid\">#%d</tspan> ", q->id);
    if (q->third_party) hb_printf(b, "<tspan class=\"tp\">%s</tspan> ", source_kind(q->source));
    hb_esc_trunc(b, q->kernel, 22);
    hb_raw(b, " \xc2\xb7 ");
    hb_esc_trunc(b, q->func, 16);
    hb_raw(b, " \xc2\xb7 ");
    hb_esc_trunc(b, q->format, 10);
    hb_raw(b, "</text>");
#define XPOS(v) ((v) > 0 && !isinf(v) ? lpos(&a, v) : (v) == 0 ? L - 6 : xinf)
    /* cells */
    for (size_t k = 0; k < q->ncells; k++) {
      const rcell *c = &s->c[q->cells[k]];
      if (!c->ok || c->outputs <= 0) continue;
      double x = XPOS(c->max_ulp);
      hb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" stroke-opacity=\".55\"/>", x, y - 8, x, y + 8);
    }
    double xa = XPOS(q->p50), xb = XPOS(q->p99), xm = XPOS(q->max_ulp), x9 = XPOS(q->p999), xmean = XPOS(q->mean_ulp);
    hb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", xb, y, xm, y);
    hb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-width=\"2\"/>", xm, y - 6, xm, y + 6);
    hb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\" fill=\"%s\" fill-opacity=\".35\" stroke=\"%s\"/>",
              fmin(xa, xb), y - 5, fmax(fabs(xb - xa), 1.5), col, col);
    hb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-dasharray=\"2 1\"/>", x9, y - 5, x9, y + 5);
    hb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#fff\" stroke=\"#111\" stroke-width=\"1.5\"/>", xmean, y);
    hb_raw(b, "</g>");
#undef XPOS
  }
  hb_raw(b, "</svg>");
}

/* ================= 2. bound ratio vs spread ================= */
/* is cell c a point of chart 2: measured, with a worst row to take the
 * spread from? */
static int spread_point(const rcell *c, double *sp) {
  if (!c->ok || c->outputs <= 0) return 0;
  *sp = row_spread(c->input, c->tau);
  return *sp >= 0;
}

double row_spread(const char *input, double tau) {
  if (!input || !*input || !(tau > 0)) return -1;
  double mn = INFINITY, mx = -INFINITY;
  const char *p = input;
  while (*p) {
    char *end;
    double v = strtod(p, &end);
    if (end == p) return -1;
    if (isfinite(v)) mn = fmin(mn, v), mx = fmax(mx, v);
    p = end;
    while (*p == ' ') p++;
  }
  if (!(mx >= mn)) return -1;
  return (mx - mn) / tau;
}

void chart_bound_spread(hbuf *b, const rset *s, const rdesc *d, size_t nd) {
  double xmn = INFINITY, xmx = 0, ymn = INFINITY, ymx = 0;
  size_t np = 0;
  for (size_t i = 0; i < nd; i++) {
    if (!d[i].is_float) continue;
    for (size_t k = 0; k < d[i].ncells; k++) {
      const rcell *c = &s->c[d[i].cells[k]];
      double sp;
      if (!spread_point(c, &sp)) continue;
      np++;
      if (sp > 0 && isfinite(sp)) xmn = fmin(xmn, sp), xmx = fmax(xmx, sp);
      if (c->bound > 0 && isfinite(c->bound)) ymn = fmin(ymn, c->bound), ymx = fmax(ymx, c->bound);
    }
  }
  if (!np) { hb_raw(b, "<p class=\"note\">No floating-point cell with a worst row to plot.</p>"); return; }
  const double W = 1100, L = 90, R = 820, T = 24, B = 420, H = 480;
  laxis ax, ay;
  lrange(&ax, xmn, xmx, -2, 2, 0);
  /* spreads past 1e5 (whole-range families: every output is a 0/1 limit)
   * go to one column at the right instead of stretching the axis */
  int capped = ax.hi > 5;
  if (capped) ax.hi = 5;
  lrange(&ay, ymn, ymx, -8, 2, 1);
  ax.p0 = L + 34, ax.p1 = capped ? R - 46 : R;
  ay.p0 = B, ay.p1 = T;
  names kn = {{0}, 0}, fn = {{0}, 0};
  svg_open(b, W, H, "bound ratio against input spread");
  /* above the bound: shaded */
  double y1 = lpos(&ay, 1);
  hb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fdecea\"/>", L, T, R - L, y1 - T);
  yaxis(b, &ay, L, R, "max bound ratio: relative error / (B\xc2\xb7u)");
  xaxis(b, &ax, T, B, "spread (max \xe2\x88\x92 min)/\xcf\x84 of the worst row (log scale)", (L + R) / 2);
  hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">0</text>", L + 14, B + 14);
  if (capped) {
    hb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-dasharray=\"3 3\"/>", R - 30, T, R - 30, B);
    hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">&gt;1e5</text>", R - 16, B + 14);
  }
  hb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" stroke-width=\"2\"/>", L, y1, R, y1);
  int tp_shown = 0;
  for (size_t i = 0; i < nd; i++) {
    if (!d[i].is_float) continue;
    /* in the legends only with a point (not a kernel whose cells all ended in a finding) */
    size_t k0 = 0;
    double sp;
    while (k0 < d[i].ncells && !spread_point(&s->c[d[i].cells[k0]], &sp)) k0++;
    if (k0 == d[i].ncells) continue;
    const char *col = chart_colour(name_index(&kn, d[i].kernel));
    name_index(&fn, d[i].func);
    tp_shown |= d[i].third_party;
    for (size_t k = k0; k < d[i].ncells; k++) {
      const rcell *c = &s->c[d[i].cells[k]];
      if (!spread_point(c, &sp)) continue;
      double x = sp == 0 ? L + 14 : capped && !(sp <= 1e5) ? R - 16 : lpos(&ax, sp);
      double y = c->bound > 0 && isfinite(c->bound) ? lpos(&ay, c->bound) : c->bound == 0 ? B - 3 : T + 3;
      hb_raw(b, "<g>");
      point(b, func_shape(c->func), x, y, 4, col, d[i].third_party, 0.75);
      hb_raw(b, "<title>");
      char t1[32], t2[32], t3[32];
      fmt_num(t1, sizeof t1, sp), fmt_num(t2, sizeof t2, c->bound), fmt_num(t3, sizeof t3, c->n);
      hb_printf(b, "#%d ", d[i].id);
      hb_esc(b, c->kernel), hb_raw(b, " "), hb_esc(b, c->func), hb_raw(b, " "), hb_esc(b, c->format);
      hb_raw(b, ", family "), hb_esc(b, c->family);
      hb_printf(b, ", n=%s: spread %s, bound ratio %s", t3, t1, t2);
      if (d[i].third_party) hb_raw(b, "; "), hb_esc(b, d[i].source);
      hb_raw(b, "</title></g>");
    }
  }
  /* the bound's label on top of the points, with a white halo */
  hb_printf(b, "<text class=\"reflab\" x=\"%.1f\" y=\"%.1f\" fill=\"#c0392b\" stroke=\"#fff\" stroke-width=\"4\" "
               "paint-order=\"stroke\" font-weight=\"600\">Blanchard\xe2\x80\x93Higham\xe2\x80\x93Higham bound "
               "(ratio = 1)</text>", ax.p0 + 8, y1 - 6);
  /* legends: colour = kernel, shape = function */
  double lx = R + 30, ly = T + 10;
  hb_printf(b, "<text class=\"leghead\" x=\"%.0f\" y=\"%.0f\">kernel (colour)</text>", lx, ly);
  ly += 18;
  for (size_t i = 0; i < kn.n && ly < H - 60; i++, ly += 17) legend_item(b, lx, ly, 0, chart_colour(i), kn.name[i]);
  ly += 10;
  hb_printf(b, "<text class=\"leghead\" x=\"%.0f\" y=\"%.0f\">function (shape)</text>", lx, ly);
  ly += 18;
  for (size_t i = 0; i < fn.n && ly < H - 26; i++, ly += 17) legend_item(b, lx, ly, func_shape(fn.name[i]), "#888", fn.name[i]);
  if (tp_shown) {
    point(b, 0, lx + 5, ly - 4, 4.5, "#666", 1, 1);
    hb_printf(b, "<text class=\"leg\" x=\"%.1f\" y=\"%.1f\">hollow: third-party kernel</text>", lx + 14, ly);
  }
  hb_raw(b, "</svg>");
}

/* ================= 3. accuracy vs throughput ================= */
/* labels placed beside their point where they overlap no earlier label */
typedef struct {
  double x0, y0, x1, y1;
} box;
static int overlaps(const box *a, const box *b) { return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1; }

void chart_pareto(hbuf *b, const rset *s, const rdesc *d, size_t nd) {
  (void)s;
  size_t np = 0;
  double xmn = INFINITY, xmx = 0, ymn = INFINITY, ymx = 0;
  double *px = calloc(nd + 1, sizeof *px), *py = calloc(nd + 1, sizeof *py);
  int *on = calloc(nd + 1, sizeof *on);
  size_t *ord = calloc(nd + 1, sizeof *ord);
  box *placed = calloc(2 * nd + 1, sizeof *placed);
  if (!px || !py || !on || !ord || !placed) { b->oom = 1; goto out; }
  for (size_t i = 0; i < nd; i++) {
    double u = format_unit(d[i].format);
    px[i] = py[i] = -1;
    if (d[i].outputs <= 0 || !(u > 0) || !(d[i].eps > 0) || isinf(d[i].eps)) continue;
    px[i] = d[i].eps;
    py[i] = isnan(d[i].max_ulp) ? INFINITY : d[i].max_ulp * u;
    np++;
    xmn = fmin(xmn, px[i]), xmx = fmax(xmx, px[i]);
    if (py[i] > 0 && isfinite(py[i])) ymn = fmin(ymn, py[i]), ymx = fmax(ymx, py[i]);
  }
  if (!np) {
    hb_raw(b, "<p class=\"note\">No kernel has both finite outputs and a throughput to plot.</p>");
    goto out;
  }
  /* Pareto front per function: no other row of the same function is at
   * least as fast and at least as accurate, and better in one */
  for (size_t i = 0; i < nd; i++) {
    if (px[i] < 0) continue;
    on[i] = 1;
    for (size_t j = 0; j < nd && on[i]; j++)
      if (j != i && px[j] >= 0 && !strcmp(d[i].func, d[j].func) && px[j] >= px[i] && py[j] <= py[i] &&
          (px[j] > px[i] || py[j] < py[i]))
        on[i] = 0;
  }
  const double W = 1100, L = 96, R = 820, T = 24, B = 420, H = 480;
  laxis ax, ay;
  lrange(&ax, xmn, xmx, -100, 1, -100);
  lrange(&ay, ymn, ymx, -300, 2, -300);
  ax.p0 = L, ax.p1 = R;
  ay.p0 = B - 26, ay.p1 = T + 18;
  names fn = {{0}, 0};
  for (size_t i = 0; i < nd; i++)
    if (px[i] >= 0) name_index(&fn, d[i].func);
  svg_open(b, W, H, "accuracy against throughput");
  yaxis(b, &ay, L, R, "max ulp \xc3\x97 ulp(1) of the format (lower is better)");
  xaxis(b, &ax, T, B, "throughput: input elements per second over all cells (right is faster)", (L + R) / 2);
  hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>", L - 6, B - 6);
  hb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", L, B - 10, R, B - 10);
  hb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">inf/nan</text>", L - 6, T + 8);
  hb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", L, T + 4, R, T + 4);
#define PY(v) ((v) > 0 && isfinite(v) ? lpos(&ay, v) : (v) == 0 ? B - 10 : T + 4)
  /* each function's front as a staircase, fastest first */
  for (size_t f = 0; f < fn.n; f++) {
    size_t nf = 0;
    for (size_t i = 0; i < nd; i++)
      if (on[i] && !strcmp(d[i].func, fn.name[f])) ord[nf++] = i;
    for (size_t i = 1; i < nf; i++)
      for (size_t j = i; j > 0 && px[ord[j]] > px[ord[j - 1]]; j--) {
        size_t t = ord[j];
        ord[j] = ord[j - 1], ord[j - 1] = t;
      }
    if (nf < 2) continue;
    hb_printf(b, "<path class=\"front\" style=\"stroke:%s\" d=\"", chart_colour(f));
    for (size_t k = 0; k < nf; k++) {
      double x = lpos(&ax, px[ord[k]]), y = PY(py[ord[k]]);
      if (!k) hb_printf(b, "M%.1f %.1f", x, y);
      else hb_printf(b, "H%.1fV%.1f", x, y);
    }
    hb_raw(b, "\"/>");
  }
  size_t npl = 0;
  for (size_t i = 0; i < nd; i++) {
    if (px[i] < 0) continue;
    double x = lpos(&ax, px[i]), y = PY(py[i]);
    placed[npl++] = (box){x - 6, y - 6, x + 6, y + 6};
  }
  for (size_t i = 0; i < nd; i++) {
    if (px[i] < 0) continue;
    size_t fi = name_index(&fn, d[i].func);
    double x = lpos(&ax, px[i]), y = PY(py[i]);
    hb_printf(b, "<g class=\"pt%s\" data-id=\"%d\">", d[i].third_party ? " tp" : "", d[i].id);
    if (on[i]) hb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"none\" stroke=\"#111\" stroke-width=\"1.5\"/>", x, y);
    point(b, func_shape(d[i].func), x, y, 5, chart_colour(fi), d[i].third_party, 0.85);
    /* the label: first free spot around the point */
    char lab[16];
    int ll = snprintf(lab, sizeof lab, "%d", d[i].id);
    double lw = 6.5 * ll + 2, lh = 11;
    static const double off[][2] = {{9, -7}, {9, 12}, {-9, -7}, {-9, 12}, {0, -13}, {0, 21}, {15, 3}, {-15, 3}};
    size_t pick = 0;
    for (size_t k = 0; k < sizeof off / sizeof off[0]; k++) {
      double lx = off[k][0] >= 0 ? x + off[k][0] : x + off[k][0] - lw;
      if (off[k][0] == 0) lx = x - lw / 2;
      box bx = {lx, y + off[k][1] - lh + 2, lx + lw, y + off[k][1] + 2};
      int clash = 0;
      for (size_t q = 0; q < npl && !clash; q++) clash = overlaps(&bx, &placed[q]);
      if (!clash) { pick = k; break; }
    }
    double lx = off[pick][0] > 0 ? x + off[pick][0] : off[pick][0] < 0 ? x + off[pick][0] - lw : x - lw / 2;
    placed[npl++] = (box){lx, y + off[pick][1] - lh + 2, lx + lw, y + off[pick][1] + 2};
    hb_printf(b, "<text class=\"plab\" x=\"%.1f\" y=\"%.1f\">%s</text>", lx + 1, y + off[pick][1], lab);
    char t1[32], t2[32], t3[32];
    fmt_rate(t1, sizeof t1, px[i]), fmt_num(t2, sizeof t2, d[i].max_ulp), fmt_num(t3, sizeof t3, py[i]);
    hb_printf(b, "<title>#%d ", d[i].id);
    hb_esc(b, d[i].kernel), hb_raw(b, " "), hb_esc(b, d[i].func), hb_raw(b, " "), hb_esc(b, d[i].format);
    hb_printf(b, ": %s elem/s, max %s ulp = %s%s", t1, t2, t3, on[i] ? " (on its function's Pareto front)" : "");
    if (d[i].third_party) hb_raw(b, "; "), hb_esc(b, d[i].source);
    if (d[i].nok_cells) hb_printf(b, "; %zu of %zu cells did not run to the end", d[i].nok_cells, d[i].ncells);
    hb_raw(b, "</title></g>");
  }
#undef PY
  double lx = R + 30, ly = T + 10;
  hb_printf(b, "<text class=\"leghead\" x=\"%.0f\" y=\"%.0f\">function</text>", lx, ly);
  ly += 18;
  for (size_t i = 0; i < fn.n && ly < H - 100; i++, ly += 17) legend_item(b, lx, ly, func_shape(fn.name[i]), chart_colour(i), fn.name[i]);
  ly += 12;
  hb_printf(b, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"7\" fill=\"none\" stroke=\"#111\" stroke-width=\"1.5\"/>", lx + 5, ly - 4);
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">on its function's Pareto front</text>", lx + 16, ly);
  ly += 18;
  hb_printf(b, "<path class=\"front\" d=\"M%.0f %.0fH%.0f\"/>", lx - 2, ly - 4, lx + 12);
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">the front, per function</text>", lx + 16, ly);
  ly += 18;
  hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">labels: row # in the summary</text>", lx - 2, ly);
  int any_tp = 0;
  for (size_t i = 0; i < nd; i++) any_tp |= px[i] >= 0 && d[i].third_party;
  if (any_tp) {
    ly += 18;
    point(b, 0, lx + 5, ly - 4, 4.5, "#666", 1, 1);
    hb_printf(b, "<text class=\"leg\" x=\"%.0f\" y=\"%.0f\">hollow: third-party (plugin, cmd)</text>", lx + 16, ly);
  }
  hb_raw(b, "</svg>");
out:
  free(px), free(py), free(on), free(ord), free(placed);
}

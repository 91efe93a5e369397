/* html.c -- the report's output buffer, HTML escaping and number formats. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

static int hb_reserve(hbuf *b, size_t more) {
  if (b->oom) return -1;
  if (b->len + more + 1 <= b->cap) return 0;
  size_t nc = b->cap ? b->cap : 1 << 16;
  while (nc < b->len + more + 1) nc *= 2;
  char *p = realloc(b->s, nc);
  if (!p) { b->oom = 1; return -1; }
  b->s = p, b->cap = nc;
  return 0;
}

void hb_rawn(hbuf *b, const char *s, size_t n) {
  if (hb_reserve(b, n)) return;
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
}

void hb_raw(hbuf *b, const char *s) { hb_rawn(b, s, strlen(s)); }

void hb_printf(hbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || hb_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* length of the valid UTF-8 sequence at s (1..4), or 0 if invalid */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp < 0xe000))
    return 0;
  return n;
}

void hb_esc_trunc(hbuf *b, const char *s, size_t max) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t chars = 0;
  while (*p) {
    if (chars++ == max) { hb_raw(b, "\xe2\x80\xa6"); return; }
    unsigned c = *p;
    switch (c) {
    case '&': hb_raw(b, "&amp;"), p++; continue;
    case '<': hb_raw(b, "&lt;"), p++; continue;
    case '>': hb_raw(b, "&gt;"), p++; continue;
    case '"': hb_raw(b, "&quot;"), p++; continue;
    case '\'': hb_raw(b, "&#39;"), p++; continue;
    default: break;
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) { hb_raw(b, "\xef\xbf\xbd"), p++; continue; }
    size_t n = utf8_len(p);
    if (!n) { hb_raw(b, "\xef\xbf\xbd"), p++; continue; }
    hb_rawn(b, (const char *)p, n);
    p += n;
  }
}

void hb_esc(hbuf *b, const char *s) { hb_esc_trunc(b, s, (size_t)-1); }

void fmt_num(char *out, size_t ol, double v) {
  if (isnan(v)) { snprintf(out, ol, "nan"); return; }
  if (isinf(v)) { snprintf(out, ol, v > 0 ? "inf" : "-inf"); return; }
  if (v == 0) { snprintf(out, ol, "0"); return; }
  double a = fabs(v);
  if (a >= 1e-3 && a < 999.5) snprintf(out, ol, "%.3g", v);
  else if (a >= 999.5 && a < 999999.5) snprintf(out, ol, "%.0f", v);
  else {
    /* 1.23e+07 -> 1.23e7, 4.5e-05 -> 4.5e-5 */
    char t[48];
    snprintf(t, sizeof t, "%.3g", v);
    char *e = strchr(t, 'e');
    if (e) {
      char *q = e + 1, sign = *q;
      if (sign == '+' || sign == '-') q++;
      while (*q == '0' && q[1]) q++;
      snprintf(out, ol, "%.*se%s%s", (int)(e - t), t, sign == '-' ? "-" : "", q);
    } else snprintf(out, ol, "%s", t);
  }
}

void fmt_exact(char *out, size_t ol, double v) {
  if (isnan(v)) snprintf(out, ol, "nan");
  else if (isinf(v)) snprintf(out, ol, v > 0 ? "inf" : "-inf");
  else snprintf(out, ol, "%.17g", v);
}

void fmt_rate(char *out, size_t ol, double v) {
  if (!(v > 0) || isinf(v)) { fmt_num(out, ol, v); return; }
  const char *suf[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (v >= 999.5 && i < 4) v /= 1000, i++;
  snprintf(out, ol, v >= 99.95 ? "%.0f %s" : v >= 9.995 ? "%.1f %s" : "%.2f %s", v, suf[i]);
}

int format_is_float(const char *f) {
  return !strcmp(f, "binary64") || !strcmp(f, "binary32") || !strcmp(f, "binary16") || !strcmp(f, "bfloat16");
}

double format_unit(const char *f) {
  static const struct { const char *name; int e; } t[] = {
      {"binary64", -52}, {"binary32", -23}, {"binary16", -10}, {"bfloat16", -7},
      {"q8-uq0.8", -8},  {"q8-q0.15", -15}, {"q8-q4.11", -11}, {"uq0.8", -8}, {"q0.15", -15}, {"q4.11", -11}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(f, t[i].name)) return ldexp(1, t[i].e);
  return 0;
}

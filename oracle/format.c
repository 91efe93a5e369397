/* format.c -- the target formats and the one rounding of a double to them. */
#include <string.h>
#include "internal.h"

/*                                  name       kind          p    emin   emax */
const oracle_format oracle_binary64 = {"binary64", ORACLE_FLOAT, 53, -1022, 1023, 0, 0, 0};
const oracle_format oracle_binary32 = {"binary32", ORACLE_FLOAT, 24, -126, 127, 0, 0, 0};
const oracle_format oracle_binary16 = {"binary16", ORACLE_FLOAT, 11, -14, 15, 0, 0, 0};
const oracle_format oracle_bfloat16 = {"bfloat16", ORACLE_FLOAT, 8, -126, 127, 0, 0, 0};
/*                                  name    kind          frac  kmin    kmax */
const oracle_format oracle_uq0_8 = {"uq0.8", ORACLE_FIXED, 0, 0, 0, 8, 0, 255};
const oracle_format oracle_q0_15 = {"q0.15", ORACLE_FIXED, 0, 0, 0, 15, -32768, 32767};
const oracle_format oracle_q4_11 = {"q4.11", ORACLE_FIXED, 0, 0, 0, 11, -32768, 32767};

static const struct { const char *alias; const oracle_format *f; } names[] = {
    {"binary64", &oracle_binary64}, {"f64", &oracle_binary64},
    {"binary32", &oracle_binary32}, {"f32", &oracle_binary32},
    {"binary16", &oracle_binary16}, {"f16", &oracle_binary16},
    {"bfloat16", &oracle_bfloat16}, {"bf16", &oracle_bfloat16},
    {"uq0.8", &oracle_uq0_8},       {"q0.8", &oracle_uq0_8},
    {"u8", &oracle_uq0_8},          {"q0.15", &oracle_q0_15},
    {"s16", &oracle_q0_15},         {"q4.11", &oracle_q4_11},
};

const oracle_format *oracle_format_by_name(const char *name) {
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(name, names[i].alias) == 0) return names[i].f;
  return NULL;
}

double oracle_round(const oracle_format *f, double v) {
  if (isnan(v)) return v;
  if (isinf(v)) {
    if (f->kind == ORACLE_FLOAT) return v;
    return ldexp((double)(v > 0 ? f->kmax : f->kmin), -f->frac);
  }
  return oracle_round_scaled(f, 0, dd_d(v));
}

int oracle_representable(const oracle_format *f, double v) {
  if (isnan(v) || isinf(v)) return f->kind == ORACLE_FLOAT;
  return oracle_round(f, v) == v;
}

/* cmd_oracle.c -- `smaxcheck oracle`: correctly rounded outputs for each
 * vector of a file (or stdin), printed in %a.  The whole input is checked
 * before anything is printed, so a bad line leaves stdout empty. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "oracle.h"
#include "vecio.h"

static const char usage[] =
    "usage: smaxcheck oracle --func F --format FMT [--tau T] [--scale S]\n"
    "                        [--target I] [--stats] [FILE]\n"
    "Reads one vector per line from FILE (default stdin): numbers in decimal or\n"
    "C99 hex float, inf, -inf (a masked entry), nan; a VJP line is 'x... | dy...'.\n"
    "Prints one line per input line: the correctly rounded outputs in %%a.\n"
    "  --func F     softmax log_softmax logsumexp softmax_vjp log_softmax_vjp\n"
    "               cross_entropy (the loss) cross_entropy_grad\n"
    "  --format FMT binary64 binary32 binary16 bfloat16 (f64 f32 f16 bf16),\n"
    "               uq0.8 q0.15 (fixed point: inputs are int8 integers times --scale)\n"
    "  --tau T      temperature, the function is applied to x*scale/T (default 1)\n"
    "  --scale S    input scale (default 1)\n"
    "  --target I   class index for cross_entropy*\n"
    "  --stats      print how each output was decided on stderr\n"
    "Every input value must be exactly representable in FMT.  Exit status: 0 ok,\n"
    "1 an output hit the precision cap (printed, flagged on stderr), 2 bad input.\n";

static int die(const char *msg, const char *arg) { return cli_die("smaxcheck oracle", msg, arg); }

static int parse_pos(const char *s, double *v) {
  char *end;
  *v = strtod(s, &end);
  return end != s && *end == 0 && *v > 0 && *v < INFINITY;
}

/* Is v an allowed input of format f? Fixed formats take int8 integers. */
static const char *bad_value(const oracle_format *f, double v) {
  if (f->kind == ORACLE_FIXED) {
    if (!(v == (double)(long)v && v >= -128 && v <= 127)) return "not an int8 integer";
    return NULL;
  }
  return oracle_representable(f, v) ? NULL : "not representable in the format";
}

int cmd_oracle(int argc, char **argv) {
  static const struct option opts[] = {
      {"func", 1, 0, 'f'},   {"format", 1, 0, 'F'}, {"tau", 1, 0, 't'},
      {"scale", 1, 0, 's'},  {"target", 1, 0, 'T'}, {"stats", 0, 0, 'S'},
      {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  int func = -1, stats = 0, c;
  const oracle_format *fmt = NULL;
  double tau = 1, scale = 1;
  long target = -1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if ((func = oracle_func_by_name(optarg)) < 0) return die("unknown function '%s'", optarg);
      break;
    case 'F':
      if (!(fmt = oracle_format_by_name(optarg))) return die("unknown format '%s'", optarg);
      break;
    case 't': if (!parse_pos(optarg, &tau)) return die("--tau '%s': need a finite number > 0", optarg); break;
    case 's': if (!parse_pos(optarg, &scale)) return die("--scale '%s': need a finite number > 0", optarg); break;
    case 'T': {
      char *end;
      target = strtol(optarg, &end, 10);
      if (end == optarg || *end || target < 0) return die("--target '%s': need an index >= 0", optarg);
      break;
    }
    case 'S': stats = 1; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (func < 0 || !fmt) { fputs(usage, stderr); return die("%s", "--func and --format are required"); }
  int vjp = func == ORACLE_SOFTMAX_VJP || func == ORACLE_LOG_SOFTMAX_VJP;
  int ce = func == ORACLE_CROSS_ENTROPY || func == ORACLE_CROSS_ENTROPY_GRAD;
  if (ce && target < 0) return die("%s", "--target is required for cross_entropy*");
  if (fmt->kind == ORACLE_FIXED && (vjp || ce))
    return die("function '%s' is not defined on fixed-point formats", oracle_func_name(func));
  if (optind < argc - 1) return die("%s", "more than one input file");
  const char *name = optind < argc ? argv[optind] : "<stdin>";
  FILE *fp = optind < argc ? fopen(name, "r") : stdin;
  if (!fp) return die("cannot open '%s'", name);
  char err[512];
  vec_line *v;
  long nl = vec_read(fp, name, &v, err, sizeof err);
  if (fp != stdin) fclose(fp);
  if (nl < 0) return die("%s", err);

  /* validate everything first */
  for (long l = 0; l < nl; l++) {
    vec_line *L = &v[l];
    const char *why = NULL;
    double bad = 0;
    for (size_t i = 0; i < L->n && !why; i++) if ((why = bad_value(fmt, L->x[i]))) bad = L->x[i];
    for (size_t i = 0; i < L->ndy && !why; i++) if ((why = bad_value(fmt, L->dy[i]))) bad = L->dy[i];
    if (why) {
      snprintf(err, sizeof err, "%s:%ld: value %a (%.17g): %s %s", name, L->lineno, bad, bad, why, fmt->name);
    } else if (vjp && (!L->dy || L->ndy != L->n)) {
      snprintf(err, sizeof err, "%s:%ld: need 'x... | dy...' with %zu dy values, got %zu",
               name, L->lineno, L->n, L->dy ? L->ndy : 0);
      why = err;
    } else if (!vjp && L->dy) {
      snprintf(err, sizeof err, "%s:%ld: token '|': only VJP lines have dy", name, L->lineno);
      why = err;
    } else if (ce && (size_t)target >= L->n) {
      snprintf(err, sizeof err, "%s:%ld: --target %ld out of range for a vector of %zu", name, L->lineno, target, L->n);
      why = err;
    }
    if (why) { vec_free(v, nl); return die("%s", err); }
  }

  oracle_params prm = {tau, scale, NULL, NULL, target < 0 ? 0 : target};
  oracle_stats st = {0};
  int rc = 0;
  for (long l = 0; l < nl; l++) {
    size_t no = oracle_noutputs(func, v[l].n);
    double *out = malloc((no ? no : 1) * sizeof *out);
    prm.dy = v[l].dy;
    int r = oracle_eval(func, fmt, v[l].n, v[l].x, &prm, out, NULL, &st);
    if (r < 0) {
      snprintf(err, sizeof err, "%s:%ld: invalid arguments", name, v[l].lineno);
      free(out), vec_free(v, nl);
      return die("%s", err);
    }
    if (r > 0) {
      fprintf(stderr, "smaxcheck oracle: %s:%ld: %d output(s) unresolved at the precision cap\n", name, v[l].lineno, r);
      rc = 1;
    }
    vec_print(stdout, out, no);
    free(out);
  }
  if (stats)
    fprintf(stderr, "outputs %lu: special %lu, exact %lu, fast %lu, ziv %lu (max %lu bits), unresolved %lu\n",
            st.outputs, st.special, st.exact, st.fast, st.ziv, st.max_prec, st.unresolved);
  vec_free(v, nl);
  oracle_cleanup();
  return rc;
}

/* oracle.h -- correctly rounded reference for the softmax family (MPFR/GMP).
 *
 * Every output is the exact real value of the function, rounded to nearest
 * (ties to even) in the target format, with the target's subnormals, overflow
 * to +-inf and underflow to +-0 exactly as IEEE 754 rounds.  Results are
 * decided by Ziv's strategy: a rigorous enclosure of the exact value is
 * computed (first in double-double with a proven error bound, then with MPFR
 * interval arithmetic at rising precision) until both ends of the enclosure
 * round to the same target value.  Values that are rational (and so may sit
 * exactly on a rounding boundary) are detected analytically and rounded from
 * exact GMP rationals.  Special values follow oracle/SEMANTICS.md.
 *
 * The oracle depends on nothing else in the tree.  It is thread-safe (each
 * call sets MPFR's per-thread exponent range) and allocates O(n) memory.
 */
#ifndef SMAXCHECK_ORACLE_H
#define SMAXCHECK_ORACLE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- target formats ---------------------------------------------------- */

typedef enum { ORACLE_FLOAT, ORACLE_FIXED } oracle_format_kind;

/* A target format.  FLOAT: IEEE-style binary format with precision p bits
 * (hidden bit included), normal exponents emin..emax (value in [2^e, 2^(e+1))),
 * subnormals, infinities.  FIXED: the grid k * 2^-frac for integers k in
 * [kmin, kmax]; rounding is to nearest (ties to even k), then saturation. */
typedef struct {
  const char *name;        /* "binary32", "q0.8", ... */
  oracle_format_kind kind;
  int p, emin, emax;       /* FLOAT */
  int frac;                /* FIXED: scale 2^-frac */
  long kmin, kmax;         /* FIXED: integer range */
} oracle_format;

extern const oracle_format oracle_binary64, oracle_binary32, oracle_binary16,
    oracle_bfloat16, oracle_uq0_8, oracle_q0_15, oracle_q4_11;

/* Look a format up by name ("binary64"/"f64", "binary32"/"f32",
 * "binary16"/"f16", "bfloat16"/"bf16", "uq0.8"/"q0.8"/"u8", "q0.15"/"s16", "q4.11" (int16, scale 2^-11, for
 * fixed-point log_softmax)).
 * Returns NULL for an unknown name. */
const oracle_format *oracle_format_by_name(const char *name);

/* The format's value nearest to v (ties to even), with overflow/underflow as
 * IEEE 754 (FLOAT) or saturation (FIXED).  NaN maps to NaN; for FIXED formats
 * +-inf saturate.  Exact: this is the one rounding used everywhere. */
double oracle_round(const oracle_format *f, double v);

/* 1 if v is a value of format f (NaN and +-inf count for FLOAT), else 0. */
int oracle_representable(const oracle_format *f, double v);

/* ---- functions --------------------------------------------------------- */

typedef enum {
  ORACLE_SOFTMAX,            /* n outputs: e^(z_i) / sum_j e^(z_j)          */
  ORACLE_LOG_SOFTMAX,        /* n outputs: z_i - logsumexp(z)               */
  ORACLE_LOGSUMEXP,          /* 1 output : log sum_j e^(z_j)                */
  ORACLE_SOFTMAX_VJP,        /* n outputs: s_i (dy_i - sum_j s_j dy_j) / tau */
  ORACLE_LOG_SOFTMAX_VJP,    /* n outputs: (dy_i - s_i sum_j dy_j) / tau     */
  ORACLE_CROSS_ENTROPY,      /* 1 output : logsumexp(z) - z_t               */
  ORACLE_CROSS_ENTROPY_GRAD, /* n outputs: (s_i - [i == t]) / tau            */
  ORACLE_NFUNCS
} oracle_func;

const char *oracle_func_name(oracle_func f);
/* Returns the function named `name` (as printed by oracle_func_name), or -1. */
int oracle_func_by_name(const char *name);
/* Number of outputs of f on a vector of length n. */
size_t oracle_noutputs(oracle_func f, size_t n);

/* Parameters.  The function is applied to z_i = x_i * scale / tau, computed
 * exactly (a kernel's rounding of x/tau is the kernel's error); gradients are
 * derivatives with respect to x_i * scale.  A masked element is -inf. */
typedef struct {
  double tau;                  /* temperature, finite, > 0 (1 if 0 given)  */
  double scale;                /* input scale, finite, > 0 (1 if 0 given)   */
  const unsigned char *masked; /* NULL, or masked[i] != 0: x_i is -inf      */
  const double *dy;            /* *_VJP: upstream gradient, n values        */
  long target;                 /* CROSS_ENTROPY*: index t in [0, n)          */
} oracle_params;

/* The exact value of one output: (hi + lo) * 2^e, within +-err * 2^e.
 * err is small enough for a ulp error to be known within 0.001 ulp; for
 * infinite or NaN references hi carries the value and err is 0. */
typedef struct {
  double hi, lo;
  long e;
  double err;
} oracle_xval;

/* Work counters, accumulated by oracle_eval when a pointer is given. */
typedef struct {
  unsigned long outputs;     /* outputs produced                           */
  unsigned long special;     /* decided by SEMANTICS.md special values      */
  unsigned long exact;       /* rational outputs rounded from GMP rationals */
  unsigned long fast;        /* decided by the double-double fast path      */
  unsigned long ziv;         /* decided by the MPFR interval loop           */
  unsigned long unresolved;  /* precision cap reached (should stay 0)       */
  unsigned long max_prec;    /* highest MPFR precision used, bits           */
} oracle_stats;

/* Evaluate f on the vector x[0..n) for target format fmt.
 * out: oracle_noutputs(f, n) correctly rounded values (as doubles; every
 *      target value is a double).  exact: NULL, or as many oracle_xval.
 * Returns 0 on success, the number of unresolved outputs (> 0) if the
 * precision cap was reached (those outputs hold the nearest value to the
 * last enclosure's midpoint), or -1 for invalid arguments (tau or scale not
 * finite and positive, dy missing for a VJP, target out of range, FIXED
 * format with a gradient function) with nothing written. */
int oracle_eval(oracle_func f, const oracle_format *fmt, size_t n,
                const double *x, const oracle_params *prm, double *out,
                oracle_xval *exact, oracle_stats *st);

/* Tests only: turn the rational-anchor decision (anchor.c) off (0) or on
 * (1, the default) in the calling thread, to exercise the plain Ziv loop. */
void oracle_use_anchors(int on);

/* Free MPFR's per-thread caches (call before a thread or program ends, so
 * leak checkers see nothing). */
void oracle_cleanup(void);

/* ---- error measurement -------------------------------------------------- */

/* ulp(y) in format f: 2^(max(E, emin) - p + 1) where 2^E <= |y| < 2^(E+1) is
 * the binade of the exact value (subnormal ulp clamped; E unbounded above);
 * for FIXED formats the LSB 2^-frac.  Returned as log2. */
long oracle_ulp_exp(const oracle_format *f, const oracle_xval *y);

/* |computed - y| / ulp(y), in the target's own ulps (LSBs for FIXED).
 * NaN reference: 0 if computed is NaN, else +inf.  Infinite reference: 0 if
 * computed is the same infinity, else +inf.  Finite reference: +inf if
 * computed is NaN or infinite (even where the correctly rounded value
 * overflowed: compare with the rounded value for that).  *uncert, if given,
 * receives the uncertainty of the result in ulps (< 0.001 by contract). */
double oracle_ulp_error(const oracle_format *f, double computed,
                        const oracle_xval *y, double *uncert);

#ifdef __cplusplus
}
#endif
#endif

/* kio.h -- moving values between the harness (doubles) and kernel storage
 * formats, and the oracle format that judges each kernel format. */
#ifndef SMAXCHECK_KIO_H
#define SMAXCHECK_KIO_H
#include <stddef.h>
#include "kernel.h"
#include "oracle.h"

/* The oracle target of a kernel format (fixed point: the output grid). */
const oracle_format *kio_oracle_format(smax_format f);
size_t kio_in_size(smax_format f);   /* bytes of one input element  */
size_t kio_out_size(smax_format f);  /* bytes of one output element */
int kio_fixed(smax_format f);        /* 1 for int8-input formats    */
/* v rounded to a storable input value (float formats: nearest value of the
 * format; fixed: nearest int8, saturating). */
double kio_round_in(smax_format f, double v);
/* Store a value that kio_round_in returned (so the store is exact). */
void kio_store_in(smax_format f, void *buf, size_t i, double v);
/* Load output i as its real value (fixed point: q * 2^-frac). */
double kio_load_out(smax_format f, const void *buf, size_t i);
/* The suite's error of a kernel output: 0 if it equals the correctly
 * rounded value want (bits, or both NaN); for fixed point, whose outputs
 * saturate, the LSB distance to want when want is saturated; otherwise
 * oracle_ulp_error against the exact value. */
double kio_error(smax_format f, double got, double want, const oracle_xval *exact, double *unc);
#endif

/* sha256.h -- SHA-256, for the report's Content-Security-Policy. */
#ifndef SMAXCHECK_SHA256_H
#define SMAXCHECK_SHA256_H
#include <stddef.h>
void sha256(const void *data, size_t len, unsigned char out[32]);
/* the digest in base64 (44 characters and a NUL) */
void sha256_base64(const void *data, size_t len, char out[45]);
#endif

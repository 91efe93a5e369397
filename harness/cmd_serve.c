/* cmd_serve.c -- `smaxcheck serve --plugin PATH.so`: the child side of
 * harness/PROTOCOL.md for a shared-library plugin.  `smaxcheck compare
 * --plugin` runs it as a child, so a plugin that crashes, hangs or scribbles
 * takes down this process only.
 *
 * The protocol owns the process's original stdin and stdout; fd 0 and fd 1
 * are then pointed at /dev/null and stderr, so a plugin that reads stdin or
 * prints to stdout cannot corrupt the stream. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "kcall.h"
#include "kio.h"
#include "plugin.h"
#include "proxy.h"

static const char usage[] =
    "usage: smaxcheck serve --plugin PATH.so\n"
    "Loads the plugin (impls/kernel.h: it exports smax_plugin_kernels) and answers\n"
    "the external-kernel protocol (harness/PROTOCOL.md, version 1) on stdin and\n"
    "stdout: DESCRIBE lists its kernels, RUN runs one on f64 values converted to\n"
    "and from the kernel's storage format, QUIT exits 0.  Not for terminals:\n"
    "`smaxcheck compare --plugin PATH.so` starts it as a child.  Exit status: 0\n"
    "after QUIT or end of input, 2 on bad usage, a plugin that cannot be loaded\n"
    "or a malformed request (with one line on stderr).\n";

/* largest request accepted: rows * n elements (larger is a broken parent) */
#define SERVE_MAX_ELEMS ((uint64_t)1 << 31)

static int fd_in = -1, fd_out = -1;

/* Reads exactly len bytes.  Returns 1, 0 at end of input before the first
 * byte, -1 on a short read or an error. */
static int read_full(void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd_in, (char *)buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got == 0 && r == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

/* Writes all of buf; returns 0 or -1. */
static int write_full(const void *buf, size_t len) {
  size_t put = 0;
  while (put < len) {
    ssize_t w = write(fd_out, (const char *)buf + put, len - put);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    put += (size_t)w;
  }
  return 0;
}

/* Sends a response header and its payload; returns 0 or -1. */
static int reply(uint32_t status, uint64_t count, const void *payload, size_t bytes) {
  unsigned char h[SMXP_RESP_BYTES];
  smxp_response_pack(status, count, h);
  return write_full(h, sizeof h) || (bytes && write_full(payload, bytes)) ? -1 : 0;
}

static int is_vjp(smax_func f) { return f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP; }

/* The DESCRIBE text: one line per kernel, tab-separated (plugin_load has
 * checked that no field holds a tab or newline).  malloc'd; NULL if out of
 * memory. */
static char *describe_text(const smax_kernel *ks, size_t nk, size_t *len) {
  size_t cap = 1, at = 0;
  for (size_t i = 0; i < nk; i++)
    cap += strlen(ks[i].name) + strlen(ks[i].convention ? ks[i].convention : "") +
           strlen(ks[i].about ? ks[i].about : "") + 48 + 5 * 32;
  char *s = malloc(cap);
  if (!s) return NULL;
  for (size_t i = 0; i < nk; i++)
    at += (size_t)snprintf(s + at, cap - at, "%s\t%s\t%s\t%s\t%s\t%a,%a,%a,%a,%a\n", ks[i].name,
                           smax_func_name(ks[i].func), smax_format_name(ks[i].fmt),
                           ks[i].convention ? ks[i].convention : "", ks[i].about ? ks[i].about : "",
                           ks[i].claim.ulp_const, ks[i].claim.ulp_per_n, ks[i].claim.ulp_per_spread,
                           ks[i].claim.abs_u_per_n, ks[i].claim.max_abs_input);
  *len = at;
  return s;
}

/* 1 if v (a request value) can be stored exactly as an input of format f */
static int storable(smax_format f, double v) {
  if (kio_fixed(f)) return v == floor(v) && v >= -128 && v <= 127;
  return isnan(v) || isinf(v) || kio_round_in(f, v) == v;
}

/* output i of format f as the protocol sends it: the value, or for fixed
 * point the integer q */
static double out_value(smax_format f, const void *buf, size_t i) {
  switch (f) {
  case SMAX_Q8_UQ0_8: return ((const uint8_t *)buf)[i];
  case SMAX_Q8_Q0_15: case SMAX_Q8_Q4_11: return ((const int16_t *)buf)[i];
  default: return kio_load_out(f, buf, i);
  }
}

/* Serves one RUN whose header is q: reads its payload, runs the kernel,
 * replies.  Returns 0, or -1 if the stream is broken (message printed). */
static int serve_run(const smax_kernel *ks, size_t nk, const smxp_request *q) {
  uint64_t rows = q->rows, n = q->n, elems = rows * n;
  if ((n && elems / n != rows) || elems > SERVE_MAX_ELEMS || rows > SERVE_MAX_ELEMS) {
    fprintf(stderr, "smaxcheck serve: RUN of %llu rows of n=%llu is too large\n", (unsigned long long)rows,
            (unsigned long long)n);
    return -1;
  }
  int has_mask = q->flags & SMXP_HAS_MASK, has_dy = q->flags & SMXP_HAS_DY, has_t = q->flags & SMXP_HAS_TARGET;
  size_t bytes = (size_t)elems * (8 + (has_mask ? 1 : 0) + (has_dy ? 8 : 0)) + (has_t ? 4 * (size_t)rows : 0);
  unsigned char *pay = malloc(bytes + 1);
  if (!pay) { fprintf(stderr, "smaxcheck serve: out of memory for a %zu-byte request\n", bytes); return -1; }
  if (read_full(pay, bytes) != 1 && bytes) {
    free(pay);
    fprintf(stderr, "smaxcheck serve: the input ended inside a RUN payload\n");
    return -1;
  }
  const smax_kernel *k = q->kernel < nk ? &ks[q->kernel] : NULL;
  /* the arguments a kernel cannot take are rejected (status 1), not fatal */
  int ok = k && q->func == (uint32_t)k->func && q->format == (uint32_t)k->fmt && (q->flags & ~7u) == 0 &&
           q->tau > 0 && isfinite(q->tau) && (!is_vjp(k->func) || has_dy) &&
           (k->func != SMAX_CROSS_ENTROPY || has_t);
  size_t nout = k && k->func == SMAX_LOGSUMEXP ? 1 : (size_t)n, osz = k ? kio_out_size(k->fmt) : 1;
  size_t isz = k ? kio_in_size(k->fmt) : 1;
  unsigned char *x = NULL, *dy = NULL, *y = NULL, *loss = NULL, *mask = NULL, *out = NULL;
  int32_t *target = NULL;
  if (ok) {
    x = calloc(elems + 1, isz), dy = calloc(elems + 1, isz), y = calloc(rows * nout + 1, osz);
    loss = calloc(rows + 1, osz), target = calloc(rows + 1, sizeof *target);
    ok = x && dy && y && loss && target;
  }
  const unsigned char *w = pay;
  for (size_t i = 0; ok && i < elems; i++, w += 8) {
    double v = smxp_get_f64(w);
    if (!(ok = storable(k->fmt, v))) break;
    kio_store_in(k->fmt, x, i, v);
  }
  if (ok && has_mask) mask = (unsigned char *)pay + 8 * elems, w += elems;
  for (size_t i = 0; ok && has_dy && i < elems; i++, w += 8) {
    double v = smxp_get_f64(w);
    if (!(ok = storable(k->fmt, v))) break;
    kio_store_in(k->fmt, dy, i, v);
  }
  for (size_t r = 0; ok && has_t && r < rows; r++, w += 4)
    target[r] = (int32_t)((uint32_t)w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24);
  int rc = -1;
  if (ok) {
    smax_args a;
    memset(&a, 0, sizeof a);
    a.rows = (size_t)rows, a.n = (size_t)n, a.x = x, a.x_stride = (size_t)n, a.dy = dy, a.dy_stride = (size_t)n;
    a.mask = mask, a.mask_stride = (size_t)n, a.target = target, a.y = y, a.y_stride = nout, a.loss = loss;
    a.tau = q->tau, a.in_scale = q->in_scale, a.threads = 0;
    ok = kernel_call(k, &a) == 0;
  }
  if (ok) {
    size_t cnt = (size_t)rows * nout + (k->func == SMAX_CROSS_ENTROPY ? (size_t)rows : 0);
    if ((out = malloc(8 * cnt + 1))) {
      for (size_t i = 0; i < (size_t)rows * nout; i++) smxp_put_f64(out + 8 * i, out_value(k->fmt, y, i));
      for (size_t r = 0; cnt > (size_t)rows * nout && r < rows; r++)
        smxp_put_f64(out + 8 * ((size_t)rows * nout + r), out_value(k->fmt, loss, r));
      rc = reply(0, cnt, out, 8 * cnt);
    }
  }
  if (!ok || !out) rc = reply(1, 0, NULL, 0);
  free(pay), free(x), free(dy), free(y), free(loss), free(target), free(out);
  if (rc) fprintf(stderr, "smaxcheck serve: cannot write a reply: %s\n", strerror(errno));
  return rc;
}

/* Moves the protocol to private descriptors: fd 0 <- /dev/null, fd 1 ->
 * stderr.  Returns 0 or -1. */
static int claim_stdio(void) {
  fd_in = fcntl(0, F_DUPFD_CLOEXEC, 3), fd_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
  int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd_in < 0 || fd_out < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(2, 1) < 0) return -1;
  close(nul);
  return 0;
}

int cmd_serve(int argc, char **argv) {
  static const struct option opts[] = {{"plugin", 1, 0, 'p'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  const char *path = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'p': path = optarg; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind < argc) { fprintf(stderr, "smaxcheck serve: unexpected argument '%s'\n", argv[optind]); return 2; }
  if (!path) { fprintf(stderr, "smaxcheck serve: --plugin PATH.so is required\n"); return 2; }
  const smax_kernel *ks;
  size_t nk;
  char err[1024];
  if (plugin_load(path, &ks, &nk, err, sizeof err)) { fprintf(stderr, "smaxcheck serve: %s\n", err); return 2; }
  if (claim_stdio()) {
    fprintf(stderr, "smaxcheck serve: cannot set up the protocol streams: %s\n", strerror(errno));
    plugin_unload(ks);
    return 2;
  }
  int rc = 0;
  for (;;) {
    unsigned char h[SMXP_REQ_BYTES];
    smxp_request q;
    int r = read_full(h, sizeof h);
    if (r == 0) break; /* the parent closed the stream: as QUIT */
    if (r < 0) { fprintf(stderr, "smaxcheck serve: the input ended inside a request header\n"); rc = 2; break; }
    if (smxp_request_unpack(h, &q)) {
      fprintf(stderr, "smaxcheck serve: bad request header (magic %.4s, version %u)\n", (const char *)h,
              (unsigned)(h[4] | h[5] << 8 | h[6] << 16 | (unsigned)h[7] << 24));
      rc = 2;
      break;
    }
    if (q.op == SMXP_QUIT) break;
    if (q.op == SMXP_DESCRIBE) {
      size_t len = 0;
      char *t = describe_text(ks, nk, &len);
      int bad = t ? reply(0, len, t, len) : reply(1, 0, NULL, 0);
      free(t);
      if (bad) { rc = 2; break; }
    } else if (q.op == SMXP_RUN) {
      if (serve_run(ks, nk, &q)) { rc = 2; break; }
    } else {
      fprintf(stderr, "smaxcheck serve: unknown op %u\n", q.op);
      rc = 2;
      break;
    }
  }
  close(fd_in), close(fd_out);
  plugin_unload(ks);
  return rc;
}

/* proxy.h -- kernels that run in a child process (harness/PROTOCOL.md).
 *
 * A proxy starts a command (an argv vector; `sh -c COMMAND` for --cmd,
 * `smaxcheck serve --plugin PATH` for --plugin), asks it to DESCRIBE its
 * kernels and presents each as an smax_kernel, so that the same metrics code
 * (metrics.c, results.c) measures it.  smax_fn has no context pointer: a
 * proxy descriptor's run field is the sentinel proxy_run_sentinel, and every
 * harness call goes through kernel_call (kcall.h), which sends descriptors
 * owned by a proxy to proxy_call.  Calls to the kernels of one proxy are
 * serialised (one child, one request at a time); calls to different proxies
 * may run in parallel.
 *
 * The child is untrusted: each request has a time limit, the child runs
 * under a memory limit, and a signal, a timeout, a protocol violation or a
 * value not representable in the kernel's format ends that kernel's run with
 * a finding (proxy_finding_of); the child is killed, reaped and restarted
 * for the next kernel.  From proxy_start on, this process ignores SIGPIPE
 * and is a child subreaper (prctl), so that what a child forked and left
 * behind when it was killed is reaped here too, never left as a zombie. */
#ifndef SMAXCHECK_PROXY_H
#define SMAXCHECK_PROXY_H
#include <stddef.h>
#include <stdint.h>
#include "kernel.h"

/* ---- the wire format of PROTOCOL.md, shared with `smaxcheck serve` ---- */
#define SMXP_VERSION 1
#define SMXP_REQ_BYTES 64
#define SMXP_RESP_BYTES 16
enum { SMXP_DESCRIBE = 1, SMXP_RUN = 2, SMXP_QUIT = 3 };
enum { SMXP_HAS_MASK = 1, SMXP_HAS_DY = 2, SMXP_HAS_TARGET = 4 };

typedef struct {
  uint32_t op, kernel, func, format;
  uint64_t rows, n;
  double tau, in_scale;
  uint32_t flags;
} smxp_request;

/* Encodes r as the 64-byte request header (magic, version 1). */
void smxp_request_pack(const smxp_request *r, unsigned char out[SMXP_REQ_BYTES]);
/* Decodes a request header; returns 0, or -1 if magic, version or the
 * reserved field is wrong. */
int smxp_request_unpack(const unsigned char in[SMXP_REQ_BYTES], smxp_request *r);
/* Encodes a response header (magic SMXR, status, count). */
void smxp_response_pack(uint32_t status, uint64_t count, unsigned char out[SMXP_RESP_BYTES]);
/* Little-endian f64 at p (8 bytes). */
void smxp_put_f64(unsigned char *p, double v);
double smxp_get_f64(const unsigned char *p);

/* ---- the parent side ---- */
typedef struct proxy proxy;

typedef struct {
  int timeout_ms;   /* per request (DESCRIBE at start-up: at least 60 s) */
  long mem_mb;      /* RLIMIT_AS of the child in MiB; 0 = none.  Not
                       applied when this process runs under AddressSanitizer
                       (proxy_mem_limit_supported() == 0). */
} proxy_opts;

/* How a remote kernel's run ended, when it did not end well. */
typedef struct {
  const char *cls;  /* "crashed", "hung", "protocol", "garbage" */
  char *message;    /* one line: what happened, then the tail of the child's stderr */
  char *input;      /* the reproducing row: x in %a, masked entries -inf,
                       then " | dy..." for the VJPs (the oracle's text format) */
  size_t n, rows;   /* the failing request had this n; rows in the minimal request */
  int target;       /* cross_entropy: the row's target, else -1 */
} proxy_finding;

/* 1 if RLIMIT_AS can be applied to children (not under ASan, which
 * reserves terabytes of address space in every sanitised process). */
int proxy_mem_limit_supported(void);

/* Starts argv (argv[0] a path, exec'd directly, argv NULL-terminated), sends
 * DESCRIBE and builds one descriptor per kernel line.  label names the
 * source in messages ("plugin:PATH", "cmd:COMMAND").  Returns the proxy, or
 * NULL with one line in err (naming label; the child's stderr included). */
proxy *proxy_start(char *const argv[], const char *label, const proxy_opts *o, char *err, size_t errlen);
/* The proxy's descriptors (valid until proxy_stop). */
const smax_kernel *proxy_kernels(const proxy *p, size_t *count);
const char *proxy_label(const proxy *p);
/* Sends QUIT, waits for the child (killing it after 1 s), frees p. */
void proxy_stop(proxy *p);

/* The run field of every proxy descriptor; returns -1 (a descriptor copied
 * out of its proxy cannot be routed). */
int proxy_run_sentinel(const smax_args *a);
/* 1 if k points into a live proxy's descriptor table. */
int proxy_owns(const smax_kernel *k);
/* Runs a proxy kernel on a: sends a RUN request with a's rows, checks and
 * stores the reply into a's output buffers.  Returns 0 on success, 1 if the
 * child rejected the arguments (status != 0), -1 if the call failed: then
 * the kernel has a finding (the failing batch is bisected to one row that
 * still fails, when there is one) and every later call fails at once. */
int proxy_call(const smax_kernel *k, const smax_args *a);
/* The finding of proxy kernel k, or NULL. */
const proxy_finding *proxy_finding_of(const smax_kernel *k);
#endif

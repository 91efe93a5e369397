/* proxy.c -- the parent side of harness/PROTOCOL.md (proxy.h).
 *
 * One child per proxy.  A request is one poll loop that writes the request
 * and reads the reply and the child's stderr at the same time (so neither a
 * child that answers before it has read everything nor one that fills its
 * stderr pipe can deadlock us), against a deadline.  Every way a request can
 * fail ends with the child killed (its whole process group: `sh -c` may have
 * forked) and reaped, so no zombie outlives a failure; the next request
 * starts a new child and checks that it DESCRIBEs the same kernels. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kio.h"
#include "proxy.h"

/* AddressSanitizer reserves terabytes of address space in every sanitised
 * process, so RLIMIT_AS would kill a sanitised `smaxcheck serve` child at
 * start-up; a sanitised parent therefore applies no memory limit. */
#if defined(__SANITIZE_ADDRESS__)
#define PROXY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROXY_ASAN 1
#endif
#endif
#ifndef PROXY_ASAN
#define PROXY_ASAN 0
#endif

#define ERRTAIL 2048                 /* bytes of the child's stderr kept  */
#define DESCRIBE_MAX (1u << 20)      /* a DESCRIBE reply larger than this is a protocol error */
#define STARTUP_MS 60000             /* DESCRIBE may import a framework   */
#define PAYLOAD_MAX ((uint64_t)1 << 32) /* requests beyond 4 GiB are rejected, not sent */

/* ---- wire format ---------------------------------------------------------- */
static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
void smxp_put_f64(unsigned char *p, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  put_u64(p, u);
}
double smxp_get_f64(const unsigned char *p) {
  uint64_t u = get_u64(p);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

void smxp_request_pack(const smxp_request *r, unsigned char out[SMXP_REQ_BYTES]) {
  memset(out, 0, SMXP_REQ_BYTES);
  memcpy(out, "SMXQ", 4);
  put_u32(out + 4, SMXP_VERSION);
  put_u32(out + 8, r->op), put_u32(out + 12, r->kernel), put_u32(out + 16, r->func);
  put_u32(out + 20, r->format), put_u64(out + 24, r->rows), put_u64(out + 32, r->n);
  smxp_put_f64(out + 40, r->tau), smxp_put_f64(out + 48, r->in_scale);
  put_u32(out + 56, r->flags);
}

int smxp_request_unpack(const unsigned char in[SMXP_REQ_BYTES], smxp_request *r) {
  if (memcmp(in, "SMXQ", 4) || get_u32(in + 4) != SMXP_VERSION || get_u32(in + 60) != 0) return -1;
  r->op = get_u32(in + 8), r->kernel = get_u32(in + 12), r->func = get_u32(in + 16);
  r->format = get_u32(in + 20), r->rows = get_u64(in + 24), r->n = get_u64(in + 32);
  r->tau = smxp_get_f64(in + 40), r->in_scale = smxp_get_f64(in + 48), r->flags = get_u32(in + 56);
  return 0;
}

void smxp_response_pack(uint32_t status, uint64_t count, unsigned char out[SMXP_RESP_BYTES]) {
  memcpy(out, "SMXR", 4);
  put_u32(out + 4, status);
  put_u64(out + 8, count);
}

/* ---- proxies -------------------------------------------------------------- */
typedef struct {
  proxy *owner;
  size_t index;  /* in the DESCRIBE list */
  int dead;      /* a finding ended this kernel's run */
  proxy_finding f;
} remote;

struct proxy {
  char **argv, *label;
  char **envp, *asan_env;    /* the child's environment: environ's strings,
                                and ASAN_OPTIONS made here (make_env) */
  proxy_opts o;
  pid_t pid;                 /* -1: no child running                   */
  int in_fd, out_fd, err_fd; /* the child's stdin, stdout, stderr; -1 closed */
  char *describe;            /* the first DESCRIBE reply (NUL-terminated) */
  size_t nk;
  smax_kernel *descs;        /* nk descriptors: proxy_owns checks this range */
  remote *rem;
  char errtail[ERRTAIL];     /* ring of the child's last stderr bytes  */
  size_t errlen, errpos;
  pthread_mutex_t lock;      /* one request at a time                  */
  proxy *next;
};

static proxy *live; /* every started proxy, for proxy_owns and proxy_call */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

/* why a request failed */
typedef struct {
  const char *cls;
  char msg[1024];
} failure;

static void failf(failure *f, const char *cls, const char *fmt, ...) {
  va_list ap;
  f->cls = cls;
  va_start(ap, fmt);
  vsnprintf(f->msg, sizeof f->msg, fmt, ap);
  va_end(ap);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

int proxy_mem_limit_supported(void) { return !PROXY_ASAN; }

int proxy_run_sentinel(const smax_args *a) {
  (void)a;
  return -1;
}

/* The short name of a signal ("SIGSEGV"), or NULL. */
static const char *signame(int s) {
  static const struct { int s; const char *n; } t[] = {
      {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGABRT, "SIGABRT"}, {SIGFPE, "SIGFPE"},
      {SIGILL, "SIGILL"},   {SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
      {SIGXFSZ, "SIGXFSZ"}, {SIGTRAP, "SIGTRAP"}, {SIGSYS, "SIGSYS"},   {SIGPIPE, "SIGPIPE"},
      {SIGALRM, "SIGALRM"}, {SIGINT, "SIGINT"},   {SIGHUP, "SIGHUP"},   {SIGQUIT, "SIGQUIT"},
      {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (t[i].s == s) return t[i].n;
  return NULL;
}

/* ---- the child's stderr --------------------------------------------------- */
/* Reads what the child wrote to stderr into the ring; closes err_fd at EOF. */
static void drain_err(proxy *p) {
  char buf[4096];
  while (p->err_fd >= 0) {
    ssize_t r = read(p->err_fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) close(p->err_fd), p->err_fd = -1;
      return;
    }
    for (ssize_t i = 0; i < r; i++) {
      p->errtail[p->errpos] = buf[i];
      p->errpos = (p->errpos + 1) % ERRTAIL;
      if (p->errlen < ERRTAIL) p->errlen++;
    }
  }
}

/* Appends "; stderr: ..." with the last stderr bytes (up to max, on one
 * line: newlines and tabs become " | " and " ") to s (size cap). */
static void append_stderr(const proxy *p, char *s, size_t cap, size_t max) {
  size_t n = p->errlen < max ? p->errlen : max, len = strlen(s);
  if (!n) return;
  size_t start = (p->errpos + ERRTAIL - n) % ERRTAIL;
  len += (size_t)snprintf(s + len, cap > len ? cap - len : 0, "; stderr: %s", n < p->errlen ? "..." : "");
  int lastsep = 1;
  for (size_t i = 0; i < n && len + 4 < cap; i++) {
    char ch = p->errtail[(start + i) % ERRTAIL];
    if (ch == '\n' || ch == '\r') {
      if (!lastsep && i + 1 < n) memcpy(s + len, " | ", 3), len += 3;
      lastsep = 1;
      continue;
    }
    s[len++] = (ch == '\t' || (unsigned char)ch < 0x20) ? ' ' : ch;
    lastsep = 0;
  }
  while (len && s[len - 1] == ' ') len--;
  s[len] = 0;
}

/* ---- the child process ---------------------------------------------------- */
static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd), *fd = -1;
}

/* Waits up to ms for the child to exit, leaving it unreaped: a zombie
 * keeps its pid and process group id reserved, so killing the group
 * afterwards cannot hit a stranger.  Returns 1 with *info filled if it
 * exited. */
static int child_exited(proxy *p, int ms, siginfo_t *info) {
  for (int waited = 0;; waited += 10) {
    memset(info, 0, sizeof *info);
    if (waitid(P_PID, (id_t)p->pid, info, WEXITED | WNOHANG | WNOWAIT) == 0 && info->si_pid == p->pid) return 1;
    if (waited >= ms) return 0;
    drain_err(p);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

/* Ends the child: closes our ends, SIGKILLs its process group (the child if
 * it still runs, and whatever it forked: `sh -c` may have) and reaps it. */
static void child_reap(proxy *p) {
  close_fd(&p->in_fd);
  close_fd(&p->out_fd);
  if (p->pid > 0) {
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {}
    /* we are a subreaper (proxy_start): the group's orphans -- the program
     * `sh -c` forked, killed with its shell -- are our children now; every
     * member was SIGKILLed, so this ends with ECHILD */
    for (;;) {
      pid_t w = waitpid(-p->pid, NULL, 0);
      if (w < 0 && errno != EINTR) break;
    }
  }
  drain_err(p);
  close_fd(&p->err_fd);
  p->pid = -1;
}

/* The child closed its stdout (or the stream broke): waits up to 1 s for it
 * to exit (then kills it), and fills f from how it ended. */
static void child_ended(proxy *p, failure *f, const char *when) {
  siginfo_t si;
  close_fd(&p->in_fd);
  int done = child_exited(p, 1000, &si);
  child_reap(p);
  int code = si.si_status;
  if (!done) {
    failf(f, "protocol", "closed its output %s but did not exit (killed)", when);
  } else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED) {
    const char *nm = signame(code);
    failf(f, "crashed", "killed by signal %d (%s: %s) %s", code, nm ? nm : "?", strsignal(code), when);
  } else if (code > 128 && code <= 128 + 64 && signame(code - 128)) {
    /* a shell reports a child killed by signal s as exit status 128 + s */
    failf(f, "crashed", "exit status %d: killed by signal %d (%s: %s) %s", code, code - 128, signame(code - 128),
          strsignal(code - 128), when);
  } else {
    failf(f, "protocol", "ended its output early (exit status %d) %s", code, when);
  }
}

/* Starts the child with pipes on its stdin, stdout and stderr, in its own
 * process group, under the memory limit.  Returns 0, or -1 with f filled. */
static int child_start(proxy *p, failure *f) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
    failf(f, "protocol", "cannot create pipes: %s", strerror(errno));
    for (int i = 0; i < 2; i++) close_fd(&in[i]), close_fd(&out[i]), close_fd(&er[i]);
    return -1;
  }
  p->errlen = p->errpos = 0;
  pid_t pid = fork();
  if (pid < 0) {
    failf(f, "protocol", "cannot fork: %s", strerror(errno));
    for (int i = 0; i < 2; i++) close_fd(&in[i]), close_fd(&out[i]), close_fd(&er[i]);
    return -1;
  }
  if (pid == 0) { /* the child: async-signal-safe calls only */
    setpgid(0, 0);
    dup2(in[0], 0), dup2(out[1], 1), dup2(er[1], 2);
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl); /* a crash is a finding, not a core file */
    if (p->o.mem_mb > 0 && !PROXY_ASAN) {
      rl.rlim_cur = rl.rlim_max = (rlim_t)p->o.mem_mb << 20;
      setrlimit(RLIMIT_AS, &rl);
    }
    signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay ignored across exec */
    execve(p->argv[0], p->argv, p->envp);
    static const char msg[] = "smaxcheck: cannot execute the kernel command\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(127);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: no race with the first kill(-pid) */
  close(in[0]), close(out[1]), close(er[1]);
  p->pid = pid, p->in_fd = in[1], p->out_fd = out[0], p->err_fd = er[0];
  fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
  fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
  return 0;
}

/* One request: writes out[0..outlen) while reading the 16-byte response
 * header and then its payload of count * unit bytes.  The count must be
 * want (or 0 with a nonzero status) if exact, else at most want.  Returns 0
 * with *status, *count and *payload (malloc'd, NULL if empty; the caller
 * frees), or -1 with f filled and the child gone. */
static int transact(proxy *p, const unsigned char *out, size_t outlen, int timeout_ms, size_t unit,
                    uint64_t want, int exact, uint32_t *status, uint64_t *count, unsigned char **payload,
                    failure *f) {
  unsigned char hdr[SMXP_RESP_BYTES], *pay = NULL;
  size_t hgot = 0, pgot = 0, plen = 0, wrote = 0;
  int have_hdr = 0;
  double deadline = now_ms() + timeout_ms;
  *payload = NULL;
  for (;;) {
    if (have_hdr && pgot == plen) {
      if (wrote < outlen) {
        free(pay);
        child_reap(p);
        failf(f, "protocol", "replied after reading %zu of the %zu request bytes", wrote, outlen);
        return -1;
      }
      *payload = pay;
      return 0;
    }
    struct pollfd fds[3];
    int nf = 0, iw = -1, ie = -1;
    if (wrote < outlen && p->in_fd >= 0) fds[nf].fd = p->in_fd, fds[nf].events = POLLOUT, iw = nf++;
    int ir = nf;
    fds[nf].fd = p->out_fd, fds[nf++].events = POLLIN;
    if (p->err_fd >= 0) fds[nf].fd = p->err_fd, fds[nf].events = POLLIN, ie = nf++;
    double left = deadline - now_ms();
    int rc = left > 0 ? poll(fds, (nfds_t)nf, (int)ceil(left)) : 0;
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) {
      free(pay);
      child_reap(p);
      failf(f, "protocol", "poll: %s", strerror(errno));
      return -1;
    }
    if (rc == 0) {
      free(pay);
      child_reap(p);
      failf(f, "hung", "no complete reply within %d ms (killed)", timeout_ms);
      return -1;
    }
    if (ie >= 0 && fds[ie].revents) drain_err(p);
    if (iw >= 0 && fds[iw].revents) {
      size_t chunk = outlen - wrote < 65536 ? outlen - wrote : 65536;
      ssize_t w = write(p->in_fd, out + wrote, chunk);
      if (w > 0) wrote += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        close_fd(&p->in_fd); /* EPIPE: it closed its stdin; its stdout will say how it ended */
    }
    if (!fds[ir].revents) continue;
    unsigned char *dst = have_hdr ? pay + pgot : hdr + hgot;
    size_t room = have_hdr ? plen - pgot : SMXP_RESP_BYTES - hgot;
    ssize_t r = read(p->out_fd, dst, room);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (r <= 0) {
      free(pay);
      char when[96];
      snprintf(when, sizeof when, "after %zu of %zu reply bytes", have_hdr ? SMXP_RESP_BYTES + pgot : hgot,
               have_hdr ? SMXP_RESP_BYTES + plen : (size_t)SMXP_RESP_BYTES);
      child_ended(p, f, when);
      return -1;
    }
    if (have_hdr) { pgot += (size_t)r; continue; }
    hgot += (size_t)r;
    if (hgot >= 4 && memcmp(hdr, "SMXR", 4)) break; /* no need to wait for the rest */
    if (hgot < SMXP_RESP_BYTES) continue;
    have_hdr = 1;
    *status = get_u32(hdr + 4), *count = get_u64(hdr + 8);
    int okcount = exact ? (*status ? *count == 0 : *count == want) : *count <= want;
    if (!okcount) {
      child_reap(p);
      if (exact && *status)
        failf(f, "protocol", "status %u (rejected) with count %llu (want 0)", *status, (unsigned long long)*count);
      else
        failf(f, "protocol", "count %llu, want %s%llu", (unsigned long long)*count, exact ? "" : "at most ",
              (unsigned long long)want);
      return -1;
    }
    plen = (size_t)*count * unit;
    if (plen && !(pay = malloc(plen))) {
      child_reap(p);
      failf(f, "protocol", "cannot hold a reply of %zu bytes", plen);
      return -1;
    }
  }
  child_reap(p); /* only a bad magic leaves the loop */
  char shown[8];
  for (int i = 0; i < 4; i++) shown[i] = hdr[i] >= 0x20 && hdr[i] < 0x7f ? (char)hdr[i] : '?';
  shown[4] = 0;
  failf(f, "protocol", "bad response magic %02x %02x %02x %02x (\"%s\", want \"SMXR\")", hdr[0], hdr[1], hdr[2],
        hdr[3], shown);
  return -1;
}

/* Sends DESCRIBE; returns 0 with the reply text (malloc'd, NUL-terminated)
 * in *text, or -1 with f filled. */
static int describe(proxy *p, char **text, failure *f) {
  unsigned char req[SMXP_REQ_BYTES], *pay;
  smxp_request r;
  memset(&r, 0, sizeof r);
  r.op = SMXP_DESCRIBE;
  smxp_request_pack(&r, req);
  uint32_t st;
  uint64_t cnt;
  int lim = p->o.timeout_ms > STARTUP_MS ? p->o.timeout_ms : STARTUP_MS;
  if (transact(p, req, sizeof req, lim, 1, DESCRIBE_MAX, 0, &st, &cnt, &pay, f)) return -1;
  if (st) {
    free(pay);
    child_reap(p);
    failf(f, "protocol", "DESCRIBE answered with status %u", st);
    return -1;
  }
  *text = malloc(cnt + 1);
  if (!*text) {
    free(pay);
    child_reap(p);
    failf(f, "protocol", "out of memory");
    return -1;
  }
  if (cnt) memcpy(*text, pay, cnt);
  (*text)[cnt] = 0;
  free(pay);
  return 0;
}

/* Ensures a child is running (restarting one that a failure ended) and, on a
 * restart, that it DESCRIBEs the same kernels.  Returns 0 or -1 with f. */
static int child_ensure(proxy *p, failure *f) {
  if (p->pid > 0) return 0;
  char *text = NULL;
  if (child_start(p, f) || describe(p, &text, f)) return -1;
  int same = !strcmp(text, p->describe);
  free(text);
  if (!same) {
    child_reap(p);
    failf(f, "protocol", "the restarted child DESCRIBEs other kernels than the first");
    return -1;
  }
  return 0;
}

/* ---- DESCRIBE -> descriptors ---------------------------------------------- */
/* 1 if s is 1..64 printable ASCII bytes without spaces (as plugin.c) */
static int name_ok(const char *s) {
  size_t i = 0;
  for (; s[i]; i++)
    if (i >= 64 || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e) return 0;
  return i > 0;
}

/* Parses the DESCRIBE text into p's descriptors.  The text is split in
 * place (p->describe keeps a copy for restarts).  Returns 0, or -1 with a
 * message naming the line in err. */
static int parse_describe(proxy *p, char *text, char *err, size_t errlen) {
  size_t lines = 0, len = strlen(text);
  if (len && text[len - 1] == '\n') text[--len] = 0; /* the last line's newline */
  if (!len) { snprintf(err, errlen, "%s: DESCRIBE lists no kernels", p->label); return -1; }
  for (size_t i = 0; i <= len; i++) lines += text[i] == '\n' || text[i] == 0;
  p->descs = calloc(lines, sizeof *p->descs);
  p->rem = calloc(lines, sizeof *p->rem);
  if (!p->descs || !p->rem) { snprintf(err, errlen, "%s: out of memory", p->label); return -1; }
  char *line = text;
  for (size_t li = 0; li < lines; li++) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    char *field[5] = {0, 0, 0, 0, 0}, *rest = NULL, *t = line;
    int nf = 0;
    for (; nf < 5; nf++) {
      field[nf] = t;
      char *tab = strchr(t, '\t');
      if (!tab) { nf++, t = NULL; break; }
      *tab = 0;
      t = tab + 1;
    }
    if (nf == 5 && t) { /* the optional sixth field, the claim; later ones are ignored */
      rest = t;
      char *tab = strchr(rest, '\t');
      if (tab) *tab = 0;
    }
    if (nf < 5) {
      snprintf(err, errlen, "%s: DESCRIBE line %zu has %d tab-separated fields, want 5 (name, func, format, convention, about)",
               p->label, li + 1, nf);
      return -1;
    }
    smax_kernel *k = &p->descs[li];
    int fu = -1, fo = -1;
    for (int i = 0; i < SMAX_NFUNCS; i++) if (!strcmp(field[1], smax_func_name((smax_func)i))) fu = i;
    for (int i = 0; i < SMAX_NFORMATS; i++) if (!strcmp(field[2], smax_format_name((smax_format)i))) fo = i;
    const char *bad = !name_ok(field[0]) ? "name (need 1..64 printable ASCII bytes, no spaces)"
                      : fu < 0 ? "func" : fo < 0 ? "format" : NULL;
    for (const char *c = field[3]; !bad && *c; c++)
      if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == ' '))
        bad = "convention (space-separated ids of [a-z0-9-])";
    if (bad) {
      char shown[80];
      snprintf(shown, sizeof shown, "%s", !strncmp(bad, "name", 4) ? field[0] : bad[0] == 'f' ? field[bad[1] == 'u' ? 1 : 2] : field[3]);
      snprintf(err, errlen, "%s: DESCRIBE line %zu: bad %s '%s'", p->label, li + 1, bad, shown);
      return -1;
    }
    k->name = field[0], k->func = (smax_func)fu, k->fmt = (smax_format)fo;
    k->run = proxy_run_sentinel, k->flags = 0; /* no determinism or threading claim */
    k->convention = field[3][0] ? field[3] : "reference";
    k->about = field[4];
    memset(&k->claim, 0, sizeof k->claim); /* no claim: n/a */
    if (rest && rest[0]) {
      smax_claim c;
      char tail;
      if (sscanf(rest, "%la,%la,%la,%la,%la%c", &c.ulp_const, &c.ulp_per_n, &c.ulp_per_spread,
                 &c.abs_u_per_n, &c.max_abs_input, &tail) != 5 || !(c.ulp_const >= 0) ||
          !(c.ulp_per_n >= 0) || !(c.ulp_per_spread >= 0) || !(c.abs_u_per_n >= 0) ||
          !(c.max_abs_input >= 0) || !isfinite(c.ulp_const + c.ulp_per_n + c.ulp_per_spread + c.abs_u_per_n)) {
        snprintf(err, errlen, "%s: DESCRIBE line %zu: bad claim '%.80s' (want five numbers >= 0 "
                 "separated by commas: ulp_const,ulp_per_n,ulp_per_spread,abs_u_per_n,max_abs_input)",
                 p->label, li + 1, rest);
        return -1;
      }
      k->claim = c;
    }
    p->rem[li].owner = p, p->rem[li].index = li;
    if (nl) line = nl + 1;
  }
  p->nk = lines;
  return 0;
}

/* ---- start, stop ---------------------------------------------------------- */
extern char **environ;

/* The child's environment: ours, with ASAN_OPTIONS extended when this
 * process is sanitised, so that a sanitised child (our own `smaxcheck
 * serve`) dies of the signal its plugin raised instead of ASan's report and
 * exit(1): the crash class needs the signal.  Returns 0 or -1. */
static int make_env(proxy *p) {
  size_t ne = 0, j = 0;
  while (environ[ne]) ne++;
  if (!(p->envp = calloc(ne + 2, sizeof *p->envp))) return -1;
  const char *old = NULL;
  for (size_t i = 0; i < ne; i++) {
    if (PROXY_ASAN && !strncmp(environ[i], "ASAN_OPTIONS=", 13)) old = environ[i] + 13;
    else p->envp[j++] = environ[i];
  }
  if (PROXY_ASAN) {
    static const char add[] = "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0";
    size_t len = 13 + (old ? strlen(old) + 1 : 0) + sizeof add;
    if (!(p->asan_env = malloc(len))) return -1;
    snprintf(p->asan_env, len, "ASAN_OPTIONS=%s%s%s", old ? old : "", old ? ":" : "", add);
    p->envp[j++] = p->asan_env;
  }
  return 0;
}

static void proxy_free(proxy *p) {
  if (!p) return;
  for (size_t i = 0; p->rem && i < p->nk; i++) free(p->rem[i].f.message), free(p->rem[i].f.input);
  if (p->argv)
    for (char **a = p->argv; *a; a++) free(*a);
  free(p->envp), free(p->asan_env); /* envp's other strings are environ's */
  free(p->argv), free(p->label), free(p->descs), free(p->rem);
  /* descriptor strings point into the parsed copy stored after describe */
  free(p->describe);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

proxy *proxy_start(char *const argv[], const char *label, const proxy_opts *o, char *err, size_t errlen) {
  signal(SIGPIPE, SIG_IGN); /* a dead child's pipe must give EPIPE, not kill us */
  /* orphans of a child (what `sh -c` forked) come to us to be reaped,
   * instead of lingering as zombies under an init that may not reap them */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  proxy *p = calloc(1, sizeof *p);
  size_t na = 0;
  while (argv[na]) na++;
  if (p) p->argv = calloc(na + 1, sizeof *p->argv);
  if (!p || !p->argv || !(p->label = strdup(label))) {
    snprintf(err, errlen, "%s: out of memory", label);
    if (p) free(p->argv), free(p);
    return NULL;
  }
  pthread_mutex_init(&p->lock, NULL);
  for (size_t i = 0; i < na; i++) p->argv[i] = strdup(argv[i]);
  p->o = *o, p->pid = -1, p->in_fd = p->out_fd = p->err_fd = -1;
  if (make_env(p)) {
    snprintf(err, errlen, "%s: out of memory", label);
    proxy_free(p);
    return NULL;
  }
  failure f;
  char *text = NULL;
  if (child_start(p, &f) || describe(p, &text, &f)) {
    append_stderr(p, f.msg, sizeof f.msg, 600);
    snprintf(err, errlen, "%s: no DESCRIBE reply: %s: %s", label, f.cls, f.msg);
    proxy_free(p);
    return NULL;
  }
  /* keep the text twice: p->describe to compare restarts against, and a
   * copy split into the descriptors' strings, appended to the same block */
  size_t len = strlen(text);
  char *both = malloc(2 * len + 2);
  if (!both) {
    child_reap(p);
    free(text);
    snprintf(err, errlen, "%s: out of memory", label);
    proxy_free(p);
    return NULL;
  }
  memcpy(both, text, len + 1), memcpy(both + len + 1, text, len + 1);
  free(text);
  p->describe = both;
  if (parse_describe(p, both + len + 1, err, errlen)) {
    child_reap(p);
    proxy_free(p);
    return NULL;
  }
  pthread_mutex_lock(&live_lock);
  p->next = live, live = p;
  pthread_mutex_unlock(&live_lock);
  return p;
}

const smax_kernel *proxy_kernels(const proxy *p, size_t *count) {
  *count = p->nk;
  return p->descs;
}

const char *proxy_label(const proxy *p) { return p->label; }

void proxy_stop(proxy *p) {
  if (!p) return;
  pthread_mutex_lock(&live_lock);
  for (proxy **q = &live; *q; q = &(*q)->next)
    if (*q == p) { *q = p->next; break; }
  pthread_mutex_unlock(&live_lock);
  if (p->pid > 0) {
    unsigned char req[SMXP_REQ_BYTES];
    smxp_request r;
    memset(&r, 0, sizeof r);
    r.op = SMXP_QUIT;
    smxp_request_pack(&r, req);
    if (p->in_fd >= 0 && write(p->in_fd, req, sizeof req) < 0) { /* it is leaving anyway */ }
    close_fd(&p->in_fd);
    siginfo_t si;
    child_exited(p, 1000, &si); /* then killed, if it did not leave */
    child_reap(p);
  }
  proxy_free(p);
}

/* The remote kernel behind descriptor k (NULL if k is not in a live
 * proxy).  Addresses compare as integers: k may point anywhere. */
static remote *lookup(const smax_kernel *k) {
  remote *found = NULL;
  uintptr_t a = (uintptr_t)k;
  pthread_mutex_lock(&live_lock);
  for (proxy *p = live; p && !found; p = p->next) {
    uintptr_t lo = (uintptr_t)p->descs, hi = (uintptr_t)(p->descs + p->nk);
    if (a >= lo && a < hi && (a - lo) % sizeof *p->descs == 0) found = &p->rem[(a - lo) / sizeof *p->descs];
  }
  pthread_mutex_unlock(&live_lock);
  return found;
}

int proxy_owns(const smax_kernel *k) { return lookup(k) != NULL; }

const proxy_finding *proxy_finding_of(const smax_kernel *k) {
  remote *r = lookup(k);
  if (!r) return NULL;
  pthread_mutex_lock(&r->owner->lock);
  const proxy_finding *f = r->dead ? &r->f : NULL;
  pthread_mutex_unlock(&r->owner->lock);
  return f;
}

/* ---- RUN ------------------------------------------------------------------ */
static int is_vjp(smax_func f) { return f == SMAX_SOFTMAX_VJP || f == SMAX_LOG_SOFTMAX_VJP; }

/* input element i of a typed input buffer, as a double (fixed: the int8 q) */
static double load_in(smax_format f, const void *buf, size_t i) {
  return kio_fixed(f) ? (double)((const int8_t *)buf)[i] : kio_load_out(f, buf, i);
}

/* 1 if v (a reply value) is a value of f's outputs: NaN, +-inf or a value of
 * the float format; an integer of the output type for fixed point */
static int representable(smax_format f, double v) {
  switch (f) {
  case SMAX_Q8_UQ0_8: return v == floor(v) && v >= 0 && v <= 255;
  case SMAX_Q8_Q0_15: case SMAX_Q8_Q4_11: return v == floor(v) && v >= -32768 && v <= 32767;
  default: return isnan(v) || isinf(v) || kio_round_in(f, v) == v;
  }
}

/* store a representable reply value as output i of format f */
static void store_out(smax_format f, void *buf, size_t i, double v) {
  switch (f) {
  case SMAX_Q8_UQ0_8: ((uint8_t *)buf)[i] = (uint8_t)v; break;
  case SMAX_Q8_Q0_15: case SMAX_Q8_Q4_11: ((int16_t *)buf)[i] = (int16_t)v; break;
  default: kio_store_in(f, buf, i, v); break; /* float formats: same encoding in and out */
  }
}

/* Sends rows [r0, r0 + nr) of a to kernel rk.  Returns 0 (outputs stored,
 * *rejected set if the child rejected them) or -1 with f filled. */
static int run_rows(proxy *p, const remote *rk, const smax_kernel *k, const smax_args *a, size_t r0, size_t nr,
                    int *rejected, failure *f) {
  size_t n = a->n, nout = k->func == SMAX_LOGSUMEXP ? 1 : n;
  int ce = k->func == SMAX_CROSS_ENTROPY;
  int has_mask = 0, has_dy = is_vjp(k->func) && a->dy, has_t = ce && a->target;
  for (size_t r = r0; a->mask && r < r0 + nr && !has_mask; r++)
    for (size_t i = 0; i < n && !has_mask; i++) has_mask = a->mask[r * a->mask_stride + i] != 0;
  uint64_t elems = (uint64_t)nr * n, want = (uint64_t)nr * nout + (ce ? nr : 0);
  if (n && elems / n != nr) { *rejected = 1; return 0; }
  uint64_t bytes = SMXP_REQ_BYTES + elems * (8 + (has_mask ? 1 : 0) + (has_dy ? 8 : 0)) + (has_t ? 4 * (uint64_t)nr : 0);
  if (bytes > PAYLOAD_MAX || want > PAYLOAD_MAX / 8) { *rejected = 1; return 0; } /* not the child's fault */
  if (child_ensure(p, f)) return -1;
  unsigned char *req = malloc((size_t)bytes), *w = req + SMXP_REQ_BYTES;
  if (!req) { *rejected = 1; return 0; }
  smxp_request q = {SMXP_RUN, (uint32_t)rk->index, (uint32_t)k->func, (uint32_t)k->fmt, nr, n, a->tau, a->in_scale,
                    (has_mask ? SMXP_HAS_MASK : 0u) | (has_dy ? SMXP_HAS_DY : 0u) | (has_t ? SMXP_HAS_TARGET : 0u)};
  smxp_request_pack(&q, req);
  for (size_t r = r0; r < r0 + nr; r++)
    for (size_t i = 0; i < n; i++, w += 8) smxp_put_f64(w, load_in(k->fmt, a->x, r * a->x_stride + i));
  for (size_t r = r0; has_mask && r < r0 + nr; r++)
    for (size_t i = 0; i < n; i++) *w++ = a->mask[r * a->mask_stride + i] != 0;
  for (size_t r = r0; has_dy && r < r0 + nr; r++)
    for (size_t i = 0; i < n; i++, w += 8) smxp_put_f64(w, load_in(k->fmt, a->dy, r * a->dy_stride + i));
  for (size_t r = r0; has_t && r < r0 + nr; r++, w += 4) put_u32(w, (uint32_t)a->target[r]);
  uint32_t st;
  uint64_t cnt;
  unsigned char *pay;
  int rc = transact(p, req, (size_t)bytes, p->o.timeout_ms, 8, want, 1, &st, &cnt, &pay, f);
  free(req);
  if (rc) return -1;
  *rejected = st != 0;
  for (uint64_t i = 0; i < cnt; i++) {
    double v = smxp_get_f64(pay + 8 * i);
    if (!representable(k->fmt, v)) {
      int loss = ce && i >= (uint64_t)nr * nout;
      size_t row = (size_t)(loss ? i - (uint64_t)nr * nout : i / nout), o = loss ? 0 : (size_t)(i % nout);
      failf(f, "garbage", "%s %zu of row %zu is %a, not a value of %s", loss ? "loss" : "output", o, r0 + row, v,
            smax_format_name(k->fmt));
      free(pay);
      child_reap(p); /* restarted for the next kernel */
      return -1;
    }
  }
  for (uint64_t i = 0; i < cnt; i++) {
    double v = smxp_get_f64(pay + 8 * i);
    if (ce && i >= (uint64_t)nr * nout) store_out(k->fmt, a->loss, r0 + (size_t)(i - (uint64_t)nr * nout), v);
    else store_out(k->fmt, a->y, (r0 + (size_t)(i / nout)) * a->y_stride + (size_t)(i % nout), v);
  }
  free(pay);
  return 0;
}

/* row r of a as the oracle's text format (malloc'd) */
static char *row_text(const smax_kernel *k, const smax_args *a, size_t r) {
  size_t n = a->n, cap = 2 * n * 26 + 8, len = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  s[0] = 0;
  for (size_t i = 0; i < n; i++) {
    double v = a->mask && a->mask[r * a->mask_stride + i] ? -INFINITY : load_in(k->fmt, a->x, r * a->x_stride + i);
    len += (size_t)snprintf(s + len, cap - len, i ? " %a" : "%a", v);
  }
  if (is_vjp(k->func) && a->dy) {
    len += (size_t)snprintf(s + len, cap - len, " |");
    for (size_t i = 0; i < n; i++) len += (size_t)snprintf(s + len, cap - len, " %a", load_in(k->fmt, a->dy, r * a->dy_stride + i));
  }
  return s;
}

int proxy_call(const smax_kernel *k, const smax_args *a) {
  remote *rk = lookup(k);
  if (!rk) return -1;
  proxy *p = rk->owner;
  pthread_mutex_lock(&p->lock);
  if (rk->dead) { pthread_mutex_unlock(&p->lock); return -1; }
  failure f;
  int rej = 0;
  if (!run_rows(p, rk, k, a, 0, a->rows, &rej, &f)) {
    pthread_mutex_unlock(&p->lock);
    return rej;
  }
  /* bisect the batch down to one failing row: that row is the finding's
   * reproducing input (a failure of no half alone keeps the whole batch) */
  size_t lo = 0, len = a->rows;
  append_stderr(p, f.msg, sizeof f.msg, 600);
  while (len > 1) {
    failure g;
    size_t half = len / 2;
    int hit = run_rows(p, rk, k, a, lo, half, &rej, &g) < 0;
    if (!hit) {
      hit = run_rows(p, rk, k, a, lo + half, len - half, &rej, &g) < 0;
      if (hit) lo += half, half = len - half;
    }
    if (!hit) break;
    len = half;
    append_stderr(p, g.msg, sizeof g.msg, 600);
    f = g;
  }
  rk->dead = 1;
  rk->f.cls = f.cls;
  rk->f.n = a->n, rk->f.rows = len;
  rk->f.target = k->func == SMAX_CROSS_ENTROPY && a->target && len == 1 ? (int)a->target[lo] : -1;
  size_t ml = strlen(f.msg) + 96;
  if ((rk->f.message = malloc(ml))) {
    if (len > 1) snprintf(rk->f.message, ml, "%s (fails only as a batch of %zu rows; input is its first row)", f.msg, len);
    else snprintf(rk->f.message, ml, "%s", f.msg);
  }
  rk->f.input = len ? row_text(k, a, lo) : NULL;
  pthread_mutex_unlock(&p->lock);
  return -1;
}

/* bad_cmd.c -- an external kernel command (harness/PROTOCOL.md) whose
 * kernels break the protocol in the ways `smaxcheck compare --cmd` must
 * survive, one per kernel, each on every RUN:
 *   wrong-count  replies with one output too few               -> protocol
 *   not-f32      declares binary32, replies softmax computed in double
 *                (values like 0.1 that no float holds)          -> garbage
 *   bad-magic    replies "SMXr" instead of "SMXR"              -> protocol
 *   early-exit   exits with status 3 without replying          -> protocol
 *   abort        raises SIGABRT                                -> crashed
 *   honest       a correct binary64 softmax, last: the run must reach it
 * `bad_cmd hog` instead lists one kernel, "hog", that allocates and touches
 * 1 GiB on every RUN (exit status 4 if it cannot): for --mem-mb.
 * A test fixture (tests/cli_compare.sh), and a small example of the
 * protocol's child side written without smaxcheck's sources. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char describe[] =
    "wrong-count\tsoftmax\tbinary64\treference\treplies one output too few\n"
    "not-f32\tsoftmax\tbinary32\treference\treplies binary64 values for a binary32 kernel\n"
    "bad-magic\tsoftmax\tbinary64\treference\treplies with a bad magic\n"
    "early-exit\tsoftmax\tbinary64\treference\texits without replying\n"
    "abort\tsoftmax\tbinary64\treference\tcalls abort()\n"
    "honest\tsoftmax\tbinary64\treference\tmax-shifted softmax in double\n";

static uint64_t get(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static double getd(const unsigned char *p) {
  uint64_t u = get(p, 8);
  double d;
  memcpy(&d, &u, 8);
  return d;
}
static void put(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* writes a response header with the given magic, status, count */
static void header(const char *magic, uint32_t status, uint64_t count) {
  unsigned char h[16];
  memcpy(h, magic, 4), put(h + 4, status, 4), put(h + 8, count, 8);
  fwrite(h, 1, 16, stdout);
}

static void put_f64(double v) {
  unsigned char b[8];
  uint64_t u;
  memcpy(&u, &v, 8);
  put(b, u, 8);
  fwrite(b, 1, 8, stdout);
}

static char *volatile keep;
static const char describe_hog[] = "hog\tsoftmax\tbinary64\treference\tallocates 1 GiB per RUN\n";

int main(int argc, char **argv) {
  int hog = argc > 1 && !strcmp(argv[1], "hog");
  const char *desc = hog ? describe_hog : describe;
  size_t desclen = strlen(desc);
  unsigned char h[64];
  while (fread(h, 1, 64, stdin) == 64) {
    if (memcmp(h, "SMXQ", 4) || get(h + 4, 4) != 1) return 2;
    uint32_t op = (uint32_t)get(h + 8, 4), k = (uint32_t)get(h + 12, 4), flags = (uint32_t)get(h + 56, 4);
    if (op == 3) return 0;
    if (op == 1) {
      header("SMXR", 0, desclen);
      fwrite(desc, 1, desclen, stdout);
      fflush(stdout);
      continue;
    }
    if (op != 2) return 2;
    uint64_t rows = get(h + 24, 8), n = get(h + 32, 8);
    double tau = getd(h + 40);
    size_t bytes = rows * n * 8 + ((flags & 1) ? rows * n : 0) + ((flags & 2) ? rows * n * 8 : 0) + ((flags & 4) ? rows * 4 : 0);
    unsigned char *pay = malloc(bytes + 1);
    double *y = malloc((rows * n + 1) * sizeof *y);
    if (!pay || !y || fread(pay, 1, bytes, stdin) != bytes) return 2;
    const unsigned char *mask = (flags & 1) ? pay + rows * n * 8 : NULL;
    for (uint64_t r = 0; r < rows; r++) { /* softmax in double, masked -> 0 */
      double m = -INFINITY, s = 0;
      for (uint64_t i = 0; i < n; i++)
        if (!(mask && mask[r * n + i]) && !(getd(pay + 8 * (r * n + i)) <= m)) m = getd(pay + 8 * (r * n + i));
      for (uint64_t i = 0; i < n; i++)
        s += (mask && mask[r * n + i]) ? 0 : exp((getd(pay + 8 * (r * n + i)) - m) / tau);
      for (uint64_t i = 0; i < n; i++)
        y[r * n + i] = (mask && mask[r * n + i]) ? 0 : exp((getd(pay + 8 * (r * n + i)) - m) / tau) / s;
    }
    uint64_t cnt = rows * n;
    if (hog) {
      size_t big = (size_t)1 << 30;
      char *p = malloc(big);
      if (!p) {
        fputs("bad_cmd: out of memory\n", stderr);
        free(pay), free(y);
        return 4;
      }
      memset(p, 1, big);
      keep = p; /* escapes: the compiler may not elide the allocation */
      free(p);
      k = 5; /* then answer honestly */
    }
    switch (k) {
    case 0: /* wrong-count */
      header("SMXR", 0, cnt ? cnt - 1 : 1);
      for (uint64_t i = 0; i + 1 < cnt; i++) put_f64(y[i]);
      if (!cnt) put_f64(0);
      break;
    case 1: /* not-f32: values of binary64 (the 1e-300 makes even n = 1 garbage) */
      header("SMXR", 0, cnt);
      for (uint64_t i = 0; i < cnt; i++) put_f64(isfinite(y[i]) ? y[i] + 1e-300 : y[i]);
      break;
    case 2: header("SMXr", 0, 0); break;
    case 3: free(pay), free(y); return 3;
    case 4: abort();
    default: /* honest */
      header("SMXR", 0, cnt);
      for (uint64_t i = 0; i < cnt; i++) put_f64(y[i]);
      break;
    }
    fflush(stdout);
    free(pay), free(y);
  }
  return 0;
}

/* plugin.c -- dlopen a plugin, check its ABI version, validate its
 * descriptors (plugin.h).  Everything the harness later trusts about a
 * descriptor (that func and fmt index tables, that name prints as one token
 * in the table and in the protocol's tab-separated DESCRIBE lines) is
 * checked here, once. */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plugin.h"

#define PLUGIN_MAX_KERNELS 4096
#define PLUGIN_NAME_MAX 64
#define PLUGIN_TEXT_MAX 1024

/* loaded plugins: the table each returned, and its dlopen handle */
typedef struct loaded {
  const smax_kernel *table;
  void *handle;
  struct loaded *next;
} loaded;
static loaded *plugins;
static pthread_mutex_t plugins_lock = PTHREAD_MUTEX_INITIALIZER;

/* Formats one error line into err (if any room); returns -1 for `return
 * fail(...)`. */
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* 1 if s holds 1..max bytes, each printable ASCII (space allowed iff
 * spaces). */
static int printable(const char *s, size_t max, int spaces) {
  size_t i = 0;
  for (; s[i]; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (i >= max || ch > 0x7e || ch < 0x20 || (ch == ' ' && !spaces)) return 0;
  }
  return i > 0;
}

/* 1 if s is a space-separated list of ids made of [a-z0-9-] (at most
 * PLUGIN_TEXT_MAX bytes; empty allowed: it means "reference"). */
static int convention_ok(const char *s) {
  if (strlen(s) > PLUGIN_TEXT_MAX) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == ' ')) return 0;
  return 1;
}

/* Validates descriptor i of the table loaded from path; returns 0, or -1
 * with the message in err. */
static int check_kernel(const char *path, const smax_kernel *k, size_t i, char *err, size_t errlen) {
  char what[PLUGIN_NAME_MAX + 64];
  if (!k->name || !printable(k->name, PLUGIN_NAME_MAX, 0))
    return fail(err, errlen, "%s: kernel %zu: name is %s (need 1..%d printable ASCII bytes, no spaces)", path,
                i, k->name ? "not printable or too long" : "NULL", PLUGIN_NAME_MAX);
  snprintf(what, sizeof what, "%s: kernel %zu (%s)", path, i, k->name);
  if ((unsigned)k->func >= SMAX_NFUNCS)
    return fail(err, errlen, "%s: func %d is out of range (0..%d)", what, (int)k->func, SMAX_NFUNCS - 1);
  if ((unsigned)k->fmt >= SMAX_NFORMATS)
    return fail(err, errlen, "%s: fmt %d is out of range (0..%d)", what, (int)k->fmt, SMAX_NFORMATS - 1);
  if (!k->run) return fail(err, errlen, "%s: run is NULL", what);
  unsigned known = SMAX_DETERMINISTIC | SMAX_THREADED | SMAX_BROKEN;
  if (k->flags & ~known) return fail(err, errlen, "%s: flags 0x%x has unknown bits 0x%x", what, k->flags, k->flags & ~known);
  if (k->convention && !convention_ok(k->convention))
    return fail(err, errlen, "%s: convention is not space-separated ids of [a-z0-9-] (at most %d bytes)", what,
                PLUGIN_TEXT_MAX);
  if (k->about && k->about[0] && !printable(k->about, PLUGIN_TEXT_MAX, 1))
    return fail(err, errlen, "%s: about is not one line of printable ASCII (at most %d bytes)", what, PLUGIN_TEXT_MAX);
  const struct { const char *name; double v; } c[] = {
      {"ulp_const", k->claim.ulp_const}, {"ulp_per_n", k->claim.ulp_per_n},
      {"ulp_per_spread", k->claim.ulp_per_spread}, {"abs_u_per_n", k->claim.abs_u_per_n},
      {"max_abs_input", k->claim.max_abs_input}};
  for (size_t j = 0; j < sizeof c / sizeof c[0]; j++)
    if (!(c[j].v >= 0 && c[j].v < INFINITY))
      return fail(err, errlen, "%s: claim.%s is %g (need finite and >= 0)", what, c[j].name, c[j].v);
  return 0;
}

int plugin_load(const char *path, const smax_kernel **kernels, size_t *count, char *err, size_t errlen) {
  *kernels = NULL, *count = 0;
  if (!path || !path[0]) return fail(err, errlen, "plugin path is empty");
  /* dlopen searches the library path for a bare name; a user means a file */
  char *full = NULL;
  if (!strchr(path, '/')) {
    size_t len = strlen(path) + 3;
    if (!(full = malloc(len))) return fail(err, errlen, "%s: out of memory", path);
    snprintf(full, len, "./%s", path);
  }
  void *h = dlopen(full ? full : path, RTLD_NOW | RTLD_LOCAL);
  free(full);
  if (!h) {
    const char *why = dlerror();
    return fail(err, errlen, "%s: cannot load the plugin: %s", path, why ? why : "dlopen failed");
  }
  dlerror();
  void *sym = dlsym(h, SMAX_PLUGIN_SYMBOL);
  if (!sym) {
    dlclose(h);
    return fail(err, errlen, "%s: not a smaxcheck plugin: no symbol %s (see impls/kernel.h)", path, SMAX_PLUGIN_SYMBOL);
  }
  /* POSIX guarantees a dlsym'd function converts this way */
  smax_plugin_fn fn;
  memcpy(&fn, &sym, sizeof fn);
  size_t n = 0;
  int abi = -1;
  const smax_kernel *t = fn(&n, &abi);
  int rc = 0;
  if (abi != SMAX_ABI_VERSION)
    rc = fail(err, errlen, "%s: %s reports ABI version %d; this smaxcheck has SMAX_ABI_VERSION %d (rebuild the plugin against impls/kernel.h)",
              path, SMAX_PLUGIN_SYMBOL, abi, SMAX_ABI_VERSION);
  else if (!t)
    rc = fail(err, errlen, "%s: %s returned a NULL kernel table", path, SMAX_PLUGIN_SYMBOL);
  else if (n == 0 || n > PLUGIN_MAX_KERNELS)
    rc = fail(err, errlen, "%s: %s returned count %zu (need 1..%d)", path, SMAX_PLUGIN_SYMBOL, n, PLUGIN_MAX_KERNELS);
  for (size_t i = 0; !rc && i < n; i++) rc = check_kernel(path, &t[i], i, err, errlen);
  loaded *L = rc ? NULL : malloc(sizeof *L);
  if (!rc && !L) rc = fail(err, errlen, "%s: out of memory", path);
  if (rc) {
    dlclose(h);
    return -1;
  }
  L->table = t, L->handle = h;
  pthread_mutex_lock(&plugins_lock);
  L->next = plugins, plugins = L;
  pthread_mutex_unlock(&plugins_lock);
  *kernels = t, *count = n;
  return 0;
}

int plugin_unload(const smax_kernel *kernels) {
  loaded *found = NULL;
  pthread_mutex_lock(&plugins_lock);
  for (loaded **p = &plugins; *p; p = &(*p)->next)
    if ((*p)->table == kernels) {
      found = *p;
      *p = found->next;
      break;
    }
  pthread_mutex_unlock(&plugins_lock);
  if (!found) return -1;
  dlclose(found->handle);
  free(found);
  return 0;
}

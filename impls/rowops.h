/* rowops.h -- row helpers shared by stable.c, accurate.c and naive.c:
 * masked max, lane sums, a lane dot product, Kahan's
 * compensated sum.  Not a standalone header: it is included inside a
 * kernel file's per-type body, with FT (the floating type), F(name) (the
 * per-type name), LANES and SIMD defined, so each file and type gets its own
 * static copies and the compiler inlines and vectorises them as before;
 * `static inline`, so a file using only some of them (naive.c) compiles clean. */
/* Writes the row with masked entries set to -inf into w; returns its max.
 * The comparison skips NaN (it comes back through exp); n = 0 gives -inf. */
static inline FT F(masked_max)(const FT *x, const unsigned char *mask, size_t n, FT *w) {
  FT acc[LANES];
  size_t i = 0;
  if (mask) {
    SIMD
    for (size_t j = 0; j < n; j++) {
      FT v = x[j]; /* loaded unconditionally: a select, not a branch */
      w[j] = mask[j] ? (FT)-INFINITY : v;
    }
  } else {
    memcpy(w, x, n * sizeof *w);
  }
  for (int l = 0; l < LANES; l++) acc[l] = (FT)-INFINITY;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] = w[i + l] > acc[l] ? w[i + l] : acc[l];
  for (int l = 0; i < n; i++, l++) acc[l] = w[i] > acc[l] ? w[i] : acc[l];
  for (int h = LANES / 2; h > 0; h /= 2)
    for (int l = 0; l < h; l++) acc[l] = acc[l + h] > acc[l] ? acc[l + h] : acc[l];
  return acc[0];
}

static inline FT F(fold_sum)(FT *acc) {
  for (int h = LANES / 2; h > 0; h /= 2)
    for (int l = 0; l < h; l++) acc[l] += acc[l + h];
  return acc[0];
}

/* sum of v[0..n) in 16 lanes and a tree: at most n/16 + 4 roundings deep */
static inline FT F(lane_sum)(const FT *v, size_t n) {
  FT acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += v[i + l];
  for (int l = 0; i < n; i++, l++) acc[l] += v[i];
  return F(fold_sum)(acc);
}

/* sum of a[i] * b[i], as lane_sum (products rounded, never fused) */
static inline FT F(lane_dot)(const FT *a, const FT *b, size_t n) {
  FT acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
  for (int l = 0; i < n; i++, l++) acc[l] += a[i] * b[i];
  return F(fold_sum)(acc);
}

/* one step of Kahan's compensated summation */
static inline void F(kahan_add)(FT *s, FT *c, FT v) {
  FT y = v - *c, t = *s + y;
  *c = (t - *s) - y; /* what the addition lost, negated */
  *s = t;
}

/* Kahan sum in 16 lanes, lanes folded by Kahan too: within 4u sum|v_i|
 * (plus O(n u^2)); Higham, Accuracy and Stability, eq. (4.8). */
static inline FT F(compensated_sum)(const FT *v, size_t n) {
  FT s[LANES] = {0}, c[LANES] = {0}, total = 0, comp = 0;
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) {
      FT y = v[i + l] - c[l], t = s[l] + y;
      c[l] = (t - s[l]) - y;
      s[l] = t;
    }
  for (int l = 0; i < n; i++, l++) F(kahan_add)(&s[l], &c[l], v[i]);
  for (int l = 0; l < LANES; l++) {
    F(kahan_add)(&total, &comp, s[l]);
    F(kahan_add)(&total, &comp, -c[l]);
  }
  return total;
}

/* 1 if an unmasked entry is NaN (only asked on the rare rows with m = +-inf) */
static inline int F(has_nan)(const FT *x, const unsigned char *mask, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isnan(x[i]) && !(mask && mask[i])) return 1;
  return 0;
}


#include "ta_windows.h"

void ta_windows_gather(const ta_windows *w, const size_t *idx, size_t b, float *x, float *y) {
  size_t L = w->L, H = w->H;
  for (size_t i = 0; i < b; i++) {
    size_t r = idx[i];
    size_t o = (size_t)w->origin[r], f = (size_t)w->first[r];
    double lev = w->level[o], s = w->inv_scale[o];
    size_t F = 1 + w->n_stat;
    float *xi = x + i * L * F;
    const double *st = w->n_stat ? w->stat + (size_t)w->series[r] : NULL;
    for (size_t t = 0; t < L; t++) {
      /* o - L + 1 + t without going below f (and without unsigned wrap) */
      size_t back = L - 1 - t;
      size_t p = o >= f + back ? o - back : f;
      xi[t * F] = (float)((w->z[p] - lev) * s);
      for (size_t j = 0; j < w->n_stat; j++) xi[t * F + 1 + j] = (float)st[j * w->n_series];
    }
    if (!y) continue;
    double a = w->start[o], d = w->slope[o], c = w->damp[o], phi = w->phi[o];
    double pw = phi, sum = 0.0; /* sum = phi^2 + ... + phi^(k+1) */
    float *yi = y + i * H;
    for (size_t k = 0; k < H; k++) {
      yi[k] = (float)((w->z[o + 1 + k] - a - d * (double)k - c * sum) * s);
      pw *= phi;
      sum += pw;
    }
  }
}

size_t ta_windows_check(const ta_windows *w) {
  for (size_t i = 0; i < w->n; i++) {
    double o = w->origin[i], f = w->first[i], l = w->last[i];
    if (w->n_stat) {
      double sr = w->series[i];
      if (!(sr >= 0 && sr < (double)w->n_series) || sr != (double)(size_t)sr) return i + 1;
    }
    /* NaN fails every comparison below, so it is caught too */
    if (!(f >= 0 && f <= o && l < (double)w->total && o + (double)w->H <= l) ||
        o != (double)(size_t)o || f != (double)(size_t)f || l != (double)(size_t)l)
      return i + 1;
  }
  return 0;
}

#include <stdlib.h>
#include <string.h>
#include "ta_forecast.h"
#include "ta_rng.h"

/* windows forwarded at once: bounds the workspace (activations and caches of every
 * layer scale with the batch). 128 rather than 256: a small recurrent network's step
 * products (128 x 3H x H for a GRU(16)) then stay under ta_gemm's threshold for
 * splitting over threads, whose fork and join per product cost more than they save
 * here; measured on 2 busy cores, 1000 paths x 24 steps of a GRU(16) took 0.45-0.6 s
 * at 128 and 1.2-2 s at 256 (0.42 s at either on one thread). */
#define TA_SIM_CHUNK 128

/* a * b, or 0 (with *ok cleared) when it overflows size_t */
static size_t mul_ok(size_t a, size_t b, int *ok) {
  if (a != 0 && b > (size_t)-1 / a) {
    *ok = 0;
    return 0;
  }
  return a * b;
}

int ta_simulate(ta_net *net, float *paths, float *mean, const float *window, size_t lookback,
                size_t n_series, const float *xreg_future, size_t n_xreg, size_t h,
                size_t npaths, const float *resid, size_t n_resid, uint64_t seed, ta_msg *msg) {
  if (lookback < 1 || n_series < 1 || h < 1 || npaths < 1)
    return ta_fail(msg, TA_ERR_ARG, "lookback, series, horizon and paths must all be >= 1");
  size_t F = n_series + n_xreg;
  if (F != (size_t)net->in_dim)
    return ta_fail(msg, TA_ERR_ARG,
                   "a window has %zu features (%zu series + %zu regressors) but the network "
                   "was built for %d", F, n_series, n_xreg, net->in_dim);
  if (n_series != (size_t)net->out_dim)
    return ta_fail(msg, TA_ERR_ARG,
                   "the network gives %d outputs per step but %zu series are forecast",
                   net->out_dim, n_series);
  if (n_xreg > 0 && !xreg_future)
    return ta_fail(msg, TA_ERR_ARG, "future regressors are missing");
  if (n_resid > 0 && !resid) return ta_fail(msg, TA_ERR_ARG, "residuals are missing");
  if (n_resid > UINT32_MAX)
    return ta_fail(msg, TA_ERR_ARG, "at most %lu residual rows, not %zu",
                   (unsigned long)UINT32_MAX, n_resid);
  size_t T_out = ta_net_out_time(net, lookback);
  if (T_out == 0)
    return ta_fail(msg, TA_ERR_ARG, "the network does not accept windows of %zu steps", lookback);

  /* row 0 is the mean window; rows 1..npaths the paths' (only the mean without noise,
   * since every path would follow it exactly) */
  int noise = n_resid > 0;
  size_t rows = noise ? npaths + 1 : 1;
  int ok = npaths + 1 > npaths; /* rows did not wrap */
  size_t wrow = mul_ok(lookback, F, &ok);   /* floats per window */
  size_t wall = mul_ok(rows, wrow, &ok);    /* floats of all windows */
  size_t nph = mul_ok(npaths, h, &ok);      /* residual picks */
  mul_ok(nph, n_series, &ok);               /* paths' values (the caller's buffer) */
  mul_ok(wall + 1, sizeof(float), &ok);     /* bytes malloc'ed below */
  mul_ok(nph, sizeof(uint32_t), &ok);
  if (!ok) return ta_fail(msg, TA_ERR_NOMEM, "too many paths or steps to simulate");
  size_t chunk = rows < TA_SIM_CHUNK ? rows : TA_SIM_CHUNK;
  int st = ta_net_reserve(net, chunk, lookback, msg);
  if (st != TA_OK) return st;

  float *win = malloc((wall + 1) * sizeof(float)); /* [rows, lookback, F] */
  /* residual rows of every path and step [npaths, h], drawn path by path up front: a
   * path's draws then do not depend on npaths (the first n of more paths are the n
   * paths) nor on the chunking */
  uint32_t *pick = noise ? malloc(nph * sizeof(uint32_t)) : NULL;
  if (!win || (noise && !pick)) {
    free(win);
    free(pick);
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for %zu windows", rows);
  }
  for (size_t r = 0; r < rows; r++) memcpy(win + r * wrow, window, wrow * sizeof(float));
  if (noise) {
    ta_rng rng;
    ta_rng_seed(&rng, seed);
    for (size_t i = 0; i < nph; i++) pick[i] = ta_rng_below(&rng, (uint32_t)n_resid);
  }
  size_t yoff = (T_out - 1) * n_series; /* the last output step within one sequence */
  size_t ystride = T_out * n_series;
  size_t shift = (lookback - 1) * F;

  for (size_t k = 0; k < h; k++) {
    int more = k + 1 < h;
    const float *xr = more && n_xreg ? xreg_future + (k + 1) * n_xreg : NULL;
    for (size_t s = 0; s < rows; s += chunk) {
      size_t b = rows - s < chunk ? rows - s : chunk;
      float *w0 = win + s * wrow;
      const float *out = ta_net_predict(net, w0, NULL, b, lookback);
      for (size_t i = 0; i < b; i++) {
        const float *yhat = out + i * ystride + yoff;
        size_t row = s + i;
        float *y;
        if (row == 0) {
          y = mean + k * n_series;
          memcpy(y, yhat, n_series * sizeof(float));
        } else {
          y = paths + ((row - 1) * h + k) * n_series;
          const float *e = resid + (size_t)pick[(row - 1) * h + k] * n_series;
          for (size_t j = 0; j < n_series; j++) y[j] = yhat[j] + e[j];
        }
        if (!more) continue;
        float *w = w0 + i * wrow;
        if (shift) memmove(w, w + F, shift * sizeof(float));
        memcpy(w + shift, y, n_series * sizeof(float));
        if (xr) memcpy(w + shift + n_series, xr, n_xreg * sizeof(float));
      }
    }
  }
  if (!noise)
    for (size_t p = 0; p < npaths; p++)
      memcpy(paths + p * h * n_series, mean, h * n_series * sizeof(float));
  free(win);
  free(pick);
  return TA_OK;
}

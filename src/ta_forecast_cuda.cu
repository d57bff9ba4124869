/* Recursive forecasting on the GPU (ta_cuda_simulate in ta_cuda_net.h): ta_simulate's
 * algorithm (ta_forecast.c) with every window on the device. Each step forwards the
 * windows in chunks; after each chunk one kernel writes the chunk's values (the
 * forecast plus its path's resampled residual, the same float addition as the CPU's)
 * into the paths and builds the chunk's next windows in a second buffer (shifted up one
 * row, the value and the next regressors appended); the two buffers swap after the
 * step. The residual picks are drawn on the host by ta_simulate_picks, as on the CPU.
 * Nothing synchronises until the paths come down. */
#include <stdlib.h>
#include <string.h>
#include "ta_cuda_check.h"
#include "ta_cuda_net.h"
#include "ta_cuda_ops.h"

extern "C" {
#include "ta_forecast.h"
}

/* windows forwarded at once: bounds the device workspace (every layer's activations
 * and caches scale with it) while keeping the GPU busy */
#define TA_CUDA_SIM_CHUNK 4096

/* One thread per value of the next windows of rows [r0, r0 + b): row 0 is the mean
 * window, row r > 0 path r - 1 (as ta_forecast.c). out [b, T_out, ns] is the chunk's
 * network output, read at its last step (yoff, ystride). next is written only when
 * `more` (another step follows). */
__global__ void ta_sim_advance_kernel(float *next, const float *win, float *paths, float *mean,
                                      const float *out, size_t r0, size_t b, size_t k, size_t h,
                                      size_t lookback, size_t ns, size_t F, size_t yoff,
                                      size_t ystride, const uint32_t *pick, const float *resid,
                                      const float *xr, int more) {
  size_t wrow = lookback * F, shift = (lookback - 1) * F, total = b * wrow;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)blockDim.x * gridDim.x) {
    size_t c = i / wrow, e = i % wrow, row = r0 + c;
    float *w = next + row * wrow;
    if (e < shift) { /* the window moves up one row */
      if (more) w[e] = win[row * wrow + e + F];
      continue;
    }
    size_t f = e - shift;
    if (f >= ns) { /* the next step's regressors */
      if (more) w[e] = xr[f - ns];
      continue;
    }
    float y = out[c * ystride + yoff + f];
    if (row == 0) {
      mean[k * ns + f] = y;
    } else {
      y = y + resid[(size_t)pick[(row - 1) * h + k] * ns + f];
      paths[((row - 1) * h + k) * ns + f] = y;
    }
    if (more) w[e] = y;
  }
}

extern "C" int ta_cuda_simulate(ta_cuda_net *g, float *paths, float *mean, const float *window,
                                size_t lookback, size_t n_series, const float *xreg_future,
                                size_t n_xreg, size_t h, size_t npaths, const float *resid,
                                size_t n_resid, unsigned long long seed, ta_msg *msg) {
  ta_net *net = g->net;
  int st = ta_simulate_check(net, lookback, n_series, xreg_future, n_xreg, h, npaths, resid,
                             n_resid, msg);
  if (st != TA_OK) return st;
  size_t ns = n_series, F = ns + n_xreg, T_out = ta_net_out_time(net, lookback);
  int noise = n_resid > 0;
  size_t rows = noise ? npaths + 1 : 1, wrow = lookback * F, nph = npaths * h;
  size_t chunk = rows < TA_CUDA_SIM_CHUNK ? rows : TA_CUDA_SIM_CHUNK;
  if ((st = ta_cuda_net_reserve(g, chunk, lookback, msg))) return st;
  g->pass.training = 0;
  g->pass.valid_len = NULL;

  /* device: two window buffers, the picks, residuals, regressors, paths and mean */
  float *win = NULL, *next = NULL, *d_resid = NULL, *d_xr = NULL, *d_paths = NULL, *d_mean = NULL;
  uint32_t *d_pick = NULL, *pick = NULL;
  float *host_win = NULL;
  if (noise && !(pick = (uint32_t *)malloc(nph * sizeof(uint32_t))))
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for %zu residual picks", nph);
  if (!(host_win = (float *)malloc(rows * wrow * sizeof(float)))) {
    free(pick);
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for %zu windows", rows);
  }
  for (size_t r = 0; r < rows; r++) memcpy(host_win + r * wrow, window, wrow * sizeof(float));
  if (noise) ta_simulate_picks(pick, nph, n_resid, seed);
  if ((st = ta_cuda_malloc((void **)&win, rows * wrow * sizeof(float), msg)) ||
      (st = ta_cuda_malloc((void **)&next, rows * wrow * sizeof(float), msg)) ||
      (st = ta_cuda_malloc((void **)&d_mean, h * ns * sizeof(float), msg)) ||
      (st = ta_cuda_to_device(win, host_win, rows * wrow * sizeof(float), msg)) ||
      (noise && ((st = ta_cuda_malloc((void **)&d_pick, nph * sizeof(uint32_t), msg)) ||
                 (st = ta_cuda_malloc((void **)&d_resid, n_resid * ns * sizeof(float), msg)) ||
                 (st = ta_cuda_malloc((void **)&d_paths, nph * ns * sizeof(float), msg)) ||
                 (st = ta_cuda_to_device(d_pick, pick, nph * sizeof(uint32_t), msg)) ||
                 (st = ta_cuda_to_device(d_resid, resid, n_resid * ns * sizeof(float), msg)))) ||
      (n_xreg > 0 &&
       ((st = ta_cuda_malloc((void **)&d_xr, h * n_xreg * sizeof(float), msg)) ||
        (st = ta_cuda_to_device(d_xr, xreg_future, h * n_xreg * sizeof(float), msg)))))
    goto done;

  for (size_t k = 0; k < h && st == TA_OK; k++) {
    /* with a stop poll (ta_net.stop: the caller asks for an interrupt after), each step
     * waits for the one before, so that an interrupt ends the simulation within a step
     * instead of after the whole queue of launched steps */
    if (net->stop && ((st = ta_cuda_sync(msg)) || net->stop())) {
      if (st == TA_OK) st = ta_fail(msg, TA_ERR_INTERRUPT, "interrupted");
      break;
    }
    int more = k + 1 < h;
    const float *xr = more && n_xreg ? d_xr + (k + 1) * n_xreg : NULL;
    for (size_t s = 0; s < rows; s += chunk) {
      size_t b = rows - s < chunk ? rows - s : chunk;
      const float *out;
      if ((st = ta_cuda_net_forward_from(g, win + s * wrow, &out, b, lookback, msg))) break;
      ta_sim_advance_kernel<<<ta_cuda_blocks(b * wrow), TA_CUDA_THREADS>>>(
          next, win, d_paths, d_mean, out, s, b, k, h, lookback, ns, F, (T_out - 1) * ns,
          T_out * ns, d_pick, d_resid, xr, more);
      if ((st = TA_CUDA_LAUNCHED(msg))) break;
    }
    float *t = win; /* every chunk has read win: the next step reads what it built */
    win = next;
    next = t;
  }
  if (st == TA_OK) st = ta_cuda_to_host(mean, d_mean, h * ns * sizeof(float), msg);
  if (st == TA_OK && noise) st = ta_cuda_to_host(paths, d_paths, nph * ns * sizeof(float), msg);
  if (st == TA_OK && !noise)
    for (size_t p = 0; p < npaths; p++) memcpy(paths + p * h * ns, mean, h * ns * sizeof(float));

done:
  ta_cuda_free(win);
  ta_cuda_free(next);
  ta_cuda_free(d_pick);
  ta_cuda_free(d_resid);
  ta_cuda_free(d_xr);
  ta_cuda_free(d_paths);
  ta_cuda_free(d_mean);
  free(pick);
  free(host_win);
  return st;
}

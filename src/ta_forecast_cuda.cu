/* Recursive forecasting on the GPU (ta_cuda_simulate in ta_cuda_net.h): the GPU backend
 * of the one forecast loop, ta_sim_run (ta_forecast.c), with every window on the device.
 * After each chunk's forward pass one kernel writes the chunk's values (ta_sim_value: the
 * forecast plus its path's resampled residual, the same float addition as the CPU's) into
 * the paths and mean, and, when steps are left, another builds the chunk's next windows
 * (ta_sim_next) in a second buffer; the two buffers swap after each pass. The residual
 * picks are drawn on the host by ta_simulate_picks, as on the CPU. Nothing synchronises
 * until the paths come down, but for the interrupt checks when there are any. */
#include <stdlib.h>
#include <string.h>
#include "ta_cuda_check.h"
#include "ta_cuda_net.h"
#include "ta_cuda_ops.h"

/* windows forwarded at once: bounds the device workspace (every layer's activations
 * and caches scale with it) while keeping the GPU busy */
#define TA_CUDA_SIM_CHUNK 4096

/* One thread per value of window rows [r0, r0 + b) after a pass of steps k .. k + take -
 * 1; out [b, T_out, ns] is the chunk's network output. */
__global__ void ta_sim_value_kernel(ta_sim_dims d, float *paths, float *mean, const float *out,
                                    const uint32_t *pick, const float *resid, size_t r0,
                                    size_t b, size_t k, size_t take) {
  size_t nv = take * d.ns, total = b * nv;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)blockDim.x * gridDim.x) {
    size_t c = i / nv;
    ta_sim_value(&d, paths, mean, out + c * d.T_out * d.ns, pick, resid, r0 + c, k, i % nv);
  }
}

/* One thread per value of the next windows of rows [r0, r0 + b), from win into next. */
__global__ void ta_sim_next_kernel(ta_sim_dims d, float *next, const float *win,
                                   const float *paths, const float *mean, const float *xreg,
                                   size_t r0, size_t b, size_t k, size_t take) {
  size_t wrow = d.lookback * d.F, total = b * wrow;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)blockDim.x * gridDim.x) {
    size_t row = r0 + i / wrow, e = i % wrow;
    next[row * wrow + e] =
        ta_sim_next(&d, win + row * wrow, paths, mean, xreg, row, k, take, e / d.F, e % d.F);
  }
}

/* the device's buffers: two of windows, the picks, residuals, regressors, paths and mean */
typedef struct {
  ta_cuda_net *g;
  const ta_sim_job *job;
  float *win, *next, *resid, *xreg, *paths, *mean;
  uint32_t *pick;
} gpu_sim;

static int gpu_reserve(void *be, size_t chunk, ta_msg *msg) {
  gpu_sim *c = (gpu_sim *)be;
  int st = ta_cuda_net_reserve(c->g, chunk, c->job->s->lookback, msg);
  c->g->pass.training = 0;
  c->g->pass.valid_len = NULL;
  return st;
}

static int gpu_forward(void *be, size_t s, size_t b, const float **out, ta_msg *msg) {
  gpu_sim *c = (gpu_sim *)be;
  return ta_cuda_net_forward_from(c->g, c->win + s * c->job->wrow, out, b, c->job->s->lookback,
                                  msg);
}

static int gpu_advance(void *be, const float *out, size_t s, size_t b, size_t k, size_t take,
                       ta_msg *msg) {
  gpu_sim *c = (gpu_sim *)be;
  const ta_sim_job *job = c->job;
  ta_sim_value_kernel<<<ta_cuda_blocks(b * take * job->d.ns), TA_CUDA_THREADS>>>(
      job->d, c->paths, c->mean, out, c->pick, c->resid, s, b, k, take);
  int st = TA_CUDA_LAUNCHED(msg);
  if (st || k + take >= job->d.h) return st;
  ta_sim_next_kernel<<<ta_cuda_blocks(b * job->wrow), TA_CUDA_THREADS>>>(
      job->d, c->next, c->win, c->paths, c->mean, c->xreg, s, b, k, take);
  return TA_CUDA_LAUNCHED(msg);
}

/* every chunk has read win: the next pass reads what they built */
static int gpu_pass_end(void *be, ta_msg *msg) {
  (void)msg;
  gpu_sim *c = (gpu_sim *)be;
  float *t = c->win;
  c->win = c->next;
  c->next = t;
  return TA_OK;
}

/* the interrupt checks wait for the passes queued, so that an interrupt ends the
 * simulation within a chunk instead of after the whole queue */
static int gpu_sync(void *be, ta_msg *msg) {
  (void)be;
  return ta_cuda_sync(msg);
}

static int gpu_finish(void *be, ta_msg *msg) {
  gpu_sim *c = (gpu_sim *)be;
  const ta_sim *s = c->job->s;
  size_t nv = s->h * s->n_series;
  int st = ta_cuda_to_host(s->mean, c->mean, nv * sizeof(float), msg);
  if (st == TA_OK && c->job->noise)
    st = ta_cuda_to_host(s->paths, c->paths, s->npaths * nv * sizeof(float), msg);
  return st;
}

static const ta_sim_ops gpu_sim_ops = {gpu_reserve,  gpu_forward, gpu_advance,
                                       gpu_pass_end, gpu_sync,    gpu_finish};

extern "C" int ta_cuda_simulate(ta_cuda_net *g, const ta_sim *s, int (*interrupted)(void *ctx),
                                void *ctx, ta_msg *msg) {
  ta_sim_job job;
  int st = ta_sim_begin(&job, g->net, s, TA_CUDA_SIM_CHUNK, interrupted, ctx, msg);
  if (st) return st;
  size_t ns = s->n_series, nwin = job.rows * job.wrow, nph = s->npaths * s->h;
  gpu_sim c = {g, &job, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  void *be = &c;
  float *host_win = (float *)malloc(nwin * sizeof(float));
  if (!host_win) {
    st = ta_fail(msg, TA_ERR_NOMEM, "out of memory for %zu windows", job.rows);
    goto done;
  }
  ta_sim_windows(&job, host_win);
  if ((st = ta_cuda_malloc((void **)&c.win, nwin * sizeof(float), msg)) ||
      (st = ta_cuda_malloc((void **)&c.next, nwin * sizeof(float), msg)) ||
      (st = ta_cuda_malloc((void **)&c.mean, s->h * ns * sizeof(float), msg)) ||
      (st = ta_cuda_to_device(c.win, host_win, nwin * sizeof(float), msg)) ||
      (job.noise &&
       ((st = ta_cuda_malloc((void **)&c.pick, nph * sizeof(uint32_t), msg)) ||
        (st = ta_cuda_malloc((void **)&c.resid, s->n_resid * ns * sizeof(float), msg)) ||
        (st = ta_cuda_malloc((void **)&c.paths, nph * ns * sizeof(float), msg)) ||
        (st = ta_cuda_to_device(c.pick, job.pick, nph * sizeof(uint32_t), msg)) ||
        (st = ta_cuda_to_device(c.resid, s->resid, s->n_resid * ns * sizeof(float), msg)))) ||
      (s->n_xreg > 0 &&
       ((st = ta_cuda_malloc((void **)&c.xreg, s->h * s->n_xreg * sizeof(float), msg)) ||
        (st = ta_cuda_to_device(c.xreg, s->xreg_future, s->h * s->n_xreg * sizeof(float),
                                msg)))))
    goto done;
  st = ta_sim_run(&gpu_sim_ops, &be, 1, &job, msg);

done:
  ta_cuda_free(c.win);
  ta_cuda_free(c.next);
  ta_cuda_free(c.pick);
  ta_cuda_free(c.resid);
  ta_cuda_free(c.xreg);
  ta_cuda_free(c.paths);
  ta_cuda_free(c.mean);
  free(host_win);
  ta_sim_end(&job);
  return st;
}

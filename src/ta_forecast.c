#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "ta_forecast.h"
#include "ta_gemm.h"
#include "ta_rng.h"
#include "ta_threads.h"

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

/* What every block of windows shares (read-only while the blocks run). */
typedef struct {
  float *paths, *mean, *win;
  const uint32_t *pick;
  const float *xreg_future, *resid;
  size_t lookback, n_series, n_xreg, F, h, wrow, yoff, ystride, chunk;
  /* the caller's interrupt check (NULL: none), asked by the calling thread only; once it
   * answers nonzero, *stop tells every block to end at its next chunk */
  int (*interrupted)(void *ctx);
  void *ctx;
  volatile int *stop;
} sim_job;

/* nonzero when the blocks must stop: an interrupt seen now (asked only when `ask`, on
 * the calling thread) or earlier */
static int sim_stopped(const sim_job *job, int ask) {
  if (*job->stop) return 1;
  if (ask && job->interrupted && job->interrupted(job->ctx)) {
    *job->stop = 1;
    return 1;
  }
  return 0;
}

/* All h steps of windows [r0, r1) with net (its workspace reserved for job->chunk
 * windows). Row 0 is the mean window, row r > 0 is path r - 1. `ask`: this is the
 * calling thread, which checks for an interrupt between chunks. */
static void simulate_rows(ta_net *net, const sim_job *job, size_t r0, size_t r1, int ask) {
  size_t ns = job->n_series, F = job->F, h = job->h, wrow = job->wrow;
  size_t shift = (job->lookback - 1) * F;
  for (size_t k = 0; k < h; k++) {
    int more = k + 1 < h;
    const float *xr = more && job->n_xreg ? job->xreg_future + (k + 1) * job->n_xreg : NULL;
    for (size_t s = r0; s < r1; s += job->chunk) {
      if (sim_stopped(job, ask)) return;
      size_t b = r1 - s < job->chunk ? r1 - s : job->chunk;
      float *w0 = job->win + s * wrow;
      const float *out = ta_net_predict(net, w0, NULL, b, job->lookback);
      for (size_t i = 0; i < b; i++) {
        const float *yhat = out + i * job->ystride + job->yoff;
        size_t row = s + i;
        float *y;
        if (row == 0) {
          y = job->mean + k * ns;
          memcpy(y, yhat, ns * sizeof(float));
        } else {
          y = job->paths + ((row - 1) * h + k) * ns;
          const float *e = job->resid + (size_t)job->pick[(row - 1) * h + k] * ns;
          for (size_t j = 0; j < ns; j++) y[j] = yhat[j] + e[j];
        }
        if (!more) continue;
        float *w = w0 + i * wrow;
        if (shift) memmove(w, w + F, shift * sizeof(float));
        memcpy(w + shift, y, ns * sizeof(float));
        if (xr) memcpy(w + shift + ns, xr, job->n_xreg * sizeof(float));
      }
    }
  }
}

int ta_simulate_check(const ta_net *net, size_t lookback, size_t n_series,
                      const float *xreg_future, size_t n_xreg, size_t h, size_t npaths,
                      const float *resid, size_t n_resid, ta_msg *msg) {
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
  if (ta_net_out_time(net, lookback) == 0)
    return ta_fail(msg, TA_ERR_ARG, "the network does not accept windows of %zu steps", lookback);
  /* every count below must fit a size_t: rows of windows, their floats, the picks and
   * the paths' values */
  int ok = npaths + 1 > npaths;
  size_t wall = mul_ok(npaths + 1, mul_ok(lookback, F, &ok), &ok);
  size_t nph = mul_ok(npaths, h, &ok);
  mul_ok(nph, n_series, &ok);
  mul_ok(wall + 1, sizeof(float), &ok);
  mul_ok(nph, sizeof(uint32_t), &ok);
  if (!ok) return ta_fail(msg, TA_ERR_NOMEM, "too many paths or steps to simulate");
  return TA_OK;
}

void ta_simulate_picks(uint32_t *pick, size_t n, size_t n_resid, uint64_t seed) {
  ta_rng rng;
  ta_rng_seed(&rng, seed);
  for (size_t i = 0; i < n; i++) pick[i] = ta_rng_below(&rng, (uint32_t)n_resid);
}

int ta_simulate(ta_net **nets, int n_nets, float *paths, float *mean, const float *window,
                size_t lookback, size_t n_series, const float *xreg_future, size_t n_xreg,
                size_t h, size_t npaths, const float *resid, size_t n_resid, uint64_t seed,
                ta_msg *msg) {
  return ta_simulate_ex(nets, n_nets, paths, mean, window, lookback, n_series, xreg_future,
                        n_xreg, h, npaths, resid, n_resid, seed, NULL, NULL, msg);
}

int ta_simulate_ex(ta_net **nets, int n_nets, float *paths, float *mean, const float *window,
                   size_t lookback, size_t n_series, const float *xreg_future, size_t n_xreg,
                   size_t h, size_t npaths, const float *resid, size_t n_resid, uint64_t seed,
                   int (*interrupted)(void *ctx), void *ctx, ta_msg *msg) {
  if (n_nets < 1 || !nets || !nets[0])
    return ta_fail(msg, TA_ERR_ARG, "no network to simulate with");
  ta_net *net = nets[0];
  int st = ta_simulate_check(net, lookback, n_series, xreg_future, n_xreg, h, npaths, resid,
                             n_resid, msg);
  if (st != TA_OK) return st;
  size_t F = n_series + n_xreg;
  size_t T_out = ta_net_out_time(net, lookback);

  /* row 0 is the mean window; rows 1..npaths the paths' (only the mean without noise,
   * since every path would follow it exactly) */
  int noise = n_resid > 0;
  size_t rows = noise ? npaths + 1 : 1;
  size_t wrow = lookback * F;  /* floats per window (ta_simulate_check: no overflow) */
  size_t wall = rows * wrow;   /* floats of all windows */
  size_t nph = npaths * h;     /* residual picks */
  size_t chunk = rows < TA_SIM_CHUNK ? rows : TA_SIM_CHUNK;
  /* blocks of windows run on the threads, each thread with its own network (the
   * workspace is per network) and its own packing buffers (ta_gemm's are per thread);
   * a window's values do not depend on the block or chunk it is in, so the result is
   * the same for any number of threads */
  size_t n_blocks = (rows + TA_SIM_MIN_ROWS - 1) / TA_SIM_MIN_ROWS;
  int nt = ta_threads();
  if (nt > n_nets) nt = n_nets;
  if ((size_t)nt > n_blocks) nt = (int)n_blocks;
  if (nt < 1) nt = 1;
  for (int t = 0; t < nt; t++)
    if ((st = ta_net_reserve(nets[t], chunk, lookback, msg)) != TA_OK) return st;

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
  if (noise) ta_simulate_picks(pick, nph, n_resid, seed);
  volatile int stop = 0;
  sim_job job = {paths, mean, win, pick, xreg_future, resid, lookback, n_series, n_xreg, F, h,
                 wrow, (T_out - 1) * n_series, T_out * n_series, chunk, interrupted, ctx, &stop};
  if (nt == 1) {
    simulate_rows(net, &job, 0, rows, 1);
  } else {
#ifdef _OPENMP
    /* blocks of at most a chunk of windows (at least TA_SIM_MIN_ROWS), taken in turn by
     * the threads: the calling thread, the only one that may ask for an interrupt, then
     * works until no block is left, so that no other thread runs on unasked for more
     * than one block (with one block per thread, a thread slowed by a busy machine ran
     * on for seconds after the calling thread had finished its own) */
    size_t per = (rows + (size_t)nt - 1) / (size_t)nt;
    size_t blk = per < chunk ? per : chunk;
    if (blk < TA_SIM_MIN_ROWS) blk = TA_SIM_MIN_ROWS;
    long n_blk = (long)((rows + blk - 1) / blk);
#pragma omp parallel num_threads(nt)
    {
      int tid = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
      for (long i = 0; i < n_blk; i++) {
        size_t r0 = (size_t)i * blk, r1 = r0 + blk < rows ? r0 + blk : rows;
        simulate_rows(nets[tid], &job, r0, r1, tid == 0);
      }
      ta_gemm_release(); /* this thread's packing buffers */
    }
#else
    simulate_rows(net, &job, 0, rows, 1);
#endif
  }
  /* a forward pass of any thread may have been cut short by its network's stop poll (an
   * interrupt pending, not yet taken): asked once more here, so that such paths are never
   * returned */
  if (!stop && net->stop && interrupted && interrupted(ctx)) stop = 1;
  if (stop) {
    free(win);
    free(pick);
    return ta_fail(msg, TA_ERR_INTERRUPT, "interrupted");
  }
  if (!noise)
    for (size_t p = 0; p < npaths; p++)
      memcpy(paths + p * h * n_series, mean, h * n_series * sizeof(float));
  free(win);
  free(pick);
  return TA_OK;
}

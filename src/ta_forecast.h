/* Recursive forecasting: sample paths of a network fed its own forecasts, with resampled
 * residuals as the noise (the bootstrap intervals of nnetar). One loop (ta_sim_run) runs
 * it on every backend: the CPU's (ta_simulate, here) and the GPU's (ta_cuda_simulate,
 * ta_forecast_cuda.cu); the per-element formulas are ta_forecast_math.h's. */
#ifndef TA_FORECAST_H
#define TA_FORECAST_H

#include <stddef.h>
#include <stdint.h>
#include "ta_net.h"
#include "ta_forecast_math.h"

/* fewest windows worth a thread of their own: below, the thread's start-up and its
 * packing buffers cost more than its share of the work */
#define TA_SIM_MIN_ROWS 64

/* A forecast to simulate: npaths sample paths of h steps and the noise-free mean path.
 *
 * The network maps x [B, lookback, F], F = n_series + n_xreg, to an output [T_out,
 * n_series] (out_dim == n_series) whose last `per` steps hold the next per values of the
 * n_series series: per = 1 for a one-step network (read at its last output step), per =
 * T_out for one that forecasts several steps at once (seq2seq). Row s of a window holds
 * (y_s [n_series], xreg_{s+1} [n_xreg]): each row carries the regressors of the step
 * after it.
 *
 * window      [lookback, F]  the last observed window (its last row holds xreg_future[0])
 * xreg_future [h, n_xreg]    regressors of the forecast steps (NULL when n_xreg == 0)
 * resid       [n_resid, n_series]  residual rows, resampled whole (keeps cross-series
 *                            correlation); n_resid == 0: no noise, paths equal the mean
 * paths       [npaths, h, n_series]  out (may be NULL without noise: the mean only)
 * mean        [h, n_series]  out: the path advanced without noise
 *
 * Each pass forwards every window (in chunks, one workspace reserved up front) and gives
 * the next take = min(per, steps left) steps: yhat plus resid[r] on a path (r uniform
 * over rows, from a ta_rng seeded by seed, drawn path by path, step by step: path p is
 * the same whatever npaths and the chunking); then each window moves up take rows and
 * takes the new rows (y, xreg_future of the step after), the last step's regressors
 * repeated past the end (ta_sim_next). */
typedef struct {
  const float *window, *xreg_future, *resid;
  size_t lookback, n_series, n_xreg, h, npaths, n_resid, per;
  uint64_t seed;
  float *paths, *mean;
} ta_sim;

/* Simulates s on the CPU. nets [n_nets]: copies of one network (same layers and
 * parameters); with several, and ta_threads() > 1, blocks of paths run in parallel, one
 * network per thread. The result does not depend on how many are given. interrupted(ctx)
 * (may be NULL) is called between chunks of windows, from the calling thread only
 * (thread 0 of the blocks run in parallel), so a caller may ask its runtime there; a
 * nonzero answer stops every block at its next chunk, frees what was allocated, and
 * returns TA_ERR_INTERRUPT (paths and mean then incomplete). Allocates its buffers once;
 * nothing is allocated in the step loop. */
int ta_simulate(ta_net **nets, int n_nets, const ta_sim *s, int (*interrupted)(void *ctx),
                void *ctx, ta_msg *msg);

/* ta_simulate's argument checks (shared with the GPU's): the network's input and output
 * against the window and per, and sizes that fit a size_t */
int ta_simulate_check(const ta_net *net, const ta_sim *s, ta_msg *msg);
/* the residual row of every path and step, pick [n] (n = npaths * h, path-major),
 * uniform over n_resid rows from a generator seeded by seed */
void ta_simulate_picks(uint32_t *pick, size_t n, size_t n_resid, uint64_t seed);

/* Sample paths around a mean path whose residual rows were drawn elsewhere (seq2seq's, by
 * R): paths [npaths, h, ns] = mean [h, ns] + row pick[p * h + k] of resid [*, ns] at step
 * k, added in double */
void ta_sim_add_resid(double *paths, const float *mean, const uint32_t *pick,
                      const double *resid, size_t npaths, size_t h, size_t ns);

/* ---- the loop, written once for every backend ------------------------------------- */

/* What every backend shares of a simulation: its sizes, the residual picks (drawn on
 * the host) and the interrupt check. Window row 0 is the mean window, row r > 0 path r -
 * 1's (only the mean without noise, since every path would follow it exactly). */
typedef struct {
  const ta_sim *s;
  ta_sim_dims d;
  size_t rows, wrow, chunk; /* windows, floats per window, windows per forward */
  int noise;
  uint32_t *pick; /* [npaths, h], NULL without noise */
  int (*interrupted)(void *ctx);
  void *ctx;
  int polled;         /* the network has a stop poll (ta_net.stop): asked once more at the end */
  volatile int stop;  /* an interrupt was seen: every block ends at its next chunk */
} ta_sim_job;

/* A backend's work on its own buffers. With several backends (the CPU's threads, each
 * with its own network) the functions must not fail; an interrupt is the loop's. */
typedef struct {
  /* a workspace for `chunk` windows */
  int (*reserve)(void *be, size_t chunk, ta_msg *msg);
  /* evaluation-mode forward of window rows [s, s + b): *out [b, T_out, ns] */
  int (*forward)(void *be, size_t s, size_t b, const float **out, ta_msg *msg);
  /* after the pass of steps k .. k + take - 1: the rows' values (ta_sim_value) into the
   * paths and mean, then, when steps are left, their next windows (ta_sim_next) */
  int (*advance)(void *be, const float *out, size_t s, size_t b, size_t k, size_t take,
                 ta_msg *msg);
  /* after a pass, once every chunk of the rows has been forwarded and advanced (may be
   * NULL) */
  int (*pass_end)(void *be, ta_msg *msg);
  /* before an interrupt check (may be NULL): the work queued so far done */
  int (*sync)(void *be, ta_msg *msg);
  /* after the last pass (may be NULL): the paths and mean into the ta_sim's */
  int (*finish)(void *be, ta_msg *msg);
} ta_sim_ops;

/* checks s against net, sizes the job (chunks of at most chunk_max windows) and draws
 * the picks; ta_sim_end frees them */
int ta_sim_begin(ta_sim_job *job, const ta_net *net, const ta_sim *s, size_t chunk_max,
                 int (*interrupted)(void *ctx), void *ctx, ta_msg *msg);
void ta_sim_end(ta_sim_job *job);
/* the first windows, win [rows, lookback, F]: every row the observed window */
void ta_sim_windows(const ta_sim_job *job, float *win);
/* The loop: passes over the windows in chunks, the interrupt check before each chunk,
 * the paths' copies of the mean without noise. bes [n_be]: one backend, or several run
 * on threads over blocks of rows (at most a chunk each). */
int ta_sim_run(const ta_sim_ops *ops, void *const *bes, int n_be, ta_sim_job *job,
               ta_msg *msg);

#endif

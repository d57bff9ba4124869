/* Recursive forecasting: sample paths of a one-step network fed its own forecasts,
 * with resampled residuals as the noise (the bootstrap intervals of nnetar). */
#ifndef TA_FORECAST_H
#define TA_FORECAST_H

#include <stddef.h>
#include <stdint.h>
#include "ta_net.h"

/* fewest windows worth a thread of their own: below, the thread's start-up and its
 * packing buffers cost more than its share of the work */
#define TA_SIM_MIN_ROWS 64

/* Simulates npaths sample paths of h steps and the noise-free mean path.
 *
 * The network maps x [B, lookback, F], F = n_series + n_xreg, to an output whose last
 * time step holds the next values of the n_series series (out_dim == n_series). Row s
 * of a window holds (y_s [n_series], xreg_{s+1} [n_xreg]): each row carries the
 * regressors of the step after it.
 *
 * window      [lookback, F]  the last observed window (its last row holds xreg_future[0])
 * xreg_future [h, n_xreg]    regressors of the forecast steps (NULL when n_xreg == 0)
 * resid       [n_resid, n_series]  residual rows, resampled whole (keeps cross-series
 *                            correlation); n_resid == 0: no noise, paths equal the mean
 * paths       [npaths, h, n_series]  out
 * mean        [h, n_series]  out: the path advanced without noise
 *
 * Step k forwards every window (in chunks, one workspace reserved up front), takes
 * yhat from the last output step, adds resid[r] (r uniform over rows, from a ta_rng
 * seeded by seed, drawn path by path, step by step: path p is the same whatever npaths
 * and the chunking),
 * then shifts each window up one row and appends (y, xreg_future[k+1]). Allocates its
 * buffers once; nothing is allocated in the step loop.
 *
 * nets [n_nets]: copies of one network (same layers and parameters); with several, and
 * ta_threads() > 1, blocks of paths run in parallel, one network per thread. The
 * result does not depend on how many are given. */
int ta_simulate(ta_net **nets, int n_nets, float *paths, float *mean, const float *window,
                size_t lookback, size_t n_series, const float *xreg_future, size_t n_xreg,
                size_t h, size_t npaths, const float *resid, size_t n_resid, uint64_t seed,
                ta_msg *msg);

/* ta_simulate with an interrupt check: interrupted(ctx) (may be NULL) is called between
 * chunks of windows, from the calling thread only (thread 0 of the blocks run in
 * parallel), so a caller may ask its runtime there; a nonzero answer stops every block
 * at its next chunk, frees what was allocated, and returns TA_ERR_INTERRUPT (paths and
 * mean then incomplete). */
int ta_simulate_ex(ta_net **nets, int n_nets, float *paths, float *mean, const float *window,
                   size_t lookback, size_t n_series, const float *xreg_future, size_t n_xreg,
                   size_t h, size_t npaths, const float *resid, size_t n_resid, uint64_t seed,
                   int (*interrupted)(void *ctx), void *ctx, ta_msg *msg);

/* ta_simulate's argument checks (shared with the GPU's ta_cuda_simulate): the
 * network's input and output against the window, and sizes that fit a size_t */
int ta_simulate_check(const ta_net *net, size_t lookback, size_t n_series,
                      const float *xreg_future, size_t n_xreg, size_t h, size_t npaths,
                      const float *resid, size_t n_resid, ta_msg *msg);
/* the residual row of every path and step, pick [n] (n = npaths * h, path-major),
 * uniform over n_resid rows from a generator seeded by seed */
void ta_simulate_picks(uint32_t *pick, size_t n, size_t n_resid, uint64_t seed);

#endif

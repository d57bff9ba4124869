/* Training windows cut from series on the fly, batch by batch, so that a global model
 * over many series holds the series in memory and never all of its windows (global
 * models that build every window up front, as darts' and neuralforecast's, run out of
 * memory).
 *
 * The series are concatenated in z [total]. Window i ends at position origin[i] of its
 * series, which occupies positions first[i] .. last[i] of z. At an origin o the series'
 * own baseline forecast is a line plus a damped trend (what Theta, Holt's linear trend,
 * the damped trend and their means give): at step k = 0, 1, ... after the origin
 *   b(o, k) = start[o] + slope[o] k + damp[o] (phi[o]^2 + ... + phi[o]^(k+1))
 * (the sum empty for k = 0), and inv_scale[o] puts the series on a common scale:
 *   x[i, t, 0] = (z[max(first[i], o - L + 1 + t)] - level[o]) * inv_scale[o]   t < L
 *   y[i, 0, k] = (z[o + 1 + k] - b(o, k)) * inv_scale[o]                        k < H
 * Inputs before a series' first observation repeat it (a series shorter than the
 * lookback still has windows); targets must lie inside the series (o + H <= last[i]).
 * With static covariates (n_stat > 0: stat [n_series, n_stat], column-major as R holds
 * a matrix, and series[i] the 0-based series of window i), every step of a window also
 * carries its series' covariates, after the value:
 *   x[i, t, 1 + j] = stat[series[i] + j * n_series]                            j < n_stat
 * (a one-hot of the series is a learned series embedding: the first dense layer's
 * weights on it are each series' vector).
 * Positions are doubles holding integers, as R passes them: no int offsets. */
#ifndef TA_WINDOWS_H
#define TA_WINDOWS_H

#include <stddef.h>

typedef struct {
  const double *z, *level, *start, *slope, *damp, *phi, *inv_scale; /* [total] */
  const double *origin, *first, *last;                 /* [n] positions in z */
  size_t total, n, L, H;
  const double *stat, *series; /* [n_series, n_stat] and [n]; NULL when n_stat is 0 */
  size_t n_stat, n_series;
} ta_windows;

/* rows idx[0..b) of the windows: x [b, L, 1 + n_stat] and y [b, 1, H] (y may be NULL) */
void ta_windows_gather(const ta_windows *w, const size_t *idx, size_t b, float *x, float *y);

/* 0 when every window lies inside z with its targets inside its series (and, with
 * static covariates, names a series that has them), else the 1-based number of the
 * first window that does not */
size_t ta_windows_check(const ta_windows *w);

#endif

/* Per-element formulas of the recursive forecast (ta_forecast.h), written once for the
 * CPU (ta_forecast.c) and the GPU (ta_forecast_cuda.cu): TA_HD, as ta_math.h. A window
 * row r is the mean window (r == 0) or path r - 1's; its forward pass gives out [T_out,
 * ns] and stands for steps k .. k + take - 1 of the h forecast steps. */
#ifndef TA_FORECAST_MATH_H
#define TA_FORECAST_MATH_H

#include <stddef.h>
#include <stdint.h>
#include "ta_common.h"

typedef struct {
  size_t lookback, ns, F, h; /* window steps, series, features (series + regressors), steps */
  size_t T_out, per;         /* output steps of a pass; steps one pass forecasts, its last
                                per output steps (1: the last; T_out: all, as seq2seq) */
} ta_sim_dims;

/* where window row's values of forecast step `step` are: the mean, or its path's row */
TA_HD size_t ta_sim_value_at(const ta_sim_dims *d, size_t row, size_t step) {
  return (row == 0 ? step : (row - 1) * d->h + step) * d->ns;
}

/* Value v (< take * ns) of window row's pass: step k + v / ns, series v % ns, the output
 * of its pass at output step T_out - per + v / ns, plus on a path the residual row that
 * path drew for that step (pick [npaths, h] rows of resid [*, ns]), into mean or paths */
TA_HD void ta_sim_value(const ta_sim_dims *d, float *paths, float *mean, const float *out,
                        const uint32_t *pick, const float *resid, size_t row, size_t k,
                        size_t v) {
  size_t i = v / d->ns, j = v % d->ns;
  float y = out[(d->T_out - d->per + i) * d->ns + j];
  size_t at = ta_sim_value_at(d, row, k + i);
  if (row == 0)
    mean[at + j] = y;
  else
    paths[at + j] = y + resid[(size_t)pick[at / d->ns] * d->ns + j];
}

/* Element (t, f) of window row's next window, once its values of steps k .. k + take - 1
 * are written: row t + take of the window followed by take new rows, new row i being
 * the value of step k + i, then the regressors of step k + i + 1 (xreg [h, F - ns]; the
 * last step's past the end). win is the row's window: the CPU writes the next one over
 * it in increasing (t, f), which reads only elements not yet written. */
TA_HD float ta_sim_next(const ta_sim_dims *d, const float *win, const float *paths,
                        const float *mean, const float *xreg, size_t row, size_t k, size_t take,
                        size_t t, size_t f) {
  size_t src = t + take;
  if (src < d->lookback) return win[src * d->F + f];
  size_t step = k + (src - d->lookback);
  if (f < d->ns) return (row == 0 ? mean : paths)[ta_sim_value_at(d, row, step) + f];
  size_t x = step + 1 < d->h ? step + 1 : d->h - 1;
  return xreg[x * (d->F - d->ns) + (f - d->ns)];
}

#endif

/* The exponential-smoothing recursion of the default forecaster's backbone (R/ensemble.R:
 * damped_backbone()), in C because its optimizer evaluates it some hundred times per
 * series: in R the loop was most of a fit's time on a collection of many short series. */
#ifndef TA_SMOOTH_H
#define TA_SMOOTH_H

#include <stddef.h>

/* Damped-trend exponential smoothing (Gardner and McKenzie 1985) of a [n], n >= 1:
 *   f_t = l_{t-1} + phi b_{t-1}                      (the one-step forecast)
 *   l_t = alpha a_t + (1 - alpha) f_t
 *   b_t = beta (l_t - l_{t-1}) + (1 - beta) phi b_{t-1}
 * from l_0 = a_1 and b_0 = (a_3 - a_1) / 2 (0 for n < 3). The states after each
 * observation go into level [n] and trend [n] unless they are NULL; returns the sum of
 * the squared one-step errors (a_t - f_t)^2. The operations are R's, in R's order, so
 * the results are those of the R loop it replaced. */
double ta_damped_states(const double *a, size_t n, double alpha, double beta, double phi,
                        double *level, double *trend);

#endif

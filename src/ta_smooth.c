#include "ta_smooth.h"

double ta_damped_states(const double *a, size_t n, double alpha, double beta, double phi,
                        double *level, double *trend) {
  double lp = a[0], bp = n >= 3 ? (a[2] - a[0]) / 2.0 : 0.0, sse = 0.0;
  for (size_t t = 0; t < n; t++) {
    double f = lp + phi * bp;
    double e = a[t] - f;
    sse = sse + e * e;
    double l = alpha * a[t] + (1.0 - alpha) * f;
    bp = beta * (l - lp) + (1.0 - beta) * phi * bp;
    lp = l;
    if (level) level[t] = l;
    if (trend) trend[t] = bp;
  }
  return sse;
}

#include "ta_loss.h"

double ta_loss(int kind, float *grad, const float *yhat, const float *y, size_t n) {
  double sum = 0.0;
  float scale = 1.0f / (float)n;
  for (size_t i = 0; i < n; i++) {
    float d = yhat[i] - y[i];
    if (kind == TA_LOSS_MAE) {
      sum += d < 0.0f ? -(double)d : (double)d;
      /* PyTorch's L1 gradient: sign(d), 0 at d == 0 */
      if (grad) grad[i] = d > 0.0f ? scale : (d < 0.0f ? -scale : 0.0f);
    } else {
      sum += (double)d * (double)d;
      if (grad) grad[i] = 2.0f * d * scale;
    }
  }
  return sum / (double)n;
}

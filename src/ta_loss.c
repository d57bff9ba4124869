#include "ta_loss.h"
#include "ta_math_train.h"

double ta_loss(int kind, float *grad, const float *yhat, const float *y, size_t n) {
  double sum = 0.0;
  float scale = 1.0f / (float)n;
  int mae = kind == TA_LOSS_MAE;
  for (size_t i = 0; i < n; i++) {
    float d = yhat[i] - y[i];
    sum += ta_loss_term(mae, d);
    if (grad) grad[i] = ta_loss_grad(mae, d, scale);
  }
  return sum / (double)n;
}

size_t ta_loss_seq_count(const int *valid_len, size_t B, size_t T, size_t F) {
  size_t n = 0;
  for (size_t b = 0; b < B; b++) n += (valid_len[b] < (int)T ? (size_t)valid_len[b] : T) * F;
  return n == 0 ? 1 : n;
}

double ta_loss_seq(int kind, float *grad, const float *yhat, const float *y,
                   const int *valid_len, size_t B, size_t T, size_t F) {
  if (!valid_len) return ta_loss(kind, grad, yhat, y, B * T * F);
  size_t n = ta_loss_seq_count(valid_len, B, T, F);
  double sum = 0.0;
  float scale = 1.0f / (float)n;
  int mae = kind == TA_LOSS_MAE;
  for (size_t b = 0; b < B; b++) {
    size_t len = valid_len[b] < (int)T ? (size_t)valid_len[b] : T;
    for (size_t t = 0; t < T; t++) {
      size_t off = (b * T + t) * F;
      for (size_t f = 0; f < F; f++) {
        float d = yhat[off + f] - y[off + f];
        float g = 0.0f;
        if (t < len) {
          sum += ta_loss_term(mae, d);
          g = ta_loss_grad(mae, d, scale);
        }
        if (grad) grad[off + f] = g;
      }
    }
  }
  return sum / (double)n;
}

/* Losses over n predicted values, averaged (as PyTorch's reduction = "mean").
 * Return the loss (accumulated in double) and write dL/dyhat into grad when not NULL. */
#ifndef TA_LOSS_H
#define TA_LOSS_H

#include <stddef.h>

enum { TA_LOSS_MSE = 1, TA_LOSS_MAE = 2 };

double ta_loss(int kind, float *grad, const float *yhat, const float *y, size_t n);

/* The same over [B, T, F] counting only the first valid_len[b] steps of each sequence
 * (padding gets zero gradient); valid_len NULL means every step. */
double ta_loss_seq(int kind, float *grad, const float *yhat, const float *y,
                   const int *valid_len, size_t B, size_t T, size_t F);

/* the values ta_loss_seq averages over (at least 1) */
size_t ta_loss_seq_count(const int *valid_len, size_t B, size_t T, size_t F);

#endif

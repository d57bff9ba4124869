/* MSE and MAE on the GPU, with a deterministic reduction. The per-value term and
 * gradient are ta_loss_term/ta_loss_grad (ta_math_train.h), as in ta_loss.c. The sum is
 * accumulated in double, like the CPU's, in two passes with a fixed shape: a number of
 * blocks that depends on n only, each summing a fixed grid-stride slice and reducing it
 * by a fixed tree in shared memory, then one block summing the partial sums the same
 * way. No atomics, so the same inputs give the same loss on every run and every GPU. */
#include "ta_cuda_check.h"
#include "ta_cuda_ops.h"
extern "C" {
#include "ta_loss.h"
}

#define LOSS_MAX_BLOCKS 1024

static unsigned int loss_blocks(size_t n) {
  size_t b = (n + TA_CUDA_THREADS - 1) / TA_CUDA_THREADS;
  if (b < 1) b = 1;
  return b > LOSS_MAX_BLOCKS ? LOSS_MAX_BLOCKS : (unsigned int)b;
}

/* s[0] = sum of s[0 .. TA_CUDA_THREADS), always in the same order */
__device__ static void block_sum(double *s) {
  for (unsigned int w = TA_CUDA_THREADS / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
}

/* len (device [B], or NULL: every value counts): value i of [B, T, F] (TF = T * F)
 * counts when its step is below its sequence's length, as ta_loss_seq; the others
 * add nothing and get a zero gradient */
__global__ void ta_loss_partial_kernel(double *partial, float *grad, const float *yhat,
                                       const float *y, size_t n, int mae, float scale,
                                       const int *len, size_t TF, size_t F) {
  __shared__ double s[TA_CUDA_THREADS];
  double sum = 0.0;
  for (size_t i = blockIdx.x * (size_t)TA_CUDA_THREADS + threadIdx.x; i < n;
       i += (size_t)TA_CUDA_THREADS * gridDim.x) {
    float d = yhat[i] - y[i];
    if (len && (long long)((i % TF) / F) >= (long long)len[i / TF]) {
      if (grad) grad[i] = 0.0f;
      continue;
    }
    sum += ta_loss_term(mae, d);
    if (grad) grad[i] = ta_loss_grad(mae, d, scale);
  }
  s[threadIdx.x] = sum;
  __syncthreads();
  block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

/* the total of the per-block sums partial [nb], by one block: in thread 0's hands at the
 * end (s: the block's shared scratch) */
__device__ static double partials_total(double *s, const double *partial, unsigned int nb) {
  double sum = 0.0;
  for (unsigned int i = threadIdx.x; i < nb; i += TA_CUDA_THREADS) sum += partial[i];
  s[threadIdx.x] = sum;
  __syncthreads();
  block_sum(s);
  return s[0];
}

__global__ void ta_loss_final_kernel(double *total, const double *partial, unsigned int nb) {
  __shared__ double s[TA_CUDA_THREADS];
  double t = partials_total(s, partial, nb);
  if (threadIdx.x == 0) total[0] = t;
}

extern "C" size_t ta_cuda_loss_workspace(size_t n) {
  return ((size_t)loss_blocks(n) + 1) * sizeof(double);
}

/* the mean over the n_mean counted values among n (all of them when len is NULL) */
static int loss_run(int kind, double *loss, float *grad, const float *yhat, const float *y,
                    size_t n, const int *len, size_t TF, size_t F, size_t n_mean, void *work,
                    ta_msg *msg) {
  *loss = 0.0;
  if (kind != TA_LOSS_MSE && kind != TA_LOSS_MAE)
    return ta_fail(msg, TA_ERR_ARG, "loss: unknown kind %d", kind);
  if (n == 0 || n_mean == 0) return ta_fail(msg, TA_ERR_ARG, "loss: no values");
  unsigned int nb = loss_blocks(n);
  double *partial = (double *)work, *total = partial + nb, sum = 0.0;
  ta_loss_partial_kernel<<<nb, TA_CUDA_THREADS>>>(partial, grad, yhat, y, n, kind == TA_LOSS_MAE,
                                                  1.0f / (float)n_mean, len, TF, F);
  int st = TA_CUDA_LAUNCHED(msg);
  if (st) return st;
  ta_loss_final_kernel<<<1, TA_CUDA_THREADS>>>(total, partial, nb);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  /* synchronous: also reports a fault of either kernel */
  if ((st = TA_CUDA(cudaMemcpy(&sum, total, sizeof sum, cudaMemcpyDeviceToHost), msg))) return st;
  *loss = sum / (double)n_mean;
  return TA_OK;
}

extern "C" int ta_cuda_loss(int kind, double *loss, float *grad, const float *yhat, const float *y,
                            size_t n, void *work, ta_msg *msg) {
  return loss_run(kind, loss, grad, yhat, y, n, NULL, 1, 1, n, work, msg);
}

extern "C" int ta_cuda_loss_seq(int kind, double *loss, float *grad, const float *yhat,
                                const float *y, const int *len_dev, const int *len_host, size_t B,
                                size_t T, size_t F, void *work, ta_msg *msg) {
  if (!len_dev) return loss_run(kind, loss, grad, yhat, y, B * T * F, NULL, 1, 1, B * T * F, work, msg);
  return loss_run(kind, loss, grad, yhat, y, B * T * F, len_dev, T * F, F,
                  ta_loss_seq_count(len_host, B, T, F), work, msg);
}

/* Gradient clipping (ta_clip_grad_norm's formula) without leaving the device: the sum
 * of squares in the loss's fixed two-pass order, the coefficient computed by the final
 * block, the scaling reading it from device memory. */
__global__ void ta_sumsq_partial_kernel(double *partial, const float *g, size_t n) {
  __shared__ double s[TA_CUDA_THREADS];
  double sum = 0.0;
  for (size_t i = blockIdx.x * (size_t)TA_CUDA_THREADS + threadIdx.x; i < n;
       i += (size_t)TA_CUDA_THREADS * gridDim.x)
    sum += (double)g[i] * (double)g[i];
  s[threadIdx.x] = sum;
  __syncthreads();
  block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

/* coef[0] = max_norm / (norm + 1e-6) when the norm exceeds max_norm, else 1 */
__global__ void ta_clip_coef_kernel(float *coef, const double *partial, unsigned int nb,
                                    double max_norm) {
  __shared__ double s[TA_CUDA_THREADS];
  double t = partials_total(s, partial, nb);
  if (threadIdx.x == 0) {
    double norm = sqrt(t);
    coef[0] = norm > max_norm ? (float)(max_norm / (norm + 1e-6)) : 1.0f;
  }
}

__global__ void ta_clip_scale_kernel(float *g, size_t n, const float *coef) {
  float c = coef[0];
  if (c == 1.0f) return; /* not clipped: the gradients stay as they are (as on the CPU) */
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x)
    g[i] *= c;
}

extern "C" int ta_cuda_clip_grad_norm(float *grads, size_t n, double max_norm, void *work,
                                      ta_msg *msg) {
  if (n == 0 || !(max_norm > 0.0)) return TA_OK;
  unsigned int nb = loss_blocks(n);
  double *partial = (double *)work;
  float *coef = (float *)(partial + nb); /* the slot ta_cuda_loss keeps for its total */
  ta_sumsq_partial_kernel<<<nb, TA_CUDA_THREADS>>>(partial, grads, n);
  int st = TA_CUDA_LAUNCHED(msg);
  if (st) return st;
  ta_clip_coef_kernel<<<1, TA_CUDA_THREADS>>>(coef, partial, nb, max_norm);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  ta_clip_scale_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(grads, n, coef);
  return TA_CUDA_LAUNCHED(msg);
}

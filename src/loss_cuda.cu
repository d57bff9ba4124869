/* MSE and MAE on the GPU, with a deterministic reduction. The per-value term and
 * gradient are ta_loss_term/ta_loss_grad (ta_math_train.h), as in ta_loss.c. The sum is
 * accumulated in double, like the CPU's, in two passes with a fixed shape: a number of
 * blocks that depends on n only, each summing a fixed grid-stride slice and reducing it
 * by a fixed tree in shared memory, then one block summing the partial sums the same
 * way. No atomics, so the same inputs give the same loss on every run and every GPU. */
#include "ta_cuda_check.h"
#include "ta_cuda_ops.h"
#include "ta_loss.h"

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

__global__ void ta_loss_partial_kernel(double *partial, float *grad, const float *yhat,
                                       const float *y, size_t n, int mae, float scale) {
  __shared__ double s[TA_CUDA_THREADS];
  double sum = 0.0;
  for (size_t i = blockIdx.x * (size_t)TA_CUDA_THREADS + threadIdx.x; i < n;
       i += (size_t)TA_CUDA_THREADS * gridDim.x) {
    float d = yhat[i] - y[i];
    sum += ta_loss_term(mae, d);
    if (grad) grad[i] = ta_loss_grad(mae, d, scale);
  }
  s[threadIdx.x] = sum;
  __syncthreads();
  block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

__global__ void ta_loss_final_kernel(double *total, const double *partial, unsigned int nb) {
  __shared__ double s[TA_CUDA_THREADS];
  double sum = 0.0;
  for (unsigned int i = threadIdx.x; i < nb; i += TA_CUDA_THREADS) sum += partial[i];
  s[threadIdx.x] = sum;
  __syncthreads();
  block_sum(s);
  if (threadIdx.x == 0) total[0] = s[0];
}

extern "C" size_t ta_cuda_loss_workspace(size_t n) {
  return ((size_t)loss_blocks(n) + 1) * sizeof(double);
}

extern "C" int ta_cuda_loss(int kind, double *loss, float *grad, const float *yhat, const float *y,
                            size_t n, void *work, ta_msg *msg) {
  *loss = 0.0;
  if (kind != TA_LOSS_MSE && kind != TA_LOSS_MAE)
    return ta_fail(msg, TA_ERR_ARG, "loss: unknown kind %d", kind);
  if (n == 0) return ta_fail(msg, TA_ERR_ARG, "loss: no values");
  unsigned int nb = loss_blocks(n);
  double *partial = (double *)work, *total = partial + nb, sum = 0.0;
  ta_loss_partial_kernel<<<nb, TA_CUDA_THREADS>>>(partial, grad, yhat, y, n, kind == TA_LOSS_MAE,
                                                  1.0f / (float)n);
  int st = TA_CUDA_LAUNCHED(msg);
  if (st) return st;
  ta_loss_final_kernel<<<1, TA_CUDA_THREADS>>>(total, partial, nb);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  /* synchronous: also reports a fault of either kernel */
  if ((st = TA_CUDA(cudaMemcpy(&sum, total, sizeof sum, cudaMemcpyDeviceToHost), msg))) return st;
  *loss = sum / (double)n;
  return TA_OK;
}

/* Inverted dropout on the GPU (ta_cuda_ops.h): each thread draws its element's
 * multiplier from the counter-based ta_dropout_keep (ta_math_train.h), so no generator
 * state lives on the device and a key from the host generator repeats the mask. */
#include "ta_cuda_check.h"
#include "ta_cuda_ops.h"

__global__ void ta_dropout_kernel(float *out, float *mask, const float *in, size_t n, float rate,
                                  unsigned long long key) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x) {
    float m = ta_dropout_keep(key, (unsigned long long)i, rate);
    mask[i] = m;
    out[i] = in[i] * m;
  }
}

__global__ void ta_mul_kernel(float *out, const float *a, const float *b, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x)
    out[i] = a[i] * b[i];
}

extern "C" int ta_cuda_dropout(float *out, float *mask, const float *in, size_t n, float rate,
                               unsigned long long key, ta_msg *msg) {
  if (n == 0) return TA_OK;
  ta_dropout_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(out, mask, in, n, rate, key);
  return TA_CUDA_LAUNCHED(msg);
}

extern "C" int ta_cuda_mul(float *out, const float *a, const float *b, size_t n, ta_msg *msg) {
  if (n == 0) return TA_OK;
  ta_mul_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(out, a, b, n);
  return TA_CUDA_LAUNCHED(msg);
}

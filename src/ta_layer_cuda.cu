/* Helpers of the GPU layers (ta_cuda_layer.h): bias addition, bias gradients through
 * cuBLAS (deterministic), strided row copies and fills. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"

__global__ void ta_add_bias_kernel(float *Z, size_t ld, const float *b1, const float *b2,
                                   size_t rows, size_t n) {
  size_t total = rows * n;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)blockDim.x * gridDim.x) {
    size_t r = i / n, j = i % n;
    /* the CPU adds b_ih + b_hh as one term (LSTM), or b alone */
    Z[r * ld + j] += b2 ? b1[j] + b2[j] : b1[j];
  }
}

__global__ void ta_fill_kernel(float *p, float v, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x)
    p[i] = v;
}

extern "C" int ta_cuda_add_bias(float *Z, size_t ld, const float *b1, const float *b2,
                                size_t rows, size_t n, ta_msg *msg) {
  if (rows == 0 || n == 0) return TA_OK;
  ta_add_bias_kernel<<<ta_cuda_blocks(rows * n), TA_CUDA_THREADS>>>(Z, ld, b1, b2, rows, n);
  return TA_CUDA_LAUNCHED(msg);
}

extern "C" int ta_cuda_bias_grad(float *db, const float *dZ, size_t ld, size_t rows, size_t n,
                                 const ta_cuda_pass *ps, ta_msg *msg) {
  if (rows == 0 || n == 0) return TA_OK;
  if (rows > ps->ones_len)
    return ta_fail(msg, TA_ERR_ARG, "internal: bias gradient over %zu rows, ones has %zu", rows,
                   ps->ones_len);
  /* db[1, n] += ones[1, rows] dZ[rows, n] */
  return ta_cuda_gemm(TA_GEMM_NN, db, n, 0, ps->ones, rows, 0, dZ, ld, 0, 1, n, rows, 1, 1, msg);
}

extern "C" int ta_cuda_copy_rows(float *dst, size_t dld, const float *src, size_t sld,
                                 size_t width, size_t rows, ta_msg *msg) {
  if (rows == 0 || width == 0) return TA_OK;
  return TA_CUDA(cudaMemcpy2DAsync(dst, dld * sizeof(float), src, sld * sizeof(float),
                                   width * sizeof(float), rows, cudaMemcpyDeviceToDevice, 0),
                 msg);
}

extern "C" int ta_cuda_zero(float *p, size_t n, ta_msg *msg) {
  if (n == 0) return TA_OK;
  return TA_CUDA(cudaMemsetAsync(p, 0, n * sizeof(float), 0), msg);
}

extern "C" int ta_cuda_fill(float *p, float v, size_t n, ta_msg *msg) {
  if (n == 0) return TA_OK;
  ta_fill_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(p, v, n);
  return TA_CUDA_LAUNCHED(msg);
}

/* Warp-per-row reductions for the GPU's row kernels (softmax rows in ta_attn_cuda.cu,
 * layer-norm rows in ta_norm_cuda.cu): a row's 32 lanes read it with unit stride (coalesced)
 * and combine their partial sums in a fixed order, so a run repeated gives the same bits.
 * The row formulas stay ta_attn_math.h's and ta_norm_math.h's element functions; only the
 * order of a row's sum differs from the CPU's (by float32 rounding, or not at all for the
 * layer norm's double sums once rounded to float). Device code only. */
#ifndef TA_CUDA_WARP_H
#define TA_CUDA_WARP_H

#include "ta_cuda_check.h"

#define TA_WARP 32

/* rows of a launch of ta_cuda_warp_blocks(n) blocks of TA_CUDA_THREADS threads, one warp
 * each (grid stride): every lane of a warp sees the same rows, so the shuffles below are
 * reached by the whole warp */
#define TA_WARP_ROW_LOOP(r, n)                                                            \
  for (size_t r = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / TA_WARP; r < (n);     \
       r += (size_t)blockDim.x * gridDim.x / TA_WARP)

static inline unsigned int ta_cuda_warp_blocks(size_t rows) {
  return ta_cuda_blocks(rows > ((size_t)-1) / TA_WARP ? ((size_t)-1) / TA_WARP : rows * TA_WARP);
}

__device__ static inline unsigned ta_lane(void) { return threadIdx.x % TA_WARP; }

/* the maximum over the warp, in every lane (exact: no rounding) */
__device__ static inline float ta_warp_max(float v) {
  for (int o = TA_WARP / 2; o > 0; o /= 2) {
    float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

/* the sum over the warp: halves folded onto lane 0 (lane l + o into lane l), then lane 0's
 * total given to every lane, so that all lanes use the same number */
__device__ static inline float ta_warp_sum(float v) {
  for (int o = TA_WARP / 2; o > 0; o /= 2) v += __shfl_down_sync(0xffffffffu, v, o);
  return __shfl_sync(0xffffffffu, v, 0);
}
__device__ static inline double ta_warp_sum_d(double v) {
  for (int o = TA_WARP / 2; o > 0; o /= 2) v += __shfl_down_sync(0xffffffffu, v, o);
  return __shfl_sync(0xffffffffu, v, 0);
}

#endif

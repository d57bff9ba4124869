/* A CPU emulation of the parts of the CUDA runtime that tsattn's *_cuda.cu files use,
 * for testing the GPU code paths on machines without a GPU (TSATTN_CUDA_EMU=1, see
 * tools/cuda-emu/README.md). Not a product: device memory is host memory, kernels run
 * block after block on one CPU thread, each GPU thread a fiber (ucontext) so that
 * __syncthreads() is a real barrier and __shared__ memory (static here, as blocks run
 * one at a time) is shared by the block. nvcc-emu rewrites kernel<<<grid, block>>>(args)
 * as ta_emu_launch(ta_emu_cfg(grid, block), kernel, args). */
#ifndef TA_EMU_CUDA_RUNTIME_H
#define TA_EMU_CUDA_RUNTIME_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __launch_bounds__(...)
#define __restrict__ __restrict

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  dim3(unsigned int a = 1, unsigned int b = 1, unsigned int c = 1) : x(a), y(b), z(c) {}
};

/* the current fiber's indices (set by the scheduler before it resumes a thread) */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
void __syncthreads(void);
#define warpSize 32

/* Warp-level exchange: every thread of the warp posts its value, waits for the warp
 * (a warp barrier: released when each unfinished thread of the warp has reached one),
 * reads its source lane's value, and waits again before the slots are reused. */
unsigned long long ta_emu_warp_exchange(unsigned long long mine, int src_lane, int width);
void ta_emu_warp_barrier(void);
static inline void __syncwarp(unsigned mask = 0xffffffffu) {
  (void)mask;
  ta_emu_warp_barrier();
}
unsigned ta_emu_lane(void);
template <typename T> static inline T ta_emu_shfl(T v, int src_lane, int width) {
  static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffle of a value over 8 bytes");
  unsigned long long b = 0, r;
  memcpy(&b, &v, sizeof v);
  r = ta_emu_warp_exchange(b, src_lane, width);
  T out;
  memcpy(&out, &r, sizeof out);
  return out;
}
template <typename T> static inline T __shfl_sync(unsigned m, T v, int src, int width = 32) {
  (void)m;
  unsigned lane = ta_emu_lane(), base = lane - lane % width;
  return ta_emu_shfl(v, (int)(base + ((unsigned)src % width)), width);
}
template <typename T> static inline T __shfl_down_sync(unsigned m, T v, unsigned d, int width = 32) {
  (void)m;
  unsigned lane = ta_emu_lane();
  return ta_emu_shfl(v, lane % width + d < (unsigned)width ? (int)(lane + d) : (int)lane, width);
}
template <typename T> static inline T __shfl_up_sync(unsigned m, T v, unsigned d, int width = 32) {
  (void)m;
  unsigned lane = ta_emu_lane();
  return ta_emu_shfl(v, lane % width >= d ? (int)(lane - d) : (int)lane, width);
}
template <typename T> static inline T __shfl_xor_sync(unsigned m, T v, int x, int width = 32) {
  (void)m;
  unsigned lane = ta_emu_lane(), src = lane ^ (unsigned)x;
  return ta_emu_shfl(v, src / width == lane / width ? (int)src : (int)lane, width);
}
/* atomics: kernels run one thread at a time here, so a plain read-modify-write */
template <typename T> static inline T atomicAdd(T *a, T v) {
  T old = *a;
  *a = old + v;
  return old;
}
template <typename T> static inline T atomicMax(T *a, T v) {
  T old = *a;
  if (v > old) *a = v;
  return old;
}
/* dynamic shared memory (extern __shared__ T name[]; nvcc-emu rewrites it to point here),
 * sized by the launch's third argument */
extern void *ta_emu_dynamic_shared;
static inline float __ldg(const float *p) { return *p; }

typedef enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidConfiguration = 9
} cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
typedef struct ta_emu_stream *cudaStream_t;
enum cudaDeviceAttr {
  cudaDevAttrComputeMode = 20,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaComputeMode { cudaComputeModeDefault = 0, cudaComputeModeProhibited = 2 };
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major, minor, multiProcessorCount;
};
struct cudaFuncAttributes {
  int maxThreadsPerBlock;
};

cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d);
cudaError_t cudaMalloc(void **p, size_t bytes);
template <typename T> cudaError_t cudaMalloc(T **p, size_t bytes) {
  return cudaMalloc((void **)p, bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t bytes);
template <typename T> cudaError_t cudaMallocHost(T **p, size_t bytes) {
  return cudaMallocHost((void **)p, bytes);
}
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s = 0);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, cudaMemcpyKind kind,
                              cudaStream_t s = 0);
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s = 0);
cudaError_t cudaMemset(void *p, int v, size_t bytes);
cudaError_t cudaMemset2DAsync(void *p, size_t pitch, int v, size_t width, size_t height,
                              cudaStream_t s = 0);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
template <typename T> cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *a, T) {
  a->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}
/* the emulated device takes any dynamic shared size (ta_emu_dynamic_shared is sized by
 * each launch) */
template <typename T> cudaError_t cudaFuncSetAttribute(T, cudaFuncAttribute, int) {
  return cudaSuccess;
}

/* kernel launches */
struct ta_emu_config {
  dim3 grid, block;
  size_t shared;
};
static inline ta_emu_config ta_emu_cfg(dim3 g, dim3 b, size_t shared = 0, cudaStream_t s = 0) {
  (void)s;
  return ta_emu_config{g, b, shared};
}
void ta_emu_run(ta_emu_config cfg, const std::function<void()> &body);
template <typename K, typename... A> void ta_emu_launch(ta_emu_config cfg, K kernel, A... args) {
  ta_emu_run(cfg, [=]() { kernel(args...); });
}

#endif

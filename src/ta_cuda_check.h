/* Checked CUDA and cuBLAS calls, for the *_cuda.cu files only (C++ under nvcc).
 *
 *   int st = TA_OK;
 *   if ((st = TA_CUDA(cudaMemcpy(...), msg))) goto done;
 *   if ((st = TA_CUBLAS(cublasSgemm(...), msg))) goto done;
 *
 * A failed call becomes TA_ERR_CUDA (TA_ERR_NOMEM for an allocation) with a message
 * naming the call and carrying the library's own text, e.g.
 * "cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime version
 * (cudaErrorInsufficientDriver)". The goto keeps one exit per function, so whatever it
 * holds is freed on every path. */
#ifndef TA_CUDA_CHECK_H
#define TA_CUDA_CHECK_H

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include "ta_cuda.h"

/* The cuBLAS entry points tsattn calls, looked up when first needed (ta_blas_cuda.cu):
 * the package does not link libcublas, so loading tsattn does not load it. */
typedef struct {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetAtomicsMode) set_atomics_mode;
  decltype(&cublasSgemm_v2) sgemm;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched;
  decltype(&cublasGetStatusString) status_string;
  decltype(&cublasGetStatusName) status_name;
} ta_cublas_api;
/* the table, loading cuBLAS on the first call; an error status (dlerror's text) when
 * the library or one of the symbols is missing */
extern "C" int ta_cublas_load(const ta_cublas_api **api, ta_msg *msg);
/* the table when a load has succeeded, else NULL (never loads) */
extern "C" const ta_cublas_api *ta_cublas_loaded(void);

/* call text up to its '(' (the function's name) */
int ta_cuda_fail(ta_msg *msg, cudaError_t err, const char *call);
int ta_cublas_fail(ta_msg *msg, cublasStatus_t err, const char *call);

static inline int ta_cuda_ok(cudaError_t err, ta_msg *msg, const char *call) {
  return err == cudaSuccess ? TA_OK : ta_cuda_fail(msg, err, call);
}
static inline int ta_cublas_ok(cublasStatus_t err, ta_msg *msg, const char *call) {
  return err == CUBLAS_STATUS_SUCCESS ? TA_OK : ta_cublas_fail(msg, err, call);
}

#define TA_CUDA(call, msg) ta_cuda_ok((call), (msg), #call)
#define TA_CUBLAS(call, msg) ta_cublas_ok((call), (msg), #call)
/* after a kernel launch: a bad configuration is reported here, a fault at the next sync */
#define TA_CUDA_LAUNCHED(msg) ta_cuda_ok(cudaGetLastError(), (msg), "kernel launch")

/* threads per block of the element-wise kernels, and their grid (capped: the kernels
 * loop with a grid stride, so any n is covered) */
#define TA_CUDA_THREADS 256
static inline unsigned int ta_cuda_blocks(size_t n) {
  size_t b = (n + TA_CUDA_THREADS - 1) / TA_CUDA_THREADS;
  if (b < 1) b = 1;
  return b > 65535 ? 65535u : (unsigned int)b;
}

#endif

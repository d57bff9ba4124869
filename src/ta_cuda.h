/* The CUDA runtime layer, as C functions (usable from the C core and the .Call glue).
 * A CUDA build implements them in ta_runtime_cuda.cu; a CPU-only build defines those the
 * glue calls (TA_CUDA_RUNTIME_API) in cuda_stub.c, failing with TA_ERR_NO_CUDA.
 * Like the rest of the core: no R API, no printing, no exit; a status and a ta_msg.
 * Not thread-safe: call from R's thread only (never inside an OpenMP region). */
#ifndef TA_CUDA_H
#define TA_CUDA_H

#include <stddef.h>

/* ta_common.h has no C++ guards of its own: included here first, inside extern "C",
 * its ta_fail() keeps C linkage in the .cu files (its include guard then makes later
 * includes, e.g. through ta_math.h, no-ops). So a .cu file includes this header (or
 * ta_cuda_check.h) before any other tsattn header. */
#ifdef __cplusplus
extern "C" {
#endif

#include "ta_common.h"

/* Status codes beyond ta_common.h's (numbered apart so the two lists cannot collide). */
enum {
  TA_ERR_CUDA = 16,   /* a CUDA or cuBLAS call failed: the message has its error text */
  TA_ERR_NO_CUDA = 17 /* this build has no CUDA backend */
};

typedef struct {
  char name[256];
  double memory_bytes; /* total global memory */
  int major, minor;    /* compute capability */
  int multiprocessors;
} ta_cuda_device;

/* what every call of a CPU-only build answers (TA_ERR_NO_CUDA) */
#define TA_NO_CUDA_TEXT                                                                     \
  "this build of tsattn has no CUDA backend (it was installed without nvcc, with "          \
  "--without-cuda or with TSATTN_CUDA=0)"

/* The functions the .Call glue calls in both builds, one X(return type, name, parameters,
 * stub) each: this list declares them (TA_CUDA_DECLARE, below and in ta_cuda_ops.h) and
 * gives a CPU-only build's definitions (cuda_stub.c), where `stub` says what each does:
 * FAIL returns TA_ERR_NO_CUDA (its outputs untouched), ZERO returns 0, NONE nothing.
 * The GPU network (ta_cuda_net.h) has no stubs: the glue reaches it only through its
 * backend table (api_backend.c), which a CPU-only build does not have. */
#define TA_CUDA_DECLARE(ret, name, params, stub) ret name params;

#define TA_CUDA_RUNTIME_API(X)                                                              \
  /* 1 in a CUDA build, 0 in a CPU-only build */                                            \
  X(int, ta_cuda_built, (void), ZERO)                                                       \
  /* number of CUDA devices; msg says why when there is none (no driver, no device) */      \
  X(int, ta_cuda_device_count, (int *count, ta_msg *msg), FAIL)                             \
  /* name, memory and compute capability of device id */                                   \
  X(int, ta_cuda_device_info, (int id, ta_cuda_device *dev, ta_msg *msg), FAIL)             \
  /* TA_OK when this build's kernels can run on device id (not prohibited by its compute   \
   * mode, and compiled for its architecture); creates the device's context */              \
  X(int, ta_cuda_device_usable, (int id, ta_msg *msg), FAIL)                                \
  /* device memory on the current device; on failure msg says how many bytes were asked    \
   * for (TA_ERR_NOMEM when the device is out of memory) */                                 \
  X(int, ta_cuda_malloc, (void **ptr, size_t bytes, ta_msg *msg), FAIL)                     \
  /* frees device memory (NULL is fine); errors are ignored, as in free() */               \
  X(void, ta_cuda_free, (void *ptr), NONE)                                                  \
  /* synchronous copies (pageable host memory) */                                           \
  X(int, ta_cuda_to_device, (void *dst, const void *src, size_t bytes, ta_msg *msg), FAIL)  \
  X(int, ta_cuda_to_host, (void *dst, const void *src, size_t bytes, ta_msg *msg), FAIL)    \
  /* loads cuBLAS (no device needed) as the first handle would: TA_OK, or why it cannot */ \
  X(int, ta_cuda_blas_library, (ta_msg *msg), FAIL)                                         \
  /* destroys the cuBLAS handles (at package unload) */                                     \
  X(void, ta_cuda_release, (void), NONE)

TA_CUDA_RUNTIME_API(TA_CUDA_DECLARE)

/* makes device id current for the calls that follow */
int ta_cuda_select(int id, ta_msg *msg);
/* waits for the current device's work and reports an error a kernel left behind */
int ta_cuda_sync(ta_msg *msg);
/* the cuBLAS handle of the current device (a cublasHandle_t), created on first use and
 * kept until ta_cuda_release() */
int ta_cuda_blas(void **handle, ta_msg *msg);

#ifdef __cplusplus
}
#endif

#endif

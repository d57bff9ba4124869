/* The CUDA runtime layer of a CPU-only build (configure chose no CUDA): the functions of
 * ta_cuda.h, each failing with TA_ERR_NO_CUDA, so that the .Call glue and R code are the
 * same in both builds. In a CUDA build this file compiles to nothing (runtime_cuda.cu
 * has the real functions). */
#include "ta_cuda.h"

#if !TSATTN_CUDA

static int no_cuda(ta_msg *msg) {
  return ta_fail(msg, TA_ERR_NO_CUDA,
                 "this build of tsattn has no CUDA backend (it was installed without nvcc, "
                 "with --without-cuda or with TSATTN_CUDA=0)");
}

int ta_cuda_built(void) { return 0; }

int ta_cuda_device_count(int *count, ta_msg *msg) {
  *count = 0;
  return no_cuda(msg);
}

int ta_cuda_device_info(int id, ta_cuda_device *dev, ta_msg *msg) {
  (void)id;
  (void)dev;
  return no_cuda(msg);
}

int ta_cuda_device_usable(int id, ta_msg *msg) {
  (void)id;
  return no_cuda(msg);
}

int ta_cuda_select(int id, ta_msg *msg) {
  (void)id;
  return no_cuda(msg);
}

int ta_cuda_malloc(void **ptr, size_t bytes, ta_msg *msg) {
  (void)bytes;
  *ptr = NULL;
  return no_cuda(msg);
}

void ta_cuda_free(void *ptr) { (void)ptr; }

int ta_cuda_to_device(void *dst, const void *src, size_t bytes, ta_msg *msg) {
  (void)dst;
  (void)src;
  (void)bytes;
  return no_cuda(msg);
}

int ta_cuda_to_host(void *dst, const void *src, size_t bytes, ta_msg *msg) {
  (void)dst;
  (void)src;
  (void)bytes;
  return no_cuda(msg);
}

int ta_cuda_sync(ta_msg *msg) { return no_cuda(msg); }

int ta_cuda_blas(void **handle, ta_msg *msg) {
  *handle = NULL;
  return no_cuda(msg);
}

void ta_cuda_release(void) {}

#else

/* ISO C wants at least one declaration in a translation unit */
typedef int ta_cuda_stub_unused;

#endif

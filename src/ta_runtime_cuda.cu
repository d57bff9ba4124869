/* The CUDA runtime layer (see ta_cuda.h): devices, memory, the per-device cuBLAS handle,
 * and CUDA/cuBLAS errors turned into a status and a message. Linked against the shared
 * libcudart, so a machine without a driver or a GPU loads the package and gets an error
 * status here (cudaErrorInsufficientDriver, cudaErrorNoDevice), never a crash. */
#include <stdio.h>
#include <string.h>
#include "ta_cuda_check.h"

/* ---- errors ---------------------------------------------------------------------- */

/* "cudaMemcpy(dst, ...)" -> "cudaMemcpy" */
static void call_name(char *out, size_t len, const char *call) {
  size_t n = strcspn(call, "(");
  if (n >= len) n = len - 1;
  memcpy(out, call, n);
  out[n] = '\0';
}

int ta_cuda_fail(ta_msg *msg, cudaError_t err, const char *call) {
  char name[64];
  call_name(name, sizeof name, call);
  /* clear the error so that later calls do not report it again (a sticky error, after a
   * kernel fault, stays: the context is unusable until the process ends) */
  (void)cudaGetLastError();
  return ta_fail(msg, err == cudaErrorMemoryAllocation ? (int)TA_ERR_NOMEM : (int)TA_ERR_CUDA,
                 "%s: %s (%s)", name, cudaGetErrorString(err), cudaGetErrorName(err));
}

int ta_cublas_fail(ta_msg *msg, cublasStatus_t err, const char *call) {
  char name[64];
  call_name(name, sizeof name, call);
  /* a status can only come from a call through the loaded table */
  const ta_cublas_api *api = ta_cublas_loaded();
  return ta_fail(msg, err == CUBLAS_STATUS_ALLOC_FAILED ? (int)TA_ERR_NOMEM : (int)TA_ERR_CUDA,
                 "%s: %s (%s)", name, api ? api->status_string(err) : "cuBLAS error",
                 api ? api->status_name(err) : "unknown status");
}

/* ---- devices --------------------------------------------------------------------- */

extern "C" int ta_cuda_built(void) { return 1; }

extern "C" int ta_cuda_device_count(int *count, ta_msg *msg) {
  int n = 0;
  *count = 0;
  int st = TA_CUDA(cudaGetDeviceCount(&n), msg);
  if (st) return st;
  if (n < 1) return ta_fail(msg, TA_ERR_CUDA, "cudaGetDeviceCount: no CUDA-capable device is detected");
  *count = n;
  return TA_OK;
}

static int check_id(int id, ta_msg *msg) {
  int n = 0;
  int st = ta_cuda_device_count(&n, msg);
  if (st) return st;
  if (id < 0 || id >= n)
    return ta_fail(msg, TA_ERR_ARG, "CUDA device %d does not exist (devices are 0 to %d)", id, n - 1);
  return TA_OK;
}

extern "C" int ta_cuda_device_info(int id, ta_cuda_device *dev, ta_msg *msg) {
  memset(dev, 0, sizeof *dev);
  int st = check_id(id, msg);
  if (st) return st;
  cudaDeviceProp p;
  if ((st = TA_CUDA(cudaGetDeviceProperties(&p, id), msg))) return st;
  memcpy(dev->name, p.name, sizeof dev->name);
  dev->name[sizeof dev->name - 1] = '\0';
  dev->memory_bytes = (double)p.totalGlobalMem;
  dev->major = p.major;
  dev->minor = p.minor;
  dev->multiprocessors = p.multiProcessorCount;
  return TA_OK;
}

/* The kernel whose image tells whether this build has code for a device. */
__global__ void ta_cuda_probe_kernel(int *x) {
  if (x) x[0] = 0;
}

extern "C" int ta_cuda_device_usable(int id, ta_msg *msg) {
  int st = check_id(id, msg);
  if (st) return st;
  int mode = 0;
  if ((st = TA_CUDA(cudaDeviceGetAttribute(&mode, cudaDevAttrComputeMode, id), msg))) return st;
  if (mode == cudaComputeModeProhibited)
    return ta_fail(msg, TA_ERR_CUDA, "CUDA device %d is in the prohibited compute mode", id);
  int prev = 0;
  if ((st = TA_CUDA(cudaGetDevice(&prev), msg))) return st;
  if ((st = TA_CUDA(cudaSetDevice(id), msg))) return st;
  /* loads the kernel's module for this device: fails when no cubin matches the device's
   * architecture and no PTX can be compiled for it */
  cudaFuncAttributes attr;
  cudaError_t err = cudaFuncGetAttributes(&attr, ta_cuda_probe_kernel);
  if (err != cudaSuccess) {
    int major = 0, minor = 0;
    (void)cudaGetLastError();
    (void)cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, id);
    (void)cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, id);
    st = ta_fail(msg, TA_ERR_CUDA,
                 "CUDA device %d (compute capability %d.%d) cannot run this build's kernels: "
                 "%s (%s); reinstall tsattn with TSATTN_CUDA_ARCH=%d%d",
                 id, major, minor, cudaGetErrorString(err), cudaGetErrorName(err), major, minor);
  }
  (void)cudaSetDevice(prev);
  return st;
}

extern "C" int ta_cuda_select(int id, ta_msg *msg) {
  int st = check_id(id, msg);
  if (st) return st;
  return TA_CUDA(cudaSetDevice(id), msg);
}

/* ---- memory ---------------------------------------------------------------------- */

extern "C" int ta_cuda_malloc(void **ptr, size_t bytes, ta_msg *msg) {
  *ptr = NULL;
  if (bytes == 0) bytes = 1; /* a valid, freeable pointer for empty buffers */
  cudaError_t err = cudaMalloc(ptr, bytes);
  if (err == cudaSuccess) return TA_OK;
  *ptr = NULL;
  (void)cudaGetLastError();
  if (err != cudaErrorMemoryAllocation) /* no driver, no device, a broken context */
    return ta_fail(msg, TA_ERR_CUDA, "cudaMalloc (%zu bytes): %s (%s)", bytes,
                   cudaGetErrorString(err), cudaGetErrorName(err));
  int dev = -1;
  size_t free_b = 0, total_b = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) (void)cudaGetLastError();
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
  return ta_fail(msg, TA_ERR_NOMEM,
                 "out of GPU memory: cannot allocate %.1f MiB (%zu bytes) on CUDA device %d "
                 "(%.1f of %.1f MiB free): %s (%s)",
                 bytes / 1048576.0, bytes, dev, free_b / 1048576.0, total_b / 1048576.0,
                 cudaGetErrorString(err), cudaGetErrorName(err));
}

extern "C" void ta_cuda_free(void *ptr) {
  if (ptr && cudaFree(ptr) != cudaSuccess) (void)cudaGetLastError();
}

extern "C" int ta_cuda_to_device(void *dst, const void *src, size_t bytes, ta_msg *msg) {
  if (bytes == 0) return TA_OK;
  return TA_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), msg);
}

extern "C" int ta_cuda_to_host(void *dst, const void *src, size_t bytes, ta_msg *msg) {
  if (bytes == 0) return TA_OK;
  return TA_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), msg);
}

extern "C" int ta_cuda_sync(ta_msg *msg) { return TA_CUDA(cudaDeviceSynchronize(), msg); }

/* ---- cuBLAS handles -------------------------------------------------------------- */

/* One handle per device, created on first use: creating one costs milliseconds and
 * device memory, so it is kept for the session. Indexed by device id. */
#define TA_CUDA_MAX_DEVICES 64
static cublasHandle_t blas_handles[TA_CUDA_MAX_DEVICES];

extern "C" int ta_cuda_blas(void **handle, ta_msg *msg) {
  *handle = NULL;
  int dev = 0;
  int st = TA_CUDA(cudaGetDevice(&dev), msg);
  if (st) return st;
  if (dev < 0 || dev >= TA_CUDA_MAX_DEVICES)
    return ta_fail(msg, TA_ERR_CUDA, "CUDA device %d: tsattn handles devices 0 to %d only", dev,
                   TA_CUDA_MAX_DEVICES - 1);
  if (!blas_handles[dev]) {
    const ta_cublas_api *api;
    if ((st = ta_cublas_load(&api, msg))) return st;
    cublasHandle_t h = NULL;
    if ((st = TA_CUBLAS(api->create(&h), msg))) return st;
    /* results must not depend on the run: no atomics-based reductions inside cuBLAS */
    if ((st = TA_CUBLAS(api->set_atomics_mode(h, CUBLAS_ATOMICS_NOT_ALLOWED), msg))) {
      (void)api->destroy(h);
      return st;
    }
    blas_handles[dev] = h;
  }
  *handle = (void *)blas_handles[dev];
  return TA_OK;
}

extern "C" void ta_cuda_release(void) {
  const ta_cublas_api *api = ta_cublas_loaded();
  if (!api) return; /* no handle was ever created */
  int prev = -1;
  if (cudaGetDevice(&prev) != cudaSuccess) (void)cudaGetLastError();
  for (int d = 0; d < TA_CUDA_MAX_DEVICES; d++) {
    if (!blas_handles[d]) continue;
    /* cublasDestroy works on the handle's device's context */
    if (cudaSetDevice(d) == cudaSuccess) (void)api->destroy(blas_handles[d]);
    else (void)cudaGetLastError();
    blas_handles[d] = NULL;
  }
  if (prev >= 0) (void)cudaSetDevice(prev);
}

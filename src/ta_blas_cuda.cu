/* cuBLAS, loaded on first use. Linking libcublas would load it (and libcublasLt, half a
 * gigabyte of code) into every R session that loads tsattn, about 150 MiB of resident
 * memory before any GPU work, and on machines that will never run any. Instead the few
 * entry points tsattn calls are looked up with dlopen/dlsym the first time a cuBLAS
 * handle is needed; the library is found through the package's run path (configure
 * links with -rpath to the toolkit's lib64) or the system's library path. A missing or
 * wrong library is an error status with dlerror's text, never a crash. */
#include <dlfcn.h>
#include <stdio.h>
#include "ta_cuda_check.h"

/* the soname of the cuBLAS this was compiled against: "libcublas.so.13" */
#define TA_STR2(x) #x
#define TA_STR(x) TA_STR2(x)
#define TA_CUBLAS_SONAME "libcublas.so." TA_STR(CUBLAS_VER_MAJOR)

static ta_cublas_api api;
static int api_loaded;

/* dlsym into a typed pointer: a symbol that is missing fails the whole load */
template <typename F> static int find(void *lib, F *out, const char *name, ta_msg *msg) {
  *out = (F)dlsym(lib, name);
  if (*out) return TA_OK;
  return ta_fail(msg, TA_ERR_CUDA, "cuBLAS: %s has no %s (%s)", TA_CUBLAS_SONAME, name,
                 dlerror());
}

extern "C" int ta_cublas_load(const ta_cublas_api **out, ta_msg *msg) {
  *out = NULL;
  if (!api_loaded) {
    void *lib = dlopen(TA_CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *why = dlerror();
      return ta_fail(msg, TA_ERR_CUDA, "cuBLAS: cannot load %s (%s)", TA_CUBLAS_SONAME,
                     why ? why : "unknown reason");
    }
    ta_cublas_api a;
    int st;
    if ((st = find(lib, &a.create, "cublasCreate_v2", msg)) ||
        (st = find(lib, &a.destroy, "cublasDestroy_v2", msg)) ||
        (st = find(lib, &a.set_atomics_mode, "cublasSetAtomicsMode", msg)) ||
        (st = find(lib, &a.sgemm, "cublasSgemm_v2", msg)) ||
        (st = find(lib, &a.sgemm_strided_batched, "cublasSgemmStridedBatched", msg)) ||
        (st = find(lib, &a.status_string, "cublasGetStatusString", msg)) ||
        (st = find(lib, &a.status_name, "cublasGetStatusName", msg))) {
      dlclose(lib);
      return st;
    }
    /* kept open for the session: handles created through it live until unload */
    api = a;
    api_loaded = 1;
  }
  *out = &api;
  return TA_OK;
}

extern "C" const ta_cublas_api *ta_cublas_loaded(void) { return api_loaded ? &api : NULL; }

extern "C" int ta_cuda_blas_library(ta_msg *msg) {
  const ta_cublas_api *a;
  return ta_cublas_load(&a, msg);
}

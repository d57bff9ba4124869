/* The CPU emulation of the CUDA runtime and cuBLAS subset declared in cuda_runtime.h
 * and cublas_v2.h (this directory). Compiled into the package only by nvcc-emu, for
 * TSATTN_CUDA_EMU=1 test builds. One emulated device; kernels run synchronously. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <vector>
#include "cublas_v2.h"

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

static cudaError_t last_error = cudaSuccess;
static int current_device = 0;

static cudaError_t fail(cudaError_t e) {
  last_error = e;
  return e;
}

/* ---- kernels: blocks in order, each block's threads as fibers ---------------------- */

#define FIBER_STACK (256 * 1024)
enum { READY = 0, AT_BARRIER = 1, DONE = 2, AT_WARP = 3 };
static ucontext_t scheduler;
static std::vector<ucontext_t> fibers;
static std::vector<char *> stacks;
static std::vector<int> state;
static size_t current;
static const std::function<void()> *current_body;
static int in_kernel;
static std::vector<unsigned long long> slots; /* warp exchange: two sets of one per thread */
static std::vector<unsigned char> parity;      /* the set each thread posts to next */
void *ta_emu_dynamic_shared;
static size_t dynamic_shared_size;
static int deadlocked;

static void fiber_main(void) {
  (*current_body)();
  state[current] = DONE; /* uc_link returns to the scheduler */
}

void __syncthreads(void) {
  if (!in_kernel || blockDim.x * blockDim.y * blockDim.z == 1) return;
  state[current] = AT_BARRIER;
  swapcontext(&fibers[current], &scheduler);
}

unsigned ta_emu_lane(void) { return (unsigned)(current % 32); }

void ta_emu_warp_barrier(void) {
  if (!in_kernel || blockDim.x * blockDim.y * blockDim.z == 1) return;
  state[current] = AT_WARP;
  swapcontext(&fibers[current], &scheduler);
}

/* Two sets of slots used in turn (parity[t] says which set thread t posts to next): a
 * lane that runs ahead to its next exchange posts into the other set, and cannot reach
 * the one after (this set again) before every lane has passed the next exchange's barrier,
 * that is, has read this one. So one warp barrier per exchange is enough, which halves
 * the fiber switches of the warp-per-row kernels. */
unsigned long long ta_emu_warp_exchange(unsigned long long mine, int src_lane, int width) {
  (void)width;
  if (!in_kernel || blockDim.x * blockDim.y * blockDim.z == 1) return mine;
  size_t nt = parity.size(), warp0 = current - current % 32, src = warp0 + (size_t)src_lane;
  unsigned long long *set = slots.data() + (size_t)parity[current] * nt;
  parity[current] ^= 1;
  set[current] = mine;
  ta_emu_warp_barrier();
  return src < nt ? set[src] : mine;
}

/* After a pass in which every ready thread ran: release the warps whose unfinished
 * threads all wait at a warp barrier; else, when every unfinished thread waits at
 * __syncthreads, release the block. 0 when all are done; -1 on a deadlock. */
static int release(size_t nt) {
  int any_left = 0, released = 0;
  for (size_t w0 = 0; w0 < nt; w0 += 32) {
    size_t w1 = w0 + 32 < nt ? w0 + 32 : nt;
    int all_warp = 1, some = 0;
    for (size_t t = w0; t < w1; t++) {
      if (state[t] == DONE) continue;
      some = 1;
      if (state[t] != AT_WARP) all_warp = 0;
    }
    if (some && all_warp) {
      for (size_t t = w0; t < w1; t++)
        if (state[t] == AT_WARP) state[t] = READY;
      released = 1;
    }
  }
  if (released) return 1;
  int all_block = 1;
  for (size_t t = 0; t < nt; t++) {
    if (state[t] == DONE) continue;
    any_left = 1;
    if (state[t] != AT_BARRIER) all_block = 0;
  }
  if (!any_left) return 0;
  if (!all_block) return -1;
  for (size_t t = 0; t < nt; t++)
    if (state[t] == AT_BARRIER) state[t] = READY;
  return 1;
}

/* TSATTN_EMU_ORDER=reverse runs the blocks of a grid, and the threads of a block
 * between barriers, in reverse order: a kernel whose result depends on the order of its
 * blocks or threads (a race on a real GPU) then gives other results than in the
 * default order, which the tests' comparisons show */
static int reverse_order(void) {
  static int r = -1;
  if (r < 0) {
    const char *e = getenv("TSATTN_EMU_ORDER");
    r = e && !strcmp(e, "reverse");
  }
  return r;
}

void ta_emu_run(ta_emu_config cfg, const std::function<void()> &body) {
  size_t nt = (size_t)cfg.block.x * cfg.block.y * cfg.block.z;
  if (nt == 0 || nt > 1024 || cfg.grid.x == 0 || cfg.grid.y == 0 || cfg.grid.z == 0 ||
      cfg.grid.y > 65535 || cfg.grid.z > 65535) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  while (stacks.size() < nt) {
    char *s = (char *)malloc(FIBER_STACK);
    if (!s) {
      fail(cudaErrorMemoryAllocation);
      return;
    }
    stacks.push_back(s);
  }
  if (cfg.shared > dynamic_shared_size) {
    void *p = realloc(ta_emu_dynamic_shared, cfg.shared);
    if (!p) {
      fail(cudaErrorMemoryAllocation);
      return;
    }
    ta_emu_dynamic_shared = p;
    dynamic_shared_size = cfg.shared;
  }
  fibers.resize(nt);
  slots.assign(2 * nt, 0);
  parity.assign(nt, 0);
  state.assign(nt, READY);
  gridDim = cfg.grid;
  blockDim = cfg.block;
  current_body = &body;
  in_kernel = 1;
  int rev = reverse_order();
  size_t n_blocks = (size_t)cfg.grid.x * cfg.grid.y * cfg.grid.z;
  for (size_t bi = 0; bi < n_blocks; bi++) {
        size_t k = rev ? n_blocks - 1 - bi : bi;
        unsigned int bx = (unsigned int)(k % cfg.grid.x), by = (unsigned int)(k / cfg.grid.x % cfg.grid.y),
                     bz = (unsigned int)(k / ((size_t)cfg.grid.x * cfg.grid.y));
        blockIdx = uint3{bx, by, bz};
        if (nt == 1) { /* no barrier can wait on anyone: run it in place */
          threadIdx = uint3{0, 0, 0};
          current = 0;
          body();
          continue;
        }
        for (size_t t = 0; t < nt; t++) {
          getcontext(&fibers[t]);
          fibers[t].uc_stack.ss_sp = stacks[t];
          fibers[t].uc_stack.ss_size = FIBER_STACK;
          fibers[t].uc_link = &scheduler;
          makecontext(&fibers[t], fiber_main, 0);
          state[t] = READY;
          parity[t] = 0;
        }
        for (;;) {
          /* every ready thread runs to its next barrier or its end */
          for (size_t ti = 0; ti < nt; ti++) {
            size_t t = rev ? nt - 1 - ti : ti;
            if (state[t] != READY) continue;
            current = t;
            threadIdx = uint3{(unsigned int)(t % cfg.block.x),
                              (unsigned int)(t / cfg.block.x % cfg.block.y),
                              (unsigned int)(t / ((size_t)cfg.block.x * cfg.block.y))};
            swapcontext(&scheduler, &fibers[t]);
          }
          int r = release(nt);
          if (r == 0) break;
          if (r < 0) {
            /* threads wait at different barriers: a real GPU hangs or is undefined */
            fprintf(stderr, "tsattn CUDA emulation: threads of block (%u, %u, %u) wait at "
                    "different barriers; the kernel is abandoned\n", bx, by, bz);
            deadlocked = 1;
            fail(cudaErrorInvalidValue);
            in_kernel = 0;
            return;
          }
        }
      }
  in_kernel = 0;
}

/* ---- runtime ----------------------------------------------------------------------- */

cudaError_t cudaGetDeviceCount(int *n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int *d) {
  *d = current_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  current_device = d;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "tsattn CPU emulation of a CUDA device");
  p->totalGlobalMem = (size_t)8 << 30;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 1;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  /* an H100/H200's: compute capability 9.0, 227 KiB of shared memory per block on opt-in */
  *v = a == cudaDevAttrComputeCapabilityMajor ? 9
       : a == cudaDevAttrMaxSharedMemoryPerBlockOptin ? 227 * 1024 : 0;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void **p, size_t bytes) {
  /* filled with a NaN pattern, as uninitialised device memory may hold anything: a
   * kernel that reads what nobody wrote shows up as NaN in the tests */
  *p = malloc(bytes ? bytes : 1);
  if (!*p) return fail(cudaErrorMemoryAllocation);
  memset(*p, 0xff, bytes);
  return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
  free(p);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t bytes) { return cudaMalloc(p, bytes); }
cudaError_t cudaFreeHost(void *p) { return cudaFree(p); }
cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b) {
  *free_b = *total_b = (size_t)8 << 30;
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
  (void)kind;
  if (bytes) memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s) {
  (void)s;
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, cudaMemcpyKind kind, cudaStream_t s) {
  (void)kind;
  (void)s;
  if (width > dpitch || width > spitch) return fail(cudaErrorInvalidValue);
  for (size_t r = 0; r < height; r++)
    memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
  return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int v, size_t bytes) {
  if (bytes) memset(p, v, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s) {
  (void)s;
  return cudaMemset(p, v, bytes);
}
cudaError_t cudaMemset2DAsync(void *p, size_t pitch, int v, size_t width, size_t height,
                              cudaStream_t s) {
  (void)s;
  if (width > pitch) return fail(cudaErrorInvalidValue);
  for (size_t r = 0; r < height; r++) memset((char *)p + r * pitch, v, width);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  (void)s;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaGetLastError(void) {
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }
const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    default: return "cudaErrorUnknown";
  }
}
const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "unknown error";
  }
}

/* ---- cuBLAS (column-major, as the real one) ---------------------------------------- */

struct ta_emu_blas {
  int atomics;
};

cublasStatus_t cublasCreate_v2(cublasHandle_t *h) {
  *h = (cublasHandle_t)calloc(1, sizeof(ta_emu_blas));
  return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
  free(h);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetAtomicsMode(cublasHandle_t h, cublasAtomicsMode_t mode) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->atomics = mode;
  return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           float alpha, const float *A, int lda, const float *B, int ldb,
                           float beta, float *C, int ldc) {
  if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) || ldc < m ||
      lda < 1 || ldb < 1 || ldc < 1)
    return CUBLAS_STATUS_INVALID_VALUE;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) {
      float s = 0.0f;
      for (int p = 0; p < k; p++) {
        float a = ta == CUBLAS_OP_N ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda];
        float b = tb == CUBLAS_OP_N ? B[p + (size_t)j * ldb] : B[j + (size_t)p * ldb];
        s += a * b;
      }
      float *c = &C[i + (size_t)j * ldc];
      *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
    }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                              int n, int k, const float *alpha, const float *A, int lda,
                              const float *B, int ldb, const float *beta, float *C, int ldc) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  return gemm(ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long sA, const float *B, int ldb, long long sB,
                                         const float *beta, float *C, int ldc, long long sC,
                                         int batch) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  for (int b = 0; b < batch; b++) {
    cublasStatus_t st = gemm(ta, tb, m, n, k, *alpha, A + b * sA, lda, B + b * sB, ldb, *beta,
                             C + b * sC, ldc);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
  }
  return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    default: return "unknown error";
  }
}
const char *cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

/* ---- dlopen/dlsym of libcublas ----------------------------------------------------- */

static int the_library;

void *ta_emu_dlopen(const char *name, int flags) {
  (void)flags;
  return strstr(name, "libcublas") ? (void *)&the_library : NULL;
}

void *ta_emu_dlsym(void *lib, const char *name) {
  if (lib != &the_library) return NULL;
  static const struct {
    const char *name;
    void *fn;
  } table[] = {{"cublasCreate_v2", (void *)&cublasCreate_v2},
               {"cublasDestroy_v2", (void *)&cublasDestroy_v2},
               {"cublasSetAtomicsMode", (void *)&cublasSetAtomicsMode},
               {"cublasSgemm_v2", (void *)&cublasSgemm_v2},
               {"cublasSgemmStridedBatched", (void *)&cublasSgemmStridedBatched},
               {"cublasGetStatusString", (void *)&cublasGetStatusString},
               {"cublasGetStatusName", (void *)&cublasGetStatusName}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(table[i].name, name)) return table[i].fn;
  return NULL;
}

int ta_emu_dlclose(void *lib) {
  (void)lib;
  return 0;
}

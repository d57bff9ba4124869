/* The CUDA layer of a CPU-only build (configure chose no CUDA): the functions the .Call
 * glue calls in both builds, defined from their lists (TA_CUDA_RUNTIME_API in ta_cuda.h,
 * TA_CUDA_OPS_API in ta_cuda_ops.h), so that the glue and R code are the same in both
 * builds: FAIL answers TA_ERR_NO_CUDA, ZERO returns 0, NONE does nothing. The GPU network
 * needs none (api_backend.c). In a CUDA build this file compiles to nothing
 * (ta_runtime_cuda.cu and the ops' *_cuda.cu files have the real functions). */
#include "ta_cuda.h"
#include "ta_cuda_ops.h"

#if !TSATTN_CUDA

static int no_cuda(ta_msg *msg) { return ta_fail(msg, TA_ERR_NO_CUDA, "%s", TA_NO_CUDA_TEXT); }

#define STUB_FAIL { return no_cuda(msg); }
#define STUB_ZERO { return 0; }
#define STUB_NONE {}
#define TA_CUDA_STUB(ret, name, params, stub) ret name params STUB_##stub

TA_CUDA_RUNTIME_API(TA_CUDA_STUB)
TA_CUDA_OPS_API(TA_CUDA_STUB)

#else

/* ISO C wants at least one declaration in a translation unit */
typedef int ta_cuda_stub_unused;

#endif

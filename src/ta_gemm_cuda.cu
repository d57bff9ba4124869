/* The row-major products of ta_gemm.h on the GPU, through cuBLAS (column-major).
 * A row-major X[r, c] with leading dimension ld is the column-major X^T [c, r] with the
 * same ld, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T: cuBLAS gets B first,
 * with m = N, n = M, and each operand transposed exactly when its row-major form is not:
 *   NT: C^T = B A^T     -> (T on B, N on A)
 *   NN: C^T = B^T A^T   -> (N on B, N on A)
 *   TN: C^T = B^T A     -> (N on B, T on A) */
#include <limits.h>
#include "ta_cuda_check.h"
#include "ta_cuda_ops.h"

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

extern "C" int ta_cuda_gemm(int op, float *C, size_t ldc, size_t sC, const float *A, size_t lda,
                            size_t sA, const float *B, size_t ldb, size_t sB, size_t M, size_t N,
                            size_t K, size_t batch, int accumulate, ta_msg *msg) {
  if (op != TA_GEMM_NT && op != TA_GEMM_NN && op != TA_GEMM_TN)
    return ta_fail(msg, TA_ERR_ARG, "GPU matrix product: unknown operation %d", op);
  if (!fits_int(M) || !fits_int(N) || !fits_int(K) || !fits_int(lda) || !fits_int(ldb) ||
      !fits_int(ldc) || !fits_int(batch) || sA > (size_t)LLONG_MAX || sB > (size_t)LLONG_MAX ||
      sC > (size_t)LLONG_MAX)
    return ta_fail(msg, TA_ERR_ARG,
                   "GPU matrix product: a size is beyond cuBLAS's int range (M %zu, N %zu, K %zu, "
                   "batch %zu)", M, N, K, batch);
  if (M == 0 || N == 0 || batch == 0) return TA_OK;
  void *h = NULL;
  int st = ta_cuda_blas(&h, msg);
  if (st) return st;
  const ta_cublas_api *api = ta_cublas_loaded(); /* loaded by ta_cuda_blas */
  cublasHandle_t handle = (cublasHandle_t)h;
  cublasOperation_t opB = op == TA_GEMM_NT ? CUBLAS_OP_T : CUBLAS_OP_N; /* on B, cuBLAS's A */
  cublasOperation_t opA = op == TA_GEMM_TN ? CUBLAS_OP_T : CUBLAS_OP_N; /* on A, cuBLAS's B */
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  if (batch == 1)
    return TA_CUBLAS(api->sgemm(handle, opB, opA, (int)N, (int)M, (int)K, &one, B, (int)ldb, A,
                                 (int)lda, &beta, C, (int)ldc),
                     msg);
  return TA_CUBLAS(api->sgemm_strided_batched(handle, opB, opA, (int)N, (int)M, (int)K, &one, B,
                                             (int)ldb, (long long)sB, A, (int)lda, (long long)sA,
                                             &beta, C, (int)ldc, (long long)sC, (int)batch),
                   msg);
}

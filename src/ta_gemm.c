/* Portable, deterministic loops: each output element is summed in a fixed order
 * whatever the thread count, so training repeats bitwise. Rows of C are split over
 * OpenMP threads only when the product is large enough to pay for the fork. */
#include <string.h>
#include "ta_gemm.h"

#define TA_PAR_MIN_FLOPS 262144.0

void ta_gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  double flops = (double)M * (double)N * (double)K;
  ptrdiff_t Mi = (ptrdiff_t)M;
  (void)flops;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops > TA_PAR_MIN_FLOPS)
#endif
  for (ptrdiff_t i = 0; i < Mi; i++) {
    const float *a = A + (size_t)i * lda;
    float *c = C + (size_t)i * ldc;
    for (size_t j = 0; j < N; j++) {
      const float *b = B + j * ldb;
      /* four partial sums: lets the compiler keep them in registers and is a fixed order */
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
      size_t k = 0;
      for (; k + 4 <= K; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
      }
      for (; k < K; k++) s0 += a[k] * b[k];
      float s = (s0 + s1) + (s2 + s3);
      c[j] = accumulate ? c[j] + s : s;
    }
  }
}

void ta_gemm_nn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  double flops = (double)M * (double)N * (double)K;
  ptrdiff_t Mi = (ptrdiff_t)M;
  (void)flops;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops > TA_PAR_MIN_FLOPS)
#endif
  for (ptrdiff_t i = 0; i < Mi; i++) {
    const float *a = A + (size_t)i * lda;
    float *c = C + (size_t)i * ldc;
    if (!accumulate) memset(c, 0, N * sizeof(float));
    for (size_t k = 0; k < K; k++) {
      const float aik = a[k];
      const float *b = B + k * ldb;
      for (size_t j = 0; j < N; j++) c[j] += aik * b[j];
    }
  }
}

void ta_gemm_tn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  double flops = (double)M * (double)N * (double)K;
  ptrdiff_t Mi = (ptrdiff_t)M;
  (void)flops;
  /* each thread owns rows i of C and runs k in order: deterministic */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops > TA_PAR_MIN_FLOPS)
#endif
  for (ptrdiff_t i = 0; i < Mi; i++) {
    float *c = C + (size_t)i * ldc;
    if (!accumulate) memset(c, 0, N * sizeof(float));
    for (size_t k = 0; k < K; k++) {
      const float aki = A[k * lda + (size_t)i];
      const float *b = B + k * ldb;
      for (size_t j = 0; j < N; j++) c[j] += aki * b[j];
    }
  }
}

void ta_colsum(float *out, const float *A, size_t lda, size_t M, size_t N, int accumulate) {
  if (!accumulate) memset(out, 0, N * sizeof(float));
  for (size_t i = 0; i < M; i++) {
    const float *a = A + i * lda;
    for (size_t j = 0; j < N; j++) out[j] += a[j];
  }
}

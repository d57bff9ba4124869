/* Small row-major matrix products used by every layer. Leading dimensions let a layer
 * multiply strided rows (one time step of a [B, T, F] buffer) without copying.
 * accumulate = 0 writes C, accumulate = 1 adds into C. Dimensions last. */
#ifndef TA_GEMM_H
#define TA_GEMM_H

#include <stddef.h>

/* C[M,N] (+)= A[M,K] * B[N,K]^T   (forward of a linear map, W stored [out, in]) */
void ta_gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate);
/* C[M,N] (+)= A[M,K] * B[K,N]     (input gradient: dX = dY W) */
void ta_gemm_nn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate);
/* C[M,N] (+)= A[K,M]^T * B[K,N]   (weight gradient: dW += dY^T X) */
void ta_gemm_tn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate);
/* For products repeated with the same B (a recurrent weight at every time step): pack
 * B once into Bp (ta_gemm_packed_size(N, K) floats, the caller's), then
 * C[M,N] (+)= A[M,K] * B through ta_gemm_packed, with the packed kernel whatever M (so a
 * row's result does not depend on how many rows are multiplied with it).
 * ta_gemm_pack_t takes B [N, K] (as ta_gemm_nt), ta_gemm_pack_n B [K, N] (as ta_gemm_nn). */
size_t ta_gemm_packed_size(size_t N, size_t K);
void ta_gemm_pack_t(float *Bp, const float *B, size_t ldb, size_t N, size_t K);
void ta_gemm_pack_n(float *Bp, const float *B, size_t ldb, size_t N, size_t K);
void ta_gemm_packed(float *C, size_t ldc, const float *A, size_t lda, const float *Bp, size_t M,
                    size_t N, size_t K, int accumulate);
/* releases the calling thread's packing buffers (at package unload, and by each thread
 * that ran its own products in a parallel region, at its end) */
void ta_gemm_release(void);
/* out[N] (+)= column sums of A[M,N]  (bias gradient) */
void ta_colsum(float *out, const float *A, size_t lda, size_t M, size_t N, int accumulate);

#endif

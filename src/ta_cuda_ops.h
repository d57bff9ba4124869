/* GPU operations on device pointers (allocated with ta_cuda_malloc), as C functions.
 * Each launches its work on the current device's default stream and returns without
 * waiting (a fault shows at the next synchronising call), except ta_cuda_loss, which
 * brings the loss back. Implemented in ta_gemm_cuda.cu, ta_act_cuda.cu, ta_optim_cuda.cu
 * and ta_loss_cuda.cu; in a CPU-only build cuda_stub.c answers those of TA_CUDA_OPS_API
 * with TA_ERR_NO_CUDA. Shapes and conventions are the CPU core's (ta_gemm.h, ta_math.h, ta_math_train.h, ta_loss.h), so
 * a layer's GPU path is its CPU path with these calls in place of the loops. */
#ifndef TA_CUDA_OPS_H
#define TA_CUDA_OPS_H

#include "ta_cuda.h" /* first: gives ta_common.h C linkage in C++ */
#include "ta_math_train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the three row-major products of ta_gemm.h */
enum {
  TA_GEMM_NT = 0, /* C[M,N] (+)= A[M,K] * B[N,K]^T */
  TA_GEMM_NN = 1, /* C[M,N] (+)= A[M,K] * B[K,N]   */
  TA_GEMM_TN = 2  /* C[M,N] (+)= A[K,M]^T * B[K,N] */
};

/* The operations the .Call glue calls in both builds (its CPU/GPU parity helpers,
 * api_cuda.c), as ta_cuda.h's TA_CUDA_RUNTIME_API: declared here, stubbed in cuda_stub.c. */
#define TA_CUDA_OPS_API(X)                                                                  \
  /* `batch` independent products through cuBLAS (strided-batched when batch > 1, e.g.    \
   * one per attention head): product b reads A + b * sA, B + b * sB and writes            \
   * C + b * sC (strides in floats). accumulate = 0 writes C, 1 adds into it. Exact FP32   \
   * (no TF32), as PyTorch's default. Sizes must fit an int (cuBLAS's API). */              \
  X(int, ta_cuda_gemm,                                                                      \
    (int op, float *C, size_t ldc, size_t sC, const float *A, size_t lda, size_t sA,        \
     const float *B, size_t ldb, size_t sB, size_t M, size_t N, size_t K, size_t batch,     \
     int accumulate, ta_msg *msg), FAIL)                                                    \
  /* out[n] = act(in) and din[n] = dout * act'(in, out), ta_act/ta_act_grad of ta_math.h */ \
  X(int, ta_cuda_act_forward, (float *out, const float *in, size_t n, int act, ta_msg *msg), \
    FAIL)                                                                                   \
  X(int, ta_cuda_act_backward,                                                              \
    (float *din, const float *dout, const float *in, const float *out, size_t n, int act,   \
     ta_msg *msg), FAIL)                                                                    \
  /* inverted dropout: mask[i] = ta_dropout_keep(key, i, rate) (ta_math_train.h) and       \
   * out[i] = in[i] * mask[i] (out may be in); key = ta_rng_next() of the host generator,  \
   * drawn by the caller once per mask */                                                   \
  X(int, ta_cuda_dropout,                                                                   \
    (float *out, float *mask, const float *in, size_t n, float rate, unsigned long long key, \
     ta_msg *msg), FAIL)                                                                    \
  /* one Adam step over n parameters (m and v start zeroed), with the scalars of           \
   * ta_adam_prepare() for this step */                                                     \
  X(int, ta_cuda_adam_step,                                                                 \
    (float *params, const float *grads, float *m, float *v, size_t n,                       \
     const ta_adam_consts *c, ta_msg *msg), FAIL)                                           \
  /* bytes of device workspace ta_cuda_loss needs for n values */                           \
  X(size_t, ta_cuda_loss_workspace, (size_t n), ZERO)                                       \
  /* mean loss over n values (kind TA_LOSS_MSE or TA_LOSS_MAE of ta_loss.h) into *loss,    \
   * dL/dyhat into grad (device, may be NULL). The sum is reduced in a fixed order that    \
   * depends on n only (no atomics), so a run repeats exactly, on any GPU. Waits for the   \
   * result: the one synchronisation of a training step. */                                 \
  X(int, ta_cuda_loss,                                                                      \
    (int kind, double *loss, float *grad, const float *yhat, const float *y, size_t n,      \
     void *work, ta_msg *msg), FAIL)

TA_CUDA_OPS_API(TA_CUDA_DECLARE)

/* out[i] = a[i] * b[i] (out may be a or b): a dropout mask applied again, or its backward */
int ta_cuda_mul(float *out, const float *a, const float *b, size_t n, ta_msg *msg);

/* one SGD step (ta_optim.c's semantics: weight decay, then momentum whose buffer starts
 * as the gradient at step 1, first != 0) over n parameters */
int ta_cuda_sgd_step(float *params, const float *grads, float *buf, size_t n, float lr,
                     float momentum, float weight_decay, int first, ta_msg *msg);

/* scales grads [n] so that their global L2 norm is at most max_norm, as
 * ta_clip_grad_norm (sum of squares in double, coefficient max_norm / (norm + 1e-6)),
 * entirely on the device (no synchronisation): the norm is reduced in a fixed order,
 * like the loss; work has ta_cuda_loss_workspace(n) bytes */
int ta_cuda_clip_grad_norm(float *grads, size_t n, double max_norm, void *work, ta_msg *msg);

/* ta_loss_seq (ta_loss.h) on the GPU: the values [B, T, F] of step t < len[b] only
 * (padding adds nothing and gets a zero gradient), averaged over their count; len_dev
 * [B] on the device and len_host [B] (the same, for the count) on the host; with
 * len_dev NULL, ta_cuda_loss over all B * T * F values. Waits for the result. */
int ta_cuda_loss_seq(int kind, double *loss, float *grad, const float *yhat, const float *y,
                     const int *len_dev, const int *len_host, size_t B, size_t T, size_t F,
                     void *work, ta_msg *msg);

#ifdef __cplusplus
}
#endif

#endif

/* conv1d on the GPU (layer_conv1d.c is the CPU's, which makes cols a block of rows at a
 * time where this stores it whole): the
 * weight reordered to Wr [F, K*I], the input unfolded to cols [B*T_out, K*I] (im2col),
 * z = cols Wr^T through cuBLAS, the bias, the fused activation (ta_act of ta_math.h).
 * Backward: dz (the activation's gradient), dWr = dz^T cols and dcols = dz Wr through
 * cuBLAS, dW gathered back to PyTorch's (i, k) order, the bias gradient as ones^T dz,
 * and col2im as a gather: each input element sums its taps in the CPU's order (output
 * steps ascending), so no two threads write one element and no atomics are needed.
 * The index arithmetic (taps, padding, reordering) is ta_conv.h's, the CPU's own.
 * Sized by ta_conv.h's ta_conv_cache_size / ta_conv_scratch_size:
 * cache: Wr [F, K*I], cols [B*T_out, K*I], z [B*T_out, F] (activation not linear);
 * scratch: dz [B*T_out, F], dcols [B*T_out, K*I], dWr [F, K*I]. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"
#include "ta_conv.h"
#include "ta_math.h"

/* Wr[f, k*I + i] = W[f, i, k], one thread per element */
__global__ void ta_conv_reorder_kernel(float *Wr, const float *W, size_t F, size_t I, size_t K) {
  size_t n = F * I * K;
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n;
       j += (size_t)blockDim.x * gridDim.x) {
    size_t f = j / (I * K), i = j / K % I, k = j % K;
    Wr[ta_conv_wr_index(f, i, k, I, K)] = W[ta_conv_w_index(f, i, k, I, K)];
  }
}

/* dW[f, i, k] += dWr[f, k*I + i], one thread per element (the CPU's loop, element-wise) */
__global__ void ta_conv_dw_kernel(float *dW, const float *dWr, size_t F, size_t I, size_t K) {
  size_t n = F * I * K;
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n;
       j += (size_t)blockDim.x * gridDim.x) {
    size_t f = j / (I * K), i = j / K % I, k = j % K;
    dW[ta_conv_w_index(f, i, k, I, K)] += dWr[ta_conv_wr_index(f, i, k, I, K)];
  }
}

/* cols[(b*To + t), k*I + i] = in[b, t + k - pl, i], 0 in the padding */
__global__ void ta_conv_im2col_kernel(float *cols, const float *in, size_t B, size_t T,
                                      size_t To, size_t I, size_t K, size_t pl) {
  size_t KI = K * I, n = B * To * KI;
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n;
       j += (size_t)blockDim.x * gridDim.x) {
    size_t r = j / KI, c = j % KI, b = r / To, t = r % To, k = c / I, i = c % I, s;
    cols[j] = ta_conv_in_step(&s, t, k, pl, T) ? in[(b * T + s) * I + i] : 0.0f;
  }
}

/* din[b, s, i] = sum over the taps that read it (output steps t ascending, tap
 * k = s + pl - t) of dcols[(b*To + t), k*I + i]: the CPU's scatter, as a gather */
__global__ void ta_conv_col2im_kernel(float *din, const float *dcols, size_t B, size_t T,
                                      size_t To, size_t I, size_t K, size_t pl) {
  size_t KI = K * I, n = B * T * I;
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n;
       j += (size_t)blockDim.x * gridDim.x) {
    size_t b = j / (T * I), s = j / I % T, i = j % I;
    size_t p = s + pl; /* t + k */
    size_t t0 = p >= K - 1 ? p - (K - 1) : 0;
    float acc = 0.0f;
    for (size_t t = t0; t <= p && t < To; t++) {
      size_t src;
      if (ta_conv_in_step(&src, t, p - t, pl, T)) acc += dcols[(b * To + t) * KI + (p - t) * I + i];
    }
    din[j] = acc;
  }
}

static int conv_forward(const ta_layer *L, float *out, float *cache, const float *in,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)ps;
  size_t F = (size_t)L->cfg.conv.filters, I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * I, To = ta_layer_out_time(L, T), R = B * To;
  size_t pl = ta_conv_pad_left(K, L->cfg.conv.padding);
  int act = L->cfg.conv.activation, st;
  const float *W = params, *bias = params + F * KI;
  float *Wr = cache, *cols = cache + F * KI;
  float *z = act == TA_ACT_LINEAR ? out : cols + R * KI;
  if (R == 0) return TA_OK;
  ta_conv_reorder_kernel<<<ta_cuda_blocks(F * KI), TA_CUDA_THREADS>>>(Wr, W, F, I, K);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  ta_conv_im2col_kernel<<<ta_cuda_blocks(R * KI), TA_CUDA_THREADS>>>(cols, in, B, T, To, I, K, pl);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  /* z[R, F] = cols[R, KI] Wr[F, KI]^T */
  if ((st = ta_cuda_gemm(TA_GEMM_NT, z, F, 0, cols, KI, 0, Wr, KI, 0, R, F, KI, 1, 0, msg)))
    return st;
  if (L->cfg.conv.bias && (st = ta_cuda_add_bias(z, F, bias, NULL, R, F, msg))) return st;
  if (act != TA_ACT_LINEAR) return ta_cuda_act_forward(out, z, R * F, act, msg);
  return TA_OK;
}

static int conv_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out, const float *cache,
                         const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                         ta_msg *msg) {
  (void)in; (void)params;
  size_t F = (size_t)L->cfg.conv.filters, I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * I, To = ta_layer_out_time(L, T), R = B * To;
  size_t pl = ta_conv_pad_left(K, L->cfg.conv.padding);
  int act = L->cfg.conv.activation, st;
  const float *Wr = cache, *cols = cache + F * KI;
  float *dz_buf = scratch, *dcols = scratch + R * F, *dWr = dcols + R * KI;
  const float *dz = dout;
  if (R == 0) return TA_OK;
  if (act != TA_ACT_LINEAR) {
    if ((st = ta_cuda_act_backward(dz_buf, dout, cols + R * KI, out, R * F, act, msg))) return st;
    dz = dz_buf;
  }
  /* dWr[F, KI] = dz[R, F]^T cols[R, KI], then added into dW in PyTorch's (i, k) order */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dWr, KI, 0, dz, F, 0, cols, KI, 0, F, KI, R, 1, 0, msg)))
    return st;
  ta_conv_dw_kernel<<<ta_cuda_blocks(F * KI), TA_CUDA_THREADS>>>(dparams, dWr, F, I, K);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  if (L->cfg.conv.bias && (st = ta_cuda_bias_grad(dparams + F * KI, dz, F, R, F, ps, msg)))
    return st;
  if (!din) return TA_OK;
  /* dcols[R, KI] = dz[R, F] Wr[F, KI] */
  if ((st = ta_cuda_gemm(TA_GEMM_NN, dcols, KI, 0, dz, F, 0, Wr, KI, 0, R, KI, F, 1, 0, msg)))
    return st;
  ta_conv_col2im_kernel<<<ta_cuda_blocks(B * T * I), TA_CUDA_THREADS>>>(din, dcols, B, T, To, I,
                                                                         K, pl);
  return TA_CUDA_LAUNCHED(msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_conv1d_ops = {
    ta_conv_cache_size, ta_conv_scratch_size, conv_forward, conv_backward, NULL};

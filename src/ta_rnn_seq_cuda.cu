/* The recurrence of a GRU or LSTM cell over a whole sequence in one kernel launch:
 * forward (every step's cell) and backward through time (every step's cell gradient and
 * dL/dh_{t-1}). ta_rnn_cuda.cu's per-step path launches a cuBLAS product and a cell kernel
 * per step (and two per step backward), so a small cell was launch-bound: about 10 us a
 * step on an H200 where PyTorch's cuDNN takes about 2. Here each block owns one sequence
 * b, keeps W_hh in shared memory for all T steps, and computes h_{t-1} W_hh^T (forward)
 * or da_t W_hh (backward) itself, each element summed in a fixed order (no atomics: a
 * run repeated gives the same bits). The per-unit math is ta_rnn_math.h's, as on the CPU
 * and in ta_rnn_cuda.cu's step kernels; the input projections, the weight and bias
 * gradients and dx stay cuBLAS products over all steps (ta_rnn_cuda.cu).
 *
 * Used when W_hh fits in a block's shared memory (ta_cuda_rnn_seq_fits: GRU up to H = 138
 * and LSTM up to H = 119 on an H100/H200's 227 KiB); larger cells take the per-step path.
 * Layouts as ta_cuda_rnn.h: rows b*T + t of gates [BT, G*H], aux [BT, H], h [BT, H]. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_rnn.h"
#include "ta_cuda_rnn_unit.h"

#define SEQ_MAX_THREADS 256

/* threads per block: one per gate output (the product's rows), in whole warps */
static unsigned seq_threads(size_t GH) {
  size_t n = (GH + 31) / 32 * 32;
  return (unsigned)(n < SEQ_MAX_THREADS ? n : SEQ_MAX_THREADS);
}

/* partial sums of the backward product per unit: the block's threads split the G*H
 * terms of each unit's sum into NP interleaved parts, added in part order after */
static size_t seq_parts(size_t H, unsigned threads) {
  size_t np = threads / H;
  return np < 1 ? 1 : np;
}

/* Every shared array starts at a multiple of 4 floats and is padded to one: the compiler
 * reads a short remainder of a sum with one 16-byte load (LDS.128, seen in the sm_90
 * code of seq_dot_fwd), which past the end of an unpadded h would touch the array after
 * it (a harmless over-read of unused values, but one that compute-sanitizer's racecheck
 * rightly reports against that array's writes). */
TA_HD size_t seq_pad(size_t n) { return (n + 3) & ~(size_t)3; }

/* shared floats: forward W_hh^T [H, GH], h [H], p [GH] (LSTM: c [H]); backward W_hh
 * [GH, H], dh_next [H], da [GH], dz or dc [H], parts [NP, H]; each padded */
static size_t seq_smem(int lstm, size_t H, int backward) {
  size_t GH = (lstm ? 4 : 3) * H;
  if (!backward) return (seq_pad(GH * H) + seq_pad(H) + seq_pad(GH) + (lstm ? seq_pad(H) : 0)) * sizeof(float);
  return (seq_pad(GH * H) + 2 * seq_pad(H) + seq_pad(GH) + seq_pad(seq_parts(H, seq_threads(GH)) * H)) *
         sizeof(float);
}

/* h_{t-1} W_hh^T for output k: sum over j of h[j] Wt[j, k], in four interleaved partial
 * sums (instruction-level parallelism; a fixed order) */
__device__ static float seq_dot_fwd(const float *hs, const float *Wt, size_t GH, size_t H,
                                    size_t k) {
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  size_t j = 0;
  for (; j + 4 <= H; j += 4) {
    s0 += hs[j] * Wt[j * GH + k];
    s1 += hs[j + 1] * Wt[(j + 1) * GH + k];
    s2 += hs[j + 2] * Wt[(j + 2) * GH + k];
    s3 += hs[j + 3] * Wt[(j + 3) * GH + k];
  }
  for (; j < H; j++) s0 += hs[j] * Wt[j * GH + k];
  return (s0 + s1) + (s2 + s3);
}

/* W_hh [GH, H] (global) into shared, transposed (Wt[j, k], so that a warp's threads,
 * consecutive k, read consecutive words) or as it is (W[k, j], read by consecutive j) */
__device__ static void seq_load_w(float *Ws, const float *W, size_t GH, size_t H, int transpose) {
  for (size_t i = threadIdx.x; i < GH * H; i += blockDim.x) {
    size_t k = i / H, j = i % H;
    Ws[transpose ? j * GH + k : i] = W[i];
  }
}

/* p = h_{t-1} W_hh^T of this block's sequence (shared) from h (shared), then a barrier;
 * nothing at t = 0, where p is zero */
__device__ static void seq_step_product(float *ps, const float *hs, const float *Wt, size_t GH,
                                        size_t H, size_t t) {
  if (t == 0) return; /* the same for every thread of the block */
  for (size_t k = threadIdx.x; k < GH; k += blockDim.x) ps[k] = seq_dot_fwd(hs, Wt, GH, H, k);
  __syncthreads();
}

/* GRU forward, block b = sequence b: gates [BT, 3H] in: x W_ih^T + b_ih, out: r, z, n;
 * hn, h [BT, H] out */
__global__ void ta_gru_seq_kernel(float *gates, float *hn, float *h, const float *W_hh,
                                  const float *b_hh, size_t T, size_t H) {
  extern __shared__ __align__(16) float sm[];
  size_t GH = 3 * H, b = blockIdx.x;
  float *Wt = sm, *hs = Wt + seq_pad(GH * H), *ps = hs + seq_pad(H);
  seq_load_w(Wt, W_hh, GH, H, 1);
  __syncthreads();
  for (size_t t = 0; t < T; t++) {
    seq_step_product(ps, hs, Wt, GH, H, t);
    size_t row = b * T + t;
    for (size_t j = threadIdx.x; j < H; j += blockDim.x) /* only this thread reads hs[j] here */
      hs[j] = ta_gru_unit(gates + row * GH, hn + row * H, h + row * H, t > 0 ? ps : NULL, b_hh,
                          t > 0 ? hs[j] : 0.0f, H, j);
    __syncthreads();
  }
}

/* LSTM forward: gates [BT, 4H] in: x W_ih^T + b_ih + b_hh, out: i, f, g, o; c, h [BT, H] */
__global__ void ta_lstm_seq_kernel(float *gates, float *c, float *h, const float *W_hh, size_t T,
                                   size_t H) {
  extern __shared__ __align__(16) float sm[];
  size_t GH = 4 * H, b = blockIdx.x;
  float *Wt = sm, *hs = Wt + seq_pad(GH * H), *ps = hs + seq_pad(H), *cs = ps + seq_pad(GH);
  seq_load_w(Wt, W_hh, GH, H, 1);
  __syncthreads();
  for (size_t t = 0; t < T; t++) {
    seq_step_product(ps, hs, Wt, GH, H, t);
    size_t row = b * T + t;
    for (size_t j = threadIdx.x; j < H; j += blockDim.x) /* only this thread reads hs[j], cs[j] */
      hs[j] = ta_lstm_unit(gates + row * GH, c + row * H, h + row * H, &cs[j], t > 0 ? ps : NULL,
                           t > 0 ? cs[j] : 0.0f, H, j);
    __syncthreads();
  }
}

/* dh_next[j] = sum_k da[k] W[k, j] (+ add[j]): NP interleaved parts per unit, then the
 * parts in order; ends with a barrier */
__device__ static void seq_dot_bwd(float *dh_next, const float *da, const float *W,
                                   const float *add, float *parts, size_t GH, size_t H,
                                   size_t NP) {
  for (size_t i = threadIdx.x; i < NP * H; i += blockDim.x) {
    size_t q = i / H, j = i % H;
    float s = 0.0f;
    for (size_t k = q; k < GH; k += NP) s += da[k] * W[k * H + j];
    parts[q * H + j] = s;
  }
  __syncthreads();
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
    float s = parts[j];
    for (size_t q = 1; q < NP; q++) s += parts[q * H + j];
    dh_next[j] = add ? add[j] + s : s;
  }
  __syncthreads();
}

/* GRU backward through time: dg, dP [BT, 3H] (the input projection's and the recurrent
 * projection's pre-activation gradients) from dH [BT, H], the gradient from above */
__global__ void ta_gru_seq_grad_kernel(float *dg, float *dP, const float *dH, const float *gates,
                                       const float *hn, const float *h, const float *W_hh,
                                       size_t T, size_t H, size_t NP) {
  extern __shared__ __align__(16) float sm[];
  size_t GH = 3 * H, b = blockIdx.x;
  float *Ws = sm, *dhn = Ws + seq_pad(GH * H), *da = dhn + seq_pad(H), *dz = da + seq_pad(GH);
  float *parts = dz + seq_pad(H);
  seq_load_w(Ws, W_hh, GH, H, 0);
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) dhn[j] = 0.0f;
  __syncthreads();
  for (size_t t = T; t-- > 0;) {
    size_t row = b * T + t;
    for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
      float dh = dH[row * H + j] + dhn[j];
      float hprev = t > 0 ? h[(row - 1) * H + j] : 0.0f;
      /* the recurrent projection's gradient into shared da, then its row of dP */
      dz[j] = ta_gru_unit_grad(dg + row * GH, da, gates + row * GH, dh, hn[row * H + j], hprev,
                               H, j);
      for (size_t q = 0; q < 3; q++) dP[row * GH + q * H + j] = da[q * H + j];
    }
    __syncthreads();
    /* dh_{t-1} = dh z + dP_t W_hh */
    if (t > 0) seq_dot_bwd(dhn, da, Ws, dz, parts, GH, H, NP);
  }
}

/* LSTM backward through time: dg [BT, 4H] from dH [BT, H]; dc_add [B, H] (or NULL) joins
 * dL/dc at each sequence's last valid step (t = len[b] - 1; len NULL: T - 1) */
__global__ void ta_lstm_seq_grad_kernel(float *dg, const float *dc_add, const int *len,
                                        const float *dH, const float *gates, const float *c,
                                        const float *W_hh, size_t T, size_t H, size_t NP) {
  extern __shared__ __align__(16) float sm[];
  size_t GH = 4 * H, b = blockIdx.x;
  float *Ws = sm, *dhn = Ws + seq_pad(GH * H), *da = dhn + seq_pad(H), *dcs = da + seq_pad(GH);
  float *parts = dcs + seq_pad(H);
  seq_load_w(Ws, W_hh, GH, H, 0);
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) dhn[j] = dcs[j] = 0.0f;
  size_t lb = T;
  if (dc_add && len) { /* clamped to [0, T], as the layers' valid lengths */
    int l = len[b];
    lb = l < 0 ? 0 : ((size_t)l < T ? (size_t)l : T);
  }
  __syncthreads();
  for (size_t t = T; t-- > 0;) {
    size_t row = b * T + t;
    for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
      float dh = dH[row * H + j] + dhn[j];
      float cprev = t > 0 ? c[(row - 1) * H + j] : 0.0f;
      float dcn = dcs[j];
      if (dc_add && t + 1 == lb) dcn += dc_add[b * H + j];
      /* the gradient into shared da, then its row of dg */
      dcs[j] = ta_lstm_unit_grad(da, gates + row * GH, dh, dcn, c[row * H + j], cprev, H, j);
      for (size_t q = 0; q < 4; q++) dg[row * GH + q * H + j] = da[q * H + j];
    }
    __syncthreads();
    /* dh_{t-1} = dg_t W_hh */
    if (t > 0) seq_dot_bwd(dhn, da, Ws, NULL, parts, GH, H, NP);
  }
}

/* the largest dynamic shared memory a block of the current device may have */
static int smem_limit(size_t *bytes, ta_msg *msg) {
  int dev = 0, v = 0, st;
  if ((st = TA_CUDA(cudaGetDevice(&dev), msg))) return st;
  if ((st = TA_CUDA(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), msg)))
    return st;
  *bytes = v > 0 ? (size_t)v : 0;
  return TA_OK;
}

extern "C" int ta_cuda_rnn_seq_fits(int lstm, size_t H) {
  size_t limit = 0;
  ta_msg msg;
  if (H == 0 || smem_limit(&limit, &msg) != TA_OK) return 0;
  return seq_smem(lstm, H, 0) <= limit && seq_smem(lstm, H, 1) <= limit;
}

/* a kernel's dynamic shared memory above the default 48 KiB must be asked for */
template <typename K> static int allow_smem(K kernel, size_t bytes, ta_msg *msg) {
  if (bytes <= 48 * 1024) return TA_OK;
  return TA_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      (int)bytes),
                 msg);
}

extern "C" int ta_cuda_rnn_seq_forward(int lstm, float *gates, float *aux, float *h,
                                       const float *W_hh, const float *b_hh, size_t B, size_t T,
                                       size_t H, ta_msg *msg) {
  size_t GH = (lstm ? 4 : 3) * H, smem = seq_smem(lstm, H, 0);
  unsigned threads = seq_threads(GH);
  int st;
  if (B == 0 || T == 0) return TA_OK;
  if (B > 2147483647u) return ta_fail(msg, TA_ERR_ARG, "%zu sequences exceed a CUDA grid", B);
  if (lstm) {
    if ((st = allow_smem(ta_lstm_seq_kernel, smem, msg))) return st;
    ta_lstm_seq_kernel<<<(unsigned)B, threads, smem>>>(gates, aux, h, W_hh, T, H);
  } else {
    if ((st = allow_smem(ta_gru_seq_kernel, smem, msg))) return st;
    ta_gru_seq_kernel<<<(unsigned)B, threads, smem>>>(gates, aux, h, W_hh, b_hh, T, H);
  }
  return TA_CUDA_LAUNCHED(msg);
}

extern "C" int ta_cuda_rnn_seq_backward(int lstm, float *dg, float *dP, const float *dH,
                                        const float *gates, const float *aux, const float *h,
                                        const float *W_hh, const float *dc_add, const int *len,
                                        size_t B, size_t T, size_t H, ta_msg *msg) {
  size_t GH = (lstm ? 4 : 3) * H, smem = seq_smem(lstm, H, 1);
  unsigned threads = seq_threads(GH);
  size_t NP = seq_parts(H, threads);
  int st;
  if (B == 0 || T == 0) return TA_OK;
  if (B > 2147483647u) return ta_fail(msg, TA_ERR_ARG, "%zu sequences exceed a CUDA grid", B);
  if (lstm) {
    if ((st = allow_smem(ta_lstm_seq_grad_kernel, smem, msg))) return st;
    ta_lstm_seq_grad_kernel<<<(unsigned)B, threads, smem>>>(dg, dc_add, len, dH, gates, aux, W_hh,
                                                            T, H, NP);
  } else {
    if ((st = allow_smem(ta_gru_seq_grad_kernel, smem, msg))) return st;
    ta_gru_seq_grad_kernel<<<(unsigned)B, threads, smem>>>(dg, dP, dH, gates, aux, h, W_hh, T, H,
                                                           NP);
  }
  return TA_CUDA_LAUNCHED(msg);
}

/* One-dimensional convolution over time (PyTorch nn.Conv1d, stride 1, dilation 1),
 * with an optional fused activation:
 *   z[b,t,f] = bias[f] + sum_{i,k} W[f,i,k] x[b, t+k-pad_left, i]   (zero outside [0,T))
 *   out = act(z)
 * Padding: same   pad_left = (K-1)/2, pad_right = K-1-pad_left, T_out = T
 *          causal pad_left = K-1, T_out = T (no output sees a later input)
 *          valid  no padding, T_out = T-K+1 (0 when T < K: too short)
 * (the index arithmetic is ta_conv.h's, which the GPU's layer_conv1d_cuda.cu uses too)
 * Parameters (PyTorch names and layout): weight [F, I, K], bias [F].
 * As im2col: cols[B*T_out, K*I] (row r = (b,t), column k*I+i = x[b, t+k-pad_left, i], so
 * each (row, k) block is one contiguous input row) times Wr^T, where Wr [F, K*I] is the
 * weight reordered from (i,k) to (k,i) columns; then one gemm does the whole layer.
 * cache: Wr [F, K*I], cols [B*T_out, K*I], z [B*T_out, F] (only when the activation is
 *        not linear; gelu's derivative needs z).
 * scratch: dz [B*T_out, F], dcols [B*T_out, K*I], dWr [F, K*I]. */
#include <math.h>
#include <string.h>
#include "ta_layer.h"
#include "ta_act.h"
#include "ta_math.h"
#include "ta_gemm.h"
#include "ta_conv.h"

static int conv_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  if (s->units < 1)
    return ta_fail(msg, TA_ERR_ARG, "conv1d: filters must be >= 1, not %d", s->units);
  if (s->kernel_size < 1)
    return ta_fail(msg, TA_ERR_ARG, "conv1d: kernel_size must be >= 1, not %d", s->kernel_size);
  if (s->padding < TA_PAD_SAME || s->padding > TA_PAD_VALID)
    return ta_fail(msg, TA_ERR_ARG, "conv1d: unknown padding code %d", s->padding);
  if (s->activation < TA_ACT_LINEAR || s->activation > TA_ACT_GELU)
    return ta_fail(msg, TA_ERR_ARG, "conv1d: unknown activation code %d", s->activation);
  L->cfg.conv.filters = s->units;
  L->cfg.conv.kernel = s->kernel_size;
  L->cfg.conv.padding = s->padding;
  L->cfg.conv.bias = s->bias ? 1 : 0;
  L->cfg.conv.activation = s->activation;
  L->out_dim = s->units;
  L->keeps_time = 1;
  size_t F = (size_t)s->units, KI = (size_t)s->kernel_size * (size_t)L->in_dim;
  L->n_params = F * KI + (s->bias ? F : 0);
  return TA_OK;
}

static size_t conv_pad_left(const ta_layer *L) {
  return ta_conv_pad_left((size_t)L->cfg.conv.kernel, L->cfg.conv.padding);
}

static size_t conv_out_time(const ta_layer *L, size_t T) {
  return ta_conv_out_time(T, (size_t)L->cfg.conv.kernel, L->cfg.conv.padding);
}

static int conv_n_tensors(const ta_layer *L) { return L->cfg.conv.bias ? 2 : 1; }

static void conv_tensor(const ta_layer *L, int k, ta_tensor_info *info) {
  if (k == 0) {
    strcpy(info->name, "weight");
    info->ndim = 3;
    info->dim[0] = L->cfg.conv.filters;
    info->dim[1] = L->in_dim;
    info->dim[2] = L->cfg.conv.kernel;
  } else {
    strcpy(info->name, "bias");
    info->ndim = 1;
    info->dim[0] = L->cfg.conv.filters;
  }
}

static void conv_init(const ta_layer *L, float *params, ta_rng *rng) {
  /* PyTorch: kaiming_uniform(a = sqrt(5)) gives bound 1/sqrt(fan_in), fan_in = I*K,
   * for the weight and the bias alike */
  float bound = 1.0f / sqrtf((float)L->in_dim * (float)L->cfg.conv.kernel);
  ta_fill_uniform(params, L->n_params, bound, rng);
}

/* cols [B*T_out, K*I] from in [B, T, I] */
static void conv_im2col(const ta_layer *L, float *cols, const float *in, size_t B, size_t T) {
  size_t I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel, KI = K * I;
  size_t To = conv_out_time(L, T), pl = conv_pad_left(L);
  for (size_t b = 0; b < B; b++) {
    for (size_t t = 0; t < To; t++) {
      float *row = cols + (b * To + t) * KI;
      for (size_t k = 0; k < K; k++) {
        size_t s;
        if (ta_conv_in_step(&s, t, k, pl, T))
          memcpy(row + k * I, in + (b * T + s) * I, I * sizeof(float));
        else
          memset(row + k * I, 0, I * sizeof(float));
      }
    }
  }
}

static void conv_forward(const ta_layer *L, float *out, float *cache, const float *in,
                         const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)ps;
  size_t F = (size_t)L->cfg.conv.filters, I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * I, R = B * conv_out_time(L, T);
  int act = L->cfg.conv.activation;
  const float *W = params, *bias = params + F * KI;
  float *Wr = cache, *cols = cache + F * KI;
  float *z = act == TA_ACT_LINEAR ? out : cols + R * KI;
  /* Wr[f, k*I + i] = W[f, i, k] */
  for (size_t f = 0; f < F; f++)
    for (size_t i = 0; i < I; i++)
      for (size_t k = 0; k < K; k++)
        Wr[ta_conv_wr_index(f, i, k, I, K)] = W[ta_conv_w_index(f, i, k, I, K)];
  conv_im2col(L, cols, in, B, T);
  ta_gemm_nt(z, F, cols, KI, Wr, KI, R, F, KI, 0); /* z = cols Wr^T */
  if (L->cfg.conv.bias)
    for (size_t r = 0; r < R; r++)
      for (size_t f = 0; f < F; f++) z[r * F + f] += bias[f];
  if (act != TA_ACT_LINEAR)
    ta_act_forward(out, z, R * F, act);
}

static void conv_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                          const float *dout, const float *in, const float *out,
                          const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps; (void)in; (void)params;
  size_t F = (size_t)L->cfg.conv.filters, I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * I, To = conv_out_time(L, T), R = B * To, pl = conv_pad_left(L);
  int act = L->cfg.conv.activation;
  const float *Wr = cache, *cols = cache + F * KI;
  float *dz_buf = scratch, *dcols = scratch + R * F, *dWr = dcols + R * KI;
  const float *dz = dout;
  if (act != TA_ACT_LINEAR) {
    const float *z = cols + R * KI;
    ta_act_backward(dz_buf, dout, z, out, R * F, act);
    dz = dz_buf;
  }
  /* dWr = dz^T cols, then added into dW in PyTorch's (i, k) order */
  ta_gemm_tn(dWr, KI, dz, F, cols, KI, F, KI, R, 0);
  for (size_t f = 0; f < F; f++)
    for (size_t i = 0; i < I; i++)
      for (size_t k = 0; k < K; k++)
        dparams[ta_conv_w_index(f, i, k, I, K)] += dWr[ta_conv_wr_index(f, i, k, I, K)];
  if (L->cfg.conv.bias) ta_colsum(dparams + F * KI, dz, F, R, F, 1); /* db += sum dz */
  if (!din) return;
  ta_gemm_nn(dcols, KI, dz, F, Wr, KI, R, KI, F, 0); /* dcols = dz Wr */
  /* col2im: every (row, k) block adds into one input row; padding positions drop out */
  memset(din, 0, B * T * I * sizeof(float));
  for (size_t b = 0; b < B; b++) {
    for (size_t t = 0; t < To; t++) {
      const float *row = dcols + (b * To + t) * KI;
      for (size_t k = 0; k < K; k++) {
        size_t s;
        if (!ta_conv_in_step(&s, t, k, pl, T)) continue;
        float *d = din + (b * T + s) * I;
        const float *src = row + k * I;
        for (size_t i = 0; i < I; i++) d[i] += src[i];
      }
    }
  }
}

const ta_layer_ops ta_conv1d_ops = {
    .kind = "conv1d",
    .setup = conv_setup,
    .out_time = conv_out_time,
    .cache_size = ta_conv_cache_size,
    .scratch_size = ta_conv_scratch_size,
    .n_tensors = conv_n_tensors,
    .tensor = conv_tensor,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward};

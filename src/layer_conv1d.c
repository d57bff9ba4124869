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
 * weight reordered from (i,k) to (k,i) columns. cols is made and used a block of rows at a
 * time (CONV_BLOCK below), never whole; the forward and the input gradient run on every
 * thread, a block of sequences each. (The GPU's layer_conv1d_cuda.cu stores cols whole:
 * its layout is ta_conv.h's.) */
#include <math.h>
#include <string.h>
#include "ta_layer.h"
#include "ta_act.h"
#include "ta_math.h"
#include "ta_gemm.h"
#include "ta_conv.h"
#include "ta_threads.h"
#include "ta_gemm_kernel.h" /* TA_GEMM_KC */
#include "ta_vec.h"

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

/* rows [r0, r1) and columns [c0, c1) of the im2col matrix cols [B*T_out, K*I] of
 * in [B, T, I], into dst [r1 - r0, c1 - c0] */
static void conv_im2col(const ta_layer *L, float *dst, const float *in, size_t r0, size_t r1,
                        size_t c0, size_t c1, size_t T) {
  size_t I = (size_t)L->in_dim, To = conv_out_time(L, T), pl = conv_pad_left(L), w = c1 - c0;
  for (size_t r = r0; r < r1; r++) {
    size_t b = r / To, t = r % To;
    float *row = dst + (r - r0) * w;
    for (size_t k = c0 / I; k * I < c1; k++) { /* the taps the columns cover */
      size_t lo = k * I > c0 ? k * I : c0, hi = (k + 1) * I < c1 ? (k + 1) * I : c1, s;
      if (ta_conv_in_step(&s, t, k, pl, T))
        memcpy(row + lo - c0, in + (b * T + s) * I + (lo - k * I), (hi - lo) * sizeof(float));
      else
        memset(row + lo - c0, 0, (hi - lo) * sizeof(float));
    }
  }
}

/* The im2col matrix is never stored whole: its rows are made a block of CONV_BLOCK at a
 * time into a slot of the calling thread (slots [n_slots][block rows][K*I]), used while
 * they are in cache (the block's product, col2im) and made again in the backward pass.
 * CONV_BLOCK is ta_gemm's k block (TA_GEMM_KC), so that the weight gradient, summed
 * over the rows block by block into dW, keeps the rounding of one product over all rows
 * (each k block summed from zero, then added), and a block (256 x K*I floats: 320 KB at
 * K*I = 320) stays in L2. The threads take sequences (ta_parallel_rows): at most one
 * slot a sequence and one a processor. */
#define CONV_BLOCK ((size_t)TA_GEMM_KC)

static size_t conv_rows_of(const ta_layer *L, size_t B, size_t T) {
  return B * conv_out_time(L, T);
}
static size_t conv_block_rows(size_t R) { return R < CONV_BLOCK ? R : CONV_BLOCK; }
/* slots for a team over n rows (ta_parallel_rows: at most one thread a row) */
static size_t conv_slots(size_t n) {
  size_t p = (size_t)ta_threads_max();
  return n < p ? (n ? n : 1) : p;
}
static size_t conv_slot_floats(const ta_layer *L, size_t B, size_t T) {
  size_t KI = (size_t)L->cfg.conv.kernel * (size_t)L->in_dim;
  return conv_block_rows(conv_rows_of(L, B, T)) * KI;
}

/* cache: Wr [F, K*I], then z [R, F] (only with an activation: gelu's derivative needs
 * z), then the forward's slots */
static size_t conv_cache_size(const ta_layer *L, size_t B, size_t T) {
  size_t F = (size_t)L->cfg.conv.filters, KI = (size_t)L->cfg.conv.kernel * (size_t)L->in_dim;
  size_t R = conv_rows_of(L, B, T);
  return F * KI + (L->cfg.conv.activation == TA_ACT_LINEAR ? 0 : R * F) +
         conv_slots(B) * conv_slot_floats(L, B, T);
}

/* scratch: dz [R, F], dWr^T [K*I, F] (or dWr [F, K*I], conv_dw_rows), then the backward's
 * slots (the weight gradient's im2col rows, its threads over the K*I rows of dWr^T or
 * the F of dWr; then col2im's dcols rows, its threads over the B sequences) */
static size_t conv_scratch_size(const ta_layer *L, size_t B, size_t T) {
  size_t F = (size_t)L->cfg.conv.filters, KI = (size_t)L->cfg.conv.kernel * (size_t)L->in_dim;
  size_t team = B > KI ? B : KI;
  if (F > team) team = F;
  return conv_rows_of(L, B, T) * F + KI * F + conv_slots(team) * conv_slot_floats(L, B, T);
}

/* What the blocks of sequences share (ta_parallel_rows' ctx). */
typedef struct {
  const ta_layer *L;
  const float *in, *Wr, *bias, *dz;
  float *slots, *z, *out, *din, *dWrT;
  size_t B, T, slot_floats;
} conv_rows;

/* forward of sequences [b0, b1), a block of rows at a time: im2col, z = cols Wr^T, bias
 * and activation (a row's values do not depend on the block: one product per row,
 * summed in ta_gemm's order) */
static void conv_forward_rows(void *ctx, size_t b0, size_t b1) {
  const conv_rows *c = (const conv_rows *)ctx;
  const ta_layer *L = c->L;
  size_t F = (size_t)L->cfg.conv.filters, KI = (size_t)L->cfg.conv.kernel * (size_t)L->in_dim;
  size_t To = conv_out_time(L, c->T), r1 = b1 * To;
  int act = L->cfg.conv.activation;
  float *cols = c->slots + (size_t)ta_thread_slot() * c->slot_floats;
  for (size_t r0 = b0 * To; r0 < r1; r0 += CONV_BLOCK) {
    size_t n = r1 - r0 < CONV_BLOCK ? r1 - r0 : CONV_BLOCK;
    float *z = c->z + r0 * F;
    conv_im2col(L, cols, c->in, r0, r0 + n, 0, KI, c->T);
    ta_gemm_nt(z, F, cols, KI, c->Wr, KI, n, F, KI, 0); /* z = cols Wr^T */
    if (c->bias) ta_add_rows(z, F, c->bias, n, F);
    if (act != TA_ACT_LINEAR) ta_act_forward(c->out + r0 * F, z, n * F, act);
  }
}

static void conv_forward(const ta_layer *L, float *out, float *cache, const float *in,
                         const float *params, const ta_pass *ps, size_t B, size_t T) {
  (void)ps;
  size_t F = (size_t)L->cfg.conv.filters, I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * I, R = conv_rows_of(L, B, T);
  int act = L->cfg.conv.activation;
  const float *W = params;
  float *Wr = cache, *z = act == TA_ACT_LINEAR ? out : cache + F * KI;
  float *slots = cache + F * KI + (act == TA_ACT_LINEAR ? 0 : R * F);
  /* Wr[f, k*I + i] = W[f, i, k] */
  for (size_t f = 0; f < F; f++)
    for (size_t i = 0; i < I; i++)
      for (size_t k = 0; k < K; k++)
        Wr[ta_conv_wr_index(f, i, k, I, K)] = W[ta_conv_w_index(f, i, k, I, K)];
  conv_rows c = {L, in, Wr, L->cfg.conv.bias ? params + F * KI : NULL, NULL, slots, z, out,
                 NULL, NULL, B, T, conv_slot_floats(L, B, T)};
  ta_parallel_rows(conv_forward_rows, &c, B, 2.0 * (double)R * (double)F * (double)KI);
}

/* The weight gradient, a block of CONV_BLOCK rows of cols at a time (the first written,
 * the others added: the sums and rounding of one product over all rows, whatever the
 * split of its rows over the threads). Usually as dWr^T [KI, F] = cols^T dz, rows
 * [m0, m1) of dWr^T a thread, which reads the block's im2col columns [m0, m1) in place
 * and packs only dz; when K*I < F (a first layer on few features, whose K*I rows are too
 * few for the packed kernel) as dWr [F, KI] = dz^T cols, rows [m0, m1) of dWr (filters)
 * a thread. Both are the same products summed in the same order. */
static int conv_dw_by_filter(size_t KI, size_t F) { return KI < F; }

static void conv_dw_rows(void *ctx, size_t m0, size_t m1) {
  const conv_rows *c = (const conv_rows *)ctx;
  const ta_layer *L = c->L;
  size_t F = (size_t)L->cfg.conv.filters, KI = (size_t)L->cfg.conv.kernel * (size_t)L->in_dim;
  size_t R = conv_rows_of(L, c->B, c->T), w = m1 - m0;
  int by_f = conv_dw_by_filter(KI, F);
  float *cols = c->slots + (size_t)ta_thread_slot() * c->slot_floats;
  float *dw = c->dWrT + m0 * (by_f ? KI : F);
  for (size_t r0 = 0; r0 < R; r0 += CONV_BLOCK) {
    size_t n = R - r0 < CONV_BLOCK ? R - r0 : CONV_BLOCK;
    if (by_f) {
      conv_im2col(L, cols, c->in, r0, r0 + n, 0, KI, c->T);
      ta_gemm_tn(dw, KI, c->dz + r0 * F + m0, F, cols, KI, w, KI, n, r0 > 0);
    } else {
      conv_im2col(L, cols, c->in, r0, r0 + n, m0, m1, c->T);
      ta_gemm_tn(dw, F, cols, w, c->dz + r0 * F, F, w, F, n, r0 > 0);
    }
  }
  if (R == 0) memset(dw, 0, w * (by_f ? KI : F) * sizeof(float));
}

/* input gradient of sequences [b0, b1), a block of rows at a time: dcols = dz Wr, then
 * col2im while the block is in cache. Every (row, k) block of dcols adds into one input
 * row, rows in order, then taps in order (the same sums whatever the blocks, which split
 * no row); padding positions drop out. */
static void conv_din_rows(void *ctx, size_t b0, size_t b1) {
  const conv_rows *c = (const conv_rows *)ctx;
  const ta_layer *L = c->L;
  size_t F = (size_t)L->cfg.conv.filters, I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * I, T = c->T, To = conv_out_time(L, T), pl = conv_pad_left(L), r1 = b1 * To;
  float *dcols = c->slots + (size_t)ta_thread_slot() * c->slot_floats;
  memset(c->din + b0 * T * I, 0, (b1 - b0) * T * I * sizeof(float));
  for (size_t r0 = b0 * To; r0 < r1; r0 += CONV_BLOCK) {
    size_t n = r1 - r0 < CONV_BLOCK ? r1 - r0 : CONV_BLOCK;
    ta_gemm_nn(dcols, KI, c->dz + r0 * F, F, c->Wr, KI, n, KI, F, 0);
    for (size_t r = r0; r < r0 + n; r++) {
      size_t b = r / To, t = r % To;
      const float *row = dcols + (r - r0) * KI;
      for (size_t k = 0; k < K; k++) {
        size_t s;
        if (!ta_conv_in_step(&s, t, k, pl, T)) continue;
        ta_add(c->din + (b * T + s) * I, row + k * I, I); /* -O2 left the loop scalar */
      }
    }
  }
}

static void conv_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                          const float *dout, const float *in, const float *out,
                          const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps; (void)params;
  size_t F = (size_t)L->cfg.conv.filters, I = (size_t)L->in_dim, K = (size_t)L->cfg.conv.kernel;
  size_t KI = K * I, R = conv_rows_of(L, B, T);
  int act = L->cfg.conv.activation;
  const float *Wr = cache;
  float *dz_buf = scratch, *dWrT = scratch + R * F, *slots = dWrT + KI * F;
  const float *dz = dout;
  if (act != TA_ACT_LINEAR) {
    const float *z = cache + F * KI;
    ta_act_backward(dz_buf, dout, z, out, R * F, act);
    dz = dz_buf;
  }
  /* the weight gradient, its rows over the threads; then added into dW in PyTorch's
   * (i, k) order */
  conv_rows c = {L, in, Wr, NULL, dz, slots, NULL, NULL, din, dWrT, B, T,
                 conv_slot_floats(L, B, T)};
  int by_f = conv_dw_by_filter(KI, F);
  ta_parallel_rows(conv_dw_rows, &c, by_f ? F : KI, 2.0 * (double)R * (double)F * (double)KI);
  for (size_t f = 0; f < F; f++)
    for (size_t i = 0; i < I; i++)
      for (size_t k = 0; k < K; k++)
        dparams[ta_conv_w_index(f, i, k, I, K)] +=
            by_f ? dWrT[ta_conv_wr_index(f, i, k, I, K)] : dWrT[(k * I + i) * F + f];
  if (L->cfg.conv.bias) ta_colsum(dparams + F * KI, dz, F, R, F, 1); /* db += sum dz */
  if (!din) return;
  ta_parallel_rows(conv_din_rows, &c, B, 2.0 * (double)R * (double)F * (double)KI);
}

const ta_layer_ops ta_conv1d_ops = {
    .kind = "conv1d",
    .setup = conv_setup,
    .out_time = conv_out_time,
    .cache_size = conv_cache_size,
    .scratch_size = conv_scratch_size,
    .n_tensors = conv_n_tensors,
    .tensor = conv_tensor,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward};

/* LSTM (stacked), PyTorch's equations with gate order i, f, g, o:
 *   [i, f, g, o] = [sigmoid, sigmoid, tanh, sigmoid](x W_ih^T + b_ih + h W_hh^T + b_hh)
 *   c' = f * c + i * g;   h' = o * tanh(c'),    h_0 = c_0 = 0
 * cache per cell l (BT = B*T): gates [BT, 4H] after activation, c [BT, H], h [BT, H],
 *   and when dropout follows the cell: mask [BT, H], hd [BT, H]; then one hp [B, 4H] and
 *   W_hh packed for the step products [ta_gemm_packed_size(4H, H)].
 * scratch: dH [BT, H], dg [BT, 4H], dhnext [B, H], dcnext [B, H], zero [H] (c_{-1}),
 *   dg0 [B, 4H] (step 0's rows, set aside while dW_hh is one product over all steps),
 *   W_hh packed [ta_gemm_packed_size(H, 4H)].
 * The gradient of the pre-activations is the same for the x and the h projections,
 * so dg's rows of step t serve both GEMMs. */
#include "ta_simd.h" /* first: see there */
#include <string.h>
#include "ta_rnn.h"
#include "ta_rnn_math.h" /* the cell formulas, shared with ta_rnn_cuda.cu */
#include "ta_gemm.h"
#include "ta_threads.h"

#define G 4

static int lstm_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  return ta_rnn_setup(L, s, G, "lstm", msg);
}
static size_t lstm_cache(const ta_layer *L, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  return ta_rnn_cells_size(L, G, B * T) + B * G * H + ta_gemm_packed_size(G * H, H);
}
static size_t lstm_scratch(const ta_layer *L, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  return B * T * H + B * T * G * H + 2 * B * H + H + B * G * H + ta_gemm_packed_size(H, G * H);
}
static void lstm_tensor(const ta_layer *L, int k, ta_tensor_info *info) { ta_rnn_tensor(L, G, k, info); }

/* One cell's recurrence over every step, for sequences [b0, b1) (ta_parallel_rows). */
TA_SIMD_CLONES static void lstm_forward_rows(void *ctx, size_t b0, size_t b1) {
  const ta_rnn_steps *k = ctx;
  ta_rnn_cell c = k->c;
  size_t T = k->T, H = k->H, GH = G * H;
  for (size_t t = 0; t < T; t++) {
    if (ta_pass_stopped(k->ps)) break; /* an interrupt: this pass is discarded */
    /* hp = h_{t-1} W_hh^T, all zeros at t = 0 (h_{-1} = c_{-1} = 0, and its first H
     * floats then stand for c_{-1}: no NULL, no branch in the loop below) */
    ta_rnn_step_product(k, G, b0, b1, t);
    for (size_t b = b0; b < b1; b++) {
      size_t row = b * T + t;
      float *g = c.gates + row * GH;
      const float *p = k->hp + b * GH;
      const float *cprev = t > 0 ? c.aux + (row - 1) * H : p;
      /* branch-free gate math (ta_math.h): vectorised over j */
#ifdef _OPENMP
#pragma omp simd
#endif
      for (size_t j = 0; j < H; j++) {
        float ii, ff, gg, oo, cc;
        float h = ta_lstm_cell(&ii, &ff, &gg, &oo, &cc, g[j] + p[j], g[H + j] + p[H + j],
                               g[2 * H + j] + p[2 * H + j], g[3 * H + j] + p[3 * H + j],
                               cprev[j]);
        g[j] = ii;
        g[H + j] = ff;
        g[2 * H + j] = gg;
        g[3 * H + j] = oo;
        c.aux[row * H + j] = cc;
        c.h[row * H + j] = h;
      }
    }
  }
}

TA_SIMD_CLONES static void lstm_backward_rows(void *ctx, size_t b0, size_t b1) {
  const ta_rnn_steps *k = ctx;
  ta_rnn_cell c = k->c;
  size_t T = k->T, H = k->H, GH = G * H, nb = b1 - b0;
  memset(k->dhnext + b0 * H, 0, nb * H * sizeof(float));
  memset(k->dcnext + b0 * H, 0, nb * H * sizeof(float));
  for (size_t t = T; t-- > 0;) {
    if (ta_pass_stopped(k->ps)) break; /* an interrupt: this pass is discarded */
    for (size_t b = b0; b < b1; b++) {
      size_t row = b * T + t;
      const float *g = c.gates + row * GH, *cr = c.aux + row * H, *dHr = k->dH + row * H;
      const float *cprev = t > 0 ? c.aux + (row - 1) * H : k->zero;
      float *dgr = k->dg + row * GH, *dhn = k->dhnext + b * H, *dcn = k->dcnext + b * H;
#ifdef _OPENMP
#pragma omp simd
#endif
      for (size_t j = 0; j < H; j++) {
        float dai, daf, dag, dao;
        dcn[j] = ta_lstm_cell_grad(&dai, &daf, &dag, &dao, dHr[j] + dhn[j], dcn[j], g[j],
                                   g[H + j], g[2 * H + j], g[3 * H + j], cr[j], cprev[j]);
        dgr[j] = dai;
        dgr[H + j] = daf;
        dgr[2 * H + j] = dag;
        dgr[3 * H + j] = dao;
      }
    }
    /* dh_{t-1} = dg_t W_hh (rows b*T + t: stride T*4H) */
    if (t > 0)
      ta_gemm_packed(k->dhnext + b0 * H, H, k->dg + (b0 * T + t) * GH, T * GH, k->Wp, nb, H, GH, 0);
  }
}

TA_SIMD_CLONES static void lstm_forward(const ta_layer *L, float *out, float *cache, const float *in,
                         const float *params, const ta_pass *ps, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden, BT = B * T, GH = G * H;
  float *hp = cache + ta_rnn_cells_size(L, G, BT), *Wp = hp + B * G * H;
  const float *x = in;
  ta_rnn_cell c = {0};
  for (int l = 0; l < L->cfg.rnn.num_layers; l++) {
    size_t I = ta_rnn_in(L, l);
    const float *W_ih = params + ta_rnn_param_offset(L, G, l);
    const float *W_hh = W_ih + GH * I, *b_ih = W_hh + GH * H, *b_hh = b_ih + GH;
    c = ta_rnn_cell_at(L, G, cache, l, BT);
    ta_gemm_nt(c.gates, GH, x, I, W_ih, I, BT, GH, I, 0);
    for (size_t r = 0; r < BT; r++)
      for (size_t j = 0; j < GH; j++) c.gates[r * GH + j] += b_ih[j] + b_hh[j];
    ta_gemm_pack_t(Wp, W_hh, H, GH, H);
    ta_rnn_steps k = {.c = c, .hp = hp, .Wp = Wp, .ps = ps, .T = T, .H = H};
    ta_parallel_rows(lstm_forward_rows, &k, B, 2.0 * (double)BT * (double)GH * (double)H);
    x = ta_rnn_next_input(L, &c, ps, BT);
  }
  ta_rnn_emit(L, out, c.h, B, T);
}

TA_SIMD_CLONES static void lstm_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                          const float *dout, const float *in, const float *out,
                          const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps;
  (void)out;
  size_t H = (size_t)L->cfg.rnn.hidden, BT = B * T, GH = G * H;
  float *dH = scratch, *dg = dH + BT * H, *dhnext = dg + BT * GH, *dcnext = dhnext + B * H;
  float *zero = dcnext + B * H, *dg0 = zero + H, *Wp = dg0 + B * GH;
  memset(zero, 0, H * sizeof(float));
  ta_rnn_collect(L, dH, dout, B, T);
  for (int l = L->cfg.rnn.num_layers - 1; l >= 0; l--) {
    size_t I = ta_rnn_in(L, l), off = ta_rnn_param_offset(L, G, l);
    const float *W_ih = params + off, *W_hh = W_ih + GH * I;
    float *dW_ih = dparams + off, *dW_hh = dW_ih + GH * I, *db_ih = dW_hh + GH * H;
    float *db_hh = db_ih + GH;
    ta_rnn_cell c = ta_rnn_cell_at(L, G, (float *)cache, l, BT);
    const float *x = in;
    if (l > 0) {
      ta_rnn_cell below = ta_rnn_cell_at(L, G, (float *)cache, l - 1, BT);
      x = below.hd ? below.hd : below.h;
    }
    ta_gemm_pack_n(Wp, W_hh, H, H, GH);
    ta_rnn_steps k = {.c = c, .dH = dH, .dg = dg, .dhnext = dhnext, .dcnext = dcnext,
                      .zero = zero, .Wp = Wp, .ps = ps, .T = T, .H = H};
    ta_parallel_rows(lstm_backward_rows, &k, B, 2.0 * (double)BT * (double)GH * (double)H);
    /* dW_hh[4H, H] += sum_t dg_t^T h_{t-1} as one product: row r of dg (r >= 1) meets
     * row r - 1 of h, h_{t-1} of the same sequence, except at t = 0, whose rows are set
     * aside and zeroed for it (h_{-1} = 0) and put back after */
    for (size_t b = 0; b < B; b++) {
      memcpy(dg0 + b * GH, dg + b * T * GH, GH * sizeof(float));
      memset(dg + b * T * GH, 0, GH * sizeof(float));
    }
    if (BT > 1) ta_gemm_tn(dW_hh, H, dg + GH, GH, c.h, H, GH, H, BT - 1, 1);
    for (size_t b = 0; b < B; b++) memcpy(dg + b * T * GH, dg0 + b * GH, GH * sizeof(float));
    ta_gemm_tn(dW_ih, I, dg, GH, x, I, GH, I, BT, 1);
    ta_colsum(db_ih, dg, GH, BT, GH, 1);
    ta_colsum(db_hh, dg, GH, BT, GH, 1);
    if (l > 0) {
      ta_rnn_cell below = ta_rnn_cell_at(L, G, (float *)cache, l - 1, BT);
      ta_gemm_nn(dH, H, dg, GH, W_ih, I, BT, H, GH, 0);
      if (below.mask)
        for (size_t i = 0; i < BT * H; i++) dH[i] *= below.mask[i];
    } else if (din) {
      ta_gemm_nn(din, I, dg, GH, W_ih, I, BT, I, GH, 0);
    }
  }
}

const ta_layer_ops ta_lstm_ops = {
    .kind = "lstm",
    .setup = lstm_setup,
    .cache_size = lstm_cache,
    .scratch_size = lstm_scratch,
    .n_tensors = ta_rnn_n_tensors,
    .tensor = lstm_tensor,
    .init = ta_rnn_init,
    .forward = lstm_forward,
    .backward = lstm_backward};

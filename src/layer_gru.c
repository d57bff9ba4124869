/* GRU (stacked), PyTorch's equations with gate order r, z, n:
 *   r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
 *   z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
 *   n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
 *   h' = (1 - z) * n + z * h,    h_0 = 0
 * The input projections of all time steps are one GEMM; each step then multiplies
 * only the previous hidden state.
 * cache per cell l (BT = B*T):  gates [BT, 3H] (r, z, n after activation),
 *   hn [BT, H] (h W_hn^T + b_hn, needed by dr), h [BT, H], and when dropout follows the
 *   cell: mask [BT, H], hd [BT, H] (the next cell's input); then one hp [B, 3H] and W_hh
 *   packed for the step products [ta_gemm_packed_size(3H, H)] (packed once per cell,
 *   multiplied T times).
 * scratch: dH [BT, H], dg [BT, 3H], dP [BT, 3H] (the gradients of the h projection:
 *   one GEMM gives dW_hh after the loop instead of one per step), dhcur [B, H],
 *   dhnext [B, H], zero [H] (h_{-1}), W_hh packed [ta_gemm_packed_size(H, 3H)]. */
#include "ta_simd.h" /* first: see there */
#include <string.h>
#include "ta_rnn.h"
#include "ta_rnn_math.h" /* the cell formulas, shared with ta_rnn_cuda.cu */
#include "ta_gemm.h"
#include "ta_vec.h"
#include "ta_threads.h"

#define G 3

static int gru_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  return ta_rnn_setup(L, s, G, "gru", msg);
}
static size_t gru_cache(const ta_layer *L, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  return ta_rnn_cells_size(L, G, B * T) + B * G * H + ta_gemm_packed_size(G * H, H);
}
static size_t gru_scratch(const ta_layer *L, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  return B * T * H + 2 * B * T * G * H + 2 * B * H + H + ta_gemm_packed_size(H, G * H);
}
static void gru_tensor(const ta_layer *L, int k, ta_tensor_info *info) { ta_rnn_tensor(L, G, k, info); }

/* One cell's recurrence over every step, for sequences [b0, b1) (ta_parallel_rows). */
TA_SIMD_CLONES static void gru_forward_rows(void *ctx, size_t b0, size_t b1) {
  const ta_rnn_steps *k = ctx;
  ta_rnn_cell c = k->c;
  size_t T = k->T, H = k->H, GH = G * H;
  const float *b_hh = k->b_hh;
  for (size_t t = 0; t < T; t++) {
    if (ta_pass_stopped(k->ps)) break; /* an interrupt: this pass is discarded */
    /* hp[b, 3H] = h_{t-1} W_hh^T (h_{-1} = 0); the cell adds b_hh */
    ta_rnn_step_product(k, G, b0, b1, t);
    for (size_t b = b0; b < b1; b++) {
      size_t row = b * T + t;
      float *g = c.gates + row * GH, *p = k->hp + b * GH;
      /* h_{-1} = 0: at t = 0 hp is all zeros, so its first H floats serve (a pointer
       * that is never NULL keeps the loop below free of branches) */
      const float *hprev = t > 0 ? c.h + (row - 1) * H : p;
      /* branch-free gate math (ta_math.h): vectorised over j */
#ifdef _OPENMP
#pragma omp simd
#endif
      for (size_t j = 0; j < H; j++) {
        float rr, zz, nn, hn;
        float h = ta_gru_cell(&rr, &zz, &nn, &hn, g[j], g[H + j], g[2 * H + j], p[j], p[H + j],
                              p[2 * H + j], b_hh[j], b_hh[H + j], b_hh[2 * H + j], hprev[j]);
        g[j] = rr;
        g[H + j] = zz;
        g[2 * H + j] = nn;
        c.aux[row * H + j] = hn;
        c.h[row * H + j] = h;
      }
    }
  }
}

TA_SIMD_CLONES static void gru_forward(const ta_layer *L, float *out, float *cache, const float *in,
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
    /* gates[BT, 3H] = x W_ih^T + b_ih for every step at once */
    ta_gemm_nt(c.gates, GH, x, I, W_ih, I, BT, GH, I, 0);
    ta_add_rows(c.gates, GH, b_ih, BT, GH);
    ta_gemm_pack_t(Wp, W_hh, H, GH, H);
    ta_rnn_steps k = {.c = c, .hp = hp, .Wp = Wp, .b_hh = b_hh, .ps = ps, .T = T, .H = H};
    ta_parallel_rows(gru_forward_rows, &k, B, 2.0 * (double)BT * (double)GH * (double)H);
    x = ta_rnn_next_input(L, &c, ps, BT);
  }
  ta_rnn_emit(L, out, c.h, B, T);
}

/* One cell's backward recurrence over every step, for sequences [b0, b1). */
TA_SIMD_CLONES static void gru_backward_rows(void *ctx, size_t b0, size_t b1) {
  const ta_rnn_steps *k = ctx;
  ta_rnn_cell c = k->c;
  size_t T = k->T, H = k->H, GH = G * H, nb = b1 - b0;
  memset(k->dhnext + b0 * H, 0, nb * H * sizeof(float));
  for (size_t t = T; t-- > 0;) {
    if (ta_pass_stopped(k->ps)) break; /* an interrupt: this pass is discarded */
    for (size_t b = b0; b < b1; b++) {
      size_t row = b * T + t;
      const float *g = c.gates + row * GH, *hn = c.aux + row * H;
      const float *hprev = t > 0 ? c.h + (row - 1) * H : k->zero;
      float *dgr = k->dg + row * GH, *dp = k->dP + row * GH;
      const float *dHr = k->dH + row * H, *dnx = k->dhnext + b * H;
      float *dcur = k->dhcur + b * H;
#ifdef _OPENMP
#pragma omp simd
#endif
      for (size_t j = 0; j < H; j++) {
        float dar, daz, dan, rr = g[j];
        /* returns the direct path h -> h' */
        dcur[j] = ta_gru_cell_grad(&dar, &daz, &dan, dHr[j] + dnx[j], rr, g[H + j],
                                   g[2 * H + j], hn[j], hprev[j]);
        dgr[j] = dar;
        dgr[H + j] = daz;
        dgr[2 * H + j] = dan;
        dp[j] = dar;
        dp[H + j] = daz;
        dp[2 * H + j] = dan * rr;
      }
    }
    /* dh_{t-1} = dh z + dP_t W_hh (rows b*T + t: stride T*3H) */
    if (t > 0)
      ta_gemm_packed(k->dhcur + b0 * H, H, k->dP + (b0 * T + t) * GH, T * GH, k->Wp, nb, H, GH, 1);
    memcpy(k->dhnext + b0 * H, k->dhcur + b0 * H, nb * H * sizeof(float));
  }
}

TA_SIMD_CLONES static void gru_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                         const float *dout, const float *in, const float *out,
                         const float *cache, const float *params, const ta_pass *ps,
                          size_t B, size_t T) {
  (void)ps;
  (void)out;
  size_t H = (size_t)L->cfg.rnn.hidden, BT = B * T, GH = G * H;
  float *dH = scratch, *dg = dH + BT * H, *dP = dg + BT * GH, *dhcur = dP + BT * GH;
  float *dhnext = dhcur + B * H, *zero = dhnext + B * H, *Wp = zero + H;
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
    ta_rnn_steps k = {.c = c, .dH = dH, .dg = dg, .dP = dP, .dhcur = dhcur, .dhnext = dhnext,
                      .zero = zero, .Wp = Wp, .ps = ps, .T = T, .H = H};
    ta_parallel_rows(gru_backward_rows, &k, B, 2.0 * (double)BT * (double)GH * (double)H);
    /* db_hh over every step; dW_hh[3H, H] += sum_t dP_t^T h_{t-1} as one product: row r
     * of dP (r >= 1) meets row r - 1 of h, which is h_{t-1} of the same sequence, except
     * at t = 0, where the rows of dP are zeroed first (h_{-1} = 0) */
    ta_colsum(db_hh, dP, GH, BT, GH, 1);
    for (size_t b = 0; b < B; b++) memset(dP + b * T * GH, 0, GH * sizeof(float));
    if (BT > 1) ta_gemm_tn(dW_hh, H, dP + GH, GH, c.h, H, GH, H, BT - 1, 1);
    ta_gemm_tn(dW_ih, I, dg, GH, x, I, GH, I, BT, 1);
    ta_colsum(db_ih, dg, GH, BT, GH, 1);
    if (l > 0) {
      /* the cell below receives dx through its dropout mask */
      ta_rnn_cell below = ta_rnn_cell_at(L, G, (float *)cache, l - 1, BT);
      ta_gemm_nn(dH, H, dg, GH, W_ih, I, BT, H, GH, 0);
      if (below.mask)
        for (size_t i = 0; i < BT * H; i++) dH[i] *= below.mask[i];
    } else if (din) {
      ta_gemm_nn(din, I, dg, GH, W_ih, I, BT, I, GH, 0);
    }
  }
}

const ta_layer_ops ta_gru_ops = {
    .kind = "gru",
    .setup = gru_setup,
    .cache_size = gru_cache,
    .scratch_size = gru_scratch,
    .n_tensors = ta_rnn_n_tensors,
    .tensor = gru_tensor,
    .init = ta_rnn_init,
    .forward = gru_forward,
    .backward = gru_backward};

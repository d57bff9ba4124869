/* GRU and LSTM cells (stacked, PyTorch's equations and parameter layout: see ta_rnn.h,
 * layer_gru.c and layer_lstm.c) on the GPU, for the GRU and LSTM layers
 * (layer_gru_cuda.cu, layer_lstm_cuda.cu) and seq2seq's encoder and decoder. Per cell: the input projections of all
 * time steps are one cuBLAS product; then, where W_hh fits in a block's shared memory,
 * the whole recurrence is one launch (ta_rnn_seq_cuda.cu, forward and backward); else each
 * step multiplies only h_{t-1} by W_hh (one product over the batch) and runs one fused
 * kernel. Either way the per-unit math is ta_gru_cell / ta_lstm_cell (ta_rnn_math.h, on
 * ta_math.h), the CPU's formulas.
 * Backward walks the steps in reverse with the fused ta_*_cell_grad kernels and the
 * product dh_{t-1} += da_t W_hh; the weight gradients are one product each over all
 * steps, and the bias gradients ones^T dA (no atomics anywhere: a fixed order).
 * Inter-layer dropout (training only, as PyTorch) multiplies a lower cell's h by a
 * device mask (ta_cuda_dropout, one key from the host generator per cell) before the
 * cell above reads it; backward multiplies that cell's input gradient by the mask.
 *
 * Device cache per cell l (BT = B*T): gates [BT, G*H] after activation, aux [BT, H]
 *   (GRU: hn = h W_hn^T + b_hn; LSTM: the cell state c), h [BT, H]; then hp [B, G*H];
 *   then, with inter-layer dropout, per cell below the top: mask and hd = h * mask
 *   [BT, H] each.
 * Device scratch: dH [BT, H], dg [BT, G*H] (pre-activation gradients), for the GRU dP
 *   [BT, 3H] (the recurrent projection's, whose n part is da_n * r), dh0, dh1 [B, H]
 *   (dL/dh_{t-1}, two so one step reads while the next is written), dc [B, H]. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"
#include "ta_cuda_rnn.h"
#include "ta_cuda_rnn_unit.h"

#define GRU_G 3
#define LSTM_G 4

static int gates_of(const ta_layer *L) { return L->ops == &ta_lstm_ops ? LSTM_G : GRU_G; }

/* the unit (b, j) of step t handled by flat index i < B*H */
#define STEP_LOOP(i, n)                                                              \
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n);            \
       i += (size_t)blockDim.x * gridDim.x)

/* gates [BT, 3H] in: x W_ih^T + b_ih, out: r, z, n; hn, h [BT, H]; hp [B, 3H] = h_{t-1}
 * W_hh^T (not read at t = 0, where it is zero); b_hh [3H] */
__global__ void ta_gru_step_kernel(float *gates, float *hn, float *h, const float *hp,
                                   const float *b_hh, size_t B, size_t T, size_t H, size_t t) {
  STEP_LOOP(i, B * H) {
    size_t b = i / H, j = i % H, row = b * T + t, GH = 3 * H;
    float hprev = t > 0 ? h[(row - 1) * H + j] : 0.0f;
    ta_gru_unit(gates + row * GH, hn + row * H, h + row * H, t > 0 ? hp + b * GH : NULL, b_hh,
                hprev, H, j);
  }
}

/* dg, dP [BT, 3H] rows of step t; dh_out [B, H] = dh * z (the W_hh part is added by a
 * product after); dH [BT, H] from above, dh_next [B, H] from step t+1 */
__global__ void ta_gru_step_grad_kernel(float *dg, float *dP, float *dh_out, const float *dH,
                                        const float *dh_next, const float *gates,
                                        const float *hn, const float *h, size_t B, size_t T,
                                        size_t H, size_t t) {
  STEP_LOOP(i, B * H) {
    size_t b = i / H, j = i % H, row = b * T + t, GH = 3 * H;
    float dh = dH[row * H + j] + dh_next[b * H + j];
    float hprev = t > 0 ? h[(row - 1) * H + j] : 0.0f;
    dh_out[b * H + j] = ta_gru_unit_grad(dg + row * GH, dP + row * GH, gates + row * GH, dh,
                                         hn[row * H + j], hprev, H, j);
  }
}

/* gates [BT, 4H] in: x W_ih^T + b_ih + b_hh, out: i, f, g, o; c, h [BT, H]; hp [B, 4H] */
__global__ void ta_lstm_step_kernel(float *gates, float *c, float *h, const float *hp, size_t B,
                                    size_t T, size_t H, size_t t) {
  STEP_LOOP(i, B * H) {
    size_t b = i / H, j = i % H, row = b * T + t, GH = 4 * H;
    float cprev = t > 0 ? c[(row - 1) * H + j] : 0.0f, c_t;
    ta_lstm_unit(gates + row * GH, c + row * H, h + row * H, &c_t, t > 0 ? hp + b * GH : NULL,
                 cprev, H, j);
  }
}

/* dg [BT, 4H] rows of step t; dc [B, H] in: dL/dc_t from step t+1, out: dL/dc_{t-1};
 * dH [BT, H] from above, dh_next [B, H] = dg_{t+1} W_hh; dc_add [B, H] (or NULL) is
 * added to dc at the last valid step of each sequence (t = len[b] - 1; len NULL: T) */
__global__ void ta_lstm_step_grad_kernel(float *dg, float *dc, const float *dc_add,
                                         const int *len, const float *dH,
                                         const float *dh_next, const float *gates,
                                         const float *c, size_t B, size_t T, size_t H,
                                         size_t t) {
  STEP_LOOP(i, B * H) {
    size_t b = i / H, j = i % H, row = b * T + t, GH = 4 * H;
    float dh = dH[row * H + j] + dh_next[b * H + j];
    float cprev = t > 0 ? c[(row - 1) * H + j] : 0.0f;
    float dcn = dc[b * H + j];
    if (dc_add) {
      int l = len ? len[b] : (int)T; /* clamped to [0, T], as the layers' valid lengths */
      size_t lb = l < 0 ? 0 : ((size_t)l < T ? (size_t)l : T);
      if (t + 1 == lb) dcn += dc_add[b * H + j];
    }
    dc[b * H + j] = ta_lstm_unit_grad(dg + row * GH, gates + row * GH, dh, dcn, c[row * H + j],
                                      cprev, H, j);
  }
}

static int launched(ta_msg *msg) { return TA_CUDA_LAUNCHED(msg); }

/* ---- the step kernels and one cell over a sequence, for other layers (ta_cuda_rnn.h) ---- */

extern "C" int ta_cuda_gru_step(float *gates, float *hn, float *h, const float *hp,
                                const float *b_hh, size_t B, size_t T, size_t H, size_t t,
                                ta_msg *msg) {
  ta_gru_step_kernel<<<ta_cuda_blocks(B * H), TA_CUDA_THREADS>>>(gates, hn, h, hp, b_hh, B, T, H,
                                                                 t);
  return launched(msg);
}

extern "C" int ta_cuda_gru_step_grad(float *dg, float *dP, float *dh_out, const float *dH,
                                     const float *dh_next, const float *gates, const float *hn,
                                     const float *h, size_t B, size_t T, size_t H, size_t t,
                                     ta_msg *msg) {
  ta_gru_step_grad_kernel<<<ta_cuda_blocks(B * H), TA_CUDA_THREADS>>>(dg, dP, dh_out, dH, dh_next,
                                                                      gates, hn, h, B, T, H, t);
  return launched(msg);
}

extern "C" int ta_cuda_lstm_step(float *gates, float *c, float *h, const float *hp, size_t B,
                                 size_t T, size_t H, size_t t, ta_msg *msg) {
  ta_lstm_step_kernel<<<ta_cuda_blocks(B * H), TA_CUDA_THREADS>>>(gates, c, h, hp, B, T, H, t);
  return launched(msg);
}

extern "C" int ta_cuda_lstm_step_grad(float *dg, float *dc, const float *dc_add, const int *len,
                                      const float *dH, const float *dh_next, const float *gates,
                                      const float *c, size_t B, size_t T, size_t H, size_t t,
                                      ta_msg *msg) {
  ta_lstm_step_grad_kernel<<<ta_cuda_blocks(B * H), TA_CUDA_THREADS>>>(dg, dc, dc_add, len, dH,
                                                                       dh_next, gates, c, B, T, H,
                                                                       t);
  return launched(msg);
}

extern "C" size_t ta_cuda_rnn_cell_work(int lstm, size_t B, size_t T, size_t H) {
  size_t G = lstm ? LSTM_G : GRU_G, BT = B * T;
  return BT * G * H + (lstm ? 0 : BT * G * H) + 3 * B * H;
}

extern "C" int ta_cuda_rnn_cell_forward(int lstm, float *gates, float *aux, float *h, float *hp,
                                        const float *x, size_t I, const float *W, size_t B,
                                        size_t T, size_t H, ta_msg *msg) {
  int st = TA_OK;
  size_t G = lstm ? LSTM_G : GRU_G, BT = B * T, GH = G * H;
  const float *W_ih = W, *W_hh = W_ih + GH * I, *b_ih = W_hh + GH * H, *b_hh = b_ih + GH;
  /* gates[BT, GH] = x[BT, I] W_ih[GH, I]^T + b_ih (+ b_hh for the LSTM) */
  if ((st = ta_cuda_gemm(TA_GEMM_NT, gates, GH, 0, x, I, 0, W_ih, I, 0, BT, GH, I, 1, 0, msg)))
    return st;
  if ((st = ta_cuda_add_bias(gates, GH, b_ih, lstm ? b_hh : NULL, BT, GH, msg))) return st;
  if (ta_cuda_rnn_seq_fits(lstm, H))
    return ta_cuda_rnn_seq_forward(lstm, gates, aux, h, W_hh, b_hh, B, T, H, msg);
  for (size_t t = 0; t < T; t++) {
    /* hp[B, GH] = h_{t-1} W_hh^T: rows b*T + t-1 of h, stride T*H */
    if (t > 0 && (st = ta_cuda_gemm(TA_GEMM_NT, hp, GH, 0, h + (t - 1) * H, T * H, 0, W_hh, H, 0,
                                    B, GH, H, 1, 0, msg)))
      return st;
    st = lstm ? ta_cuda_lstm_step(gates, aux, h, hp, B, T, H, t, msg)
              : ta_cuda_gru_step(gates, aux, h, hp, b_hh, B, T, H, t, msg);
    if (st) return st;
  }
  return TA_OK;
}

extern "C" int ta_cuda_rnn_cell_backward(int lstm, float *dx, float *dW, float *dH, float *work,
                                         const float *x, size_t I, const float *W,
                                         const float *gates, const float *aux, const float *h,
                                         const float *dc_last, const int *len,
                                         const ta_cuda_pass *ps, size_t B, size_t T, size_t H,
                                         ta_msg *msg) {
  int st = TA_OK;
  size_t G = lstm ? LSTM_G : GRU_G, BT = B * T, GH = G * H;
  const float *W_ih = W, *W_hh = W_ih + GH * I;
  float *dW_ih = dW, *dW_hh = dW_ih + GH * I, *db_ih = dW_hh + GH * H, *db_hh = db_ih + GH;
  float *dg = work, *dP = dg + BT * GH;
  size_t T_steps = T; /* steps left to the per-step path: none after the one-launch one */
  float *dh0 = dP + (lstm ? 0 : BT * GH), *dh1 = dh0 + B * H, *dc = dh1 + B * H;
  float *dh_next = dh0, *dh_cur = dh1;
  if (ta_cuda_rnn_seq_fits(lstm, H)) {
    if ((st = ta_cuda_rnn_seq_backward(lstm, dg, dP, dH, gates, aux, h, W_hh, dc_last, len, B, T,
                                       H, msg)))
      return st;
    T_steps = 0;
  }
  if (T_steps && (st = ta_cuda_zero(dh_next, B * H, msg))) return st;
  if (T_steps && lstm && (st = ta_cuda_zero(dc, B * H, msg))) return st;
  for (size_t t = T_steps; t-- > 0;) {
    if (!lstm) {
      if ((st = ta_cuda_gru_step_grad(dg, dP, dh_cur, dH, dh_next, gates, aux, h, B, T, H, t,
                                      msg)))
        return st;
      /* dh_{t-1}[B, H] = dh z + dP_t[B, 3H] W_hh[3H, H] (rows b*T + t: stride T*3H) */
      if (t > 0 && (st = ta_cuda_gemm(TA_GEMM_NN, dh_cur, H, 0, dP + t * GH, T * GH, 0, W_hh, H,
                                      0, B, H, GH, 1, 1, msg)))
        return st;
    } else {
      if ((st = ta_cuda_lstm_step_grad(dg, dc, dc_last, len, dH, dh_next, gates, aux, B, T, H, t,
                                       msg)))
        return st;
      /* dh_{t-1}[B, H] = dg_t[B, 4H] W_hh[4H, H] */
      if (t > 0 && (st = ta_cuda_gemm(TA_GEMM_NN, dh_cur, H, 0, dg + t * GH, T * GH, 0, W_hh, H,
                                      0, B, H, GH, 1, 0, msg)))
        return st;
    }
    float *s = dh_next;
    dh_next = dh_cur;
    dh_cur = s;
  }
  /* dW_ih[GH, I] += dg^T x; db_ih += ones^T dg (and db_hh for the LSTM, whose
   * recurrent pre-activation gradient is dg itself) */
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dW_ih, I, 0, dg, GH, 0, x, I, 0, GH, I, BT, 1, 1, msg)))
    return st;
  if ((st = ta_cuda_bias_grad(db_ih, dg, GH, BT, GH, ps, msg))) return st;
  float *dA = lstm ? dg : dP; /* the recurrent projection's gradient */
  if ((st = ta_cuda_bias_grad(db_hh, dA, GH, BT, GH, ps, msg))) return st;
  /* dx = dg W_ih (dH itself is not read again, so dx may be dH) */
  if (dx && (st = ta_cuda_gemm(TA_GEMM_NN, dx, I, 0, dg, GH, 0, W_ih, I, 0, BT, I, GH, 1, 0, msg)))
    return st;
  /* dW_hh[GH, H] += sum_t dA_t^T h_{t-1} as one product: row r >= 1 of dA meets row
   * r - 1 of h, h_{t-1} of the same sequence except at t = 0, whose rows of dA are
   * zeroed first (h_{-1} = 0; dA is not read again) */
  if ((st = TA_CUDA(cudaMemset2DAsync(dA, T * GH * sizeof(float), 0, GH * sizeof(float), B, 0),
                    msg)))
    return st;
  if (BT > 1 && (st = ta_cuda_gemm(TA_GEMM_TN, dW_hh, H, 0, dA + GH, GH, 0, h, H, 0, GH, H, BT - 1,
                                   1, 1, msg)))
    return st;
  return TA_OK;
}

/* ---- the stacked-cell layer of GRU and LSTM (their ops tables: layer_gru_cuda.cu,
 * layer_lstm_cuda.cu) ---- */

/* whether dropout follows the cells below the top one (the configuration; whether a
 * pass applies it is ps->training, the same in a forward and its backward) */
static int has_dropout(const ta_layer *L) {
  return L->cfg.rnn.dropout > 0.0f && L->cfg.rnn.num_layers > 1;
}

extern "C" size_t ta_cuda_rnn_layer_cache(const ta_layer *L, size_t B, size_t T) {
  size_t G = (size_t)gates_of(L), H = (size_t)L->cfg.rnn.hidden, nl = (size_t)L->cfg.rnn.num_layers;
  size_t drop = has_dropout(L) ? (nl - 1) * 2 * B * T * H : 0;
  return nl * B * T * (G + 2) * H + B * G * H + drop;
}

/* cell l's dropout mask and dropped output (l below the top; has_dropout(L)) */
static float *drop_mask_at(const ta_layer *L, size_t G, float *cache, int l, size_t B, size_t BT) {
  size_t H = (size_t)L->cfg.rnn.hidden, nl = (size_t)L->cfg.rnn.num_layers;
  return cache + nl * BT * (G + 2) * H + B * G * H + (size_t)l * 2 * BT * H;
}

static int dropping(const ta_layer *L, const ta_cuda_pass *ps) {
  return has_dropout(L) && ps->training;
}

extern "C" size_t ta_cuda_rnn_layer_scratch(const ta_layer *L, size_t B, size_t T) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  return B * T * H + ta_cuda_rnn_cell_work(gates_of(L) == LSTM_G, B, T, H);
}

typedef struct {
  float *gates, *aux, *h;
} cell_bufs;

static cell_bufs cell_at(const ta_layer *L, size_t G, float *cache, int l, size_t BT) {
  size_t H = (size_t)L->cfg.rnn.hidden;
  cell_bufs c;
  c.gates = cache + (size_t)l * BT * (G + 2) * H;
  c.aux = c.gates + BT * G * H;
  c.h = c.aux + BT * H;
  return c;
}

extern "C" int ta_cuda_rnn_layer_forward(const ta_layer *L, float *out, float *cache, const float *in,
                       const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                       ta_msg *msg) {
  int G_ = gates_of(L), st = TA_OK, nl = L->cfg.rnn.num_layers;
  size_t G = (size_t)G_, H = (size_t)L->cfg.rnn.hidden, BT = B * T;
  float *hp = cache + (size_t)nl * BT * (G + 2) * H;
  const float *x = in;
  cell_bufs c = {NULL, NULL, NULL};
  for (int l = 0; l < nl; l++) {
    c = cell_at(L, G, cache, l, BT);
    if ((st = ta_cuda_rnn_cell_forward(G == LSTM_G, c.gates, c.aux, c.h, hp, x, ta_rnn_in(L, l),
                                       params + ta_rnn_param_offset(L, G_, l), B, T, H, msg)))
      return st;
    x = c.h;
    if (l + 1 < nl && dropping(L, ps)) {
      float *mask = drop_mask_at(L, G, cache, l, B, BT), *hd = mask + BT * H;
      if ((st = ta_cuda_dropout(hd, mask, c.h, BT * H, L->cfg.rnn.dropout, ta_rng_next(ps->rng),
                                msg)))
        return st;
      x = hd;
    }
  }
  /* out [B, T_out, H] from the top cell's h */
  if (L->cfg.rnn.return_sequences)
    return TA_CUDA(cudaMemcpyAsync(out, c.h, BT * H * sizeof(float), cudaMemcpyDeviceToDevice, 0),
                   msg);
  return ta_cuda_copy_rows(out, H, c.h + (T - 1) * H, T * H, H, B, msg);
}

extern "C" int ta_cuda_rnn_layer_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                        const float *dout, const float *in, const float *out, const float *cache,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)out;
  int G_ = gates_of(L), st = TA_OK;
  size_t G = (size_t)G_, H = (size_t)L->cfg.rnn.hidden, BT = B * T;
  float *dH = scratch, *work = dH + BT * H;
  /* dH [BT, H] of the top cell from dout [B, T_out, H] */
  if (L->cfg.rnn.return_sequences) {
    if ((st = TA_CUDA(cudaMemcpyAsync(dH, dout, BT * H * sizeof(float), cudaMemcpyDeviceToDevice,
                                      0),
                      msg)))
      return st;
  } else {
    if ((st = ta_cuda_zero(dH, BT * H, msg))) return st;
    if ((st = ta_cuda_copy_rows(dH + (T - 1) * H, T * H, dout, H, H, B, msg))) return st;
  }
  int drop = dropping(L, ps);
  for (int l = L->cfg.rnn.num_layers - 1; l >= 0; l--) {
    size_t off = ta_rnn_param_offset(L, G_, l);
    cell_bufs c = cell_at(L, G, (float *)cache, l, BT);
    /* the cell's input: the layer's, or the cell below's h (after its dropout) */
    const float *mask = l > 0 && drop ? drop_mask_at(L, G, (float *)cache, l - 1, B, BT) : NULL;
    const float *x = l == 0 ? in : mask ? mask + BT * H : cell_at(L, G, (float *)cache, l - 1, BT).h;
    /* dx: the cell below's dH (in place), or the layer's din */
    if ((st = ta_cuda_rnn_cell_backward(G == LSTM_G, l > 0 ? dH : din, dparams + off, dH, work, x,
                                        ta_rnn_in(L, l), params + off, c.gates, c.aux, c.h, NULL,
                                        NULL, ps, B, T, H, msg)))
      return st;
    /* the cell below receives dx through its dropout mask */
    if (mask && (st = ta_cuda_mul(dH, dH, mask, BT * H, msg))) return st;
  }
  return TA_OK;
}

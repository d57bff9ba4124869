/* The seq2seq layer (recurrent encoder-decoder with attention; equations, parameter
 * order and names in layer_seq2seq.c) on the GPU. The host's layer and parameter layout
 * (layer_seq2seq.h) are used as they are; only the buffers are on the device.
 *
 * Arithmetic shared with the CPU path: the cells are ta_rnn_cuda.cu's fused step kernels
 * (ta_rnn_math.h), the attention rows ta_attn_math.h's (valid length, additive score,
 * masked softmax, their gradients): one thread per key or per row, in the CPU's order. Products go
 * through cuBLAS: per-sequence scores (dot, general) and contexts as strided-batched
 * products with one query row per sequence. The decoder's greedy feedback (its own
 * y_{t-1} as the next input at prediction time) is a device copy: nothing waits for
 * the host. No atomics: every sum has a fixed order (a seed repeats a run exactly).
 *
 * Decoder rows: buffers [B, T1, .] with T1 = Hz + 1 hold in row r = t + 1 what step t
 * produces (gates, GRU hn / LSTM c, s_{t+1}, the input [y_prev, ctx_t] of step t); row
 * 0 holds s_0 (and c_0) in S and Ad, and zeros elsewhere, so the rnn step kernels run
 * on them with T = T1 and the weight gradients are one product over all B*T1 rows.
 *
 * Device cache (BT = B*T, Kd = A additive, H otherwise, DI = O + H):
 *   eg [BT, GH], eaux [BT, H], E [BT, H] the encoder (ta_cuda_rnn.h's cell layout),
 *   hp [B, GH], K [BT, Kd] keys (not for dot), Gd [B*T1, GH], Ad [B*T1, H] (GRU hn,
 *   LSTM c), S [B*T1, H] decoder states, U [B*T1, DI] decoder inputs, P [B, Hz, T]
 *   attention weights (the layout attn_weights returns), Q [B*T1, Kd] queries
 *   (additive; row t is step t's).
 * Device scratch: dY [B*T1, O], dSo [B*T1, H] (d s through the output layer), dG, dPd
 *   [B*T1, GH] (gate gradients; dPd: GRU's recurrent projection), dQ [B*T1, Kd] (row t:
 *   step t's query gradient), dsn0, dsn1, dcn, dctx [B, H], dU [B, DI], dp, dS [B, T],
 *   dE [BT, H], dK [BT, Kd], dY0 [B, O], ones [B*T1], then the encoder cell's work. */
#include "ta_cuda_check.h"
#include "ta_cuda_layer.h"
#include "ta_cuda_ops.h"
#include "ta_cuda_rnn.h"
#include "layer_seq2seq.h"
#include "ta_attn_math.h"

#define S2S_LOOP(i, n)                                                               \
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n);            \
       i += (size_t)blockDim.x * gridDim.x)

/* ---- kernels --------------------------------------------------------------------- */

/* the decoder's start, per (b, j < W = max(H, O)): S row 0 = h_{len-1}, Ad row 0 =
 * c_{len-1} (LSTM) or 0, U row 1 [0:O] = x[b, len-1, 0:O]; zeros when len = 0 */
__global__ void s2s_start_kernel(float *S, float *Ad, float *U, const float *E,
                                 const float *eaux, const float *in, const int *len, size_t B,
                                 size_t T, size_t T1, size_t H, size_t O, size_t F, size_t DI,
                                 size_t W, int lstm) {
  S2S_LOOP(i, B * W) {
    size_t b = i / W, j = i % W, l = ta_attn_len(len, b, T), row = b * T + l - 1;
    if (j < H) {
      S[b * T1 * H + j] = l > 0 ? E[row * H + j] : 0.0f;
      Ad[b * T1 * H + j] = l > 0 && lstm ? eaux[row * H + j] : 0.0f;
    }
    if (j < O) U[(b * T1 + 1) * DI + j] = l > 0 ? in[row * F + j] : 0.0f;
  }
}

/* additive scores of step t, per (b, j < len): P[b, t, j] = v . tanh(q_b + k_bj) */
__global__ void s2s_additive_scores_kernel(float *P, const float *Q, const float *K,
                                           const float *v, const int *len, size_t B, size_t T,
                                           size_t T1, size_t Hz, size_t A, size_t t) {
  S2S_LOOP(i, B * T) {
    size_t b = i / T, j = i % T;
    if (j < ta_attn_len(len, b, T))
      P[(b * Hz + t) * T + j] =
          ta_attn_additive_score(Q + (b * T1 + t) * A, K + (b * T + j) * A, v, A);
  }
}

/* softmax of each row b of step t over its valid keys (one thread per row) */
__global__ void s2s_softmax_kernel(float *P, const int *len, size_t B, size_t T, size_t Hz,
                                   size_t t) {
  S2S_LOOP(b, B) {
    ta_attn_softmax_row(P + (b * Hz + t) * T, T, 0, ta_attn_len(len, b, T), 1.0f);
  }
}

/* the softmax's backward, one thread per row b: dS [B, T] = p (dp - r) over the valid
 * keys (r = sum_j p_j dp_j), 0 beyond */
__global__ void s2s_softmax_grad_kernel(float *dS, const float *dp, const float *P,
                                        const int *len, size_t B, size_t T, size_t Hz,
                                        size_t t) {
  S2S_LOOP(b, B) {
    const float *p = P + (b * Hz + t) * T, *dpb = dp + b * T;
    float *dSb = dS + b * T;
    size_t l = ta_attn_len(len, b, T);
    for (size_t j = 0; j < l; j++) dSb[j] = dpb[j];
    ta_attn_softmax_row_grad(dSb, p, NULL, T, 0, l, 1.0f);
  }
}

/* additive score backward of step t, per (b, c < A): dQ[b, t, c] = sum_j u_jc and
 * dK[b, j, c] += u_jc, u = ta_attn_additive_grad (keys in order, as the CPU) */
__global__ void s2s_additive_grad_kernel(float *dQ, float *dK, const float *dS, const float *Q,
                                         const float *K, const float *v, const int *len,
                                         size_t B, size_t T, size_t T1, size_t A, size_t t) {
  S2S_LOOP(i, B * A) {
    size_t b = i / A, c = i % A, l = ta_attn_len(len, b, T);
    float q = Q[(b * T1 + t) * A + c], acc = 0.0f;
    for (size_t j = 0; j < l; j++) {
      float ds = dS[b * T + j];
      if (ds == 0.0f) continue;
      size_t kj = (b * T + j) * A + c;
      float th = ta_tanhf(q + K[kj]), u = ta_attn_additive_grad(ds, v[c], th);
      dK[kj] += u;
      acc += u;
    }
    dQ[(b * T1 + t) * A + c] = acc;
  }
}

/* dv[c] += sum over b, then j < len, of dS tanh(q + k): one thread per c, the CPU's order */
__global__ void s2s_additive_dv_kernel(float *dv, const float *dS, const float *Q, const float *K,
                                       const float *v, const int *len, size_t B, size_t T,
                                       size_t T1, size_t A, size_t t) {
  S2S_LOOP(c, A) {
    float acc = dv[c];
    for (size_t b = 0; b < B; b++) {
      size_t l = ta_attn_len(len, b, T);
      float q = Q[(b * T1 + t) * A + c];
      for (size_t j = 0; j < l; j++) {
        float ds = dS[b * T + j];
        if (ds == 0.0f) continue;
        acc += ds * ta_tanhf(q + K[(b * T + j) * A + c]);
      }
    }
    dv[c] = acc;
  }
}

/* dst row r [0:width] (stride dld) += src row r (stride sld), r < rows */
__global__ void s2s_add_rows_kernel(float *dst, size_t dld, const float *src, size_t sld,
                                    size_t width, size_t rows) {
  S2S_LOOP(i, rows * width) {
    size_t r = i / width, k = i % width;
    dst[r * dld + k] += src[r * sld + k];
  }
}

/* dst[b, len-1, 0:width] (rows of stride ld within sequences of T rows) += src[b] */
__global__ void s2s_add_at_last_kernel(float *dst, size_t ld, const float *src, size_t width,
                                       const int *len, size_t B, size_t T) {
  S2S_LOOP(i, B * width) {
    size_t b = i / width, k = i % width, l = ta_attn_len(len, b, T);
    if (l > 0) dst[(b * T + l - 1) * ld + k] += src[b * width + k];
  }
}

static int add_rows(float *dst, size_t dld, const float *src, size_t sld, size_t width,
                    size_t rows, ta_msg *msg) {
  if (rows == 0 || width == 0) return TA_OK;
  s2s_add_rows_kernel<<<ta_cuda_blocks(rows * width), TA_CUDA_THREADS>>>(dst, dld, src, sld, width,
                                                                         rows);
  return TA_CUDA_LAUNCHED(msg);
}

static int add_at_last(float *dst, size_t ld, const float *src, size_t width, const int *len,
                       size_t B, size_t T, ta_msg *msg) {
  s2s_add_at_last_kernel<<<ta_cuda_blocks(B * width), TA_CUDA_THREADS>>>(dst, ld, src, width, len,
                                                                         B, T);
  return TA_CUDA_LAUNCHED(msg);
}

/* ---- layout ------------------------------------------------------------------------ */

typedef struct {
  float *eg, *eaux, *E, *hp, *K, *Gd, *Ad, *S, *U, *P, *Q;
} s2s_cache;

typedef struct {
  float *dY, *dSo, *dG, *dPd, *dQ, *dsn0, *dsn1, *dcn, *dctx, *dU, *dp, *dS, *dE, *dK, *dY0, *ones,
      *work;
} s2s_scr;

#define PLACE(c, field, n)                                                                 \
  do {                                                                                     \
    if (c) (c)->field = p + off;                                                           \
    off += (n);                                                                            \
  } while (0)

static size_t cache_layout(const s2s_dims *d, float *p, size_t B, size_t T, s2s_cache *c) {
  size_t BT = B * T, BT1 = B * (d->Hz + 1), off = 0;
  PLACE(c, eg, BT * d->GH);
  PLACE(c, eaux, BT * d->H);
  PLACE(c, E, BT * d->H);
  PLACE(c, hp, B * d->GH);
  PLACE(c, K, d->score == TA_SCORE_DOT ? 0 : BT * d->Kd);
  PLACE(c, Gd, BT1 * d->GH);
  PLACE(c, Ad, BT1 * d->H);
  PLACE(c, S, BT1 * d->H);
  PLACE(c, U, BT1 * d->DI);
  PLACE(c, P, B * d->Hz * T);
  PLACE(c, Q, d->score == TA_SCORE_ADDITIVE ? BT1 * d->Kd : 0);
  return off;
}

static size_t scratch_layout(const s2s_dims *d, float *p, size_t B, size_t T, s2s_scr *c) {
  size_t BT = B * T, BT1 = B * (d->Hz + 1), H = d->H, off = 0;
  PLACE(c, dY, BT1 * d->O);
  PLACE(c, dSo, BT1 * H);
  PLACE(c, dG, BT1 * d->GH);
  PLACE(c, dPd, d->lstm ? 0 : BT1 * d->GH);
  PLACE(c, dQ, BT1 * d->Kd);
  PLACE(c, dsn0, B * H);
  PLACE(c, dsn1, B * H);
  PLACE(c, dcn, B * H);
  PLACE(c, dctx, B * H);
  PLACE(c, dU, B * d->DI);
  PLACE(c, dp, BT);
  PLACE(c, dS, BT);
  PLACE(c, dE, BT * H);
  PLACE(c, dK, d->score == TA_SCORE_DOT ? 0 : BT * d->Kd);
  PLACE(c, dY0, B * d->O);
  PLACE(c, ones, BT1);
  PLACE(c, work, ta_cuda_rnn_cell_work(d->lstm, B, T, H));
  return off;
}
#undef PLACE

static size_t s2s_cache_size(const ta_layer *L, size_t B, size_t T) {
  s2s_dims d = dims_of(L);
  return cache_layout(&d, NULL, B, T, NULL);
}

static size_t s2s_scratch_size(const ta_layer *L, size_t B, size_t T) {
  s2s_dims d = dims_of(L);
  return scratch_layout(&d, NULL, B, T, NULL);
}

/* ---- forward --------------------------------------------------------------------- */

static int s2s_forward(const ta_layer *L, float *out, float *cache, const float *in,
                       const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                       ta_msg *msg) {
  s2s_dims d = dims_of(L);
  s2s_off o = offsets_of(&d);
  s2s_cache c;
  cache_layout(&d, cache, B, T, &c);
  const size_t H = d.H, GH = d.GH, F = d.F, O = d.O, Hz = d.Hz, DI = d.DI, Kd = d.Kd;
  const size_t T1 = Hz + 1, BT = B * T;
  const int lstm = d.lstm, additive = d.score == TA_SCORE_ADDITIVE;
  const int *len = ps->valid_len;
  const int tf = ps->training && ps->target != NULL;
  int st;

  /* encoder */
  if ((st = ta_cuda_rnn_cell_forward(lstm, c.eg, c.eaux, c.E, c.hp, in, F, params + o.e_wih, B, T,
                                     H, msg)))
    return st;
  /* keys: W_h h_j (additive), W h_j (general), h_j (dot) */
  const float *keys = c.E;
  if (d.score != TA_SCORE_DOT) {
    const float *Wk = params + (additive ? o.a2 : o.a1);
    if ((st = ta_cuda_gemm(TA_GEMM_NT, c.K, Kd, 0, c.E, H, 0, Wk, H, 0, BT, Kd, H, 1, 0, msg)))
      return st;
    keys = c.K;
  }
  /* decoder start: rows 0 of U zero (they meet zero gradients in the weight products) */
  if ((st = TA_CUDA(cudaMemset2DAsync(c.U, T1 * DI * sizeof(float), 0, DI * sizeof(float), B, 0),
                    msg)))
    return st;
  size_t W = H > O ? H : O;
  s2s_start_kernel<<<ta_cuda_blocks(B * W), TA_CUDA_THREADS>>>(c.S, c.Ad, c.U, c.E, c.eaux, in, len,
                                                               B, T, T1, H, O, F, DI, W, lstm);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;

  const float *v = additive ? params + o.a3 : NULL;
  const float *dWih = params + o.d_wih, *dWhh = params + o.d_whh, *dbih = params + o.d_bih;
  const float *dbhh = params + o.d_bhh, *Wo = params + o.wo, *bo = params + o.bo;
  for (size_t t = 0; t < Hz; t++) {
    size_t r = t + 1;
    /* the query of each sequence: W_s s_t (additive) or s_t, stride sq between sequences */
    const float *q = additive ? c.Q + t * Kd : c.S + t * H;
    size_t sq = additive ? T1 * Kd : T1 * H;
    if (additive) {
      if ((st = ta_cuda_gemm(TA_GEMM_NT, c.Q + t * Kd, T1 * Kd, 0, c.S + t * H, T1 * H, 0,
                             params + o.a1, H, 0, B, Kd, H, 1, 0, msg)))
        return st;
      s2s_additive_scores_kernel<<<ta_cuda_blocks(BT), TA_CUDA_THREADS>>>(c.P, c.Q, keys, v, len, B,
                                                                          T, T1, Hz, Kd, t);
      if ((st = TA_CUDA_LAUNCHED(msg))) return st;
    } else {
      /* scores [1, T] = q_b [1, Kd] K_b [T, Kd]^T per sequence b */
      if ((st = ta_cuda_gemm(TA_GEMM_NT, c.P + t * T, T, Hz * T, q, Kd, sq, keys, Kd, T * Kd, 1, T,
                             Kd, B, 0, msg)))
        return st;
    }
    s2s_softmax_kernel<<<ta_cuda_blocks(B), TA_CUDA_THREADS>>>(c.P, len, B, T, Hz, t);
    if ((st = TA_CUDA_LAUNCHED(msg))) return st;
    /* ctx_b [1, H] = p_b [1, T] E_b [T, H], into U row r after y_prev */
    if ((st = ta_cuda_gemm(TA_GEMM_NN, c.U + r * DI + O, DI, T1 * DI, c.P + t * T, T, Hz * T, c.E,
                           H, T * H, 1, H, T, B, 0, msg)))
      return st;
    /* the cell on [y_prev, ctx]: gates row r = U row r W_ih^T + b, hp = s_t W_hh^T */
    if ((st = ta_cuda_gemm(TA_GEMM_NT, c.Gd + r * GH, T1 * GH, 0, c.U + r * DI, T1 * DI, 0, dWih,
                           DI, 0, B, GH, DI, 1, 0, msg)) ||
        (st = ta_cuda_add_bias(c.Gd + r * GH, T1 * GH, dbih, lstm ? dbhh : NULL, B, GH, msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_NT, c.hp, GH, 0, c.S + t * H, T1 * H, 0, dWhh, H, 0, B, GH, H,
                           1, 0, msg)))
      return st;
    st = lstm ? ta_cuda_lstm_step(c.Gd, c.Ad, c.S, c.hp, B, T1, H, r, msg)
              : ta_cuda_gru_step(c.Gd, c.Ad, c.S, c.hp, dbhh, B, T1, H, r, msg);
    if (st) return st;
    /* y_t = W_o [s_{t+1}; ctx_t] + b_o into out [B, Hz, O] */
    float *yt = out + t * O;
    if ((st = ta_cuda_gemm(TA_GEMM_NT, yt, Hz * O, 0, c.S + r * H, T1 * H, 0, Wo, 2 * H, 0, B, O,
                           H, 1, 0, msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_NT, yt, Hz * O, 0, c.U + r * DI + O, T1 * DI, 0, Wo + H, 2 * H,
                           0, B, O, H, 1, 1, msg)) ||
        (st = ta_cuda_add_bias(yt, Hz * O, bo, NULL, B, O, msg)))
      return st;
    /* the next step's y_prev: the target (teacher forcing) or this output (greedy) */
    if (t + 1 < Hz) {
      const float *src = tf ? ps->target : out;
      if ((st = ta_cuda_copy_rows(c.U + (r + 1) * DI, T1 * DI, src + t * O, Hz * O, O, B, msg)))
        return st;
    }
  }
  return TA_OK;
}

/* ---- backward -------------------------------------------------------------------- */

static int s2s_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                        const float *dout, const float *in, const float *out, const float *cache,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)out;
  s2s_dims d = dims_of(L);
  s2s_off o = offsets_of(&d);
  s2s_cache c;
  s2s_scr s;
  cache_layout(&d, (float *)cache, B, T, &c);
  scratch_layout(&d, scratch, B, T, &s);
  const size_t H = d.H, GH = d.GH, F = d.F, O = d.O, Hz = d.Hz, DI = d.DI, Kd = d.Kd;
  const size_t T1 = Hz + 1, BT = B * T, BT1 = B * T1;
  const int lstm = d.lstm, additive = d.score == TA_SCORE_ADDITIVE;
  const int *len = ps->valid_len;
  /* the forward fed the targets back exactly when this holds (the same pass) */
  const int tf = ps->training && ps->target != NULL;
  const float *keys = d.score == TA_SCORE_DOT ? c.E : c.K;
  float *dkeys = d.score == TA_SCORE_DOT ? s.dE : s.dK;
  const float *v = additive ? params + o.a3 : NULL;
  const float *dWih = params + o.d_wih, *dWhh = params + o.d_whh, *Wo = params + o.wo;
  int st;

  /* decoder bias gradients over B*T1 rows: a ones vector of that length */
  ta_cuda_pass dps = *ps;
  dps.ones = s.ones;
  dps.ones_len = BT1;
  if ((st = ta_cuda_fill(s.ones, 1.0f, BT1, msg))) return st;
  /* dY rows r = t+1 from dout [B, Hz, O]; rows 0 (and every unwritten row) zero */
  if ((st = ta_cuda_zero(s.dY, BT1 * O, msg)) ||
      (st = ta_cuda_copy_rows(s.dY + O, T1 * O, dout, Hz * O, Hz * O, B, msg)) ||
      (st = ta_cuda_zero(s.dG, BT1 * GH, msg)) ||
      (!lstm && (st = ta_cuda_zero(s.dPd, BT1 * GH, msg))) ||
      (st = ta_cuda_zero(s.dQ, BT1 * Kd, msg)) || (st = ta_cuda_zero(s.dsn0, B * H, msg)) ||
      (st = ta_cuda_zero(s.dcn, B * H, msg)) || (st = ta_cuda_zero(s.dE, BT * H, msg)) ||
      (d.score != TA_SCORE_DOT && (st = ta_cuda_zero(s.dK, BT * Kd, msg))))
    return st;

  float *dsn = s.dsn0, *dsn_new = s.dsn1; /* d s_{t+1} from later steps; d s_t being built */
  for (size_t t = Hz; t-- > 0;) {
    size_t r = t + 1;
    const float *q = additive ? c.Q + t * Kd : c.S + t * H;
    size_t sq = additive ? T1 * Kd : T1 * H;
    /* output layer: dSo row r = dy_t W_o[:, :H] (the cell adds dsn) */
    if ((st = ta_cuda_gemm(TA_GEMM_NN, s.dSo + r * H, T1 * H, 0, s.dY + r * O, T1 * O, 0, Wo,
                           2 * H, 0, B, H, O, 1, 0, msg)))
      return st;
    /* the cell, then d s_t = (GRU: dh z +) dA W_hh */
    if (lstm) {
      if ((st = ta_cuda_lstm_step_grad(s.dG, s.dcn, NULL, NULL, s.dSo, dsn, c.Gd, c.Ad, B, T1, H,
                                       r, msg)) ||
          (st = ta_cuda_gemm(TA_GEMM_NN, dsn_new, H, 0, s.dG + r * GH, T1 * GH, 0, dWhh, H, 0, B,
                             H, GH, 1, 0, msg)))
        return st;
    } else {
      if ((st = ta_cuda_gru_step_grad(s.dG, s.dPd, dsn_new, s.dSo, dsn, c.Gd, c.Ad, c.S, B, T1, H,
                                      r, msg)) ||
          (st = ta_cuda_gemm(TA_GEMM_NN, dsn_new, H, 0, s.dPd + r * GH, T1 * GH, 0, dWhh, H, 0, B,
                             H, GH, 1, 1, msg)))
        return st;
    }
    /* dU [B, DI] = dg W_ih: y_prev's part goes to the previous output (greedy), nowhere
     * (teacher forcing) or the last observed values (t = 0); ctx's part to dctx */
    if ((st = ta_cuda_gemm(TA_GEMM_NN, s.dU, DI, 0, s.dG + r * GH, T1 * GH, 0, dWih, DI, 0, B, DI,
                           GH, 1, 0, msg)))
      return st;
    if (t == 0) st = ta_cuda_copy_rows(s.dY0, O, s.dU, DI, O, B, msg);
    else if (!tf) st = add_rows(s.dY + t * O, T1 * O, s.dU, DI, O, B, msg);
    if (st) return st;
    if ((st = ta_cuda_copy_rows(s.dctx, H, s.dU + O, DI, H, B, msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_NN, s.dctx, H, 0, s.dY + r * O, T1 * O, 0, Wo + H, 2 * H, 0, B,
                           H, O, 1, 1, msg)))
      return st;
    /* attention: dp_b [1, T] = dctx_b E_b^T; dS = softmax backward; dE_b += p_b^T dctx_b */
    if ((st = ta_cuda_gemm(TA_GEMM_NT, s.dp, T, T, s.dctx, H, H, c.E, H, T * H, 1, T, H, B, 0,
                           msg)))
      return st;
    s2s_softmax_grad_kernel<<<ta_cuda_blocks(B), TA_CUDA_THREADS>>>(s.dS, s.dp, c.P, len, B, T, Hz,
                                                                    t);
    if ((st = TA_CUDA_LAUNCHED(msg))) return st;
    if ((st = ta_cuda_gemm(TA_GEMM_TN, s.dE, H, T * H, c.P + t * T, T, Hz * T, s.dctx, H, H, T, H,
                           1, B, 1, msg)))
      return st;
    /* scores back to the query (dQ row t) and the keys */
    if (additive) {
      s2s_additive_grad_kernel<<<ta_cuda_blocks(B * Kd), TA_CUDA_THREADS>>>(
          s.dQ, s.dK, s.dS, c.Q, c.K, v, len, B, T, T1, Kd, t);
      if ((st = TA_CUDA_LAUNCHED(msg))) return st;
      s2s_additive_dv_kernel<<<ta_cuda_blocks(Kd), TA_CUDA_THREADS>>>(dparams + o.a3, s.dS, c.Q,
                                                                      c.K, v, len, B, T, T1, Kd, t);
      if ((st = TA_CUDA_LAUNCHED(msg))) return st;
      /* q = W_s s_t: d s_t += dq W_s */
      if ((st = ta_cuda_gemm(TA_GEMM_NN, dsn_new, H, 0, s.dQ + t * Kd, T1 * Kd, 0, params + o.a1,
                             H, 0, B, H, Kd, 1, 1, msg)))
        return st;
    } else {
      /* dq_b [1, Kd] = dS_b K_b; dK_b += dS_b^T q_b */
      if ((st = ta_cuda_gemm(TA_GEMM_NN, s.dQ + t * Kd, Kd, T1 * Kd, s.dS, T, T, keys, Kd, T * Kd,
                             1, Kd, T, B, 0, msg)) ||
          (st = ta_cuda_gemm(TA_GEMM_TN, dkeys, Kd, T * Kd, s.dS, T, T, q, Kd, sq, T, Kd, 1, B, 1,
                             msg)) ||
          (st = add_rows(dsn_new, H, s.dQ + t * Kd, T1 * Kd, H, B, msg)))
        return st;
    }
    float *sw = dsn;
    dsn = dsn_new;
    dsn_new = sw;
  }

  /* decoder weight gradients, one product each over all B*T1 rows (rows that are no
   * step's meet zero gradients) */
  float *dA = lstm ? s.dG : s.dPd;
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.wo, 2 * H, 0, s.dY, O, 0, c.S, H, 0, O, H, BT1, 1,
                         1, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.wo + H, 2 * H, 0, s.dY, O, 0, c.U + O, DI, 0, O, H,
                         BT1, 1, 1, msg)) ||
      (st = ta_cuda_bias_grad(dparams + o.bo, s.dY, O, BT1, O, &dps, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.d_wih, DI, 0, s.dG, GH, 0, c.U, DI, 0, GH, DI, BT1,
                         1, 1, msg)) ||
      (st = ta_cuda_bias_grad(dparams + o.d_bih, s.dG, GH, BT1, GH, &dps, msg)) ||
      (st = ta_cuda_bias_grad(dparams + o.d_bhh, dA, GH, BT1, GH, &dps, msg)) ||
      /* dW_hh += sum over rows r >= 1 of dA_r^T s_{r-1} (rows 0 of dA are zero) */
      (st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.d_whh, H, 0, dA + GH, GH, 0, c.S, H, 0, GH, H,
                         BT1 - 1, 1, 1, msg)))
    return st;
  if (additive) {
    /* q = W_s s: dW_s += dQ^T S (row t of dQ meets s_t; row Hz is zero); keys W_h h */
    if ((st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.a1, H, 0, s.dQ, Kd, 0, c.S, H, 0, Kd, H, BT1, 1,
                           1, msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.a2, H, 0, s.dK, Kd, 0, c.E, H, 0, Kd, H, BT, 1, 1,
                           msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_NN, s.dE, H, 0, s.dK, Kd, 0, params + o.a2, H, 0, BT, H, Kd, 1, 1,
                           msg)))
      return st;
  } else if (d.score == TA_SCORE_GENERAL) {
    if ((st = ta_cuda_gemm(TA_GEMM_TN, dparams + o.a1, H, 0, s.dK, Kd, 0, c.E, H, 0, Kd, H, BT, 1, 1,
                           msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_NN, s.dE, H, 0, s.dK, Kd, 0, params + o.a1, H, 0, BT, H, Kd, 1, 1,
                           msg)))
      return st;
  }
  /* s_0 = h_{len-1} (and c_0 = c_{len-1}: injected by the encoder's step kernel) */
  if ((st = add_at_last(s.dE, H, dsn, H, len, B, T, msg))) return st;

  /* encoder, then the first decoder input's gradient to x[b, len-1, 0:O] */
  if ((st = ta_cuda_rnn_cell_backward(lstm, din, dparams + o.e_wih, s.dE, s.work, in, F,
                                      params + o.e_wih, c.eg, c.eaux, c.E, lstm ? s.dcn : NULL,
                                      len, ps, B, T, H, msg)))
    return st;
  if (din) return add_at_last(din, F, s.dY0, O, len, B, T, msg);
  return TA_OK;
}

/* out [B, 1, Hz, T]: the cache's P as it is */
static int s2s_attn_weights(const ta_layer *L, float *out, const float *cache, size_t B, size_t T,
                            ta_msg *msg) {
  s2s_dims d = dims_of(L);
  s2s_cache c;
  cache_layout(&d, (float *)cache, B, T, &c);
  return TA_CUDA(cudaMemcpyAsync(out, c.P, B * d.Hz * T * sizeof(float), cudaMemcpyDeviceToDevice,
                                 0),
                 msg);
}

extern "C" const ta_cuda_layer_ops ta_cuda_seq2seq_ops = {s2s_cache_size, s2s_scratch_size, s2s_forward,
                                                          s2s_backward, s2s_attn_weights};

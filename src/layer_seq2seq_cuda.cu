/* The seq2seq layer (recurrent encoder-decoder with attention; equations, parameter
 * order and names in layer_seq2seq.c) on the GPU. The host's layer and parameter layout
 * (layer_seq2seq.h) are used as they are; only the buffers are on the device. The order
 * of the passes' steps is the CPU's, written once in layer_seq2seq.h (s2s_run_forward,
 * s2s_run_backward); this file gives the steps on the device's buffers (gpu_steps).
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

/* ---- the steps of the passes (their order: s2s_run_forward, s2s_run_backward) ---- */

/* what the steps of one pass read and write */
typedef struct {
  s2s_base b;
  s2s_cache c;
  s2s_scr s;
  const ta_cuda_pass *ps;
  ta_cuda_pass dps; /* backward: ps with ones over the decoder's B*T1 rows */
  ta_msg *msg;
  size_t T1;
  int tf, additive; /* teacher forcing; the additive score */
  const int *len;
  const float *keys, *dout;
  float *out, *din, *dkeys;
  float *dsn, *dsn_new; /* backward: d s_{t+1} from later steps; d s_t being built */
} s2s_gpu;

static s2s_gpu gpu_pass(const ta_layer *L, float *cache, float *scratch, const float *in,
                        const float *params, float *dparams, const ta_cuda_pass *ps, size_t B,
                        size_t T, ta_msg *msg) {
  s2s_gpu x;
  memset(&x, 0, sizeof x);
  x.b = s2s_base_of(L, in, params, dparams, B, T);
  x.ps = ps;
  x.msg = msg;
  x.T1 = x.b.d.Hz + 1;
  cache_layout(&x.b.d, cache, B, T, &x.c);
  if (scratch) scratch_layout(&x.b.d, scratch, B, T, &x.s);
  /* teacher forcing reads the targets in training only: the backward of the same pass
   * finds what its forward did */
  x.tf = ps->training && ps->target != NULL;
  x.additive = x.b.d.score == TA_SCORE_ADDITIVE;
  x.len = ps->valid_len;
  x.keys = x.b.d.score == TA_SCORE_DOT ? x.c.E : x.c.K;
  x.dkeys = x.b.d.score == TA_SCORE_DOT ? x.s.dE : x.s.dK;
  return x;
}

/* the query of step t of each sequence (W_s s_t additive, else s_t) and its stride */
static const float *gpu_query(const s2s_gpu *x, size_t t, size_t *sq) {
  *sq = x->additive ? x->T1 * x->b.d.Kd : x->T1 * x->b.d.H;
  return x->additive ? x->c.Q + t * x->b.d.Kd : x->c.S + t * x->b.d.H;
}

static int gpu_encode(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_cache *c = &x->c;
  return ta_cuda_rnn_cell_forward(x->b.d.lstm, c->eg, c->eaux, c->E, c->hp, x->b.in, x->b.d.F,
                                  x->b.params + x->b.o.e_wih, x->b.B, x->b.T, x->b.d.H, x->msg);
}

/* keys: W_h h_j (additive), W h_j (general), h_j (dot) */
static int gpu_keys(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  if (x->b.d.score == TA_SCORE_DOT) return TA_OK;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd;
  const float *Wk = x->b.params + (x->additive ? x->b.o.a2 : x->b.o.a1);
  return ta_cuda_gemm(TA_GEMM_NT, x->c.K, Kd, 0, x->c.E, H, 0, Wk, H, 0, x->b.B * x->b.T, Kd, H, 1, 0,
                      x->msg);
}

/* decoder start: rows 0 of U zero (they meet zero gradients in the weight products) */
static int gpu_start(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const size_t H = x->b.d.H, O = x->b.d.O, DI = x->b.d.DI, B = x->b.B;
  int st = TA_CUDA(cudaMemset2DAsync(x->c.U, x->T1 * DI * sizeof(float), 0, DI * sizeof(float),
                                     B, 0),
                   x->msg);
  if (st) return st;
  size_t W = H > O ? H : O;
  s2s_start_kernel<<<ta_cuda_blocks(B * W), TA_CUDA_THREADS>>>(
      x->c.S, x->c.Ad, x->c.U, x->c.E, x->c.eaux, x->b.in, x->len, B, x->b.T, x->T1, H, O, x->b.d.F, DI,
      W, x->b.d.lstm);
  return TA_CUDA_LAUNCHED(x->msg);
}

static int gpu_attend(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, O = x->b.d.O, Hz = x->b.d.Hz, DI = x->b.d.DI, Kd = x->b.d.Kd, T = x->b.T;
  const size_t B = x->b.B, T1 = x->T1, r = t + 1;
  ta_msg *msg = x->msg;
  size_t sq;
  const float *q = gpu_query(x, t, &sq);
  int st;
  if (x->additive) {
    if ((st = ta_cuda_gemm(TA_GEMM_NT, c->Q + t * Kd, T1 * Kd, 0, c->S + t * H, T1 * H, 0,
                           x->b.params + x->b.o.a1, H, 0, B, Kd, H, 1, 0, msg)))
      return st;
    s2s_additive_scores_kernel<<<ta_cuda_blocks(B * T), TA_CUDA_THREADS>>>(
        c->P, c->Q, x->keys, x->b.v, x->len, B, T, T1, Hz, Kd, t);
    if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  } else {
    /* scores [1, T] = q_b [1, Kd] K_b [T, Kd]^T per sequence b */
    if ((st = ta_cuda_gemm(TA_GEMM_NT, c->P + t * T, T, Hz * T, q, Kd, sq, x->keys, Kd, T * Kd, 1,
                           T, Kd, B, 0, msg)))
      return st;
  }
  s2s_softmax_kernel<<<ta_cuda_blocks(B), TA_CUDA_THREADS>>>(c->P, x->len, B, T, Hz, t);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  /* ctx_b [1, H] = p_b [1, T] E_b [T, H], into U row r after y_prev */
  return ta_cuda_gemm(TA_GEMM_NN, c->U + r * DI + O, DI, T1 * DI, c->P + t * T, T, Hz * T, c->E,
                      H, T * H, 1, H, T, B, 0, msg);
}

/* the cell on [y_prev, ctx]: gates row r = U row r W_ih^T + b, hp = s_t W_hh^T */
static int gpu_cell(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, GH = x->b.d.GH, DI = x->b.d.DI, B = x->b.B, T1 = x->T1, r = t + 1;
  const float *dbih = x->b.params + x->b.o.d_bih, *dbhh = x->b.params + x->b.o.d_bhh;
  ta_msg *msg = x->msg;
  int st;
  if ((st = ta_cuda_gemm(TA_GEMM_NT, c->Gd + r * GH, T1 * GH, 0, c->U + r * DI, T1 * DI, 0,
                         x->b.params + x->b.o.d_wih, DI, 0, B, GH, DI, 1, 0, msg)) ||
      (st = ta_cuda_add_bias(c->Gd + r * GH, T1 * GH, dbih, x->b.d.lstm ? dbhh : NULL, B, GH, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_NT, c->hp, GH, 0, c->S + t * H, T1 * H, 0, x->b.params + x->b.o.d_whh,
                         H, 0, B, GH, H, 1, 0, msg)))
    return st;
  return x->b.d.lstm ? ta_cuda_lstm_step(c->Gd, c->Ad, c->S, c->hp, B, T1, H, r, msg)
                   : ta_cuda_gru_step(c->Gd, c->Ad, c->S, c->hp, dbhh, B, T1, H, r, msg);
}

/* y_t = W_o [s_{t+1}; ctx_t] + b_o into out [B, Hz, O] */
static int gpu_output(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const size_t H = x->b.d.H, O = x->b.d.O, Hz = x->b.d.Hz, DI = x->b.d.DI, B = x->b.B, T1 = x->T1, r = t + 1;
  const float *Wo = x->b.params + x->b.o.wo;
  float *yt = x->out + t * O;
  int st;
  if ((st = ta_cuda_gemm(TA_GEMM_NT, yt, Hz * O, 0, x->c.S + r * H, T1 * H, 0, Wo, 2 * H, 0, B, O,
                         H, 1, 0, x->msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_NT, yt, Hz * O, 0, x->c.U + r * DI + O, T1 * DI, 0, Wo + H, 2 * H,
                         0, B, O, H, 1, 1, x->msg)))
    return st;
  return ta_cuda_add_bias(yt, Hz * O, x->b.params + x->b.o.bo, NULL, B, O, x->msg);
}

/* the next step's y_prev: the target (teacher forcing) or this output (greedy) */
static int gpu_feed(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const size_t O = x->b.d.O, Hz = x->b.d.Hz, DI = x->b.d.DI, T1 = x->T1;
  const float *src = x->tf ? x->ps->target : x->out;
  return ta_cuda_copy_rows(x->c.U + (t + 2) * DI, T1 * DI, src + t * O, Hz * O, O, x->b.B, x->msg);
}

static int gpu_begin_back(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, GH = x->b.d.GH, O = x->b.d.O, Hz = x->b.d.Hz, Kd = x->b.d.Kd, B = x->b.B;
  const size_t T1 = x->T1, BT = B * x->b.T, BT1 = B * T1;
  ta_msg *msg = x->msg;
  int st;
  /* decoder bias gradients over B*T1 rows: a ones vector of that length */
  x->dps = *x->ps;
  x->dps.ones = s->ones;
  x->dps.ones_len = BT1;
  x->dsn = s->dsn0;
  x->dsn_new = s->dsn1;
  if ((st = ta_cuda_fill(s->ones, 1.0f, BT1, msg))) return st;
  /* dY rows r = t+1 from dout [B, Hz, O]; rows 0 (and every unwritten row) zero */
  if ((st = ta_cuda_zero(s->dY, BT1 * O, msg)) ||
      (st = ta_cuda_copy_rows(s->dY + O, T1 * O, x->dout, Hz * O, Hz * O, B, msg)) ||
      (st = ta_cuda_zero(s->dG, BT1 * GH, msg)) ||
      (!x->b.d.lstm && (st = ta_cuda_zero(s->dPd, BT1 * GH, msg))) ||
      (st = ta_cuda_zero(s->dQ, BT1 * Kd, msg)) || (st = ta_cuda_zero(s->dsn0, B * H, msg)) ||
      (st = ta_cuda_zero(s->dcn, B * H, msg)) || (st = ta_cuda_zero(s->dE, BT * H, msg)) ||
      (x->b.d.score != TA_SCORE_DOT && (st = ta_cuda_zero(s->dK, BT * Kd, msg))))
    return st;
  return TA_OK;
}

/* output layer: dSo row r = dy_t W_o[:, :H] (the cell adds dsn) */
static int gpu_output_back(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const size_t H = x->b.d.H, O = x->b.d.O, T1 = x->T1, r = t + 1;
  return ta_cuda_gemm(TA_GEMM_NN, x->s.dSo + r * H, T1 * H, 0, x->s.dY + r * O, T1 * O, 0,
                      x->b.params + x->b.o.wo, 2 * H, 0, x->b.B, H, O, 1, 0, x->msg);
}

/* the cell, then d s_t = (GRU: dh z +) dA W_hh, then dU [B, DI] = dg W_ih */
static int gpu_cell_back(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_scr *s = &x->s;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, GH = x->b.d.GH, DI = x->b.d.DI, B = x->b.B, T1 = x->T1, r = t + 1;
  const float *dWhh = x->b.params + x->b.o.d_whh;
  ta_msg *msg = x->msg;
  int st;
  if (x->b.d.lstm) {
    if ((st = ta_cuda_lstm_step_grad(s->dG, s->dcn, NULL, NULL, s->dSo, x->dsn, c->Gd, c->Ad, B, T1,
                                     H, r, msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_NN, x->dsn_new, H, 0, s->dG + r * GH, T1 * GH, 0, dWhh, H, 0, B,
                           H, GH, 1, 0, msg)))
      return st;
  } else {
    if ((st = ta_cuda_gru_step_grad(s->dG, s->dPd, x->dsn_new, s->dSo, x->dsn, c->Gd, c->Ad, c->S,
                                    B, T1, H, r, msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_NN, x->dsn_new, H, 0, s->dPd + r * GH, T1 * GH, 0, dWhh, H, 0,
                           B, H, GH, 1, 1, msg)))
      return st;
  }
  return ta_cuda_gemm(TA_GEMM_NN, s->dU, DI, 0, s->dG + r * GH, T1 * GH, 0,
                      x->b.params + x->b.o.d_wih, DI, 0, B, DI, GH, 1, 0, msg);
}

/* dU's y_prev part to the previous output (greedy), nowhere (teacher forcing) or the
 * last observed values (t = 0); its ctx part and dy W_o[:, H:] to dctx */
static int gpu_input_back(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, O = x->b.d.O, DI = x->b.d.DI, B = x->b.B, T1 = x->T1, r = t + 1;
  ta_msg *msg = x->msg;
  int st = TA_OK;
  if (t == 0) st = ta_cuda_copy_rows(s->dY0, O, s->dU, DI, O, B, msg);
  else if (!x->tf) st = add_rows(s->dY + t * O, T1 * O, s->dU, DI, O, B, msg);
  if (st) return st;
  if ((st = ta_cuda_copy_rows(s->dctx, H, s->dU + O, DI, H, B, msg))) return st;
  return ta_cuda_gemm(TA_GEMM_NN, s->dctx, H, 0, s->dY + r * O, T1 * O, 0, x->b.params + x->b.o.wo + H,
                      2 * H, 0, B, H, O, 1, 1, msg);
}

/* attention: dp_b [1, T] = dctx_b E_b^T; dS = softmax backward; dE_b += p_b^T dctx_b */
static int gpu_attend_back(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, Hz = x->b.d.Hz, T = x->b.T, B = x->b.B;
  ta_msg *msg = x->msg;
  int st;
  if ((st = ta_cuda_gemm(TA_GEMM_NT, s->dp, T, T, s->dctx, H, H, x->c.E, H, T * H, 1, T, H, B, 0,
                         msg)))
    return st;
  s2s_softmax_grad_kernel<<<ta_cuda_blocks(B), TA_CUDA_THREADS>>>(s->dS, s->dp, x->c.P, x->len, B,
                                                                  T, Hz, t);
  if ((st = TA_CUDA_LAUNCHED(msg))) return st;
  return ta_cuda_gemm(TA_GEMM_TN, s->dE, H, T * H, x->c.P + t * T, T, Hz * T, s->dctx, H, H, T, H,
                      1, B, 1, msg);
}

/* scores back to the query (dQ row t) and the keys, the query to d s_t */
static int gpu_query_back(void *vx, size_t t) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_scr *s = &x->s;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd, T = x->b.T, B = x->b.B, T1 = x->T1;
  ta_msg *msg = x->msg;
  size_t sq;
  const float *q = gpu_query(x, t, &sq);
  int st;
  if (x->additive) {
    s2s_additive_grad_kernel<<<ta_cuda_blocks(B * Kd), TA_CUDA_THREADS>>>(
        s->dQ, s->dK, s->dS, x->c.Q, x->c.K, x->b.v, x->len, B, T, T1, Kd, t);
    if ((st = TA_CUDA_LAUNCHED(msg))) return st;
    s2s_additive_dv_kernel<<<ta_cuda_blocks(Kd), TA_CUDA_THREADS>>>(
        x->b.dparams + x->b.o.a3, s->dS, x->c.Q, x->c.K, x->b.v, x->len, B, T, T1, Kd, t);
    if ((st = TA_CUDA_LAUNCHED(msg))) return st;
    /* q = W_s s_t: d s_t += dq W_s */
    if ((st = ta_cuda_gemm(TA_GEMM_NN, x->dsn_new, H, 0, s->dQ + t * Kd, T1 * Kd, 0,
                           x->b.params + x->b.o.a1, H, 0, B, H, Kd, 1, 1, msg)))
      return st;
  } else {
    /* dq_b [1, Kd] = dS_b K_b; dK_b += dS_b^T q_b */
    if ((st = ta_cuda_gemm(TA_GEMM_NN, s->dQ + t * Kd, Kd, T1 * Kd, s->dS, T, T, x->keys, Kd,
                           T * Kd, 1, Kd, T, B, 0, msg)) ||
        (st = ta_cuda_gemm(TA_GEMM_TN, x->dkeys, Kd, T * Kd, s->dS, T, T, q, Kd, sq, T, Kd, 1, B, 1,
                           msg)) ||
        (st = add_rows(x->dsn_new, H, s->dQ + t * Kd, T1 * Kd, H, B, msg)))
      return st;
  }
  float *sw = x->dsn;
  x->dsn = x->dsn_new;
  x->dsn_new = sw;
  return TA_OK;
}

/* decoder weight gradients, one product each over all B*T1 rows (rows that are no step's
 * meet zero gradients) */
static int gpu_decoder_back(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_scr *s = &x->s;
  const s2s_cache *c = &x->c;
  const size_t H = x->b.d.H, GH = x->b.d.GH, O = x->b.d.O, DI = x->b.d.DI, Kd = x->b.d.Kd;
  const size_t BT1 = x->b.B * x->T1;
  float *dp = x->b.dparams;
  float *dA = x->b.d.lstm ? s->dG : s->dPd;
  ta_msg *msg = x->msg;
  int st;
  if ((st = ta_cuda_gemm(TA_GEMM_TN, dp + x->b.o.wo, 2 * H, 0, s->dY, O, 0, c->S, H, 0, O, H, BT1, 1,
                         1, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_TN, dp + x->b.o.wo + H, 2 * H, 0, s->dY, O, 0, c->U + O, DI, 0, O, H,
                         BT1, 1, 1, msg)) ||
      (st = ta_cuda_bias_grad(dp + x->b.o.bo, s->dY, O, BT1, O, &x->dps, msg)) ||
      (st = ta_cuda_gemm(TA_GEMM_TN, dp + x->b.o.d_wih, DI, 0, s->dG, GH, 0, c->U, DI, 0, GH, DI, BT1,
                         1, 1, msg)) ||
      (st = ta_cuda_bias_grad(dp + x->b.o.d_bih, s->dG, GH, BT1, GH, &x->dps, msg)) ||
      (st = ta_cuda_bias_grad(dp + x->b.o.d_bhh, dA, GH, BT1, GH, &x->dps, msg)) ||
      /* dW_hh += sum over rows r >= 1 of dA_r^T s_{r-1} (rows 0 of dA are zero) */
      (st = ta_cuda_gemm(TA_GEMM_TN, dp + x->b.o.d_whh, H, 0, dA + GH, GH, 0, c->S, H, 0, GH, H,
                         BT1 - 1, 1, 1, msg)))
    return st;
  /* q = W_s s: dW_s += dQ^T S (row t of dQ meets s_t; row Hz is zero) */
  if (x->additive)
    return ta_cuda_gemm(TA_GEMM_TN, dp + x->b.o.a1, H, 0, s->dQ, Kd, 0, c->S, H, 0, Kd, H, BT1, 1, 1,
                        msg);
  return TA_OK;
}

/* keys back to the encoder states: W_h (additive), W (general) */
static int gpu_keys_back(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  if (x->b.d.score == TA_SCORE_DOT) return TA_OK;
  const size_t H = x->b.d.H, Kd = x->b.d.Kd, BT = x->b.B * x->b.T;
  size_t W = x->additive ? x->b.o.a2 : x->b.o.a1;
  int st;
  if ((st = ta_cuda_gemm(TA_GEMM_TN, x->b.dparams + W, H, 0, x->s.dK, Kd, 0, x->c.E, H, 0, Kd, H, BT,
                         1, 1, x->msg)))
    return st;
  return ta_cuda_gemm(TA_GEMM_NN, x->s.dE, H, 0, x->s.dK, Kd, 0, x->b.params + W, H, 0, BT, H, Kd, 1,
                      1, x->msg);
}

/* s_0 = h_{len-1} (and c_0 = c_{len-1}: injected by the encoder's step kernel) */
static int gpu_start_back(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  return add_at_last(x->s.dE, x->b.d.H, x->dsn, x->b.d.H, x->len, x->b.B, x->b.T, x->msg);
}

/* encoder, then the first decoder input's gradient to x[b, len-1, 0:O] */
static int gpu_encode_back(void *vx) {
  s2s_gpu *x = (s2s_gpu *)vx;
  const s2s_scr *s = &x->s;
  const s2s_cache *c = &x->c;
  const int lstm = x->b.d.lstm;
  int st = ta_cuda_rnn_cell_backward(lstm, x->din, x->b.dparams + x->b.o.e_wih, s->dE, s->work, x->b.in,
                                     x->b.d.F, x->b.params + x->b.o.e_wih, c->eg, c->eaux, c->E,
                                     lstm ? s->dcn : NULL, x->len, x->ps, x->b.B, x->b.T, x->b.d.H,
                                     x->msg);
  if (st || !x->din) return st;
  return add_at_last(x->din, x->b.d.F, s->dY0, x->b.d.O, x->len, x->b.B, x->b.T, x->msg);
}

/* in s2s_steps's order: stopped, the forward's steps, the backward's */
static const s2s_steps gpu_steps = {
    NULL, /* no interrupt polls on the GPU path */
    gpu_encode,      gpu_keys,        gpu_start,      gpu_attend,       gpu_cell,
    gpu_output,      gpu_feed,        gpu_begin_back, gpu_output_back,  gpu_cell_back,
    gpu_input_back,  gpu_attend_back, gpu_query_back, gpu_decoder_back, gpu_keys_back,
    gpu_start_back,  gpu_encode_back};

static int s2s_forward(const ta_layer *L, float *out, float *cache, const float *in,
                       const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                       ta_msg *msg) {
  s2s_gpu x = gpu_pass(L, cache, NULL, in, params, NULL, ps, B, T, msg);
  x.out = out;
  return s2s_run_forward(&gpu_steps, &x, x.b.d.Hz);
}

static int s2s_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                        const float *dout, const float *in, const float *out, const float *cache,
                        const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                        ta_msg *msg) {
  (void)out;
  s2s_gpu x = gpu_pass(L, (float *)cache, scratch, in, params, dparams, ps, B, T, msg);
  x.din = din;
  x.dout = dout;
  return s2s_run_backward(&gpu_steps, &x, x.b.d.Hz);
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

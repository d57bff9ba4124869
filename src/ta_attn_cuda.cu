/* The attention core on the GPU (ta_cuda_attn.h): cuBLAS products per head, strided
 * over the sequences, and fused row kernels calling the row and element formulas of
 * ta_attn_math.h, which the CPU kernels call too. The masked softmax and its backward run
 * one warp per score row (ta_cuda_warp.h: coalesced reads, the row's sum in a fixed lane
 * order); one thread per row read rows T floats apart across a warp and took about a
 * quarter of a W4 (transformer) training step on an H200 (ncu, 2026-12-04). The other
 * row kernels (norms, additive and cosine parts) still run one thread per row. */
#include "ta_cuda_check.h"
#include "ta_cuda_attn.h"
#include "ta_cuda_ops.h"
#include "ta_cuda_warp.h"
#include "ta_attn_math.h"

#define ROW_LOOP(i, n)                                                               \
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n);            \
       i += (size_t)blockDim.x * gridDim.x)

static size_t bhtt(const ta_cuda_attn *a) { return a->B * a->H * a->T * a->T; }
static size_t bht(const ta_cuda_attn *a) { return a->B * a->H * a->T; }
static int dropping(const ta_cuda_attn *a, const ta_cuda_pass *ps) {
  return ps->training && a->rate > 0.0f;
}

typedef struct {
  float *P, *mask, *Pd, *nq, *nk;
} attn_cache;

static attn_cache cache_of(const ta_cuda_attn *a, float *base) {
  attn_cache c;
  size_t n = bhtt(a);
  c.P = base;
  c.mask = a->rate > 0.0f ? c.P + n : NULL;
  c.Pd = a->rate > 0.0f ? c.mask + n : NULL;
  float *end = c.P + (a->rate > 0.0f ? 3 * n : n);
  c.nq = a->score == TA_SCORE_COSINE ? end : NULL;
  c.nk = a->score == TA_SCORE_COSINE ? end + bht(a) : NULL;
  return c;
}

extern "C" size_t ta_cuda_attn_cache_size(const ta_cuda_attn *a) {
  return bhtt(a) * (a->rate > 0.0f ? 3 : 1) + (a->score == TA_SCORE_COSINE ? 2 * bht(a) : 0);
}

/* scratch: dS [B,H,T,T]; cosine: a second [B,H,T,T] and per-row parts [B,H,T];
 * additive: per-(sequence, head) parts [B,H,dk] */
extern "C" size_t ta_cuda_attn_scratch_size(const ta_cuda_attn *a) {
  size_t s = bhtt(a);
  if (a->score == TA_SCORE_COSINE) s += bhtt(a) + bht(a);
  if (a->score == TA_SCORE_ADDITIVE) s += a->B * a->H * a->dk;
  return s;
}

extern "C" const float *ta_cuda_attn_weights(const ta_cuda_attn *a, const float *cache) {
  (void)a;
  return cache;
}

/* the factor the dot-product scores are multiplied by (ta_attn.c's dot_scale) */
static float dot_scale(const ta_cuda_attn *a) {
  return a->score == TA_SCORE_SCALED_DOT ? 1.0f / sqrtf((float)a->dk) : 1.0f;
}

/* ---- kernels ---------------------------------------------------------------------- */

/* the view of one score row r = (b*H + h)*T + i */
struct row_view {
  size_t b, h, i;
};
__device__ static inline row_view row_of(size_t r, size_t H, size_t T) {
  row_view v;
  v.i = r % T;
  v.h = (r / T) % H;
  v.b = r / (T * H);
  return v;
}

/* n [B*H*T] = clamped norms of the rows of x (head h of sequence b: x + b*T*ld + h*d) */
__global__ void ta_attn_norms_kernel(float *n, const float *x, size_t ld, size_t H, size_t T,
                                     size_t d, size_t rows) {
  ROW_LOOP(r, rows) {
    row_view v = row_of(r, H, T);
    const float *xr = x + (v.b * T + v.i) * ld + v.h * d;
    float ss = 0.0f;
    for (size_t t = 0; t < d; t++) ss += xr[t] * xr[t];
    n[r] = ta_attn_norm(ss);
  }
}

/* additive scores S [B,H,T,T] for the visible pairs (the others are left for the
 * softmax to zero): one thread per (row, key) */
__global__ void ta_attn_additive_kernel(float *S, const float *q, const float *k,
                                        const float *w, size_t ldq, size_t ldk, size_t H,
                                        size_t T, size_t dk, const int *valid_len, int causal,
                                        int window, size_t n) {
  ROW_LOOP(e, n) {
    size_t r = e / T, j = e % T;
    row_view v = row_of(r, H, T);
    size_t lo, hi;
    ta_attn_range(v.i, T, ta_attn_len(valid_len, v.b, T), causal, window, &lo, &hi);
    float s = 0.0f;
    if (j >= lo && j < hi)
      s = ta_attn_additive_score(q + (v.b * T + v.i) * ldq + v.h * dk,
                                 k + (v.b * T + j) * ldk + v.h * dk, w, dk);
    S[e] = s;
  }
}

/* the masked softmax of each score row in place, a warp per row, as ta_attn_softmax_row:
 * the visible keys [lo, hi) scaled by c, less their maximum, exponentiated and divided by
 * their sum; zeros elsewhere (and a zero row when no key is visible). Cosine (nq, nk not
 * NULL): the row's dot products become ta_attn_cosine_score first, with
 * c = exp(log_scale[0]). */
__global__ void ta_attn_softmax_kernel(float *S, const int *valid_len, int causal, int window,
                                       size_t H, size_t T, float c, const float *nq,
                                       const float *nk, const float *log_scale, size_t rows) {
  unsigned lane = ta_lane();
  TA_WARP_ROW_LOOP(r, rows) {
    row_view v = row_of(r, H, T);
    float *s = S + r * T;
    size_t lo, hi;
    ta_attn_range(v.i, T, ta_attn_len(valid_len, v.b, T), causal, window, &lo, &hi);
    if (lo >= hi) {
      for (size_t j = lane; j < T; j += TA_WARP) s[j] = 0.0f;
      continue; /* the same for every lane of the warp */
    }
    float cs = nq ? ta_expf(log_scale[0]) : 0.0f;
    const float *nkr = nq ? nk + (r - v.i) : NULL; /* the keys' norms of this (b, h) */
    float m = -INFINITY;
    for (size_t j = lo + lane; j < hi; j += TA_WARP) {
      float x = nq ? ta_attn_cosine_score(s[j], cs, nq[r], nkr[j]) : s[j];
      float t = c * x;
      s[j] = t;
      m = t > m ? t : m;
    }
    m = ta_warp_max(m);
    float sum = 0.0f;
    for (size_t j = lo + lane; j < hi; j += TA_WARP) {
      float e = ta_attn_softmax_exp(s[j], m);
      s[j] = e;
      sum += e;
    }
    sum = ta_warp_sum(sum);
    for (size_t j = lo + lane; j < hi; j += TA_WARP) s[j] /= sum;
    for (size_t j = lane; j < lo; j += TA_WARP) s[j] = 0.0f;
    for (size_t j = hi + lane; j < T; j += TA_WARP) s[j] = 0.0f;
  }
}

/* the softmax's backward of each row in place, a warp per row, as
 * ta_attn_softmax_row_grad: dS from dPd (times the dropout multipliers when mask is not
 * NULL), c P (dP - sum_j P dP) over the visible keys, zero elsewhere */
__global__ void ta_attn_softmax_grad_kernel(float *dS, const float *P, const float *mask,
                                            const int *valid_len, int causal, int window,
                                            size_t H, size_t T, float c, size_t rows) {
  unsigned lane = ta_lane();
  TA_WARP_ROW_LOOP(r, rows) {
    row_view v = row_of(r, H, T);
    size_t lo, hi;
    ta_attn_range(v.i, T, ta_attn_len(valid_len, v.b, T), causal, window, &lo, &hi);
    float *ds = dS + r * T;
    const float *p = P + r * T, *drop = mask ? mask + r * T : NULL;
    float acc = 0.0f;
    for (size_t j = lo + lane; j < hi; j += TA_WARP) {
      float g = ds[j];
      if (drop) g *= drop[j];
      ds[j] = g;
      acc += p[j] * g;
    }
    float rr = ta_warp_sum(acc);
    for (size_t j = lo + lane; j < hi; j += TA_WARP) ds[j] = ta_attn_softmax_dgrad(p[j], ds[j], rr, c);
    for (size_t j = lane; j < lo && j < T; j += TA_WARP) ds[j] = 0.0f;
    for (size_t j = (hi > lo ? hi : lo) + lane; j < T; j += TA_WARP) ds[j] = 0.0f;
  }
}

/* cosine backward, per row: G holds q.k of the row; part[r] = sum_j dS s (d loss /
 * d log_scale of the row, in key order, as the CPU); then G = c dS / nq_i (for dK) and
 * dS = c dS / nk_j (for dQ) */
__global__ void ta_attn_cosine_grad_kernel(float *dS, float *G, float *part, const float *nq,
                                           const float *nk, const float *log_scale,
                                           const int *valid_len, int causal, int window,
                                           size_t H, size_t T, size_t rows) {
  ROW_LOOP(r, rows) {
    row_view v = row_of(r, H, T);
    size_t lo, hi;
    ta_attn_range(v.i, T, ta_attn_len(valid_len, v.b, T), causal, window, &lo, &hi);
    float c = ta_expf(log_scale[0]);
    float *ds = dS + r * T, *g = G + r * T;
    const float *nkr = nk + (r - v.i);
    float dls = 0.0f;
    for (size_t j = lo; j < hi; j++) {
      if (ds[j] == 0.0f) continue;
      dls += ds[j] * ta_attn_cosine_score(g[j], c, nq[r], nkr[j]);
    }
    part[r] = dls;
    for (size_t j = 0; j < T; j++) {
      float cs = c * ds[j]; /* zero outside [lo, hi) */
      g[j] = cs / nq[r];
      ds[j] = cs / nkr[j];
    }
  }
}

/* cosine: dx (dL/dxh on entry) -> dL/dx for each row, with x's clamped norms n */
__global__ void ta_attn_unnormalize_kernel(float *dx, const float *x, const float *n, size_t ld,
                                           size_t H, size_t T, size_t d, size_t rows) {
  ROW_LOOP(r, rows) {
    row_view v = row_of(r, H, T);
    size_t off = (v.b * T + v.i) * ld + v.h * d;
    float *g = dx + off;
    const float *xr = x + off;
    float nr = n[r], xg = 0.0f;
    if (nr > TA_ATTN_NORM_EPS) {
      for (size_t t = 0; t < d; t++) xg += xr[t] * g[t];
      xg /= nr;
    }
    for (size_t t = 0; t < d; t++) g[t] = ta_attn_unnormalize(g[t], xr[t], nr, xg);
  }
}

/* additive backward, dQ: thread (row i, feature t) sums over the keys j in order, as the
 * CPU's row loop; with for_keys, dK: thread (key j, feature t) sums over the queries i
 * in order (the CPU's outer loop). ds = dS; th = tanh(q_t + k_t). */
__global__ void ta_attn_additive_grad_kernel(float *dx, const float *dS, const float *q,
                                             const float *k, const float *w, size_t ldq,
                                             size_t ldk, size_t ldx, size_t H, size_t T,
                                             size_t dk, int for_keys, size_t n) {
  ROW_LOOP(e, n) {
    size_t r = e / dk, t = e % dk; /* r = (b*H + h)*T + position */
    row_view v = row_of(r, H, T);
    const float *S0 = dS + (r - v.i) * T; /* the (b, h) block of dS */
    float acc = 0.0f;
    for (size_t m = 0; m < T; m++) {
      size_t i = for_keys ? m : v.i, j = for_keys ? v.i : m;
      float ds = S0[i * T + j];
      if (ds == 0.0f) continue;
      float th = ta_tanhf(q[(v.b * T + i) * ldq + v.h * dk + t] + k[(v.b * T + j) * ldk + v.h * dk + t]);
      acc += ta_attn_additive_grad(ds, w[t], th);
    }
    dx[(v.b * T + v.i) * ldx + v.h * dk + t] = acc;
  }
}

/* additive backward, the score weights: part[(b*H + h)*dk + t] = sum over the block's
 * pairs (i, then j, in order, as the CPU) of dS tanh(q_t + k_t) */
__global__ void ta_attn_additive_wgrad_kernel(float *part, const float *dS, const float *q,
                                              const float *k, size_t ldq, size_t ldk, size_t H,
                                              size_t T, size_t dk, size_t n) {
  ROW_LOOP(e, n) {
    size_t bh = e / dk, t = e % dk, b = bh / H, h = bh % H;
    const float *S0 = dS + bh * T * T;
    float acc = 0.0f;
    for (size_t i = 0; i < T; i++)
      for (size_t j = 0; j < T; j++) {
        float ds = S0[i * T + j];
        if (ds == 0.0f) continue;
        acc += ds * ta_tanhf(q[(b * T + i) * ldq + h * dk + t] + k[(b * T + j) * ldk + h * dk + t]);
      }
    part[e] = acc;
  }
}

static int launched(ta_msg *msg) { return TA_CUDA_LAUNCHED(msg); }

/* ---- products, one strided-batched call per head ----------------------------------- */

/* S_h [T, T] (+ h*T*T, stride H*T*T per sequence) = X_h Y_h^T (row width d, head offset
 * h*d, strides ldx, ldy) */
static int scores_nt(const ta_cuda_attn *a, float *S, const float *X, size_t ldx, const float *Y,
                     size_t ldy, size_t d, ta_msg *msg) {
  size_t T = a->T, TT = T * T;
  for (size_t h = 0; h < a->H; h++) {
    int st = ta_cuda_gemm(TA_GEMM_NT, S + h * TT, T, a->H * TT, X + h * d, ldx, T * ldx, Y + h * d,
                          ldy, T * ldy, T, T, d, a->B, 0, msg);
    if (st) return st;
  }
  return TA_OK;
}

/* Z_h [T, d] (rows ldz) = S_h [T, T] Y_h [T, d] (NN), or S_h^T Y_h (TN) */
static int apply_scores(const ta_cuda_attn *a, int op, float *Z, size_t ldz, const float *S,
                        const float *Y, size_t ldy, size_t d, ta_msg *msg) {
  size_t T = a->T, TT = T * T;
  for (size_t h = 0; h < a->H; h++) {
    int st = ta_cuda_gemm(op, Z + h * d, ldz, T * ldz, S + h * TT, T, a->H * TT, Y + h * d, ldy,
                          T * ldy, T, d, T, a->B, 0, msg);
    if (st) return st;
  }
  return TA_OK;
}

extern "C" int ta_cuda_attn_forward(const ta_cuda_attn *a, float *o, float *cache, const float *q,
                                    const float *k, const float *v, const float *sw,
                                    const ta_cuda_pass *ps, ta_msg *msg) {
  size_t rows = bht(a), n = bhtt(a), H = a->H, T = a->T;
  if (n == 0) return TA_OK;
  attn_cache c = cache_of(a, cache);
  int st;
  unsigned int grid = ta_cuda_blocks(rows);
  if (a->score == TA_SCORE_ADDITIVE) {
    ta_attn_additive_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(
        c.P, q, k, sw, a->ldq, a->ldk, H, T, a->dk, ps->valid_len, a->causal, a->window, n);
    if ((st = launched(msg))) return st;
  } else {
    if ((st = scores_nt(a, c.P, q, a->ldq, k, a->ldk, a->dk, msg))) return st;
  }
  if (a->score == TA_SCORE_COSINE) {
    ta_attn_norms_kernel<<<grid, TA_CUDA_THREADS>>>(c.nq, q, a->ldq, H, T, a->dk, rows);
    if ((st = launched(msg))) return st;
    ta_attn_norms_kernel<<<grid, TA_CUDA_THREADS>>>(c.nk, k, a->ldk, H, T, a->dk, rows);
    if ((st = launched(msg))) return st;
  }
  ta_attn_softmax_kernel<<<ta_cuda_warp_blocks(rows), TA_CUDA_THREADS>>>(c.P, ps->valid_len, a->causal, a->window, H, T,
                                                    dot_scale(a), c.nq, c.nk, sw, rows);
  if ((st = launched(msg))) return st;
  const float *W = c.P;
  if (dropping(a, ps)) {
    unsigned long long key = ta_rng_next(ps->rng);
    if ((st = ta_cuda_dropout(c.Pd, c.mask, c.P, n, a->rate, key, msg))) return st;
    W = c.Pd;
  }
  return apply_scores(a, TA_GEMM_NN, o, a->ldo, W, v, a->ldv, a->dv, msg);
}

extern "C" int ta_cuda_attn_backward(const ta_cuda_attn *a, float *dq, float *dk, float *dv,
                                     float *dsw, float *scratch, const float *dout,
                                     const float *q, const float *k, const float *v,
                                     const float *cache, const float *sw, const ta_cuda_pass *ps,
                                     ta_msg *msg) {
  size_t rows = bht(a), n = bhtt(a), H = a->H, T = a->T;
  if (n == 0) return TA_OK;
  attn_cache c = cache_of(a, (float *)cache);
  int drop = dropping(a, ps), st;
  const float *W = drop ? c.Pd : c.P;
  float *dS = scratch;
  unsigned int grid = ta_cuda_blocks(rows);
  /* dPd = dO V^T; dV = Pd^T dO */
  if ((st = scores_nt(a, dS, dout, a->ldo, v, a->ldv, a->dv, msg))) return st;
  if ((st = apply_scores(a, TA_GEMM_TN, dv, a->ldv, W, dout, a->ldo, a->dv, msg))) return st;
  /* dS = c P (dP - rowsum(P dP)), c folded in for the dot products only (as the CPU) */
  float c_ds = a->score == TA_SCORE_DOT || a->score == TA_SCORE_SCALED_DOT ? dot_scale(a) : 1.0f;
  ta_attn_softmax_grad_kernel<<<ta_cuda_warp_blocks(rows), TA_CUDA_THREADS>>>(dS, c.P, drop ? c.mask : NULL,
                                                         ps->valid_len, a->causal, a->window, H,
                                                         T, c_ds, rows);
  if ((st = launched(msg))) return st;
  if (a->score == TA_SCORE_ADDITIVE) {
    size_t nq = rows * a->dk, nb = a->B * H * a->dk;
    float *part = dS + n;
    ta_attn_additive_grad_kernel<<<ta_cuda_blocks(nq), TA_CUDA_THREADS>>>(
        dq, dS, q, k, sw, a->ldq, a->ldk, a->ldq, H, T, a->dk, 0, nq);
    if ((st = launched(msg))) return st;
    ta_attn_additive_grad_kernel<<<ta_cuda_blocks(nq), TA_CUDA_THREADS>>>(
        dk, dS, q, k, sw, a->ldq, a->ldk, a->ldk, H, T, a->dk, 1, nq);
    if ((st = launched(msg))) return st;
    ta_attn_additive_wgrad_kernel<<<ta_cuda_blocks(nb), TA_CUDA_THREADS>>>(
        part, dS, q, k, a->ldq, a->ldk, H, T, a->dk, nb);
    if ((st = launched(msg))) return st;
    /* dw [dk] += the parts' sum over (sequence, head), ones^T part: a fixed order */
    return ta_cuda_bias_grad(dsw, part, a->dk, a->B * H, a->dk, ps, msg);
  }
  if (a->score == TA_SCORE_COSINE) {
    float *G = dS + n, *part = G + n;
    if ((st = scores_nt(a, G, q, a->ldq, k, a->ldk, a->dk, msg))) return st;
    ta_attn_cosine_grad_kernel<<<grid, TA_CUDA_THREADS>>>(dS, G, part, c.nq, c.nk, sw,
                                                          ps->valid_len, a->causal, a->window, H,
                                                          T, rows);
    if ((st = launched(msg))) return st;
    /* dQh = (c dS / nk) K, dKh = (c dS / nq)^T Q, then through the normalisation */
    if ((st = apply_scores(a, TA_GEMM_NN, dq, a->ldq, dS, k, a->ldk, a->dk, msg)) ||
        (st = apply_scores(a, TA_GEMM_TN, dk, a->ldk, G, q, a->ldq, a->dk, msg)))
      return st;
    ta_attn_unnormalize_kernel<<<grid, TA_CUDA_THREADS>>>(dq, q, c.nq, a->ldq, H, T, a->dk, rows);
    if ((st = launched(msg))) return st;
    ta_attn_unnormalize_kernel<<<grid, TA_CUDA_THREADS>>>(dk, k, c.nk, a->ldk, H, T, a->dk, rows);
    if ((st = launched(msg))) return st;
    return ta_cuda_bias_grad(dsw, part, 1, rows, 1, ps, msg);
  }
  /* dQ = dS K, dK = dS^T Q */
  if ((st = apply_scores(a, TA_GEMM_NN, dq, a->ldq, dS, k, a->ldk, a->dk, msg))) return st;
  return apply_scores(a, TA_GEMM_TN, dk, a->ldk, dS, q, a->ldq, a->dk, msg);
}

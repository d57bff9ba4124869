/* One unit j of one step of a GRU or LSTM cell on the GPU, forward and backward: the reads
 * and writes around ta_rnn_math.h's cell formulas, shared by ta_rnn_cuda.cu's per-step
 * kernels and ta_rnn_seq_cuda.cu's whole-sequence ones (device code, included by .cu files
 * only). Pointers are to one step's row: g the gates [G*H], p the recurrent projection
 * h_{t-1} W_hh^T [G*H] (NULL at t = 0, where it is zero), hn, c, h [H]; dg, dP [G*H]. */
#ifndef TA_CUDA_RNN_UNIT_H
#define TA_CUDA_RNN_UNIT_H

#include "ta_rnn_math.h"

/* GRU forward: g in: x W_ih^T + b_ih, out: r, z, n; writes hn[j] = p_n + b_hn and h[j];
 * returns h_t */
__device__ static inline float ta_gru_unit(float *g, float *hn, float *h, const float *p,
                                           const float *b_hh, float hprev, size_t H, size_t j) {
  float r, z, n, hh;
  float out = ta_gru_cell(&r, &z, &n, &hh, g[j], g[H + j], g[2 * H + j], p ? p[j] : 0.0f,
                          p ? p[H + j] : 0.0f, p ? p[2 * H + j] : 0.0f, b_hh[j], b_hh[H + j],
                          b_hh[2 * H + j], hprev);
  g[j] = r;
  g[H + j] = z;
  g[2 * H + j] = n;
  hn[j] = hh;
  h[j] = out;
  return out;
}

/* LSTM forward: g in: x W_ih^T + b_ih + b_hh, out: i, f, g, o; writes c[j] and h[j];
 * returns h_t (c_t in *c_t) */
__device__ static inline float ta_lstm_unit(float *g, float *c, float *h, float *c_t,
                                            const float *p, float cprev, size_t H, size_t j) {
  /* as the CPU: g + p with p = 0 at t = 0 */
  float ai = g[j] + (p ? p[j] : 0.0f), af = g[H + j] + (p ? p[H + j] : 0.0f),
        ag = g[2 * H + j] + (p ? p[2 * H + j] : 0.0f),
        ao = g[3 * H + j] + (p ? p[3 * H + j] : 0.0f);
  float gi, gf, gg, go, cc;
  float out = ta_lstm_cell(&gi, &gf, &gg, &go, &cc, ai, af, ag, ao, cprev);
  g[j] = gi;
  g[H + j] = gf;
  g[2 * H + j] = gg;
  g[3 * H + j] = go;
  c[j] = cc;
  h[j] = out;
  *c_t = cc;
  return out;
}

/* GRU backward from dh = dL/dh_t: dg (the input projection's pre-activation gradients)
 * and dP (the recurrent projection's, whose n part is da_n * r) at j; returns dh * z, the
 * part of dL/dh_{t-1} that bypasses W_hh */
__device__ static inline float ta_gru_unit_grad(float *dg, float *dP, const float *g, float dh,
                                                float hn, float hprev, size_t H, size_t j) {
  float r = g[j], z = g[H + j], n = g[2 * H + j];
  float dar, daz, dan;
  float dz = ta_gru_cell_grad(&dar, &daz, &dan, dh, r, z, n, hn, hprev);
  dg[j] = dar;
  dg[H + j] = daz;
  dg[2 * H + j] = dan;
  dP[j] = dar;
  dP[H + j] = daz;
  dP[2 * H + j] = dan * r;
  return dz;
}

/* LSTM backward from dh = dL/dh_t and dcn = dL/dc_t: dg at j; returns dL/dc_{t-1} */
__device__ static inline float ta_lstm_unit_grad(float *dg, const float *g, float dh, float dcn,
                                                 float c, float cprev, size_t H, size_t j) {
  float di, df, dgg, d_o;
  float dc = ta_lstm_cell_grad(&di, &df, &dgg, &d_o, dh, dcn, g[j], g[H + j], g[2 * H + j],
                               g[3 * H + j], c, cprev);
  dg[j] = di;
  dg[H + j] = df;
  dg[2 * H + j] = dgg;
  dg[3 * H + j] = d_o;
  return dc;
}

#endif

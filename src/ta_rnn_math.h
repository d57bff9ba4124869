/* Per-element formulas of the GRU and LSTM cells (forward and backward), written once
 * for the CPU and the GPU (TA_HD, as ta_math.h). The GPU cell kernels (ta_rnn_cuda.cu)
 * call these; they compose ta_math.h's functions in exactly the order of the CPU
 * loops in layer_gru.c and layer_lstm.c (same operations, same rounding), which should
 * call them too so that each formula exists once. Gate pre-activations arrive as the
 * input projection g (x W_ih^T + b_ih, for the LSTM + b_hh too) and the recurrent
 * projection p (h_{t-1} W_hh^T, 0 at t = 0). */
#ifndef TA_RNN_MATH_H
#define TA_RNN_MATH_H

#include "ta_math.h"

/* GRU forward of one unit: gates r, z, n (after activation) and hn = p_n + b_hn into
 * out[0..3], returns h_t. g, p, b: the r, z, n parts of the input projection, the
 * recurrent product and b_hh. */
TA_HD float ta_gru_cell(float *r, float *z, float *n, float *hn, float g_r, float g_z, float g_n,
                        float p_r, float p_z, float p_n, float b_r, float b_z, float b_n,
                        float h_prev) {
  float rr = ta_sigmoidf(g_r + p_r + b_r);
  float zz = ta_sigmoidf(g_z + p_z + b_z);
  float hh = p_n + b_n;
  float nn = ta_tanhf(g_n + rr * hh);
  *r = rr;
  *z = zz;
  *n = nn;
  *hn = hh;
  return ta_gru_h(zz, nn, h_prev);
}

/* GRU backward of one unit at one step: dh is dL/dh_t (from above and from step t+1).
 * Writes the pre-activation gradients da_r, da_z, da_n (da_n is also the input
 * projection's; the recurrent projection's n part is da_n * r) and returns the part of
 * dL/dh_{t-1} that bypasses W_hh (dh * z). */
TA_HD float ta_gru_cell_grad(float *da_r, float *da_z, float *da_n, float dh, float r, float z,
                             float n, float hn, float h_prev) {
  float dn = dh * (1.0f - z);
  float dz = dh * (h_prev - n);
  float dan = dn * (1.0f - n * n);
  *da_r = dan * hn * r * (1.0f - r);
  *da_z = dz * z * (1.0f - z);
  *da_n = dan;
  return dh * z;
}

/* LSTM forward of one unit: pre-activations a_i, a_f, a_g, a_o (input plus recurrent
 * projection, biases included); writes the gates after activation and the cell state
 * c_t, returns h_t. */
TA_HD float ta_lstm_cell(float *i_, float *f_, float *g_, float *o_, float *c, float a_i,
                         float a_f, float a_g, float a_o, float c_prev) {
  float ii = ta_sigmoidf(a_i), ff = ta_sigmoidf(a_f), gg = ta_tanhf(a_g), oo = ta_sigmoidf(a_o);
  *i_ = ii;
  *f_ = ff;
  *g_ = gg;
  *o_ = oo;
  float cc = ta_lstm_c(ii, ff, gg, c_prev);
  *c = cc;
  return oo * ta_tanhf(cc);
}

/* LSTM backward of one unit at one step: dh = dL/dh_t, dc_next = dL/dc_t from step t+1.
 * Writes the pre-activation gradients of i, f, g, o and returns dL/dc_{t-1}. */
TA_HD float ta_lstm_cell_grad(float *da_i, float *da_f, float *da_g, float *da_o, float dh,
                              float dc_next, float i, float f, float g, float o, float c,
                              float c_prev) {
  float tc = ta_tanhf(c);
  float dc = dc_next + dh * o * (1.0f - tc * tc);
  *da_i = dc * g * i * (1.0f - i);
  *da_f = dc * c_prev * f * (1.0f - f);
  *da_g = dc * i * (1.0f - g * g);
  *da_o = dh * tc * o * (1.0f - o);
  return dc * f;
}

#endif

/* GRU/LSTM pieces of ta_rnn_cuda.cu for other GPU layers (the seq2seq encoder and decoder),
 * internal: the fused cell-step kernels behind host launchers, and one cell over a
 * whole sequence. Layouts as ta_rnn_cuda.cu's: rows b*T + t of [B*T, ...] buffers; gates
 * [B*T, G*H] (G = 3 GRU, 4 LSTM), aux [B*T, H] (GRU: hn = h W_hn^T + b_hn; LSTM: c),
 * h [B*T, H], hp [B, G*H] = h_{t-1} W_hh^T of one step. Each launches on the default
 * stream and returns a status with a message. */
#ifndef TA_CUDA_RNN_H
#define TA_CUDA_RNN_H

#include "ta_cuda_layer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* step t of the cell (t >= 1 reads hp, row t-1 of h and aux; t = 0 starts from zeros):
 * gates in: x W_ih^T + b_ih (+ b_hh for the LSTM), out: the gates after activation */
int ta_cuda_gru_step(float *gates, float *hn, float *h, const float *hp, const float *b_hh,
                     size_t B, size_t T, size_t H, size_t t, ta_msg *msg);
int ta_cuda_lstm_step(float *gates, float *c, float *h, const float *hp, size_t B, size_t T,
                      size_t H, size_t t, ta_msg *msg);
/* backward of step t: dH [B*T, H] the gradient from above, dh_next [B, H] from step t+1.
 * GRU: dg, dP rows t (gradients of the input and of the recurrent projection), dh_out
 * [B, H] = dh z (the path around W_hh). LSTM: dg rows t, dc [B, H] in: dL/dc_t, out:
 * dL/dc_{t-1}; dc_add [B, H] (or NULL) is added to dc at t = len[b] - 1 (len NULL: T-1). */
int ta_cuda_gru_step_grad(float *dg, float *dP, float *dh_out, const float *dH,
                          const float *dh_next, const float *gates, const float *hn,
                          const float *h, size_t B, size_t T, size_t H, size_t t, ta_msg *msg);
int ta_cuda_lstm_step_grad(float *dg, float *dc, const float *dc_add, const int *len,
                           const float *dH, const float *dh_next, const float *gates,
                           const float *c, size_t B, size_t T, size_t H, size_t t, ta_msg *msg);

/* one cell over x [B*T, I] with parameters W = W_ih [GH, I], W_hh [GH, H], b_ih, b_hh
 * (consecutive, PyTorch's layout), h_0 = c_0 = 0 */
int ta_cuda_rnn_cell_forward(int lstm, float *gates, float *aux, float *h, float *hp,
                             const float *x, size_t I, const float *W, size_t B, size_t T,
                             size_t H, ta_msg *msg);
/* floats of work ta_cuda_rnn_cell_backward needs */
size_t ta_cuda_rnn_cell_work(int lstm, size_t B, size_t T, size_t H);
/* its backward from dH [B*T, H] (not changed until every step has read it): dW (+=, the
 * layout of W), dx [B*T, I] (=, may be NULL, may be dH); LSTM: dc_last [B, H] (or NULL),
 * a gradient reaching c at each sequence's last valid step (len [B] device, or NULL) */
int ta_cuda_rnn_cell_backward(int lstm, float *dx, float *dW, float *dH, float *work,
                              const float *x, size_t I, const float *W, const float *gates,
                              const float *aux, const float *h, const float *dc_last,
                              const int *len, const ta_cuda_pass *ps, size_t B, size_t T,
                              size_t H, ta_msg *msg);

/* the whole recurrence in one launch (ta_rnn_seq_cuda.cu), when W_hh of a cell of width H
 * fits in a block's shared memory on the current device (1) or not (0) */
int ta_cuda_rnn_seq_fits(int lstm, size_t H);
/* the steps of ta_cuda_rnn_cell_forward after the input projection: gates [BT, G*H] in
 * x W_ih^T + b_ih (+ b_hh for the LSTM), out the gates; aux, h [BT, H] out */
int ta_cuda_rnn_seq_forward(int lstm, float *gates, float *aux, float *h, const float *W_hh,
                            const float *b_hh, size_t B, size_t T, size_t H, ta_msg *msg);
/* the steps of ta_cuda_rnn_cell_backward: dg [BT, G*H] and (GRU) dP [BT, 3H] from dH;
 * LSTM: dc_add, len as ta_cuda_lstm_step_grad's */
int ta_cuda_rnn_seq_backward(int lstm, float *dg, float *dP, const float *dH, const float *gates,
                             const float *aux, const float *h, const float *W_hh,
                             const float *dc_add, const int *len, size_t B, size_t T, size_t H,
                             ta_msg *msg);

/* The GRU and LSTM layers' GPU ops (layer_gru_cuda.cu, layer_lstm_cuda.cu): the stacked
 * cells with inter-layer dropout, the gates of the layer's kind (3 GRU, 4 LSTM) */
size_t ta_cuda_rnn_layer_cache(const ta_layer *L, size_t B, size_t T);
size_t ta_cuda_rnn_layer_scratch(const ta_layer *L, size_t B, size_t T);
int ta_cuda_rnn_layer_forward(const ta_layer *L, float *out, float *cache, const float *in,
                              const float *params, const ta_cuda_pass *ps, size_t B, size_t T,
                              ta_msg *msg);
int ta_cuda_rnn_layer_backward(const ta_layer *L, float *din, float *dparams, float *scratch,
                               const float *dout, const float *in, const float *out,
                               const float *cache, const float *params, const ta_cuda_pass *ps,
                               size_t B, size_t T, ta_msg *msg);

#ifdef __cplusplus
}
#endif

#endif

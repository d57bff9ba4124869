/* What GRU and LSTM share: G gates of width H per cell (G = 3 for GRU, 4 for LSTM),
 * stacked cells l = 0..num_layers-1, PyTorch's parameter layout per cell
 *   weight_ih_l{l} [G*H, I_l], weight_hh_l{l} [G*H, H], bias_ih_l{l} [G*H], bias_hh_l{l} [G*H]
 * with I_0 = in_dim and I_l = H above, and dropout on the outputs of every cell but the
 * last (as nn.GRU/nn.LSTM). */
#ifndef TA_RNN_H
#define TA_RNN_H

#include "ta_layer.h"

int ta_rnn_setup(ta_layer *L, const ta_layer_spec *s, int G, const char *kind, ta_msg *msg);
int ta_rnn_n_tensors(const ta_layer *L);
void ta_rnn_tensor(const ta_layer *L, int G, int k, ta_tensor_info *info);
void ta_rnn_init(const ta_layer *L, float *params, ta_rng *rng);
/* offset of cell l's weight_ih within the layer's parameters */
size_t ta_rnn_param_offset(const ta_layer *L, int G, int l);
static inline size_t ta_rnn_in(const ta_layer *L, int l) {
  return l == 0 ? (size_t)L->in_dim : (size_t)L->cfg.rnn.hidden;
}
static inline int ta_rnn_has_dropout(const ta_layer *L, int l) {
  return L->cfg.rnn.dropout > 0.0f && l < L->cfg.rnn.num_layers - 1;
}
/* Cache of one cell l for BT = B*T rows, in order: gates [BT, G*H] (after activation),
 * aux [BT, H] (GRU: h W_hn^T + b_hn; LSTM: the cell state c), h [BT, H], and when
 * dropout follows the cell: mask [BT, H], hd [BT, H] (the next cell's input). */
typedef struct {
  float *gates, *aux, *h, *mask, *hd;
} ta_rnn_cell;

ta_rnn_cell ta_rnn_cell_at(const ta_layer *L, int G, float *cache, int l, size_t BT);
/* floats of all cells' caches */
size_t ta_rnn_cells_size(const ta_layer *L, int G, size_t BT);

/* The next cell's input after cell c's forward: h itself, or h through the inter-layer
 * dropout (a mask is drawn in training, all ones otherwise, so backward can use it). */
const float *ta_rnn_next_input(const ta_layer *L, ta_rnn_cell *c, const ta_pass *ps, size_t BT);

/* out [B, T_out, H] from the top cell's h [B, T, H] */
void ta_rnn_emit(const ta_layer *L, float *out, const float *h, size_t B, size_t T);
/* dH [B, T, H] of the top cell from dout [B, T_out, H] */
void ta_rnn_collect(const ta_layer *L, float *dH, const float *dout, size_t B, size_t T);

/* What a cell's step loop reads and writes (the ctx of its ta_parallel_rows functions; the
 * recurrence of one sequence does not depend on the others, so its step loop runs on every
 * thread, a block of sequences each); each
 * block of sequences uses its own rows of every [B, ...] buffer. Forward: hp [B, G*H]
 * (h_{t-1} W_hh^T), Wp (W_hh^T packed), b_hh [G*H] (GRU). Backward: dH, dg, Wp (W_hh
 * packed), zero [H], dhnext [B, H]; dP and dhcur [B, H] (GRU), dcnext [B, H] (LSTM). */
typedef struct {
  ta_rnn_cell c;
  float *hp, *dg, *dP, *dhcur, *dhnext, *dcnext;
  const float *Wp, *b_hh, *dH, *zero;
  const ta_pass *ps;
  size_t T, H;
} ta_rnn_steps;
/* Step t's recurrent product for the block [b0, b1): hp's rows = h_{t-1} W_hh^T (G*H
 * columns), all zeros at t = 0 (h_{-1} = 0) */
void ta_rnn_step_product(const ta_rnn_steps *k, size_t G, size_t b0, size_t b1, size_t t);

#endif

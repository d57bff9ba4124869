/* The one list of layer kinds. Each entry X(ID, name, cpu_ops, gpu_ops) gives a kind's
 * enum TA_LAYER_ID (numbered 1, 2, ... in this order), the name R writes in a layer's
 * spec ("type"), its ta_layer_ops table (layer_X.c) and its GPU ta_cuda_layer_ops table
 * (layer_X_cuda.cu). From it come the enum and the ops declarations (ta_layer.h), the CPU
 * lookup (ta_net.c), the GPU lookup and declarations (ta_net_cuda.cu, ta_cuda_layer.h) and
 * the table of names the glue reads (api_spec.c), so a new kind is one line here.
 * Plain macros: read by C and by nvcc alike. */
#ifndef TA_LAYER_KINDS_H
#define TA_LAYER_KINDS_H

#define TA_LAYER_KINDS(X)                                                                   \
  X(DENSE, "dense", ta_dense_ops, ta_cuda_dense_ops)                                        \
  X(ACTIVATION, "activation", ta_activation_ops, ta_cuda_activation_ops)                    \
  X(DROPOUT, "dropout", ta_dropout_ops, ta_cuda_dropout_ops)                                \
  X(GRU, "gru", ta_gru_ops, ta_cuda_gru_ops)                                                \
  X(LSTM, "lstm", ta_lstm_ops, ta_cuda_lstm_ops)                                            \
  X(LAST_STEP, "last_step", ta_last_step_ops, ta_cuda_last_step_ops)                        \
  X(CONV1D, "conv1d", ta_conv1d_ops, ta_cuda_conv1d_ops)                                    \
  X(LAYER_NORM, "layer_norm", ta_layer_norm_ops, ta_cuda_layer_norm_ops)                    \
  X(POSENC, "positional_encoding", ta_posenc_ops, ta_cuda_posenc_ops)                       \
  X(ATTENTION, "attention", ta_attention_ops, ta_cuda_attention_ops)                        \
  X(MHA, "multihead_attention", ta_mha_ops, ta_cuda_mha_ops)                                \
  X(TRANSFORMER, "transformer_encoder", ta_transformer_ops, ta_cuda_transformer_ops)        \
  X(SEQ2SEQ, "seq2seq", ta_seq2seq_ops, ta_cuda_seq2seq_ops)

#endif

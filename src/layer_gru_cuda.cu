/* The GRU layer on the GPU (see layer_gru.c for the CPU's): the stacked cells of
 * ta_rnn_cuda.cu, which runs GRU and LSTM alike with the gates of the layer's kind. */
#include "ta_cuda_rnn.h"

extern "C" const ta_cuda_layer_ops ta_cuda_gru_ops = {ta_cuda_rnn_layer_cache,
                                                      ta_cuda_rnn_layer_scratch,
                                                      ta_cuda_rnn_layer_forward,
                                                      ta_cuda_rnn_layer_backward, NULL};

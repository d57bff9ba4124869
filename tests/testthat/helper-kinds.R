# A layer of every kind, with settings away from the defaults where it has any: the kinds
# of C's one list (src/ta_layer_kinds.h), for test-settings.R and test-cuda.R, which
# check that each kind's settings cross to C and that each kind builds and has a GPU path.
every_kind <- list(
  layer_dense(3, activation = "tanh", bias = FALSE),
  layer_activation("sigmoid"),
  layer_dropout(0.25),
  layer_gru(4, num_layers = 2, dropout = 0.1, return_sequences = FALSE),
  layer_lstm(5, return_sequences = TRUE),
  layer_last_step(),
  layer_conv1d(6, 3, padding = "valid", activation = "relu", bias = FALSE),
  layer_layer_norm(eps = 1e-3),
  layer_positional_encoding("learned", max_len = 30, dropout = 0.2),
  layer_attention(units = 7, key_dim = 5, score = "cosine", window = 2, causal = TRUE, bias = TRUE),
  layer_multihead_attention(2, key_dim = 3, dropout = 0.3, causal = TRUE),
  layer_transformer_encoder(2, 16, dropout = 0.1, causal = TRUE, norm_first = TRUE,
                            activation = "gelu", eps = 1e-4),
  seq2seq(layer_lstm(6), layer_lstm(6), attention = "additive", horizon = 3, output_dim = 2,
          attention_units = 4)$layers[[1L]]
)

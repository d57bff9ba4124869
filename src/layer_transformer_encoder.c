/* transformer_encoder: not implemented yet (placeholder so the network and the R API can refer to it). */
#include "ta_layer.h"

static int transformer_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  (void)L; (void)s;
  return ta_fail(msg, TA_ERR_ARG, "transformer_encoder is not implemented yet");
}

const ta_layer_ops ta_transformer_ops = {.kind = "transformer_encoder", .setup = transformer_setup};

/* layer_norm: not implemented yet (placeholder so the network and the R API can refer to it). */
#include "ta_layer.h"

static int layer_norm_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  (void)L; (void)s;
  return ta_fail(msg, TA_ERR_ARG, "layer_norm is not implemented yet");
}

const ta_layer_ops ta_layer_norm_ops = {.kind = "layer_norm", .setup = layer_norm_setup};

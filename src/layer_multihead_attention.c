/* multihead_attention: not implemented yet (placeholder so the network and the R API can refer to it). */
#include "ta_layer.h"

static int mha_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  (void)L; (void)s;
  return ta_fail(msg, TA_ERR_ARG, "multihead_attention is not implemented yet");
}

const ta_layer_ops ta_mha_ops = {.kind = "multihead_attention", .setup = mha_setup};

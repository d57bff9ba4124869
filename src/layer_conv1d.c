/* conv1d: not implemented yet (placeholder so the network and the R API can refer to it). */
#include "ta_layer.h"

static int conv1d_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  (void)L; (void)s;
  return ta_fail(msg, TA_ERR_ARG, "conv1d is not implemented yet");
}

const ta_layer_ops ta_conv1d_ops = {.kind = "conv1d", .setup = conv1d_setup};

/* positional_encoding: not implemented yet (placeholder so the network and the R API can refer to it). */
#include "ta_layer.h"

static int posenc_setup(ta_layer *L, const ta_layer_spec *s, ta_msg *msg) {
  (void)L; (void)s;
  return ta_fail(msg, TA_ERR_ARG, "positional_encoding is not implemented yet");
}

const ta_layer_ops ta_posenc_ops = {.kind = "positional_encoding", .setup = posenc_setup};

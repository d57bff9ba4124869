/* The sinusoidal positional encoding table: ta_posenc_value (ta_posenc.h) for every
 * entry, as the GPU's layer_positional_encoding_cuda.cu computes it. */
#include "ta_posenc.h"

void ta_posenc_table(float *P, size_t T, size_t d) {
  for (size_t i = 0; i < T; i++)
    for (size_t c = 0; c < d; c++) P[i * d + c] = ta_posenc_value(i, c, d);
}

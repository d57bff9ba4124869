/* The sinusoidal positional encoding table (Vaswani et al.), shared by the layer and
 * by positional_encoding() in R:
 *   P[i, 2j] = sin(i / 10000^(2j/d)),  P[i, 2j+1] = cos(i / 10000^(2j/d))
 * computed in double and rounded once to float; odd d ends with a sine column. */
#include <math.h>
#include "ta_posenc.h"

void ta_posenc_table(float *P, size_t T, size_t d) {
  for (size_t i = 0; i < T; i++) {
    for (size_t c = 0; c < d; c++) {
      size_t two_j = c - (c % 2);
      double angle = (double)i / pow(10000.0, (double)two_j / (double)d);
      P[i * d + c] = (float)(c % 2 == 0 ? sin(angle) : cos(angle));
    }
  }
}

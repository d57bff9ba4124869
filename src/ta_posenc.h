/* The sinusoidal positional encoding (Vaswani et al.), shared by the layer (CPU:
 * layer_positional_encoding.c; GPU: layer_positional_encoding_cuda.cu) and positional_encoding() in R:
 *   P[i, 2j] = sin(i / 10000^(2j/d)),  P[i, 2j+1] = cos(i / 10000^(2j/d))
 * computed in double and rounded once to float; odd d ends with a sine column. */
#ifndef TA_POSENC_H
#define TA_POSENC_H

#include <math.h>
#include <stddef.h>
#include "ta_common.h"

/* entry P[i, c] of the table for width d, written once for the CPU and the GPU (TA_HD;
 * the device's double sin, cos and pow are within an ulp or two of the C library's, so
 * the float entry agrees to the float's last bit at most) */
TA_HD float ta_posenc_value(size_t i, size_t c, size_t d) {
  size_t two_j = c - (c % 2);
  double angle = (double)i / pow(10000.0, (double)two_j / (double)d);
  return (float)(c % 2 == 0 ? sin(angle) : cos(angle));
}

/* P [T, d], row-major: the sinusoidal positional encoding of positions 0..T-1 */
void ta_posenc_table(float *P, size_t T, size_t d);

#endif

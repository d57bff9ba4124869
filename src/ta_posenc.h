#ifndef TA_POSENC_H
#define TA_POSENC_H

#include <stddef.h>

/* P [T, d], row-major: the sinusoidal positional encoding of positions 0..T-1 */
void ta_posenc_table(float *P, size_t T, size_t d);

#endif

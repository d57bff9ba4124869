/* Activations over buffers (src/ta_act.c): the ta_math.h formulas, vectorised. */
#ifndef TA_ACT_H
#define TA_ACT_H

#include <stddef.h>

/* y[n] = act(x[n]) (y may be x) */
void ta_act_forward(float *y, const float *x, size_t n, int code);
/* g[n] = dy[n] * act'(x[n]) given y = act(x) (y may be NULL: recomputed; g may be dy) */
void ta_act_backward(float *g, const float *dy, const float *x, const float *y, size_t n,
                     int code);

#endif

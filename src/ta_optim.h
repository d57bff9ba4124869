/* Optimizers over the flat parameter block, PyTorch's torch.optim.Adam (weight decay
 * as an L2 term added to the gradient) and torch.optim.SGD (momentum, no dampening). */
#ifndef TA_OPTIM_H
#define TA_OPTIM_H

#include <stddef.h>

enum { TA_OPT_ADAM = 1, TA_OPT_SGD = 2 };

typedef struct {
  int kind;
  double lr, beta1, beta2, eps, weight_decay, momentum;
  long step; /* steps taken so far */
} ta_optim;

/* floats of state per parameter: 2 for Adam (m, v), 1 for SGD (momentum buffer) */
size_t ta_optim_state_per_param(const ta_optim *opt);
/* one step: params updated in place; state [n * state_per_param] starts zeroed */
void ta_optim_step(ta_optim *opt, float *params, const float *grads, float *state, size_t n);
/* scales grads so their global L2 norm is at most max_norm (as clip_grad_norm_); returns the norm */
double ta_clip_grad_norm(float *grads, size_t n, double max_norm);

#endif

#include <math.h>
#include "ta_optim.h"
#include "ta_math.h"
#include "ta_math_train.h"

size_t ta_optim_state_per_param(const ta_optim *opt) { return opt->kind == TA_OPT_ADAM ? 2 : 1; }

void ta_optim_step(ta_optim *opt, float *params, const float *grads, float *state, size_t n) {
  opt->step++;
  float wd = (float)opt->weight_decay;
  if (opt->kind == TA_OPT_ADAM) {
    ta_adam_consts c = ta_adam_prepare(opt->lr, opt->beta1, opt->beta2, opt->eps,
                                       opt->weight_decay, opt->step);
    float *m = state, *v = state + n;
    for (size_t i = 0; i < n; i++) {
      float g = ta_decay_grad(grads[i], params[i], c.weight_decay);
      params[i] = ta_adam_update(params[i], g, &m[i], &v[i], c.one_m_beta1, c.beta2,
                                 c.one_m_beta2, c.step_size, c.bc2_sqrt, c.eps);
    }
  } else {
    float lr = (float)opt->lr, mom = (float)opt->momentum;
    int first = opt->step == 1;
    for (size_t i = 0; i < n; i++) {
      float g = ta_decay_grad(grads[i], params[i], wd);
      params[i] = ta_sgd_update(params[i], g, &state[i], lr, mom, first);
    }
  }
}

double ta_clip_grad_norm(float *grads, size_t n, double max_norm) {
  double ss = 0.0;
  for (size_t i = 0; i < n; i++) ss += (double)grads[i] * (double)grads[i];
  double norm = sqrt(ss);
  if (max_norm > 0.0 && norm > max_norm) {
    float coef = (float)(max_norm / (norm + 1e-6));
    for (size_t i = 0; i < n; i++) grads[i] *= coef;
  }
  return norm;
}

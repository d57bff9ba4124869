#include <math.h>
#include "ta_optim.h"
#include "ta_math.h"

size_t ta_optim_state_per_param(const ta_optim *opt) { return opt->kind == TA_OPT_ADAM ? 2 : 1; }

void ta_optim_step(ta_optim *opt, float *params, const float *grads, float *state, size_t n) {
  opt->step++;
  float wd = (float)opt->weight_decay;
  if (opt->kind == TA_OPT_ADAM) {
    /* scalars in double then cast once, as PyTorch passes Python floats to float kernels */
    double bc1 = 1.0 - pow(opt->beta1, (double)opt->step);
    double bc2 = 1.0 - pow(opt->beta2, (double)opt->step);
    float step_size = (float)(opt->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float omb1 = (float)(1.0 - opt->beta1), b2 = (float)opt->beta2, omb2 = (float)(1.0 - opt->beta2);
    float eps = (float)opt->eps;
    float *m = state, *v = state + n;
    for (size_t i = 0; i < n; i++) {
      float g = wd != 0.0f ? grads[i] + wd * params[i] : grads[i];
      params[i] = ta_adam_update(params[i], g, &m[i], &v[i], omb1, b2, omb2, step_size, bc2_sqrt, eps);
    }
  } else {
    float lr = (float)opt->lr, mom = (float)opt->momentum;
    for (size_t i = 0; i < n; i++) {
      float g = wd != 0.0f ? grads[i] + wd * params[i] : grads[i];
      if (mom != 0.0f) {
        state[i] = opt->step == 1 ? g : mom * state[i] + g;
        g = state[i];
      }
      params[i] -= lr * g;
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

/* Adam on the GPU: one fused kernel per step over the flat parameter block. The update
 * is ta_adam_update (ta_math.h) after ta_decay_grad (ta_math_train.h), with the scalars
 * of ta_adam_prepare computed once on the host, exactly as ta_optim_step does. */
#include "ta_cuda_check.h"
#include "ta_cuda_ops.h"
#include "ta_math.h"

__global__ void ta_adam_kernel(float *params, const float *grads, float *m, float *v, size_t n,
                               ta_adam_consts c) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x) {
    float p = params[i], mi = m[i], vi = v[i];
    float g = ta_decay_grad(grads[i], p, c.weight_decay);
    params[i] = ta_adam_update(p, g, &mi, &vi, c.one_m_beta1, c.beta2, c.one_m_beta2,
                               c.step_size, c.bc2_sqrt, c.eps);
    m[i] = mi;
    v[i] = vi;
  }
}

extern "C" int ta_cuda_adam_step(float *params, const float *grads, float *m, float *v, size_t n,
                                 const ta_adam_consts *c, ta_msg *msg) {
  if (n == 0) return TA_OK;
  ta_adam_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(params, grads, m, v, n, *c);
  return TA_CUDA_LAUNCHED(msg);
}

/* SGD with momentum: ta_sgd_update (ta_math_train.h) after ta_decay_grad, as
 * ta_optim_step does */
__global__ void ta_sgd_kernel(float *params, const float *grads, float *buf, size_t n, float lr,
                              float momentum, float wd, int first) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x) {
    float p = params[i], b = buf[i];
    float g = ta_decay_grad(grads[i], p, wd);
    params[i] = ta_sgd_update(p, g, &b, lr, momentum, first);
    buf[i] = b;
  }
}

extern "C" int ta_cuda_sgd_step(float *params, const float *grads, float *buf, size_t n, float lr,
                                float momentum, float weight_decay, int first, ta_msg *msg) {
  if (n == 0) return TA_OK;
  ta_sgd_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(params, grads, buf, n, lr, momentum,
                                                        weight_decay, first);
  return TA_CUDA_LAUNCHED(msg);
}

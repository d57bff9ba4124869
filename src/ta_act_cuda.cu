/* Activation forward and backward on the GPU: the formulas are ta_act/ta_act_grad of
 * ta_math.h, the ones the CPU layers run; only the indexing differs (grid-stride loop). */
#include "ta_cuda_check.h"
#include "ta_cuda_ops.h"
#include "ta_math.h"

__global__ void ta_act_forward_kernel(float *out, const float *in, size_t n, int act) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x)
    out[i] = ta_act(act, in[i]);
}

__global__ void ta_act_backward_kernel(float *din, const float *dout, const float *in,
                                       const float *out, size_t n, int act) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)blockDim.x * gridDim.x)
    din[i] = dout[i] * ta_act_grad(act, in[i], out[i]);
}

static int check_act(int act, ta_msg *msg) {
  if (act < TA_ACT_LINEAR || act > TA_ACT_GELU)
    return ta_fail(msg, TA_ERR_ARG, "activation: unknown code %d", act);
  return TA_OK;
}

extern "C" int ta_cuda_act_forward(float *out, const float *in, size_t n, int act, ta_msg *msg) {
  int st = check_act(act, msg);
  if (st || n == 0) return st;
  ta_act_forward_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(out, in, n, act);
  return TA_CUDA_LAUNCHED(msg);
}

extern "C" int ta_cuda_act_backward(float *din, const float *dout, const float *in,
                                    const float *out, size_t n, int act, ta_msg *msg) {
  int st = check_act(act, msg);
  if (st || n == 0) return st;
  ta_act_backward_kernel<<<ta_cuda_blocks(n), TA_CUDA_THREADS>>>(din, dout, in, out, n, act);
  return TA_CUDA_LAUNCHED(msg);
}

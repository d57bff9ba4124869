/* The CUDA runtime layer of a CPU-only build (configure chose no CUDA): the functions of
 * ta_cuda.h, each failing with TA_ERR_NO_CUDA, so that the .Call glue and R code are the
 * same in both builds. In a CUDA build this file compiles to nothing (ta_runtime_cuda.cu
 * has the real functions). */
#include "ta_cuda.h"
#include "ta_cuda_ops.h"
#include "ta_cuda_net.h"

#if !TSATTN_CUDA

static int no_cuda(ta_msg *msg) {
  return ta_fail(msg, TA_ERR_NO_CUDA,
                 "this build of tsattn has no CUDA backend (it was installed without nvcc, "
                 "with --without-cuda or with TSATTN_CUDA=0)");
}

int ta_cuda_built(void) { return 0; }

int ta_cuda_device_count(int *count, ta_msg *msg) {
  *count = 0;
  return no_cuda(msg);
}

int ta_cuda_device_info(int id, ta_cuda_device *dev, ta_msg *msg) {
  (void)id;
  (void)dev;
  return no_cuda(msg);
}

int ta_cuda_device_usable(int id, ta_msg *msg) {
  (void)id;
  return no_cuda(msg);
}

int ta_cuda_blas_library(ta_msg *msg) { return no_cuda(msg); }

int ta_cuda_select(int id, ta_msg *msg) {
  (void)id;
  return no_cuda(msg);
}

int ta_cuda_malloc(void **ptr, size_t bytes, ta_msg *msg) {
  (void)bytes;
  *ptr = NULL;
  return no_cuda(msg);
}

void ta_cuda_free(void *ptr) { (void)ptr; }

int ta_cuda_to_device(void *dst, const void *src, size_t bytes, ta_msg *msg) {
  (void)dst;
  (void)src;
  (void)bytes;
  return no_cuda(msg);
}

int ta_cuda_to_host(void *dst, const void *src, size_t bytes, ta_msg *msg) {
  (void)dst;
  (void)src;
  (void)bytes;
  return no_cuda(msg);
}

int ta_cuda_sync(ta_msg *msg) { return no_cuda(msg); }

int ta_cuda_blas(void **handle, ta_msg *msg) {
  *handle = NULL;
  return no_cuda(msg);
}

void ta_cuda_release(void) {}

int ta_cuda_gemm(int op, float *C, size_t ldc, size_t sC, const float *A, size_t lda, size_t sA,
                 const float *B, size_t ldb, size_t sB, size_t M, size_t N, size_t K,
                 size_t batch, int accumulate, ta_msg *msg) {
  (void)op; (void)C; (void)ldc; (void)sC; (void)A; (void)lda; (void)sA; (void)B; (void)ldb;
  (void)sB; (void)M; (void)N; (void)K; (void)batch; (void)accumulate;
  return no_cuda(msg);
}

int ta_cuda_act_forward(float *out, const float *in, size_t n, int act, ta_msg *msg) {
  (void)out; (void)in; (void)n; (void)act;
  return no_cuda(msg);
}

int ta_cuda_act_backward(float *din, const float *dout, const float *in, const float *out,
                         size_t n, int act, ta_msg *msg) {
  (void)din; (void)dout; (void)in; (void)out; (void)n; (void)act;
  return no_cuda(msg);
}

int ta_cuda_adam_step(float *params, const float *grads, float *m, float *v, size_t n,
                      const ta_adam_consts *c, ta_msg *msg) {
  (void)params; (void)grads; (void)m; (void)v; (void)n; (void)c;
  return no_cuda(msg);
}

int ta_cuda_dropout(float *out, float *mask, const float *in, size_t n, float rate,
                    unsigned long long key, ta_msg *msg) {
  (void)out; (void)mask; (void)in; (void)n; (void)rate; (void)key;
  return no_cuda(msg);
}

size_t ta_cuda_loss_workspace(size_t n) {
  (void)n;
  return 0;
}

int ta_cuda_loss(int kind, double *loss, float *grad, const float *yhat, const float *y, size_t n,
                 void *work, ta_msg *msg) {
  (void)kind; (void)grad; (void)yhat; (void)y; (void)n; (void)work;
  *loss = 0.0;
  return no_cuda(msg);
}

int ta_cuda_sgd_step(float *params, const float *grads, float *buf, size_t n, float lr,
                     float momentum, float weight_decay, int first, ta_msg *msg) {
  (void)params; (void)grads; (void)buf; (void)n; (void)lr; (void)momentum; (void)weight_decay;
  (void)first;
  return no_cuda(msg);
}

int ta_cuda_clip_grad_norm(float *grads, size_t n, double max_norm, void *work, ta_msg *msg) {
  (void)grads; (void)n; (void)max_norm; (void)work;
  return no_cuda(msg);
}

/* the GPU network (ta_cuda_net.h): nothing can be created, so the rest is never reached
 * with a network, but answers all the same */
int ta_cuda_net_unsupported(const ta_net *net, ta_msg *why) {
  (void)net;
  no_cuda(why);
  return -1;
}

int ta_cuda_net_create(ta_cuda_net **out, ta_net *net, int device, ta_msg *msg) {
  (void)net; (void)device;
  *out = NULL;
  return no_cuda(msg);
}

void ta_cuda_net_free(ta_cuda_net *g) { (void)g; }

int ta_cuda_net_reserve(ta_cuda_net *g, size_t B, size_t T, ta_msg *msg) {
  (void)g; (void)B; (void)T;
  return no_cuda(msg);
}

int ta_cuda_net_forward(ta_cuda_net *g, const float **yhat, size_t b, size_t T, ta_msg *msg) {
  (void)g; (void)b; (void)T;
  *yhat = NULL;
  return no_cuda(msg);
}

int ta_cuda_net_backward(ta_cuda_net *g, float *dx, const float *dy, size_t b, size_t T,
                         ta_msg *msg) {
  (void)g; (void)dx; (void)dy; (void)b; (void)T;
  return no_cuda(msg);
}

int ta_cuda_net_upload(ta_cuda_net *g, const float *x, const float *y, size_t b, size_t T,
                       ta_msg *msg) {
  (void)g; (void)x; (void)y; (void)b; (void)T;
  return no_cuda(msg);
}

int ta_cuda_net_predict(ta_cuda_net *g, float *out, const float *x, const int *len, size_t B,
                        size_t T, size_t chunk, ta_msg *msg) {
  (void)g; (void)out; (void)x; (void)len; (void)B; (void)T; (void)chunk;
  return no_cuda(msg);
}

int ta_cuda_net_gradient(ta_cuda_net *g, double *loss, float *grads, float *dx, float *yhat,
                         const float *x, const int *len, const float *y, size_t B, size_t T,
                         int loss_kind, int training, ta_msg *msg) {
  (void)g; (void)grads; (void)dx; (void)yhat; (void)x; (void)len; (void)y; (void)B; (void)T;
  (void)loss_kind; (void)training;
  *loss = 0.0;
  return no_cuda(msg);
}

int ta_cuda_train(ta_cuda_net *g, const ta_data *train, const ta_data *val, size_t T,
                  const ta_train_cfg *cfg, double *loss_hist, double *val_hist,
                  ta_train_result *res, ta_msg *msg) {
  (void)g; (void)train; (void)val; (void)T; (void)cfg; (void)loss_hist; (void)val_hist;
  res->epochs_run = 0;
  res->best_epoch = 0;
  return no_cuda(msg);
}

int ta_cuda_simulate(ta_cuda_net *g, float *paths, float *mean, const float *window,
                     size_t lookback, size_t n_series, const float *xreg_future, size_t n_xreg,
                     size_t h, size_t npaths, const float *resid, size_t n_resid,
                     unsigned long long seed, ta_msg *msg) {
  (void)g; (void)paths; (void)mean; (void)window; (void)lookback; (void)n_series;
  (void)xreg_future; (void)n_xreg; (void)h; (void)npaths; (void)resid; (void)n_resid; (void)seed;
  return no_cuda(msg);
}

int ta_cuda_net_attn_weights(ta_cuda_net *g, int i, float *out, size_t B, size_t T,
                             ta_msg *msg) {
  (void)g; (void)i; (void)out; (void)B; (void)T;
  return no_cuda(msg);
}

int ta_cuda_net_upload_len(ta_cuda_net *g, const int *len, size_t b, ta_msg *msg) {
  (void)g; (void)len; (void)b;
  return no_cuda(msg);
}

#else

/* ISO C wants at least one declaration in a translation unit */
typedef int ta_cuda_stub_unused;

#endif

/* Common definitions of the tsattn C core: status codes and the message buffer that
 * carries an error out of the core. The core is pure C: it never calls the R API,
 * never prints and never exits; it returns a status and fills a ta_msg, and only the
 * .Call glue (api_*.c) turns that into an R error. */
#ifndef TA_COMMON_H
#define TA_COMMON_H

#include <stddef.h>

/* Element-wise formulas are shared by the CPU and the CUDA backend: under nvcc TA_HD
 * becomes __host__ __device__, so each formula exists once. */
#ifdef __CUDACC__
#define TA_HD __host__ __device__ static inline
#else
#define TA_HD static inline
#endif

enum {
  TA_OK = 0,
  TA_ERR_ARG = 1,       /* invalid configuration or shape */
  TA_ERR_NOMEM = 2,     /* allocation failed */
  TA_ERR_NONFINITE = 3, /* loss became NaN or Inf */
  TA_ERR_INTERRUPT = 4  /* user interrupt seen between batches (or chunks of windows) */
};

#define TA_MSG_LEN 512
/* A cheap poll for a pending user interrupt, safe to call from any thread (it only reads
 * a flag): nonzero asks a long pass (a layer's loop over sequences, heads or steps) to end
 * early, leaving its outputs unspecified. Whoever sets one (ta_net.stop, ta_train_cfg.stop)
 * must then ask its interrupt callback, which takes the interrupt, and discard what the
 * cut-short passes produced: the poll stays nonzero until the interrupt is taken. */
typedef int (*ta_stop_fn)(void);

typedef struct {
  char text[TA_MSG_LEN];
} ta_msg;

/* Formats a message into msg (if not NULL) and returns code. */
int ta_fail(ta_msg *msg, int code, const char *fmt, ...);

#endif

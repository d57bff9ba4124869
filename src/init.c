/* Registration of the .Call entry points, with fixed arity, and no dynamic lookup, and
 * the fork handler of the core's threads (ta_threads.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, where it is needed (not glibc) */
#endif
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>
#include <R_ext/Visibility.h>
#include "ta_gemm.h"
#include "ta_net.h"
#include "ta_cuda.h"
#include "ta_threads.h"
#if !defined(_WIN32) && !defined(__GLIBC__)
#include <dlfcn.h>
#endif

SEXP C_net_layout(SEXP, SEXP, SEXP);
SEXP C_net_init(SEXP, SEXP, SEXP);
/* the network's actions: the device last (api_backend.h) */
SEXP C_net_predict(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_gradient(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_fit(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_attention(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_fit_windows(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_fit_rows(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_predict_rows(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_simulate(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_net_seq2seq_paths(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_cuda_available(void);
SEXP C_cuda_built(void);
SEXP C_cuda_devices(void);
SEXP C_cuda_op_gemm(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_cuda_op_act(SEXP, SEXP, SEXP, SEXP);
SEXP C_cuda_op_adam(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_cuda_op_loss(SEXP, SEXP, SEXP, SEXP);
SEXP C_cuda_op_dropout(SEXP, SEXP, SEXP, SEXP);
SEXP C_cuda_blas_library(void);
SEXP C_cuda_emulated(void);
SEXP C_cuda_net_unsupported(SEXP, SEXP);
SEXP C_positional_encoding(SEXP, SEXP);
SEXP C_set_threads(SEXP);
SEXP C_poison_workspaces(SEXP);
SEXP C_checksum(SEXP);
SEXP C_damped_states(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_codes(void);
SEXP C_layer_specs(SEXP);

static const R_CallMethodDef call_methods[] = {
    {"C_net_layout", (DL_FUNC)&C_net_layout, 3},
    {"C_net_init", (DL_FUNC)&C_net_init, 3},
    {"C_net_predict", (DL_FUNC)&C_net_predict, 8},
    {"C_net_gradient", (DL_FUNC)&C_net_gradient, 11},
    {"C_net_fit", (DL_FUNC)&C_net_fit, 14},
    {"C_net_fit_windows", (DL_FUNC)&C_net_fit_windows, 7},
    {"C_net_fit_rows", (DL_FUNC)&C_net_fit_rows, 12},
    {"C_net_predict_rows", (DL_FUNC)&C_net_predict_rows, 8},
    {"C_net_attention", (DL_FUNC)&C_net_attention, 7},
    {"C_net_simulate", (DL_FUNC)&C_net_simulate, 12},
    {"C_net_seq2seq_paths", (DL_FUNC)&C_net_seq2seq_paths, 12},
    {"C_cuda_available", (DL_FUNC)&C_cuda_available, 0},
    {"C_cuda_built", (DL_FUNC)&C_cuda_built, 0},
    {"C_cuda_devices", (DL_FUNC)&C_cuda_devices, 0},
    {"C_cuda_op_gemm", (DL_FUNC)&C_cuda_op_gemm, 7},
    {"C_cuda_op_act", (DL_FUNC)&C_cuda_op_act, 4},
    {"C_cuda_op_adam", (DL_FUNC)&C_cuda_op_adam, 7},
    {"C_cuda_op_loss", (DL_FUNC)&C_cuda_op_loss, 4},
    {"C_cuda_op_dropout", (DL_FUNC)&C_cuda_op_dropout, 4},
    {"C_cuda_blas_library", (DL_FUNC)&C_cuda_blas_library, 0},
    {"C_cuda_emulated", (DL_FUNC)&C_cuda_emulated, 0},
    {"C_cuda_net_unsupported", (DL_FUNC)&C_cuda_net_unsupported, 2},
    {"C_positional_encoding", (DL_FUNC)&C_positional_encoding, 2},
    {"C_set_threads", (DL_FUNC)&C_set_threads, 1},
    {"C_poison_workspaces", (DL_FUNC)&C_poison_workspaces, 1},
    {"C_checksum", (DL_FUNC)&C_checksum, 1},
    {"C_damped_states", (DL_FUNC)&C_damped_states, 5},
    {"C_codes", (DL_FUNC)&C_codes, 0},
    {"C_layer_specs", (DL_FUNC)&C_layer_specs, 1},
    {NULL, NULL, 0}};

void attribute_visible R_init_tsattn(DllInfo *dll);

/* A pthread_atfork handler cannot be removed. glibc removes it itself when the library
 * that registered it is unloaded; elsewhere the library stays loaded for the life of the
 * process (a second, never-closed reference), so that a fork after
 * library.dynam.unload() does not call code that is gone. */
static void pin_library(void) {
#if !defined(_WIN32) && !defined(__GLIBC__) && defined(RTLD_NODELETE) && defined(RTLD_NOLOAD)
  Dl_info info;
  if (dladdr((void *)&R_init_tsattn, &info) && info.dli_fname)
    (void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

void attribute_visible R_init_tsattn(DllInfo *dll) {
  R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
  R_forceSymbols(dll, TRUE);
  /* forked children (mclapply) run the core on one thread: GNU OpenMP's pool does not
   * survive fork() */
  pin_library();
  int err = ta_threads_init();
  if (err)
    warning("tsattn: no fork handler (pthread_atfork error %d): set "
            "options(tsattn.threads = 1) before forking", err);
}

void attribute_visible R_unload_tsattn(DllInfo *dll) {
  (void)dll;
  ta_gemm_release();
  ta_net_release_spare();
  ta_cuda_release();
}

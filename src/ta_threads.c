#include "ta_threads.h"
#include "ta_gemm.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#ifndef _WIN32
#include <pthread.h>
#endif

static int n_threads = 0; /* requested; 0: OpenMP's default */

/* Fork state, written by the atfork child handler (plain stores of ints, nothing else:
 * the child of a multi-threaded process may only make async-signal-safe calls). */
static int forked = 0;          /* this process is a fork() child (of any depth) */
static int request_at_fork = 0; /* n_threads when the last fork happened */
static int team_asked = 0;      /* this process (or an ancestor before its fork) asked for >1 */
static int team_before_fork = 0; /* team_asked when the last fork happened */
static int registered = 0;

static int threads_now(int record) {
#ifdef _OPENMP
  /* inside a parallel region (the forecast's blocks of paths) loops stay on their thread:
   * nesting would oversubscribe the cores */
  if (omp_in_parallel()) return 1;
  int n;
  if (forked && (n_threads == request_at_fork || team_before_fork))
    n = 1; /* the parent's count, or a pool that may hold threads that are gone */
  else
    n = n_threads > 0 ? n_threads : omp_get_max_threads();
  int procs = omp_get_num_procs(); /* the processors this process may run on */
  if (n > procs) n = procs;
  if (n < 1) n = 1;
  if (record && n > 1) team_asked = 1;
  return n;
#else
  (void)record;
  return 1;
#endif
}

int ta_threads(void) { return threads_now(1); }

int ta_threads_planned(void) { return threads_now(0); }

void ta_set_threads(int n) { n_threads = n > 0 ? n : 0; }

#ifndef _WIN32
static void atfork_child(void) {
  forked = 1;
  request_at_fork = n_threads;
  team_before_fork = team_asked;
}
#endif

int ta_threads_init(void) {
  if (registered) return 0;
  registered = 1;
#ifndef _WIN32
  /* glibc unregisters the handler when this library is unloaded (dlclose); elsewhere
   * the R glue keeps the library loaded for the life of the process */
  return pthread_atfork(NULL, NULL, atfork_child);
#else
  return 0;
#endif
}

void ta_parallel_rows(ta_rows_fn fn, void *ctx, size_t n, double flops) {
  int nt = flops > TA_PAR_MIN_FLOPS ? ta_threads() : 1;
  if ((size_t)nt > n) nt = (int)n;
  if (nt <= 1) {
    fn(ctx, 0, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
  {
    size_t id = (size_t)omp_get_thread_num(), m = (size_t)omp_get_num_threads();
    fn(ctx, n * id / m, n * (id + 1) / m);
    if (id > 0) ta_gemm_release(); /* a worker's packing buffers, if it made any */
  }
#else
  fn(ctx, 0, n);
#endif
}

int ta_thread_slot(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

int ta_threads_max(void) {
#ifdef _OPENMP
  int p = omp_get_num_procs();
  return p > 1 ? p : 1;
#else
  return 1;
#endif
}

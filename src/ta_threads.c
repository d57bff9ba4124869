#include "ta_threads.h"
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

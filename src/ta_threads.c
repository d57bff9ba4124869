#include "ta_threads.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static int n_threads = 0; /* 0: OpenMP's default */

int ta_threads(void) {
#ifdef _OPENMP
  /* inside a parallel region (the forecast's blocks of paths) loops stay on their thread:
   * nesting would oversubscribe the cores */
  if (omp_in_parallel()) return 1;
  return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
  return 1;
#endif
}

void ta_set_threads(int n) { n_threads = n > 0 ? n : 0; }

/* CUDA availability. The CUDA backend is not built yet (see the CUDA issue): this is
 * the CPU-only answer, kept as the stub a CPU build will always use. */
#include <R.h>
#include <Rinternals.h>

SEXP C_cuda_available(void) { return ScalarLogical(FALSE); }

/* The micro-kernels of the packed matrix product: one per instruction set (BLIS's habit),
 * the blocking around them generic (ta_gemm.c). A kernel computes one tile
 *   T[mr, nr] = sum_k a[k, 0..MR) (x) b[k, 0..NR)   for k = 0 .. kc-1, in that order,
 * each element from zero with one rounding per product-add (fused where the ISA has FMA),
 * then writes C = T (add = 0) or C = C + T (add = 1). That order is the project's
 * contract: every element of C is the same whatever M, the blocking or the threads.
 *   a: A packed, [kc][MR] (rows past the product's M are zeros), when la = 0; else A in
 *      place, element (r, k) at a[r * la + k * ka] (all MR rows real): thin products
 *      (few columns) use an A panel too few times to pay for packing it
 *   b: B packed, [kc][NR] (columns past N are zeros); a kernel of 2 NR columns reads the
 *      next panel at b + ps (ps = 0 when there is none: the same panel again, discarded)
 *   c: the tile's corner in C, row stride ldc; only mr <= MR rows, nr <= NR columns written */
#ifndef TA_GEMM_KERNEL_H
#define TA_GEMM_KERNEL_H

#include <stddef.h>

#define TA_GEMM_NR 16  /* B's panel width, the same for every kernel (ta_gemm_pack_t/_n) */
#define TA_GEMM_KC 256 /* k block: part of the summation order, never tuned per machine */

typedef void (*ta_ukr_fn)(size_t kc, const float *a, size_t la, size_t ka, const float *b,
                          size_t ps, float *c, size_t ldc, size_t mr, size_t nr, int add);
typedef struct {
  ta_ukr_fn f;
  size_t mr; /* MR: rows of a tile (and of an A panel) */
  size_t nr; /* columns of a tile: TA_GEMM_NR or 2 TA_GEMM_NR */
} ta_ukr;

/* the kernel for this CPU, chosen once per process: AVX-512 (12 x 32) unless
 * TSATTN_AVX512=0, else AVX2+FMA (6 x 16), else the baseline build of the latter */
ta_ukr ta_gemm_ukr(void);
/* 1 when the AVX2+FMA rounding (fused) is in use, for the small products to match */
int ta_gemm_use_avx2(void);

#endif

/* Row-major matrix products for every layer.
 *
 * Large products follow BLIS's blocking around one micro-kernel per instruction set
 * (ta_gemm_kernel.c): B is packed once into panels of NR = 16 columns ([K][16] each,
 * zeros past N); then for each block of KC = 256 values of k, A's rows are packed by
 * blocks of MC rows (panels of MR rows, [KC][MR], in L2) and the kernel runs every
 * MR x NR tile of that block, reading one B panel (16 KB, in L1) against all the A
 * panels of the block. Each tile is summed from zero over its KC values of k in order
 * and added into C (written, for the first block when not accumulating), so every element
 * of C is summed in the same order whatever M, the blocking or the thread count, and
 * training repeats bitwise. Threads take blocks of rows, or (few rows) ranges of panels.
 * Small products (one recurrent step of a small batch) use plain loops, where packing
 * would cost as much as the product; they sum in the same order and rounding as the
 * kernel, so a result does not depend on the path. A B multiplied at every step (a
 * recurrent weight) can be packed once by the caller.
 *
 * The packing buffers are per thread, grow-only, owned by this file (released by
 * ta_gemm_release): nothing is allocated in steady state. */
#include "ta_simd.h" /* first: see there */
#include "ta_threads.h"
#include <stdlib.h>
#include <string.h>
#include "ta_gemm.h"
#include "ta_gemm_kernel.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define NR TA_GEMM_NR
#define KC TA_GEMM_KC
#define MC_TARGET 144 /* rows of A per packed block: MC x KC floats (~150 KB) stay in L2 */
#define B_BLOCK_L2 (256 * 1024) /* bytes of B's k block that stay in L2 with A's block */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__clang__)
#define TA_HAVE_AVX2_CLONE 1
#endif

/* The packing buffers, one pair per thread (so that threads running separate products,
 * as the forecast's blocks of paths do, never share one): grow, never shrink, until
 * ta_gemm_release() frees the calling thread's. pack_b holds B's panels; pack_a the
 * A blocks of every thread of a product's team (the caller's, so that no worker of the
 * team owns memory). */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define TA_THREAD_LOCAL _Thread_local
#else
#define TA_THREAD_LOCAL __thread
#endif
typedef struct {
  float *p;
  size_t cap;
} buf_t;
static TA_THREAD_LOCAL buf_t pack_b, pack_a;

static float *buf_get(buf_t *b, size_t n) {
  if (n > b->cap) {
    float *p = realloc(b->p, n * sizeof(float));
    if (!p) return NULL;
    b->p = p;
    b->cap = n;
  }
  return b->p;
}

void ta_gemm_release(void) {
  free(pack_b.p);
  free(pack_a.p);
  pack_b.p = pack_a.p = NULL;
  pack_b.cap = pack_a.cap = 0;
}

static size_t round_up(size_t n) { return (n + NR - 1) / NR * NR; }
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ---- the blocked product ---- */

/* one full panel of MRC (a constant) rows: loops of a known length the compiler unrolls
 * and vectorises (the packing took half the time of thin products with the length
 * unknown) */
#define PACK_PANEL(MRC)                                                                    \
  if (sk == 1)                                                                             \
    for (size_t k = 0; k < kc; k++) {                                                      \
      const float *a = A + i0 * sa + k;                                                    \
      for (size_t r = 0; r < (MRC); r++) Ap[k * (MRC) + r] = a[r * sa];                    \
    }                                                                                      \
  else if (sa == 1)                                                                        \
    for (size_t k = 0; k < kc; k++) {                                                      \
      const float *a = A + k * sk + i0;                                                    \
      for (size_t r = 0; r < (MRC); r++) Ap[k * (MRC) + r] = a[r];                         \
    }                                                                                      \
  else                                                                                     \
    for (size_t k = 0; k < kc; k++) {                                                      \
      const float *a = A + k * sk + i0 * sa;                                               \
      for (size_t r = 0; r < (MRC); r++) Ap[k * (MRC) + r] = a[r * sa];                    \
    }

/* Ap[mc/MR][kc][MR] <- rows [0, mc) of A's k block, zeros past the product's rows;
 * element (i, k) of A at A[i * sa + k * sk] */
static void pack_a_block(float *restrict Ap, const float *restrict A, size_t sa, size_t sk,
                         size_t mc, size_t kc, size_t MR) {
  for (size_t i0 = 0; i0 < mc; i0 += MR, Ap += MR * kc) {
    size_t mr = min_sz(MR, mc - i0);
    if (mr == MR && MR == 6) {
      PACK_PANEL(6)
      continue;
    }
    if (mr == MR && MR == 12) {
      PACK_PANEL(12)
      continue;
    }
    for (size_t k = 0; k < kc; k++) {
      const float *a = A + k * sk + i0 * sa;
      size_t r = 0;
      for (; r < mr; r++) Ap[k * MR + r] = a[r * sa];
      for (; r < MR; r++) Ap[k * MR + r] = 0.0f;
    }
  }
}

/* C rows [0, mc) x panels [p0, p1) for one k block: B panel p's block at
 * Bk + p * K * NR ([kc][NR]), Ap as packed above; a tile spans u.nr / NR panels. With
 * Ain (A's k block in place, element (i, k) at Ain[i * sa + k * sk]), full panels of rows
 * read A there and only the last, partial one is packed, at Ap. */
static void run_block(ta_ukr u, float *C, size_t ldc, const float *Ap, const float *Ain,
                      size_t sa, size_t sk, const float *Bk, size_t K, size_t mc, size_t N, size_t p0,
                      size_t p1, size_t kc, int add) {
  size_t full = Ain ? mc / u.mr * u.mr : 0, step = u.nr / NR;
  /* Which operand stays in L1: a 12 x 32 tile's B micro-panel (KC x 32 floats, 32 KB)
   * fills an L1 of 32 KB, so while B's block fits in L2 the rows go outside and each A
   * micro-panel (<= 12 KB) stays in L1 against all of B's; else (wide B) each B
   * micro-panel is swept against all rows of the block (BLIS's order). */
  if ((p1 - p0) * kc * NR * sizeof(float) <= B_BLOCK_L2) {
    for (size_t i0 = 0; i0 < mc; i0 += u.mr) {
      size_t mr = min_sz(u.mr, mc - i0);
      const float *a = i0 < full ? Ain + i0 * sa : Ap + (i0 - full) * kc;
      size_t la = i0 < full ? sa : 0, ka = i0 < full ? sk : 0;
      for (size_t p = p0; p < p1; p += step) {
        size_t j0 = p * NR, nr = min_sz(u.nr, N - j0), ps = nr > NR ? K * NR : 0;
        u.f(kc, a, la, ka, Bk + p * K * NR, ps, C + i0 * ldc + j0, ldc, mr, nr, add);
      }
    }
    return;
  }
  for (size_t p = p0; p < p1; p += step) {
    size_t j0 = p * NR, nr = min_sz(u.nr, N - j0), ps = nr > NR ? K * NR : 0;
    const float *b = Bk + p * K * NR;
    for (size_t i0 = 0; i0 < mc; i0 += u.mr) {
      float *c = C + i0 * ldc + j0;
      if (i0 < full)
        u.f(kc, Ain + i0 * sa, sa, sk, b, ps, c, ldc, u.mr, nr, add);
      else
        u.f(kc, Ap + (i0 - full) * kc, 0, 0, b, ps, c, ldc, min_sz(u.mr, mc - i0), nr, add);
    }
  }
}

/* packs what run_block reads packed: all of the block, or with A in place the last
 * partial panel only */
static void pack_a_for(float *Ap, int inplace, const float *A, size_t sa, size_t sk, size_t mc,
                       size_t kc, size_t MR) {
  size_t full = inplace ? mc / MR * MR : 0;
  if (full < mc) pack_a_block(Ap, A + full * sa, sa, sk, mc - full, kc, MR);
}

/* C[M, N] (+)= A B, B packed by ta_gemm_pack_t/_n into Bp ([N/NR][K][NR]). Returns -1,
 * having done nothing, when the A buffer cannot be had. Rows are split over threads in
 * blocks (one packed A block per thread), or, with fewer blocks than threads, the panels
 * of B for each block in turn; either way an element's sum is the kernel's. */
static int blocked(float *C, size_t ldc, const float *A, size_t sa, size_t sk,
                   const float *Bp, size_t M, size_t N, size_t K, int accumulate) {
  ta_ukr u = ta_gemm_ukr();
  size_t MR = u.mr, np = (N + NR - 1) / NR, step = u.nr / NR, ntile = (np + step - 1) / step;
  /* threads when one k block's product is worth a parallel region (long thin products,
   * the weight gradients of small layers, stay on one thread, where a busy machine's
   * descheduled thread cannot stall them) */
  int nt = (double)M * (double)N * (double)min_sz(K, KC) > TA_PAR_MIN_FLOPS ? ta_threads() : 1;
  if (nt < 1) nt = 1;
  size_t mc = (MC_TARGET + MR - 1) / MR * MR;
  if (nt > 1) { /* balance the row blocks when there are few */
    size_t share = ((M + (size_t)nt - 1) / (size_t)nt + MR - 1) / MR * MR;
    if (share < mc) mc = share;
  }
  size_t nblk = (M + mc - 1) / mc;
  int by_rows = nt > 1 && nblk >= (size_t)nt;
  if (nt > 1 && !by_rows && ntile < 2) nt = 1;
  size_t kcmax = min_sz(K, KC);
  float *Abuf = buf_get(&pack_a, (by_rows ? (size_t)nt : 1) * mc * kcmax);
  /* thin products (a tile or two of columns) read A in place: rows of A [M, K], or
   * the weight gradients' A^T, whose MR values for one k are side by side */
  int inplace = (sk == 1 || sa == 1) && ntile <= 2;
  if (!Abuf) return -1;
  if (by_rows) {
    /* one parallel region for the whole product: a thread owns its blocks of rows of C
     * and runs their k blocks in order, without a barrier between them */
    ptrdiff_t nb = (ptrdiff_t)nblk;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (ptrdiff_t ib = 0; ib < nb; ib++) {
#ifdef _OPENMP
      float *Ap = Abuf + (size_t)omp_get_thread_num() * mc * kcmax;
#else
      float *Ap = Abuf;
#endif
      size_t i0 = (size_t)ib * mc, m = min_sz(mc, M - i0);
      for (size_t k0 = 0; k0 < K; k0 += KC) {
        size_t kc = min_sz(KC, K - k0);
        const float *Ak = A + k0 * sk + i0 * sa;
        pack_a_for(Ap, inplace, Ak, sa, sk, m, kc, MR);
        run_block(u, C + i0 * ldc, ldc, Ap, inplace ? Ak : NULL, sa, sk, Bp + k0 * NR, K, m, N,
                  0, np, kc, accumulate || k0 > 0);
      }
    }
    return 0;
  }
  for (size_t k0 = 0; k0 < K; k0 += KC) {
    size_t kc = min_sz(KC, K - k0);
    int add = accumulate || k0 > 0;
    const float *Ak = A + k0 * sk, *Bk = Bp + k0 * NR;
    for (size_t ib = 0; ib < nblk; ib++) {
      size_t i0 = ib * mc, m = min_sz(mc, M - i0);
      const float *Ain = inplace ? Ak + i0 * sa : NULL;
      pack_a_for(Abuf, inplace, Ak + i0 * sa, sa, sk, m, kc, MR);
      if (nt == 1) {
        run_block(u, C + i0 * ldc, ldc, Abuf, Ain, sa, sk, Bk, K, m, N, 0, np, kc, add);
        continue;
      }
      /* fewer row blocks than threads: the column tiles split */
      ptrdiff_t nti = (ptrdiff_t)ntile;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
      for (ptrdiff_t t = 0; t < nti; t++)
        run_block(u, C + i0 * ldc, ldc, Abuf, Ain, sa, sk, Bk, K, m, N, (size_t)t * step,
                  min_sz(np, ((size_t)t + 1) * step), kc, add);
    }
  }
  return 0;
}

/* worth packing: enough rows to amortise the copy of B */
static int big(size_t M, size_t N, size_t K) { return M >= 8 && (double)M * N * K >= 32768.0; }

/* ---- plain loops for small products ---- */

/* C[M, N] (+)= A B with A(i, k) at A[i * sa + k * sk] and B(k, j) at B[k * sbk + j * sbn].
 * Each element sums its products in the order, the blocks of TA_GEMM_KC and (in the AVX2/FMA
 * build) the fused rounding of the packed kernel, so that a row's result is the same
 * whichever path a product takes: the path depends on the number of rows, and results
 * must not (a forecast's blocks of paths, a prediction's batches). */
#define TA_SMALL_KERNEL(NAME)                                                               \
  static void NAME(float *C, size_t ldc, const float *A, size_t sa, size_t sk,              \
                   const float *B, size_t sbk, size_t sbn, size_t M, size_t N, size_t K,     \
                   int accumulate) {                                                        \
    if (K <= TA_GEMM_KC) { /* one block: the common case, without the block bookkeeping */         \
      for (size_t i = 0; i < M; i++) {                                                      \
        float *c = C + i * ldc;                                                             \
        const float *a = A + i * sa;                                                        \
        for (size_t j = 0; j < N; j++) {                                                    \
          const float *b = B + j * sbn;                                                     \
          float s = 0.0f;                                                                   \
          for (size_t k = 0; k < K; k++) s += a[k * sk] * b[k * sbk];                       \
          c[j] = accumulate ? c[j] + s : s;                                                 \
        }                                                                                   \
      }                                                                                     \
      return;                                                                               \
    }                                                                                       \
    for (size_t i = 0; i < M; i++) {                                                        \
      float *c = C + i * ldc;                                                               \
      for (size_t j = 0; j < N; j++) {                                                      \
        size_t k0 = 0;                                                                      \
        do {                                                                                \
          size_t k1 = K - k0 < TA_GEMM_KC ? K : k0 + TA_GEMM_KC;                                            \
          float s = 0.0f;                                                                   \
          for (size_t k = k0; k < k1; k++) s += A[i * sa + k * sk] * B[k * sbk + j * sbn];  \
          c[j] = (accumulate || k0 > 0) ? c[j] + s : s;                                     \
          k0 = k1;                                                                          \
        } while (k0 < K);                                                                   \
      }                                                                                     \
    }                                                                                       \
  }

#ifdef TA_HAVE_AVX2_CLONE
#pragma GCC push_options
#pragma GCC target("avx2,fma")
TA_SMALL_KERNEL(small_avx2)
#pragma GCC pop_options
#endif
TA_SMALL_KERNEL(small_base)

static void small(float *C, size_t ldc, const float *A, size_t sa, size_t sk, const float *B,
                  size_t sbk, size_t sbn, size_t M, size_t N, size_t K, int accumulate) {
#ifdef TA_HAVE_AVX2_CLONE
  if (ta_gemm_use_avx2()) {
    small_avx2(C, ldc, A, sa, sk, B, sbk, sbn, M, N, K, accumulate);
    return;
  }
#endif
  small_base(C, ldc, A, sa, sk, B, sbk, sbn, M, N, K, accumulate);
}

/* ---- the API ---- */

/* B(k, j) at B[k * sbk + j * sbn]: packed when the product is big enough (ta_gemm_pack_t
 * for sbk = 1, _n for sbn = 1), else (or without memory) the plain loops */
static void product(float *C, size_t ldc, const float *A, size_t sa, size_t sk,
                    const float *B, size_t ldb, int b_trans, size_t M, size_t N, size_t K,
                    int accumulate) {
  if (M == 0 || N == 0) return;
  float *Bp = big(M, N, K) ? buf_get(&pack_b, ta_gemm_packed_size(N, K)) : NULL;
  if (Bp) {
    if (b_trans)
      ta_gemm_pack_t(Bp, B, ldb, N, K);
    else
      ta_gemm_pack_n(Bp, B, ldb, N, K);
    if (blocked(C, ldc, A, sa, sk, Bp, M, N, K, accumulate) == 0) return;
  }
  if (b_trans)
    small(C, ldc, A, sa, sk, B, 1, ldb, M, N, K, accumulate);
  else
    small(C, ldc, A, sa, sk, B, ldb, 1, M, N, K, accumulate);
}

void ta_gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  product(C, ldc, A, lda, 1, B, ldb, 1, M, N, K, accumulate);
}

void ta_gemm_nn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  product(C, ldc, A, lda, 1, B, ldb, 0, M, N, K, accumulate);
}

/* C[M,N] += A^T B with A [K, M]: element (i, k) of A^T at A[k * lda + i], packed from
 * there (no transposed copy) */
void ta_gemm_tn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  product(C, ldc, A, 1, lda, B, ldb, 0, M, N, K, accumulate);
}

/* ---- B packed once, multiplied many times ---- */

/* Bp: panel p (columns [16p, 16p + 16)) at Bp + p * K * 16, as [K][16], zeros past N */
size_t ta_gemm_packed_size(size_t N, size_t K) { return K * round_up(N); }

/* B [N, K]: a panel's columns are B's rows; read 16 rows side by side along k */
void ta_gemm_pack_t(float *restrict Bp, const float *restrict B, size_t ldb, size_t N, size_t K) {
  for (size_t j0 = 0; j0 < N; j0 += NR, Bp += K * NR) {
    size_t nr = min_sz(NR, N - j0);
    if (nr == NR) {
      for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < NR; j++) Bp[k * NR + j] = B[(j0 + j) * ldb + k];
      continue;
    }
    for (size_t k = 0; k < K; k++) {
      size_t j = 0;
      for (; j < nr; j++) Bp[k * NR + j] = B[(j0 + j) * ldb + k];
      for (; j < NR; j++) Bp[k * NR + j] = 0.0f;
    }
  }
}

/* B [K, N]: each row of B read once, in order, into every panel */
void ta_gemm_pack_n(float *restrict Bp, const float *restrict B, size_t ldb, size_t N, size_t K) {
  size_t full = N / NR;
  for (size_t k = 0; k < K; k++) {
    const float *b = B + k * ldb;
    for (size_t p = 0; p < full; p++)
      for (size_t j = 0; j < NR; j++) Bp[(p * K + k) * NR + j] = b[p * NR + j];
    if (full * NR < N) {
      float *d = Bp + (full * K + k) * NR;
      size_t j = 0;
      for (; j < N - full * NR; j++) d[j] = b[full * NR + j];
      for (; j < NR; j++) d[j] = 0.0f;
    }
  }
}

void ta_gemm_packed(float *C, size_t ldc, const float *A, size_t lda, const float *Bp, size_t M,
                    size_t N, size_t K, int accumulate) {
  if (M == 0 || N == 0) return;
  if (big(M, N, K) && blocked(C, ldc, A, lda, 1, Bp, M, N, K, accumulate) == 0) return;
  /* the plain loops, panel by panel of the packed B (same sums, same rounding) */
  for (size_t j0 = 0; j0 < N; j0 += NR, Bp += K * NR)
    small(C + j0, ldc, A, lda, 1, Bp, NR, 1, M, min_sz(NR, N - j0), K, accumulate);
}

/* vectorised across columns: each column still sums its rows in order */
TA_SIMD_CLONES void ta_colsum(float *out, const float *A, size_t lda, size_t M, size_t N,
                              int accumulate) {
  if (!accumulate) memset(out, 0, N * sizeof(float));
  for (size_t i = 0; i < M; i++) {
    const float *a = A + i * lda;
#ifdef _OPENMP
#pragma omp simd
#endif
    for (size_t j = 0; j < N; j++) out[j] += a[j];
  }
}

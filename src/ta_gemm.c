/* Row-major matrix products for every layer.
 *
 * Large products go through one packed kernel: B is packed (transposed when needed)
 * into a contiguous [K, N] panel, then a 4 x 16 register-blocked micro-kernel written
 * with GCC vector types adds C[i, j..j+16) += a[i, k] * Bp[k, j..j+16) for k in order,
 * in blocks of KC rows of the panel (each block's sums added into C). A^T (the weight
 * gradients) is read in place with strides rather than transposed. Every element of C
 * is therefore summed in the same order whatever the blocking or the thread count, so
 * training repeats bitwise. The kernel is compiled twice, for AVX2+FMA and for the
 * baseline, and picked at run time. Small products (one recurrent step of a small
 * batch) use plain loops, where packing would cost as much as the product; they sum in
 * the same order and rounding as the kernel, so a result does not depend on the path.
 * A B multiplied at every step (a recurrent weight) can be packed once by the caller.
 *
 * The packing buffer is per thread, grow-only, owned by this file (released by
 * ta_gemm_release): nothing is allocated in steady state. */
#include "ta_simd.h" /* first: see there */
#include "ta_threads.h"
#include <stdlib.h>
#include <string.h>
#include "ta_gemm.h"

#define MR 4
#define NR 16

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__clang__)
#define TA_HAVE_AVX2_CLONE 1
#endif

typedef float v8sf __attribute__((vector_size(32)));

/* The packing buffer, one per thread (so that threads running separate products, as
 * the forecast's blocks of paths do, never share one): grows, never shrinks, until
 * ta_gemm_release() frees the calling thread's. */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define TA_THREAD_LOCAL _Thread_local
#else
#define TA_THREAD_LOCAL __thread
#endif
static TA_THREAD_LOCAL float *pack_buf;
static TA_THREAD_LOCAL size_t pack_cap;

static float *pack_get(size_t n) {
  if (n > pack_cap) {
    float *p = realloc(pack_buf, n * sizeof(float));
    if (!p) return NULL;
    pack_buf = p;
    pack_cap = n;
  }
  return pack_buf;
}

void ta_gemm_release(void) {
  free(pack_buf);
  pack_buf = NULL;
  pack_cap = 0;
}

/* macros, not functions: a function passing 32-byte vectors would change ABI between
 * the baseline and the AVX2 build */
#define V8_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v8sf))
#define V8_STORE(p, v) memcpy((p), &(v), sizeof(v8sf))
#define V8_SET1(a) ((v8sf){(a), (a), (a), (a), (a), (a), (a), (a)})

/* C[M, N] (+)= A[M, K] * Bp[K, Np]; element (i, k) of A is at A[i * sa + k * sk] (sk = 1
 * for A stored [M, K], sa = 1 for A^T stored [K, M], which ta_gemm_tn then reads in
 * place instead of transposing it); Bp's row stride Np >= N is a multiple of NR with zero
 * columns past N. Rows of C are split over threads. */
#define TA_PACKED_KERNEL(NAME)                                                              \
  static void NAME(float *C, size_t ldc, const float *A, size_t sa, size_t sk,              \
                   const float *Bp, size_t Np, size_t M, size_t N, size_t K, int accumulate, \
                   size_t ib0, size_t ib1) {                                                \
    for (size_t ib = ib0; ib < ib1; ib++) {                                                 \
      size_t i0 = ib * MR, mr = M - i0 < MR ? M - i0 : MR;                                  \
      /* rows past M read row i0 again and are discarded: no branch in the loop */          \
      const float *a0 = A + i0 * sa;                                                        \
      const float *a1 = mr > 1 ? a0 + sa : a0;                                              \
      const float *a2 = mr > 2 ? a0 + 2 * sa : a0;                                          \
      const float *a3 = mr > 3 ? a0 + 3 * sa : a0;                                          \
      for (size_t j0 = 0; j0 < N; j0 += NR) {                                               \
        v8sf c00 = V8_SET1(0.0f), c01 = c00, c10 = c00, c11 = c00;                          \
        v8sf c20 = c00, c21 = c00, c30 = c00, c31 = c00;                                    \
        const float *b = Bp + j0;                                                           \
        for (size_t k = 0, ka = 0; k < K; k++, ka += sk, b += Np) {                          \
          v8sf b0, b1, av;                                                                  \
          V8_LOAD(b0, b);                                                                   \
          V8_LOAD(b1, b + 8);                                                               \
          av = V8_SET1(a0[ka]);                                                             \
          c00 += av * b0;                                                                   \
          c01 += av * b1;                                                                   \
          av = V8_SET1(a1[ka]);                                                             \
          c10 += av * b0;                                                                   \
          c11 += av * b1;                                                                   \
          av = V8_SET1(a2[ka]);                                                             \
          c20 += av * b0;                                                                   \
          c21 += av * b1;                                                                   \
          av = V8_SET1(a3[ka]);                                                             \
          c30 += av * b0;                                                                   \
          c31 += av * b1;                                                                   \
        }                                                                                   \
        size_t nr = N - j0 < NR ? N - j0 : NR;                                              \
        float tmp[MR][NR];                                                                  \
        V8_STORE(tmp[0], c00);                                                              \
        V8_STORE(tmp[0] + 8, c01);                                                          \
        V8_STORE(tmp[1], c10);                                                              \
        V8_STORE(tmp[1] + 8, c11);                                                          \
        V8_STORE(tmp[2], c20);                                                              \
        V8_STORE(tmp[2] + 8, c21);                                                          \
        V8_STORE(tmp[3], c30);                                                              \
        V8_STORE(tmp[3] + 8, c31);                                                          \
        for (size_t r = 0; r < mr; r++) {                                                   \
          float *c = C + (i0 + r) * ldc + j0;                                               \
          if (accumulate)                                                                   \
            for (size_t j = 0; j < nr; j++) c[j] += tmp[r][j];                              \
          else                                                                              \
            memcpy(c, tmp[r], nr * sizeof(float));                                          \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  }

/* The same source twice. The FMA build contracts acc += a * b into one rounding, which
 * changes results in the last bit against the baseline: the choice is made once per
 * process, so a run still repeats bitwise on the same machine. */
#ifdef TA_HAVE_AVX2_CLONE
#pragma GCC push_options
#pragma GCC target("avx2,fma")
TA_PACKED_KERNEL(packed_avx2)
#pragma GCC pop_options
#endif
TA_PACKED_KERNEL(packed_base)

#ifdef TA_HAVE_AVX2_CLONE
/* The AVX-512 kernel: 8 rows x 32 columns per block (16 accumulators of 16 floats), the
 * same per-element order (k ascending, KC blocks) and the same fused rounding as the
 * AVX2+FMA kernel, so the two give identical results; it does twice the work per
 * instruction where the CPU has AVX-512F. */
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
typedef float v16sf __attribute__((vector_size(64)));
#define V16_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v16sf))
#define V16_STORE(p, v) memcpy((p), &(v), sizeof(v16sf))
#define V16_SET1(a) ((v16sf){(a), (a), (a), (a), (a), (a), (a), (a), \
                             (a), (a), (a), (a), (a), (a), (a), (a)})
#define MR16 8
static void packed_avx512(float *C, size_t ldc, const float *A, size_t sa, size_t sk,
                          const float *Bp, size_t Np, size_t M, size_t N, size_t K,
                          int accumulate, size_t ib0, size_t ib1) {
  for (size_t ib = ib0; ib < ib1; ib++) {
    size_t i0 = ib * MR16, mr = M - i0 < MR16 ? M - i0 : MR16;
    /* rows past M read row i0 again and are discarded */
    const float *a0 = A + i0 * sa;
    const float *a1 = mr > 1 ? a0 + sa : a0, *a2 = mr > 2 ? a0 + 2 * sa : a0;
    const float *a3 = mr > 3 ? a0 + 3 * sa : a0, *a4 = mr > 4 ? a0 + 4 * sa : a0;
    const float *a5 = mr > 5 ? a0 + 5 * sa : a0, *a6 = mr > 6 ? a0 + 6 * sa : a0;
    const float *a7 = mr > 7 ? a0 + 7 * sa : a0;
    for (size_t j0 = 0; j0 < N; j0 += 32) {
      v16sf z = V16_SET1(0.0f);
      v16sf c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
      v16sf c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
      const float *b = Bp + j0;
      if (j0 + 16 < Np) { /* 32 columns (Np is a multiple of 16) */
        for (size_t k = 0, ka = 0; k < K; k++, ka += sk, b += Np) {
          v16sf b0, b1, av;
          V16_LOAD(b0, b);
          V16_LOAD(b1, b + 16);
#define TA_ROW2(r) av = V16_SET1(a##r[ka]); c##r##0 += av * b0; c##r##1 += av * b1;
          TA_ROW2(0) TA_ROW2(1) TA_ROW2(2) TA_ROW2(3) TA_ROW2(4) TA_ROW2(5) TA_ROW2(6) TA_ROW2(7)
#undef TA_ROW2
        }
      } else { /* the last 16 */
        for (size_t k = 0, ka = 0; k < K; k++, ka += sk, b += Np) {
          v16sf b0, av;
          V16_LOAD(b0, b);
#define TA_ROW1(r) av = V16_SET1(a##r[ka]); c##r##0 += av * b0;
          TA_ROW1(0) TA_ROW1(1) TA_ROW1(2) TA_ROW1(3) TA_ROW1(4) TA_ROW1(5) TA_ROW1(6) TA_ROW1(7)
#undef TA_ROW1
        }
      }
      size_t nr = N - j0 < 32 ? N - j0 : 32;
      float tmp[MR16][32];
#define TA_STORE(r) V16_STORE(tmp[r], c##r##0); V16_STORE(tmp[r] + 16, c##r##1);
      TA_STORE(0) TA_STORE(1) TA_STORE(2) TA_STORE(3) TA_STORE(4) TA_STORE(5) TA_STORE(6) TA_STORE(7)
#undef TA_STORE
      for (size_t r = 0; r < mr; r++) {
        float *c = C + (i0 + r) * ldc + j0;
        if (accumulate)
          for (size_t j = 0; j < nr; j++) c[j] += tmp[r][j];
        else
          memcpy(c, tmp[r], nr * sizeof(float));
      }
    }
  }
}
#pragma GCC pop_options

/* TSATTN_AVX512=0 in the environment (read once) keeps to the AVX2 kernel: the results
 * are the same, which the tests check by running both */
static int use_avx512(void) {
  static int cached = -1;
  if (cached < 0) {
    const char *env = getenv("TSATTN_AVX512");
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma") && !(env && strcmp(env, "0") == 0);
  }
  return cached;
}
#endif

static int use_avx2(void) {
#ifdef TA_HAVE_AVX2_CLONE
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return cached;
#else
  return 0;
#endif
}

/* The kernel sweeps all K rows of Bp for every 4 rows of A: past KC rows the panel
 * (KC x Np floats) no longer stays in cache, so long products (the weight gradients,
 * K = batch x time) run in blocks of KC, each adding into C. */
#define KC 256

/* a kernel over the row blocks [ib0, ib1) */
typedef void (*kernel_fn)(float *C, size_t ldc, const float *A, size_t sa, size_t sk,
                          const float *Bp, size_t Np, size_t M, size_t N, size_t K,
                          int accumulate, size_t ib0, size_t ib1);

/* Row blocks split over threads only for products worth it: a parallel region, even of
 * one thread, costs an allocation and a barrier in libgomp, far more than a recurrent
 * step's product of a small network. */
static void packed_block(float *C, size_t ldc, const float *A, size_t sa, size_t sk,
                         const float *Bp, size_t Np, size_t M, size_t N, size_t K,
                         int accumulate) {
  kernel_fn f = packed_base;
  size_t rows = MR;
#ifdef TA_HAVE_AVX2_CLONE
  if (use_avx512()) {
    f = packed_avx512;
    rows = MR16;
  } else if (use_avx2()) {
    f = packed_avx2;
  }
#endif
  size_t nblk = (M + rows - 1) / rows;
  int par = (double)M * (double)N * (double)K > TA_PAR_MIN_FLOPS && nblk >= 2 && ta_threads() > 1;
  if (!par) {
    f(C, ldc, A, sa, sk, Bp, Np, M, N, K, accumulate, 0, nblk);
    return;
  }
  ptrdiff_t nb = (ptrdiff_t)nblk;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(ta_threads())
#endif
  for (ptrdiff_t ib = 0; ib < nb; ib++)
    f(C, ldc, A, sa, sk, Bp, Np, M, N, K, accumulate, (size_t)ib, (size_t)ib + 1);
}

static void packed_strided(float *C, size_t ldc, const float *A, size_t sa, size_t sk,
                           const float *Bp, size_t Np, size_t M, size_t N, size_t K,
                           int accumulate) {
  size_t k0 = 0;
  do {
    size_t kc = K - k0 < KC ? K - k0 : KC;
    packed_block(C, ldc, A + k0 * sk, sa, sk, Bp + k0 * Np, Np, M, N, kc, accumulate || k0 > 0);
    k0 += kc;
  } while (k0 < K);
}

/* A stored [M, K] with row stride lda */
static void packed(float *C, size_t ldc, const float *A, size_t lda, const float *Bp, size_t Np,
                   size_t M, size_t N, size_t K, int accumulate) {
  packed_strided(C, ldc, A, lda, 1, Bp, Np, M, N, K, accumulate);
}

static size_t round_up(size_t n) { return (n + NR - 1) / NR * NR; }

/* worth packing: enough rows to amortise the copy of B */
static int big(size_t M, size_t N, size_t K) { return M >= 8 && (double)M * N * K >= 32768.0; }

/* ---- plain loops for small products ---- */

/* C[M, N] (+)= A B with A(i, k) at A[i * sa + k * sk] and B(k, j) at B[k * sbk + j * sbn].
 * Each element sums its products in the order, the blocks of KC and (in the AVX2/FMA
 * build) the fused rounding of the packed kernel, so that a row's result is the same
 * whichever path a product takes: the path depends on the number of rows, and results
 * must not (a forecast's blocks of paths, a prediction's batches). */
#define TA_SMALL_KERNEL(NAME)                                                               \
  static void NAME(float *C, size_t ldc, const float *A, size_t sa, size_t sk,              \
                   const float *B, size_t sbk, size_t sbn, size_t M, size_t N, size_t K,     \
                   int accumulate) {                                                        \
    if (K <= KC) { /* one block: the common case, without the block bookkeeping */         \
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
          size_t k1 = K - k0 < KC ? K : k0 + KC;                                            \
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
  if (use_avx2()) {
    small_avx2(C, ldc, A, sa, sk, B, sbk, sbn, M, N, K, accumulate);
    return;
  }
#endif
  small_base(C, ldc, A, sa, sk, B, sbk, sbn, M, N, K, accumulate);
}

/* ---- the API ---- */

void ta_gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  size_t Np = round_up(N);
  float *Bp = big(M, N, K) ? pack_get(K * Np) : NULL;
  if (!Bp) {
    small(C, ldc, A, lda, 1, B, 1, ldb, M, N, K, accumulate);
    return;
  }
  ta_gemm_pack_t(Bp, B, ldb, N, K);
  packed(C, ldc, A, lda, Bp, Np, M, N, K, accumulate);
}

void ta_gemm_nn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  size_t Np = round_up(N);
  float *Bp = big(M, N, K) ? pack_get(K * Np) : NULL;
  if (!Bp) {
    small(C, ldc, A, lda, 1, B, ldb, 1, M, N, K, accumulate);
    return;
  }
  ta_gemm_pack_n(Bp, B, ldb, N, K);
  packed(C, ldc, A, lda, Bp, Np, M, N, K, accumulate);
}

void ta_gemm_tn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                size_t M, size_t N, size_t K, int accumulate) {
  /* C[M,N] += A^T B with A [K, M]: pack B [K, Np], read A in place (element (i, k) of
   * A^T at A[k * lda + i]) */
  size_t Np = round_up(N);
  float *Bp = big(M, N, K) ? pack_get(K * Np) : NULL;
  if (!Bp) {
    small(C, ldc, A, 1, lda, B, ldb, 1, M, N, K, accumulate);
    return;
  }
  ta_gemm_pack_n(Bp, B, ldb, N, K);
  packed_strided(C, ldc, A, 1, lda, Bp, Np, M, N, K, accumulate); /* A read in place */
}

/* ---- B packed once, multiplied many times ---- */

size_t ta_gemm_packed_size(size_t N, size_t K) { return K * round_up(N); }

void ta_gemm_pack_t(float *Bp, const float *B, size_t ldb, size_t N, size_t K) {
  size_t Np = round_up(N);
  for (size_t k = 0; k < K; k++) {
    float *row = Bp + k * Np;
    for (size_t j = 0; j < N; j++) row[j] = B[j * ldb + k];
    for (size_t j = N; j < Np; j++) row[j] = 0.0f;
  }
}

void ta_gemm_pack_n(float *Bp, const float *B, size_t ldb, size_t N, size_t K) {
  size_t Np = round_up(N);
  for (size_t k = 0; k < K; k++) {
    float *row = Bp + k * Np;
    memcpy(row, B + k * ldb, N * sizeof(float));
    for (size_t j = N; j < Np; j++) row[j] = 0.0f;
  }
}

void ta_gemm_packed(float *C, size_t ldc, const float *A, size_t lda, const float *Bp, size_t M,
                    size_t N, size_t K, int accumulate) {
  if (M == 0 || N == 0) return;
  size_t Np = round_up(N);
  if (!big(M, N, K)) { /* the plain loops, reading the packed B (same sums, same rounding) */
    small(C, ldc, A, lda, 1, Bp, Np, 1, M, N, K, accumulate);
    return;
  }
  packed(C, ldc, A, lda, Bp, Np, M, N, K, accumulate);
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

/* Micro-kernels of the packed product (contract in ta_gemm_kernel.h).
 *
 * AVX2+FMA, 6 x 16: 12 accumulators of 8 floats. An FMA has a latency of 4-5 cycles and
 * two issue ports, so at least 8-10 independent sums must be in flight to keep both
 * busy; 12 leaves room, and 12 + 2 (B) + 1 (broadcast A) = 15 of the 16 registers.
 * Per k: 2 loads of B, 6 broadcasts of A, 12 FMAs (the 4 x 16 tile before this had 8
 * accumulators and 4 broadcasts for 8 FMAs: latency-bound).
 * AVX-512, 12 x 32 (two B panels): 24 accumulators of 16 floats, 2 loads of B and 12
 * broadcasts per 24 FMAs; 24 + 2 + 1 of the 32 registers. (A 14 x 16 tile, 1 load and
 * 14 broadcasts per 14 FMAs, ran at 0.7x the old 8 x 32 one on small products: the
 * broadcasts, not the FMAs, were the bottleneck.)
 * Both sum each element in the same order with the same fused rounding, so they give
 * identical results (test-gemm-isa.R). The baseline build (no FMA) rounds product and
 * sum separately: its results differ in the last bit, the choice is made once per
 * process so a run still repeats bitwise on its machine.
 *
 * Written with GCC vector types (no intrinsics headers, so the file compiles anywhere);
 * the loads and stores go through memcpy (unaligned, no aliasing question). */
#include "ta_gemm_kernel.h"
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__clang__)
#define TA_HAVE_AVX2_CLONE 1
#endif

typedef float v8sf __attribute__((vector_size(32)));
/* macros, not functions: a function passing 32-byte vectors would change ABI between
 * the baseline and the AVX2 build */
#define V8_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v8sf))
#define V8_STORE(p, v) memcpy((p), &(v), sizeof(v8sf))
#define V8_SET1(x) ((v8sf){(x), (x), (x), (x), (x), (x), (x), (x)})

/* one row r of the 6 x 16 tile: c_r0, c_r1 (+)= a[r] * (b0, b1) */
#define K6_ROW(r)         \
  av = V8_SET1(A_AT(r));  \
  c##r##0 += av * b0;     \
  c##r##1 += av * b1;
#define A_AT(r) a[r]
/* the same, A in place: row r = base[j * la] */
#define K6_ROW_U(r, base, j) \
  av = V8_SET1((base)[(j) * la]); \
  c##r##0 += av * b0;     \
  c##r##1 += av * b1;
/* a full row of C: 16 floats, C (+)= T */
#define K6_OUT(r)                                \
  {                                              \
    float *cr = c + (r) * ldc;                   \
    v8sf t0 = c##r##0, t1 = c##r##1;             \
    if (add) {                                   \
      v8sf o0, o1;                               \
      V8_LOAD(o0, cr);                           \
      V8_LOAD(o1, cr + 8);                       \
      t0 = o0 + t0;                              \
      t1 = o1 + t1;                              \
    }                                            \
    V8_STORE(cr, t0);                            \
    V8_STORE(cr + 8, t1);                        \
  }
#define K6_TMP(r)                 \
  V8_STORE(tmp[r], c##r##0);      \
  V8_STORE(tmp[r] + 8, c##r##1);

/* the 6 x 16 kernel, compiled once per target below */
#define TA_UKR_6X16(NAME)                                                                   \
  static void NAME(size_t kc, const float *a, size_t la, size_t ka, const float *b,       \
                   size_t ps, float *c, size_t ldc, size_t mr, size_t nr, int add) {        \
    (void)ps;                                                                               \
    v8sf z = V8_SET1(0.0f);                                                                 \
    v8sf c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;                              \
    v8sf c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;                              \
    if (la == 0)                                                                            \
      for (size_t k = 0; k < kc; k++, a += 6, b += 16) {                                    \
        v8sf b0, b1, av;                                                                    \
        V8_LOAD(b0, b);                                                                     \
        V8_LOAD(b1, b + 8);                                                                 \
        K6_ROW(0) K6_ROW(1) K6_ROW(2) K6_ROW(3) K6_ROW(4) K6_ROW(5)                         \
      }                                                                                     \
    else {                                                                                  \
      const float *a3 = a + 3 * la; /* rows 3-5 off a second base: short addresses */      \
      for (size_t k = 0; k < kc; k++, a += ka, a3 += ka, b += 16) {                         \
        v8sf b0, b1, av;                                                                    \
        V8_LOAD(b0, b);                                                                     \
        V8_LOAD(b1, b + 8);                                                                 \
        K6_ROW_U(0, a, 0) K6_ROW_U(1, a, 1) K6_ROW_U(2, a, 2)                               \
        K6_ROW_U(3, a3, 0) K6_ROW_U(4, a3, 1) K6_ROW_U(5, a3, 2)                            \
      }                                                                                     \
    }                                                                                       \
    if (mr == 6 && nr == 16) {                                                              \
      K6_OUT(0) K6_OUT(1) K6_OUT(2) K6_OUT(3) K6_OUT(4) K6_OUT(5)                           \
      return;                                                                               \
    }                                                                                       \
    float tmp[6][16];                                                                       \
    K6_TMP(0) K6_TMP(1) K6_TMP(2) K6_TMP(3) K6_TMP(4) K6_TMP(5)                             \
    for (size_t r = 0; r < mr; r++) {                                                       \
      float *cr = c + r * ldc;                                                              \
      if (add)                                                                              \
        for (size_t j = 0; j < nr; j++) cr[j] = cr[j] + tmp[r][j];                          \
      else                                                                                  \
        memcpy(cr, tmp[r], nr * sizeof(float));                                             \
    }                                                                                       \
  }

#ifdef TA_HAVE_AVX2_CLONE
#pragma GCC push_options
#pragma GCC target("avx2,fma")
TA_UKR_6X16(ukr_avx2)
#pragma GCC pop_options
#endif
TA_UKR_6X16(ukr_base)

#ifdef TA_HAVE_AVX2_CLONE
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
typedef float v16sf __attribute__((vector_size(64)));
#define V16_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v16sf))
#define V16_STORE(p, v) memcpy((p), &(v), sizeof(v16sf))
#define V16_SET1(x) \
  ((v16sf){(x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x)})
/* row r of the 12 x 32 tile: c_r0, c_r1 (+)= a[r] * (b0, b1) */
#define K12_ROW(r)        \
  av = V16_SET1(a[r]);    \
  c##r##_0 += av * b0;    \
  c##r##_1 += av * b1;
#define K12_OUT(r)                           \
  {                                          \
    float *cr = c + (r) * ldc;               \
    v16sf t0 = c##r##_0, t1 = c##r##_1;      \
    if (add) {                               \
      v16sf o0, o1;                          \
      V16_LOAD(o0, cr);                      \
      V16_LOAD(o1, cr + 16);                 \
      t0 = o0 + t0;                          \
      t1 = o1 + t1;                          \
    }                                        \
    V16_STORE(cr, t0);                       \
    V16_STORE(cr + 16, t1);                  \
  }
#define K12_TMP(r)                   \
  V16_STORE(tmp[r], c##r##_0);       \
  V16_STORE(tmp[r] + 16, c##r##_1);
#define K12_ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)
#define K12_ROW_U(r, base, j)        \
  av = V16_SET1((base)[(j) * la]); \
  c##r##_0 += av * b0;             \
  c##r##_1 += av * b1;
static void ukr_avx512(size_t kc, const float *a, size_t la, size_t ka, const float *b,
                       size_t ps, float *c, size_t ldc, size_t mr, size_t nr, int add) {
  v16sf z = V16_SET1(0.0f);
  v16sf c0_0 = z, c0_1 = z, c1_0 = z, c1_1 = z, c2_0 = z, c2_1 = z, c3_0 = z, c3_1 = z;
  v16sf c4_0 = z, c4_1 = z, c5_0 = z, c5_1 = z, c6_0 = z, c6_1 = z, c7_0 = z, c7_1 = z;
  v16sf c8_0 = z, c8_1 = z, c9_0 = z, c9_1 = z, c10_0 = z, c10_1 = z, c11_0 = z, c11_1 = z;
  const float *bn = b + ps;
  if (la == 0)
    for (size_t k = 0; k < kc; k++, a += 12, b += 16, bn += 16) {
      v16sf b0, b1, av;
      V16_LOAD(b0, b);
      V16_LOAD(b1, bn);
      K12_ALL(K12_ROW)
    }
  else {
    /* rows off three bases, 0, 1, 2, 3 la from each: x86 addresses base + index * scale */
    const float *a4 = a + 4 * la, *a8 = a + 8 * la;
    for (size_t k = 0; k < kc; k++, a += ka, a4 += ka, a8 += ka, b += 16, bn += 16) {
      v16sf b0, b1, av;
      V16_LOAD(b0, b);
      V16_LOAD(b1, bn);
      K12_ROW_U(0, a, 0) K12_ROW_U(1, a, 1) K12_ROW_U(2, a, 2) K12_ROW_U(3, a, 3)
      K12_ROW_U(4, a4, 0) K12_ROW_U(5, a4, 1) K12_ROW_U(6, a4, 2) K12_ROW_U(7, a4, 3)
      K12_ROW_U(8, a8, 0) K12_ROW_U(9, a8, 1) K12_ROW_U(10, a8, 2) K12_ROW_U(11, a8, 3)
    }
  }
  if (mr == 12 && nr == 32) {
    K12_ALL(K12_OUT)
    return;
  }
  float tmp[12][32];
  K12_ALL(K12_TMP)
  for (size_t r = 0; r < mr; r++) {
    float *cr = c + r * ldc;
    if (add)
      for (size_t j = 0; j < nr; j++) cr[j] = cr[j] + tmp[r][j];
    else
      memcpy(cr, tmp[r], nr * sizeof(float));
  }
}
#pragma GCC pop_options
#endif

int ta_gemm_use_avx2(void) {
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

#ifdef TA_HAVE_AVX2_CLONE
/* TSATTN_AVX512=0 in the environment (read once) keeps to the AVX2 kernel: the results
 * are the same, which the tests check by running both */
static int use_avx512(void) {
  static int cached = -1;
  if (cached < 0) {
    const char *env = getenv("TSATTN_AVX512");
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx512f") && ta_gemm_use_avx2() &&
             !(env && strcmp(env, "0") == 0);
  }
  return cached;
}
#endif

ta_ukr ta_gemm_ukr(void) {
#ifdef TA_HAVE_AVX2_CLONE
  if (use_avx512()) return (ta_ukr){ukr_avx512, 12, 32};
  if (ta_gemm_use_avx2()) return (ta_ukr){ukr_avx2, 6, 16};
#endif
  return (ta_ukr){ukr_base, 6, 16};
}

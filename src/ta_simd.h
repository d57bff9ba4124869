/* Included first by the files whose element-wise loops should vectorise. GCC if-converts
 * the float compares in ta_math.h's branch-free formulas (the clamps of ta_expf, the
 * selects of ta_tanhf) only when it may assume no floating-point trap is enabled;
 * no-trapping-math allows that and changes no result (nothing here enables FP traps).
 * Other compilers just compile the loops as scalar code, with the same results. */
#ifndef TA_SIMD_H
#define TA_SIMD_H
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER) && !defined(__CUDACC__)
#pragma GCC optimize("no-trapping-math")
#endif

/* TA_SIMD_CLONES on a function with element-wise loops compiles it twice, for AVX2 and
 * for the baseline, and picks one at load time (GCC's target_clones). Only "avx2", not
 * "fma": without FMA contraction both clones round exactly alike, so results do not
 * depend on the machine; the AVX2 one does twice the work per instruction. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__) && defined(__x86_64__) && \
    defined(__linux__)
#define TA_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TA_SIMD_CLONES
#endif

/* TA_FLATTEN: every call inside the function is inlined, so that a TA_SIMD_CLONES function
 * that calls a shared formula (ta_*_math.h) compiles the formula into each clone; without
 * it GCC may call one out-of-line copy in baseline code from the AVX2 clone. */
#if defined(__GNUC__) && !defined(__CUDACC__)
#define TA_FLATTEN __attribute__((flatten))
#else
#define TA_FLATTEN
#endif
#endif

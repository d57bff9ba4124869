/* Small vector helpers for inner loops that -O2 does not vectorize by itself: a dot
 * product with eight partial sums in a fixed order (so results repeat bitwise), an axpy
 * and an addition, written with GCC vector types (SSE on the x86-64 baseline). */
#ifndef TA_VEC_H
#define TA_VEC_H

#include <stddef.h>
#include <string.h>

typedef float ta_v8 __attribute__((vector_size(32)));

static inline float ta_dot(const float *a, const float *b, size_t n) {
  ta_v8 acc = {0, 0, 0, 0, 0, 0, 0, 0}, va, vb;
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    memcpy(&va, a + k, sizeof va);
    memcpy(&vb, b + k, sizeof vb);
    acc += va * vb;
  }
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < n; k++) s += a[k] * b[k];
  return s;
}

/* y[0..n) += alpha * x[0..n) */
static inline void ta_axpy(float *y, float alpha, const float *x, size_t n) {
  ta_v8 va = {alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha}, vx, vy;
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    memcpy(&vx, x + k, sizeof vx);
    memcpy(&vy, y + k, sizeof vy);
    vy += va * vx;
    memcpy(y + k, &vy, sizeof vy);
  }
  for (; k < n; k++) y[k] += alpha * x[k];
}

/* y[0..n) += x[0..n), in vector registers (-O2 leaves the plain loop scalar where it
 * cannot prove that y and x do not overlap); the same sums as the plain loop */
static inline void ta_add(float *y, const float *x, size_t n) {
  ta_v8 vx, vy;
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    memcpy(&vx, x + k, sizeof vx);
    memcpy(&vy, y + k, sizeof vy);
    vy += vx;
    memcpy(y + k, &vy, sizeof vy);
  }
  for (; k < n; k++) y[k] += x[k];
}

/* y[r * ldy + j] += b[j] for every row r < R and j < n (a bias on each row of a product) */
static inline void ta_add_rows(float *y, size_t ldy, const float *b, size_t R, size_t n) {
  for (size_t r = 0; r < R; r++) ta_add(y + r * ldy, b, n);
}

#endif

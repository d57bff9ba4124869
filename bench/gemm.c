/* Times the core's sgemm (src/ta_gemm.c) against a reference build of an older version
 * of the same file (bench/gemm.sh compiles it with its symbols renamed old_*), on one
 * and two threads, and checks that both give bitwise the same results: the summation
 * order is the project's contract, a faster kernel must not change a single bit.
 *   gemm [reps]   prints GFLOP/s (best of reps) per shape, new and old, and the ratio */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ta_gemm.h"
#include "ta_threads.h"

void old_gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                 size_t M, size_t N, size_t K, int accumulate);
void old_gemm_nn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                 size_t M, size_t N, size_t K, int accumulate);
void old_gemm_tn(float *C, size_t ldc, const float *A, size_t lda, const float *B, size_t ldb,
                 size_t M, size_t N, size_t K, int accumulate);
size_t old_gemm_packed_size(size_t N, size_t K);
void old_gemm_pack_t(float *Bp, const float *B, size_t ldb, size_t N, size_t K);
void old_gemm_packed(float *C, size_t ldc, const float *A, size_t lda, const float *Bp,
                     size_t M, size_t N, size_t K, int accumulate);

typedef void (*gemm_fn)(float *, size_t, const float *, size_t, const float *, size_t, size_t,
                        size_t, size_t, int);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *rnd(size_t n, unsigned *s) {
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1103515245u + 12345u;
    x[i] = (float)((*s >> 9) & 0xffff) / 32768.0f - 1.0f;
  }
  return x;
}

/* op: 0 nt (A [M,K], B [N,K]), 1 nn (B [K,N]), 2 tn (A [K,M], B [K,N]) */
static gemm_fn pick(int op, int old) {
  if (op == 0) return old ? old_gemm_nt : ta_gemm_nt;
  if (op == 1) return old ? old_gemm_nn : ta_gemm_nn;
  return old ? old_gemm_tn : ta_gemm_tn;
}

static void call(int op, int old, float *C, const float *A, const float *B, size_t M, size_t N,
                 size_t K, int acc) {
  size_t lda = op == 2 ? M : K, ldb = op == 0 ? K : N;
  pick(op, old)(C, N, A, lda, B, ldb, M, N, K, acc);
}

/* 1 when new and old agree bitwise on this shape (both ops' accumulate modes) */
static int check(int op, size_t M, size_t N, size_t K) {
  unsigned s = 7u + (unsigned)(M * 31 + N * 17 + K);
  float *A = rnd(M * K + 1, &s), *B = rnd(N * K + 1, &s), *C0 = rnd(M * N + 1, &s);
  float *C1 = malloc((M * N + 1) * sizeof(float));
  int ok = 1;
  for (int acc = 0; acc < 2; acc++) {
    memcpy(C1, C0, (M * N + 1) * sizeof(float));
    call(op, 0, C1, A, B, M, N, K, acc);
    float *C2 = malloc((M * N + 1) * sizeof(float));
    memcpy(C2, C0, (M * N + 1) * sizeof(float));
    call(op, 1, C2, A, B, M, N, K, acc);
    if (memcmp(C1, C2, M * N * sizeof(float)) != 0) ok = 0;
    free(C2);
  }
  if (op == 0) { /* the caller-packed path (recurrent weights) */
    float *Bp = malloc(ta_gemm_packed_size(N, K) * sizeof(float) + 4);
    float *Bq = malloc(old_gemm_packed_size(N, K) * sizeof(float) + 4);
    ta_gemm_pack_t(Bp, B, K, N, K);
    old_gemm_pack_t(Bq, B, K, N, K);
    memcpy(C1, C0, M * N * sizeof(float));
    ta_gemm_packed(C1, N, A, K, Bp, M, N, K, 1);
    float *C2 = malloc((M * N + 1) * sizeof(float));
    memcpy(C2, C0, M * N * sizeof(float));
    old_gemm_packed(C2, N, A, K, Bq, M, N, K, 1);
    if (memcmp(C1, C2, M * N * sizeof(float)) != 0) ok = 0;
    free(C2);
    free(Bp);
    free(Bq);
  }
  free(A);
  free(B);
  free(C0);
  free(C1);
  return ok;
}

static double gflops(int op, int old, size_t M, size_t N, size_t K, int reps) {
  unsigned s = 1u;
  float *A = rnd(M * K, &s), *B = rnd(N * K, &s), *C = rnd(M * N, &s);
  double flop = 2.0 * M * N * K, best = 1e30;
  /* enough calls per repetition for ~0.2 s */
  double t0 = now();
  call(op, old, C, A, B, M, N, K, 0);
  double t1 = now() - t0;
  int inner = t1 > 0.2 ? 1 : (int)(0.2 / (t1 + 1e-9)) + 1;
  for (int r = 0; r < reps; r++) {
    t0 = now();
    for (int i = 0; i < inner; i++) call(op, old, C, A, B, M, N, K, 0);
    double t = (now() - t0) / inner;
    if (t < best) best = t;
  }
  free(A);
  free(B);
  free(C);
  return flop / best * 1e-9;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 3;
  static const char *opname[] = {"nt", "nn", "tn"};
  /* bitwise agreement: edge shapes (not multiples of any tile, K = 1, K across KC) */
  static const size_t shp[][3] = {{1, 1, 1},    {7, 5, 3},     {8, 16, 256}, {13, 17, 1},
                                  {29, 33, 257}, {100, 3, 70},  {6, 16, 300}, {14, 16, 513},
                                  {61, 47, 600}, {300, 200, 129}, {1000, 64, 64}, {64, 64, 2000},
                                  {9, 300, 40},  {200, 1, 50},  {33, 100, 1}};
  int bad = 0;
  for (int t = 1; t <= 2; t++) {
    ta_set_threads(t);
    for (size_t i = 0; i < sizeof shp / sizeof shp[0]; i++)
      for (int op = 0; op < 3; op++)
        if (!check(op, shp[i][0], shp[i][1], shp[i][2])) {
          printf("MISMATCH %s M=%zu N=%zu K=%zu threads=%d\n", opname[op], shp[i][0], shp[i][1],
                 shp[i][2], t);
          bad++;
        }
  }
  printf("bitwise check against the reference: %s\n", bad ? "FAILED" : "identical");
  static const struct {
    int op;
    size_t M, N, K;
    const char *what;
  } w[] = {{0, 2048, 2048, 2048, "square"},
           {0, 6400, 64, 64, "dense/attention projection (B*T rows)"},
           {0, 256, 256, 100, "W4-like"},
           {2, 64, 64, 6400, "weight gradient dW = dY^T X"},
           {1, 6400, 64, 64, "input gradient dX = dY W"},
           {0, 32, 192, 64, "recurrent step (GRU 3H x H, batch 32)"}};
  printf("%-4s %5s %5s %5s %3s %9s %9s %6s  %s\n", "op", "M", "N", "K", "thr", "new", "old",
         "ratio", "(GFLOP/s, best of reps)");
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
    for (int t = 1; t <= 2; t++) {
      ta_set_threads(t);
      double gn = gflops(w[i].op, 0, w[i].M, w[i].N, w[i].K, reps);
      double go = gflops(w[i].op, 1, w[i].M, w[i].N, w[i].K, reps);
      printf("%-4s %5zu %5zu %5zu %3d %9.1f %9.1f %6.2f  %s\n", opname[w[i].op], w[i].M, w[i].N,
             w[i].K, t, gn, go, gn / go, w[i].what);
      fflush(stdout);
    }
  ta_gemm_release();
  return bad ? 1 : 0;
}

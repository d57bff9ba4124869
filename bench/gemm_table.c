/* The core's sgemm (src/ta_gemm.c, src/ta_gemm_kernel.c) timed on given shapes, called
 * directly from C the way the layers call it; bench/run.py builds this with R's flags
 * for packages (CC, CFLAGS, CPICFLAGS, SHLIB_OPENMP_CFLAGS) and prints the GEMM table of
 * bench/RESULTS.md from its output next to PyTorch's torch.matmul on the same shapes.
 *
 *   gemm_table THREADS REPS MIN_SECONDS SPEC...
 *   SPEC = id:op:M:N:K:mode
 *     op    nt   C[M,N] = A[M,K] B[N,K]^T        (ta_gemm_nt: forward of a linear map)
 *           nn   C[M,N] = A[M,K] B[K,N]          (ta_gemm_nn: input gradient)
 *           tn   C[M,N] = A[K,M]^T B[K,N]        (ta_gemm_tn: weight gradient)
 *           pnt, pnn  as nt, nn with B packed once beforehand (ta_gemm_pack_t/_n, not
 *                timed) and ta_gemm_packed per product: a recurrent weight at every step
 *     mode  call  one call; the kernel's own threads (ta_set_threads(THREADS))
 *           bX    X independent products of that shape, one a thread, in one parallel
 *                 loop over them, as ta_mha.c / layer_attention.c run the attention
 *                 blocks (one per sequence and head)
 *           rX    the M rows split over the threads (ta_parallel_rows), each thread
 *                 its rows X at a time (X = 0: all at once): a recurrent layer's step
 *                 product (its sequences over the threads), conv1d's forward and input
 *                 gradient (blocks of 256 im2col rows)
 *           kX    (tn) the M rows split over the threads (ta_parallel_rows), each
 *                 thread summing over K X at a time, the first block written and the
 *                 others added: conv1d's weight gradient (dWr^T = cols^T dz)
 * Operands: fresh for each SPEC (allocated and filled with values in [-1, 1)),
 * contiguous, float32. Timing: one untimed warm-up call, then REPS repetitions, each of
 * as many calls as make up MIN_SECONDS (counted from the warm-up); per product, the
 * median over the repetitions. Output, one line per SPEC:
 *   GEMM id=ID seconds=S gflops=G inner=CALLS reps=REPS
 * and first a line KERNEL mr=.. nr=.. fma=.. threads=.. (the micro-kernel in use).
 * Exit status 2 on a malformed SPEC or a failed allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ta_gemm.h"
#include "ta_gemm_kernel.h"
#include "ta_threads.h"

typedef struct {
  char id[64];
  int op; /* 0 nt, 1 nn, 2 tn */
  int packed;
  char mode; /* 'c' call, 'b' batch, 'r' rows, 'k' k blocks */
  size_t M, N, K, x;
} spec_t;

typedef struct {
  const spec_t *s;
  float *A, *B, *C, *Bp;
  size_t inner;
} job_t;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *rnd(size_t n, unsigned *s) {
  float *x = malloc((n ? n : 1) * sizeof(float));
  if (!x) return NULL;
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1103515245u + 12345u;
    x[i] = (float)((*s >> 9) & 0xffff) / 32768.0f - 1.0f;
  }
  return x;
}

static int parse(const char *arg, spec_t *s) {
  char op[8], mode[32];
  unsigned long M, N, K;
  memset(s, 0, sizeof *s);
  if (sscanf(arg, "%63[^:]:%7[^:]:%lu:%lu:%lu:%31s", s->id, op, &M, &N, &K, mode) != 6) return 0;
  s->M = M;
  s->N = N;
  s->K = K;
  if (!strcmp(op, "nt")) s->op = 0;
  else if (!strcmp(op, "nn")) s->op = 1;
  else if (!strcmp(op, "tn")) s->op = 2;
  else if (!strcmp(op, "pnt")) s->op = 0, s->packed = 1;
  else if (!strcmp(op, "pnn")) s->op = 1, s->packed = 1;
  else return 0;
  if (!strcmp(mode, "call")) {
    s->mode = 'c';
  } else if (mode[0] == 'b' || mode[0] == 'r' || mode[0] == 'k') {
    char *end;
    s->mode = mode[0];
    s->x = strtoul(mode + 1, &end, 10);
    if (*end || (s->mode == 'b' && s->x < 1) || (s->mode == 'k' && (s->x < 1 || s->op != 2)))
      return 0;
  } else {
    return 0;
  }
  if (s->packed && s->mode != 'c' && s->mode != 'r') return 0;
  return M > 0 && N > 0 && K > 0;
}

/* rows [m0, m1) of one product: C[m0:m1, :] (+)= ... (A's rows m0.. for nt/nn, columns
 * m0.. of A [K, M] for tn) */
static void rows_product(const job_t *j, size_t m0, size_t m1, int acc) {
  const spec_t *s = j->s;
  size_t M = s->M, N = s->N, K = s->K, m = m1 - m0;
  float *C = j->C + m0 * N;
  if (s->packed) {
    ta_gemm_packed(C, N, j->A + m0 * K, K, j->Bp, m, N, K, acc);
  } else if (s->op == 0) {
    ta_gemm_nt(C, N, j->A + m0 * K, K, j->B, K, m, N, K, acc);
  } else if (s->op == 1) {
    ta_gemm_nn(C, N, j->A + m0 * K, K, j->B, N, m, N, K, acc);
  } else {
    ta_gemm_tn(C, N, j->A + m0, M, j->B, N, m, N, K, acc);
  }
}

/* ta_parallel_rows' body: this thread's rows, inner times (as a layer's step loop) */
static void rows_fn(void *ctx, size_t r0, size_t r1) {
  const job_t *j = ctx;
  const spec_t *s = j->s;
  for (size_t it = 0; it < j->inner; it++) {
    if (s->mode == 'k') { /* k blocks of x, the first written, the others added */
      size_t M = s->M, N = s->N;
      for (size_t k0 = 0; k0 < s->K; k0 += s->x) {
        size_t kb = s->K - k0 < s->x ? s->K - k0 : s->x;
        ta_gemm_tn(j->C + r0 * N, N, j->A + k0 * M + r0, M, j->B + k0 * N, N, r1 - r0, N, kb,
                   k0 > 0);
      }
    } else {
      size_t blk = s->x ? s->x : r1 - r0;
      for (size_t m0 = r0; m0 < r1; m0 += blk) rows_product(j, m0, m0 + blk < r1 ? m0 + blk : r1, 0);
    }
  }
}

static void run(job_t *j) {
  const spec_t *s = j->s;
  double flops = 2.0 * (double)s->M * (double)s->N * (double)s->K;
  if (s->mode == 'c') {
    for (size_t it = 0; it < j->inner; it++) rows_product(j, 0, s->M, 0);
  } else if (s->mode == 'b') {
    size_t a = s->M * s->K, b = s->N * s->K, c = s->M * s->N;
    ptrdiff_t n = (ptrdiff_t)s->x;
    double all = flops * (double)s->x;
    (void)all;
    for (size_t it = 0; it < j->inner; it++) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (all > TA_PAR_MIN_FLOPS) num_threads(ta_threads())
#endif
      for (ptrdiff_t i = 0; i < n; i++) {
        job_t one = *j;
        one.A += (size_t)i * a;
        one.B += (size_t)i * b;
        one.C += (size_t)i * c;
        rows_product(&one, 0, s->M, 0);
      }
    }
  } else {
    ta_parallel_rows(rows_fn, j, s->M, flops * (double)j->inner);
  }
}

static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int k = i; k > 0 && v[k] < v[k - 1]; k--) {
      double t = v[k];
      v[k] = v[k - 1];
      v[k - 1] = t;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: gemm_table THREADS REPS MIN_SECONDS id:op:M:N:K:mode...\n");
    return 2;
  }
  int threads = atoi(argv[1]), reps = atoi(argv[2]);
  double min_s = atof(argv[3]);
  if (threads < 1 || reps < 1 || reps > 1000) {
    fprintf(stderr, "gemm_table: THREADS and REPS must be positive\n");
    return 2;
  }
  for (int i = 4; i < argc; i++) { /* every spec checked before anything is timed */
    spec_t s;
    if (!parse(argv[i], &s)) {
      fprintf(stderr, "gemm_table: bad spec '%s'\n", argv[i]);
      return 2;
    }
  }
  ta_set_threads(threads);
  ta_ukr u = ta_gemm_ukr();
  printf("KERNEL mr=%zu nr=%zu fma=%d threads=%d\n", u.mr, u.nr, ta_gemm_use_avx2(),
         ta_threads_planned());
  fflush(stdout);
  double *t = malloc((size_t)reps * sizeof(double));
  for (int i = 4; i < argc; i++) {
    spec_t s;
    parse(argv[i], &s);
    size_t nb = s.mode == 'b' ? s.x : 1;
    unsigned seed = 1u + (unsigned)i;
    job_t j = {&s, rnd(nb * s.M * s.K, &seed), rnd(nb * s.N * s.K, &seed),
               rnd(nb * s.M * s.N, &seed), NULL, 1};
    if (!j.A || !j.B || !j.C || !t) {
      fprintf(stderr, "gemm_table: out of memory at '%s'\n", argv[i]);
      return 2;
    }
    if (s.packed) {
      j.Bp = malloc(ta_gemm_packed_size(s.N, s.K) * sizeof(float));
      if (!j.Bp) {
        fprintf(stderr, "gemm_table: out of memory at '%s'\n", argv[i]);
        return 2;
      }
      if (s.op == 0) ta_gemm_pack_t(j.Bp, j.B, s.K, s.N, s.K);
      else ta_gemm_pack_n(j.Bp, j.B, s.N, s.N, s.K);
    }
    double t0 = now();
    run(&j); /* warm-up */
    double t1 = now() - t0;
    j.inner = t1 >= min_s ? 1 : (size_t)(min_s / (t1 > 1e-7 ? t1 : 1e-7)) + 1;
    for (int r = 0; r < reps; r++) {
      t0 = now();
      run(&j);
      t[r] = (now() - t0) / (double)j.inner;
    }
    double sec = median(t, reps);
    double flop = 2.0 * (double)nb * (double)s.M * (double)s.N * (double)s.K;
    printf("GEMM id=%s seconds=%.9g gflops=%.9g inner=%zu reps=%d\n", s.id, sec,
           flop / sec * 1e-9, j.inner, reps);
    fflush(stdout);
    free(j.A);
    free(j.B);
    free(j.C);
    free(j.Bp);
  }
  free(t);
  ta_gemm_release();
  return 0;
}

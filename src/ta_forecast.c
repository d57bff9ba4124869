#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "ta_forecast.h"
#include "ta_gemm.h"
#include "ta_rng.h"
#include "ta_threads.h"

/* windows forwarded at once: bounds the workspace (activations and caches of every
 * layer scale with the batch). 128 rather than 256: a small recurrent network's step
 * products (128 x 3H x H for a GRU(16)) then stay under ta_gemm's threshold for
 * splitting over threads, whose fork and join per product cost more than they save
 * here; measured on 2 busy cores, 1000 paths x 24 steps of a GRU(16) took 0.45-0.6 s
 * at 128 and 1.2-2 s at 256 (0.42 s at either on one thread). */
#define TA_SIM_CHUNK 128

/* a * b, or 0 (with *ok cleared) when it overflows size_t */
static size_t mul_ok(size_t a, size_t b, int *ok) {
  if (a != 0 && b > (size_t)-1 / a) {
    *ok = 0;
    return 0;
  }
  return a * b;
}

int ta_simulate_check(const ta_net *net, const ta_sim *s, ta_msg *msg) {
  size_t lookback = s->lookback, n_series = s->n_series, n_xreg = s->n_xreg, h = s->h;
  size_t npaths = s->npaths;
  if (lookback < 1 || n_series < 1 || h < 1 || npaths < 1)
    return ta_fail(msg, TA_ERR_ARG, "lookback, series, horizon and paths must all be >= 1");
  size_t F = n_series + n_xreg;
  if (F != (size_t)net->in_dim)
    return ta_fail(msg, TA_ERR_ARG,
                   "a window has %zu features (%zu series + %zu regressors) but the network "
                   "was built for %d", F, n_series, n_xreg, net->in_dim);
  if (n_series != (size_t)net->out_dim)
    return ta_fail(msg, TA_ERR_ARG,
                   "the network gives %d outputs per step but %zu series are forecast",
                   net->out_dim, n_series);
  if (n_xreg > 0 && !s->xreg_future)
    return ta_fail(msg, TA_ERR_ARG, "future regressors are missing");
  if (s->n_resid > 0 && !s->resid) return ta_fail(msg, TA_ERR_ARG, "residuals are missing");
  if (s->n_resid > 0 && !s->paths) return ta_fail(msg, TA_ERR_ARG, "no buffer for the paths");
  if (s->n_resid > UINT32_MAX)
    return ta_fail(msg, TA_ERR_ARG, "at most %lu residual rows, not %zu",
                   (unsigned long)UINT32_MAX, s->n_resid);
  size_t T_out = ta_net_out_time(net, lookback);
  if (T_out == 0)
    return ta_fail(msg, TA_ERR_ARG, "the network does not accept windows of %zu steps", lookback);
  if (s->per < 1 || s->per > T_out)
    return ta_fail(msg, TA_ERR_ARG, "a pass gives %zu output steps, not the %zu asked for",
                   T_out, s->per);
  /* every count below must fit a size_t: rows of windows, their floats, the picks and
   * the paths' values */
  int ok = npaths + 1 > npaths;
  size_t wall = mul_ok(npaths + 1, mul_ok(lookback, F, &ok), &ok);
  size_t nph = mul_ok(npaths, h, &ok);
  mul_ok(nph, n_series, &ok);
  mul_ok(wall + 1, sizeof(float), &ok);
  mul_ok(nph, sizeof(uint32_t), &ok);
  if (!ok) return ta_fail(msg, TA_ERR_NOMEM, "too many paths or steps to simulate");
  return TA_OK;
}

void ta_simulate_picks(uint32_t *pick, size_t n, size_t n_resid, uint64_t seed) {
  ta_rng rng;
  ta_rng_seed(&rng, seed);
  for (size_t i = 0; i < n; i++) pick[i] = ta_rng_below(&rng, (uint32_t)n_resid);
}

void ta_sim_add_resid(double *paths, const float *mean, const uint32_t *pick,
                      const double *resid, size_t npaths, size_t h, size_t ns) {
  for (size_t p = 0; p < npaths; p++)
    for (size_t k = 0; k < h; k++) {
      const double *e = resid + (size_t)pick[p * h + k] * ns;
      double *y = paths + (p * h + k) * ns;
      for (size_t j = 0; j < ns; j++) y[j] = (double)mean[k * ns + j] + e[j];
    }
}

/* ---- the loop ------------------------------------------------------------------------ */

int ta_sim_begin(ta_sim_job *job, const ta_net *net, const ta_sim *s, size_t chunk_max,
                 int (*interrupted)(void *ctx), void *ctx, ta_msg *msg) {
  memset(job, 0, sizeof *job);
  int st = ta_simulate_check(net, s, msg);
  if (st != TA_OK) return st;
  job->s = s;
  job->d.lookback = s->lookback;
  job->d.ns = s->n_series;
  job->d.F = s->n_series + s->n_xreg;
  job->d.h = s->h;
  job->d.T_out = ta_net_out_time(net, s->lookback);
  job->d.per = s->per;
  job->noise = s->n_resid > 0;
  job->rows = job->noise ? s->npaths + 1 : 1;
  job->wrow = s->lookback * job->d.F; /* ta_simulate_check: no overflow */
  job->chunk = job->rows < chunk_max ? job->rows : chunk_max;
  job->interrupted = interrupted;
  job->ctx = ctx;
  job->polled = net->stop != NULL;
  if (!job->noise) return TA_OK;
  /* residual rows of every path and step [npaths, h], drawn path by path up front: a
   * path's draws then do not depend on npaths (the first n of more paths are the n
   * paths) nor on the chunking */
  size_t nph = s->npaths * s->h;
  if (!(job->pick = malloc(nph * sizeof(uint32_t))))
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory for %zu residual picks", nph);
  ta_simulate_picks(job->pick, nph, s->n_resid, s->seed);
  return TA_OK;
}

void ta_sim_end(ta_sim_job *job) {
  free(job->pick);
  job->pick = NULL;
}

void ta_sim_windows(const ta_sim_job *job, float *win) {
  for (size_t r = 0; r < job->rows; r++)
    memcpy(win + r * job->wrow, job->s->window, job->wrow * sizeof(float));
}

/* TA_ERR_INTERRUPT when the blocks must stop: an interrupt seen now (asked only when
 * `ask`, on the calling thread, after the backend's queued work) or earlier */
static int sim_poll(const ta_sim_ops *ops, void *be, ta_sim_job *job, int ask, ta_msg *msg) {
  if (job->stop) return TA_ERR_INTERRUPT;
  if (!ask || !job->interrupted) return TA_OK;
  int st = ops->sync ? ops->sync(be, msg) : TA_OK;
  if (st != TA_OK) return st;
  if (!job->interrupted(job->ctx)) return TA_OK;
  job->stop = 1;
  return TA_ERR_INTERRUPT;
}

/* every pass of window rows [r0, r1) on backend be; `ask`: this is the calling thread,
 * which checks for an interrupt between chunks */
static int sim_rows(const ta_sim_ops *ops, void *be, ta_sim_job *job, size_t r0, size_t r1,
                    int ask, ta_msg *msg) {
  const ta_sim_dims *d = &job->d;
  int st = TA_OK;
  for (size_t k = 0; k < d->h; k += d->per) {
    size_t take = d->h - k < d->per ? d->h - k : d->per;
    for (size_t s = r0; s < r1; s += job->chunk) {
      size_t b = r1 - s < job->chunk ? r1 - s : job->chunk;
      const float *out;
      if ((st = sim_poll(ops, be, job, ask, msg)) || (st = ops->forward(be, s, b, &out, msg)) ||
          (st = ops->advance(be, out, s, b, k, take, msg)))
        return st;
    }
    if (ops->pass_end && (st = ops->pass_end(be, msg))) return st;
  }
  return TA_OK;
}

int ta_sim_run(const ta_sim_ops *ops, void *const *bes, int n_be, ta_sim_job *job,
               ta_msg *msg) {
  int st = TA_OK;
  for (int t = 0; t < n_be && st == TA_OK; t++) st = ops->reserve(bes[t], job->chunk, msg);
  if (st != TA_OK) return st;
  size_t rows = job->rows;
#ifdef _OPENMP
  if (n_be > 1) {
    /* blocks of at most a chunk of windows (at least TA_SIM_MIN_ROWS), taken in turn by
     * the threads: the calling thread, the only one that may ask for an interrupt, then
     * works until no block is left, so that no other thread runs on unasked for more
     * than one block (with one block per thread, a thread slowed by a busy machine ran
     * on for seconds after the calling thread had finished its own). A window's values do
     * not depend on the block or chunk it is in, so the result is the same for any
     * number of threads. */
    size_t per = (rows + (size_t)n_be - 1) / (size_t)n_be;
    size_t blk = per < job->chunk ? per : job->chunk;
    if (blk < TA_SIM_MIN_ROWS) blk = TA_SIM_MIN_ROWS;
    long n_blk = (long)((rows + blk - 1) / blk);
#pragma omp parallel num_threads(n_be)
    {
      int tid = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
      for (long i = 0; i < n_blk; i++) {
        size_t r0 = (size_t)i * blk, r1 = r0 + blk < rows ? r0 + blk : rows;
        sim_rows(ops, bes[tid], job, r0, r1, tid == 0, msg); /* only an interrupt: stop */
      }
      ta_gemm_release(); /* this thread's packing buffers */
    }
  } else
#endif
  {
    st = sim_rows(ops, bes[0], job, 0, rows, 1, msg);
    if (st != TA_OK && st != TA_ERR_INTERRUPT) return st;
  }
  /* a forward pass may have been cut short by its network's stop poll (an interrupt
   * pending, not yet taken): asked once more here, so that such paths are never
   * returned */
  if (!job->stop && job->polled && job->interrupted && job->interrupted(job->ctx))
    job->stop = 1;
  if (job->stop) return ta_fail(msg, TA_ERR_INTERRUPT, "interrupted");
  if (ops->finish && (st = ops->finish(bes[0], msg)) != TA_OK) return st;
  const ta_sim *s = job->s;
  if (!job->noise && s->paths)
    for (size_t p = 0; p < s->npaths; p++)
      memcpy(s->paths + p * s->h * s->n_series, s->mean, s->h * s->n_series * sizeof(float));
  return TA_OK;
}

/* ---- the CPU backend of the loop ------------------------------------------------------ */

/* one thread's: its network, and the windows (shared; each row written by one thread) */
typedef struct {
  ta_net *net;
  const ta_sim_job *job;
  float *win;
} cpu_sim;

static int cpu_reserve(void *be, size_t chunk, ta_msg *msg) {
  cpu_sim *c = be;
  return ta_net_reserve(c->net, chunk, c->job->s->lookback, msg);
}

static int cpu_forward(void *be, size_t s, size_t b, const float **out, ta_msg *msg) {
  (void)msg;
  cpu_sim *c = be;
  *out = ta_net_predict(c->net, c->win + s * c->job->wrow, NULL, b, c->job->s->lookback);
  return TA_OK;
}

static int cpu_advance(void *be, const float *out, size_t s, size_t b, size_t k, size_t take,
                       ta_msg *msg) {
  (void)msg;
  cpu_sim *c = be;
  const ta_sim_job *job = c->job;
  const ta_sim_dims *d = &job->d;
  const ta_sim *sim = job->s;
  size_t nv = take * d->ns, ostride = d->T_out * d->ns;
  int more = k + take < d->h;
  for (size_t i = 0; i < b; i++) {
    size_t row = s + i;
    for (size_t v = 0; v < nv; v++)
      ta_sim_value(d, sim->paths, sim->mean, out + i * ostride, job->pick, sim->resid, row, k, v);
    if (!more) continue;
    float *w = c->win + row * job->wrow; /* in place: ta_sim_next reads ahead only */
    for (size_t t = 0; t < d->lookback; t++)
      for (size_t f = 0; f < d->F; f++)
        w[t * d->F + f] = ta_sim_next(d, w, sim->paths, sim->mean, sim->xreg_future, row, k,
                                      take, t, f);
  }
  return TA_OK;
}

static const ta_sim_ops cpu_sim_ops = {cpu_reserve, cpu_forward, cpu_advance, NULL, NULL, NULL};

int ta_simulate(ta_net **nets, int n_nets, const ta_sim *s, int (*interrupted)(void *ctx),
                void *ctx, ta_msg *msg) {
  if (n_nets < 1 || !nets || !nets[0])
    return ta_fail(msg, TA_ERR_ARG, "no network to simulate with");
  ta_sim_job job;
  int st = ta_sim_begin(&job, nets[0], s, TA_SIM_CHUNK, interrupted, ctx, msg);
  if (st != TA_OK) return st;
  /* blocks of windows run on the threads, each thread with its own network (the
   * workspace is per network) and its own packing buffers (ta_gemm's are per thread) */
  size_t n_blocks = (job.rows + TA_SIM_MIN_ROWS - 1) / TA_SIM_MIN_ROWS;
  int nt = ta_threads();
  if (nt > n_nets) nt = n_nets;
  if ((size_t)nt > n_blocks) nt = (int)n_blocks;
  if (nt < 1) nt = 1;
  float *win = malloc((job.rows * job.wrow + 1) * sizeof(float)); /* [rows, lookback, F] */
  cpu_sim *cs = malloc((size_t)nt * sizeof(cpu_sim));
  void **bes = malloc((size_t)nt * sizeof(void *));
  if (!win || !cs || !bes) {
    st = ta_fail(msg, TA_ERR_NOMEM, "out of memory for %zu windows", job.rows);
  } else {
    ta_sim_windows(&job, win);
    for (int t = 0; t < nt; t++) {
      cs[t] = (cpu_sim){nets[t], &job, win};
      bes[t] = &cs[t];
    }
    st = ta_sim_run(&cpu_sim_ops, bes, nt, &job, msg);
  }
  free(win);
  free(cs);
  free(bes);
  ta_sim_end(&job);
  return st;
}

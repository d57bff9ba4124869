#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include "ta_net.h"

/* the CPU table of each kind, indexed by TA_LAYER_* (ta_layer_kinds.h) */
#define CPU_OPS(id, name, cpu, gpu) [TA_LAYER_##id] = &cpu,
static const ta_layer_ops *const cpu_ops[TA_LAYER_N] = {TA_LAYER_KINDS(CPU_OPS)};
#undef CPU_OPS

static const ta_layer_ops *ops_for(int type) {
  return type > TA_LAYER_NONE && type < TA_LAYER_N ? cpu_ops[type] : NULL;
}

/* The workspace of `floats` floats (+1), its size in *bytes. A large one asks for
 * transparent huge pages, which Linux commonly gives only on request ("madvise"): a
 * fresh workspace is touched page by page in its first pass, and a 36 MB one (a CNN on
 * 128 x 100 steps) took 9,000 faults of 4 KB at every fit() call, where 2 MB pages take
 * 18; the products' operands also need fewer TLB entries. Advice only: results do not
 * change, and where it is refused the pages are as before.
 *
 * A freed large workspace is kept (one, of at most WORK_KEEP bytes) for the next network
 * that needs no more than it and at least half of it: repeated fits (a forecast's
 * members, rolling origins, a warm-up and a timed run) then reuse pages already mapped
 * instead of the kernel zeroing fresh ones, 8% of a CNN's 16-step fit. Networks are
 * created, reserved and freed only by the core's calling thread (R's), never inside a
 * parallel region, so the spare needs no lock. ta_net_release_spare() frees it. */
#define WORK_HUGE ((size_t)2 << 20)
#define WORK_KEEP ((size_t)512 << 20)
static float *spare;
static size_t spare_bytes;
static int poison; /* ta_net_set_poison */

int ta_net_set_poison(int on) {
  int was = poison;
  poison = on != 0;
  return was;
}

static float *work_get(size_t floats, size_t *bytes) {
  size_t b = (floats + 1) * sizeof(float);
  if (spare && spare_bytes >= b && spare_bytes / 2 <= b) {
    float *p = spare;
    *bytes = spare_bytes;
    spare = NULL;
    spare_bytes = 0;
    return p;
  }
  *bytes = b;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (b >= 4 * WORK_HUGE) {
    size_t len = (b + WORK_HUGE - 1) / WORK_HUGE * WORK_HUGE;
    void *p = NULL;
    if (posix_memalign(&p, WORK_HUGE, len) != 0) return NULL;
    (void)madvise(p, len, MADV_HUGEPAGE);
    *bytes = len;
    return (float *)p;
  }
#endif
  return malloc(b);
}

static float *work_alloc(size_t floats, size_t *bytes) {
  float *p = work_get(floats, bytes);
  if (p && poison) memset(p, 0xff, *bytes); /* all-ones bytes: a NaN in every float */
  return p;
}

static void work_free(float *p, size_t bytes) {
  if (p && bytes >= 4 * WORK_HUGE && bytes <= WORK_KEEP) {
    free(spare);
    spare = p;
    spare_bytes = bytes;
    return;
  }
  free(p);
}

void ta_net_release_spare(void) {
  free(spare);
  spare = NULL;
  spare_bytes = 0;
}

void ta_net_free(ta_net *net) {
  if (!net) return;
  free(net->layers);
  free(net->param_off);
  free(net->params);
  free(net->grads);
  work_free(net->work, net->work_bytes);
  free(net->act);
  free(net->cache);
  free(net);
}

int ta_net_create(ta_net **out, const ta_layer_spec *specs, int n_layers, int in_dim,
                  ta_msg *msg) {
  *out = NULL;
  if (n_layers < 1) return ta_fail(msg, TA_ERR_ARG, "a network needs at least one layer");
  if (in_dim < 1) return ta_fail(msg, TA_ERR_ARG, "input features must be >= 1, not %d", in_dim);
  ta_net *net = calloc(1, sizeof(ta_net));
  if (!net) return ta_fail(msg, TA_ERR_NOMEM, "out of memory building the network");
  net->n_layers = n_layers;
  net->in_dim = in_dim;
  net->layers = calloc((size_t)n_layers, sizeof(ta_layer));
  net->param_off = calloc((size_t)n_layers, sizeof(size_t));
  net->act = calloc((size_t)n_layers, sizeof(float *));
  net->cache = calloc((size_t)n_layers, sizeof(float *));
  if (!net->layers || !net->param_off || !net->act || !net->cache) {
    ta_net_free(net);
    return ta_fail(msg, TA_ERR_NOMEM, "out of memory building the network");
  }
  int dim = in_dim;
  size_t np = 0;
  for (int i = 0; i < n_layers; i++) {
    ta_layer *L = &net->layers[i];
    L->ops = ops_for(specs[i].type);
    if (!L->ops) {
      ta_net_free(net);
      return ta_fail(msg, TA_ERR_ARG, "layer %d: unknown layer type %d", i + 1, specs[i].type);
    }
    L->in_dim = dim;
    ta_msg inner;
    int st = L->ops->setup(L, &specs[i], &inner);
    if (st != TA_OK) {
      ta_net_free(net);
      return ta_fail(msg, st, "layer %d: %s", i + 1, inner.text);
    }
    net->param_off[i] = np;
    /* the sum (and calloc(np + 1, 4) below) must not wrap: a direct .Call can ask for
     * layers of billions of parameters each (R stops them at options(tsattn.max_weights)) */
    if (L->n_params > ((size_t)-1) / 8 - np) {
      ta_net_free(net);
      return ta_fail(msg, TA_ERR_ARG, "layer %d: the network's parameter count overflows", i + 1);
    }
    np += L->n_params;
    dim = L->out_dim;
  }
  net->out_dim = dim;
  net->n_params = np;
  /* one extra float so an all-parameter-free network still has valid blocks */
  net->params = calloc(np + 1, sizeof(float));
  net->grads = calloc(np + 1, sizeof(float));
  if (!net->params || !net->grads) {
    int big = 0; /* the layer with the most, which the message names */
    for (int i = 1; i < n_layers; i++)
      if (net->layers[i].n_params > net->layers[big].n_params) big = i;
    size_t nb = n_layers > 0 ? net->layers[big].n_params : 0;
    ta_net_free(net);
    return ta_fail(msg, TA_ERR_NOMEM,
                   "out of memory for %zu parameters (layer %d has %zu of them: give it fewer "
                   "units)", np, big + 1, nb);
  }
  *out = net;
  return TA_OK;
}

size_t ta_net_out_time(const ta_net *net, size_t T) {
  for (int i = 0; i < net->n_layers && T > 0; i++) T = ta_layer_out_time(&net->layers[i], T);
  return T;
}

static size_t align_up(size_t floats, size_t align) { return (floats + align - 1) / align * align; }

int ta_workspace_plan(ta_workspace *w, const ta_net *net, ta_layer_sizes_fn sizes,
                      const void *ctx, size_t B, size_t T, size_t align, float *base,
                      ta_msg *msg) {
  size_t off = 0, gmax = B * T * (size_t)net->in_dim, smax = 0, t = T;
  for (int i = 0; i < net->n_layers; i++) {
    const ta_layer *L = &net->layers[i];
    size_t t_out = ta_layer_out_time(L, t);
    if (t_out == 0)
      return ta_fail(msg, TA_ERR_ARG, "layer %d (%s) does not accept sequences of %zu steps",
                     i + 1, L->ops->kind, t);
    size_t a = B * t_out * (size_t)L->out_dim, c, s;
    sizes(ctx, i, B, t, &c, &s);
    if (base) w->act[i] = base + off;
    off += align_up(a, align);
    if (base) w->cache[i] = base + off;
    off += align_up(c, align);
    if (a > gmax) gmax = a;
    if (s > smax) smax = s;
    t = t_out;
  }
  if (base) {
    w->gA = base + off;
    w->gB = w->gA + align_up(gmax, align);
    w->scratch = w->gB + align_up(gmax, align);
  }
  w->floats = off + 2 * align_up(gmax, align) + align_up(smax, align);
  return TA_OK;
}

/* the CPU layers' sizes, for ta_workspace_plan */
static void cpu_layer_sizes(const void *ctx, int i, size_t B, size_t T, size_t *cache,
                            size_t *scratch) {
  const ta_layer *L = &((const ta_net *)ctx)->layers[i];
  *cache = L->ops->cache_size(L, B, T);
  *scratch = L->ops->scratch_size(L, B, T);
}

int ta_net_reserve(ta_net *net, size_t B, size_t T, ta_msg *msg) {
  if (net->work && B <= net->B_cap && T == net->T_cap) return TA_OK;
  ta_workspace w = {net->act, net->cache, NULL, NULL, NULL, 0};
  int st = ta_workspace_plan(&w, net, cpu_layer_sizes, net, B, T, 1, NULL, msg);
  if (st != TA_OK) return st;
  size_t bytes;
  float *work = work_alloc(w.floats, &bytes);
  if (!work) return ta_fail(msg, TA_ERR_NOMEM, "out of memory for a workspace of %zu floats", w.floats);
  work_free(net->work, net->work_bytes);
  net->work = work;
  net->work_bytes = bytes;
  net->B_cap = B;
  net->T_cap = T;
  ta_workspace_plan(&w, net, cpu_layer_sizes, net, B, T, 1, work, msg);
  net->gA = w.gA;
  net->gB = w.gB;
  net->scratch = w.scratch;
  return TA_OK;
}

void ta_net_init(ta_net *net, ta_rng *rng) {
  for (int i = 0; i < net->n_layers; i++) {
    const ta_layer *L = &net->layers[i];
    if (L->n_params) L->ops->init(L, net->params + net->param_off[i], rng);
  }
}

/* The cache of each layer was laid out for B_cap; a smaller batch uses its prefix,
 * which is consistent because every layer indexes its cache from B and T alone.
 * out_only (inference): the caller reads only the network's output, so the layer
 * just before a last_step may compute only the last step (ta_pass.last_only). */
static const float *net_forward(ta_net *net, const float *x, const int *valid_len, size_t B,
                                size_t T, int training, int out_only) {
  ta_pass ps = {training, &net->rng, valid_len, training ? net->target : NULL, 0, net->stop};
  const float *in = x;
  size_t t = T;
  for (int i = 0; i < net->n_layers; i++) {
    if (i > 0 && ta_pass_stopped(&ps)) break; /* an interrupt: the output is discarded */
    const ta_layer *L = &net->layers[i];
    ps.last_only = out_only && !training && i + 1 < net->n_layers &&
                   net->layers[i + 1].ops == &ta_last_step_ops;
    L->ops->forward(L, net->act[i], net->cache[i], in, net->params + net->param_off[i], &ps, B, t);
    in = net->act[i];
    t = ta_layer_out_time(L, t);
  }
  return in;
}

const float *ta_net_forward(ta_net *net, const float *x, const int *valid_len, size_t B,
                            size_t T, int training) {
  return net_forward(net, x, valid_len, B, T, training, 0);
}

const float *ta_net_predict(ta_net *net, const float *x, const int *valid_len, size_t B,
                            size_t T) {
  return net_forward(net, x, valid_len, B, T, 0, 1);
}

void ta_net_backward(ta_net *net, float *dx, const float *dy, const float *x,
                     const int *valid_len, size_t B, size_t T) {
  ta_pass ps = {1, &net->rng, valid_len, net->target, 0, net->stop};
  /* input length of each layer, walking forward once (n_layers is small) */
  const float *dout = dy;
  float *bufs[2] = {net->gA, net->gB};
  for (int i = net->n_layers - 1; i >= 0; i--) {
    if (ta_pass_stopped(&ps)) break; /* an interrupt: the gradients are discarded */
    const ta_layer *L = &net->layers[i];
    size_t t = T;
    for (int j = 0; j < i; j++) t = ta_layer_out_time(&net->layers[j], t);
    float *din = i > 0 ? bufs[i & 1] : dx;
    const float *in = i > 0 ? net->act[i - 1] : x;
    L->ops->backward(L, din, net->grads + net->param_off[i], net->scratch, dout, in, net->act[i],
                     net->cache[i], net->params + net->param_off[i], &ps, B, t);
    dout = din;
  }
}

int ta_net_attn_heads(const ta_net *net, int i) {
  const ta_layer *L = &net->layers[i];
  return L->ops->attn_heads ? L->ops->attn_heads(L) : 0;
}

void ta_net_attn_weights(const ta_net *net, int i, float *out, size_t B, size_t T,
                         size_t *t_query, size_t *t_key) {
  size_t t = T;
  for (int j = 0; j < i; j++) t = ta_layer_out_time(&net->layers[j], t);
  const ta_layer *L = &net->layers[i];
  *t_query = ta_layer_out_time(L, t);
  *t_key = t;
  if (out) L->ops->attn_weights(L, out, net->cache[i], B, t);
}

/* How many OpenMP threads the core uses, set from R's option tsattn.threads, and the
 * size of work below which a loop stays on one thread. The threshold is high on
 * purpose: many small parallel regions (one per recurrent step) cost more in thread
 * wake-ups and spinning than they save, badly so on a busy machine.
 *
 * Fork safety. GNU libgomp keeps one pool of worker threads per process; fork() copies
 * the pool's bookkeeping but not its threads, so a parallel region of more than one
 * thread in a forked child waits for ever for workers that do not exist (mclapply after
 * a threaded fit). ta_threads_init() registers, once, a pthread_atfork child handler
 * that only flags the child (it touches neither OpenMP nor anything else): in a forked
 * child the core runs on one thread. A count set in the child (a request different from
 * the one in effect at the fork) is honoured only when no team of more than one thread
 * was asked for in this process or an ancestor before the fork, i.e. when the pool
 * cannot hold phantom threads of ours; otherwise the child stays on one thread. */
#ifndef TA_THREADS_H
#define TA_THREADS_H

#include <stddef.h>

#define TA_PAR_MIN_FLOPS 4.0e6

/* The threads of a parallel region about to run: 1 inside a parallel region (the core
 * never nests them) and in a forked child (see above); never more than the processors
 * OpenMP may use (omp_get_num_procs). Records that a team may start. */
int ta_threads(void);
/* What ta_threads() would return now, without recording anything (for reports) */
int ta_threads_planned(void);
/* n < 1 restores the default (OpenMP's, normally the cores available) */
void ta_set_threads(int n);
/* Registers the fork handler; once per loaded library, later calls do nothing.
 * Returns 0, or an errno value from pthread_atfork. */
int ta_threads_init(void);

/* Runs fn(ctx, r0, r1) over blocks of the rows [0, n), one block a thread when `flops`
 * (the work of all n) is worth a parallel region, else fn(ctx, 0, n). For work whose
 * rows are independent (the sequences of a recurrent layer's step loop, of a
 * convolution's input gradient) and whose products sum each row in the same order
 * whatever the rows around it, so that the results are the same for any number of
 * threads. Inside fn the core's products stay on the calling thread (ta_threads() is 1
 * in a parallel region); each worker releases its packing buffers at the end. */
typedef void (*ta_rows_fn)(void *ctx, size_t r0, size_t r1);
void ta_parallel_rows(ta_rows_fn fn, void *ctx, size_t n, double flops);
/* Inside fn: the calling thread's index in the team, 0 .. min(n, ta_threads_max()) - 1
 * (0 outside a parallel region): which of the caller's per-thread buffers it may use. */
int ta_thread_slot(void);
/* The most threads ta_threads() can ever return in this process (the processors OpenMP
 * may use; 1 without OpenMP): how many per-thread buffers a workspace needs at most. */
int ta_threads_max(void);

#endif

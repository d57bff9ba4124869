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

#endif

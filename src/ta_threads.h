/* How many OpenMP threads the core uses, set from R's option tsattn.threads, and the
 * size of work below which a loop stays on one thread. The threshold is high on
 * purpose: many small parallel regions (one per recurrent step) cost more in thread
 * wake-ups and spinning than they save, badly so on a busy machine. */
#ifndef TA_THREADS_H
#define TA_THREADS_H

#define TA_PAR_MIN_FLOPS 4.0e6

/* 1 inside a parallel region: the core never nests them */
int ta_threads(void);
/* n < 1 restores the default (OpenMP's, normally the cores available) */
void ta_set_threads(int n);

#endif

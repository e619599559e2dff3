/* clock.h: the monotonic clock every timing in mutau reads.
 *
 * Seconds since an arbitrary start (CLOCK_MONOTONIC): differences are wall
 * time unaffected by changes of the system clock. Not here: dates (the run
 * directory's JSON uses time(3)).
 */
#ifndef MT_CORE_CLOCK_H
#define MT_CORE_CLOCK_H

/* Monotonic seconds. */
double mt_now(void);

/* CPU seconds of the whole process (all its threads) since it started: what
 * a computation cost, without the time it waited for a core while other
 * processes ran. For comparing two ways of doing the same work on a shared
 * machine. */
double mt_cpu_now(void);

/* CPU seconds of the calling thread alone: what one thread's computation
 * cost when other threads of the process (a PyTorch child's reader, other
 * workers) run beside it. */
double mt_thread_cpu_now(void);

#endif

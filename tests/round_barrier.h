/* round_barrier.h: W test workers meet once per round. Each calls
 * round_barrier_wait after its pull and before its push, so no gradient of a
 * round is pushed before every worker has pulled for that round. That fixes
 * what the staleness tests assert, whatever the machine's timing (a loaded
 * runner, a sanitizer's slowdown): in an async run with no push dropped, a
 * round's pulls all see version <= rW and its W pushes are applied at
 * versions rW ... rW + W - 1, so the k-th push of a round has tau >= k: the
 * round's tau sum to at least W (W - 1) / 2 and its largest is >= W - 1.
 *
 * A worker whose run is over calls round_barrier_leave, so the others do not
 * wait for it. Not for a run whose pull can wait for other workers' pushes:
 * the wait policy of a staleness bound, sync mode, or an async epoch end
 * inside a round (W not dividing the steps per epoch, or dropped pushes
 * putting the tickets out of step): they would wait for each other for
 * ever.
 */
#ifndef MUTAU_TESTS_ROUND_BARRIER_H
#define MUTAU_TESTS_ROUND_BARRIER_H

#include <pthread.h>

typedef struct {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int parties;     /* workers still in the run */
    int arrived;     /* at the barrier this round */
    long generation; /* rounds completed */
} round_barrier;

void round_barrier_init(round_barrier *b, int parties);
void round_barrier_destroy(round_barrier *b);
void round_barrier_wait(round_barrier *b);
void round_barrier_leave(round_barrier *b);

#endif

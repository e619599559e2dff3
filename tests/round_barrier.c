/* round_barrier.c: W test workers meet once per round (see round_barrier.h). */
#include "tests/round_barrier.h"

void round_barrier_init(round_barrier *b, int parties)
{
    pthread_mutex_init(&b->m, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->parties = parties;
    b->arrived = 0;
    b->generation = 0;
}

void round_barrier_destroy(round_barrier *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->m);
}

/* Under b->m: the round is complete when everyone still in has arrived. */
static void release_if_complete(round_barrier *b)
{
    if (b->arrived > 0 && b->arrived >= b->parties) {
        b->arrived = 0;
        b->generation++;
        pthread_cond_broadcast(&b->cv);
    }
}

void round_barrier_wait(round_barrier *b)
{
    pthread_mutex_lock(&b->m);
    long gen = b->generation;
    b->arrived++;
    release_if_complete(b);
    while (gen == b->generation)
        pthread_cond_wait(&b->cv, &b->m);
    pthread_mutex_unlock(&b->m);
}

void round_barrier_leave(round_barrier *b)
{
    pthread_mutex_lock(&b->m);
    b->parties--;
    release_if_complete(b);
    pthread_mutex_unlock(&b->m);
}

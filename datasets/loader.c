/* loader.c: loader threads filling a ring of ready batches (see loader.h).
 *
 * The stream is the sequence of batches seq = start, start+1, ... where batch
 * seq is batch (seq % per_epoch) of epoch (seq / per_epoch). Batch seq lives
 * in slot seq % ring. Producers take the next seq to fill from one counter and
 * wait until its slot is free; consumers take the next seq to hand out from
 * another counter and wait until its slot holds that seq, ready. A batch's
 * contents depend only on seq, so the number of producer or consumer threads
 * changes timing, never data.
 */
#include "datasets/loader.h"

#include "core/status.h"
#include "datasets/augment.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_TAKEN };

struct slot {
    float *x;
    int *y;
    int n;
    int64_t seq;
    enum slot_state state;
};

struct producer {
    mt_loader *l;
    pthread_t thread;
    uint32_t *order; /* the epoch order this thread last needed ... */
    int order_epoch; /* ... and its epoch (-1: none yet) */
    int started;
};

struct mt_loader {
    const mt_split *s;
    mt_pipeline_config cfg;
    int per_epoch;
    int64_t end;          /* first seq not to produce (INT64_MAX: endless) */
    struct slot *slots;
    struct producer *producers;
    pthread_mutex_t mu;
    pthread_cond_t filled; /* a slot became READY, or stop */
    pthread_cond_t freed;  /* a slot became FREE, or stop */
    int64_t next_fill;     /* next seq a producer takes */
    int64_t next_take;     /* next seq a consumer takes */
    int stop;
    int status;            /* first producer failure (MT_OK otherwise) */
    char message[256];
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    mt_loader *l = p->l;
    int R = l->cfg.ring;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        while (!l->stop && l->next_fill < l->end && l->slots[l->next_fill % R].state != SLOT_FREE)
            pthread_cond_wait(&l->freed, &l->mu);
        if (l->stop || l->next_fill >= l->end) {
            pthread_mutex_unlock(&l->mu);
            return NULL;
        }
        int64_t seq = l->next_fill++;
        struct slot *sl = &l->slots[seq % R];
        sl->state = SLOT_FILLING;
        sl->seq = seq;
        pthread_mutex_unlock(&l->mu);

        int epoch = (int)(seq / l->per_epoch), index = (int)(seq % l->per_epoch);
        if (p->order_epoch != epoch) {
            mt_epoch_order(p->order, l->s->n, l->cfg.seed, epoch);
            p->order_epoch = epoch;
        }
        int n = mt_batch_train(l->s, &l->cfg, p->order, epoch, index, sl->x, sl->y);

        pthread_mutex_lock(&l->mu);
        if (n < 0 && l->status == MT_OK) {
            /* Cannot happen for a checked config; kept so a failure ends the
             * stream with a message instead of a hang. */
            l->status = n;
            strncpy(l->message, mt_errmsg(), sizeof l->message - 1);
            l->stop = 1;
        }
        sl->n = n;
        sl->state = SLOT_READY;
        pthread_cond_broadcast(&l->filled);
        pthread_mutex_unlock(&l->mu);
    }
}

int mt_loader_batches_per_epoch(const mt_loader *l) { return l->per_epoch; }

void mt_loader_destroy(mt_loader *l)
{
    if (!l)
        return;
    mt_loader_stop(l);
    for (int t = 0; t < l->cfg.threads; t++) {
        if (l->producers[t].started)
            pthread_join(l->producers[t].thread, NULL);
        free(l->producers[t].order);
    }
    for (int r = 0; r < l->cfg.ring; r++) {
        free(l->slots[r].x);
        free(l->slots[r].y);
    }
    pthread_cond_destroy(&l->filled);
    pthread_cond_destroy(&l->freed);
    pthread_mutex_destroy(&l->mu);
    free(l->producers);
    free(l->slots);
    free(l);
}

int mt_loader_create(mt_loader **out, const mt_split *s, const mt_pipeline_config *cfg,
                     int start_epoch, int start_index)
{
    *out = NULL;
    int rc = mt_pipeline_check(s, cfg);
    if (rc)
        return rc;
    int per_epoch = mt_batches_per_epoch(s->n, cfg->batch, cfg->drop_last);
    if (start_epoch < 0 || start_index < 0 || start_index >= per_epoch)
        return mt_error(MT_ERR_ARG, "loader: start at epoch %d batch %d (an epoch has %d batches)",
                        start_epoch, start_index, per_epoch);
    mt_loader *l = calloc(1, sizeof *l);
    if (!l)
        return mt_error(MT_ERR_NOMEM, "loader: out of memory");
    l->s = s;
    l->cfg = *cfg;
    l->per_epoch = per_epoch;
    l->end = cfg->epochs > 0 ? (int64_t)cfg->epochs * per_epoch : INT64_MAX;
    l->next_fill = l->next_take = (int64_t)start_epoch * per_epoch + start_index;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->filled, NULL);
    pthread_cond_init(&l->freed, NULL);
    l->slots = calloc((size_t)cfg->ring, sizeof *l->slots);
    l->producers = calloc((size_t)cfg->threads, sizeof *l->producers);
    if (!l->slots || !l->producers) {
        free(l->slots);
        free(l->producers);
        l->slots = NULL;
        l->producers = NULL;
        l->cfg.ring = l->cfg.threads = 0;
        mt_loader_destroy(l);
        return mt_error(MT_ERR_NOMEM, "loader: out of memory");
    }
    size_t floats = (size_t)cfg->batch * mt_split_image_bytes(s);
    for (int r = 0; r < cfg->ring && !rc; r++) {
        l->slots[r].x = malloc(floats * sizeof(float));
        l->slots[r].y = malloc((size_t)cfg->batch * sizeof(int));
        l->slots[r].state = SLOT_FREE;
        if (!l->slots[r].x || !l->slots[r].y)
            rc = mt_error(MT_ERR_NOMEM, "loader: out of memory for %d batches of %zu floats",
                          cfg->ring, floats);
    }
    for (int t = 0; t < cfg->threads && !rc; t++) {
        struct producer *p = &l->producers[t];
        p->l = l;
        p->order_epoch = -1;
        if (!(p->order = malloc((size_t)s->n * sizeof *p->order)))
            rc = mt_error(MT_ERR_NOMEM, "loader: out of memory for the epoch order");
    }
    for (int t = 0; t < cfg->threads && !rc; t++) {
        if (pthread_create(&l->producers[t].thread, NULL, produce, &l->producers[t]) != 0)
            rc = mt_error(MT_ERR_LIB, "loader: cannot start loader thread %d", t);
        else
            l->producers[t].started = 1;
    }
    if (rc) {
        mt_loader_destroy(l);
        return rc;
    }
    *out = l;
    return MT_OK;
}

int mt_loader_next(mt_loader *l, mt_batch *b)
{
    pthread_mutex_lock(&l->mu);
    if (l->stop || l->next_take >= l->end) {
        int status = l->status;
        if (status)
            mt_error(status, "%s", l->message);
        pthread_mutex_unlock(&l->mu);
        return status;
    }
    int64_t seq = l->next_take++;
    struct slot *sl = &l->slots[seq % l->cfg.ring];
    while (!l->stop && !(sl->state == SLOT_READY && sl->seq == seq))
        pthread_cond_wait(&l->filled, &l->mu);
    if (l->stop) {
        int status = l->status;
        if (status)
            mt_error(status, "%s", l->message);
        pthread_mutex_unlock(&l->mu);
        return status;
    }
    sl->state = SLOT_TAKEN;
    pthread_mutex_unlock(&l->mu);
    b->x = sl->x;
    b->y = sl->y;
    b->n = sl->n;
    b->seq = seq;
    b->epoch = (int)(seq / l->per_epoch);
    b->index = (int)(seq % l->per_epoch);
    b->last = b->index == l->per_epoch - 1;
    return 1;
}

void mt_loader_release(mt_loader *l, const mt_batch *b)
{
    pthread_mutex_lock(&l->mu);
    struct slot *sl = &l->slots[b->seq % l->cfg.ring];
    if (sl->seq == b->seq && sl->state == SLOT_TAKEN) {
        sl->state = SLOT_FREE;
        pthread_cond_broadcast(&l->freed);
    }
    pthread_mutex_unlock(&l->mu);
}

void mt_loader_stop(mt_loader *l)
{
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->filled);
    pthread_cond_broadcast(&l->freed);
    pthread_mutex_unlock(&l->mu);
}

/* mem_guard.c: the memory a multi-worker run needs against what there is
 * (see mem_guard.h). */
#include "trainer/mem_guard.h"

#include "core/meminfo.h"
#include "core/status.h"
#include "ps/ps.h"

#include <stdio.h>
#include <string.h>

/* A network's first step at another thread count than the one it was built
 * with re-creates oneDNN's primitives and their scratchpad, which the
 * measure at build time does not see: built at 2 threads, stepped at 1,
 * +5.9% for sphere-resnet-32 width 96 at batch 128, +1.8% at width 16, +1.2%
 * for resnet20 (docs/train.md, Memory). A sixteenth (6.25%) covers the
 * largest. */
static uint64_t first_step(uint64_t net_bytes) { return net_bytes / 16; }

/* Floats the server keeps in every mode: theta, velocity, state. */
static uint64_t server_bytes(const mt_mem_need *m)
{
    return (2 * (uint64_t)m->params + m->state) * sizeof(float);
}

/* The parameter server's buffers for one worker (ps/ps.c): async keeps the
 * BN state as pulled for the merge; pulls and pushes otherwise use the
 * worker's own network buffers. */
static uint64_t ps_worker_bytes(const mt_mem_need *m)
{
    return m->mode == MT_PS_ASYNC ? (uint64_t)m->state * sizeof(float) : 0;
}

uint64_t mt_mem_need_per_worker(const mt_mem_need *m)
{
    if (m->mode == MT_PS_DELAY)
        return 0;
    return m->net_bytes + first_step(m->net_bytes) + ps_worker_bytes(m) + m->worker_bytes;
}

static uint64_t ring_bytes(const mt_mem_need *m)
{
    if (m->mode != MT_PS_DELAY || m->ring_versions <= 1)
        return 0;
    return (uint64_t)m->ring_versions * m->params * sizeof(float);
}

uint64_t mt_mem_need_extra(const mt_mem_need *m, int workers)
{
    /* Worker 0 steps the trainer's own network, which `held` already counts
     * but for its first step. */
    uint64_t extra = server_bytes(m) + first_step(m->net_bytes);
    if (m->mode == MT_PS_DELAY)
        return extra + ps_worker_bytes(m) + m->worker_bytes + ring_bytes(m);
    if (workers < 1)
        workers = 1;
    extra += (uint64_t)(workers - 1) * (m->net_bytes + first_step(m->net_bytes));
    extra += (uint64_t)workers * (ps_worker_bytes(m) + m->worker_bytes);
    if (m->mode == MT_PS_SYNC && workers > 1)
        extra += ((uint64_t)m->params + m->state) * sizeof(float); /* the averages */
    return extra;
}

static int fits(const mt_mem_need *m, int workers)
{
    uint64_t extra = mt_mem_need_extra(m, workers);
    return m->held <= m->budget && extra <= m->budget - m->held;
}

int mt_mem_need_max_workers(const mt_mem_need *m)
{
    int w = m->workers;
    if (m->mode == MT_PS_DELAY)
        return fits(m, w) ? w : 0;
    while (w >= 1 && !fits(m, w))
        w--;
    return w;
}

int mt_mem_need_check(const mt_mem_need *m)
{
    if (fits(m, m->workers))
        return MT_OK;
    uint64_t need = m->held + mt_mem_need_extra(m, m->workers);
    char s_need[32], s_have[32], s_each[32], s_rest[32];
    mt_mem_format(s_need, sizeof s_need, need);
    mt_mem_format(s_have, sizeof s_have, m->budget);
    if (m->mode == MT_PS_DELAY) {
        char flag[64];
        if (m->delay_given)
            snprintf(flag, sizeof flag, "--delay %lld", (long long)m->delay);
        else
            snprintf(flag, sizeof flag, "--workers %d", m->workers);
        mt_mem_format(s_each, sizeof s_each, (uint64_t)m->params * sizeof(float));
        mt_mem_format(s_rest, sizeof s_rest, ring_bytes(m));
        return mt_error(MT_ERR_ARG,
                        "%s: delay mode keeps the last %lld versions of %s's parameters "
                        "(%s each, %s in all); the run needs about %s, %s is available; use "
                        "%s; --ignore-memory tries anyway",
                        flag, (long long)m->ring_versions, m->model, s_each, s_rest, s_need,
                        s_have,
                        m->delay_given ? "a smaller --delay" : "fewer --workers or a --delay");
    }
    uint64_t each = mt_mem_need_per_worker(m);
    uint64_t copies = (uint64_t)m->workers * each;
    mt_mem_format(s_each, sizeof s_each, each);
    mt_mem_format(s_rest, sizeof s_rest, need > copies ? need - copies : 0);
    /* What would fit: fewer workers (when 2 still do), a smaller batch, and
     * for async the delay mode's single network with the same staleness. */
    int k = mt_mem_need_max_workers(m);
    char fewer[64] = "";
    if (k >= 2)
        snprintf(fewer, sizeof fewer, "fewer --workers (at most %d fit)", k);
    char advice[192];
    if (m->mode == MT_PS_ASYNC)
        snprintf(advice, sizeof advice, "%s%sa smaller --batch, or --mode delay (one network, "
                 "tau = %d)", fewer, k >= 2 ? ", " : "", m->workers - 1);
    else
        snprintf(advice, sizeof advice, "%s%sa smaller --batch", fewer, k >= 2 ? " or " : "");
    return mt_error(MT_ERR_ARG,
                    "--workers %d: %d copies of %s at batch %d need about %s (%s a copy, %s "
                    "for the data, the evaluation network and the server), %s is available; "
                    "use %s; --ignore-memory tries anyway",
                    m->workers, m->workers, m->model, m->batch, s_need, s_each, s_rest, s_have,
                    advice);
}

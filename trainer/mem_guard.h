/* mem_guard.h: whether a multi-worker run fits in memory, decided before it
 * builds its network copies, and the one line that says what to change when
 * it does not.
 *
 * What a run of W workers adds to what the process already holds (the data,
 * the first network, the evaluation network):
 *   async  W - 1 more networks; per worker the BN state as pulled (ps/ps.c;
 *          theta and the gradient move straight between the server and the
 *          network's own buffers), its batch buffers and epoch order
 *          (trainer/net_worker.c)
 *   sync   W - 1 more networks; per worker its batch buffers; the averaged
 *          gradient and state
 *   delay  no further network: one worker's batch buffers, and the ring of
 *          the last tau_max + 1 parameter versions
 *          (ps/delay.h: fixed N keeps N + 1, uniform 2N + 1, geometric up to
 *          its cap)
 * and, in every mode, the server's theta, velocity and state. A network's
 * bytes (parameters, gradients, state, activations, workspaces, oneDNN's
 * scratchpad) are measured while the trainer builds its first one
 * (core/meminfo.h: the growth of the resident size or of the heap, whichever
 * is larger); everything else is counted from the parameter counts.
 *
 * The budget is what the process holds plus what the machine can still give
 * (core/meminfo.h), or the user's allowance MUTAU_MEM_AVAILABLE. Pure
 * arithmetic on the numbers given: the caller measures.
 *
 * Not here: measuring (core/meminfo.h), the decision to override
 * (--ignore-memory, trainer/train_ps.c).
 */
#ifndef MT_TRAINER_MEM_GUARD_H
#define MT_TRAINER_MEM_GUARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *model;     /* the --model name, for the message */
    int batch;
    int mode;              /* enum mt_ps_mode */
    int workers;           /* W */
    int delay_kind;        /* delay mode: enum mt_delay_kind */
    int64_t delay;         /* delay mode: N, resolved */
    int delay_given;       /* delay mode: 1 when --delay was given (else N = W - 1) */
    int64_t ring_versions; /* delay mode: versions the ring keeps (tau_max + 1; <= 1: none) */
    size_t params, state;  /* floats of the parameter and the state buffer */
    uint64_t net_bytes;    /* one training network */
    uint64_t worker_bytes; /* one worker's batch buffers and epoch order */
    uint64_t held;         /* the process's resident size now */
    uint64_t budget;       /* what the whole process may hold: held + what the machine
                            * can still give, or MUTAU_MEM_AVAILABLE */
} mt_mem_need;

/* Bytes the run adds to `held` with W workers. */
uint64_t mt_mem_need_extra(const mt_mem_need *m, int workers);

/* Bytes each further worker adds (async, sync: its network and buffers;
 * delay: 0). */
uint64_t mt_mem_need_per_worker(const mt_mem_need *m);

/* The most workers (<= m->workers) whose run fits in the budget; 0 when not
 * even one does. */
int mt_mem_need_max_workers(const mt_mem_need *m);

/* MT_OK when held + extra fits in the budget; otherwise MT_ERR_ARG with one
 * line naming the flags to change (and --ignore-memory). */
int mt_mem_need_check(const mt_mem_need *m);

#endif

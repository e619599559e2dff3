/* fault.h: a test-only fault hook: a worker's gradient fails on request, as
 * an allocation or a oneDNN error would, so the tests can check that a run
 * stops cleanly at a consistent state, checkpointed and resumable.
 *
 * Compiled in only where MUTAU_FAULT_HOOKS is defined, which the Makefile
 * does for the few objects of build/mutau-faults, a copy of the tool the
 * tests run; the library and build/mutau never have it, and there
 * mt_fault_step is a constant MT_OK the compiler removes.
 *
 * With the hook compiled in, MUTAU_FAULT_STEP=K:N makes worker K's first
 * gradient of a batch numbered N or later (the run's batch numbers, 0, 1,
 * ...; the single-process loop is worker 0) fail with MT_ERR_NOMEM before it
 * computes anything, once per process: a resumed run without the variable,
 * or past that batch, goes on.
 */
#ifndef MT_TRAINER_FAULT_H
#define MT_TRAINER_FAULT_H

#include "core/status.h"

#include <stdint.h>

#ifdef MUTAU_FAULT_HOOKS
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static inline int mt_fault_step(int worker, int64_t batch)
{
    static atomic_int fired;
    const char *spec = getenv("MUTAU_FAULT_STEP");
    int k;
    long long n;
    if (!spec || sscanf(spec, "%d:%lld", &k, &n) != 2 || k != worker || batch < n ||
        atomic_exchange(&fired, 1))
        return MT_OK;
    return mt_error(MT_ERR_NOMEM, "out of memory (injected by MUTAU_FAULT_STEP=%s)", spec);
}
#else
static inline int mt_fault_step(int worker, int64_t batch)
{
    (void)worker;
    (void)batch;
    return MT_OK;
}
#endif

#endif

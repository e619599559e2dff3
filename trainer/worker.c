/* worker.c: the worker loop (see worker.h). */
#include "trainer/worker.h"

#include "core/status.h"
#include "trainer/fault.h"

int mt_worker_loop(const mt_worker *w, mt_transport *t, int id)
{
    mt_ticket tk;
    int rc;
    while ((rc = t->pull(t, id, w->params, w->state, &tk)) == 1) {
        rc = mt_fault_step(id, tk.batch); /* test builds only (trainer/fault.h) */
        if (rc == MT_OK)
            rc = w->step(w->ctx, &tk);
        if (rc < 0) {
            /* Nothing of this step reached the server: a failure other than
             * divergence leaves a whole state to checkpoint and resume. */
            rc = mt_error_context(rc == MT_ERR_DIVERGED ? rc : MT_ERR_STEP,
                                  "worker %d, batch %lld", id, (long long)tk.batch);
            t->fail(t, id, rc);
            return rc;
        }
        rc = t->push(t, id, w->grad, w->state, &tk);
        if (rc < 0)
            return rc;
    }
    return rc;
}

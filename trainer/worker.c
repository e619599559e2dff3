/* worker.c: the worker loop (see worker.h). */
#include "trainer/worker.h"

#include "core/status.h"

int mt_worker_loop(const mt_worker *w, mt_transport *t, int id)
{
    mt_ticket tk;
    int rc;
    while ((rc = t->pull(t, id, w->params, w->state, &tk)) == 1) {
        rc = w->step(w->ctx, &tk);
        if (rc < 0) {
            t->fail(t, id, rc);
            return rc;
        }
        rc = t->push(t, id, w->grad, w->state, &tk);
        if (rc < 0)
            return rc;
    }
    return rc;
}

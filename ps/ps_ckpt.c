/* ps_ckpt.c: saving and restoring a multi-worker run (see ps_ckpt.h). */
#include "ps/ps_ckpt.h"

#include "core/status.h"
#include "ps/ps_impl.h"

#include <string.h>

enum { META_N = 8, LAYOUT = 1 };

static const char *const meta_names[META_N] = {
    "layout", "parameter count", "state count", "mode", "workers", "delay distribution",
    "delay", "tau max"};

static void fill_meta(mt_ps *ps, int64_t *m)
{
    m[0] = LAYOUT;
    m[1] = (int64_t)ps->n;
    m[2] = (int64_t)ps->n_state;
    m[3] = ps->cfg.mode;
    m[4] = ps->cfg.mode == MT_PS_DELAY ? 1 : ps->cfg.workers;
    m[5] = ps->has_delay ? ps->delay.dist.kind : -1;
    m[6] = ps->has_delay ? ps->delay.dist.n : -1;
    m[7] = ps->has_delay ? ps->delay.dist.cap : -1;
}

struct section {
    const char *name;
    void *data;
    size_t size;
};

/* Every section after ps.meta, pointing into ps: what add writes from and
 * load reads into. */
static int sections(mt_ps *ps, struct section *t)
{
    mt_ps_server *s = ps->server;
    int k = 0;
    t[k++] = (struct section){"ps.version", &ps->ckpt_version, sizeof ps->ckpt_version};
    t[k++] = (struct section){"ps.theta", mt_ps_server_theta(s), ps->n * sizeof(float)};
    t[k++] = (struct section){"ps.velocity", mt_ps_server_velocity(s), ps->n * sizeof(float)};
    if (ps->n_state)
        t[k++] = (struct section){"ps.bn_state", mt_ps_server_state(s),
                                  ps->n_state * sizeof(float)};
    if (ps->has_delay) {
        t[k++] = (struct section){"ps.delay_rng", ps->delay.rng.s, sizeof ps->delay.rng.s};
        size_t ring = mt_delay_ring_floats(&ps->delay);
        if (ring)
            t[k++] = (struct section){"ps.delay_ring", ps->delay.ring, ring * sizeof(float)};
    }
    t[k++] = (struct section){"ps.tau_epoch", &ps->tau_epoch, sizeof ps->tau_epoch};
    t[k++] = (struct section){"ps.tau_total", &ps->tau_total, sizeof ps->tau_total};
    return k;
}

int mt_ps_ckpt_add(mt_ps *ps, mt_ckpt *c)
{
    fill_meta(ps, ps->ckpt_meta);
    ps->ckpt_version = mt_ps_server_version(ps->server);
    int rc = mt_ckpt_add(c, "ps.meta", ps->ckpt_meta, sizeof ps->ckpt_meta);
    struct section t[8];
    int n = sections(ps, t);
    for (int i = 0; i < n && rc == MT_OK; i++)
        rc = mt_ckpt_add(c, t[i].name, t[i].data, t[i].size);
    if (rc == MT_OK)
        rc = mt_method_ckpt_add(mt_ps_server_method(ps->server), c);
    if (rc == MT_OK && ps->cfg.max_staleness >= 0)
        rc = mt_ckpt_add(c, "ps.dropped", &ps->dropped, sizeof ps->dropped);
    return rc;
}

int mt_ps_ckpt_load(mt_ps *ps, const mt_ckpt *c)
{
    int64_t want[META_N], got[META_N];
    fill_meta(ps, want);
    int rc = mt_ckpt_get(c, "ps.meta", got, sizeof got);
    if (rc < 0)
        return rc;
    for (int i = 0; i < META_N; i++)
        if (got[i] != want[i])
            return mt_error(MT_ERR_FORMAT, "%s: the checkpoint's %s is %lld, this run's %lld",
                            c->path, meta_names[i], (long long)got[i], (long long)want[i]);
    struct section t[8];
    int n = sections(ps, t);
    for (int i = 0; i < n && rc == MT_OK; i++)
        rc = mt_ckpt_get(c, t[i].name, t[i].data, t[i].size);
    if (rc == MT_OK)
        rc = mt_method_ckpt_load(mt_ps_server_method(ps->server), c);
    /* Written since bounded runs count across a resume; older ones start at 0. */
    if (rc == MT_OK && ps->cfg.max_staleness >= 0 && mt_ckpt_find(c, "ps.dropped"))
        rc = mt_ckpt_get(c, "ps.dropped", &ps->dropped, sizeof ps->dropped);
    if (rc == MT_OK && ps->dropped < 0)
        return mt_error(MT_ERR_FORMAT, "%s: ps.dropped is %lld < 0", c->path,
                        (long long)ps->dropped);
    if (rc == MT_OK)
        rc = mt_ps_server_set_version(ps->server, ps->ckpt_version);
    if (rc == MT_OK) {
        /* A checkpoint is taken on a quiescent run: tau_total has every push. */
        atomic_store(&ps->tau_sum, ps->tau_total.sum);
        atomic_store(&ps->tau_pushes, ps->tau_total.count);
    }
    return rc;
}

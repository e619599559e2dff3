/* net_memory.c: what a net's memory holds, per layer and in total.
 *
 * Counts what the net allocates itself: activation and gradient buffers
 * (own or shared, nn/buffers.c), layers' private buffers, the parameter,
 * gradient and state buffers it owns and oneDNN's scratchpad. Not counted:
 * the small per-channel arrays of layer kinds and oneDNN's primitives (a few
 * MB for the largest model; the process's resident size shows them).
 *
 * Not here: placing the buffers (nn/buffers.c).
 */
#include "nn/net.h"

#include "core/status.h"
#include "nn/net_internal.h"

static int shared_ptr(const mt_net *net, const void *p)
{
    for (int s = 0; s < net->n_allocs; s++)
        if (net->allocs[s].p == p)
            return net->allocs[s].shared;
    return 0;
}

int mt_net_memory(const mt_net *net, mt_net_mem *m)
{
    if (!net || !m)
        return mt_error(MT_ERR_ARG, "mt_net_memory: %s is NULL", net ? "m" : "net");
    if (!net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_memory: finalize the net first");
    *m = (mt_net_mem){0};
    m->shared = mt_buffers_bytes(net, 1);
    m->own = mt_buffers_bytes(net, 0);
    for (int i = 0; i < net->n_layers; i++) {
        const mt_layer *l = net->layers[i];
        for (int b = 0; b < MT_LAYER_MAX_BUF; b++)
            if (l->buf[b] && !shared_ptr(net, l->buf[b]))
                m->layer_private += l->buf_size[b];
    }
    m->own -= m->layer_private;
    size_t p = net->n_param * sizeof(float), s = net->n_state * sizeof(float);
    m->params = (net->own_params ? p : 0) + (net->own_grads ? p : 0) + (net->own_state ? s : 0);
    m->scratch = net->scratch_size + (size_t)net->batch * sizeof(int);
    if (net->lender && !net->arena_bytes)
        m->borrowed = mt_buffers_bytes(net->lender, 1);
    m->recomputed = net->n_regen;
    m->recompute_saves = net->regen_saves;
    m->total = m->shared + m->own + m->layer_private + m->params + m->scratch;
    return MT_OK;
}

void mt_net_memory_print(const mt_net *net, FILE *out)
{
    mt_net_mem m;
    if (!out || mt_net_memory(net, &m) < 0)
        return;
    const double MB = 1e6;
    fprintf(out, "%-14s %-14s %10s %-10s %10s\n", "layer", "output", "out MB", "out memory",
            "own MB");
    for (int i = 0; i < net->n_layers; i++) {
        const mt_layer *l = net->layers[i];
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", l->out->c, l->out->h, l->out->w);
        size_t own = 0;
        for (int b = 0; b < MT_LAYER_MAX_BUF; b++)
            if (l->buf[b] && !shared_ptr(net, l->buf[b]))
                own += l->buf_size[b];
        fprintf(out, "%-14s %-14s %10.2f %-10s %10.2f\n", l->name, shape,
                dnnl_memory_desc_get_size(&l->out->md) / MB,
                shared_ptr(net, l->out->data) ? "shared" : "own", own / MB);
    }
    fprintf(out,
            "total %.1f MB: activations and gradients %.1f MB own + %.1f MB shared, layer "
            "buffers %.1f MB, parameters/gradients/state %.1f MB, scratch %.1f MB%s\n",
            m.total / MB, m.own / MB, m.shared / MB, m.layer_private / MB, m.params / MB,
            m.scratch / MB,
            m.borrowed ? " (shared activations in another net's memory)" : "");
    if (!net->inference)
        fprintf(out,
                "%s: recomputing saves %.1f MB of shared memory (it recomputes when that is "
                "more than its allowance)\n",
                m.recomputed ? "recomputes activations for backward" : "keeps its activations",
                m.recompute_saves / MB);
}

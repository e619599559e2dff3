/* net_threads.c: keeping a net's primitives matched to the thread count it
 * runs with.
 *
 * oneDNN fixes a primitive's work split for the thread count in force when
 * the primitive is created; run with fewer threads it still asks for as many
 * (measured here: a ResNet-20 built at 2 threads and stepped at 1 ran 10x
 * slower). A net records the calling thread's count at finalize; a forward
 * called with another count first re-creates every primitive for it (once;
 * this allocates), so a net built in the main thread steps at full speed in
 * a worker that called mt_set_threads(). Backward runs with the count its
 * forward used.
 *
 * Not here: building (nn/net.c).
 */
#include "core/status.h"
#include "nn/net_internal.h"

#include <omp.h>
#include <string.h>

int mt_net_scratch_alloc(mt_net *net)
{
    if (net->m_scratch)
        dnnl_memory_destroy(net->m_scratch);
    net->m_scratch = NULL;
    mt_free(net->scratch);
    net->scratch = mt_alloc(net->scratch_size);
    if (!net->scratch)
        return mt_error(MT_ERR_NOMEM, "out of memory for a %zu-byte scratchpad",
                        net->scratch_size);
    dnnl_memory_desc_t smd;
    dnnl_dims_t d = {(dnnl_dim_t)net->scratch_size};
    MT_DNNL(dnnl_memory_desc_init_by_tag(&smd, 1, d, dnnl_u8, dnnl_a));
    MT_DNNL(dnnl_memory_create(&net->m_scratch, &smd, net->eng, net->scratch));
    return MT_OK;
}

int mt_net_bind_all(mt_net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        if (l->kind->bind) {
            int rc = l->kind->bind(l);
            if (rc < 0)
                return mt_error_context(rc, "%s", l->name);
        }
    }
    return MT_OK;
}

static void destroy_all(mt_net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        if (l->kind->destroy && l->priv)
            l->kind->destroy(l);
        l->priv = NULL;
    }
}

int mt_net_recompile(mt_net *net)
{
    destroy_all(net);
    size_t old_scratch = net->scratch_size;
    net->scratch_size = 0;
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        dnnl_memory_desc_t md = l->out->md;
        size_t old[MT_LAYER_MAX_BUF];
        memcpy(old, l->buf_size, sizeof old);
        mt_layer_backward_reads(l, 1, 1, 1);
        int regen_ok = l->regen_ok;
        int rc = l->kind->compile(l);
        l->regen_ok = regen_ok; /* the buffers were placed for it */
        if (rc < 0)
            return mt_error_context(rc, "%s (re-created for %d threads)", l->name,
                                    omp_get_max_threads());
        if (l->out->md.ndims == 0)
            l->out->md = md;
        if (!dnnl_memory_desc_equal(&md, &l->out->md))
            return mt_error(MT_ERR_LIB, "%s: oneDNN chose another layout for %d threads",
                            l->name, omp_get_max_threads());
        for (int b = 0; b < MT_LAYER_MAX_BUF; b++) {
            if (l->buf_size[b] <= old[b]) {
                l->buf_size[b] = old[b]; /* the buffer keeps its size */
                continue;
            }
            if (!net->inference || l->buf_scope[b] == MT_BUF_ALWAYS ||
                l->buf_scope[b] == MT_BUF_FORWARD) {
                rc = mt_buffers_regrow(net, &l->buf[b], l->buf_size[b]);
                if (rc < 0)
                    return mt_error_context(rc, "%s", l->name);
            }
        }
    }
    if (net->scratch_size > old_scratch) {
        int rc = mt_net_scratch_alloc(net);
        if (rc < 0)
            return rc;
    } else {
        net->scratch_size = old_scratch;
    }
    int rc = mt_net_bind_all(net);
    if (rc >= 0)
        net->threads = omp_get_max_threads();
    return rc;
}

int mt_net_match_threads(mt_net *net)
{
    if (omp_get_max_threads() == net->threads)
        return MT_OK;
    net->trained = 0; /* backward's caches belong to the old primitives */
    int rc = mt_net_recompile(net);
    if (rc < 0)
        net->finalized = 0; /* half re-created: refuse further use */
    return rc;
}

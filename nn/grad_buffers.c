/* grad_buffers.c: gradient buffers of a net's activations, shared where
 * their lifetimes in backward do not overlap.
 *
 * Backward runs layers from last to first. The gradient of tensor t is alive
 * from its last consumer's backward (which writes it) to its producer's
 * backward (which reads it), so tensors whose intervals [producer, last
 * consumer] are disjoint can use one buffer. A ResNet then needs a handful of
 * gradient buffers instead of one per activation, about half of a net's
 * memory. The net's input keeps its own buffer, so its gradient is still there
 * after backward (mt_net_read_diff); mt_net_keep_grads() turns sharing off.
 *
 * Not here: activations (every one is kept for backward) or the scratch
 * buffer for summed gradients (nn/net.c).
 */
#include "core/status.h"
#include "nn/net_internal.h"

#include <stdlib.h>

int mt_net_keep_grads(mt_net *net, int on)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_keep_grads: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_keep_grads: the net is already finalized");
    net->keep_grads = on != 0;
    return MT_OK;
}

typedef struct {
    size_t bytes;
    int free_below; /* usable by a tensor whose last consumer is below this layer */
} slot;

int mt_grad_buffers_alloc(mt_net *net)
{
    int nt = net->n_tensors;
    int *last = malloc((size_t)nt * sizeof *last), *order = malloc((size_t)nt * sizeof *order),
        *slot_of = malloc((size_t)nt * sizeof *slot_of);
    slot *slots = calloc((size_t)nt, sizeof *slots);
    int rc = MT_OK, ns = 0, no = 0;
    if (!last || !order || !slot_of || !slots) {
        rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        goto done;
    }
    for (int t = 0; t < nt; t++) {
        last[t] = net->tensors[t]->producer;
        slot_of[t] = -1;
    }
    for (int i = 0; i < net->n_layers; i++)
        for (int j = 0; j < net->layers[i]->n_in; j++)
            for (int t = 0; t < nt; t++)
                if (net->tensors[t] == net->layers[i]->in[j] && i > last[t])
                    last[t] = i;
    /* In the order backward first writes them: latest last consumer first. */
    for (int t = 0; t < nt; t++)
        if (net->tensors[t]->needs_diff)
            order[no++] = t;
    for (int i = 1; i < no; i++)
        for (int j = i; j > 0 && last[order[j - 1]] < last[order[j]]; j--) {
            int k = order[j];
            order[j] = order[j - 1];
            order[j - 1] = k;
        }
    for (int i = 0; i < no; i++) {
        int t = order[i];
        const mt_tensor *x = net->tensors[t];
        size_t bytes = dnnl_memory_desc_get_size(&x->md);
        int pick = -1;
        if (!net->keep_grads && x->producer >= 0)
            for (int s = 0; s < ns; s++)
                if (slots[s].free_below > last[t] &&
                    (pick < 0 || (slots[s].bytes >= bytes && slots[pick].bytes < bytes)))
                    pick = s;
        if (pick < 0) {
            pick = ns++;
            slots[pick].bytes = 0;
        }
        if (slots[pick].bytes < bytes)
            slots[pick].bytes = bytes;
        /* the net's input (producer -1) never frees its slot */
        slots[pick].free_below = x->producer < 0 || net->keep_grads ? -2 : x->producer;
        slot_of[t] = pick;
    }
    net->grad_bufs = calloc((size_t)(ns ? ns : 1), sizeof *net->grad_bufs);
    if (!net->grad_bufs) {
        rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        goto done;
    }
    net->n_grad_bufs = ns;
    for (int s = 0; s < ns && rc >= 0; s++) {
        net->grad_bufs[s] = mt_alloc(slots[s].bytes);
        if (!net->grad_bufs[s])
            rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory for gradients");
    }
    for (int t = 0; t < nt && rc >= 0; t++)
        if (slot_of[t] >= 0)
            net->tensors[t]->diff = net->grad_bufs[slot_of[t]];
done:
    free(last);
    free(order);
    free(slot_of);
    free(slots);
    return rc;
}

void mt_grad_buffers_free(mt_net *net)
{
    for (int s = 0; s < net->n_grad_bufs; s++)
        mt_free(net->grad_bufs[s]);
    free(net->grad_bufs);
    net->grad_bufs = NULL;
    net->n_grad_bufs = 0;
}

/* buffers.c: every activation, activation gradient and scoped layer buffer of
 * a net, placed in a few shared allocations where their lifetimes in the step
 * do not overlap.
 *
 * The step is a timeline: layer i's forward at time i, its backward at time
 * 2L - 1 - i (L layers). Each buffer is needed over an interval of it:
 *   activation t  from its producer's forward to the last time anything reads
 *                 it: its consumers' forwards and, in a training net, the
 *                 backward of every layer that declared it reads t
 *                 (mt_layer_backward_reads: a convolution reads its input, a
 *                 batch norm its input, a ReLU its output, a residual add
 *                 neither input);
 *   gradient of t from its last consumer's backward (which writes it) to its
 *                 producer's backward (which reads it);
 *   MT_BUF_BACKWARD  the owning layer's backward only.
 * Buffers whose intervals are disjoint share memory: in a training ResNet the
 * block tail's batch-norm output (read by the add's forward only) and every
 * gradient land in memory that something else used earlier; in an inference
 * net (mt_net_inference) every activation dies at its last consumer, so a
 * deep net needs a few activations' worth however deep it is.
 *
 * Kept whole (own memory, never shared): the net's input and its gradient
 * (read by callers after the step), tensors no layer consumes (the net's
 * outputs, the loss layer's probabilities), everything with
 * mt_net_keep_grads / mt_net_keep_activations, and MT_BUF_ALWAYS / _TRAINING
 * layer buffers.
 *
 * Not here: the oneDNN scratchpad (one per net, nn/dnnl_util.c) and the
 * scratch gradient for summed branches (nn/net.c).
 */
#include "core/status.h"
#include "nn/net_internal.h"

#include <stdlib.h>
#include <string.h>

int mt_net_keep_grads(mt_net *net, int on)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_keep_grads: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_keep_grads: the net is already finalized");
    net->keep_grads = on != 0;
    return MT_OK;
}

int mt_net_keep_activations(mt_net *net, int on)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_keep_activations: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_keep_activations: the net is already finalized");
    net->keep_acts = on != 0;
    return MT_OK;
}

int mt_net_inference(mt_net *net, int on)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_inference: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_inference: the net is already finalized");
    net->inference = on != 0;
    return MT_OK;
}

int mt_layer_training(const mt_layer *l)
{
    return !l->net->inference;
}

void mt_layer_backward_reads(mt_layer *l, int in0, int in1, int out)
{
    l->bwd_in[0] = in0 != 0;
    l->bwd_in[1] = in1 != 0;
    l->bwd_out = out != 0;
}

typedef struct {
    size_t bytes;
    int start, end; /* inclusive times; unused when pinned */
    int pinned;
    void **where; /* the pointer to set */
    int slot;     /* index into the net's allocations */
} item;

static int by_start(const void *a, const void *b)
{
    const item *x = *(const item *const *)a, *y = *(const item *const *)b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static int add_alloc(mt_net *net, size_t bytes, int shared)
{
    if (net->n_allocs == net->cap_allocs) {
        int nc = net->cap_allocs ? 2 * net->cap_allocs : 32;
        mt_net_alloc *a = realloc(net->allocs, (size_t)nc * sizeof *a);
        if (!a)
            return mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        net->allocs = a;
        net->cap_allocs = nc;
    }
    net->allocs[net->n_allocs] = (mt_net_alloc){NULL, bytes, shared, -1};
    return net->n_allocs++;
}

int mt_buffers_alloc(mt_net *net)
{
    int L = net->n_layers, nt = net->n_tensors, train = !net->inference;
    int cap = 2 * nt + L * MT_LAYER_MAX_BUF, n = 0, rc = MT_OK;
    item *items = calloc((size_t)cap, sizeof *items);
    item **order = calloc((size_t)cap, sizeof *order);
    int *last = malloc((size_t)nt * sizeof *last);
    int *last_consumer = malloc((size_t)nt * sizeof *last_consumer);
    if (!items || !order || !last || !last_consumer) {
        rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        goto done;
    }
    for (int t = 0; t < nt; t++) {
        net->tensors[t]->index = t;
        last[t] = last_consumer[t] = net->tensors[t]->producer;
    }
    for (int i = 0; i < L; i++) {
        const mt_layer *l = net->layers[i];
        int back = train && l->out->needs_diff;
        for (int j = 0; j < l->n_in; j++) {
            int t = l->in[j]->index;
            if (i > last_consumer[t])
                last_consumer[t] = i;
            int r = back && l->bwd_in[j] ? 2 * L - 1 - i : i;
            if (r > last[t])
                last[t] = r;
        }
        if (back && l->bwd_out && 2 * L - 1 - i > last[l->out->index])
            last[l->out->index] = 2 * L - 1 - i;
    }
    for (int t = 0; t < nt; t++) {
        mt_tensor *x = net->tensors[t];
        size_t bytes = dnnl_memory_desc_get_size(&x->md);
        item *d = &items[n++];
        d->bytes = bytes;
        d->where = (void **)&x->data;
        d->start = x->producer;
        d->end = last[t];
        d->pinned = net->keep_acts || x->producer < 0 || last_consumer[t] == x->producer;
        if (x->needs_diff) {
            item *g = &items[n++];
            g->bytes = bytes;
            g->where = (void **)&x->diff;
            g->start = 2 * L - 1 - last_consumer[t];
            g->end = 2 * L - 1 - x->producer;
            g->pinned = net->keep_grads || x->producer < 0;
        }
    }
    for (int i = 0; i < L; i++) {
        mt_layer *l = net->layers[i];
        for (int b = 0; b < MT_LAYER_MAX_BUF; b++) {
            if (!l->buf_size[b] || (!train && l->buf_scope[b] != MT_BUF_ALWAYS))
                continue;
            item *it = &items[n++];
            it->bytes = l->buf_size[b];
            it->where = &l->buf[b];
            it->pinned = l->buf_scope[b] != MT_BUF_BACKWARD;
            it->start = it->end = 2 * L - 1 - i;
        }
    }
    for (int k = 0; k < n; k++)
        order[k] = &items[k];
    qsort(order, (size_t)n, sizeof *order, by_start);
    int first_shared = net->n_allocs;
    for (int k = 0; k < n && rc >= 0; k++) {
        item *it = order[k];
        if (it->pinned) {
            it->slot = add_alloc(net, it->bytes, 0);
            rc = it->slot;
            continue;
        }
        /* Best fit among the free shared allocations: the smallest that is
         * big enough, else the biggest (grown). */
        int pick = -1;
        for (int s = first_shared; s < net->n_allocs; s++) {
            mt_net_alloc *a = &net->allocs[s];
            if (!a->shared || a->free_after >= it->start)
                continue;
            if (pick < 0) {
                pick = s;
                continue;
            }
            size_t pb = net->allocs[pick].bytes;
            int fits = a->bytes >= it->bytes, pfits = pb >= it->bytes;
            if ((fits && (!pfits || a->bytes < pb)) || (!fits && !pfits && a->bytes > pb))
                pick = s;
        }
        if (pick < 0) {
            pick = add_alloc(net, it->bytes, 1);
            if (pick < 0) {
                rc = pick;
                break;
            }
        }
        if (net->allocs[pick].bytes < it->bytes)
            net->allocs[pick].bytes = it->bytes;
        net->allocs[pick].free_after = it->end;
        it->slot = pick;
    }
    for (int s = first_shared; s < net->n_allocs && rc >= 0; s++) {
        net->allocs[s].p = mt_alloc(net->allocs[s].bytes);
        if (!net->allocs[s].p)
            rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory for %zu bytes of "
                          "activations", net->allocs[s].bytes);
    }
    for (int k = 0; k < n && rc >= 0; k++)
        *items[k].where = net->allocs[items[k].slot].p;
done:
    free(items);
    free(order);
    free(last);
    free(last_consumer);
    return rc < 0 ? rc : MT_OK;
}

void mt_buffers_free(mt_net *net)
{
    for (int s = 0; s < net->n_allocs; s++)
        mt_free(net->allocs[s].p);
    free(net->allocs);
    net->allocs = NULL;
    net->n_allocs = net->cap_allocs = 0;
}

int mt_buffers_regrow(mt_net *net, void **where, size_t bytes)
{
    for (int s = 0; s < net->n_allocs; s++) {
        mt_net_alloc *a = &net->allocs[s];
        if (a->p != *where)
            continue;
        if (a->bytes >= bytes)
            return MT_OK;
        if (a->shared)
            return mt_error(MT_ERR_LIB, "a shared buffer would grow from %zu to %zu bytes",
                            a->bytes, bytes);
        void *p = mt_alloc(bytes);
        if (!p)
            return mt_error(MT_ERR_NOMEM, "out of memory for %zu bytes", bytes);
        mt_free(a->p);
        a->p = p;
        a->bytes = bytes;
        *where = p;
        return MT_OK;
    }
    if (*where)
        return mt_error(MT_ERR_LIB, "a buffer the net did not allocate");
    int s = add_alloc(net, bytes, 0);
    if (s < 0)
        return s;
    net->allocs[s].p = mt_alloc(bytes);
    if (!net->allocs[s].p)
        return mt_error(MT_ERR_NOMEM, "out of memory for %zu bytes", bytes);
    *where = net->allocs[s].p;
    return MT_OK;
}

size_t mt_buffers_bytes(const mt_net *net, int shared)
{
    size_t b = 0;
    for (int s = 0; s < net->n_allocs; s++)
        if (net->allocs[s].shared == shared)
            b += net->allocs[s].bytes;
    return b;
}

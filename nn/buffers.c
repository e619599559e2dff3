/* buffers.c: every activation, activation gradient and scoped layer buffer of
 * a net, placed in a few shared allocations where their lifetimes in the step
 * do not overlap, and the activations recomputed for backward instead of
 * kept.
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
 * An activation whose producer can recompute it exactly from what it keeps
 * anyway (mt_layer_can_regen: a batch norm from its input, which its own
 * backward reads; a SphereConv from its cached cosines) is needed over two
 * intervals instead: the forward pass up to its last reader, and backward
 * from the first layer that reads it, just before which the net recomputes
 * it (mt_buffers_regen), to the last.
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
#include "core/clock.h"
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

void mt_layer_can_regen(mt_layer *l, int in0, int in1)
{
    l->regen_ok = l->kind->regen != NULL;
    l->regen_in[0] = in0 != 0;
    l->regen_in[1] = in1 != 0;
}

typedef struct {
    int s, e; /* inclusive times */
} span;

typedef struct {
    size_t bytes;
    span iv[2]; /* one interval, or two for a regenerated activation */
    int n_iv;
    int pinned;
    void **where; /* the pointer to set */
    int slot;     /* index into the net's allocations */
} item;

static int by_start(const void *a, const void *b)
{
    const item *x = *(const item *const *)a, *y = *(const item *const *)b;
    if (x->iv[0].s != y->iv[0].s)
        return x->iv[0].s < y->iv[0].s ? -1 : 1;
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

/* The spans each shared allocation is taken for, while assigning. */
typedef struct {
    span *v;
    int n, cap;
} span_list;

static int overlaps(const span_list *u, const item *it)
{
    for (int k = 0; k < u->n; k++)
        for (int j = 0; j < it->n_iv; j++)
            if (u->v[k].s <= it->iv[j].e && it->iv[j].s <= u->v[k].e)
                return 1;
    return 0;
}

static int take(span_list *u, const item *it)
{
    if (u->n + it->n_iv > u->cap) {
        int nc = u->cap ? 2 * u->cap : 8;
        span *v = realloc(u->v, (size_t)nc * sizeof *v);
        if (!v)
            return mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        u->v = v;
        u->cap = nc;
    }
    for (int j = 0; j < it->n_iv; j++)
        u->v[u->n++] = it->iv[j];
    return MT_OK;
}

static void widen(span *w, int t)
{
    if (t < w->s)
        w->s = t;
    if (t > w->e)
        w->e = t;
}

/* Which activations are regenerated and when: an activation whose producer
 * can recompute it (mt_layer_can_regen) is dropped after its last forward
 * reader and recomputed just before the first backward that needs it; what
 * the recomputation reads is then needed at that time too. Fills fwd_end,
 * back (the backward window, s > e when empty) and the net's schedule. */
static int plan(mt_net *net, int *fwd_end, span *back, int *last_consumer)
{
    int L = net->n_layers, nt = net->n_tensors, train = !net->inference;
    for (int t = 0; t < nt; t++) {
        net->tensors[t]->index = t;
        net->tensors[t]->regen = 0;
        fwd_end[t] = last_consumer[t] = net->tensors[t]->producer;
        back[t] = (span){2 * L, -1};
    }
    for (int i = 0; i < L; i++) {
        const mt_layer *l = net->layers[i];
        int bt = 2 * L - 1 - i, on = train && l->out->needs_diff;
        for (int j = 0; j < l->n_in; j++) {
            int t = l->in[j]->index;
            if (i > last_consumer[t])
                last_consumer[t] = i;
            fwd_end[t] = last_consumer[t];
            if (on && l->bwd_in[j])
                widen(&back[t], bt);
        }
        if (on && l->bwd_out)
            widen(&back[l->out->index], bt);
    }
    net->n_regen = 0;
    if (!train)
        return MT_OK;
    free(net->regen);
    net->regen = calloc((size_t)nt, sizeof *net->regen);
    if (!net->regen)
        return mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
    /* consumers before producers: a regeneration's needs reach its inputs */
    for (int t = nt - 1; t > 0; t--) {
        mt_tensor *x = net->tensors[t];
        mt_layer *l = net->layers[x->producer];
        if (back[t].s > back[t].e)
            continue;
        int pinned = net->keep_acts || last_consumer[t] == x->producer;
        if (!l->regen_ok || pinned || back[t].s <= fwd_end[t])
            continue;
        x->regen = 1;
        for (int j = 0; j < l->n_in; j++)
            if (l->regen_in[j])
                widen(&back[l->in[j]->index], back[t].s);
        net->regen[net->n_regen++] = (mt_regen){x->producer, back[t].s, back[t].e};
    }
    /* by time, then producers first (a regenerated input before its user) */
    for (int a = 1; a < net->n_regen; a++)
        for (int b = a; b > 0; b--) {
            mt_regen *p = &net->regen[b - 1], *q = &net->regen[b];
            if (p->at < q->at || (p->at == q->at && p->layer < q->layer))
                break;
            mt_regen tmp = *p;
            *p = *q;
            *q = tmp;
        }
    return MT_OK;
}

int mt_buffers_alloc(mt_net *net)
{
    int L = net->n_layers, nt = net->n_tensors, train = !net->inference;
    int cap = 2 * nt + L * MT_LAYER_MAX_BUF, n = 0, rc = MT_OK;
    item *items = calloc((size_t)cap, sizeof *items);
    item **order = calloc((size_t)cap, sizeof *order);
    int *fwd_end = malloc((size_t)nt * sizeof *fwd_end);
    int *last_consumer = malloc((size_t)nt * sizeof *last_consumer);
    span *back = malloc((size_t)nt * sizeof *back);
    span_list *used = NULL;
    if (!items || !order || !fwd_end || !last_consumer || !back) {
        rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        goto done;
    }
    if ((rc = plan(net, fwd_end, back, last_consumer)) < 0)
        goto done;
    for (int t = 0; t < nt; t++) {
        mt_tensor *x = net->tensors[t];
        size_t bytes = dnnl_memory_desc_get_size(&x->md);
        item *d = &items[n++];
        d->bytes = bytes;
        d->where = (void **)&x->data;
        d->pinned = net->keep_acts || x->producer < 0 || last_consumer[t] == x->producer;
        d->iv[0] = (span){x->producer, fwd_end[t]};
        d->n_iv = 1;
        if (back[t].s <= back[t].e) {
            if (x->regen)
                d->iv[d->n_iv++] = back[t];
            else
                d->iv[0].e = back[t].e;
        }
        if (x->needs_diff) {
            item *g = &items[n++];
            g->bytes = bytes;
            g->where = (void **)&x->diff;
            g->iv[0] = (span){2 * L - 1 - last_consumer[t], 2 * L - 1 - x->producer};
            g->n_iv = 1;
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
            it->iv[0] = (span){2 * L - 1 - i, 2 * L - 1 - i};
            it->n_iv = 1;
        }
    }
    for (int k = 0; k < n; k++)
        order[k] = &items[k];
    qsort(order, (size_t)n, sizeof *order, by_start);
    int first_shared = net->n_allocs;
    used = calloc((size_t)n + 1, sizeof *used);
    if (!used) {
        rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        goto done;
    }
    for (int k = 0; k < n && rc >= 0; k++) {
        item *it = order[k];
        if (it->pinned) {
            it->slot = add_alloc(net, it->bytes, 0);
            rc = it->slot;
            continue;
        }
        /* Best fit among the shared allocations free over the item's spans:
         * the smallest that is big enough, else the biggest (grown). */
        int pick = -1;
        for (int s = first_shared; s < net->n_allocs; s++) {
            mt_net_alloc *a = &net->allocs[s];
            if (!a->shared || overlaps(&used[s - first_shared], it))
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
        if (pick < 0 && (pick = add_alloc(net, it->bytes, 1)) < 0) {
            rc = pick;
            break;
        }
        if (net->allocs[pick].bytes < it->bytes)
            net->allocs[pick].bytes = it->bytes;
        rc = take(&used[pick - first_shared], it);
        it->slot = pick;
    }
    /* The shared allocations are pieces of one arena, which a net that never
     * runs at the same time may lend (mt_net_borrow_memory). */
    size_t arena = 0;
    for (int s = first_shared; s < net->n_allocs && rc >= 0; s++)
        if (net->allocs[s].shared)
            arena += (net->allocs[s].bytes + 63) / 64 * 64;
    if (rc >= 0 && arena) {
        const mt_net *lender = net->lender;
        if (lender && lender->arena_bytes >= arena) {
            net->arena = lender->arena;
            net->arena_bytes = 0;
        } else {
            net->arena = mt_alloc(arena);
            net->arena_bytes = arena;
            if (!net->arena)
                rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory for %zu bytes of "
                              "activations", arena);
        }
    }
    for (size_t off = 0, s = first_shared; (int)s < net->n_allocs && rc >= 0; s++) {
        mt_net_alloc *a = &net->allocs[s];
        if (a->shared) {
            a->p = (char *)net->arena + off;
            off += (a->bytes + 63) / 64 * 64;
        } else if (!(a->p = mt_alloc(a->bytes))) {
            rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory for %zu bytes",
                          a->bytes);
        }
    }
    for (int k = 0; k < n && rc >= 0; k++)
        *items[k].where = net->allocs[items[k].slot].p;
done:
    if (used)
        for (int k = 0; k <= n; k++)
            free(used[k].v);
    free(used);
    free(items);
    free(order);
    free(fwd_end);
    free(last_consumer);
    free(back);
    return rc < 0 ? rc : MT_OK;
}

int mt_buffers_regen(mt_net *net, int from, int at)
{
    for (int k = 0; k < net->n_regen; k++) {
        const mt_regen *r = &net->regen[k];
        int due = at < 0 ? r->at < from && r->end >= from : r->at == at;
        if (!due)
            continue;
        mt_layer *l = net->layers[r->layer];
        double t0 = net->profile ? mt_now() : 0;
        int rc = l->kind->regen(l);
        if (net->profile)
            l->t_regen += mt_now() - t0;
        if (rc < 0)
            return mt_error_context(rc, "%s (recomputing its output for backward)", l->name);
    }
    return MT_OK;
}

void mt_buffers_free(mt_net *net)
{
    for (int s = 0; s < net->n_allocs; s++)
        if (!net->allocs[s].shared)
            mt_free(net->allocs[s].p);
    if (net->arena_bytes)
        mt_free(net->arena);
    net->arena = NULL;
    net->arena_bytes = 0;
    free(net->allocs);
    net->allocs = NULL;
    net->n_allocs = net->cap_allocs = 0;
    free(net->regen);
    net->regen = NULL;
    net->n_regen = 0;
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
    if (shared)
        return net->arena_bytes;
    for (int s = 0; s < net->n_allocs; s++)
        if (!net->allocs[s].shared)
            b += net->allocs[s].bytes;
    return b;
}

int mt_net_borrow_memory(mt_net *net, const mt_net *lender)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_borrow_memory: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_borrow_memory: the net is already finalized");
    if (lender && !lender->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_borrow_memory: the lender is not finalized");
    net->lender = lender;
    return MT_OK;
}

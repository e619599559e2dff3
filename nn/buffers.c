/* buffers.c: every activation, activation gradient and scoped layer buffer of
 * a net, placed at offsets of one arena where their lifetimes in the step do
 * not overlap, and the activations recomputed for backward instead of kept.
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
 *   MT_BUF_TRAINING  the owning layer's forward to its backward (a cache);
 *   MT_BUF_FORWARD   the owning layer's forward only (blocked weights);
 *   MT_BUF_BACKWARD  the owning layer's backward only, and so a gradient a
 *                 layer writes aside to sum it into one another consumer
 *                 wrote (layer.h's diff_tmp).
 * An activation whose producer can recompute it exactly from what it keeps
 * anyway (mt_layer_can_regen: a batch norm from its input, which its own
 * backward reads; a SphereConv from its cached cosines) is needed over two
 * intervals instead: the forward pass up to its last reader, and backward
 * from the first layer that reads it, just before which the net recomputes
 * it (mt_buffers_regen), to the last. Recomputing costs a few percent of
 * the step, so a training net does it only when keeping those activations
 * would make the arena larger by more than its allowance
 * (mt_net_recompute_allowance): finalize places the net both ways and
 * compares.
 * Buffers whose intervals are disjoint share memory: in a training ResNet the
 * block tail's batch-norm output (read by the add's forward only) and every
 * gradient land in memory that something else used earlier, as do a late
 * layer's caches once its backward is past; in an inference net
 * (mt_net_inference) every activation dies at its last consumer, so a deep
 * net needs a few activations' worth however deep it is. Placement is greedy
 * by size: largest first, each at the lowest offset free of everything
 * placed that is live with it. For SphereResNet-32 width 96 the arena then
 * equals the largest sum of buffers live at one time (what any placement
 * needs).
 *
 * Kept whole (own memory, never shared): the net's input and its gradient
 * (read by callers after the step), tensors no layer consumes (the net's
 * outputs, the loss layer's probabilities), everything with
 * mt_net_keep_grads / mt_net_keep_activations, and MT_BUF_ALWAYS layer
 * buffers.
 *
 * Not here: the oneDNN scratchpad (one per net, nn/dnnl_util.c).
 */
#include "core/clock.h"
#include "core/meminfo.h"
#include "core/status.h"
#include "nn/net_internal.h"

#include <stdint.h>
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

int mt_net_recompute_allowance(mt_net *net, size_t bytes)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_recompute_allowance: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_recompute_allowance: the net is already finalized");
    net->allowance = bytes;
    net->allowance_set = 1;
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
    size_t offset; /* in the arena, when shared */
} item;

/* Largest first (then earliest): the order of the placement below. */
static int by_size(const void *a, const void *b)
{
    const item *x = *(const item *const *)a, *y = *(const item *const *)b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->iv[0].s < y->iv[0].s ? -1 : x->iv[0].s > y->iv[0].s;
}

static int by_offset(const void *a, const void *b)
{
    const item *x = *(const item *const *)a, *y = *(const item *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
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
    net->allocs[net->n_allocs] = (mt_net_alloc){NULL, bytes, shared, 0};
    return net->n_allocs++;
}

static int live_together(const item *a, const item *b)
{
    for (int i = 0; i < a->n_iv; i++)
        for (int j = 0; j < b->n_iv; j++)
            if (a->iv[i].s <= b->iv[j].e && b->iv[j].s <= a->iv[i].e)
                return 1;
    return 0;
}

/* The lowest arena offset (64-byte aligned) where `it` overlaps no shared
 * item among order[0..k) that is live at the same time: greedy by size,
 * which places the large activations first and fits the small ones into the
 * gaps their lifetimes leave. `near` is scratch for k pointers. */
static size_t place(item *const *order, int k, const item *it, item **near)
{
    int m = 0;
    for (int j = 0; j < k; j++)
        if (!order[j]->pinned && live_together(order[j], it))
            near[m++] = order[j];
    qsort(near, (size_t)m, sizeof *near, by_offset);
    size_t off = 0;
    for (int j = 0; j < m; j++) {
        if (off + it->bytes <= near[j]->offset)
            break;
        size_t end = near[j]->offset + (near[j]->bytes + 63) / 64 * 64;
        off = end > off ? end : off;
    }
    return off;
}

static void widen(span *w, int t)
{
    if (t < w->s)
        w->s = t;
    if (t > w->e)
        w->e = t;
}

/* Which activations are regenerated and when: with allow_regen, an
 * activation whose producer can recompute it (mt_layer_can_regen) is dropped
 * after its last forward reader and recomputed just before the first
 * backward that needs it; what the recomputation reads is then needed at
 * that time too. Fills fwd_end, back (the backward window, s > e when empty)
 * and the net's schedule. */
static int plan(mt_net *net, int allow_regen, int *fwd_end, span *back, int *last_consumer)
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
    net->regen = calloc((unsigned)nt, sizeof *net->regen);
    if (!net->regen)
        return mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
    /* consumers before producers: a regeneration's needs reach its inputs */
    for (int t = nt - 1; t > 0; t--) {
        mt_tensor *x = net->tensors[t];
        mt_layer *l = net->layers[x->producer];
        if (back[t].s > back[t].e)
            continue;
        int pinned = net->keep_acts || last_consumer[t] == x->producer;
        if (!allow_regen || !l->regen_ok || pinned || back[t].s <= fwd_end[t])
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

/* The scratch of a placement: the items and the plan's per-tensor spans. */
typedef struct {
    item *items;
    item **order, **near;
    int *fwd_end, *last_consumer;
    span *back;
    int n;
} layout;

/* Plans (with or without recomputation) and places every buffer of the net:
 * fills the layout's items with their offsets and *arena with the arena's
 * size. Allocates nothing, so finalize can place a net both ways and pick. */
static int place_all(mt_net *net, int allow_regen, layout *lo, size_t *arena)
{
    int L = net->n_layers, nt = net->n_tensors, train = !net->inference, n = 0;
    item *items = lo->items, **order = lo->order;
    int *fwd_end = lo->fwd_end, *last_consumer = lo->last_consumer;
    span *back = lo->back;
    int rc = plan(net, allow_regen, fwd_end, back, last_consumer);
    if (rc < 0)
        return rc;
    for (int t = 0; t < nt; t++) {
        mt_tensor *x = net->tensors[t];
        size_t bytes = dnnl_memory_desc_get_size(&x->md);
        item *d = &items[n++];
        *d = (item){.bytes = bytes, .where = (void **)&x->data};
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
            *g = (item){.bytes = bytes, .where = (void **)&x->diff};
            g->iv[0] = (span){2 * L - 1 - last_consumer[t], 2 * L - 1 - x->producer};
            g->n_iv = 1;
            g->pinned = net->keep_grads || x->producer < 0;
        }
    }
    for (int i = 0; i < L; i++) {
        mt_layer *l = net->layers[i];
        for (int j = 0; j < l->n_in && train && l->out->needs_diff; j++) {
            /* A gradient arrives first from the input's last consumer
             * (backward runs in reverse); every other consumer, and the
             * second use of a tensor read twice, writes here and sums in; a
             * layer whose input needs no gradient may write here and drop it. */
            const mt_tensor *x = l->in[j];
            l->diff_tmp[j] = NULL;
            if (x->needs_diff && i == last_consumer[x->index] &&
                !(j == 1 && l->in[0] == x))
                continue;
            item *it = &items[n++];
            *it = (item){.bytes = dnnl_memory_desc_get_size(&x->md), .where = &l->diff_tmp[j]};
            it->iv[0] = (span){2 * L - 1 - i, 2 * L - 1 - i};
            it->n_iv = 1;
        }
        for (int b = 0; b < MT_LAYER_MAX_BUF; b++) {
            int scope = l->buf_scope[b], bt = 2 * L - 1 - i;
            if (!l->buf_size[b] ||
                (!train && scope != MT_BUF_ALWAYS && scope != MT_BUF_FORWARD))
                continue;
            item *it = &items[n++];
            *it = (item){.bytes = l->buf_size[b], .where = &l->buf[b]};
            it->pinned = scope == MT_BUF_ALWAYS;
            it->iv[0] = scope == MT_BUF_FORWARD    ? (span){i, i}
                        : scope == MT_BUF_TRAINING ? (span){i, bt}
                                                   : (span){bt, bt};
            it->n_iv = 1;
        }
    }
    for (int k = 0; k < n; k++)
        order[k] = &items[k];
    qsort(order, (size_t)n, sizeof *order, by_size);
    *arena = 0;
    for (int k = 0; k < n; k++) {
        item *it = order[k];
        if (it->pinned)
            continue;
        it->offset = place(order, k, it, lo->near);
        size_t end = it->offset + (it->bytes + 63) / 64 * 64;
        *arena = end > *arena ? end : *arena;
    }
    lo->n = n;
    return MT_OK;
}

/* The net's allowance: its own, else $MUTAU_RECOMPUTE_ALLOWANCE, else the
 * default. */
static int allowance(const mt_net *net, size_t *bytes)
{
    const char *env = getenv("MUTAU_RECOMPUTE_ALLOWANCE");
    *bytes = MT_RECOMPUTE_ALLOWANCE;
    if (net->allowance_set)
        *bytes = net->allowance;
    else if (env && *env) {
        uint64_t b;
        int rc = mt_mem_parse_size(env, &b);
        if (rc < 0)
            return mt_error_context(rc, "MUTAU_RECOMPUTE_ALLOWANCE");
        *bytes = b > SIZE_MAX ? SIZE_MAX : (size_t)b;
    }
    return MT_OK;
}

int mt_buffers_alloc(mt_net *net)
{
    int L = net->n_layers, nt = net->n_tensors, rc = MT_OK;
    int cap = 2 * nt + L * (MT_LAYER_MAX_BUF + MT_LAYER_MAX_IN);
    layout lo = {.items = calloc((size_t)cap, sizeof *lo.items),
                 .order = calloc((size_t)cap, sizeof *lo.order),
                 .near = calloc((size_t)cap, sizeof *lo.near),
                 .fwd_end = malloc((size_t)nt * sizeof *lo.fwd_end),
                 .last_consumer = malloc((size_t)nt * sizeof *lo.last_consumer),
                 .back = malloc((size_t)nt * sizeof *lo.back)};
    int first = net->n_allocs;
    size_t arena = 0, kept = 0, limit = 0;
    if (!lo.items || !lo.order || !lo.near || !lo.fwd_end || !lo.last_consumer || !lo.back) {
        rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
        goto done;
    }
    /* Recompute only when keeping costs more memory than the allowance
     * (mt_net_recompute_allowance): place the net both ways (placing
     * allocates nothing) and keep the recomputing plan only then. */
    net->regen_saves = 0;
    if ((rc = allowance(net, &limit)) < 0 || (rc = place_all(net, 0, &lo, &kept)) < 0)
        goto done;
    if (!net->inference && !net->keep_acts) {
        if ((rc = place_all(net, 1, &lo, &arena)) < 0)
            goto done;
        net->regen_saves = kept > arena ? kept - arena : 0;
        if (net->regen_saves <= limit && net->n_regen && (rc = place_all(net, 0, &lo, &arena)) < 0)
            goto done;
    } else
        arena = kept;
    for (int k = 0; k < lo.n && rc >= 0; k++) {
        item *it = lo.order[k];
        it->slot = rc = add_alloc(net, it->bytes, !it->pinned);
        if (rc >= 0 && !it->pinned)
            net->allocs[it->slot].offset = it->offset;
    }
    /* The shared allocations are pieces of one arena, which a net that never
     * runs at the same time may lend (mt_net_borrow_memory). */
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
    for (int s = first; s < net->n_allocs && rc >= 0; s++) {
        mt_net_alloc *a = &net->allocs[s];
        if (a->shared)
            a->p = (char *)net->arena + a->offset;
        else if (!(a->p = mt_alloc(a->bytes)))
            rc = mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory for %zu bytes",
                          a->bytes);
    }
    for (int k = 0; k < lo.n && rc >= 0; k++)
        *lo.items[k].where = net->allocs[lo.items[k].slot].p;
done:
    free(lo.near);
    free(lo.items);
    free(lo.order);
    free(lo.fwd_end);
    free(lo.last_consumer);
    free(lo.back);
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
    int shared = 0;
    for (int s = 0; s < net->n_allocs && *where; s++) {
        mt_net_alloc *a = &net->allocs[s];
        if (a->p != *where)
            continue;
        /* In the arena the bytes after a buffer belong to others at some
         * time: one that grows moves to memory of its own. */
        if ((shared = a->shared))
            break;
        if (a->bytes >= bytes)
            return MT_OK;
        void *p = mt_alloc(bytes);
        if (!p)
            return mt_error(MT_ERR_NOMEM, "out of memory for %zu bytes", bytes);
        mt_free(a->p);
        a->p = p;
        a->bytes = bytes;
        *where = p;
        return MT_OK;
    }
    if (*where && !shared)
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

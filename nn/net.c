/* net.c: the network: building (layers appended in order), finalizing
 * (oneDNN primitives, activation buffers, the flat parameter/gradient/state
 * buffers and their views), and the step (input, forward, backward).
 *
 * Not here: any layer's math (one file per kind in nn/), timing tables
 * (nn/net_profile.c), the ResNet definitions (models/).
 */
#include "nn/net.h"

#include "core/clock.h"
#include "core/status.h"
#include "nn/eltwise.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *mt_alloc(size_t bytes)
{
    size_t n = (bytes + 63) / 64 * 64;
    if (n == 0)
        n = 64;
    void *p = aligned_alloc(64, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void mt_free(void *p)
{
    free(p);
}

void mt_set_threads(int n)
{
    if (n > 0)
        omp_set_num_threads(n);
}

int mt_threads(void)
{
    return omp_get_max_threads();
}

static int grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return MT_OK;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "net: out of memory growing a table to %d entries", nc);
    *arr = p;
    *cap = nc;
    return MT_OK;
}

static int new_tensor(mt_net *net, int n, int c, int h, int w, int producer)
{
    int rc = grow((void **)&net->tensors, &net->cap_tensors, net->n_tensors + 1,
                  sizeof *net->tensors);
    if (rc < 0)
        return rc;
    mt_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return mt_error(MT_ERR_NOMEM, "net: out of memory for a tensor");
    t->n = n;
    t->c = c;
    t->h = h;
    t->w = w;
    t->producer = producer;
    net->tensors[net->n_tensors] = t;
    return net->n_tensors++;
}

int mt_net_create(mt_net **out, int batch, int c, int h, int w)
{
    if (!out)
        return mt_error(MT_ERR_ARG, "mt_net_create: out is NULL");
    *out = NULL;
    if (batch < 1 || c < 1 || h < 1 || w < 1)
        return mt_error(MT_ERR_ARG, "mt_net_create: batch %d, input (%d, %d, %d): all must be >= 1",
                        batch, c, h, w);
    mt_net *net = calloc(1, sizeof *net);
    if (!net)
        return mt_error(MT_ERR_NOMEM, "mt_net_create: out of memory");
    net->batch = batch;
    net->c = c;
    net->h = h;
    net->w = w;
    net->loss_layer = -1;
    int rc = new_tensor(net, batch, c, h, w, -1);
    if (rc < 0) {
        free(net);
        return rc;
    }
    *out = net;
    return MT_OK;
}

int mt_net_input(const mt_net *net)
{
    return net ? 0 : mt_error(MT_ERR_ARG, "mt_net_input: net is NULL");
}

int mt_net_want_input_grad(mt_net *net, int on)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_want_input_grad: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_want_input_grad: the net is already finalized");
    net->want_input_grad = on != 0;
    return MT_OK;
}

static void free_layer(mt_layer *l)
{
    if (!l)
        return;
    if (l->kind->destroy && l->priv)
        l->kind->destroy(l);
    free(l->cfg); /* its buffers belong to the net (nn/buffers.c) */
    free(l);
}

int mt_net_add_layer(mt_net *net, const mt_layer_kind *kind, const int *in, int n_in,
                     const void *cfg, size_t cfg_size)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "net is NULL");
    const char *kn = kind && kind->name ? kind->name : "layer";
    for (int i = 0; i < n_in; i++)
        if (in && in[i] < 0)
            return in[i]; /* an earlier call failed: pass its status on */
    if (net->status < 0)
        return net->status;
    if (!kind || !kind->infer || !kind->compile || !kind->forward || !kind->backward)
        return mt_error(MT_ERR_ARG, "%s: layer kind lacks infer/compile/forward/backward", kn);
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "%s: the net is finalized; build a new one", kn);
    if (n_in < 1 || n_in > MT_LAYER_MAX_IN || !in)
        return mt_error(MT_ERR_ARG, "%s: %d inputs (1..%d)", kn, n_in, MT_LAYER_MAX_IN);
    for (int i = 0; i < n_in; i++)
        if (in[i] >= net->n_tensors)
            return mt_error(MT_ERR_ARG, "%s: input %d is tensor %d, the net has %d", kn, i, in[i],
                            net->n_tensors);
    int rc = grow((void **)&net->layers, &net->cap_layers, net->n_layers + 1, sizeof *net->layers);
    if (rc < 0)
        return rc;
    mt_layer *l = calloc(1, sizeof *l);
    if (!l)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", kn);
    l->kind = kind;
    l->net = net;
    l->index = net->n_layers;
    int same = 0;
    for (int i = 0; i < net->n_layers; i++)
        same += net->layers[i]->kind == kind;
    snprintf(l->name, sizeof l->name, "%s%d", kn, same + 1);
    l->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        l->in[i] = net->tensors[in[i]];
    if (cfg_size) {
        l->cfg = malloc(cfg_size);
        if (!l->cfg) {
            free(l);
            return mt_error(MT_ERR_NOMEM, "%s: out of memory", kn);
        }
        memcpy(l->cfg, cfg, cfg_size);
        l->cfg_size = cfg_size;
    }
    int tid = new_tensor(net, net->batch, 0, 0, 0, l->index);
    if (tid < 0) {
        free_layer(l);
        return tid;
    }
    l->out = net->tensors[tid];
    l->param_offset = net->n_param;
    l->state_offset = net->n_state;
    size_t np = net->n_param, ns = net->n_state;
    rc = kind->infer(l);
    if (rc >= 0 && (l->out->c < 1 || l->out->h < 1 || l->out->w < 1))
        rc = mt_error(MT_ERR_ARG, "%s: output shape (%d, %d, %d) is empty", l->name, l->out->c,
                      l->out->h, l->out->w);
    if (rc < 0) {
        int k = 0;
        for (int i = 0; i < net->n_segs; i++)
            if (net->segs[i].layer != l->index)
                net->segs[k++] = net->segs[i];
        net->n_segs = k;
        net->n_param = np;
        net->n_state = ns;
        free(net->tensors[tid]);
        net->n_tensors--;
        free_layer(l);
        net->status = rc;
        return rc;
    }
    net->layers[net->n_layers++] = l;
    return tid;
}

static int add_seg(mt_layer *l, const char *pname, int kind, int ndim, const int *shape, int state)
{
    mt_net *net = l->net;
    if (ndim < 1 || ndim > 4 || !shape)
        return mt_error(MT_ERR_ARG, "%s.%s: %d dimensions (1..4)", l->name, pname, ndim);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return mt_error(MT_ERR_ARG, "%s.%s: dimension %d is %d", l->name, pname, i, shape[i]);
        count *= (size_t)shape[i];
    }
    int rc = grow((void **)&net->segs, &net->cap_segs, net->n_segs + 1, sizeof *net->segs);
    if (rc < 0)
        return rc;
    /* Parameters before state, each in declaration order. */
    int at = net->n_segs;
    if (!state)
        while (at > 0 && net->segs[at - 1].in_state)
            at--;
    memmove(&net->segs[at + 1], &net->segs[at], (size_t)(net->n_segs - at) * sizeof *net->segs);
    net->n_segs++;
    mt_param_seg *s = &net->segs[at];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s.%s", l->name, pname);
    s->kind = kind;
    s->in_state = state;
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        s->shape[i] = shape[i];
    s->count = count;
    s->layer = l->index;
    if (state) {
        s->offset = net->n_state;
        net->n_state += count;
        l->n_state += count;
        return (int)(s->offset - l->state_offset);
    }
    s->offset = net->n_param;
    net->n_param += count;
    l->n_param += count;
    return (int)(s->offset - l->param_offset);
}

int mt_layer_param(mt_layer *l, const char *pname, int kind, int ndim, const int *shape)
{
    return add_seg(l, pname, kind, ndim, shape, 0);
}

int mt_layer_state(mt_layer *l, const char *pname, int kind, int ndim, const int *shape)
{
    return add_seg(l, pname, kind, ndim, shape, 1);
}

int mt_layer_buffer_scoped(mt_layer *l, int slot, size_t bytes, int scope)
{
    if (slot < 0 || slot >= MT_LAYER_MAX_BUF)
        return mt_error(MT_ERR_ARG, "%s: buffer slot %d (0..%d)", l->name, slot,
                        MT_LAYER_MAX_BUF - 1);
    if (scope < MT_BUF_ALWAYS || scope > MT_BUF_FORWARD)
        return mt_error(MT_ERR_ARG, "%s: buffer scope %d", l->name, scope);
    l->buf_size[slot] = bytes;
    l->buf_scope[slot] = scope;
    return MT_OK;
}

int mt_layer_buffer(mt_layer *l, int slot, size_t bytes)
{
    return mt_layer_buffer_scoped(l, slot, bytes, MT_BUF_ALWAYS);
}

float *mt_layer_diff_begin(mt_layer *l, int i)
{
    mt_tensor *t = l->in[i];
    if (!t->needs_diff || !t->diff)
        return NULL;
    return t->diff_written ? l->diff_tmp[i] : t->diff;
}

float *mt_layer_diff_scratch(mt_layer *l, int i)
{
    return l->diff_tmp[i];
}

int mt_layer_diff_end(mt_layer *l, int i)
{
    mt_tensor *t = l->in[i];
    if (!t->needs_diff || !t->diff)
        return MT_OK;
    if (!t->diff_written) {
        t->diff_written = 1;
        return MT_OK;
    }
    size_t n = mt_md_count(&t->md);
    if (t->md.data_type == dnnl_bf16)
        mt_bf16_accumulate((mt_bf16 *)t->diff, (const mt_bf16 *)l->diff_tmp[i], n);
    else
        mt_f32_accumulate(t->diff, l->diff_tmp[i], n);
    return MT_OK;
}

dnnl_engine_t mt_net_engine(const mt_net *net)
{
    return net->eng;
}

dnnl_stream_t mt_net_stream(const mt_net *net)
{
    return net->stream;
}

const int *mt_net_labels(const mt_net *net)
{
    return net->labels;
}

int mt_net_valid(const mt_net *net)
{
    return net->n_valid;
}

void mt_net_set_loss(mt_net *net, float loss)
{
    net->loss = loss;
}

int mt_net_finalize(mt_net *net, float *params, float *grads, float *state)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_finalize: net is NULL");
    if (net->status < 0)
        return mt_error(net->status, "mt_net_finalize: an earlier builder call failed (%s)",
                        mt_status_name(net->status));
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_finalize: already finalized");
    if (net->n_layers == 0)
        return mt_error(MT_ERR_ARG, "mt_net_finalize: the net has no layers");
    net->threads = omp_get_max_threads();
    MT_DNNL(dnnl_engine_create(&net->eng, dnnl_cpu, 0));
    MT_DNNL(dnnl_stream_create(&net->stream, net->eng, dnnl_stream_default_flags));

    mt_tensor *in = net->tensors[0];
    mt_md_nchw(&in->md, in->n, in->c, in->h, in->w);
    in->needs_diff = net->want_input_grad && !net->inference;
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        int nd = l->n_param > 0 && !net->inference;
        for (int j = 0; j < l->n_in; j++)
            nd |= l->in[j]->needs_diff;
        l->out->needs_diff = nd;
    }
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        mt_layer_backward_reads(l, 1, 1, 1);
        l->regen_ok = 0;
        int rc = l->kind->compile(l);
        if (rc < 0)
            return mt_error_context(rc, "%s", l->name);
        if (l->out->md.ndims == 0)
            mt_md_nchw(&l->out->md, l->out->n, l->out->c, l->out->h, l->out->w);
    }
    int grc = mt_buffers_alloc(net);
    if (grc < 0)
        return grc;
    net->labels = mt_alloc((size_t)net->batch * sizeof(int));
    if (!net->labels)
        return mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory");
    net->own_params = params == NULL;
    net->own_grads = grads == NULL && !net->inference;
    net->own_state = state == NULL;
    net->params = params ? params : mt_alloc(net->n_param * sizeof(float));
    net->grads = grads ? grads : net->inference ? NULL : mt_alloc(net->n_param * sizeof(float));
    net->state = state ? state : mt_alloc(net->n_state * sizeof(float));
    if (!net->params || (!net->inference && !net->grads) || !net->state)
        return mt_error(MT_ERR_NOMEM, "mt_net_finalize: out of memory for %zu parameters",
                        net->n_param);
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        l->param = net->params + l->param_offset;
        l->grad = net->grads ? net->grads + l->param_offset : NULL;
        l->state = net->state + l->state_offset;
    }
    int rc = net->scratch_size ? mt_net_scratch_alloc(net) : MT_OK;
    if (rc >= 0)
        rc = mt_net_bind_all(net);
    if (rc < 0)
        return rc;
    net->finalized = 1;
    return MT_OK;
}

static int clone(mt_net **out, const mt_net *src, int batch, float *params, float *grads,
                 float *state, int inference, int share_memory)
{
    if (!out)
        return mt_error(MT_ERR_ARG, "mt_net_clone: out is NULL");
    *out = NULL;
    if (!src || !src->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_clone: the source net is %s",
                        src ? "not finalized" : "NULL");
    mt_net *net;
    int rc = mt_net_create(&net, batch, src->c, src->h, src->w);
    if (rc < 0)
        return rc;
    net->want_input_grad = src->want_input_grad;
    net->keep_grads = src->keep_grads;
    net->keep_acts = src->keep_acts;
    net->allowance_set = src->allowance_set;
    net->allowance = src->allowance;
    net->inference = inference;
    net->precision = src->precision;
    net->lender = share_memory ? src : NULL;
    for (int i = 0; i < src->n_layers && rc >= 0; i++) {
        const mt_layer *l = src->layers[i];
        int ids[MT_LAYER_MAX_IN];
        for (int j = 0; j < l->n_in; j++)
            for (int t = 0; t < src->n_tensors; t++)
                if (src->tensors[t] == l->in[j])
                    ids[j] = t;
        rc = mt_net_add_layer(net, l->kind, ids, l->n_in, l->cfg, l->cfg_size);
    }
    if (rc >= 0)
        rc = mt_net_finalize(net, params, grads, state);
    if (rc < 0) {
        mt_net_free(net);
        return rc;
    }
    *out = net;
    return MT_OK;
}

int mt_net_create_built(mt_net **out, int batch, int c, int h, int w, mt_net_build_fn build,
                        const void *cfg, float *params, float *grads, float *state)
{
    if (!out || !build)
        return mt_error(MT_ERR_ARG, "mt_net_create_built: %s is NULL", out ? "build" : "out");
    *out = NULL;
    mt_net *net;
    int rc = mt_net_create(&net, batch, c, h, w);
    if (rc < 0)
        return rc;
    rc = build(net, cfg);
    if (rc >= 0)
        rc = mt_net_finalize(net, params, grads, state);
    if (rc < 0) {
        mt_net_free(net);
        return rc;
    }
    *out = net;
    return MT_OK;
}

int mt_net_clone(mt_net **out, const mt_net *src, int batch, float *params, float *grads,
                 float *state)
{
    return clone(out, src, batch, params, grads, state, src && src->inference, 0);
}

int mt_net_clone_inference(mt_net **out, const mt_net *src, int batch, float *params,
                           float *state, int share_memory)
{
    return clone(out, src, batch, params, NULL, state, 1, share_memory);
}

void mt_net_free(mt_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++)
        free_layer(net->layers[i]);
    free(net->layers);
    for (int i = 0; i < net->n_tensors; i++)
        free(net->tensors[i]);
    free(net->tensors);
    mt_buffers_free(net);
    free(net->segs);
    if (net->own_params)
        mt_free(net->params);
    if (net->own_grads)
        mt_free(net->grads);
    if (net->own_state)
        mt_free(net->state);
    if (net->m_scratch)
        dnnl_memory_destroy(net->m_scratch);
    mt_free(net->scratch);
    mt_free(net->labels);
    if (net->stream)
        dnnl_stream_destroy(net->stream);
    if (net->eng)
        dnnl_engine_destroy(net->eng);
    free(net);
}

size_t mt_net_param_count(const mt_net *net)
{
    return net ? net->n_param : 0;
}

size_t mt_net_state_count(const mt_net *net)
{
    return net ? net->n_state : 0;
}

float *mt_net_params(mt_net *net)
{
    return net ? net->params : NULL;
}

float *mt_net_grads(mt_net *net)
{
    return net ? net->grads : NULL;
}

float *mt_net_state(mt_net *net)
{
    return net ? net->state : NULL;
}

int mt_net_segments(const mt_net *net, const mt_param_seg **segs)
{
    if (!net || !segs)
        return mt_error(MT_ERR_ARG, "mt_net_segments: %s is NULL", net ? "segs" : "net");
    *segs = net->segs;
    return net->n_segs;
}

int mt_net_init(mt_net *net, mt_rng *rng)
{
    if (!net || !rng)
        return mt_error(MT_ERR_ARG, "mt_net_init: %s is NULL", net ? "rng" : "net");
    if (!net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_init: finalize the net first");
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        if (l->kind->init) {
            int rc = l->kind->init(l, rng);
            if (rc < 0)
                return mt_error_context(rc, "%s", l->name);
        } else {
            memset(l->param, 0, l->n_param * sizeof(float));
            memset(l->state, 0, l->n_state * sizeof(float));
        }
    }
    return MT_OK;
}

void mt_net_zero_grad(mt_net *net)
{
    if (net && net->grads)
        memset(net->grads, 0, net->n_param * sizeof(float));
}

static int check_input(mt_net *net, const float *x, int n, const int *labels, const char *fn)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "%s: net is NULL", fn);
    if (!net->finalized)
        return mt_error(MT_ERR_ARG, "%s: finalize the net first", fn);
    if (!x)
        return mt_error(MT_ERR_ARG, "%s: x is NULL", fn);
    if (n < 1 || n > net->batch)
        return mt_error(MT_ERR_ARG, "%s: n = %d, the net's batch is %d", fn, n, net->batch);
    if (labels) {
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || (net->classes > 0 && labels[i] >= net->classes))
                return mt_error(MT_ERR_ARG, "%s: label %d of sample %d is outside [0, %d)", fn,
                                labels[i], i, net->classes);
        memcpy(net->labels, labels, (size_t)n * sizeof(int));
    } else if (net->loss_layer >= 0) {
        memset(net->labels, 0, (size_t)n * sizeof(int));
    }
    memset(net->labels + n, 0, (size_t)(net->batch - n) * sizeof(int));
    net->n_valid = n;
    net->has_labels = labels != NULL;
    return MT_OK;
}

int mt_net_set_input(mt_net *net, const float *x, int n, const int *labels)
{
    int rc = check_input(net, x, n, labels, "mt_net_set_input");
    if (rc < 0)
        return rc;
    mt_tensor *t = net->tensors[0];
    size_t per = (size_t)t->c * t->h * t->w;
    memcpy(t->data, x, (size_t)n * per * sizeof(float));
    memset(t->data + (size_t)n * per, 0, (size_t)(net->batch - n) * per * sizeof(float));
    return MT_OK;
}

int mt_net_set_input_nhwc(mt_net *net, const float *x, int n, const int *labels)
{
    int rc = check_input(net, x, n, labels, "mt_net_set_input_nhwc");
    if (rc < 0)
        return rc;
    mt_tensor *t = net->tensors[0];
    int C = t->c, HW = t->h * t->w;
    size_t per = (size_t)C * HW;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int p = 0; p < HW; p++)
            for (int c = 0; c < C; c++)
                t->data[i * per + (size_t)c * HW + p] = x[i * per + (size_t)p * C + c];
    memset(t->data + (size_t)n * per, 0, (size_t)(net->batch - n) * per * sizeof(float));
    return MT_OK;
}

int mt_net_forward(mt_net *net, int train)
{
    if (!net || !net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_forward: net is %s", net ? "not finalized" : "NULL");
    if (net->n_valid < 1)
        return mt_error(MT_ERR_ARG, "mt_net_forward: no input (call mt_net_set_input)");
    if (train && net->inference)
        return mt_error(MT_ERR_ARG, "mt_net_forward: an inference net cannot train");
    if (train && net->n_valid != net->batch)
        return mt_error(MT_ERR_ARG,
                        "mt_net_forward: training needs a full batch (%d of %d samples given)",
                        net->n_valid, net->batch);
    int rc = mt_net_match_threads(net);
    if (rc < 0)
        return rc;
    net->trained = 0;
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        double t0 = net->profile ? mt_now() : 0;
        rc = l->kind->forward(l, train);
        if (rc < 0)
            return mt_error_context(rc, "%s forward", l->name);
        if (net->profile)
            l->t_fwd += mt_now() - t0;
    }
    if (net->loss_layer >= 0 && !isfinite(net->loss))
        return mt_error(MT_ERR_DIVERGED, "mt_net_forward: the loss is %g", net->loss);
    net->trained = train != 0;
    return MT_OK;
}

/* Runs backward over layers [0, last], whose output gradients are set. */
static int run_backward(mt_net *net, int last)
{
    /* with the thread count of the primitives (the forward's) */
    int caller = omp_get_max_threads();
    if (caller != net->threads)
        omp_set_num_threads(net->threads);
    int L = net->n_layers;
    int rc = mt_buffers_regen(net, 2 * L - 1 - last, -1);
    for (int i = last; i >= 0 && rc >= 0; i--) {
        mt_layer *l = net->layers[i];
        if ((rc = mt_buffers_regen(net, 0, 2 * L - 1 - i)) < 0)
            break;
        if (!l->out->needs_diff)
            continue;
        if (i != net->loss_layer && !l->out->diff_written) {
            /* Nothing downstream used this output: its gradient is zero. */
            memset(l->out->diff, 0, dnnl_memory_desc_get_size(&l->out->md));
            l->out->diff_written = 1;
        }
        double t0 = net->profile ? mt_now() : 0;
        rc = l->kind->backward(l);
        if (rc < 0)
            mt_error_context(rc, "%s backward", l->name);
        if (net->profile)
            l->t_bwd += mt_now() - t0;
    }
    if (caller != net->threads)
        omp_set_num_threads(caller);
    return rc;
}

static void reset_diffs(mt_net *net)
{
    for (int i = 0; i < net->n_tensors; i++)
        net->tensors[i]->diff_written = 0;
}

int mt_net_backward(mt_net *net)
{
    if (!net || !net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_backward: net is %s", net ? "not finalized" : "NULL");
    if (!net->trained)
        return mt_error(MT_ERR_ARG, "mt_net_backward: no training forward to go back through");
    if (net->loss_layer < 0)
        return mt_error(MT_ERR_ARG,
                        "mt_net_backward: the net has no loss (use mt_net_backward_from)");
    if (!net->has_labels)
        return mt_error(MT_ERR_ARG, "mt_net_backward: the batch was given without labels");
    reset_diffs(net);
    return run_backward(net, net->n_layers - 1);
}

static int reorder_user(mt_net *net, const dnnl_memory_desc_t *from_md, void *from,
                        const dnnl_memory_desc_t *to_md, void *to)
{
    dnnl_primitive_desc_t pd;
    MT_DNNL(dnnl_reorder_primitive_desc_create(&pd, from_md, net->eng, to_md, net->eng, NULL));
    dnnl_primitive_t r;
    dnnl_status_t s = dnnl_primitive_create(&r, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success)
        return mt_dnnl_error("dnnl_primitive_create(reorder)", s);
    dnnl_memory_t a = NULL, b = NULL;
    s = dnnl_memory_create(&a, from_md, net->eng, from);
    if (s == dnnl_success)
        s = dnnl_memory_create(&b, to_md, net->eng, to);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
        s = dnnl_primitive_execute(r, net->stream, 2, args);
        if (s == dnnl_success)
            s = dnnl_stream_wait(net->stream);
    }
    if (a)
        dnnl_memory_destroy(a);
    if (b)
        dnnl_memory_destroy(b);
    dnnl_primitive_destroy(r);
    return s == dnnl_success ? MT_OK : mt_dnnl_error("reorder", s);
}

static mt_tensor *tensor_of(mt_net *net, int id, const char *fn)
{
    if (!net || !net->finalized) {
        mt_error(MT_ERR_ARG, "%s: net is %s", fn, net ? "not finalized" : "NULL");
        return NULL;
    }
    if (id < 0 || id >= net->n_tensors) {
        mt_error(MT_ERR_ARG, "%s: tensor %d, the net has %d", fn, id, net->n_tensors);
        return NULL;
    }
    return net->tensors[id];
}

int mt_net_backward_from(mt_net *net, int id, const float *diff_nchw)
{
    mt_tensor *t = tensor_of(net, id, "mt_net_backward_from");
    if (!t)
        return MT_ERR_ARG;
    if (!diff_nchw)
        return mt_error(MT_ERR_ARG, "mt_net_backward_from: diff is NULL");
    if (!net->trained)
        return mt_error(MT_ERR_ARG, "mt_net_backward_from: no training forward to go back through");
    reset_diffs(net);
    if (net->grads)
        memset(net->grads, 0, net->n_param * sizeof(float));
    if (!t->needs_diff)
        return MT_OK; /* nothing upstream has a gradient */
    dnnl_memory_desc_t md;
    mt_md_nchw(&md, t->n, t->c, t->h, t->w);
    int rc = reorder_user(net, &md, (void *)diff_nchw, &t->md, t->diff);
    if (rc < 0)
        return rc;
    t->diff_written = 1;
    return run_backward(net, t->producer);
}

static int read_tensor(mt_net *net, int id, float *out, int diff, const char *fn)
{
    mt_tensor *t = tensor_of(net, id, fn);
    if (!t)
        return MT_ERR_ARG;
    if (!out)
        return mt_error(MT_ERR_ARG, "%s: out is NULL", fn);
    if (diff && !t->diff)
        return mt_error(MT_ERR_ARG, "%s: tensor %d has no gradient (nothing upstream learns)", fn,
                        id);
    dnnl_memory_desc_t md;
    mt_md_nchw(&md, t->n, t->c, t->h, t->w);
    return reorder_user(net, &t->md, diff ? t->diff : t->data, &md, out);
}

int mt_net_read(mt_net *net, int id, float *out)
{
    return read_tensor(net, id, out, 0, "mt_net_read");
}

int mt_net_read_diff(mt_net *net, int id, float *out)
{
    return read_tensor(net, id, out, 1, "mt_net_read_diff");
}

int mt_net_shape(const mt_net *net, int id, int shape[4])
{
    if (!net || !shape)
        return mt_error(MT_ERR_ARG, "mt_net_shape: %s is NULL", net ? "shape" : "net");
    if (id < 0 || id >= net->n_tensors)
        return mt_error(MT_ERR_ARG, "mt_net_shape: tensor %d, the net has %d", id, net->n_tensors);
    const mt_tensor *t = net->tensors[id];
    shape[0] = t->n;
    shape[1] = t->c;
    shape[2] = t->h;
    shape[3] = t->w;
    return MT_OK;
}

float mt_net_loss(const mt_net *net)
{
    return net ? net->loss : NAN;
}

const float *mt_net_probs(const mt_net *net)
{
    if (!net || net->loss_layer < 0 || !net->finalized)
        return NULL;
    return net->layers[net->loss_layer]->out->data;
}

int mt_net_classes(const mt_net *net)
{
    return net ? net->classes : 0;
}

int mt_net_batch(const mt_net *net)
{
    return net ? net->batch : 0;
}

int mt_net_correct(const mt_net *net, int k)
{
    const float *p = mt_net_probs(net);
    if (!p)
        return mt_error(MT_ERR_ARG, "mt_net_correct: the net has no loss layer or no forward");
    if (k < 1)
        return mt_error(MT_ERR_ARG, "mt_net_correct: k = %d < 1", k);
    int C = net->classes, correct = 0;
    for (int i = 0; i < net->n_valid; i++) {
        const float *row = p + (size_t)i * C;
        float pl = row[net->labels[i]];
        /* NaN compares false against everything: without this a diverged net's
         * outputs would all count as correct */
        if (!isfinite(pl))
            continue;
        int above = 0;
        /* ties count against the label: a constant output is not "correct" */
        for (int c = 0; c < C; c++)
            above += c != net->labels[i] && row[c] >= pl;
        correct += above < k;
    }
    return correct;
}

double mt_net_macs(const mt_net *net)
{
    double m = 0;
    if (!net)
        return 0;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i]->kind->macs)
            m += net->layers[i]->kind->macs(net->layers[i]);
    return m;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* How layer l signs the net: as the layers it fuses (kind.signs_as) or as
 * itself. */
static int layer_sigs(const mt_layer *l, mt_layer_sig sig[MT_LAYER_MAX_SIG])
{
    if (l->kind->signs_as)
        return l->kind->signs_as(l, sig);
    sig[0] = (mt_layer_sig){.kind = l->kind->name, .cfg = l->cfg, .cfg_size = l->cfg_size,
                            .n_in = l->n_in, .out = {l->out->c, l->out->h, l->out->w}};
    for (int j = 0; j < l->n_in; j++) {
        sig[0].in[j][0] = l->in[j]->c;
        sig[0].in[j][1] = l->in[j]->h;
        sig[0].in[j][2] = l->in[j]->w;
    }
    return 1;
}

static uint64_t sign_layer(uint64_t h, const mt_layer_sig *s)
{
    h = fnv(h, s->kind, strlen(s->kind) + 1);
    h = fnv(h, s->cfg, s->cfg_size);
    for (int j = 0; j < s->n_in; j++)
        h = fnv(h, s->in[j], sizeof s->in[j]);
    return fnv(h, s->out, sizeof s->out);
}

uint64_t mt_net_signature(const mt_net *net)
{
    uint64_t h = 14695981039346656037ULL;
    if (!net)
        return 0;
    int in[3] = {net->c, net->h, net->w};
    h = fnv(h, in, sizeof in);
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer_sig sig[MT_LAYER_MAX_SIG];
        int n = layer_sigs(net->layers[i], sig);
        for (int k = 0; k < n; k++)
            h = sign_layer(h, &sig[k]);
    }
    uint64_t counts[2] = {net->n_param, net->n_state};
    return fnv(h, counts, sizeof counts);
}

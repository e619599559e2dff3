/* layer.h: how a layer kind is written and added to mutau's networks.
 *
 * A layer kind is a small configuration struct plus a table of functions
 * (mt_layer_kind). Adding one (for example nn/sphere_conv.c) takes one file:
 *
 *   1. A config struct (plain data, copied by value: a clone of the net
 *      rebuilds the layer from it) and a public builder function that fills it
 *      and calls mt_net_add_layer(net, &kind, inputs, n_inputs, &cfg, sizeof cfg).
 *   2. kind.infer(l): validates the inputs' logical shapes (l->in[i]->n,c,h,w)
 *      and the config, sets the output shape (l->out->c,h,w) and declares the
 *      parameters with mt_layer_param()/mt_layer_state(). Runs at build time,
 *      before any oneDNN call; errors here are the user's (MT_ERR_ARG).
 *   3. kind.compile(l): creates the oneDNN primitives ONCE for the fixed batch
 *      (l->out->n), reading the inputs' memory descriptors (l->in[i]->md, the
 *      layouts their producers chose) and setting l->out->md. Memory for
 *      activations does not exist yet; request private buffers (weight
 *      reorders, workspaces) with mt_layer_buffer(), which the net allocates.
 *      Create primitives with mt_prim_create() so the net's shared user
 *      scratchpad is sized for them. When a forward runs at another OpenMP
 *      thread count than the net was built for, the net calls destroy then
 *      compile then bind again (oneDNN splits work for the count at
 *      creation): compile must be repeatable and choose the same layouts.
 *   4. kind.bind(l) (optional) runs once when all pointers exist.
 *      kind.forward(l, train) and kind.backward(l): pointers are final by now:
 *      l->in[i]->data, l->out->data, l->out->diff, l->param, l->grad,
 *      l->state and the buffers. Forward reads inputs and writes its output;
 *      in training it keeps what backward needs. Backward reads l->out->diff
 *      and WRITES (overwrites) its parameter gradients l->grad, and for every
 *      input that wants a gradient writes it at mt_layer_diff_begin(l, i),
 *      then calls mt_layer_diff_end(l, i) (which sums it into the input's
 *      gradient when another layer already wrote one: residual branches).
 *      mt_layer_diff_begin() returns NULL when the input needs no gradient
 *      (the net's input), so backward can skip that work. No allocation in
 *      forward or backward.
 *   5. kind.init(l, rng): initialises l->param and l->state (canonical layout).
 *   6. kind.destroy(l): frees what compile created (not the buffers).
 *
 * Execute primitives with mt_prim_exec(), which adds the scratchpad and names
 * the failing call. nn/conv_prim.h wraps a convolution's three primitives
 * (forward, backward data, backward weights) with the weight reorders from
 * the canonical OIHW layout, for kinds that are convolutions underneath.
 *
 * Not here: the builder's user-facing API (nn/net.h).
 */
#ifndef MT_LAYER_H
#define MT_LAYER_H

#include "core/rng.h"
#include "nn/net.h"

#include <oneapi/dnnl/dnnl.h>
#include <stddef.h>

enum { MT_LAYER_MAX_IN = 2, MT_LAYER_MAX_BUF = 8, MT_LAYER_MAX_SIG = 2 };

/* An activation: logical shape (n, c, h, w), physical layout md (chosen by
 * the producing layer's compile: often oneDNN's blocked nChw16c). data and
 * diff use the same layout, dnnl_memory_desc_get_size(&md) bytes each. */
typedef struct mt_tensor {
    int n, c, h, w;
    dnnl_memory_desc_t md;
    float *data;
    float *diff;      /* NULL when no gradient flows here */
    int needs_diff;   /* set by the net: some parameter lies upstream */
    int diff_written; /* during backward: a consumer has written diff */
    int producer;     /* layer index, -1 for the net's input */
    int index;        /* its id */
    int regen;        /* recomputed before backward instead of kept */
} mt_tensor;

typedef struct mt_layer mt_layer;

/* One layer as the net's signature (mt_net_signature) hashes it: its kind's
 * name, its configuration's bytes and its shapes. cfg points into the
 * configuration of the layer that fills it, which outlives the hashing. */
typedef struct mt_layer_sig {
    const char *kind;
    const void *cfg;
    size_t cfg_size;
    int n_in;
    int in[MT_LAYER_MAX_IN][3];
    int out[3];
} mt_layer_sig;

typedef struct mt_layer_kind {
    const char *name; /* short, also the default prefix of layer names: "conv" */
    int (*infer)(mt_layer *l);
    int (*compile)(mt_layer *l);
    int (*forward)(mt_layer *l, int train);
    int (*backward)(mt_layer *l);
    int (*init)(mt_layer *l, mt_rng *rng); /* NULL: parameters 0, state 0 */
    void (*destroy)(mt_layer *l);          /* NULL: nothing to free */
    double (*macs)(const mt_layer *l);     /* per image; NULL: 0 */
    /* Called once after finalize allocated every buffer: create oneDNN memory
     * objects on the final pointers here. NULL: nothing to bind. */
    int (*bind)(mt_layer *l);
    /* Recomputes the output of the last training forward, bit for bit, from
     * what the layer keeps and the inputs it declared (mt_layer_can_regen),
     * changing nothing else. NULL: cannot. */
    int (*regen)(mt_layer *l);
    /* A kind that fuses layers of other kinds signs the net as those layers
     * would (fills sig, its cfg pointing into l->cfg, and returns how
     * many), so that a net built either way has one signature and its
     * checkpoints resume in the other: it must then declare their
     * parameters in their order. NULL: signs as itself. */
    int (*signs_as)(const mt_layer *l, mt_layer_sig sig[MT_LAYER_MAX_SIG]);
} mt_layer_kind;

struct mt_layer {
    const mt_layer_kind *kind;
    mt_net *net;
    int index;
    char name[32];
    int n_in;
    mt_tensor *in[MT_LAYER_MAX_IN];
    mt_tensor *out;
    void *cfg; /* the kind's configuration (a copy) */
    size_t cfg_size;
    void *priv; /* the kind's run-time state, created by compile */
    float *param, *grad; /* views into the net's flat buffers */
    size_t n_param;
    size_t param_offset;
    float *state;
    size_t n_state;
    size_t state_offset;
    size_t buf_size[MT_LAYER_MAX_BUF]; /* bytes requested at compile */
    int buf_scope[MT_LAYER_MAX_BUF];   /* enum mt_buf_scope */
    void *buf[MT_LAYER_MAX_BUF];       /* allocated by the net, 64-byte aligned */
    /* What backward reads (mt_layer_backward_reads; all, until compile says) */
    int bwd_in[MT_LAYER_MAX_IN], bwd_out;
    int regen_ok, regen_in[MT_LAYER_MAX_IN]; /* mt_layer_can_regen */
    /* Backward only: where input i's gradient is written when another
     * consumer wrote it first (then summed in), or when it needs none
     * (mt_layer_diff_scratch); placed by the net (nn/buffers.c). */
    void *diff_tmp[MT_LAYER_MAX_IN];
    double t_fwd, t_bwd;               /* profile: seconds */
    /* profile: of t_fwd ([0]) and t_bwd ([1]), the seconds spent in
     * convolution primitives and in weight reorders (nn/conv_prim.c) */
    double t_conv[2], t_reorder[2];
    double t_regen; /* profile: recomputing the output for backward (kind.regen) */
};

/* Appends a layer of `kind` reading tensors in[0..n_in) and returns the id of
 * its output tensor (or a negative status; a negative input id is returned
 * as is). cfg (cfg_size bytes) is copied. */
int mt_net_add_layer(mt_net *net, const mt_layer_kind *kind, const int *in, int n_in,
                     const void *cfg, size_t cfg_size);

/* In infer: declares a parameter segment of `count` floats named
 * "<layer name>.<pname>" with its shape; they are laid out in call order.
 * Returns the offset within the layer's parameters. */
int mt_layer_param(mt_layer *l, const char *pname, int kind, int ndim, const int *shape);
int mt_layer_state(mt_layer *l, const char *pname, int kind, int ndim, const int *shape);

/* In compile: asks for private buffer `slot` of `bytes` (l->buf[slot] later),
 * kept for the net's life. */
int mt_layer_buffer(mt_layer *l, int slot, size_t bytes);

/* How long a private buffer must hold its contents:
 *   MT_BUF_ALWAYS    the net's life (mt_layer_buffer);
 *   MT_BUF_TRAINING  from the layer's forward to its backward (and the
 *                    recomputation of its output between them): a cache
 *                    for backward; an inference net leaves the slot NULL;
 *   MT_BUF_FORWARD   within the layer's forward only (a weight reorder that
 *                    backward does not read);
 *   MT_BUF_BACKWARD  within the layer's backward only (NULL in an inference
 *                    net).
 * All but MT_BUF_ALWAYS share memory with other buffers outside that span:
 * nothing may be read there from one step to the next. */
enum mt_buf_scope { MT_BUF_ALWAYS, MT_BUF_TRAINING, MT_BUF_BACKWARD, MT_BUF_FORWARD };
int mt_layer_buffer_scoped(mt_layer *l, int slot, size_t bytes, int scope);

/* In compile: which activations backward reads (input 0, input 1, the
 * output). Until a kind says, the net assumes all; one that does not read an
 * activation lets the net reuse its memory once the forward pass is past it.
 * Read means the data: every backward reads its output's gradient. */
void mt_layer_backward_reads(mt_layer *l, int in0, int in1, int out);

/* In compile: kind.regen can recompute the output exactly, reading these
 * inputs (and the layer's own buffers). The net may then drop the output
 * after forward and recompute it before the backward that reads it. */
void mt_layer_can_regen(mt_layer *l, int in0, int in1);

/* 0 in an inference net (mt_net_inference): compile makes forward
 * primitives only, requests no caches, and forward(l, 1) is never called. */
int mt_layer_training(const mt_layer *l);

/* In backward: where to write the gradient of input i (NULL: not needed),
 * and the call that completes it. */
float *mt_layer_diff_begin(mt_layer *l, int i);
int mt_layer_diff_end(mt_layer *l, int i);
/* In backward, for a layer whose primitive writes an input gradient that is
 * not needed (mt_layer_diff_begin gave NULL): a buffer of input i's size. */
float *mt_layer_diff_scratch(mt_layer *l, int i);

/* The net's oneDNN engine and stream (one per net). */
dnnl_engine_t mt_net_engine(const mt_net *net);
dnnl_stream_t mt_net_stream(const mt_net *net);
/* The labels of the current batch (n ints) and the number of valid samples. */
const int *mt_net_labels(const mt_net *net);
int mt_net_valid(const mt_net *net);
/* For the loss layer: reports the batch's mean loss. */
void mt_net_set_loss(mt_net *net, float loss);

/* A primitive attribute with the user scratchpad mode (free with
 * dnnl_primitive_attr_destroy), and primitive creation that records the
 * primitive's scratchpad size with the net. */
int mt_attr_create(dnnl_primitive_attr_t *attr);
int mt_prim_create(mt_net *net, dnnl_primitive_t *prim, const_dnnl_primitive_desc_t pd,
                   const char *what);
/* Executes prim with args plus the net's scratchpad. args' memory objects
 * are created once (mt_mem_create) and their data handles set as needed. */
int mt_prim_exec(mt_net *net, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
                 const char *what);
int mt_mem_create(mt_net *net, dnnl_memory_t *mem, const dnnl_memory_desc_t *md, void *data);
/* The data type layers that compute in the net's precision give their
 * activations: dnnl_bf16 for MT_BF16, else dnnl_f32. Layers that pass an
 * activation through (batch norm, pooling, the add, ...) keep their input's
 * type; layers that compute on plain floats (linear, loss) produce fp32 and
 * read their input through nn/plain_input.h, which converts. */
dnnl_data_type_t mt_net_dtype(const mt_net *net);
/* Elements (not bytes) of a memory descriptor, padding included. */
size_t mt_md_count(const dnnl_memory_desc_t *md);
/* A plain md: 4-D NCHW for (n,c,h,w), 2-D "ab" and 1-D "a" variants. */
void mt_md_nchw(dnnl_memory_desc_t *md, int n, int c, int h, int w);
void mt_md_plain(dnnl_memory_desc_t *md, int ndims, const int *dims, dnnl_format_tag_t tag);
/* Offset in floats of logical element (n, c, h, w) in a blocked md. */
size_t mt_md_offset(const dnnl_memory_desc_t *md, int n, int c, int h, int w);

/* Reports a failed oneDNN call as MT_ERR_LIB naming it. */
#define MT_DNNL(call)                                                                       \
    do {                                                                                    \
        dnnl_status_t mt_dnnl_s_ = (call);                                                  \
        if (mt_dnnl_s_ != dnnl_success)                                                     \
            return mt_dnnl_error(#call, mt_dnnl_s_);                                        \
    } while (0)
int mt_dnnl_error(const char *call, dnnl_status_t s);

#endif

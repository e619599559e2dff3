/* method.h: the update rules a parameter server applies per push, behind one
 * interface, with the state each needs.
 *
 *   msgd          eq. 1.3 of Liu et al. 2018, optim/msgd.h
 *   staleness-lr  eta / max(1, tau), Zhang et al. 2016, optim/staleness_lr.h
 *   dc-asgd       delay-compensated gradient, Zheng et al. 2017, optim/dc_asgd.h
 *   dana          DANA-Zero, per-worker momentum and a look-ahead pull,
 *                 Hakimi et al. 2019, optim/dana.h
 *
 * and, for any of them, `momentum auto` (optim/momentum_auto.h): mu chosen per
 * push from the mean staleness so far, the configured momentum being the
 * target.
 *
 * How a server uses it (ps/server.h):
 *   pull:  mt_method_read(m, theta, velocity, out, b, e, mu) for each range
 *          (a copy; dana's look-ahead), mu = mt_method_momentum(m) taken once
 *          per pull;
 *   push:  p = mt_method_begin(m, worker, tau, lr) once, in the order the
 *          pushes are applied (it advances the auto-momentum statistics), then
 *          mt_method_apply(m, &p, theta, velocity, grad, theta_read, b, e) on
 *          each range, in any split: every rule is elementwise, so splitting
 *          [0, n) into shards does not change a bit.
 * `velocity` is the server's second buffer: theta_k - theta_{k-1} (msgd.h's
 * velocity; Nesterov's for msgd, staleness-lr and dc-asgd), and for dana the
 * sum U of the workers' momenta. theta_read (dc-asgd only,
 * mt_method_needs_read) is the parameters the gradient was computed at.
 *
 * Per-worker and per-coordinate state lives here (dc-asgd's MeanSquare, dana's
 * u^i, the auto statistics) and goes into checkpoints with
 * mt_method_ckpt_add / mt_method_ckpt_load.
 *
 * Thread safety: like the server's buffers: begin under the lock that orders
 * pushes, apply and read on a range under that range's lock; a worker has at
 * most one push in flight.
 */
#ifndef MT_OPTIM_METHOD_H
#define MT_OPTIM_METHOD_H

#include "core/checkpoint.h"
#include "optim/dc_asgd.h"
#include "optim/momentum_auto.h"
#include "optim/msgd.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MT_METHOD_MSGD,
    MT_METHOD_STALENESS_LR,
    MT_METHOD_DC_ASGD,
    MT_METHOD_DANA,
    MT_METHOD_COUNT
} mt_method_kind;

/* "msgd", "staleness-lr", "dc-asgd", "dana". */
const char *mt_method_name(mt_method_kind k);
/* The kind of a name; MT_ERR_ARG naming the valid ones otherwise. */
int mt_method_parse(const char *name, mt_method_kind *out);

typedef struct {
    mt_method_kind kind;
    mt_msgd_config opt;    /* momentum (the target with momentum_auto), weight decay, Nesterov */
    int momentum_auto;     /* 1: mu from optim/momentum_auto.h, opt.momentum the target */
    mt_dc_asgd_config dc;  /* dc-asgd's lambda */
    int workers;           /* W >= 1 (dana keeps one momentum per worker) */
} mt_method_config;

/* kind, opt, one worker, fixed momentum, dc-asgd's defaults. */
void mt_method_config_default(mt_method_config *c, mt_method_kind kind, const mt_msgd_config *opt);

/* Checks every field (dana with Nesterov is refused: its look-ahead is the
 * Nesterov step already); names the field at fault. */
int mt_method_config_check(const mt_method_config *c);

typedef struct mt_method mt_method;

/* A method for a buffer of n floats, weight decay per range (NULL: all of
 * [0, n) decayed; copied), its state zero. */
int mt_method_create(mt_method **out, const mt_method_config *c, const mt_msgd_ranges *decay,
                     size_t n);
void mt_method_free(mt_method *m);

const mt_method_config *mt_method_config_of(const mt_method *m);
/* 1 when mt_method_apply needs theta_read (dc-asgd with lambda_0 > 0). */
int mt_method_needs_read(const mt_method *m);

/* The scalars of one push, fixed by mt_method_begin. */
typedef struct {
    int worker;   /* [0, W) */
    int64_t tau;  /* staleness, >= 0 */
    double lr;    /* the step actually used (staleness-lr divides) */
    double mu;    /* the momentum used (auto: from the mean staleness) */
} mt_method_push;

mt_method_push mt_method_begin(mt_method *m, int worker, int64_t tau, double lr);

void mt_method_apply(mt_method *m, const mt_method_push *p, float *theta, float *velocity,
                     const float *grad, const float *theta_read, size_t begin, size_t end);

/* The momentum a pull uses now (the fixed mu, or the auto rule's current). */
double mt_method_momentum(const mt_method *m);

/* What a worker reads of [begin, end): theta, or dana's theta + mu U. */
void mt_method_read(const mt_method *m, const float *theta, const float *velocity, float *out,
                    size_t begin, size_t end, double mu);

/* The state itself, for a transport that moves it between copies of the
 * method (the MPI server ranks gather their shards' state to rank 0 and
 * scatter it back on a restore): dc-asgd-a's MeanSquare (n floats; NULL for
 * other methods), dana's momenta (W x n floats, worker w's at w n; NULL for
 * other methods), and the auto-momentum statistics. */
float *mt_method_mean_square(mt_method *m);
float *mt_method_dana_u(mt_method *m);
mt_momentum_auto *mt_method_auto(mt_method *m);

/* Sections "method.*" of a checkpoint: the kind and sizes (a checkpoint of
 * another method, worker count or size is refused naming the field), the
 * auto statistics, MeanSquare, the u^i. The bytes stay in m: write the
 * checkpoint before the next push. Loading a checkpoint without them (written
 * before methods existed) is accepted for plain msgd, which has no state. */
int mt_method_ckpt_add(mt_method *m, mt_ckpt *c);
int mt_method_ckpt_load(mt_method *m, const mt_ckpt *c);

#endif

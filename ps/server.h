/* server.h: the parameter server's state and its two operations, pull and
 * push, for the paper's Async-MSGD (eq. 1.3)
 *
 *     theta_{k+1} = theta_k - lr_k * (g + wd * theta_k) + mu * (theta_k - theta_{k-1}),
 *     g = grad l(theta_{k - tau_k}),   tau_k = k - (version the gradient was computed at).
 *
 * State: theta_k, the velocity v_k = theta_k - theta_{k-1} (optim/msgd.h
 * explains why the two forms are one method), the version k (updates applied
 * so far, which is also the learning-rate schedule's position), and the
 * non-trainable state (batch-norm running statistics). The update itself is
 * optim's mt_msgd_apply, called on one shard's range at a time: the server
 * adds no arithmetic of its own to the optimizer's.
 *
 * Shards and consistency. The flat buffer is split into S shards (contiguous,
 * 64-byte aligned ranges), each under its own lock; the BN state has one more
 * lock after the last shard. A push and a pull walk the shards in order 0, 1,
 * ..., S-1, state, taking the next lock before releasing the current one
 * (hand-over-hand). Nobody can overtake anybody on that walk, so:
 *   - up to S+1 pushes and pulls are in flight at once, each on a different
 *     shard (a pipeline): pushes do not serialise on one lock;
 *   - every shard sees the pushes in the same order, the order in which they
 *     took shard 0's lock. The result is exactly a sequential Async-MSGD run
 *     in that order: push number k uses lr_k and momentum on theta_k - theta_{k-1}
 *     on every shard;
 *   - a pull sees, on every shard, exactly the pushes that entered shard 0
 *     before it: it returns a whole-vector consistent theta_v with its version
 *     v, never a mix of versions (stronger than Hogwild-style per-shard
 *     atomicity, at the same cost).
 *
 * BN running statistics (n_state floats) are not gradients. A worker starts
 * from the state it pulled, s_v, and its training forward updates its copy to
 * s' = (1 - m) s_v + m b with its batch statistics b (nn/net.h; m is the
 * config's state_momentum). The push merges s' into the server's state s_k as
 *
 *     s_{k+1} = s' + (1 - m) (s_k - s_v)
 *
 * which is exactly the usual update (1 - m) s_k + m b of the current state
 * with the worker's batch statistics, however stale the worker: statistics
 * are merged in push order like gradients, and a running variance stays a
 * convex combination of variances (never negative). With tau = 0 (nobody
 * pushed since the pull) s_k = s_v and s_{k+1} = s' bit for bit: the
 * single-process update. state_momentum 0 means "unknown m": the worker's
 * increment s' - s_v is added to s_k instead.
 * A push without a pulled copy (state_read NULL) replaces the state: that is
 * for callers whose worker started from the current state (delay mode).
 *
 * Thread safety: pull and push may be called from any number of threads at
 * once. The accessors that return the raw buffers (mt_ps_server_theta ...) and
 * mt_ps_server_set_version are for a quiescent server (no pull or push in
 * flight): evaluation at an epoch end, checkpoints, restores.
 *
 * Not here: threads, modes, staleness statistics (ps/ps.h runs workers over
 * this server), the checkpoint file format (the trainer's).
 */
#ifndef MT_PS_SERVER_H
#define MT_PS_SERVER_H

#include "optim/method.h"
#include "optim/msgd.h"
#include "optim/schedule.h"

#include <stddef.h>
#include <stdint.h>

enum { MT_PS_MAX_SHARDS = 1024 };

typedef struct {
    size_t n;                    /* trainable parameters (> 0) */
    size_t n_state;              /* non-trainable state floats (0: none) */
    int shards;                  /* S in [1, MT_PS_MAX_SHARDS] */
    mt_msgd_config opt;          /* momentum, weight decay, Nesterov */
    const mt_msgd_ranges *decay; /* which ranges are decayed; NULL: all of [0, n). Copied. */
    mt_schedule schedule;        /* lr as a function of the version k */
    double state_momentum;       /* m of the workers' BN update, in [0, 1) (0.1) */
    /* The update rule (optim/method.h; all zero: msgd, eq. 1.3): */
    mt_method_kind method;
    int momentum_auto;           /* mu from the measured staleness, opt.momentum the target */
    mt_dc_asgd_config dc;        /* dc-asgd's lambda */
    int workers;                 /* per-worker state (dana); 0 counts as 1 */
} mt_ps_server_config;

typedef struct mt_ps_server mt_ps_server;

/* n parameters, n_state state floats, 1 shard, momentum 0.9, weight decay
 * 5e-4 on everything, heavy ball, constant lr 0.1 (steps_per_epoch 1), BN
 * state momentum 0.1 (nn/net.h's default), msgd (dc-asgd's defaults ready). */
void mt_ps_server_config_default(mt_ps_server_config *cfg, size_t n, size_t n_state);

/* Shard i of S of a buffer of n floats: [*begin, *end), an even split in
 * units of 16 floats (64 bytes, so two shards never share a cache line);
 * trailing shards may be empty when n is small. The MPI server ranks split the
 * buffer the same way. */
void mt_ps_shard_range(size_t n, int shards, int i, size_t *begin, size_t *end);

/* Checks the configuration (sizes, shards, optimizer, schedule, ranges) and
 * names the field at fault. */
int mt_ps_server_config_check(const mt_ps_server_config *cfg);

/* A server at version 0 with theta_0 = theta0 (n floats), zero velocity and
 * state state0 (n_state floats; NULL: zeros). */
int mt_ps_server_create(mt_ps_server **out, const mt_ps_server_config *cfg, const float *theta0,
                        const float *state0);
void mt_ps_server_free(mt_ps_server *s);

/* Copies a consistent theta_v into theta (n floats) and, when state is not
 * NULL, the matching state (n_state floats); returns v (>= 0). */
int64_t mt_ps_pull(mt_ps_server *s, float *theta, float *state);

/* One Async-MSGD step with gradient grad (n floats) computed at version
 * `version_read`. state_new/state_read: see the BN paragraph above (state_new
 * NULL: the state is left alone). On success returns tau = k - version_read
 * (>= 0) and stores k, the version the step was applied to, in *k_out (may be
 * NULL). A version_read from the future is MT_ERR_ARG and changes nothing. */
int64_t mt_ps_push(mt_ps_server *s, const float *grad, int64_t version_read,
                   const float *state_new, const float *state_read, int64_t *k_out);

/* mt_ps_push by worker `worker` (in [0, workers)) whose gradient was computed
 * at theta_read, the parameters it pulled (n floats; needed by dc-asgd, else
 * may be NULL): the method's rule (optim/method.h) is applied per push.
 * mt_ps_push is this with worker 0 and no theta_read. */
int64_t mt_ps_push_from(mt_ps_server *s, int worker, const float *grad, const float *theta_read,
                        int64_t version_read, const float *state_new, const float *state_read,
                        int64_t *k_out);

/* Applies step k's update with gradient grad on [begin, end) of the buffer,
 * without locks and without advancing the version: for callers that split one
 * synchronous step among threads (each its own range), then call
 * mt_ps_server_advance once. Sync mode's tau is 0, so every method's rule is
 * msgd's here (dc-asgd's correction is zero, staleness-lr keeps eta, momentum
 * auto its target); dana is not defined for it. */
void mt_ps_server_apply_range(mt_ps_server *s, const float *grad, int64_t k, size_t begin,
                              size_t end);
/* The synchronous step's average: dst[i] = (src[0][i] + ... + src[m-1][i]) / m
 * for i in [begin, end), summed in that order in single precision, so that
 * every runner of sync mode (threads, MPI ranks) gets the same bits. */
void mt_ps_average(float *dst, const float *const *src, int m, size_t begin, size_t end);

/* Ends a step applied with mt_ps_server_apply_range: version k -> k + 1. */
void mt_ps_server_advance(mt_ps_server *s);
/* Replaces the BN state (n_state floats) under its lock, as a push without a
 * pulled copy does: for a synchronous step's averaged state. Safe while the
 * run is live; no-op without state. */
void mt_ps_server_set_state(mt_ps_server *s, const float *state);

/* What a worker reads now, into out (n floats): theta, or dana's look-ahead.
 * Quiescent only (delay mode's ring). */
void mt_ps_server_read(mt_ps_server *s, float *out);

/* The update rule and its state (checkpoints; the momentum in use). */
mt_method *mt_ps_server_method(mt_ps_server *s);

/* Pushes completed so far (safe to call at any time; a push in flight is not
 * counted until it has passed every shard). */
int64_t mt_ps_server_version(const mt_ps_server *s);
/* The learning rate of step k. */
double mt_ps_server_lr(const mt_ps_server *s, int64_t k);

/* Quiescent access, for evaluation, checkpoints and restores. */
float *mt_ps_server_theta(mt_ps_server *s);
float *mt_ps_server_velocity(mt_ps_server *s);
float *mt_ps_server_state(mt_ps_server *s); /* NULL when n_state == 0 */
size_t mt_ps_server_n(const mt_ps_server *s);
size_t mt_ps_server_n_state(const mt_ps_server *s);
int mt_ps_server_shards(const mt_ps_server *s);
/* Shard i's range [begin, end) and the number of pushes it has applied. */
void mt_ps_server_shard(const mt_ps_server *s, int i, size_t *begin, size_t *end,
                        int64_t *version);
/* Sets the version of every shard (restoring a checkpoint); k >= 0. */
int mt_ps_server_set_version(mt_ps_server *s, int64_t k);

#endif

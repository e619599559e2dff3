/* msgd.h: momentum SGD on flat float buffers, the update of the paper's eq. 1.2
 *
 *     theta_{k+1} = theta_k - lr * (g_k + wd * theta_k) + mu * (theta_k - theta_{k-1})
 *
 * with L2 weight decay wd folded into the gradient. The state kept between steps
 * is the velocity v_k = theta_k - theta_{k-1} (one buffer the size of theta,
 * zero before the first step). Keeping v_k and keeping theta_{k-1} are the same
 * method: with v_k = theta_k - theta_{k-1} the update reads
 *
 *     v_{k+1} = mu * v_k - lr * (g_k + wd * theta_k),   theta_{k+1} = theta_k + v_{k+1}
 *
 * and v_{k+1} = theta_{k+1} - theta_k again. mt_msgd_step_prev() is the same
 * update written on (theta_k, theta_{k-1}) for callers that keep the previous
 * parameters (a parameter server holding two versions); the two agree to
 * rounding (tests/test_optim.c checks it).
 *
 * Because v is a displacement in parameter space, a change of the learning
 * rate does not rescale the momentum already built up. (PyTorch's SGD keeps its
 * buffer in gradient units and multiplies it by the new lr; the two coincide
 * while lr is constant.)
 *
 * Nesterov (optional) is Sutskever's form evaluated at theta_k, as in PyTorch:
 * the step taken is mu * v_{k+1} - lr * d_k where v_{k+1} = mu * v_k - lr * d_k
 * and d_k = g_k + wd * theta_k. There v is a velocity, not theta_k - theta_{k-1}.
 *
 * Weight decay applies per range of the flat buffer (mt_msgd_ranges): models
 * list their parameter segments, and the trainer chooses whether batch-norm
 * scales/shifts and biases are decayed (the flag --wd-bn-bias).
 *
 * Not here: the learning-rate schedule (optim/schedule.h), gradient clipping,
 * Adam and friends, locking (the parameter server shards the buffer and calls
 * mt_msgd_apply on each shard's range under its own lock).
 */
#ifndef MT_OPTIM_MSGD_H
#define MT_OPTIM_MSGD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double momentum;     /* mu in [0, 1) */
    double weight_decay; /* lambda >= 0, applied where the range says so */
    int nesterov;        /* 0: the paper's heavy ball; 1: Nesterov */
} mt_msgd_config;

/* One contiguous run of the flat parameter buffer and whether weight decay
 * applies to it. */
typedef struct {
    size_t offset;
    size_t count;
    int decay;
} mt_msgd_range;

/* The ranges of a buffer, sorted by offset and covering [0, n) without overlap.
 * Parts of [0, n) not listed are updated without decay. */
typedef struct {
    mt_msgd_range *ranges;
    int n_ranges;
    int cap;
    size_t n;
} mt_msgd_ranges;

/* Checks mu in [0, 1), wd >= 0 and finite; names the field at fault. */
int mt_msgd_config_check(const mt_msgd_config *c);

/* Ranges: start empty for a buffer of n floats, append in increasing offset
 * order (adjacent ranges with the same decay are merged). */
int mt_msgd_ranges_init(mt_msgd_ranges *r, size_t n);
int mt_msgd_ranges_add(mt_msgd_ranges *r, size_t offset, size_t count, int decay);
void mt_msgd_ranges_free(mt_msgd_ranges *r);
/* How many floats are decayed. */
size_t mt_msgd_ranges_decayed(const mt_msgd_ranges *r);

/* The update on theta[0..n) with one weight decay for all of it (wd may be 0).
 * velocity holds v_k on entry and v_{k+1} on return. */
void mt_msgd_step(float *theta, float *velocity, const float *grad, size_t n, double lr,
                  double mu, double wd, int nesterov);

/* The same update (heavy ball only) on (theta_k, theta_{k-1}): prev holds
 * theta_{k-1} on entry and theta_k on return. */
void mt_msgd_step_prev(float *theta, float *prev, const float *grad, size_t n, double lr,
                       double mu, double wd);

/* Calls fn(ctx, b, e, wd) for consecutive pieces [b, e) covering [begin, end),
 * wd being weight_decay where the ranges decay and 0 elsewhere: how every
 * elementwise rule in optim/ applies decay per range. */
void mt_msgd_ranges_walk(const mt_msgd_ranges *r, size_t begin, size_t end, double weight_decay,
                         void (*fn)(void *ctx, size_t b, size_t e, double wd), void *ctx);

/* The update on [begin, end) of the flat buffer, weight decay per range.
 * theta, velocity and grad point at element 0 of the whole buffer. */
void mt_msgd_apply(const mt_msgd_config *c, const mt_msgd_ranges *r, float *theta,
                   float *velocity, const float *grad, size_t begin, size_t end, double lr);

#endif

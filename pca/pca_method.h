/* pca_method.h: the asynchrony remedies of optim/method.h on the streaming-PCA
 * iteration (pca.h, eq. 2.1), in double precision. The Oja direction
 * D = (I - w w^T) x x^T w is an ascent direction, the negative of a gradient
 * g = -D, so each rule is applied to g and written back in terms of D:
 *
 *   msgd          v_{k+1} = v_k + mu (v_k - v_{k-1}) + eta D(w),   w = v_{k-tau_k}
 *   staleness-lr  eta_k = eta / max(1, tau_k)                  (optim/staleness_lr.h)
 *   dc-asgd       D~ = D - lambda (.) D (.) D (.) (v_k - w), lambda constant or
 *                 lambda_0 / sqrt(MeanSquare + eps) with MeanSquare the average of
 *                 D (.) D                                      (optim/dc_asgd.h)
 *   dana          W = tau + 1 workers served in turn (worker k mod W pushes at
 *                 step k and pulls right after, so its read is tau_k = tau old):
 *                 u^i <- mu u^i + eta D(w), v_{k+1} = v_k + u^i, and the read is
 *                 DANA's look-ahead v_j + mu sum_i u^i of version j
 *                 (optim/dana.h); fixed delays only (a random delay has no
 *                 worker to give it)
 *   auto          msgd with mu_k from optim/momentum_auto.h: the cell's momentum
 *                 is the target, tau_bar the mean of the delays drawn so far
 *
 * (auto combines with the others too: `momentum_auto` below.)
 *
 * Not here: the loop, the sampler and the delay draws (pca_run.c).
 */
#ifndef MT_PCA_METHOD_H
#define MT_PCA_METHOD_H

#include "optim/momentum_auto.h"
#include "pca/pca.h"

/* "msgd", "staleness-lr", "dc-asgd", "dana", "auto" (msgd with momentum
 * auto); dc-asgd with optim/dc_asgd.h's defaults. MT_ERR_ARG naming the
 * valid names otherwise. */
int mt_pca_method_parse(const char *name, mt_pca_method *out);
/* The name above ("auto" for msgd with momentum auto, "NAME+auto" for the
 * others with it). */
const char *mt_pca_method_name(const mt_pca_method *m, char *buf, int cap);

/* Checks the method against the run (dana: fixed delays only). */
int mt_pca_method_check(const mt_pca_run_cfg *cfg);

/* Doubles of scratch the method needs beyond the run's own. */
long mt_pca_method_work_size(const mt_pca_run_cfg *cfg);

/* A method's state for one run, inside `work`. */
typedef struct {
    const mt_pca_run_cfg *cfg;
    int d, workers;
    long ring;           /* dana: slots of `reads` */
    double *mean_square; /* (d) dc-asgd-a */
    double *u;           /* (workers, d) dana */
    double *u_sum;       /* (d) dana */
    double *reads;       /* (ring, d) dana: the look-ahead of version j in slot j % ring */
    double *dir;         /* (d) the Oja direction */
    mt_momentum_auto autom;
} mt_pca_method_state;

/* work: mt_pca_method_work_size doubles; v0 the start. */
void mt_pca_method_init(mt_pca_method_state *s, const mt_pca_run_cfg *cfg, double *work,
                        const double *v0);

/* 1 when the method reads its own ring (dana) instead of the iterates. */
int mt_pca_method_own_reads(const mt_pca_method_state *s);

/* Step k with delay t (already clamped to k): v_next from v = v_k, v_prev =
 * v_{k-1}, w = v_{k-t} (ignored by dana, which reads its own ring) and the
 * sample x. v_next may not alias the inputs. */
void mt_pca_method_step(mt_pca_method_state *s, long k, long t, double *v_next, const double *v,
                        const double *v_prev, const double *w, const double *x);

#endif

/* weightnorm_linear.h: the weight-normalised linear classifier of
 * SphereNet (Liu et al. 2017): logits z_j = <w_j, x> / |w_j|, with
 * |w_j| = sqrt(sum w_j^2 + 1e-4) (the reference's eps). Only the weights are
 * normalised: the input keeps its norm, so z_j = |x| cos(w_j, x), and there
 * is no bias and no scale (as in the reference's "w_norm = cosine" score
 * layer). The input is flattened in NCHW order, like mt_linear().
 *
 * Parameter "<name>.weight" (out, in), initialised He-normal, std
 * sqrt(2 / in), as the reference initialises its classifier.
 *
 * Not here: normalising the input too (a SphereConv with k = 1 does that).
 */
#ifndef MT_WEIGHTNORM_LINEAR_H
#define MT_WEIGHTNORM_LINEAR_H

#include "nn/net.h"

/* Returns the (out, 1, 1) logits tensor id, or a negative status. */
int mt_weightnorm_linear(mt_net *net, int x, int out);

#endif

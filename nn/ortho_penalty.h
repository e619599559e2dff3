/* ortho_penalty.h: the soft orthogonality penalty on a layer's filters,
 *     P(W) = lambda/2 |W W^T - I|_F^2,   dP/dW = 2 lambda (W W^T - I) W,
 * with W the (rows, cols) row-major matrix whose rows are the filters (a
 * convolution's OIHW weights are W with rows = out, cols = in*kh*kw). The
 * Gram matrix W W^T is the reference's W^T W of the transposed (HWIO) layout,
 * so the penalty is the same. On OpenBLAS.
 *
 * Not here: which layers use it and with which lambda (nn/sphere_conv.h).
 */
#ifndef MT_ORTHO_PENALTY_H
#define MT_ORTHO_PENALTY_H

/* Returns P(W). When grad is not NULL, adds dP/dW into it. gram is scratch
 * of rows*rows floats. rows, cols > 0. */
double mt_ortho_penalty(const float *w, int rows, int cols, float lambda, float *grad,
                        float *gram);

#endif

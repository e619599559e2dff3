/* ortho_penalty.c: lambda/2 |W W^T - I|^2 and its gradient on OpenBLAS.
 * The Gram matrix is a syrk (half the work of a gemm), the gradient one gemm. */
#include "nn/ortho_penalty.h"

#include <cblas.h>

double mt_ortho_penalty(const float *w, int rows, int cols, float lambda, float *grad,
                        float *gram)
{
    /* gram = W W^T (upper triangle), then the full symmetric M = gram - I. */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, rows, cols, 1.0f, w, cols, 0.0f, gram,
                rows);
    double sum = 0.0;
    for (int i = 0; i < rows; i++) {
        gram[(size_t)i * rows + i] -= 1.0f;
        double d = gram[(size_t)i * rows + i];
        sum += d * d;
        for (int j = i + 1; j < rows; j++) {
            float v = gram[(size_t)i * rows + j];
            gram[(size_t)j * rows + i] = v;
            sum += 2.0 * (double)v * v;
        }
    }
    if (grad)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cols, rows, 2.0f * lambda,
                    gram, rows, w, cols, 1.0f, grad, cols);
    return 0.5 * lambda * sum;
}

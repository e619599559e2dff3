/* fuzz_pca_cov.c: the covariance file of `mutau pca --sigma FILE`
 * (pca/pca_cov.c): rows of numbers, comments, then the checks of a symmetric
 * positive semi-definite matrix and its eigendecomposition. */
#include "pca/pca.h"
#include "core/status.h"
#include "tests/fuzz/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    mt_pca_cov c;
    if (mt_pca_cov_read(&c, fuzz_memfile(0, data, n)) == MT_OK)
        mt_pca_cov_free(&c);
    return 0;
}

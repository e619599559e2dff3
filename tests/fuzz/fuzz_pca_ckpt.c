/* fuzz_pca_ckpt.c: a `mutau pca` grid's progress.bin as --resume loads it
 * (pca/pca_ckpt.c): the settings, the covariance rebuilt from them, and the
 * completed cells. As in fuzz_checkpoint, the target writes the CRC-32 of
 * the input over its last four bytes. */
#include "core/status.h"
#include "pca/pca.h"
#include "pca/pca_ckpt.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 4)
        return 0;
    uint8_t *buf = fuzz_with_crc(data, n);
    mt_pca_saved saved;
    mt_pca_grid_result res;
    if (mt_pca_ckpt_load(fuzz_memfile(0, buf, n), &saved, &res) == MT_OK) {
        mt_pca_saved_free(&saved);
        mt_pca_grid_free(&res);
    }
    free(buf);
    return 0;
}

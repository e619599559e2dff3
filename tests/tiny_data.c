/* tiny_data.c: the tiny synthetic dataset of the training tests (see
 * tiny_data.h). */
#include "tests/tiny_data.h"

#include "datasets/synth.h"

#include <check.h>
#include <stddef.h>

void tiny_data_write(const char *dir)
{
    mt_synth_config sc;
    mt_synth_config_default(&sc, MT_FORMAT_IDX);
    sc.classes = 4;
    sc.n_train = 192;
    sc.n_test = 64;
    sc.h = sc.w = 8;
    sc.gzip = 0;
    ck_assert_int_eq(mt_synth_write(dir, &sc, NULL), 0);
}

/* fuzz_conv_choice.c: the record of convolution algorithm choices
 * (nn/conv_choice.c), a file any process of the machine may have written or
 * damaged, read as a network's build reads it. Each input is the whole file;
 * the shape looked up changes every time, so that no answer remembered in
 * memory stops the file from being read, and one shape of the seed is looked
 * up too (its record, when the input still holds it, is then remembered). */
#include "nn/conv_choice.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static int calls;
    setenv("MUTAU_CONV_CACHE", fuzz_memfile(0, data, n), 1);
    mt_conv_key k = {1, 1000000 + calls++, 16, 8, 8, 16, 3, 1, 1, 0, 1, 1};
    int w[MT_CONV_PASSES];
    mt_conv_choice_find(&k, w);
    k.n = 8;
    mt_conv_choice_find(&k, w);
    return 0;
}

/* fuzz_conv_record.c: a run's record of convolution choices, the checkpoint
 * section a resumed run reads before it builds a network
 * (nn/conv_record.c). Each input is the section's bytes; what parses is
 * compared with this machine and described, as the resume does, but not
 * pinned (the process would keep every input's shapes). */
#include "nn/conv_record.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    mt_conv_record r;
    if (mt_conv_record_parse(&r, data, n) == 0) {
        char s[96];
        mt_conv_record_same_machine(&r);
        mt_conv_record_machine_str(&r, s, sizeof s);
        mt_conv_record_free(&r);
    }
    return 0;
}

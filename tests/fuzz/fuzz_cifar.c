/* fuzz_cifar.c: CIFAR-100 and CIFAR-10 binary files (datasets/cifar.c),
 * opened as datasets (datasets/dataset.c: detection, then the reader): the
 * input is every file of a CIFAR-100 and of a CIFAR-10 folder at once. */
#include "core/status.h"
#include "datasets/dataset.h"
#include "datasets/formats.h"
#include "tests/fuzz/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char c100[512], c10[512];

/* dir/name -> the in-memory input file. */
static void link_input(const char *dir, const char *name, const char *target)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (symlink(target, path) != 0) {
        perror(path);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *input = fuzz_memfile(0, data, n);
    if (!c100[0]) {
        snprintf(c100, sizeof c100, "%s/c100", fuzz_scratch());
        snprintf(c10, sizeof c10, "%s/c10", fuzz_scratch());
        if (mkdir(c100, 0700) != 0 || mkdir(c10, 0700) != 0)
            abort();
        link_input(c100, "train.bin", input);
        link_input(c100, "test.bin", input);
        for (int b = 1; b <= 5; b++) {
            char name[32];
            snprintf(name, sizeof name, "data_batch_%d.bin", b);
            link_input(c10, name, input);
        }
        link_input(c10, "test_batch.bin", input);
    }
    mt_split s;
    for (int coarse = 0; coarse < 2; coarse++)
        if (mt_cifar100_read(input, coarse, &s) == MT_OK)
            mt_split_free(&s);
    const char *dirs[2] = {c100, c10};
    for (int k = 0; k < 2; k++) {
        mt_dataset ds;
        mt_dataset_options opt = {.coarse = k == 0, .val_size = 1, .val_seed = 7};
        if (mt_dataset_open(&ds, dirs[k], &opt) == MT_OK)
            mt_dataset_free(&ds);
    }
    return 0;
}

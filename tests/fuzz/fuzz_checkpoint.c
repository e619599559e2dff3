/* fuzz_checkpoint.c: a training run's checkpoint.bin as `mutau train
 * --resume` loads it (core/checkpoint.c, then every section's checks in
 * trainer/trainer.c), into a small ResNet on a small synthetic dataset, and
 * its convolution choices as the resume reads them before building a net
 * (trainer/conv_choices.c: parsed, not pinned).
 *
 * The target writes the model's signature over the input's (bytes 16-23) and
 * the CRC-32 of its bytes over its last four, so mutations reach the sections
 * instead of stopping at those checks (whose refusals test_checkpoint
 * covers). With FUZZ_WRITE_SEED=PATH set it writes
 * the model's genuine checkpoint to PATH and exits: the seed corpus. */
#include "core/checkpoint.h"
#include "core/status.h"
#include "datasets/synth.h"
#include "nn/conv_record.h"
#include "tests/fuzz/util.h"
#include "trainer/conv_choices.h"
#include "trainer/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mt_trainer trainer;

static void open_trainer(void)
{
    char data[600];
    snprintf(data, sizeof data, "%s/data", fuzz_scratch());
    mt_synth_config sc;
    mt_synth_config_default(&sc, MT_FORMAT_IDX);
    sc.classes = 4, sc.n_train = 16, sc.n_test = 8, sc.h = sc.w = 8, sc.gzip = 0;
    mt_train_config cfg;
    mt_train_config_default(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data);
    snprintf(cfg.model, sizeof cfg.model, "resnet8");
    snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s/run", fuzz_scratch());
    cfg.width = 16, cfg.batch = 4, cfg.epochs = 2, cfg.eval_batch = 8, cfg.threads = 1;
    cfg.progress = MT_PROGRESS_QUIET;
    if (mt_synth_write(data, &sc, NULL) != MT_OK || mt_trainer_open(&trainer, &cfg) != MT_OK) {
        fprintf(stderr, "fuzz_checkpoint: %s\n", mt_errmsg());
        abort();
    }
    const char *seed = getenv("FUZZ_WRITE_SEED");
    if (seed) {
        trainer.epoch = 1, trainer.next_index = 2, trainer.step = 6;
        int rc = mt_trainer_save(&trainer, seed);
        if (rc != MT_OK)
            fprintf(stderr, "fuzz_checkpoint: %s\n", mt_errmsg());
        exit(rc == MT_OK ? 0 : 1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    open_trainer();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 4)
        return 0;
    uint8_t *sig = malloc(n);
    if (!sig)
        abort();
    memcpy(sig, data, n);
    for (int i = 0; i < 8 && 16 + i < (int)n - 4; i++)
        sig[16 + i] = (uint8_t)(trainer.signature >> (8 * i));
    uint8_t *buf = fuzz_with_crc(sig, n);
    free(sig);
    const char *path = fuzz_memfile(0, buf, n);
    mt_trainer_load(&trainer, path);
    free(buf);
    unsigned char *rec;
    size_t size;
    mt_conv_record r;
    if (mt_conv_choices_read(path, &rec, &size) == MT_OK && rec &&
        mt_conv_record_parse(&r, rec, size) == MT_OK)
        mt_conv_record_free(&r);
    free(rec);
    return 0;
}

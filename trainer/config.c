/* config.c: training settings, defaults and their JSON form. */
#include "trainer/config.h"

#include "core/checkpoint.h"
#include "core/status.h"
#include "nn/net.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_train_config_default(mt_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->augment = 1;
    c->pad = 4;
    c->flip = 1;
    snprintf(c->model, sizeof c->model, "resnet20");
    snprintf(c->sphere_op, sizeof c->sphere_op, "linear");
    c->epochs = 200;
    c->batch = 128;
    c->schedule.kind = MT_SCHED_MULTISTEP;
    c->schedule.base_lr = 0.2;
    c->schedule.gamma = 0.2;
    c->schedule.milestones[0] = 60;
    c->schedule.milestones[1] = 120;
    c->schedule.milestones[2] = 160;
    c->schedule.n_milestones = 3;
    c->schedule.final_lr = 0.0;
    c->momentum = 0.9;
    c->weight_decay = 5e-4;
    c->wd_bn_bias = 1;
    c->seed = 1;
    c->eval_every = 1;
    c->eval_batch = 500;
    c->ckpt_every = 1;
    c->progress = MT_PROGRESS_AUTO;
    snprintf(c->out_dir, sizeof c->out_dir, "runs/run");
}

int mt_train_config_check(const mt_train_config *c)
{
    if (c->epochs < 1 || c->epochs > MT_TRAIN_MAX_EPOCHS)
        return mt_error(MT_ERR_ARG, "--epochs: %d is not in [1, %d]", c->epochs, MT_TRAIN_MAX_EPOCHS);
    if (c->batch < 1)
        return mt_error(MT_ERR_ARG, "--batch: %d is not >= 1", c->batch);
    if (!(c->momentum >= 0.0 && c->momentum < 1.0))
        return mt_error(MT_ERR_ARG, "--momentum: %g is not in [0, 1)", c->momentum);
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return mt_error(MT_ERR_ARG, "--weight-decay: %g is not >= 0", c->weight_decay);
    if (!(c->label_smoothing >= 0.0 && c->label_smoothing < 1.0))
        return mt_error(MT_ERR_ARG, "--label-smoothing: %g is not in [0, 1)", c->label_smoothing);
    if (c->pad < 0)
        return mt_error(MT_ERR_ARG, "--pad: %d is not >= 0", c->pad);
    if (c->eval_every < 0)
        return mt_error(MT_ERR_ARG, "--eval-every: %d is not >= 0", c->eval_every);
    if (c->ckpt_every < 1)
        return mt_error(MT_ERR_ARG, "--checkpoint-every: %d is not >= 1", c->ckpt_every);
    if (c->log_every < 0)
        return mt_error(MT_ERR_ARG, "--log-every: %d is not >= 0", c->log_every);
    if (c->eval_batch < 1)
        return mt_error(MT_ERR_ARG, "--eval-batch: %d is not >= 1", c->eval_batch);
    if (c->precision != MT_FP32 && c->precision != MT_BF16)
        return mt_error(MT_ERR_ARG, "--precision: %d is neither fp32 nor bf16", c->precision);
    if (c->precision == MT_BF16 && !mt_bf16_supported())
        return mt_error(MT_ERR_ARG, "--precision bf16: this CPU has no native bf16 (AVX512_BF16), "
                                    "or oneDNN's ISA is limited below it; use --precision fp32");
    if (!(c->divergence_loss >= 0.0) || !isfinite(c->divergence_loss))
        return mt_error(MT_ERR_ARG, "--divergence-loss: %g is not a number > 0",
                        c->divergence_loss);
    mt_schedule s = c->schedule;
    s.epochs = c->epochs;
    s.steps_per_epoch = 1;
    return mt_schedule_check(&s);
}

static const char *const progress_names[] = {"auto", "bar", "plain", "quiet"};

json_t *mt_train_config_to_json(const mt_train_config *c)
{
    json_t *ms = json_array();
    for (int i = 0; i < c->schedule.n_milestones; i++)
        json_array_append_new(ms, json_integer(c->schedule.milestones[i]));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    return json_pack(
        "{s:{s:s, s:b, s:i, s:i, s:i, s:b, s:i, s:b},"
        " s:{s:s, s:s, s:i, s:f, s:s},"
        " s:{s:i, s:i, s:f, s:s, s:f, s:o, s:f, s:f, s:f, s:f, s:b, s:b, s:s},"
        " s:{s:i, s:i, s:i, s:i, s:I, s:i, s:f, s:s, s:s}}",
        "data", "dir", c->data_dir, "coarse", c->coarse, "val_size", c->val_size, "limit_train",
        c->limit_train, "limit_test", c->limit_test, "augment", c->augment, "pad", c->pad, "flip",
        c->flip,
        "model", "name", c->model, "sphere_op", c->sphere_op, "width", c->width,
        "label_smoothing", c->label_smoothing, "precision", mt_precision_name(c->precision),
        "optim", "epochs", c->epochs, "batch", c->batch, "lr", c->schedule.base_lr, "schedule",
        mt_schedule_kind_name(c->schedule.kind), "lr_gamma", c->schedule.gamma, "lr_milestones",
        ms, "lr_final", c->schedule.final_lr, "warmup_epochs", c->schedule.warmup_epochs,
        "momentum", c->momentum, "weight_decay", c->weight_decay, "nesterov", c->nesterov,
        "wd_bn_bias", c->wd_bn_bias, "seed", seed,
        "run", "threads", c->threads, "eval_every", c->eval_every, "eval_batch", c->eval_batch,
        "checkpoint_every", c->ckpt_every, "stop_after", (json_int_t)c->stop_after, "log_every",
        c->log_every, "divergence_loss", c->divergence_loss, "progress",
        progress_names[c->progress], "out", c->out_dir);
}

/* Typed getters: a key of the wrong type is an error naming it; a missing
 * key leaves the value alone. */
static int get_i64(const json_t *o, const char *sec, const char *key, int64_t *out,
                   const char *where)
{
    const json_t *v = json_object_get(json_object_get(o, sec), key);
    if (!v)
        return MT_OK;
    if (!json_is_integer(v))
        return mt_error(MT_ERR_FORMAT, "%s: %s.%s is not an integer", where, sec, key);
    *out = (int64_t)json_integer_value(v);
    return MT_OK;
}

static int get_int(const json_t *o, const char *sec, const char *key, int *out, const char *where)
{
    int64_t v = *out;
    int rc = get_i64(o, sec, key, &v, where);
    if (rc == MT_OK && (v < INT_MIN || v > INT_MAX))
        return mt_error(MT_ERR_FORMAT, "%s: %s.%s is %lld, beyond an int", where, sec, key,
                        (long long)v);
    *out = (int)v;
    return rc;
}

static int get_bool(const json_t *o, const char *sec, const char *key, int *out, const char *where)
{
    const json_t *v = json_object_get(json_object_get(o, sec), key);
    if (!v)
        return MT_OK;
    if (!json_is_boolean(v))
        return mt_error(MT_ERR_FORMAT, "%s: %s.%s is not true/false", where, sec, key);
    *out = json_is_true(v);
    return MT_OK;
}

static int get_num(const json_t *o, const char *sec, const char *key, double *out,
                   const char *where)
{
    const json_t *v = json_object_get(json_object_get(o, sec), key);
    if (!v)
        return MT_OK;
    if (!json_is_number(v))
        return mt_error(MT_ERR_FORMAT, "%s: %s.%s is not a number", where, sec, key);
    *out = json_number_value(v);
    return MT_OK;
}

static int get_str(const json_t *o, const char *sec, const char *key, char *out, size_t cap,
                   const char *where)
{
    const json_t *v = json_object_get(json_object_get(o, sec), key);
    if (!v)
        return MT_OK;
    if (!json_is_string(v) || strlen(json_string_value(v)) >= cap)
        return mt_error(MT_ERR_FORMAT, "%s: %s.%s is not a string of < %zu bytes", where, sec, key,
                        cap);
    snprintf(out, cap, "%s", json_string_value(v));
    return MT_OK;
}

int mt_train_config_from_json(mt_train_config *c, const json_t *j, const char *where)
{
    if (!json_is_object(j))
        return mt_error(MT_ERR_FORMAT, "%s: not a JSON object", where);
    char sched[32] = "", seed[32] = "", progress[16] = "", precision[8] = "";
    int rc = MT_OK;
#define TRY(call)                                                                           \
    do {                                                                                    \
        if ((rc = (call)) != MT_OK)                                                         \
            return rc;                                                                      \
    } while (0)
    TRY(get_str(j, "data", "dir", c->data_dir, sizeof c->data_dir, where));
    TRY(get_bool(j, "data", "coarse", &c->coarse, where));
    TRY(get_int(j, "data", "val_size", &c->val_size, where));
    TRY(get_int(j, "data", "limit_train", &c->limit_train, where));
    TRY(get_int(j, "data", "limit_test", &c->limit_test, where));
    TRY(get_bool(j, "data", "augment", &c->augment, where));
    TRY(get_int(j, "data", "pad", &c->pad, where));
    TRY(get_bool(j, "data", "flip", &c->flip, where));
    TRY(get_str(j, "model", "name", c->model, sizeof c->model, where));
    TRY(get_str(j, "model", "sphere_op", c->sphere_op, sizeof c->sphere_op, where));
    TRY(get_int(j, "model", "width", &c->width, where));
    TRY(get_num(j, "model", "label_smoothing", &c->label_smoothing, where));
    TRY(get_str(j, "model", "precision", precision, sizeof precision, where));
    TRY(get_int(j, "optim", "epochs", &c->epochs, where));
    TRY(get_int(j, "optim", "batch", &c->batch, where));
    TRY(get_num(j, "optim", "lr", &c->schedule.base_lr, where));
    TRY(get_str(j, "optim", "schedule", sched, sizeof sched, where));
    TRY(get_num(j, "optim", "lr_gamma", &c->schedule.gamma, where));
    TRY(get_num(j, "optim", "lr_final", &c->schedule.final_lr, where));
    TRY(get_num(j, "optim", "warmup_epochs", &c->schedule.warmup_epochs, where));
    TRY(get_num(j, "optim", "momentum", &c->momentum, where));
    TRY(get_num(j, "optim", "weight_decay", &c->weight_decay, where));
    TRY(get_bool(j, "optim", "nesterov", &c->nesterov, where));
    TRY(get_bool(j, "optim", "wd_bn_bias", &c->wd_bn_bias, where));
    TRY(get_str(j, "optim", "seed", seed, sizeof seed, where));
    TRY(get_int(j, "run", "threads", &c->threads, where));
    TRY(get_int(j, "run", "eval_every", &c->eval_every, where));
    TRY(get_int(j, "run", "eval_batch", &c->eval_batch, where));
    TRY(get_int(j, "run", "checkpoint_every", &c->ckpt_every, where));
    TRY(get_i64(j, "run", "stop_after", &c->stop_after, where));
    TRY(get_int(j, "run", "log_every", &c->log_every, where));
    TRY(get_num(j, "run", "divergence_loss", &c->divergence_loss, where));
    TRY(get_str(j, "run", "progress", progress, sizeof progress, where));
    TRY(get_str(j, "run", "out", c->out_dir, sizeof c->out_dir, where));
#undef TRY
    if (sched[0]) {
        int k = mt_schedule_kind_parse(sched);
        if (k < 0)
            return mt_error(MT_ERR_FORMAT, "%s: optim.schedule '%s' is unknown", where, sched);
        c->schedule.kind = (enum mt_schedule_kind)k;
    }
    if (precision[0]) {
        int p = mt_precision_parse(precision);
        if (p < 0)
            return mt_error(MT_ERR_FORMAT, "%s: model.precision '%s' is neither fp32 nor bf16",
                            where, precision);
        c->precision = p;
    }
    if (seed[0]) {
        char *end;
        unsigned long long v = strtoull(seed, &end, 10);
        if (*end)
            return mt_error(MT_ERR_FORMAT, "%s: optim.seed '%s' is not an integer", where, seed);
        c->seed = v;
    }
    for (int i = 0; progress[0] && i < 4; i++)
        if (strcmp(progress, progress_names[i]) == 0)
            c->progress = i;
    const json_t *ms = json_object_get(json_object_get(j, "optim"), "lr_milestones");
    if (ms) {
        if (!json_is_array(ms) || json_array_size(ms) > MT_SCHED_MAX_MILESTONES)
            return mt_error(MT_ERR_FORMAT, "%s: optim.lr_milestones is not a list of <= %d epochs",
                            where, MT_SCHED_MAX_MILESTONES);
        c->schedule.n_milestones = (int)json_array_size(ms);
        for (size_t i = 0; i < json_array_size(ms); i++) {
            const json_t *v = json_array_get(ms, i);
            if (!json_is_integer(v))
                return mt_error(MT_ERR_FORMAT, "%s: optim.lr_milestones[%zu] is not an integer",
                                where, i);
            json_int_t m = json_integer_value(v);
            if (m < INT_MIN || m > INT_MAX)
                return mt_error(MT_ERR_FORMAT, "%s: optim.lr_milestones[%zu] is beyond an int",
                                where, i);
            c->schedule.milestones[i] = (int)m;
        }
    }
    return MT_OK;
}

uint64_t mt_train_config_hash(const mt_train_config *c)
{
    /* The canonical JSON of the data, model and optim sections: the run
     * section (threads, output, display, evaluation cadence) does not change
     * the parameters' trajectory. */
    json_t *j = mt_train_config_to_json(c);
    json_object_del(j, "run");
    /* fp32 hashes as before precision existed, so older checkpoints resume */
    if (c->precision == MT_FP32)
        json_object_del(json_object_get(j, "model"), "precision");
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    uint64_t h = mt_hash64_str(MT_HASH64_INIT, s ? s : "");
    free(s);
    json_decref(j);
    return h;
}

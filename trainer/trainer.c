/* trainer.c: opening a run, the gradient/update pieces, an engine's hold on
 * the run, checkpoints and the run directory's JSON (see trainer.h; the run
 * itself is run.c). */
#include "trainer/trainer.h"


#include "core/checkpoint.h"
#include "core/meminfo.h"
#include "core/status.h"
#include "core/version.h"
#include "trainer/conv_choices.h"
#include "trainer/model.h"
#include "trainer/rundir.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- opening ------------------------------------------------------------ */

static int open_data(mt_trainer *t)
{
    const mt_train_config *c = &t->cfg;
    mt_dataset_options opt = {.coarse = c->coarse,
                              .val_size = c->val_size,
                              .val_seed = c->seed,
                              .limit_train = c->limit_train,
                              .limit_test = c->limit_test};
    int rc = c->data_dir[0] ? mt_dataset_open(&t->data, c->data_dir, &opt)
                            : mt_dataset_open_default(&t->data, &opt);
    if (rc != MT_OK)
        return mt_error_context(rc, "--data");
    if (t->data.train.n < c->batch)
        return mt_error(MT_ERR_ARG, "--batch: %d is more than the %d training images of %s",
                        c->batch, t->data.train.n, t->data.dir);
    t->eval_split = t->data.val.n > 0 ? &t->data.val : &t->data.test;
    t->eval_name = t->data.val.n > 0 ? "val" : "test";
    if (t->eval_split->n == 0)
        return mt_error(MT_ERR_FORMAT, "%s: no test images to evaluate on", t->data.dir);
    rc = mt_norm_from_split(&t->norm, &t->data.train);
    if (rc != MT_OK)
        return rc;
    mt_pipeline_config_default(&t->pipe);
    t->pipe.batch = c->batch;
    t->pipe.augment = c->augment;
    t->pipe.pad = c->pad;
    t->pipe.flip = c->flip;
    t->pipe.drop_last = 1;
    t->pipe.seed = c->seed;
    t->pipe.norm = t->norm;
    t->pipe.epochs = c->epochs;
    rc = mt_pipeline_check(&t->data.train, &t->pipe);
    if (rc != MT_OK)
        return rc;
    t->steps_per_epoch = mt_batches_per_epoch(t->data.train.n, c->batch, 1);
    return MT_OK;
}

/* Weight decay on conv and linear weights always; on batch-norm scales and
 * shifts, biases and other parameters only with wd_bn_bias. */
static int build_decay_ranges(mt_trainer *t)
{
    const mt_param_seg *segs;
    int n = mt_net_segments(t->net, &segs);
    if (n < 0)
        return n;
    mt_msgd_ranges_init(&t->decay, mt_net_param_count(t->net));
    for (int i = 0; i < n; i++) {
        if (segs[i].in_state)
            continue;
        int weight = segs[i].kind == MT_SEG_CONV_WEIGHT || segs[i].kind == MT_SEG_LINEAR_WEIGHT;
        int rc = mt_msgd_ranges_add(&t->decay, segs[i].offset, segs[i].count,
                                    weight || t->cfg.wd_bn_bias);
        if (rc != MT_OK)
            return rc;
    }
    return MT_OK;
}

/* net_batch: the batch the training net is built for. */
static int open_trainer(mt_trainer *t, const mt_train_config *cfg, int net_batch)
{
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->best_epoch = -1;
    t->batches_per_step = 1;
    pthread_mutex_init(&t->progress_lock, NULL);
    int rc = mt_train_config_check(cfg);
    if (rc != MT_OK)
        return rc;
    if (cfg->threads > 0)
        mt_set_threads(cfg->threads);
    rc = open_data(t);
    if (rc != MT_OK)
        return rc;
    const mt_split *tr = &t->data.train;
    if (t->cfg.divergence_loss == 0) /* the default: config.json records the value */
        t->cfg.divergence_loss =
            MT_DIVERGENCE_MULTIPLE * log(t->data.num_classes > 1 ? t->data.num_classes : 2);
    /* What one network holds, for a multi-worker run's copies (trainer/mem_guard.h). */
    mt_mem_mark mark;
    mt_mem_mark_now(&mark);
    rc = mt_model_build(&t->net, cfg, net_batch, tr->c, tr->h, tr->w, t->data.num_classes,
                        t->model_desc, sizeof t->model_desc);
    if (rc != MT_OK)
        return rc;
    t->net_bytes = mt_mem_grown_since(&mark);
    /* Evaluation is inference: no gradients, activations reused layer to
     * layer, in the training net's activation memory (evaluation runs
     * between steps, never during one). */
    rc = mt_net_clone_inference(&t->eval_net, t->net, cfg->eval_batch, mt_net_params(t->net),
                                mt_net_state(t->net), 1);
    if (rc != MT_OK)
        return rc;
    t->signature = mt_net_signature(t->net);
    size_t np = mt_net_param_count(t->net);
    t->velocity = calloc(np ? np : 1, sizeof(float));
    t->eval_x = malloc((size_t)cfg->eval_batch * mt_split_image_bytes(tr) * sizeof(float));
    t->eval_y = malloc((size_t)cfg->eval_batch * sizeof(int));
    if (!t->velocity || !t->eval_x || !t->eval_y)
        return mt_error(MT_ERR_NOMEM, "trainer: out of memory");
    t->opt = (mt_msgd_config){cfg->momentum, cfg->weight_decay, cfg->nesterov};
    rc = build_decay_ranges(t);
    if (rc != MT_OK)
        return rc;
    t->sched = cfg->schedule;
    t->sched.epochs = cfg->epochs;
    t->sched.steps_per_epoch = t->steps_per_epoch;
    rc = mt_schedule_check(&t->sched);
    if (rc != MT_OK)
        return rc;
    mt_rng_seed(&t->rng, cfg->seed, 0);
    rc = mt_net_init(t->net, &t->rng);
    if (rc != MT_OK)
        return rc;
    t->config_hash = mt_train_config_hash(cfg);
    t->best_top1 = -1;
    return MT_OK;
}

int mt_trainer_open(mt_trainer *t, const mt_train_config *cfg)
{
    return open_trainer(t, cfg, cfg->batch);
}

int mt_trainer_open_server(mt_trainer *t, const mt_train_config *cfg)
{
    return open_trainer(t, cfg, 1);
}

void mt_trainer_close(mt_trainer *t)
{
    mt_net_free(t->eval_net);
    mt_net_free(t->net);
    mt_dataset_free(&t->data);
    mt_msgd_ranges_free(&t->decay);
    mt_eval_result_free(&t->last_eval);
    free(t->velocity);
    free(t->eval_x);
    free(t->eval_y);
    mt_steplog_close(t->steplog);
    pthread_mutex_destroy(&t->progress_lock);
    memset(t, 0, sizeof *t);
}

/* ---- the two halves of a step ------------------------------------------- */

int mt_trainer_grad(mt_net *net, const float *x, const int *y, int n, double max_loss,
                    double *loss, int *correct)
{
    int rc = mt_net_set_input(net, x, n, y);
    if (rc < 0)
        return rc;
    rc = mt_net_forward(net, 1);
    *loss = mt_net_loss(net);
    if (rc == MT_ERR_DIVERGED || !isfinite(*loss))
        return mt_error(MT_ERR_DIVERGED, "the training loss is %g, non-finite", *loss);
    if (*loss > max_loss)
        return mt_error(MT_ERR_DIVERGED, "the training loss %g exceeds --divergence-loss %g",
                        *loss, max_loss);
    if (rc < 0)
        return rc;
    *correct = mt_net_correct(net, 1);
    return mt_net_backward(net);
}

void mt_trainer_apply(mt_trainer *t)
{
    double lr = mt_schedule_lr(&t->sched, t->step);
    mt_msgd_apply(&t->opt, &t->decay, mt_net_params(t->net), t->velocity, mt_net_grads(t->net), 0,
                  mt_net_param_count(t->net), lr);
    t->last_lr = lr;
    t->step++;
}

int mt_trainer_evaluate(mt_trainer *t, int test)
{
    mt_eval_result_free(&t->last_eval);
    const mt_split *s = test ? &t->data.test : t->eval_split;
    /* An engine's workers are idle now: the evaluation may get their threads. */
    int saved = omp_get_max_threads();
    if (t->engine.eval_threads > 0)
        omp_set_num_threads(t->engine.eval_threads);
    int rc = mt_evaluate(t->eval_net, s, &t->norm, t->eval_x, t->eval_y, &t->last_eval);
    if (t->engine.eval_threads > 0)
        omp_set_num_threads(saved);
    return rc;
}

/* ---- an engine's run ------------------------------------------------------- */

int mt_trainer_attach(mt_trainer *t, const mt_trainer_engine *e, int batches_per_step,
                      uint64_t hash)
{
    int batches = mt_batches_per_epoch(t->data.train.n, t->cfg.batch, 1);
    int spe = batches_per_step > 0 ? batches / batches_per_step : 0;
    if (spe < 1)
        return mt_error(MT_ERR_ARG,
                        "--workers: steps of %d batches, an epoch has %d (%d images of batch %d)",
                        batches_per_step, batches, t->data.train.n, t->cfg.batch);
    t->engine = *e;
    t->batches_per_step = batches_per_step;
    t->steps_per_epoch = spe;
    t->sched.steps_per_epoch = spe;
    t->config_hash = hash;
    return mt_schedule_check(&t->sched);
}

void mt_trainer_sync(mt_trainer *t, int64_t step, double lr, const float *params,
                     const float *velocity, const float *state, double loss_sum, int64_t correct,
                     int64_t seen)
{
    size_t np = mt_net_param_count(t->net), ns = mt_net_state_count(t->net);
    if (params)
        memcpy(mt_net_params(t->net), params, np * sizeof(float));
    if (velocity)
        memcpy(t->velocity, velocity, np * sizeof(float));
    if (state && ns)
        memcpy(mt_net_state(t->net), state, ns * sizeof(float));
    /* The epoch moves on only at mt_trainer_end_epoch: at an epoch's end the
     * position is its last batch + 1. */
    t->step = step;
    t->next_index = (int)(step - (int64_t)t->epoch * t->steps_per_epoch);
    t->last_lr = lr;
    t->ep_loss_sum = loss_sum;
    t->ep_correct = correct;
    t->ep_seen = seen;
}

/* ---- checkpoints -------------------------------------------------------- */

enum { PROG_EPOCH, PROG_INDEX, PROG_STEP, PROG_CORRECT, PROG_SEEN, PROG_BEST_EPOCH,
       PROG_STEPS_PER_EPOCH, PROG_BATCH, PROG_N };
enum { PROGF_LOSS_SUM, PROGF_SECONDS, PROGF_BEST_TOP1, PROGF_LAST_LR, PROGF_N };

int mt_trainer_save(const mt_trainer *t, const char *path)
{
    int64_t prog[PROG_N] = {t->epoch, t->next_index, t->step, t->ep_correct, t->ep_seen,
                            t->best_epoch, t->steps_per_epoch, t->cfg.batch};
    double progf[PROGF_N] = {t->ep_loss_sum, t->ep_seconds, t->best_top1, t->last_lr};
    uint64_t data_id[3] = {(uint64_t)t->data.train.n, (uint64_t)t->eval_split->n,
                           (uint64_t)t->data.num_classes};
    mt_trainer *m = (mt_trainer *)t; /* the nets' accessors are not const */
    size_t np = mt_net_param_count(m->net), ns = mt_net_state_count(m->net);
    mt_ckpt c;
    mt_ckpt_init(&c, t->signature);
    int rc = mt_ckpt_add(&c, "params", mt_net_params(m->net), np * sizeof(float));
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "velocity", t->velocity, np * sizeof(float));
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "bn_state", mt_net_state(m->net), ns * sizeof(float));
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "progress", prog, sizeof prog);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "progress_f64", progf, sizeof progf);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "rng", t->rng.s, sizeof t->rng.s);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "config_hash", &t->config_hash, sizeof t->config_hash);
    if (rc == MT_OK)
        rc = mt_ckpt_add(&c, "data", data_id, sizeof data_id);
    if (rc == MT_OK && t->steplog)
        rc = mt_steplog_save(t->steplog, &c);
    /* the kernels the state was reached with (trainer/conv_choices.h) */
    unsigned char *choices = NULL;
    if (rc == MT_OK)
        rc = mt_conv_choices_ckpt_add(&c, &choices);
    if (rc == MT_OK && t->engine.ckpt_add)
        rc = t->engine.ckpt_add(t->engine.ctx, &c);
    if (rc == MT_OK)
        rc = mt_ckpt_write(&c, path);
    mt_ckpt_free(&c);
    free(choices);
    return rc;
}

int mt_trainer_load(mt_trainer *t, const char *path)
{
    mt_ckpt c;
    int rc = mt_ckpt_read(&c, path, t->signature, t->model_desc);
    if (rc != MT_OK)
        return rc;
    uint64_t hash = 0, data_id[3] = {0};
    int64_t prog[PROG_N];
    double progf[PROGF_N];
    size_t np = mt_net_param_count(t->net), ns = mt_net_state_count(t->net);
    rc = mt_ckpt_get(&c, "config_hash", &hash, sizeof hash);
    if (rc == MT_OK && hash != t->config_hash)
        rc = mt_error(MT_ERR_FORMAT,
                      "%s: written with other settings (hash 0x%016llx) than this run's "
                      "config.json (0x%016llx)",
                      path, (unsigned long long)hash, (unsigned long long)t->config_hash);
    if (rc == MT_OK)
        rc = mt_ckpt_get(&c, "data", data_id, sizeof data_id);
    if (rc == MT_OK && (data_id[0] != (uint64_t)t->data.train.n ||
                        data_id[1] != (uint64_t)t->eval_split->n ||
                        data_id[2] != (uint64_t)t->data.num_classes))
        rc = mt_error(MT_ERR_FORMAT,
                      "%s: made on data of %llu training / %llu evaluation images and %llu "
                      "classes, but %s has %d / %d and %d",
                      path, (unsigned long long)data_id[0], (unsigned long long)data_id[1],
                      (unsigned long long)data_id[2], t->data.dir, t->data.train.n,
                      t->eval_split->n, t->data.num_classes);
    if (rc == MT_OK)
        rc = mt_ckpt_get(&c, "progress", prog, sizeof prog);
    if (rc == MT_OK && (prog[PROG_STEPS_PER_EPOCH] != t->steps_per_epoch ||
                        prog[PROG_BATCH] != t->cfg.batch || prog[PROG_EPOCH] < 0 ||
                        prog[PROG_INDEX] < 0 || prog[PROG_INDEX] >= t->steps_per_epoch))
        rc = mt_error(MT_ERR_FORMAT, "%s: its data position does not fit this run", path);
    if (rc == MT_OK)
        rc = mt_ckpt_get(&c, "progress_f64", progf, sizeof progf);
    /* The bulk last, into the live buffers, once everything else is known good. */
    if (rc == MT_OK)
        rc = mt_ckpt_get(&c, "params", mt_net_params(t->net), np * sizeof(float));
    if (rc == MT_OK)
        rc = mt_ckpt_get(&c, "velocity", t->velocity, np * sizeof(float));
    if (rc == MT_OK)
        rc = mt_ckpt_get(&c, "bn_state", mt_net_state(t->net), ns * sizeof(float));
    if (rc == MT_OK)
        rc = mt_ckpt_get(&c, "rng", t->rng.s, sizeof t->rng.s);
    if (rc == MT_OK) {
        t->epoch = (int)prog[PROG_EPOCH];
        t->next_index = (int)prog[PROG_INDEX];
        t->step = prog[PROG_STEP];
        t->ep_correct = prog[PROG_CORRECT];
        t->ep_seen = prog[PROG_SEEN];
        t->best_epoch = (int)prog[PROG_BEST_EPOCH];
        t->ep_loss_sum = progf[PROGF_LOSS_SUM];
        t->ep_seconds = progf[PROGF_SECONDS];
        t->best_top1 = progf[PROGF_BEST_TOP1];
        t->last_lr = progf[PROGF_LAST_LR];
    }
    if (rc == MT_OK) {
        int have = mt_steplog_row_get(&c, &t->steps_row);
        t->have_steps_row = have == 1;
        if (have < 0)
            rc = have;
    }
    if (rc == MT_OK && t->engine.ckpt_get)
        rc = t->engine.ckpt_get(t->engine.ctx, &c);
    mt_ckpt_free(&c);
    return rc;
}

int mt_trainer_log_start(const mt_trainer *t, const char *dir)
{
    return mt_log_start_ext(dir, t->engine.log_columns ? t->engine.log_columns : "");
}

/* ---- the run directory's JSON ------------------------------------------- */

static json_t *norm_json(const mt_norm *n)
{
    json_t *mean = json_array(), *std = json_array();
    for (int i = 0; i < n->c; i++) {
        json_array_append_new(mean, json_real(n->mean[i]));
        json_array_append_new(std, json_real(n->std[i]));
    }
    return json_pack("{s:o, s:o}", "mean", mean, "std", std);
}

json_t *mt_trainer_config_json(const mt_trainer *t)
{
    char sig[24], hash[24], when[32];
    snprintf(sig, sizeof sig, "0x%016llx", (unsigned long long)t->signature);
    snprintf(hash, sizeof hash, "0x%016llx", (unsigned long long)t->config_hash);
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    mt_trainer *m = (mt_trainer *)t;
    const mt_split *tr = &t->data.train;
    json_t *j = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:s,"
        " s:{s:s, s:I, s:I, s:s, s:f},"
        " s:{s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:[i,i,i], s:o, s:i}}",
        "created", when,
        "mutau", "version", mt_version(), "revision", mt_source_revision(), "onednn",
        mt_dnnl_version(), "openblas", mt_openblas_config(), "openblas_core",
        mt_openblas_corename(), "compiler", mt_compiler(),
        "settings", mt_train_config_to_json(&t->cfg), "settings_hash", hash,
        "model", "description", t->model_desc, "parameters",
        (json_int_t)mt_net_param_count(m->net), "state", (json_int_t)mt_net_state_count(m->net),
        "signature", sig, "macs_per_image", mt_net_macs(m->net),
        "data", "dir", t->data.dir ? t->data.dir : "", "format",
        mt_data_format_name(t->data.format), "classes", t->data.num_classes, "train", tr->n,
        "val", t->data.val.n, "test", t->data.test.n, "eval_split", t->eval_name, "shape", tr->c,
        tr->h, tr->w, "normalization", norm_json(&t->norm), "steps_per_epoch",
        t->steps_per_epoch);
    if (j && t->engine.config_json)
        t->engine.config_json(t->engine.ctx, j);
    return j;
}

static json_t *eval_json(const mt_eval_result *r, const char *split)
{
    return json_pack("{s:s, s:i, s:f, s:f, s:f}", "split", split, "images", r->n, "loss",
                     isfinite(r->loss) ? r->loss : -1.0, "top1", r->top1, "top5", r->top5);
}

static json_t *per_class_json(const mt_trainer *t, const mt_eval_result *r)
{
    json_t *a = json_array();
    for (int k = 0; k < r->classes; k++) {
        const char *name = t->data.class_names && t->data.class_names[k] ? t->data.class_names[k]
                                                                         : "";
        double acc = r->class_total[k] ? (double)r->class_correct[k] / r->class_total[k] : 0.0;
        json_array_append_new(a, json_pack("{s:i, s:s, s:i, s:i, s:f}", "class", k, "name", name,
                                           "images", r->class_total[k], "correct",
                                           r->class_correct[k], "top1", acc));
    }
    return a;
}

int mt_trainer_write_final(const mt_trainer *t, const char *dir, const char *status,
                           const char *message, const mt_eval_result *test, double seconds)
{
    json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:I, s:f, s:f}", "status", status, "message",
                          message ? message : "", "epochs_completed", t->epoch, "epochs",
                          t->cfg.epochs, "steps", (json_int_t)t->step, "lr", t->last_lr,
                          "seconds", seconds);
    if (t->best_epoch >= 0)
        json_object_set_new(j, "best", json_pack("{s:s, s:f, s:i}", "split", t->eval_name, "top1",
                                                 t->best_top1, "epoch", t->best_epoch + 1));
    if (test) {
        json_object_set_new(j, "final", eval_json(test, "test"));
        json_object_set_new(j, "per_class", per_class_json(t, test));
    }
    mt_mem_usage mem;
    if (mt_mem_usage_self(&mem) == MT_OK && mem.peak > 0)
        json_object_set_new(j, "peak_rss_bytes", json_integer((json_int_t)mem.peak));
    /* what the training and the evaluation network hold (nn/net.h), and
     * whether the training net recomputes activations for backward */
    mt_net_mem nm, em;
    if (mt_net_memory(t->net, &nm) == MT_OK && mt_net_memory(t->eval_net, &em) == MT_OK)
        json_object_set_new(j, "memory",
                            json_pack("{s:I, s:I, s:b, s:I, s:I, s:I}", "train_net_bytes",
                                      (json_int_t)nm.total, "train_net_activation_bytes",
                                      (json_int_t)(nm.shared + nm.own + nm.layer_private),
                                      "train_net_recomputes", nm.recomputed > 0,
                                      "train_net_recompute_saves_bytes",
                                      (json_int_t)nm.recompute_saves, "eval_net_bytes",
                                      (json_int_t)em.total, "eval_net_borrowed_bytes",
                                      (json_int_t)em.borrowed));
    if (strcmp(status, "interrupted") == 0) {
        char cmd[MT_PATH_CAP + 64];
        snprintf(cmd, sizeof cmd, "mutau train --resume %s", dir);
        json_object_set_new(j, "resume", json_string(cmd));
    }
    if (t->engine.final_extra) {
        json_t *extra = t->engine.final_extra(t->engine.ctx);
        if (extra)
            json_object_update(j, extra);
        json_decref(extra);
    }
    int rc = mt_rundir_write_json(dir, "final.json", j);
    json_decref(j);
    return rc;
}


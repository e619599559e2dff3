/* run.c: the run (see trainer.h): the epoch's end every run shares, the
 * single-process loop, and mt_trainer_run around either that loop or an
 * engine's steps. */
#include "trainer/trainer.h"

#include "core/signals.h"
#include "core/status.h"
#include "trainer/fault.h"
#include "trainer/net_worker.h"
#include "trainer/rundir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int save_checkpoint(const mt_trainer *t)
{
    char path[MT_PATH_CAP + 32];
    int rc = mt_rundir_path(path, sizeof path, t->dir, "checkpoint.bin");
    return rc != MT_OK ? rc : mt_trainer_save(t, path);
}

int mt_trainer_note_batch(mt_trainer *t, int64_t batch, double loss)
{
    int64_t epoch;
    int slot;
    mt_batch_slot(batch, t->steps_per_epoch * t->batches_per_step, &epoch, &slot);
    if (pthread_mutex_trylock(&t->progress_lock) == 0) {
        mt_progress_step(&t->progress, slot / t->batches_per_step,
                         batch / t->batches_per_step + 1, loss);
        pthread_mutex_unlock(&t->progress_lock);
    }
    return t->steplog ? mt_steplog_batch(t->steplog, batch, loss) : MT_OK;
}

/* steps.csv from the run's position on (--log-every). */
static int open_steplog(mt_trainer *t)
{
    if (t->cfg.log_every <= 0 || t->steplog)
        return MT_OK;
    mt_steplog_config sc = {.dir = t->dir,
                            .every = t->cfg.log_every,
                            .batches_per_step = t->batches_per_step,
                            .batch = t->cfg.batch,
                            .steps_per_epoch = t->steps_per_epoch,
                            .in_flight = t->engine.in_flight > 0 ? t->engine.in_flight : 1,
                            .sched = &t->sched,
                            .tau = t->engine.tau_running,
                            .tau_ctx = t->engine.ctx};
    return mt_steplog_open(&t->steplog, &sc, t->step, t->have_steps_row ? &t->steps_row : NULL);
}

int mt_trainer_end_epoch(mt_trainer *t, const mt_epoch_report *r)
{
    const mt_train_config *c = &t->cfg;
    int last = t->epoch + 1 == c->epochs;
    int due = last || (c->eval_every > 0 && (t->epoch + 1) % c->eval_every == 0);
    mt_log_row row = {.epoch = t->epoch + 1,
                      .step = t->step,
                      .lr = t->last_lr,
                      .train_loss = t->ep_seen ? t->ep_loss_sum / (double)t->ep_seen : NAN,
                      .train_acc = t->ep_seen ? (double)t->ep_correct / (double)t->ep_seen : NAN,
                      .images_per_s = r->images_per_s};
    pthread_mutex_lock(&t->progress_lock);
    mt_progress_epoch_end(&t->progress);
    pthread_mutex_unlock(&t->progress_lock);
    if (due) {
        int rc = mt_trainer_evaluate(t, 0);
        if (rc != MT_OK)
            return rc;
        row.evaluated = 1;
        row.eval_loss = t->last_eval.loss;
        row.eval_top1 = t->last_eval.top1;
        row.eval_top5 = t->last_eval.top5;
        if (t->last_eval.top1 > t->best_top1) {
            t->best_top1 = t->last_eval.top1;
            t->best_epoch = t->epoch;
        }
    }
    row.seconds = t->ep_seconds + (mt_now() - t->t_epoch);
    int rc = mt_log_append_ext(t->dir, &row, r->log_extra ? r->log_extra : "");
    if (rc != MT_OK)
        return rc;
    char eval[128] = "";
    if (row.evaluated)
        snprintf(eval, sizeof eval, "  %s loss %.4f top-1 %.2f%% top-5 %.2f%%", t->eval_name,
                 row.eval_loss, 100 * row.eval_top1, 100 * row.eval_top5);
    mt_progress_line(&t->progress, "epoch %d/%d  lr %.4g  train loss %.4f acc %.2f%%%s%s  %.0f img/s  %.1f s",
                     row.epoch, c->epochs, row.lr, row.train_loss, 100 * row.train_acc, eval,
                     r->line_extra ? r->line_extra : "", row.images_per_s, row.seconds);
    t->epoch++;
    t->next_index = 0;
    t->ep_loss_sum = 0;
    t->ep_correct = t->ep_seen = 0;
    t->ep_seconds = 0;
    if (last || t->epoch % c->ckpt_every == 0) {
        rc = save_checkpoint(t);
        if (rc != MT_OK)
            return rc;
    }
    t->t_epoch = mt_now();
    if (t->epoch < c->epochs) {
        pthread_mutex_lock(&t->progress_lock);
        mt_progress_epoch_begin(&t->progress, t->epoch, t->steps_per_epoch, 0);
        pthread_mutex_unlock(&t->progress_lock);
    }
    return MT_OK;
}

/* The single-process loop: batches from the prefetching loader thread, grad,
 * apply, until `target` steps or a signal. */
static int local_steps(mt_trainer *t, int64_t target)
{
    mt_loader *loader = NULL;
    int rc = mt_loader_create(&loader, &t->data.train, &t->pipe, t->epoch, t->next_index);
    if (rc != MT_OK)
        return rc;
    double train_seconds = 0;
    int64_t ep_images = 0;
    mt_batch b;
    while (t->step < target && !mt_signals_pending() && (rc = mt_loader_next(loader, &b)) == 1) {
        double t_step = mt_now();
        if (b.epoch != t->epoch || b.index != t->next_index) {
            mt_loader_release(loader, &b);
            rc = mt_error(MT_ERR_LIB, "trainer: loader gave batch %d of epoch %d, expected %d of %d",
                          b.index, b.epoch, t->next_index, t->epoch);
            break;
        }
        double loss = 0;
        int correct = 0;
        rc = mt_fault_step(0, t->step); /* test builds only (trainer/fault.h) */
        if (rc == MT_OK)
            rc = mt_trainer_grad(t->net, b.x, b.y, b.n, t->cfg.divergence_loss, &loss,
                                 &correct);
        int last_of_epoch = b.last;
        int n = b.n;
        mt_loader_release(loader, &b);
        if (rc < 0) {
            /* Nothing of this batch was applied: the state before it is whole. */
            if (rc != MT_ERR_DIVERGED)
                rc = mt_error_context(MT_ERR_STEP, "batch %lld", (long long)t->step);
            break;
        }
        mt_trainer_apply(t);
        t->ep_loss_sum += loss * n;
        t->ep_correct += correct;
        t->ep_seen += n;
        t->next_index++;
        train_seconds += mt_now() - t_step;
        ep_images += n;
        rc = mt_trainer_note_batch(t, t->step - 1, loss);
        if (rc < 0)
            break;
        if (last_of_epoch) {
            /* over the training steps this process ran (a resumed epoch: its
             * second part only); evaluation excluded */
            mt_epoch_report r = {
                .images_per_s = train_seconds > 0 ? (double)ep_images / train_seconds : 0};
            rc = mt_trainer_end_epoch(t, &r);
            if (rc != MT_OK)
                break;
            train_seconds = 0;
            ep_images = 0;
        }
    }
    mt_loader_stop(loader);
    mt_loader_destroy(loader);
    return rc < 0 ? rc : MT_OK;
}

int mt_trainer_run(mt_trainer *t, const char *dir)
{
    const mt_train_config *c = &t->cfg;
    double t_run = mt_now();
    int64_t total = (int64_t)c->epochs * t->steps_per_epoch;
    t->dir = dir;
    mt_progress_init(&t->progress, c->progress, c->epochs, total,
                     c->batch * t->batches_per_step);
    int rc = mt_trainer_write_final(t, dir, "running", NULL, NULL, 0);
    if (rc == MT_OK)
        rc = open_steplog(t);
    if (rc != MT_OK)
        return rc;
    if (t->step < total) {
        int64_t target = total;
        if (c->stop_after > 0 && c->stop_after < total)
            target = c->stop_after > t->step ? c->stop_after : t->step;
        t->t_epoch = mt_now();
        mt_progress_epoch_begin(&t->progress, t->epoch, t->steps_per_epoch, t->next_index);
        rc = t->engine.run ? t->engine.run(t->engine.ctx, target) : local_steps(t, target);
        mt_progress_epoch_end(&t->progress);
        if (rc == MT_ERR_DIVERGED) {
            char msg[768];
            snprintf(msg, sizeof msg,
                     "diverged at epoch %d, step %lld (lr %g): %s",
                     t->epoch + 1, (long long)t->step + 1, mt_schedule_lr(&t->sched, t->step),
                     mt_errmsg());
            mt_trainer_write_final(t, dir, "diverged", msg, NULL, mt_now() - t_run);
            return mt_error(MT_ERR_DIVERGED, "%s", msg);
        }
        if (rc == MT_ERR_STEP) {
            /* A step failed before it was applied (a worker's allocation,
             * oneDNN, ...): the state is the one before it, whole, so it is
             * kept for --resume. */
            char cause[1024], msg[MT_PATH_CAP + 1400];
            snprintf(cause, sizeof cause, "%s", mt_errmsg());
            t->ep_seconds += mt_now() - t->t_epoch;
            rc = save_checkpoint(t);
            if (rc == MT_OK)
                snprintf(msg, sizeof msg,
                         "%s; stopped at epoch %d, step %lld; checkpoint saved; resume with: "
                         "mutau train --resume %s",
                         cause, t->epoch + 1, (long long)t->step, dir);
            else
                snprintf(msg, sizeof msg, "%s; and the checkpoint was not written: %s", cause,
                         mt_errmsg());
            mt_trainer_write_final(t, dir, "failed", msg, NULL, mt_now() - t_run);
            return mt_error(MT_ERR_STEP, "%s", msg);
        }
        if (rc < 0) {
            /* Keep the message: writing final.json may replace it. */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mt_errmsg());
            mt_trainer_write_final(t, dir, "failed", msg, NULL, mt_now() - t_run);
            return mt_error(rc, "%s", msg);
        }
        if (t->step < total) {
            t->ep_seconds += mt_now() - t->t_epoch;
            rc = save_checkpoint(t);
            if (rc != MT_OK)
                return rc;
            int sig = mt_signals_pending();
            char msg[MT_PATH_CAP + 256];
            snprintf(msg, sizeof msg,
                     "stopped by %s at epoch %d, step %lld; checkpoint saved; resume with: "
                     "mutau train --resume %s",
                     sig ? mt_signal_name(sig) : "--stop-after", t->epoch + 1,
                     (long long)t->step, dir);
            mt_trainer_write_final(t, dir, "interrupted", msg, NULL, mt_now() - t_run);
            return mt_error(MT_ERR_INTERRUPTED, "%s", msg);
        }
    }
    /* The final report: the test set, with per-class accuracy. */
    rc = mt_trainer_evaluate(t, 1);
    if (rc != MT_OK)
        return rc;
    rc = mt_trainer_write_final(t, dir, "completed", NULL, &t->last_eval, mt_now() - t_run);
    if (rc != MT_OK)
        return rc;
    char extra[128] = "";
    if (t->engine.final_line)
        t->engine.final_line(t->engine.ctx, extra, sizeof extra);
    mt_progress_line(&t->progress,
                     "done: test top-1 %.2f%% top-5 %.2f%% loss %.4f; best %s top-1 %.2f%% "
                     "(epoch %d)%s",
                     100 * t->last_eval.top1, 100 * t->last_eval.top5, t->last_eval.loss,
                     t->eval_name, 100 * t->best_top1, t->best_epoch + 1, extra);
    return MT_OK;
}

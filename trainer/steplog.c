/* steplog.c: steps.csv (see steplog.h). */
#include "trainer/steplog.h"

#include "core/clock.h"
#include "core/files.h"
#include "core/status.h"
#include "trainer/rundir.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEPS_HEADER "step,epoch,lr,loss,tau_mean,images_per_s\n"

struct mt_steplog {
    mt_steplog_config cfg;
    char path[MT_PATH_CAP + 16];
    pthread_mutex_t m;
    int64_t per_row;    /* batches a row: every x batches_per_step */
    int64_t next_batch; /* every batch below it is summed into the row in progress */
    double loss_sum;    /* of the row in progress, in batch order */
    int64_t tau0, pushes0; /* the cumulative staleness at the previous row */
    double t_row;       /* mt_now() at the previous row (or the open) */
    int64_t ring_n;     /* batches computed but not yet summed: ring[batch % ring_n] */
    double *ring;
    unsigned char *done;
    mt_steplog_row saved; /* the checkpoint section's bytes */
};

static void tau_now(const mt_steplog *s, int64_t *sum, int64_t *pushes)
{
    *sum = *pushes = 0;
    if (s->cfg.tau)
        s->cfg.tau(s->cfg.tau_ctx, sum, pushes);
}

int mt_steplog_open(mt_steplog **out, const mt_steplog_config *cfg, int64_t step,
                    const mt_steplog_row *row)
{
    *out = NULL;
    if (cfg->every < 1 || cfg->batches_per_step < 1 || cfg->steps_per_epoch < 1)
        return mt_error(MT_ERR_ARG, "--log-every: %d is not >= 1", cfg->every);
    mt_steplog *s = calloc(1, sizeof *s);
    if (!s)
        return mt_error(MT_ERR_NOMEM, "steps.csv: out of memory");
    s->cfg = *cfg;
    pthread_mutex_init(&s->m, NULL);
    s->per_row = (int64_t)cfg->every * cfg->batches_per_step;
    s->next_batch = step * cfg->batches_per_step;
    /* A batch cannot be computed before every batch more than `in_flight`
     * (and a step) below it has been handed out. */
    s->ring_n = s->per_row + 2 * ((int64_t)cfg->in_flight + 1) * cfg->batches_per_step;
    s->ring = calloc((size_t)s->ring_n, sizeof *s->ring);
    s->done = calloc((size_t)s->ring_n, 1);
    tau_now(s, &s->tau0, &s->pushes0);
    if (row && row->per_row == s->per_row && row->next_batch == s->next_batch) {
        s->loss_sum = row->loss_sum;
        s->tau0 = row->tau0;
        s->pushes0 = row->pushes0;
    }
    s->t_row = mt_now();
    int rc = mt_path_join(s->path, sizeof s->path, cfg->dir, "steps.csv");
    if (rc == MT_OK && (!s->ring || !s->done))
        rc = mt_error(MT_ERR_NOMEM, "steps.csv: out of memory");
    if (rc == MT_OK && step == 0) {
        FILE *f = fopen(s->path, "w");
        if (!f || fputs(STEPS_HEADER, f) < 0 || fclose(f) != 0)
            rc = mt_error(MT_ERR_IO, "%s: cannot write", s->path);
    }
    if (rc != MT_OK) {
        mt_steplog_close(s);
        return rc;
    }
    *out = s;
    return MT_OK;
}

void mt_steplog_close(mt_steplog *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->m);
    free(s->ring);
    free(s->done);
    free(s);
}

/* The row ending at batch s->next_batch; caller holds s->m. */
static int write_row(mt_steplog *s)
{
    int64_t step = s->next_batch / s->cfg.batches_per_step;
    int64_t tau, pushes;
    tau_now(s, &tau, &pushes);
    double now = mt_now();
    double tau_mean = pushes > s->pushes0 ? (double)(tau - s->tau0) / (double)(pushes - s->pushes0)
                                          : 0.0;
    double ips = now > s->t_row ? (double)(s->per_row * s->cfg.batch) / (now - s->t_row) : 0.0;
    FILE *f = fopen(s->path, "a");
    int ok = f && fprintf(f, "%lld,%.4f,%.6g,%.10g,%.4f,%.1f\n", (long long)step,
                          (double)step / s->cfg.steps_per_epoch,
                          mt_schedule_lr(s->cfg.sched, step - 1),
                          s->loss_sum / (double)s->per_row, tau_mean, ips) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    s->loss_sum = 0;
    s->tau0 = tau;
    s->pushes0 = pushes;
    s->t_row = now;
    return ok ? MT_OK : mt_error(MT_ERR_IO, "%s: cannot append", s->path);
}

int mt_steplog_batch(mt_steplog *s, int64_t batch, double loss)
{
    int rc = MT_OK;
    pthread_mutex_lock(&s->m);
    if (batch < s->next_batch || batch >= s->next_batch + s->ring_n) {
        rc = mt_error(MT_ERR_LIB, "steps.csv: batch %lld outside [%lld, %lld)", (long long)batch,
                      (long long)s->next_batch, (long long)(s->next_batch + s->ring_n));
    } else {
        s->ring[batch % s->ring_n] = loss;
        s->done[batch % s->ring_n] = 1;
        /* Sum in batch order whatever arrived in order. */
        while (rc == MT_OK && s->done[s->next_batch % s->ring_n]) {
            s->done[s->next_batch % s->ring_n] = 0;
            s->loss_sum += s->ring[s->next_batch % s->ring_n];
            s->next_batch++;
            if (s->next_batch % s->per_row == 0)
                rc = write_row(s);
        }
    }
    pthread_mutex_unlock(&s->m);
    return rc;
}

int mt_steplog_save(mt_steplog *s, mt_ckpt *c)
{
    pthread_mutex_lock(&s->m);
    s->saved = (mt_steplog_row){.next_batch = s->next_batch,
                                .tau0 = s->tau0,
                                .pushes0 = s->pushes0,
                                .per_row = s->per_row,
                                .loss_sum = s->loss_sum};
    pthread_mutex_unlock(&s->m);
    return mt_ckpt_add(c, "steps.row", &s->saved, sizeof s->saved);
}

int mt_steplog_row_get(const mt_ckpt *c, mt_steplog_row *row)
{
    if (!mt_ckpt_find(c, "steps.row")) {
        mt_clear_error();
        return 0;
    }
    int rc = mt_ckpt_get(c, "steps.row", row, sizeof *row);
    return rc < 0 ? rc : 1;
}

int mt_steplog_truncate(const char *dir, int64_t step)
{
    return mt_csv_truncate(dir, "steps.csv", step);
}

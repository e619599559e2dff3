/* schedule.c: learning-rate schedules (see schedule.h). */
#include "optim/schedule.h"

#include "core/status.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = {"constant", "multistep", "cosine"};

const char *mt_schedule_kind_name(enum mt_schedule_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "unknown";
}

int mt_schedule_kind_parse(const char *s)
{
    for (unsigned i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return (int)i;
    return -1;
}

int mt_schedule_check(const mt_schedule *s)
{
    if (!(s->base_lr > 0.0) || !isfinite(s->base_lr))
        return mt_error(MT_ERR_ARG, "lr: %g is not a positive number", s->base_lr);
    if (s->steps_per_epoch <= 0)
        return mt_error(MT_ERR_ARG, "schedule: %lld steps per epoch", (long long)s->steps_per_epoch);
    if (!(s->warmup_epochs >= 0.0) || !isfinite(s->warmup_epochs))
        return mt_error(MT_ERR_ARG, "warmup: %g epochs is not >= 0", s->warmup_epochs);
    switch (s->kind) {
    case MT_SCHED_CONSTANT:
        return MT_OK;
    case MT_SCHED_MULTISTEP:
        if (!(s->gamma > 0.0) || !isfinite(s->gamma))
            return mt_error(MT_ERR_ARG, "lr-gamma: %g is not a positive number", s->gamma);
        if (s->n_milestones < 0 || s->n_milestones > MT_SCHED_MAX_MILESTONES)
            return mt_error(MT_ERR_ARG, "lr-milestones: %d milestones (at most %d)",
                            s->n_milestones, MT_SCHED_MAX_MILESTONES);
        for (int i = 0; i < s->n_milestones; i++)
            if (s->milestones[i] < 1 || (i > 0 && s->milestones[i] <= s->milestones[i - 1]))
                return mt_error(MT_ERR_ARG,
                                "lr-milestones: epochs must be >= 1 and increasing (%d after %d)",
                                s->milestones[i], i > 0 ? s->milestones[i - 1] : 0);
        return MT_OK;
    case MT_SCHED_COSINE:
        if (s->epochs < 1)
            return mt_error(MT_ERR_ARG, "schedule: cosine needs the run's epochs (%d)", s->epochs);
        if (!(s->final_lr >= 0.0) || !isfinite(s->final_lr))
            return mt_error(MT_ERR_ARG, "lr-final: %g is not a number >= 0", s->final_lr);
        return MT_OK;
    }
    return mt_error(MT_ERR_ARG, "schedule: unknown kind %d", (int)s->kind);
}

double mt_schedule_lr(const mt_schedule *s, int64_t step)
{
    double lr = s->base_lr;
    if (step < 0)
        step = 0;
    switch (s->kind) {
    case MT_SCHED_CONSTANT:
        break;
    case MT_SCHED_MULTISTEP: {
        int64_t epoch = step / s->steps_per_epoch;
        for (int i = 0; i < s->n_milestones; i++)
            if (epoch >= s->milestones[i])
                lr *= s->gamma;
        break;
    }
    case MT_SCHED_COSINE: {
        double total = (double)s->epochs * (double)s->steps_per_epoch;
        double t = (double)step / total;
        if (t > 1.0)
            t = 1.0;
        lr = s->final_lr + (s->base_lr - s->final_lr) * 0.5 * (1.0 + cos(M_PI * t));
        break;
    }
    }
    int64_t warm = (int64_t)llround(s->warmup_epochs * (double)s->steps_per_epoch);
    if (step < warm)
        lr *= (double)(step + 1) / (double)warm;
    return lr;
}

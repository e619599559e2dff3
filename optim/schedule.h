/* schedule.h: the learning rate as a function of the optimizer step.
 *
 * Evaluated per step (not per epoch): the trainer asks for lr(step) before
 * every update, with `steps_per_epoch` telling where epochs begin. Kinds:
 *   constant    lr = base
 *   multistep   lr = base * gamma^(number of milestones <= epoch), with the
 *               epoch counted in whole epochs, so the drop happens at the first
 *               step of the milestone epoch (the paper: 0.2, x0.2 at 60/120/160)
 *   cosine      lr = final + (base - final) * (1 + cos(pi * s / S)) / 2, with s
 *               the step and S the run's total steps: it decays every step and
 *               reaches `final` after the last step
 * and for every kind an optional linear warm-up over the first W steps
 * (W = warmup_epochs * steps_per_epoch, rounded): lr(s) = lr_kind(s) * (s+1)/W
 * for s < W, so the first step is not taken at lr 0.
 *
 * Not here: schedules that depend on the loss (plateau detection).
 */
#ifndef MT_OPTIM_SCHEDULE_H
#define MT_OPTIM_SCHEDULE_H

#include <stdint.h>

enum mt_schedule_kind { MT_SCHED_CONSTANT, MT_SCHED_MULTISTEP, MT_SCHED_COSINE };

enum { MT_SCHED_MAX_MILESTONES = 32 };

typedef struct {
    enum mt_schedule_kind kind;
    double base_lr;
    double gamma;                            /* multistep factor */
    int milestones[MT_SCHED_MAX_MILESTONES]; /* multistep epochs, increasing */
    int n_milestones;
    double final_lr;       /* cosine: the lr after the last step */
    double warmup_epochs;  /* 0: no warm-up */
    int epochs;            /* the run's length, for cosine */
    int64_t steps_per_epoch;
} mt_schedule;

/* The kind's name ("constant", "multistep", "cosine") and back; -1 if unknown. */
const char *mt_schedule_kind_name(enum mt_schedule_kind k);
int mt_schedule_kind_parse(const char *s);

/* Checks the fields (positive lr, increasing milestones, steps_per_epoch > 0,
 * ...) and names the one at fault. */
int mt_schedule_check(const mt_schedule *s);

/* The learning rate of step `step` (0-based over the whole run). */
double mt_schedule_lr(const mt_schedule *s, int64_t step);

#endif

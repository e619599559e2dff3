/* evaluate.h: a network's loss, top-1 and top-5 accuracy and per-class
 * accuracy on a whole split, in inference mode (batch-norm running statistics).
 *
 * The net given is an inference net (any batch size, e.g. a clone of the
 * training net sharing its parameters and state); the split is gone through in
 * order, unaugmented, the last batch smaller. Evaluation changes no state, so
 * evaluating or not never alters the training trajectory.
 *
 * Not here: choosing which split to evaluate (trainer.c).
 */
#ifndef MT_TRAINER_EVALUATE_H
#define MT_TRAINER_EVALUATE_H

#include "datasets/loader.h"
#include "nn/net.h"

typedef struct {
    int n;           /* images evaluated */
    double loss;     /* mean cross-entropy */
    double top1;     /* fraction in [0, 1] */
    double top5;     /* top-min(5, classes) */
    int classes;
    int *class_total;   /* (classes) images per class */
    int *class_correct; /* (classes) top-1 correct per class */
} mt_eval_result;

/* Evaluates `net` on split `s`; x is scratch for one batch (batch * c*h*w
 * floats) and y for its labels. result's arrays are allocated here (free with
 * mt_eval_result_free). A non-finite loss is reported, not an error. */
int mt_evaluate(mt_net *net, const mt_split *s, const mt_norm *norm, float *x, int *y,
                mt_eval_result *result);

void mt_eval_result_free(mt_eval_result *r);

#endif

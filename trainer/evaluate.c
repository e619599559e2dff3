/* evaluate.c: loss and accuracy of a net over a split. */
#include "trainer/evaluate.h"

#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mt_eval_result_free(mt_eval_result *r)
{
    free(r->class_total);
    free(r->class_correct);
    memset(r, 0, sizeof *r);
}

int mt_evaluate(mt_net *net, const mt_split *s, const mt_norm *norm, float *x, int *y,
                mt_eval_result *result)
{
    memset(result, 0, sizeof *result);
    int classes = mt_net_classes(net);
    int batch = mt_net_batch(net);
    int k5 = classes < 5 ? classes : 5;
    result->classes = classes;
    result->class_total = calloc((size_t)classes, sizeof(int));
    result->class_correct = calloc((size_t)classes, sizeof(int));
    if (!result->class_total || !result->class_correct) {
        mt_eval_result_free(result);
        return mt_error(MT_ERR_NOMEM, "evaluate: out of memory");
    }
    double loss_sum = 0;
    long c1 = 0, c5 = 0;
    for (int first = 0; first < s->n; first += batch) {
        int n = mt_batch_eval(s, norm, first, batch, x, y);
        int rc = n < 0 ? n : mt_net_set_input(net, x, n, y);
        if (rc >= 0)
            rc = mt_net_forward(net, 0);
        if (rc < 0 && rc != MT_ERR_DIVERGED) {
            mt_eval_result_free(result);
            return rc;
        }
        loss_sum += (double)mt_net_loss(net) * n;
        c1 += mt_net_correct(net, 1);
        c5 += mt_net_correct(net, k5);
        /* Per class: the argmax of each row of the probabilities. */
        const float *p = mt_net_probs(net);
        for (int i = 0; i < n; i++) {
            const float *row = p + (size_t)i * classes;
            int best = 0;
            for (int k = 1; k < classes; k++)
                if (row[k] > row[best])
                    best = k;
            result->class_total[y[i]]++;
            /* a non-finite row (a diverged net) is wrong for every class */
            result->class_correct[y[i]] += best == y[i] && isfinite(row[best]);
        }
    }
    result->n = s->n;
    result->loss = s->n ? loss_sum / s->n : NAN;
    result->top1 = s->n ? (double)c1 / s->n : NAN;
    result->top5 = s->n ? (double)c5 / s->n : NAN;
    return MT_OK;
}

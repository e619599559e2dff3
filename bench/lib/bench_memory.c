/* bench_memory.c: `mutau bench --memory`: what a model's training network
 * and its evaluation network hold, per layer and in total, and what one
 * training step and one evaluation batch make the process's resident size
 * grow to; optionally PyTorch's peak for the plain network beside it.
 *
 * Not here: flag parsing (tools/cmd_bench.c), the buffer placement
 * (nn/buffers.c).
 */
#include "bench/lib/bench_memory.h"

#include "core/meminfo.h"
#include "core/rng.h"
#include "core/status.h"
#include "trainer/model.h"

#include <stdlib.h>
#include <string.h>

static void fill(mt_net *net, int n, int classes, mt_rng *rng)
{
    size_t per = 3 * 32 * 32;
    float *x = malloc((size_t)n * per * sizeof *x);
    int *y = malloc((size_t)n * sizeof *y);
    if (x && y) {
        for (size_t i = 0; i < (size_t)n * per; i++)
            x[i] = (float)mt_rng_normal(rng);
        for (int i = 0; i < n; i++)
            y[i] = i % classes;
        mt_net_set_input(net, x, n, y);
    }
    free(x);
    free(y);
}

static double mb(uint64_t b)
{
    return b / 1e6;
}

int mt_bench_memory(const mt_train_config *cfg, int classes, FILE *layers, FILE *out)
{
    mt_mem_usage u0, u1, u2, u3;
    if (mt_mem_usage_self(&u0) < 0)
        return mt_error(MT_ERR_IO, "bench --memory: cannot read this process's memory use");
    mt_net *net = NULL, *eval = NULL;
    char desc[128];
    int rc = mt_model_build(&net, cfg, cfg->batch, 3, 32, 32, classes, desc, sizeof desc);
    if (rc < 0)
        return rc;
    rc = mt_net_clone_inference(&eval, net, cfg->eval_batch, mt_net_params(net),
                                mt_net_state(net), 1);
    mt_rng rng;
    mt_rng_seed(&rng, 1, 0);
    if (rc >= 0)
        rc = mt_net_init(net, &rng);
    mt_mem_usage_self(&u1);
    if (rc >= 0) {
        fill(net, cfg->batch, classes, &rng);
        rc = mt_net_forward(net, 1);
    }
    if (rc >= 0)
        rc = mt_net_backward(net);
    mt_mem_usage_self(&u2);
    if (rc >= 0) {
        fill(eval, cfg->eval_batch, classes, &rng);
        rc = mt_net_forward(eval, 0);
    }
    mt_mem_usage_self(&u3);
    if (rc >= 0) {
        mt_net_mem m, e;
        mt_net_memory(net, &m);
        mt_net_memory(eval, &e);
        if (layers) {
            fprintf(layers, "%s, training network, batch %d:\n", desc, cfg->batch);
            mt_net_memory_print(net, layers);
            fprintf(layers, "evaluation network, batch %d:\n", cfg->eval_batch);
            mt_net_memory_print(eval, layers);
        }
        fprintf(out,
                "bench memory model=%s width=%d batch=%d eval_batch=%d train_net_mb=%.1f "
                "eval_net_mb=%.1f built_rss_mb=%.1f after_step_rss_mb=%.1f "
                "after_eval_rss_mb=%.1f peak_rss_mb=%.1f start_rss_mb=%.1f recomputes=%s "
                "recomputed=%d recompute_saves_mb=%.1f\n",
                cfg->model, cfg->width, cfg->batch, cfg->eval_batch, mb(m.total), mb(e.total),
                mb(u1.rss), mb(u2.rss), mb(u3.rss), mb(u3.peak), mb(u0.rss),
                m.recomputed ? "yes" : "no", m.recomputed, mb(m.recompute_saves));
    }
    mt_net_free(eval);
    mt_net_free(net);
    return rc;
}

/* net_profile.c: where a net's time goes (per layer and per layer kind) and a
 * printable summary of its layers.
 *
 * Not here: the timing itself (clock reads around each layer's passes in
 * nn/net.c, around recomputations in nn/buffers.c and around a convolution's
 * primitives in nn/conv_prim.c, all only when profiling is on) or benchmarks
 * (bench/).
 */
#include "nn/net.h"

#include "nn/layer.h"
#include "nn/net_internal.h"

#include <stdlib.h>
#include <string.h>

void mt_net_profile(mt_net *net, int on)
{
    if (net)
        net->profile = on != 0;
}

void mt_net_profile_reset(mt_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        mt_layer *l = net->layers[i];
        l->t_fwd = l->t_bwd = l->t_regen = 0;
        l->t_conv[0] = l->t_conv[1] = l->t_reorder[0] = l->t_reorder[1] = 0;
    }
}

/* A layer's time in the step: its passes and the recomputation of its
 * output for backward. */
static double layer_time(const mt_layer *l)
{
    return l->t_fwd + l->t_bwd + l->t_regen;
}

/* The profile's rows: the layer kinds under the names a user looks for;
 * kinds not listed keep their own name. */
static const char *row_name(const char *kind)
{
    static const char *const names[][2] = {
        {"conv", "convolution"},     {"bn", "batch norm"}, {"relu", "relu"},
        {"add", "residual add"},     {"bn_add", "batch norm + add"}, {"shortcut", "shortcut"},
        {"pool", "pool+fc+loss"},
        {"fc", "pool+fc+loss"},      {"loss", "pool+fc+loss"}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(kind, names[i][0]) == 0)
            return names[i][1];
    return kind;
}

static void print_row(FILE *out, const char *name, double f, double b, double total, int steps)
{
    fprintf(out, "%-18s %10.3f %10.3f %6.1f%%\n", name, 1e3 * f / steps, 1e3 * b / steps,
            100 * (f + b) / total);
}

double mt_net_profile_conv_seconds(const mt_net *net)
{
    double conv = 0;
    for (int i = 0; net && i < net->n_layers; i++)
        conv += net->layers[i]->t_conv[0] + net->layers[i]->t_conv[1];
    return conv;
}

void mt_net_profile_print(const mt_net *net, FILE *out, int steps, double step_s,
                          double optimizer_s)
{
    if (!net || !out || steps < 1)
        return;
    double layers = 0, conv = mt_net_profile_conv_seconds(net), reorder[2] = {0, 0}, regen = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const mt_layer *l = net->layers[i];
        layers += layer_time(l);
        reorder[0] += l->t_reorder[0];
        reorder[1] += l->t_reorder[1];
        regen += l->t_regen;
    }
    if (layers <= 0) {
        fprintf(out, "no profile (turn it on with mt_net_profile)\n");
        return;
    }
    /* Shares of the whole step when the caller timed it, else of the layers. */
    double total = step_s > 0 ? step_s : layers + optimizer_s;
    /* Per kind first: the short answer to "where does the time go". The
     * weight reorders are taken out of their layers' rows into their own. */
    fprintf(out, "%-18s %10s %10s %7s\n", "kind", "fwd ms", "bwd ms", "share");
    const char *seen[64];
    int n_seen = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const char *name = row_name(net->layers[i]->kind->name);
        int dup = 0;
        for (int j = 0; j < n_seen; j++)
            dup |= strcmp(seen[j], name) == 0;
        if (dup || n_seen == 64)
            continue;
        seen[n_seen++] = name;
        double f = 0, b = 0;
        for (int j = 0; j < net->n_layers; j++) {
            const mt_layer *l = net->layers[j];
            if (strcmp(row_name(l->kind->name), name) == 0) {
                f += l->t_fwd - l->t_reorder[0];
                b += l->t_bwd - l->t_reorder[1];
            }
        }
        print_row(out, name, f, b, total, steps);
    }
    if (reorder[0] + reorder[1] > 0)
        print_row(out, "weight reorders", reorder[0], reorder[1], total, steps);
    if (regen > 0)
        print_row(out, "recompute", 0, regen, total, steps);
    if (optimizer_s > 0)
        fprintf(out, "%-18s %21.3f %6.1f%%\n", "optimizer", 1e3 * optimizer_s / steps,
                100 * optimizer_s / total);
    if (step_s > 0) {
        double rest = step_s - layers - optimizer_s;
        fprintf(out, "%-18s %21.3f %6.1f%%\n", "between layers", 1e3 * rest / steps,
                100 * rest / total);
        fprintf(out, "step %.3f ms; convolution primitives alone %.3f ms (%.1f%%): the other "
                     "%.3f ms are what the step loses to them\n",
                1e3 * step_s / steps, 1e3 * conv / steps, 100 * conv / step_s,
                1e3 * (step_s - conv) / steps);
    }
    int *idx = malloc((size_t)net->n_layers * sizeof *idx);
    if (!idx)
        return;
    /* slowest first; insertion sort keeps layer order among equals */
    for (int i = 0; i < net->n_layers; i++) {
        int j = i;
        while (j > 0 && layer_time(net->layers[idx[j - 1]]) < layer_time(net->layers[i])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    fprintf(out, "%-14s %-12s %9s %9s %9s %9s %9s %7s\n", "layer", "output", "fwd ms", "bwd ms",
            "conv ms", "reord ms", "recomp ms", "share");
    for (int r = 0; r < net->n_layers; r++) {
        const mt_layer *l = net->layers[idx[r]];
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", l->out->c, l->out->h, l->out->w);
        fprintf(out, "%-14s %-12s %9.3f %9.3f %9.3f %9.3f %9.3f %6.1f%%\n", l->name, shape,
                1e3 * l->t_fwd / steps, 1e3 * l->t_bwd / steps,
                1e3 * (l->t_conv[0] + l->t_conv[1]) / steps,
                1e3 * (l->t_reorder[0] + l->t_reorder[1]) / steps, 1e3 * l->t_regen / steps,
                100 * layer_time(l) / total);
    }
    free(idx);
}

void mt_net_print(const mt_net *net, FILE *out)
{
    if (!net || !out)
        return;
    fprintf(out, "input (%d, %d, %d), batch %d\n", net->c, net->h, net->w, net->batch);
    for (int i = 0; i < net->n_layers; i++) {
        const mt_layer *l = net->layers[i];
        fprintf(out, "%-14s <-", l->name);
        for (int j = 0; j < l->n_in; j++) {
            const mt_tensor *t = l->in[j];
            fprintf(out, " %s", t->producer < 0 ? "input" : net->layers[t->producer]->name);
        }
        fprintf(out, "  out %dx%dx%d  params %zu\n", l->out->c, l->out->h, l->out->w, l->n_param);
    }
    fprintf(out, "parameters %zu, state %zu, %.2f M multiply-adds per image\n", net->n_param,
            net->n_state, mt_net_macs(net) / 1e6);
}

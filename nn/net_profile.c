/* net_profile.c: where a net's time goes (per layer and per layer kind) and a
 * printable summary of its layers.
 *
 * Not here: the timing itself (two clock reads per layer in nn/net.c when
 * profiling is on) or benchmarks (bench/).
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
    for (int i = 0; i < net->n_layers; i++)
        net->layers[i]->t_fwd = net->layers[i]->t_bwd = 0;
}

static double layer_time(const mt_net *net, int i)
{
    return net->layers[i]->t_fwd + net->layers[i]->t_bwd;
}

void mt_net_profile_print(const mt_net *net, FILE *out, int steps)
{
    if (!net || !out || steps < 1)
        return;
    double total = 0;
    for (int i = 0; i < net->n_layers; i++)
        total += net->layers[i]->t_fwd + net->layers[i]->t_bwd;
    if (total <= 0) {
        fprintf(out, "no profile (turn it on with mt_net_profile)\n");
        return;
    }
    /* Per kind first: the short answer to "where does the time go". */
    fprintf(out, "%-14s %10s %10s %7s\n", "kind", "fwd ms", "bwd ms", "share");
    const mt_layer_kind *seen[64];
    int n_seen = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const mt_layer_kind *k = net->layers[i]->kind;
        int dup = 0;
        for (int j = 0; j < n_seen; j++)
            dup |= seen[j] == k;
        if (dup || n_seen == 64)
            continue;
        seen[n_seen++] = k;
        double f = 0, b = 0;
        for (int j = 0; j < net->n_layers; j++)
            if (net->layers[j]->kind == k) {
                f += net->layers[j]->t_fwd;
                b += net->layers[j]->t_bwd;
            }
        fprintf(out, "%-14s %10.3f %10.3f %6.1f%%\n", k->name, 1e3 * f / steps, 1e3 * b / steps,
                100 * (f + b) / total);
    }
    int *idx = malloc((size_t)net->n_layers * sizeof *idx);
    if (!idx)
        return;
    /* slowest first; insertion sort keeps layer order among equals */
    for (int i = 0; i < net->n_layers; i++) {
        int j = i;
        while (j > 0 && layer_time(net, idx[j - 1]) < layer_time(net, i)) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    fprintf(out, "%-14s %-22s %10s %10s %7s\n", "layer", "output", "fwd ms", "bwd ms", "share");
    for (int r = 0; r < net->n_layers; r++) {
        const mt_layer *l = net->layers[idx[r]];
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", l->out->c, l->out->h, l->out->w);
        fprintf(out, "%-14s %-22s %10.3f %10.3f %6.1f%%\n", l->name, shape,
                1e3 * l->t_fwd / steps, 1e3 * l->t_bwd / steps,
                100 * (l->t_fwd + l->t_bwd) / total);
    }
    fprintf(out, "%-14s %-22s %21.3f ms per step\n", "total", "", 1e3 * total / steps);
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

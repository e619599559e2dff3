/* conv_impls.c: every bf16 convolution implementation oneDNN offers for the
 * shapes of mutau's networks, timed against the one mutau runs.
 *
 * The shapes: the distinct convolutions of ResNet-20/32 at He's widths
 * (16/32/64) and of SphereResNet-32 at width 96 (96/192/384), batch 128,
 * 32x32 input: the first 3x3 convolution (no backward data), the 3x3 ones at
 * stride 1 and 2, and the 1x1 stride-2 shortcuts (option B). For each shape
 * and pass (forward training, backward data, backward weights) the primitive
 * descriptor iterator lists what oneDNN has, in two layout modes:
 *   any   activations and weights in format_tag any, as mutau asks; the
 *         backward passes get the layouts the forward's first implementation
 *         chose (mutau's configuration: its first candidate of each pass is
 *         what mutau runs);
 *   nhwc  activations forced to channels-last (where oneDNN 2.6 offers its
 *         brgemm convolutions), weights any.
 * Reference implementations are skipped (slower by orders of magnitude).
 * Each candidate is timed as mutau would run it in a step: forward and
 * backward data with the reorder of the fp32 OIHW weights into their layout,
 * backward weights (fp32 weight gradient, as mutau keeps it) with the reorder
 * of the gradient back to OIHW. Times are medians of rounds in which all
 * candidates of a pass (of both modes) take turns, so that a busy spell of a shared machine
 * slows every candidate alike: at one thread the thread's CPU time (the
 * time it waited for a core left out), else wall-clock time. One line per candidate:
 *   bench conv_impls net=N shape=ICxHWxOC/kKsS threads=T pass=P layout=L impl=I src=.. wei=.. dst=.. ms=.. of_current=..
 * of_current: the time of mutau's implementation of that pass over this
 * one's (> 1: this one is faster). Then one line per shape and layout mode
 * with the fastest candidate of each pass added up, among those on the
 * activation layouts of the forward's first (a whole training step of that
 * convolution in that layout), the current total, and what one
 * activation reorder between the blocked layout and nhwc costs there:
 *   bench conv_impls_step net=N shape=.. threads=T layout=L best_ms=.. current_ms=.. of_current=.. reorder_ms=..
 * and, added up over the convolutions of each network (every convolution of
 * the network in that layout mode, its fastest implementation of each pass):
 *   bench conv_impls_net net=N threads=T layout=L best_ms=.. current_ms=.. of_current=..
 * Layouts are printed in oneDNN's letters: dimensions outermost first, then
 * the inner blocks (aBcd16b is nChw16c, acdb is nhwc).
 *
 * Usage: conv_impls [resnet|sphere] (both by default), on MUTAU_BENCH_THREADS
 * OpenMP threads (default 1); MUTAU_BENCH_ROUNDS rounds (default 7).
 * Not a test: it checks only that the primitives run.
 */
#include "core/clock.h"
#include "nn/net.h"

#include <oneapi/dnnl/dnnl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                            \
    do {                                                                                       \
        dnnl_status_t s_ = (call);                                                             \
        if (s_ != dnnl_success) {                                                              \
            fprintf(stderr, "conv_impls: %s failed (status %d)\n", #call, (int)s_);           \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

/* uses[d]: how often the shape occurs in the depth-20 (d = 0) and depth-32
 * (d = 1) network of its widths: ResNet-20/32 with option-A shortcuts (no
 * 1x1 convolution; option B adds one of each 1x1 shape), SphereResNet-20/32
 * with 1x1 shortcuts. */
typedef struct {
    const char *net;
    int ic, hw, oc, k, stride, bwd_data, uses[2];
} shape;

static const shape SHAPES[] = {
    {"resnet", 3, 32, 16, 3, 1, 0, {1, 1}},     {"resnet", 16, 32, 16, 3, 1, 1, {6, 10}},
    {"resnet", 16, 32, 32, 3, 2, 1, {1, 1}},    {"resnet", 32, 16, 32, 3, 1, 1, {5, 9}},
    {"resnet", 32, 16, 64, 3, 2, 1, {1, 1}},    {"resnet", 64, 8, 64, 3, 1, 1, {5, 9}},
    {"resnet", 16, 32, 32, 1, 2, 1, {0, 0}},    {"resnet", 32, 16, 64, 1, 2, 1, {0, 0}},
    {"sphere", 3, 32, 96, 3, 1, 0, {1, 1}},     {"sphere", 96, 32, 96, 3, 1, 1, {6, 10}},
    {"sphere", 96, 32, 192, 3, 2, 1, {1, 1}},   {"sphere", 192, 16, 192, 3, 1, 1, {5, 9}},
    {"sphere", 192, 16, 384, 3, 2, 1, {1, 1}},  {"sphere", 384, 8, 384, 3, 1, 1, {5, 9}},
    {"sphere", 96, 32, 192, 1, 2, 1, {1, 1}},   {"sphere", 192, 16, 384, 1, 2, 1, {1, 1}},
};
enum { BATCH = 128, MAX_CAND = 16, FWD = 0, BWD_D = 1, BWD_W = 2 };
static const char *const PASS[3] = {"fwd", "bwd_data", "bwd_weights"};
static const char *const MODE[2] = {"any", "nhwc"};

static dnnl_engine_t eng;
static dnnl_stream_t strm;
/* At one thread all the work runs on the calling thread, whose CPU time
 * leaves out the time it waited for a core on a busy machine; at several,
 * wall-clock time. */
static double (*clock_now)(void) = mt_now;

/* A candidate: the pass's primitive and the weight reorder it brings, with
 * buffers for every argument. */
typedef struct {
    dnnl_primitive_t conv, wreorder;
    dnnl_memory_t m[6], w_oihw, w_blk; /* m: src, wei, dst (or their diffs) */
    int args[3];
    void *buf[8];
    int nbuf;
    char impl[64], fmt[3][32];
    double *ms;
} cand;

/* oneDNN's letters for a blocked layout: dimensions by decreasing stride,
 * then the inner blocks ("aBcd16b"; upper case marks a blocked dimension). */
static void fmt_str(const dnnl_memory_desc_t *md, char *out, size_t cap)
{
    if (md->format_kind != dnnl_blocked) {
        snprintf(out, cap, "%s", md->format_kind == dnnl_format_kind_wino ? "wino" : "other");
        return;
    }
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], nd = md->ndims, blocked[DNNL_MAX_NDIMS] = {0};
    for (int i = 0; i < nd; i++)
        order[i] = i;
    for (int i = 0; i < nd; i++) /* stable: equal strides keep logical order */
        for (int j = i + 1; j < nd; j++)
            if (b->strides[order[j]] > b->strides[order[i]]) {
                int t = order[i];
                order[i] = order[j], order[j] = t;
            }
    for (int i = 0; i < b->inner_nblks; i++)
        blocked[b->inner_idxs[i]] = 1;
    size_t n = 0;
    for (int i = 0; i < nd && n + 1 < cap; i++)
        out[n++] = (char)((blocked[order[i]] ? 'A' : 'a') + order[i]);
    out[n] = 0;
    for (int i = 0; i < b->inner_nblks && n + 8 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%d%c", (int)b->inner_blks[i],
                              'a' + (int)b->inner_idxs[i]);
}

static void *alloc_md(cand *c, const dnnl_memory_desc_t *md, dnnl_memory_t *m)
{
    size_t bytes = dnnl_memory_desc_get_size(md);
    void *p = NULL;
    if (bytes && posix_memalign(&p, 64, bytes)) {
        fprintf(stderr, "conv_impls: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    /* 0x3c in every byte: 0.0115 in fp32 and in bf16, no denormals */
    if (bytes)
        memset(p, 0x3c, bytes);
    c->buf[c->nbuf++] = p;
    CHECK(dnnl_memory_create(m, md, eng, p));
    return p;
}

/* Builds candidate c from pd: pass's arguments, its weight reorder (fp32
 * OIHW into the pass's weights; the fp32 weight gradient back to OIHW). */
static void cand_make(cand *c, const_dnnl_primitive_desc_t pd, int pass,
                      const dnnl_memory_desc_t *oihw)
{
    memset(c, 0, sizeof *c);
    const char *impl = "";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    static const int ARGS[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                   {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                                   {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
    static const dnnl_query_t Q[3][3] = {
        {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
        {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md},
        {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md}};
    for (int i = 0; i < 3; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, Q[pass][i], 0);
        c->args[i] = ARGS[pass][i];
        fmt_str(md, c->fmt[i], sizeof c->fmt[i]);
        alloc_md(c, md, &c->m[i]);
    }
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (sp && dnnl_memory_desc_get_size(sp))
        alloc_md(c, sp, &c->m[3]);
    CHECK(dnnl_primitive_create(&c->conv, pd));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, Q[pass][1], 0);
    if (!dnnl_memory_desc_equal(wmd, oihw)) {
        dnnl_primitive_desc_t rpd;
        alloc_md(c, oihw, &c->w_oihw);
        if (pass == BWD_W)
            CHECK(dnnl_reorder_primitive_desc_create(&rpd, wmd, eng, oihw, eng, NULL));
        else
            CHECK(dnnl_reorder_primitive_desc_create(&rpd, oihw, eng, wmd, eng, NULL));
        CHECK(dnnl_primitive_create(&c->wreorder, rpd));
        dnnl_primitive_desc_destroy(rpd);
    }
}

static void cand_run(cand *c, int pass)
{
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, pass == BWD_W ? c->m[1] : c->w_oihw},
                            {DNNL_ARG_TO, pass == BWD_W ? c->w_oihw : c->m[1]}};
    if (c->wreorder && pass != BWD_W)
        CHECK(dnnl_primitive_execute(c->wreorder, strm, 2, r));
    dnnl_exec_arg_t a[4];
    int na = 3;
    for (int i = 0; i < 3; i++)
        a[i] = (dnnl_exec_arg_t){c->args[i], c->m[i]};
    if (c->m[3])
        a[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, c->m[3]};
    CHECK(dnnl_primitive_execute(c->conv, strm, na, a));
    if (c->wreorder && pass == BWD_W)
        CHECK(dnnl_primitive_execute(c->wreorder, strm, 2, r));
    CHECK(dnnl_stream_wait(strm));
}

static void cand_free(cand *c)
{
    dnnl_primitive_destroy(c->conv);
    if (c->wreorder)
        dnnl_primitive_destroy(c->wreorder);
    for (int i = 0; i < 6; i++)
        if (c->m[i])
            dnnl_memory_destroy(c->m[i]);
    if (c->w_oihw)
        dnnl_memory_destroy(c->w_oihw);
    for (int i = 0; i < c->nbuf; i++)
        free(c->buf[i]);
    free(c->ms);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times candidates c[0..n) taking turns: `rounds` rounds after one untimed
 * run each; a sample is `inner` runs, enough for ~20 ms. med[i] in ms. */
static void time_cands(cand *c, int n, int pass, int rounds, double *med)
{
    double slowest = 0;
    for (int i = 0; i < n; i++) {
        double t0 = clock_now();
        cand_run(&c[i], pass);
        double t = clock_now() - t0;
        slowest = t > slowest ? t : slowest;
    }
    int inner = slowest > 0.02 ? 1 : (int)(0.02 / (slowest + 1e-6)) + 1;
    for (int i = 0; i < n; i++)
        c[i].ms = malloc(rounds * sizeof *c[i].ms);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++) {
            double t0 = clock_now();
            for (int j = 0; j < inner; j++)
                cand_run(&c[i], pass);
            c[i].ms[r] = 1e3 * (clock_now() - t0) / inner;
        }
    for (int i = 0; i < n; i++) {
        qsort(c[i].ms, rounds, sizeof *c[i].ms, cmp_double);
        med[i] = c[i].ms[rounds / 2];
    }
}

/* The operation descriptor of pass with activations in act (the layouts the
 * backward passes are given) and weights any. */
static void pass_desc(dnnl_convolution_desc_t *cd, int pass, const shape *s,
                      const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst)
{
    dnnl_dims_t wd = {s->oc, s->ic, s->k, s->k}, st = {s->stride, s->stride},
                pad = {s->k / 2, s->k / 2};
    dnnl_memory_desc_t wei, dwei;
    CHECK(dnnl_memory_desc_init_by_tag(&wei, 4, wd, dnnl_bf16, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&dwei, 4, wd, dnnl_f32, dnnl_format_tag_any));
    if (pass == FWD)
        CHECK(dnnl_convolution_forward_desc_init(cd, dnnl_forward_training,
                                                 dnnl_convolution_direct, src, &wei, NULL, dst,
                                                 st, pad, pad));
    else if (pass == BWD_D)
        CHECK(dnnl_convolution_backward_data_desc_init(cd, dnnl_convolution_direct, src, &wei,
                                                       dst, st, pad, pad));
    else
        CHECK(dnnl_convolution_backward_weights_desc_init(cd, dnnl_convolution_direct, src,
                                                          &dwei, NULL, dst, st, pad, pad));
}

/* Every non-reference implementation oneDNN lists for cd, made into
 * candidates c[0..cap): their count. */
static int list_cands(const dnnl_convolution_desc_t *cd, const_dnnl_primitive_desc_t hint,
                      int pass, const dnnl_memory_desc_t *oihw, cand *c, int cap)
{
    dnnl_primitive_desc_iterator_t it;
    if (dnnl_primitive_desc_iterator_create(&it, cd, NULL, eng, hint) != dnnl_success)
        return 0;
    int n = 0;
    do {
        dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
        const char *impl = "";
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        if (strncmp(impl, "ref", 3) != 0 && n < cap)
            cand_make(&c[n++], pd, pass, oihw);
        dnnl_primitive_desc_destroy(pd);
    } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    dnnl_primitive_desc_iterator_destroy(it);
    return n;
}

/* The time of one reorder of the shape's output activation between oneDNN's
 * blocked layout and nhwc (bf16): what a layer boundary between the two
 * would add per pass. */
static double reorder_ms(const shape *s, int rounds)
{
    int oh = (s->hw + 2 * (s->k / 2) - s->k) / s->stride + 1;
    dnnl_dims_t dd = {BATCH, s->oc, oh, oh};
    dnnl_memory_desc_t blk, nhwc;
    CHECK(dnnl_memory_desc_init_by_tag(&blk, 4, dd, dnnl_bf16, dnnl_aBcd16b));
    CHECK(dnnl_memory_desc_init_by_tag(&nhwc, 4, dd, dnnl_bf16, dnnl_acdb));
    dnnl_primitive_desc_t rpd;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &blk, eng, &nhwc, eng, NULL));
    cand c;
    memset(&c, 0, sizeof c);
    CHECK(dnnl_primitive_create(&c.conv, rpd));
    dnnl_primitive_desc_destroy(rpd);
    alloc_md(&c, &blk, &c.m[0]);
    alloc_md(&c, &nhwc, &c.m[1]);
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, c.m[0]}, {DNNL_ARG_TO, c.m[1]}};
    double *ms = malloc(rounds * sizeof *ms);
    for (int r = -1; r < rounds; r++) {
        double t0 = clock_now();
        CHECK(dnnl_primitive_execute(c.conv, strm, 2, a));
        CHECK(dnnl_stream_wait(strm));
        if (r >= 0)
            ms[r] = 1e3 * (clock_now() - t0);
    }
    qsort(ms, rounds, sizeof *ms, cmp_double);
    double m = ms[rounds / 2];
    free(ms);
    cand_free(&c);
    return m;
}

/* Times shape s; total[0] gets the current step's ms, total[1 + mode] the
 * fastest step in layout mode `mode`. The candidates of both modes for a
 * pass take turns in one set of rounds. */
static void bench_shape(const shape *s, int threads, int rounds, double total[3])
{
    int oh = (s->hw + 2 * (s->k / 2) - s->k) / s->stride + 1;
    dnnl_dims_t sd = {BATCH, s->ic, s->hw, s->hw}, dd = {BATCH, s->oc, oh, oh},
                wd = {s->oc, s->ic, s->k, s->k};
    dnnl_memory_desc_t oihw;
    CHECK(dnnl_memory_desc_init_by_tag(&oihw, 4, wd, dnnl_f32, dnnl_oihw));
    char name[64];
    snprintf(name, sizeof name, "%dx%dx%d/k%ds%d", s->ic, s->hw, s->oc, s->k, s->stride);
    /* per mode: the forward's activation descriptors, its first
     * implementation (the backward passes' hint) and the activation layouts
     * it chose, which the backward passes get (in mode any as mutau builds
     * them) */
    dnnl_memory_desc_t src[2], dst[2], bsrc[2], bdst[2];
    dnnl_primitive_desc_t hint[2];
    char act[2][2][32];
    for (int mode = 0; mode < 2; mode++) {
        dnnl_format_tag_t tag = mode == 0 ? dnnl_format_tag_any : dnnl_acdb;
        CHECK(dnnl_memory_desc_init_by_tag(&src[mode], 4, sd, dnnl_bf16, tag));
        CHECK(dnnl_memory_desc_init_by_tag(&dst[mode], 4, dd, dnnl_bf16, tag));
        dnnl_convolution_desc_t cd;
        pass_desc(&cd, FWD, s, &src[mode], &dst[mode]);
        CHECK(dnnl_primitive_desc_create(&hint[mode], &cd, NULL, eng, NULL));
        bsrc[mode] = *dnnl_primitive_desc_query_md(hint[mode], dnnl_query_src_md, 0);
        bdst[mode] = *dnnl_primitive_desc_query_md(hint[mode], dnnl_query_dst_md, 0);
        fmt_str(&bsrc[mode], act[mode][0], sizeof act[mode][0]);
        fmt_str(&bdst[mode], act[mode][1], sizeof act[mode][1]);
    }
    double current[3] = {0, 0, 0}, best[2][3] = {{0}};
    for (int pass = 0; pass < 3; pass++) {
        if (pass == BWD_D && !s->bwd_data)
            continue;
        cand c[MAX_CAND];
        int n = 0, first[3];
        for (int mode = 0; mode < 2; mode++) {
            dnnl_convolution_desc_t cd;
            if (pass == FWD)
                pass_desc(&cd, pass, s, &src[mode], &dst[mode]);
            else
                pass_desc(&cd, pass, s, &bsrc[mode], &bdst[mode]);
            first[mode] = n;
            n += list_cands(&cd, pass == FWD ? NULL : hint[mode], pass, &oihw, c + n,
                            MAX_CAND - n);
        }
        first[2] = n;
        double med[MAX_CAND];
        time_cands(c, n, pass, rounds, med);
        /* mode any's first is what mutau runs */
        current[pass] = first[1] > 0 ? med[0] : 0;
        for (int mode = 0; mode < 2; mode++)
            for (int i = first[mode]; i < first[mode + 1]; i++) {
                /* a step runs all passes on the same activation layouts */
                if (strcmp(c[i].fmt[0], act[mode][0]) == 0 &&
                    strcmp(c[i].fmt[2], act[mode][1]) == 0 &&
                    (best[mode][pass] == 0 || med[i] < best[mode][pass]))
                    best[mode][pass] = med[i];
                printf("bench conv_impls net=%s shape=%s threads=%d pass=%s layout=%s impl=%s "
                       "src=%s wei=%s dst=%s ms=%.3f of_current=%.2f\n",
                       s->net, name, threads, PASS[pass], MODE[mode], c[i].impl, c[i].fmt[0],
                       c[i].fmt[1], c[i].fmt[2], med[i],
                       current[pass] > 0 ? current[pass] / med[i] : 0.0);
            }
        for (int i = 0; i < n; i++)
            cand_free(&c[i]);
    }
    for (int mode = 0; mode < 2; mode++)
        dnnl_primitive_desc_destroy(hint[mode]);
    double cur = current[0] + current[1] + current[2], rms = reorder_ms(s, rounds);
    total[0] = cur;
    for (int mode = 0; mode < 2; mode++) {
        double b = best[mode][0] + best[mode][1] + best[mode][2];
        total[1 + mode] = b;
        printf("bench conv_impls_step net=%s shape=%s threads=%d layout=%s best_ms=%.3f "
               "current_ms=%.3f of_current=%.2f reorder_ms=%.3f\n",
               s->net, name, threads, MODE[mode], b, cur, b > 0 ? cur / b : 0.0, rms);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *te = getenv("MUTAU_BENCH_THREADS"), *re = getenv("MUTAU_BENCH_ROUNDS");
    const int threads = te && atoi(te) > 0 ? atoi(te) : 1;
    const int rounds = re && atoi(re) > 0 ? atoi(re) : 7;
    const char *only = argc > 1 ? argv[1] : NULL;
    if (only && strcmp(only, "resnet") != 0 && strcmp(only, "sphere") != 0) {
        fprintf(stderr, "conv_impls: usage: conv_impls [resnet|sphere]\n");
        return 2;
    }
    mt_set_threads(threads);
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    if (threads == 1)
        clock_now = mt_thread_cpu_now;
    double load[3] = {-1, -1, -1};
    getloadavg(load, 3);
    printf("bf16 convolution implementations, batch %d, %d OpenMP thread(s) (MUTAU_BENCH_THREADS), "
           "%s, median of %d alternating rounds, load average %.2f at start\n",
           BATCH, threads, threads == 1 ? "the thread's CPU time" : "wall-clock time", rounds,
           load[0]);
    /* per family and depth: the convolutions' step now, best in any, best in nhwc */
    double net[2][2][3] = {{{0}}};
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        const shape *s = &SHAPES[i];
        if (only && strcmp(only, s->net) != 0)
            continue;
        double t[3];
        bench_shape(s, threads, rounds, t);
        for (int d = 0; d < 2; d++)
            for (int j = 0; j < 3; j++)
                net[strcmp(s->net, "sphere") == 0][d][j] += s->uses[d] * t[j];
    }
    static const char *const NET[2][2] = {{"resnet20", "resnet32"},
                                          {"sphere-resnet20-w96", "sphere-resnet32-w96"}};
    for (int f = 0; f < 2; f++)
        for (int d = 0; d < 2 && net[f][d][0] > 0; d++)
            for (int mode = 0; mode < 2; mode++)
                printf("bench conv_impls_net net=%s threads=%d layout=%s best_ms=%.1f "
                       "current_ms=%.1f of_current=%.3f\n",
                       NET[f][d], threads, MODE[mode], net[f][d][1 + mode], net[f][d][0],
                       net[f][d][0] / net[f][d][1 + mode]);
    getloadavg(load, 3);
    printf("load average %.2f at the end\n", load[0]);
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    return 0;
}

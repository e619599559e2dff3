/* cmd_bench.c: `mutau bench`: the training-step throughput of ResNets (the
 * measurements of bench/resnet.c, from the command line) or of any --model on
 * this machine, with an optional per-layer profile, bf16 against fp32, and
 * PyTorch comparison; or (--memory) a model's memory.
 *
 * This file parses flags and prints; the work is bench/lib/resnet_bench.c.
 */
#include "core/status.h"
#include "bench/lib/resnet_bench.h"
#include "bench/lib/bench_memory.h"
#include "bench/lib/rounds.h"
#include "nn/net.h"
#include "tools/cli.h"
#include "tools/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const CMD = "bench";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mutau bench [OPTIONS]\n\n"
            "Times training steps (forward + loss + backward + momentum-SGD update) of\n"
            "ResNets, or of --model, on random 3x32x32 images and prints, per network and\n"
            "thread count,\n"
            "  bench model=resnetN threads=T images_per_s=... mean_images_per_s=...\n"
            "(images_per_s from the best step: other processes only slow steps down;\n"
            "width=W after the model when --width is given).\n\n"
            "  --depth LIST     ResNet depths, 6k+2 (default 20,32); not with --model\n"
            "  --threads LIST   OpenMP thread counts (default 1,2)\n"
            "  --batch N        batch size (default 128)\n"
            "  --classes N      classes (default 100)\n"
            "  --steps N        timed steps per measurement (default 8)\n"
            "  --warmup N       untimed steps first (default 2)\n"
            "  --profile        also print each measurement's time profile: per kind\n"
            "                   (convolution, weight reorders, batch norm, ReLU, residual\n"
            "                   add, shortcut, pool+fc+loss, recompute, optimizer, time\n"
            "                   between layers) and per layer, forward and backward, and\n"
            "                   the step against its convolution primitives alone\n"
            "  --precision P    fp32|bf16 (default fp32). bf16: the bf16 step and the fp32\n"
            "                   step (and PyTorch's with --torch) timed in alternating rounds\n"
            "                   in one run, with their ratios (needs AVX512_BF16); with\n"
            "                   --memory, the bf16 networks' memory\n"
            "  --rounds N       with --precision bf16 or --torch: alternating rounds of\n"
            "                   --steps steps per side (default 3)\n"
            "  --torch FILE     also time PyTorch with FILE (bench/torch_resnet.py) under\n"
            "                   /usr/bin/python3, kept running beside and alternating with\n"
            "                   mutau round by round; prints ratio (best steps) and\n"
            "                   median_ratio (median over rounds of each round's ratio)\n"
            "  --blas           also time an OpenBLAS sgemm after oneDNN convolutions against after\n"
            "                   plain OpenMP work, and a forward after an sgemm against after plain work\n"
            "  --memory         instead of timing: the memory of --model's training network\n"
            "                   (--batch) and evaluation network (--eval-batch), per layer and in\n"
            "                   total, and the process's resident size after a training step and\n"
            "                   an evaluation batch (one line 'bench memory ...'); with --torch\n"
            "                   FILE (bench/torch_memory.py) PyTorch's peak for the plain\n"
            "                   ResNet of that depth and width beside it\n"
            "  --model NAME     the network timed (or, with --memory, measured): resnetN\n"
            "                   or sphere-resnet-N (linear operator), as mutau train's\n"
            "                   --model (default: timing resnetN for each --depth;\n"
            "                   --memory sphere-resnet-32)\n"
            "  --width N        first stage's channels, a multiple of 16, as mutau train's\n"
            "                   --width (default: the model's: 16 for ResNets, 96 for\n"
            "                   SphereResNets)\n"
            "  --eval-batch N   --memory: the evaluation network's batch (default 500)\n"
            "  -h, --help       this help\n\n"
            "exit status: 0 done, 2 bad flag, 1 a measurement failed\n");
}

/* --memory: the nets' tables and totals, then PyTorch's peak for the plain
 * ResNet of the same depth and width (its own process). */
static int bench_memory(const char *model, int width, int batch, int eval_batch, int classes,
                        int precision, int layers, const char *torch)
{
    mt_train_config cfg;
    mt_train_config_default(&cfg);
    if (strlen(model) >= sizeof cfg.model) {
        cli_error(CMD, "--model: '%s' is too long", model);
        return EXIT_USAGE;
    }
    strcpy(cfg.model, model);
    cfg.width = width;
    cfg.batch = batch;
    cfg.eval_batch = eval_batch;
    cfg.precision = precision;
    int rc = mt_bench_memory(&cfg, classes, layers ? stdout : NULL, stdout);
    if (rc < 0)
        return cli_fail(CMD, rc);
    fflush(stdout);
    if (!torch)
        return EXIT_OK;
    const char *dash = strrchr(model, '-');
    int depth = atoi(dash ? dash + 1 : model + strlen("resnet"));
    int w = width ? width : strncmp(model, "sphere", 6) == 0 ? 96 : 16;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 /usr/bin/python3 '%s' --depth %d --width %d --batch %d",
             torch, depth, w, batch);
    if (system(cmd) != 0) {
        cli_error(CMD, "--torch: '%s' failed", torch);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

/* The networks timed: --model's, or resnetN for each --depth. */
typedef struct {
    mt_train_config cfg; /* model name, width (0: the model's), precision per net */
    int n, depth[8];     /* depth[i] > 0: the plain ResNet of --depth (PyTorch's too) */
    char names[8][sizeof ((mt_train_config *)0)->model];
    int show_width;      /* --width given: the lines say it */
} bench_models;

static int net_create(mt_bench_net **out, const bench_models *m, int i, int precision,
                      int classes, int batch)
{
    mt_train_config cfg = m->cfg;
    snprintf(cfg.model, sizeof cfg.model, "%s", m->names[i]);
    cfg.precision = precision;
    return mt_bench_model_create(out, &cfg, classes, batch);
}

/* "bench model=NAME[ width=W] threads=T" */
static void print_head(const bench_models *m, int i, long threads)
{
    printf("bench model=%s", m->names[i]);
    if (m->show_width)
        printf(" width=%d", m->cfg.width);
    printf(" threads=%ld", threads);
}

static void print_profile_head(const bench_models *m, int i, long threads, const char *prec)
{
    if (m->depth[i] > 0)
        printf("\nResNet-%d, %ld threads, ", m->depth[i], threads);
    else
        printf("\n%s, %ld threads, ", m->names[i], threads);
    printf("%s%sprofile (ms per step):\n", prec ? prec : "", prec ? ", " : "");
}

/* Per model and thread count, rounds of mutau's steps (bf16 then fp32 with
 * --precision bf16, fp32 alone otherwise) and (with torch) PyTorch's fp32
 * steps in turn, so that all see the same machine (bench/lib/rounds.h). */
static int bench_rounds(int precision, const bench_models *m, const long *threads, int nt,
                        int batch, int classes, int warmup, int steps, int rounds, int profile,
                        const char *torch)
{
    static mt_rounds r;
    mt_torch_peer *peer = NULL;
    if (torch && mt_torch_peer_open(&peer, torch) < 0)
        return cli_fail(CMD, MT_ERR_LIB);
    int bf16 = precision == MT_BF16, n_nets = bf16 ? 2 : 1, pt = n_nets; /* PyTorch's side */
    const char *names[2] = {bf16 ? "bf16" : "fp32", "fp32"};
    int rc = MT_OK;
    for (int d = 0; d < m->n && rc >= 0; d++) {
        mt_bench_net *nets[2] = {NULL, NULL}; /* [0] in `precision`, [1] fp32 for bf16 */
        /* built at the first count timed: built at the machine's default they
         * would time convolution trials at a count the bench may not run */
        mt_set_threads((int)threads[0]);
        rc = net_create(&nets[0], m, d, precision, classes, batch);
        if (rc >= 0 && bf16)
            rc = net_create(&nets[1], m, d, MT_FP32, classes, batch);
        for (int t = 0; t < nt && rc >= 0; t++) {
            rc = mt_rounds_run(&r, nets, n_nets, peer, m->depth[d], (int)threads[t], batch,
                               warmup, steps, rounds);
            /* profiled apart: a clock read around every pass slows the step */
            for (int k = 0; k < n_nets && rc >= 0 && profile; k++) {
                mt_step_timing tm;
                print_profile_head(m, d, threads[t], names[k]);
                rc = mt_bench_net_run(nets[k], (int)threads[t], 1, steps, stdout, &tm);
            }
            if (rc < 0)
                break;
            print_head(m, d, threads[t]);
            printf(" precision=%s images_per_s=%.1f", names[0], batch / r.best_s[0]);
            if (bf16) {
                printf(" fp32_images_per_s=%.1f bf16_over_fp32=%.2f median_bf16_over_fp32=%.2f",
                       batch / r.best_s[1], mt_rounds_best_ratio(&r, 0, 1),
                       mt_rounds_median_ratio(&r, 0, 1));
                if (threads[t] == 1)
                    printf(" cpu_bf16_over_fp32=%.2f", mt_rounds_cpu_ratio(&r, 0, 1));
            }
            if (peer) {
                printf(" torch_images_per_s=%.1f ratio=%.2f median_ratio=%.2f", batch / r.best_s[pt],
                       mt_rounds_best_ratio(&r, 0, pt), mt_rounds_median_ratio(&r, 0, pt));
                if (threads[t] == 1)
                    printf(" cpu_ratio=%.2f", mt_rounds_cpu_ratio(&r, 0, pt));
            }
            printf("\n");
            fflush(stdout);
        }
        mt_bench_net_free(nets[0]);
        mt_bench_net_free(nets[1]);
    }
    mt_torch_peer_close(peer);
    return rc < 0 ? cli_fail(CMD, rc) : EXIT_OK;
}

/* fp32 alone: per model and thread count, one run of steps on a new net. */
static int bench_fp32(const bench_models *m, const long *threads, int nt, int batch, int classes,
                      int warmup, int steps, int profile)
{
    for (int d = 0; d < m->n; d++)
        for (int t = 0; t < nt; t++) {
            mt_bench_net *b = NULL;
            mt_step_timing tm;
            if (profile)
                print_profile_head(m, d, threads[t], NULL);
            mt_set_threads((int)threads[t]); /* build at the count it runs */
            int rc = net_create(&b, m, d, MT_FP32, classes, batch);
            if (rc >= 0)
                rc = mt_bench_net_run(b, (int)threads[t], warmup, steps,
                                      profile ? stdout : NULL, &tm);
            mt_bench_net_free(b);
            if (rc < 0)
                return cli_fail(CMD, rc);
            print_head(m, d, threads[t]);
            printf(" images_per_s=%.1f mean_images_per_s=%.1f\n", batch / tm.best_s,
                   batch / tm.mean_s);
            fflush(stdout);
        }
    return EXIT_OK;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"depth", required_argument, 0, 'd'},   {"threads", required_argument, 0, 't'},
        {"batch", required_argument, 0, 'b'},   {"classes", required_argument, 0, 'c'},
        {"steps", required_argument, 0, 's'},   {"warmup", required_argument, 0, 'w'},
        {"profile", no_argument, 0, 'p'},       {"torch", required_argument, 0, 'T'},
        {"blas", no_argument, 0, 'B'},          {"help", no_argument, 0, 'h'},
        {"memory", no_argument, 0, 'M'},        {"model", required_argument, 0, 'm'},
        {"width", required_argument, 0, 'W'},   {"eval-batch", required_argument, 0, 'E'},
        {"precision", required_argument, 0, 'P'}, {"rounds", required_argument, 0, 'R'},
        {0, 0, 0, 0}};
    static const char *const precisions[] = {"fp32", "bf16", NULL};
    int precision = MT_FP32;
    long rounds = 3;
    long depths[8] = {20, 32}, threads[8] = {1, 2}, batch = 128, classes = 100, steps = 8,
         warmup = 2;
    int nd = 2, nt = 2, profile = 0, blas = 0, memory = 0, depth_given = 0;
    long width = 0, eval_batch = 500;
    const char *model = NULL; /* --memory: sphere-resnet-32; timing: resnetN of --depth */
    const char *torch = NULL;
    int c;
    optind = 1;
    if (cli_check_flags(CMD, argc, argv, "h", opts))
        return EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            depth_given = 1;
            if ((nd = cli_int_list(CMD, "depth", optarg, 8, 1000, depths, 8)) < 0)
                return EXIT_USAGE;
            for (int i = 0; i < nd; i++)
                if ((depths[i] - 2) % 6 != 0) {
                    cli_error(CMD, "--depth: %ld is not 6k+2 (20, 32, 44, 56, 110, ...)",
                              depths[i]);
                    return EXIT_USAGE;
                }
            break;
        case 't':
            if ((nt = cli_int_list(CMD, "threads", optarg, 1, 1024, threads, 8)) < 0)
                return EXIT_USAGE;
            break;
        case 'b':
            if (cli_int(CMD, "batch", optarg, 1, 65536, &batch) < 0)
                return EXIT_USAGE;
            break;
        case 'c':
            if (cli_int(CMD, "classes", optarg, 2, 1000000, &classes) < 0)
                return EXIT_USAGE;
            break;
        case 's':
            if (cli_int(CMD, "steps", optarg, 1, 100000, &steps) < 0)
                return EXIT_USAGE;
            break;
        case 'w':
            if (cli_int(CMD, "warmup", optarg, 0, 100000, &warmup) < 0)
                return EXIT_USAGE;
            break;
        case 'p': profile = 1; break;
        case 'B': blas = 1; break;
        case 'M': memory = 1; break;
        case 'm': model = optarg; break;
        case 'W':
            if (cli_int(CMD, "--width", optarg, 16, 4096, &width) < 0)
                return EXIT_USAGE;
            break;
        case 'E':
            if (cli_int(CMD, "--eval-batch", optarg, 1, 65536, &eval_batch) < 0)
                return EXIT_USAGE;
            break;
        case 'T': torch = optarg; break;
        case 'P': {
            int k = cli_choice(CMD, "precision", optarg, precisions);
            if (k < 0)
                return EXIT_USAGE;
            precision = mt_precision_parse(precisions[k]);
            break;
        }
        case 'R':
            if (cli_int(CMD, "rounds", optarg, 1, MT_ROUNDS_MAX, &rounds) < 0)
                return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s' (try --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (torch && access(torch, R_OK) != 0) {
        cli_error(CMD, "--torch: cannot read '%s'", torch);
        return EXIT_USAGE;
    }
    if (torch && !mt_bench_have_torch()) {
        cli_error(CMD, "--torch: /usr/bin/python3 cannot import torch (make deps-bench)");
        return EXIT_USAGE;
    }
    if (precision == MT_BF16 && !mt_bf16_supported()) {
        cli_error(CMD, "--precision bf16: this CPU has no native bf16 (AVX512_BF16), or "
                       "oneDNN's ISA is limited below it");
        return EXIT_USAGE;
    }
    if (memory)
        return bench_memory(model ? model : "sphere-resnet-32", (int)width, (int)batch,
                            (int)eval_batch, (int)classes, precision, profile, torch);
    if (model && depth_given) {
        cli_error(CMD, "--model and --depth both name the timed network: give one");
        return EXIT_USAGE;
    }
    if (model && torch) {
        cli_error(CMD, "--torch: the PyTorch comparison times the plain ResNets of --depth, "
                       "not --model (with --memory it takes --model)");
        return EXIT_USAGE;
    }
    bench_models models;
    memset(&models, 0, sizeof models);
    mt_train_config_default(&models.cfg);
    models.cfg.width = (int)width;
    models.show_width = width != 0;
    if (model) {
        if (strlen(model) >= sizeof models.names[0]) {
            cli_error(CMD, "--model: '%s' is too long", model);
            return EXIT_USAGE;
        }
        models.n = 1;
        snprintf(models.names[0], sizeof models.names[0], "%s", model);
    } else {
        models.n = nd;
        for (int d = 0; d < nd; d++) {
            models.depth[d] = (int)depths[d];
            snprintf(models.names[d], sizeof models.names[d], "resnet%ld", depths[d]);
        }
    }
    char info[512];
    mt_bench_blas_info(info, sizeof info);
    printf("batch %ld, 3x32x32, %ld classes; OpenBLAS %s\n", batch, classes, info);
    int status = precision == MT_BF16 || torch
                 ? bench_rounds(precision, &models, threads, nt, (int)batch, (int)classes,
                                (int)warmup, (int)steps, (int)rounds, profile, torch)
                 : bench_fp32(&models, threads, nt, (int)batch, (int)classes, (int)warmup,
                              (int)steps, profile);
    /* the times above are only as good as the algorithms they ran */
    cli_warn_busy_trials(CMD, -1);
    if (status != EXIT_OK || precision == MT_BF16 || torch)
        return status;
    for (int t = 0; blas && t < nt; t++) {
        mt_blas_mix m;
        int rc = mt_bench_blas_mix((int)threads[t], &m);
        if (rc < 0)
            return cli_fail(CMD, rc);
        printf("bench blas_mix threads=%ld sgemm=%dx%dx%d sgemm_after_openmp_ms=%.3f "
               "sgemm_after_convs_ms=%.3f resnet20_forward_after_openmp_ms=%.2f "
               "resnet20_forward_after_sgemm_ms=%.2f\n",
               threads[t], m.m, m.n, m.k, m.sgemm_alone_ms, m.sgemm_mixed_ms,
               m.forward_alone_ms, m.forward_mixed_ms);
    }
    return EXIT_OK;
}

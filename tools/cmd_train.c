/* cmd_train.c: `mutau train`: flags -> a run directory -> the trainer.
 *
 * Parses and checks every flag (one line naming the flag on error, exit 2),
 * creates or resumes the run directory, runs trainer/trainer.h's loop and maps
 * its outcome to the exit code: 0 completed, 3 diverged, 4 interrupted (a
 * checkpoint was written and the resume command printed), 1 a failure during
 * the run. Not the training itself.
 */
#include "core/signals.h"
#include "core/status.h"
#include "nn/conv_record.h"
#include "nn/net.h"
#include "optim/method.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "ps/mpi.h"
#include "ps/ps.h"
#include "tools/train_ps_cli.h"
#include "trainer/config.h"
#include "trainer/conv_choices.h"
#include "trainer/rundir.h"
#include "trainer/train_mpi.h"
#include "trainer/train_ps.h"
#include "trainer/trainer.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const CMD = "train";

static void usage(FILE *out)
{
    fprintf(out,
"usage: mutau train [FLAGS]\n"
"       mutau train --resume DIR [--threads N] [--progress MODE] [--stop-after STEPS]\n"
"                   [--oversubscribe] [--ignore-memory]\n"
"\n"
"Trains a network with momentum SGD in one process and writes a run directory:\n"
"config.json (every setting, versions), log.csv (one row per epoch; eval_* on the\n"
"--val-size images, else on the test set), final.json (status, final, best and\n"
"per-class accuracy) and checkpoint.bin. The defaults are the paper's recipe:\n"
"ResNet-20, batch 128, lr 0.2 x0.2 at epochs 60/120/160, 200 epochs, momentum\n"
"0.9, weight decay 5e-4, pad-4 crop + flip. --out is checked before the data is\n"
"loaded, and an estimate of the run's duration is printed after its first steps.\n"
"\n"
"data:\n"
"  --data DIR            a CIFAR-100 or CIFAR-10 binary folder, an image folder\n"
"                        (DIR/train/<class>/, DIR/test/<class>/) or an IDX folder\n"
"                        (MNIST, Fashion-MNIST); default: CIFAR-100 from $MUTAU_DATA\n"
"                        or ./data when present, else Fashion-MNIST\n"
"  --coarse              CIFAR-100: the 20 coarse labels instead of the 100 fine ones\n"
"  --val-size N          hold out N training images and evaluate on them each epoch\n"
"                        (default 0: evaluate on the test set)\n"
"  --limit-train N       use only the first N training images (0 = all)\n"
"  --limit-test N        use only the first N test images (0 = all)\n"
"  --pad N               random-crop padding in pixels (default 4)\n"
"  --no-flip             no random horizontal flip\n"
"  --no-augment          neither crop nor flip\n"
"\n"
"model:\n"
"  --model NAME          resnet20|resnet32|resnet44|resnet56|resnet110 (any resnetN,\n"
"                        N = 6k+2) or sphere-resnet-N (default resnet20)\n"
"  --sphere-op OP        sphere models: linear|cosine|sigmoid|learnable-sigmoid|none\n"
"                        (default linear)\n"
"  --width N             channels of the first stage, a multiple of 16 (default: 16\n"
"                        for resnetN; 96 for sphere-resnet-N, the SphereNet\n"
"                        reference's 96/192/384; 16 gives He's 16/32/64)\n"
"  --label-smoothing X   in [0, 0.999] (default 0)\n"
"  --precision P         fp32|bf16 (default fp32): bf16 runs convolutions, batch norm\n"
"                        and activations in bf16 (parameters, gradients, optimizer\n"
"                        and loss stay fp32; SphereConv's cosine math too; needs a\n"
"                        CPU with AVX512_BF16); docs/nn.md\n"
"\n"
"optimisation:\n"
"  --epochs N            epochs (default 200)\n"
"  --batch N             images per step (default 128); the last partial batch of\n"
"                        an epoch is dropped\n"
"  --lr X                base learning rate (default 0.2)\n"
"  --schedule KIND       constant|multistep|cosine (default multistep); evaluated\n"
"                        every step\n"
"  --lr-milestones LIST  multistep: epochs at which lr is multiplied by the gamma\n"
"                        (default 60,120,160)\n"
"  --lr-gamma X          multistep factor (default 0.2)\n"
"  --lr-final X          cosine: lr after the last step (default 0)\n"
"  --warmup-epochs X     linear warm-up over the first X epochs (default 0)\n"
"  --momentum X          mu in [0, 0.9999] (default 0.9): theta += -lr (g + wd theta)\n"
"                        + mu (theta - theta_prev); auto: with workers, mu from the\n"
"                        measured staleness, max(0, 0.9 - tau/(1 + tau)) (docs/methods.md)\n"
"  --nesterov            Nesterov momentum\n"
"  --weight-decay X      L2 weight decay (default 5e-4)\n"
"  --wd-bn-bias yes|no   also decay batch-norm scales/shifts and biases (default yes;\n"
"                        conv and linear weights are always decayed)\n"
"  --seed N              parameters, data order and augmentation (default 1)\n"
"\n"
"running:\n"
"  --out DIR             run directory (default runs/run)\n"
"  --force               start over in a DIR that already holds a run\n"
"  --resume DIR          continue the run in DIR from its checkpoint, bit for bit,\n"
"                        with the settings of DIR/config.json (only --threads,\n"
"                        --progress, --stop-after, --oversubscribe and\n"
"                        --ignore-memory may be given with it: they do not\n"
"                        change the trajectory)\n"
"  --threads N           intra-op threads (OpenMP/oneDNN; default: OpenMP's)\n"
"  --eval-every N        evaluate every N epochs and after the last (default 1;\n"
"                        0 = only at the end)\n"
"  --eval-batch N        images per evaluation batch (default 500)\n"
"  --checkpoint-every N  write checkpoint.bin every N epochs (default 1); always at\n"
"                        the end and on Ctrl-C/SIGTERM\n"
"  --stop-after STEPS    stop after STEPS optimizer steps in total, as on Ctrl-C\n"
"                        (checkpoint, exit 4): chunked jobs on time-limited queues\n"
"  --log-every N         also write steps.csv, a row every N optimizer steps: step,\n"
"                        epoch, lr, loss (mean over the N steps), tau_mean,\n"
"                        images_per_s (default 0: none)\n"
"  --progress MODE       auto|bar|plain|quiet (default auto: a bar on a terminal,\n"
"                        one line per epoch otherwise)\n"
"  --divergence-loss X   the run has diverged (exit 3) when a batch's mean training\n"
"                        loss exceeds X, as when it becomes NaN/Inf (default\n"
"                        100 ln(classes), 100 times the loss of a uniform guess)\n"
"\n"
"workers (the parameter server, docs/ps.md; default: one worker, which is the\n"
"single-process trainer):\n"
"  --workers W           W workers share one server (default 1)\n"
"  --mode MODE           async: W worker threads, each pulls, computes on its own\n"
"                        network copy and pushes; the staleness tau is whatever\n"
"                        the race produces (about W - 1) (default);\n"
"                        sync: W batches at the same version, gradients averaged,\n"
"                        one step (tau = 0; an epoch is batches / W steps);\n"
"                        delay: one compute thread, step k's gradient taken at\n"
"                        theta_{k - tau_k}: reproducible bit for bit\n"
"  --delay N             delay mode: the (mean) delay (default W - 1: a fixed delay\n"
"                        N models N + 1 workers served in turn)\n"
"  --delay-dist KIND     delay mode: fixed|uniform|geometric (default fixed; uniform\n"
"                        on 0..2N, geometric with mean N, drawn from the seed)\n"
"  --shards S            server locks over the parameter buffer (default 4)\n"
"  --method NAME         the server's update rule (docs/methods.md): msgd (default, eq. 1.3),\n"
"                        staleness-lr (lr / max(1, tau)), dc-asgd (delay compensation,\n"
"                        adaptive lambda), dana (DANA-Zero; async, or delay mode with a\n"
"                        fixed delay); over MPI too\n"
"  --max-staleness S     async: no applied gradient more than S versions stale, in\n"
"                        one process and over MPI (there rank 0 orders the pushes, so\n"
"                        every shard has the same version and tau; docs/mpi.md)\n"
"  --stale-policy P      wait (default: stale-synchronous parallel, workers wait) or\n"
"                        drop (a push with tau > S is discarded, counted in log.csv and\n"
"                        final.json's dropped)\n"
"  --oversubscribe       allow W x threads beyond the cores (workers time-share)\n"
"  --ignore-memory       build the workers' network copies even when they do not\n"
"                        seem to fit in memory\n"
"  --transport KIND      threads|mpi (default threads: the workers are threads of\n"
"                        this process); mpi: under mpirun, the ranks are the server\n"
"                        and the workers (--mode async|sync; W = ranks - S, so no\n"
"                        --workers), docs/mpi.md. To stop every rank after a\n"
"                        checkpoint (exit 4), send mpirun SIGUSR1: on Ctrl-C\n"
"                        Open MPI kills the ranks 2 s later and exits 1\n"
"  --server-ranks S      mpi: the first S ranks hold the parameters' shards\n"
"                        (default 1); with mpi, --threads is per worker rank\n"
"                        (default: the node's cores / its ranks)\n"
"With workers, --threads is per worker (default cores / W) and W x threads may\n"
"not exceed the cores without --oversubscribe. log.csv gets tau_mean, tau_max,\n"
"tau_p50, tau_p90, tau_p99 per epoch and server_share (the workers' time in\n"
"pull and push); final.json a staleness summary (docs/train.md).\n"
"Before building them, a run of W workers estimates its memory (W network\n"
"copies, each measured as the first is built; delay mode: its ring of past\n"
"parameters) and refuses (exit 2) when that exceeds what the machine can give\n"
"(MemAvailable, or a cgroup limit). MUTAU_MEM_AVAILABLE=SIZE (bytes, or 512M,\n"
"8G, 7.5Gi) pretends that much memory is available to the run in all, e.g. a\n"
"job's share of a shared node.\n"
"\n"
"  -h, --help            this text\n"
"\n"
"exit status: 0 done, 1 failed during the run, 2 bad flag, file or data (or\n"
"workers that do not fit in memory), 3 diverged (a batch's loss NaN/Inf or above\n"
"--divergence-loss; final.json status \"diverged\"), 4 interrupted (checkpoint written; resume with mutau\n"
"train --resume DIR).\n");
}

enum {
    O_DATA = 256, O_COARSE, O_VAL_SIZE, O_LIMIT_TRAIN, O_LIMIT_TEST, O_PAD, O_NO_FLIP,
    O_NO_AUGMENT, O_MODEL, O_SPHERE_OP, O_WIDTH, O_SMOOTH, O_EPOCHS, O_BATCH, O_LR, O_SCHEDULE,
    O_MILESTONES, O_GAMMA, O_LR_FINAL, O_WARMUP, O_MOMENTUM, O_NESTEROV, O_WD, O_WD_BN, O_SEED,
    O_OUT, O_FORCE, O_RESUME, O_THREADS, O_EVAL_EVERY, O_EVAL_BATCH, O_CKPT_EVERY, O_STOP_AFTER,
    O_PROGRESS, O_LOG_EVERY, O_WORKERS, O_MODE, O_DELAY, O_DELAY_DIST, O_SHARDS, O_OVERSUB,
    O_IGNORE_MEMORY, O_TRANSPORT, O_SERVER_RANKS, O_METHOD,
    O_MAX_STALE, O_STALE_POLICY, O_PRECISION, O_DIV_LOSS, O_HELP
};

static const struct option options[] = {
    {"data", required_argument, 0, O_DATA},
    {"coarse", no_argument, 0, O_COARSE},
    {"val-size", required_argument, 0, O_VAL_SIZE},
    {"limit-train", required_argument, 0, O_LIMIT_TRAIN},
    {"limit-test", required_argument, 0, O_LIMIT_TEST},
    {"pad", required_argument, 0, O_PAD},
    {"no-flip", no_argument, 0, O_NO_FLIP},
    {"no-augment", no_argument, 0, O_NO_AUGMENT},
    {"model", required_argument, 0, O_MODEL},
    {"sphere-op", required_argument, 0, O_SPHERE_OP},
    {"width", required_argument, 0, O_WIDTH},
    {"label-smoothing", required_argument, 0, O_SMOOTH},
    {"epochs", required_argument, 0, O_EPOCHS},
    {"batch", required_argument, 0, O_BATCH},
    {"lr", required_argument, 0, O_LR},
    {"schedule", required_argument, 0, O_SCHEDULE},
    {"lr-milestones", required_argument, 0, O_MILESTONES},
    {"lr-gamma", required_argument, 0, O_GAMMA},
    {"lr-final", required_argument, 0, O_LR_FINAL},
    {"warmup-epochs", required_argument, 0, O_WARMUP},
    {"momentum", required_argument, 0, O_MOMENTUM},
    {"nesterov", no_argument, 0, O_NESTEROV},
    {"weight-decay", required_argument, 0, O_WD},
    {"wd-bn-bias", required_argument, 0, O_WD_BN},
    {"seed", required_argument, 0, O_SEED},
    {"out", required_argument, 0, O_OUT},
    {"force", no_argument, 0, O_FORCE},
    {"resume", required_argument, 0, O_RESUME},
    {"threads", required_argument, 0, O_THREADS},
    {"eval-every", required_argument, 0, O_EVAL_EVERY},
    {"eval-batch", required_argument, 0, O_EVAL_BATCH},
    {"checkpoint-every", required_argument, 0, O_CKPT_EVERY},
    {"stop-after", required_argument, 0, O_STOP_AFTER},
    {"progress", required_argument, 0, O_PROGRESS},
    {"log-every", required_argument, 0, O_LOG_EVERY},
    {"divergence-loss", required_argument, 0, O_DIV_LOSS},
    {"workers", required_argument, 0, O_WORKERS},
    {"mode", required_argument, 0, O_MODE},
    {"delay", required_argument, 0, O_DELAY},
    {"delay-dist", required_argument, 0, O_DELAY_DIST},
    {"shards", required_argument, 0, O_SHARDS},
    {"oversubscribe", no_argument, 0, O_OVERSUB},
    {"ignore-memory", no_argument, 0, O_IGNORE_MEMORY},
    {"transport", required_argument, 0, O_TRANSPORT},
    {"server-ranks", required_argument, 0, O_SERVER_RANKS},
    {"method", required_argument, 0, O_METHOD},
    {"max-staleness", required_argument, 0, O_MAX_STALE},
    {"stale-policy", required_argument, 0, O_STALE_POLICY},
    {"precision", required_argument, 0, O_PRECISION},
    {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

const struct option *cmd_train_flags(void) { return options; }

/* The flags allowed with --resume: they do not change the trajectory. */
static int allowed_with_resume(int opt)
{
    return opt == O_RESUME || opt == O_THREADS || opt == O_PROGRESS || opt == O_STOP_AFTER ||
           opt == O_OVERSUB || opt == O_IGNORE_MEMORY || opt == O_HELP;
}

static const char *flag_name(int opt)
{
    for (const struct option *o = options; o->name; o++)
        if (o->val == opt)
            return o->name;
    return "?";
}

static int set_string(const char *flag, const char *s, char *dst, size_t cap)
{
    if (strlen(s) >= cap || !s[0]) {
        cli_error(CMD, "--%s: expected a non-empty value shorter than %zu characters", flag, cap);
        return -1;
    }
    snprintf(dst, cap, "%s", s);
    return 0;
}

/* Applies one flag to c; -1 after printing the error. */
static int apply_flag(mt_train_config *c, int opt, const char *arg, int *force)
{
    static const char *const schedules[] = {"constant", "multistep", "cosine", NULL};
    static const char *const progress[] = {"auto", "bar", "plain", "quiet", NULL};
    static const char *const yesno[] = {"no", "yes", NULL};
    static const char *const precisions[] = {"fp32", "bf16", NULL};
    static const char *const sphere_ops[] = {"linear", "cosine", "sigmoid", "learnable-sigmoid",
                                             "none", NULL};
    const char *f = flag_name(opt);
    long v;
    double d;
    int k;
    switch (opt) {
    case O_DATA: return set_string(f, arg, c->data_dir, sizeof c->data_dir);
    case O_COARSE: c->coarse = 1; return 0;
    case O_VAL_SIZE: return cli_int(CMD, f, arg, 0, 1L << 30, &v) ? -1 : (c->val_size = (int)v, 0);
    case O_LIMIT_TRAIN:
        return cli_int(CMD, f, arg, 0, 1L << 30, &v) ? -1 : (c->limit_train = (int)v, 0);
    case O_LIMIT_TEST:
        return cli_int(CMD, f, arg, 0, 1L << 30, &v) ? -1 : (c->limit_test = (int)v, 0);
    case O_PAD: return cli_int(CMD, f, arg, 0, 64, &v) ? -1 : (c->pad = (int)v, 0);
    case O_NO_FLIP: c->flip = 0; return 0;
    case O_NO_AUGMENT: c->augment = 0; return 0;
    case O_MODEL: return set_string(f, arg, c->model, sizeof c->model);
    case O_SPHERE_OP:
        if ((k = cli_choice(CMD, f, arg, sphere_ops)) < 0)
            return -1;
        snprintf(c->sphere_op, sizeof c->sphere_op, "%s", sphere_ops[k]);
        return 0;
    case O_WIDTH: return cli_int(CMD, f, arg, 1, 4096, &v) ? -1 : (c->width = (int)v, 0);
    case O_SMOOTH:
        return cli_double(CMD, f, arg, 0.0, 0.999, &d) ? -1 : (c->label_smoothing = d, 0);
    case O_EPOCHS: return cli_int(CMD, f, arg, 1, MT_TRAIN_MAX_EPOCHS, &v) ? -1 : (c->epochs = (int)v, 0);
    case O_BATCH: return cli_int(CMD, f, arg, 1, 65536, &v) ? -1 : (c->batch = (int)v, 0);
    case O_LR: return cli_double(CMD, f, arg, 1e-12, 1e6, &d) ? -1 : (c->schedule.base_lr = d, 0);
    case O_SCHEDULE:
        if ((k = cli_choice(CMD, f, arg, schedules)) < 0)
            return -1;
        c->schedule.kind = (enum mt_schedule_kind)k;
        return 0;
    case O_MILESTONES: {
        long ms[MT_SCHED_MAX_MILESTONES];
        int n = cli_int_list(CMD, f, arg, 1, 100000, ms, MT_SCHED_MAX_MILESTONES);
        if (n < 0)
            return -1;
        for (int i = 1; i < n; i++)
            if (ms[i] <= ms[i - 1]) {
                cli_error(CMD, "--%s: epochs must increase, got '%s'", f, arg);
                return -1;
            }
        c->schedule.n_milestones = n;
        for (int i = 0; i < n; i++)
            c->schedule.milestones[i] = (int)ms[i];
        return 0;
    }
    case O_GAMMA: return cli_double(CMD, f, arg, 1e-9, 1e3, &d) ? -1 : (c->schedule.gamma = d, 0);
    case O_LR_FINAL:
        return cli_double(CMD, f, arg, 0.0, 1e6, &d) ? -1 : (c->schedule.final_lr = d, 0);
    case O_WARMUP:
        return cli_double(CMD, f, arg, 0.0, 1e5, &d) ? -1 : (c->schedule.warmup_epochs = d, 0);
    case O_MOMENTUM: return cli_double(CMD, f, arg, 0.0, 0.9999, &d) ? -1 : (c->momentum = d, 0);
    case O_NESTEROV: c->nesterov = 1; return 0;
    case O_WD: return cli_double(CMD, f, arg, 0.0, 1.0, &d) ? -1 : (c->weight_decay = d, 0);
    case O_WD_BN:
        if ((k = cli_choice(CMD, f, arg, yesno)) < 0)
            return -1;
        c->wd_bn_bias = k;
        return 0;
    case O_SEED: {
        char *end;
        unsigned long long s = strtoull(arg, &end, 10);
        if (!arg[0] || *end || arg[0] == '-') {
            cli_error(CMD, "--%s: expected a non-negative integer, got '%s'", f, arg);
            return -1;
        }
        c->seed = s;
        return 0;
    }
    case O_OUT: return set_string(f, arg, c->out_dir, sizeof c->out_dir);
    case O_FORCE: *force = 1; return 0;
    case O_THREADS: return cli_int(CMD, f, arg, 1, 1024, &v) ? -1 : (c->threads = (int)v, 0);
    case O_EVAL_EVERY:
        return cli_int(CMD, f, arg, 0, 100000, &v) ? -1 : (c->eval_every = (int)v, 0);
    case O_EVAL_BATCH:
        return cli_int(CMD, f, arg, 1, 65536, &v) ? -1 : (c->eval_batch = (int)v, 0);
    case O_CKPT_EVERY:
        return cli_int(CMD, f, arg, 1, 100000, &v) ? -1 : (c->ckpt_every = (int)v, 0);
    case O_STOP_AFTER:
        return cli_int(CMD, f, arg, 0, 1L << 50, &v) ? -1 : (c->stop_after = v, 0);
    case O_LOG_EVERY:
        return cli_int(CMD, f, arg, 0, 1L << 30, &v) ? -1 : (c->log_every = (int)v, 0);
    case O_DIV_LOSS: {
        /* > 0: 0 is the setting's "the default", not a bound to ask for */
        char *end;
        errno = 0;
        d = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(d) || !(d > 0)) {
            cli_error(CMD, "--%s: expected a number > 0, got '%s'", f, arg);
            return -1;
        }
        c->divergence_loss = d;
        return 0;
    }
    case O_PROGRESS:
        if ((k = cli_choice(CMD, f, arg, progress)) < 0)
            return -1;
        c->progress = k;
        return 0;
    case O_PRECISION:
        if ((k = cli_choice(CMD, f, arg, precisions)) < 0)
            return -1;
        c->precision = mt_precision_parse(precisions[k]);
        return 0;
    }
    return -1;
}

/* An MPI run's settings.mpi: the transport, the server ranks, the mode, the
 * update rule (a run from before methods ran over MPI: msgd) and the
 * staleness bound (none when absent). */
static int mpi_from_json(const json_t *settings, int *mpi, int *server_ranks,
                         mt_train_ps_config *ps, const char *where)
{
    const json_t *j = json_object_get(settings, "mpi");
    if (!j)
        return MT_OK;
    const json_t *s = json_object_get(j, "server_ranks"), *m = json_object_get(j, "mode");
    int mode = json_is_string(m) ? mt_ps_mode_parse(json_string_value(m)) : -1;
    if (!json_is_integer(s) || json_integer_value(s) < 1 || mode < 0)
        return mt_error(MT_ERR_FORMAT, "%s: settings.mpi needs server_ranks >= 1 and a mode",
                        where);
    const json_t *method = json_object_get(j, "method");
    mt_method_kind kind = MT_METHOD_MSGD;
    if (method && (!json_is_string(method) || mt_method_parse(json_string_value(method), &kind) < 0))
        return mt_error(MT_ERR_FORMAT, "%s: settings.mpi.method is not msgd, staleness-lr, dc-asgd "
                        "or dana", where);
    *mpi = 1;
    *server_ranks = (int)json_integer_value(s);
    ps->mode = mode;
    ps->method = kind;
    ps->momentum_auto = json_is_true(json_object_get(j, "momentum_auto"));
    const json_t *bound = json_object_get(j, "max_staleness");
    if (bound && (!json_is_integer(bound) || json_integer_value(bound) < 0 ||
                  json_integer_value(bound) > 1000000))
        return mt_error(MT_ERR_FORMAT, "%s: settings.mpi.max_staleness is not an integer in "
                        "[0, 1000000]", where);
    const json_t *policy = json_object_get(j, "stale_policy");
    const char *pname = json_is_string(policy) ? json_string_value(policy) : "";
    if (bound && strcmp(pname, "wait") != 0 && strcmp(pname, "drop") != 0)
        return mt_error(MT_ERR_FORMAT, "%s: settings.mpi.stale_policy is not wait or drop", where);
    ps->max_staleness = bound ? (int64_t)json_integer_value(bound) : -1;
    ps->stale_policy = strcmp(pname, "drop") == 0 ? MT_PS_STALE_DROP : MT_PS_STALE_WAIT;
    return MT_OK;
}

/* The settings of the run in `dir` (ps: its workers, if any; mpi: whether it
 * ran over MPI, and how), with the run-only flags applied on top. */
static int load_resume_config(const char *dir, mt_train_config *c, const mt_train_config *flags,
                              const int *given, mt_train_ps_config *ps, int *mpi,
                              int *server_ranks)
{
    json_t *j;
    int rc = mt_rundir_read_json(dir, "config.json", &j);
    if (rc != MT_OK)
        return cli_fail(CMD, mt_error_context(rc, "--resume"));
    char where[MT_PATH_CAP + 32];
    snprintf(where, sizeof where, "%s/config.json", dir);
    mt_train_config_default(c);
    rc = mt_train_config_from_json(c, json_object_get(j, "settings"), where);
    if (rc == MT_OK)
        rc = mt_train_ps_config_from_json(ps, json_object_get(j, "settings"), where);
    if (rc == MT_OK)
        rc = mpi_from_json(json_object_get(j, "settings"), mpi, server_ranks, ps, where);
    json_decref(j);
    if (rc != MT_OK)
        return cli_fail(CMD, rc);
    if (given[O_THREADS - O_DATA])
        c->threads = flags->threads;
    if (given[O_PROGRESS - O_DATA])
        c->progress = flags->progress;
    /* A step limit belongs to the invocation that gave it, not to the run. */
    c->stop_after = given[O_STOP_AFTER - O_DATA] ? flags->stop_after : 0;
    /* The directory may have been moved since. */
    snprintf(c->out_dir, sizeof c->out_dir, "%s", dir);
    return EXIT_OK;
}

static void warn_schedule(const mt_train_config *c)
{
    if (c->schedule.kind != MT_SCHED_MULTISTEP)
        return;
    for (int i = 0; i < c->schedule.n_milestones; i++)
        if (c->schedule.milestones[i] >= c->epochs) {
            fprintf(stderr,
                    "mutau train: note: lr milestone %d is not before --epochs %d, so the lr "
                    "is not decayed there\n",
                    c->schedule.milestones[i], c->epochs);
            return;
        }
}

/* The run directory: a resumed run's checkpoint loaded, or a new one created
 * with config.json and log.csv's header; prints what it starts. An exit
 * code (the error printed). */
static int prepare_dir(mt_trainer *t, const mt_train_config *c, const char *resume, int force)
{
    const char *dir = c->out_dir;
    int rc;
    if (resume[0]) {
        char path[MT_PATH_CAP + 32];
        mt_rundir_path(path, sizeof path, dir, "checkpoint.bin");
        if (access(path, F_OK) != 0) {
            cli_error(CMD,
                      "--resume: %s has no checkpoint.bin (the run ended before its first "
                      "checkpoint): start it again with --out %s --force",
                      dir, dir);
            return EXIT_USAGE;
        }
        rc = mt_trainer_load(t, path);
        if (rc == MT_OK)
            rc = mt_log_truncate(dir, t->epoch);
        if (rc == MT_OK)
            rc = mt_steplog_truncate(dir, t->step);
        if (rc != MT_OK)
            return cli_fail(CMD, mt_error_context(rc, "--resume"));
        if (c->progress != MT_PROGRESS_QUIET)
            printf("resuming %s at epoch %d, batch %d (step %lld)\n", dir, t->epoch + 1,
                   t->next_index, (long long)t->step);
        return EXIT_OK;
    }
    json_t *j = NULL;
    rc = mt_rundir_create(dir, force);
    if (rc == MT_OK) {
        j = mt_trainer_config_json(t);
        rc = j ? mt_rundir_write_json(dir, "config.json", j)
               : mt_error(MT_ERR_NOMEM, "config.json: cannot build");
    }
    json_decref(j);
    if (rc == MT_OK)
        rc = mt_trainer_log_start(t, dir);
    if (rc != MT_OK)
        return cli_fail(CMD, mt_error_context(rc, "--out"));
    if (c->progress != MT_PROGRESS_QUIET)
        printf("training %s on %s (%d train / %d %s images, %d classes), %d epochs of %d "
               "steps -> %s\n",
               t->model_desc, t->data.dir, t->data.train.n, t->eval_split->n, t->eval_name,
               t->data.num_classes, c->epochs, t->steps_per_epoch, dir);
    return EXIT_OK;
}

static const char RESUMED_ELSEWHERE[] =
    "the resumed run keeps them where this machine can make them, but is not bit for bit the "
    "uninterrupted run";

/* A resumed run's convolution choices from its checkpoint at `path`, pinned
 * before any net is built (trainer/conv_choices.h): an exit code, the error
 * printed; a run made on another CPU ISA or oneDNN version gets one warning
 * line and continues. */
static int pin_conv_choices(const char *path)
{
    char note[MT_PATH_CAP + 512];
    int rc = mt_conv_choices_resume(path, note, sizeof note);
    if (rc < 0)
        return cli_fail(CMD, mt_error_context(rc, "--resume"));
    if (rc > 0)
        cli_error(CMD, "warning: %s: %s", note, RESUMED_ELSEWHERE);
    return EXIT_OK;
}

/* The exit code of a run's outcome. */
static int run_exit(int rc)
{
    switch (rc) {
    case MT_OK: return EXIT_OK;
    case MT_ERR_DIVERGED: return cli_fail(CMD, rc);
    case MT_ERR_INTERRUPTED: return cli_fail(CMD, rc);
    default:
        /* A failure during the run (disk full, a library error) is not the
         * user's input: exit 1. */
        cli_error(CMD, "%s", mt_errmsg());
        return EXIT_FAILED;
    }
}

/* MPI: every rank passes its status; the lowest failing rank prints its
 * message naming itself (unless it is rank 0 and name_rank_0 is 0), and every
 * rank gets exit code 2. */
static int mpi_agree_naming(mt_mpi *m, int rc, int name_rank_0)
{
    int first = mt_mpi_first_failure(m, rc);
    if (first < 0)
        return EXIT_OK;
    if (first == mt_mpi_rank(m) && (first > 0 || name_rank_0))
        cli_error(CMD, "rank %d: %s", first, mt_errmsg());
    else if (first == mt_mpi_rank(m))
        cli_error(CMD, "%s", mt_errmsg());
    return EXIT_USAGE;
}

static int mpi_agree(mt_mpi *m, int rc) { return mpi_agree_naming(m, rc, 1); }

/* Every rank's own check of its flags (MT_OK or a failure). Every rank given
 * the same flags finds the same error: rank 0 says it as a run in one process
 * would. */
static int mpi_agree_flags(mt_mpi *m, int rc) { return mpi_agree_naming(m, rc, 0); }

/* Root's convolution choices (bytes, size: trainer/conv_choices.h's
 * section, from `from`) pinned on every rank; the first rank whose machine
 * cannot make them alike warns once, saying `consequence`. An exit code on
 * every rank. Collective. */
static int mpi_pin_conv_choices(mt_mpi *world, int root, unsigned char *bytes, size_t size,
                                const char *from, const char *consequence)
{
    int rank = mt_mpi_rank(world);
    int rc = mt_mpi_bcast_bytes(world, root, &bytes, &size,
                                MT_CONV_RECORD_HEAD +
                                    (size_t)MT_CONV_RECORD_MAX * MT_CONV_RECORD_ENTRY);
    char note[MT_PATH_CAP + 512] = "";
    if (rc == MT_OK && bytes)
        rc = mt_conv_choices_pin(bytes, size, from, note, sizeof note);
    if (rank != root)
        free(bytes);
    int other = rc == 1;
    int ec = mpi_agree(world, rc == 1 ? MT_OK : rc);
    if (ec == EXIT_OK && mt_mpi_first_failure(world, other ? MT_ERR_ARG : MT_OK) == rank &&
        other)
        cli_error(CMD, "warning: rank %d: %s: %s", rank, note, consequence);
    return ec;
}

/* --resume over MPI: rank 0 reads the run's convolution choices from DIR's
 * checkpoint, every rank pins them. */
static int mpi_resume_conv_choices(mt_mpi *world, const char *dir)
{
    char path[MT_PATH_CAP + 32];
    mt_rundir_path(path, sizeof path, dir, "checkpoint.bin");
    unsigned char *bytes = NULL;
    size_t size = 0;
    int rc = MT_OK;
    /* no checkpoint: prepare_dir says so */
    if (mt_mpi_rank(world) == 0 && access(path, F_OK) == 0)
        rc = mt_conv_choices_read(path, &bytes, &size);
    int ec = mpi_agree(world, rc == MT_OK ? rc : mt_error_context(rc, "--resume"));
    if (ec == EXIT_OK)
        ec = mpi_pin_conv_choices(world, 0, bytes, size, path, RESUMED_ELSEWHERE);
    free(bytes);
    return ec;
}

/* The choices the first worker's nets were built with, pinned on every
 * rank before the other workers build theirs. */
static int mpi_share_conv_choices(mt_mpi *world, int first_worker)
{
    unsigned char *bytes = NULL;
    size_t size = 0;
    int rc = mt_mpi_rank(world) == first_worker ? mt_conv_record_encode(&bytes, &size) : MT_OK;
    int ec = mpi_agree(world, rc);
    char from[48];
    snprintf(from, sizeof from, "worker rank %d", first_worker);
    if (ec == EXIT_OK)
        ec = mpi_pin_conv_choices(world, first_worker, bytes, size, from,
                                  "this rank's gradients differ from that rank's in the last "
                                  "bits");
    if (mt_mpi_rank(world) == first_worker)
        free(bytes);
    return ec;
}

/* `mpirun -np N mutau train --transport mpi ...` on every rank: the same
 * checks everywhere (each rank's data and settings), then rank 0 runs the
 * trainer with the MPI server as its engine while the other ranks serve
 * shards or compute. */
static int train_mpi(mt_train_config *c, const mt_train_ps_config *ps, int server_ranks,
                     const char *resume, int force, int checked)
{
    if (!mt_mpi_launched()) {
        if (checked != MT_OK)
            return cli_fail(CMD, checked);
        cli_error(CMD, "--transport mpi: not started by mpirun (run mpirun -np N mutau train "
                  "--transport mpi ..., N = server ranks + workers)");
        return EXIT_USAGE;
    }
    if (checked == MT_OK && ps->mode == MT_PS_DELAY)
        checked = mt_error(MT_ERR_ARG, "--mode delay: delay mode simulates staleness in one "
                                       "process; over MPI the modes are async and sync");
    else if (checked == MT_OK && ps->workers != 1)
        checked = mt_error(MT_ERR_ARG, "--workers: over MPI the workers are the ranks after "
                                       "the --server-ranks (mpirun -np)");
    mt_mpi *world;
    int rc = mt_mpi_init(&world, server_ranks);
    if (rc != MT_OK) {
        /* Every rank finds it: rank 0 says so. */
        if (mt_mpi_launch_rank() <= 0)
            cli_error(CMD, "--transport mpi: %s", mt_errmsg());
        return EXIT_USAGE;
    }
    /* The flags' errors are agreed on over MPI rather than by each rank
     * exiting: the first rank to exit with an error makes mpirun end the
     * job, possibly before the rank that explains it has printed. */
    if (mpi_agree_flags(world, checked) != EXIT_OK) {
        mt_mpi_finalize(world);
        return EXIT_USAGE;
    }
    int rank = mt_mpi_rank(world);
    if (rank == 0 && !resume[0])
        warn_schedule(c);
    c->threads = mt_train_mpi_threads(world, c->threads);
    mt_train_mpi_config mc = {.mode = ps->mode,
                              .threads = c->threads,
                              .method = ps->method,
                              .momentum_auto = ps->momentum_auto,
                              .max_staleness = ps->max_staleness,
                              .stale_policy = ps->stale_policy};
    mt_trainer t;
    mt_train_mpi *run = NULL;
    int opened = 0;
    /* Every rank runs the run's convolution choices: a resumed run's, read
     * by rank 0, pinned everywhere before any net. */
    int ec = resume[0] ? mpi_resume_conv_choices(world, c->out_dir) : EXIT_OK;
    /* Every rank reads its own data; a worker builds its network, a server
     * rank only what holds the parameters (no batch of activations). The
     * server ranks and the first worker first; then the other workers pin
     * the first one's convolution choices and build theirs, so that all
     * run the same kernels (without a trial of their own). */
    int first_worker = mt_mpi_servers(world);
    for (int round = 0; round < 2 && ec == EXIT_OK; round++) {
        rc = MT_OK;
        if ((rank <= first_worker) == (round == 0)) {
            rc = mt_mpi_is_server(world) ? mt_trainer_open_server(&t, c) : mt_trainer_open(&t, c);
            opened = 1;
        }
        ec = mpi_agree(world, rc);
        if (ec == EXIT_OK && round == 0)
            ec = mpi_share_conv_choices(world, first_worker);
    }
    if (ec == EXIT_OK) {
        rc = mt_train_mpi_open(&run, &t, world, &mc);
        ec = mpi_agree(world, rc);
    }
    if (ec == EXIT_OK)
        cli_warn_busy_trials(CMD, rank);
    if (ec == EXIT_OK) {
        int bad = mt_mpi_first_mismatch(world, mt_train_mpi_hash(run, c->out_dir));
        if (bad != -1 && rank == 0)
            cli_error(CMD, bad >= 0 ? "rank %d: started with other flags than rank 0 (every "
                                      "rank must get the same flags)"
                                    : "rank %d: cannot compare the ranks' flags",
                      bad >= 0 ? bad : rank);
        ec = bad == -1 ? EXIT_OK : EXIT_USAGE;
    }
    /* Rank 0's run directory (or checkpoint) next; the others wait for it. */
    if (ec == EXIT_OK) {
        int dir_ec = rank == 0 ? prepare_dir(&t, c, resume, force) : EXIT_OK;
        int first = mt_mpi_first_failure(world, dir_ec == EXIT_OK ? MT_OK : MT_ERR_ARG);
        ec = first < 0 ? EXIT_OK : rank == 0 ? dir_ec : EXIT_USAGE;
    }
    if (ec == EXIT_OK && resume[0] && mt_mpi_is_server(world))
        ec = mpi_agree(world, mt_train_mpi_restore(run)) == EXIT_OK ? EXIT_OK : EXIT_FAILED;
    else if (ec == EXIT_OK && resume[0])
        ec = mpi_agree(world, MT_OK);
    if (ec == EXIT_OK && rank == 0) {
        if (c->progress != MT_PROGRESS_QUIET)
            mt_train_mpi_describe(run, stdout);
        fflush(stdout);
        mt_signals_install();
        rc = mt_trainer_run(&t, c->out_dir);
        mt_signals_restore();
        ec = run_exit(rc);
        /* A run that took no step here still owes the other ranks its end. */
        if (mt_train_mpi_release(run) != MT_OK) {
            cli_error(CMD, "%s", mt_errmsg());
            ec = EXIT_FAILED;
        }
    } else if (ec == EXIT_OK) {
        /* Ctrl-C on mpirun reaches every rank; rank 0 decides when to stop. */
        mt_signals_install();
        rc = mt_train_mpi_serve(run);
        mt_signals_restore();
        /* Rank 0 reports the run's failures; here only the exit code. */
        ec = rc == MT_OK ? EXIT_OK
             : rc == MT_ERR_INTERRUPTED ? EXIT_INTERRUPTED
             : rc == MT_ERR_DIVERGED ? EXIT_DIVERGED
             : EXIT_FAILED;
    }
    mt_train_mpi_close(run);
    if (opened)
        mt_trainer_close(&t);
    mt_mpi_finalize(world);
    return ec;
}

int cmd_train(int argc, char **argv)
{
    mt_train_config c, flags;
    mt_train_config_default(&flags);
    mt_train_ps_config ps;
    mt_train_ps_config_default(&ps);
    int given[O_HELP - O_DATA + 1] = {0};
    int force = 0;
    char resume[MT_PATH_CAP] = "";
    int transport_mpi = 0, server_ranks = 1;
    optind = 1;
    if (cli_check_flags(CMD, argc, argv, "h", options))
        return EXIT_USAGE;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h' || opt == O_HELP) {
            usage(stdout);
            return EXIT_OK;
        }
        if (opt == '?')
            return cli_bad_option(CMD);
        given[opt - O_DATA] = 1;
        if (opt == O_RESUME) {
            if (set_string("resume", optarg, resume, sizeof resume))
                return EXIT_USAGE;
            continue;
        }
        if (opt == O_TRANSPORT) {
            static const char *const kinds[] = {"threads", "mpi", NULL};
            int k = cli_choice(CMD, "transport", optarg, kinds);
            if (k < 0)
                return EXIT_USAGE;
            transport_mpi = k == 1;
            continue;
        }
        if (opt == O_SERVER_RANKS) {
            long v;
            if (cli_int(CMD, "server-ranks", optarg, 1, 4096, &v))
                return EXIT_USAGE;
            server_ranks = (int)v;
            continue;
        }
        if (opt == O_MOMENTUM && strcmp(optarg, "auto") == 0) {
            /* mu from the measured staleness, with the recipe's 0.9 as the target
             * (optim/momentum_auto.h) */
            ps.momentum_auto = 1;
            if (apply_flag(&flags, opt, "0.9", &force))
                return EXIT_USAGE;
            continue;
        }
        if (train_ps_is_flag(flag_name(opt))) {
            if (train_ps_flag(&ps, flag_name(opt), optarg))
                return EXIT_USAGE;
            continue;
        }
        if (apply_flag(&flags, opt, optarg, &force))
            return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s' (flags start with --; see --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (given[O_SERVER_RANKS - O_DATA] && !transport_mpi) {
        cli_error(CMD, "--server-ranks: only with --transport mpi");
        return EXIT_USAGE;
    }
    if (resume[0]) {
        for (int o = O_DATA; o <= O_HELP; o++)
            if (given[o - O_DATA] && !allowed_with_resume(o)) {
                cli_error(CMD,
                          "--%s cannot be given with --resume: the run's settings are in "
                          "%s/config.json (only --threads, --progress, --stop-after, "
                          "--oversubscribe and --ignore-memory may be given)",
                          flag_name(o), resume);
                return EXIT_USAGE;
            }
        int ec = load_resume_config(resume, &c, &flags, given, &ps, &transport_mpi,
                                    &server_ranks);
        if (ec != EXIT_OK)
            return ec;
        ps.oversubscribe |= given[O_OVERSUB - O_DATA];
        ps.ignore_memory |= given[O_IGNORE_MEMORY - O_DATA];
    } else {
        c = flags;
    }
    int rc = mt_train_config_check(&c);
    if (rc == MT_OK)
        /* Over MPI --threads is per worker rank, placed by the launcher. */
        rc = mt_train_ps_config_check(&ps, transport_mpi ? 0 : c.threads);
    /* Over MPI the ranks agree on the flags' errors, and rank 0 alone checks
     * the run directory and warns. */
    if (transport_mpi)
        return train_mpi(&c, &ps, server_ranks, resume, force, rc);
    if (rc != MT_OK)
        return cli_fail(CMD, rc);
    if (!resume[0])
        warn_schedule(&c);
    /* The run directory first: loading the data and building the network
     * take seconds to minutes. */
    const char *dir = c.out_dir;
    char path[MT_PATH_CAP + 32];
    int ec_resume;
    mt_rundir_path(path, sizeof path, dir, "checkpoint.bin");
    if (resume[0] && access(path, F_OK) != 0) {
        cli_error(CMD,
                  "--resume: %s has no checkpoint.bin (the run ended before its first "
                  "checkpoint): start it again with --out %s --force",
                  dir, dir);
        return EXIT_USAGE;
    }
    if (!resume[0] && (rc = mt_rundir_check(dir, force)) != MT_OK)
        return cli_fail(CMD, mt_error_context(rc, "--out"));
    /* The convolutions' choices the run was made with, before any net. */
    if (resume[0] && (ec_resume = pin_conv_choices(path)) != EXIT_OK)
        return ec_resume;

    mt_trainer t;
    rc = mt_trainer_open(&t, &c);
    /* More than one async worker, or another mode: the parameter server. */
    mt_train_ps *psrun = NULL;
    if (rc == MT_OK && mt_train_ps_enabled(&ps))
        rc = mt_train_ps_open(&psrun, &t, &ps);
    if (rc != MT_OK) {
        mt_trainer_close(&t);
        return cli_fail(CMD, rc);
    }
    char note[512]; /* image folders: files left out for lack of an image extension */
    for (int s = 0; s < 2; s++)
        if (mt_dataset_skip_note(&t.data, s, note, sizeof note))
            cli_error(CMD, "warning: %s", note);
    cli_warn_busy_trials(CMD, -1);
    int ec = prepare_dir(&t, &c, resume, force);
    if (ec != EXIT_OK) {
        mt_train_ps_close(psrun);
        mt_trainer_close(&t);
        return ec;
    }
    if (psrun && c.progress != MT_PROGRESS_QUIET)
        mt_train_ps_describe(psrun, stdout);
    fflush(stdout);

    mt_signals_install();
    rc = mt_trainer_run(&t, c.out_dir);
    mt_signals_restore();
    mt_train_ps_close(psrun);
    mt_trainer_close(&t);
    return run_exit(rc);
}

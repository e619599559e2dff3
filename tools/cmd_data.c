/* cmd_data.c: `mutau data`: fetch the official CIFAR archives, inspect a
 * data directory before a long run, and write synthetic datasets.
 *
 * This file parses flags and prints; the work is datasets/ (fetch.h,
 * dataset.h, synth.h).
 */
#include "core/signals.h"
#include "core/status.h"
#include "datasets/dataset.h"
#include "datasets/fetch.h"
#include "datasets/synth.h"
#include "tools/cli.h"
#include "tools/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "data";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mutau data ACTION [OPTIONS]\n\n"
            "Datasets: CIFAR-100 and CIFAR-10 (official binary format), MNIST/Fashion-MNIST (IDX,\n"
            "gzip'd or not) and image folders (DIR/train/<class>/*, DIR/test/<class>/*).\n\n"
            "actions:\n"
            "  fetch cifar100|cifar10 [--dir D]   download, verify (MD5) and unpack an official archive\n"
            "  info [DIR]                         format, image shape, images per split and class,\n"
            "                                     per-channel mean/std (DIR: the default dataset)\n"
            "  synth DIR --format F               write a small synthetic dataset in format F\n\n"
            "  -h, --help                         this help; 'mutau data ACTION --help' describes\n"
            "                                     each action's flags\n"
            "exit status: 0 done, 2 bad input (a flag, a missing or malformed file, a failed\n"
            "download), 4 fetch stopped by Ctrl-C or SIGTERM, 1 other failure\n");
}

static void usage_fetch(FILE *out)
{
    fprintf(out,
            "usage: mutau data fetch cifar100|cifar10 [OPTIONS]\n\n"
            "Downloads the official archive with curl, checks its MD5, unpacks it with tar into a\n"
            "temporary folder, checks that it loads, and only then renames it into place as\n"
            "DIR/cifar-100-binary or DIR/cifar-10-batches-bin. A failed or interrupted download\n"
            "leaves no dataset behind. A dataset already in place is kept (see --force).\n"
            "One fetch at a time per directory: a second one exits 2 at once. Hidden .fetch-*\n"
            "temporaries left by a fetch that was killed outright are removed and named.\n\n"
            "  --dir D       target directory (default $MUTAU_DATA, else ./data; the trainer's\n"
            "                default dataset is looked for in the same places)\n"
            "  --url U       download from U instead (a mirror, or file:///path/archive.tar.gz);\n"
            "                also $MUTAU_CIFAR100_URL / $MUTAU_CIFAR10_URL\n"
            "  --md5 H       expected MD5 of the archive instead of the published one\n"
            "                (cifar100 %s, cifar10 %s);\n"
            "                also $MUTAU_CIFAR100_MD5 / $MUTAU_CIFAR10_MD5\n"
            "  --force       download again and replace a dataset already in place\n"
            "  --progress M  auto|bar|plain|quiet: quiet shows no progress bar and no notes\n"
"                about removed leftovers (default auto)\n"
            "  -h, --help    this help\n\n"
            "exit status: 0 done, 2 bad input or a failed/corrupt download, 4 stopped by Ctrl-C or\n"
            "SIGTERM (nothing is left behind)\n",
            MT_CIFAR100_MD5, MT_CIFAR10_MD5);
}

static void usage_info(FILE *out)
{
    fprintf(out,
            "usage: mutau data info [DIR] [OPTIONS]\n\n"
            "Loads DIR (format detected; without DIR the default dataset: CIFAR-100 in $MUTAU_DATA\n"
            "or ./data, else Fashion-MNIST from %s) and prints its format,\n"
            "image shape, images per split and per class, and the training split's per-channel\n"
            "mean and standard deviation (pixels scaled to [0, 1]: the normalisation the trainer uses).\n\n"
            "  --coarse      CIFAR-100: the 20 coarse labels instead of the 100 fine ones\n"
            "  --val-size N  also show a hold-out of N training images as the validation split\n"
            "  --seed N      seed of the hold-out (default 1); the same --val-size and --seed as\n"
            "                mutau train's show the split that training holds out\n"
            "  -h, --help    this help\n",
            MT_FASHION_MNIST_DIR);
}

static void usage_synth(FILE *out)
{
    fprintf(out,
            "usage: mutau data synth DIR --format cifar100|cifar10|idx|folder [OPTIONS]\n\n"
            "Writes a small synthetic dataset with class-dependent images (oriented gratings with\n"
            "a class tint, plus noise: learnable, not trivial) in the exact layout of the format,\n"
            "for tests and demos. Labels cycle through the classes.\n\n"
            "  --format F      cifar100 (100 classes, 3x32x32), cifar10 (10, 3x32x32),\n"
            "                  idx (MNIST layout, 1 channel, 28x28 by default), folder (PNG files)\n"
            "  --train N       training images (default 500)\n"
            "  --test N        test images (default 100)\n"
            "  --classes K     classes, idx and folder only (default 10)\n"
            "  --size HxW      image size, idx and folder only (default 28x28 for idx, 32x32 folder)\n"
            "  --channels C    folder only: 1 (grey) or 3 (colour, default)\n"
            "  --image png|bmp folder only: file type (default png)\n"
            "  --plain         idx only: do not gzip the files\n"
            "  --seed N        seed (default 1): the same flags write the same bytes\n"
            "  -h, --help      this help\n");
}

/* ---- fetch -------------------------------------------------------------- */

static void print_notice(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "mutau data: fetch: %s\n", line);
}

static int data_fetch(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"url", required_argument, NULL, 'u'},
                                         {"md5", required_argument, NULL, 'm'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"progress", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    mt_fetch_options fo = {0};
    const char *env = getenv("MUTAU_DATA");
    const char *dir = env && *env ? env : "data";
    int c;
    optind = 1;
    if (cli_check_flags("data fetch", argc, argv, "h", opts))
        return EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'u': fo.url = optarg; break;
        case 'm': fo.md5 = optarg; break;
        case 'f': fo.force = 1; break;
        case 'p': {
            int k = cli_choice(CMD, "progress", optarg, cli_progress_modes);
            if (k < 0)
                return EXIT_USAGE;
            fo.quiet = strcmp(cli_progress_modes[k], "quiet") == 0;
            break;
        }
        case 'h': usage_fetch(stdout); return EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (optind + 1 != argc) {
        cli_error(CMD, "fetch: expected one dataset name, cifar100 or cifar10");
        return EXIT_USAGE;
    }
    if (strcmp(argv[optind], "cifar100") != 0 && strcmp(argv[optind], "cifar10") != 0) {
        cli_error(CMD, "fetch: unknown dataset '%s' (cifar100 or cifar10)", argv[optind]);
        return EXIT_USAGE;
    }
    if (!fo.quiet)
        fo.notice = print_notice;
    char where[4096];
    int already;
    /* Ctrl-C or SIGTERM: the fetch stops curl or tar and removes its temporaries. */
    mt_signals_install();
    int rc = mt_fetch(argv[optind], dir, &fo, where, sizeof where, &already);
    mt_signals_restore();
    if (rc)
        return cli_fail(CMD, rc);
    printf("%s %s in %s\n", argv[optind], already ? "already present" : "fetched and verified",
           where);
    return EXIT_OK;
}

/* ---- info --------------------------------------------------------------- */

static void print_split_stats(const char *name, const mt_split *s)
{
    double mean[MT_DATA_MAX_CHANNELS], std[MT_DATA_MAX_CHANNELS];
    if (s->n < 1 || mt_split_channel_stats(s, mean, std))
        return;
    static const char *const rgb[] = {"R", "G", "B", "A"};
    printf("%-8s mean", name);
    for (int ch = 0; ch < s->c; ch++)
        printf(" %s%.4f", s->c > 1 ? rgb[ch] : "", mean[ch]);
    printf("  std");
    for (int ch = 0; ch < s->c; ch++)
        printf(" %s%.4f", s->c > 1 ? rgb[ch] : "", std[ch]);
    printf("  (training split, pixels scaled to [0, 1])\n");
}

static int data_info(int argc, char **argv)
{
    static const struct option opts[] = {{"coarse", no_argument, NULL, 'c'},
                                         {"val-size", required_argument, NULL, 'v'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    mt_dataset_options opt = {.val_seed = 1};
    long v;
    int c;
    optind = 1;
    if (cli_check_flags("data info", argc, argv, "h", opts))
        return EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': opt.coarse = 1; break;
        case 'v':
            if (cli_int(CMD, "val-size", optarg, 0, 100000000, &v))
                return EXIT_USAGE;
            opt.val_size = (int)v;
            break;
        case 's':
            if (cli_int(CMD, "seed", optarg, 0, 2147483647L, &v))
                return EXIT_USAGE;
            opt.val_seed = (uint64_t)v;
            break;
        case 'h': usage_info(stdout); return EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (argc - optind > 1) {
        cli_error(CMD, "info: expected at most one directory, got '%s' and '%s'", argv[optind],
                  argv[optind + 1]);
        return EXIT_USAGE;
    }
    mt_dataset ds;
    int rc = optind < argc ? mt_dataset_open(&ds, argv[optind], &opt)
                           : mt_dataset_open_default(&ds, &opt);
    /* The hold-out's messages name the flag that asked for it. */
    if (rc && opt.val_size > 0 && strncmp(mt_errmsg(), "hold-out: ", 10) == 0) {
        cli_error("data info", "--val-size %d: %s", opt.val_size, mt_errmsg() + 10);
        return EXIT_USAGE;
    }
    if (rc)
        return cli_fail(CMD, rc);
    char note[512];
    for (int s = 0; s < 2; s++)
        if (mt_dataset_skip_note(&ds, s, note, sizeof note))
            cli_error(CMD, "warning: %s", note);
    const mt_split *splits[3] = {&ds.train, &ds.val, &ds.test};
    static const char *const split_names[3] = {"train", "val", "test"};
    printf("dataset  %s\n", ds.dir);
    printf("format   %s%s\n", mt_data_format_name(ds.format),
           ds.format == MT_FORMAT_CIFAR100 ? (opt.coarse ? " (coarse labels)" : " (fine labels)")
                                           : "");
    printf("images   %dx%dx%d (channels x height x width)\n", ds.train.c, ds.train.h, ds.train.w);
    printf("classes  %d\n", ds.num_classes);
    for (int s = 0; s < 3; s++)
        if (s != 1 || ds.val.n > 0)
            printf("%-8s %d images\n", split_names[s], splits[s]->n);
    print_split_stats("norm", &ds.train);
    int *counts = calloc((size_t)ds.num_classes * 3, sizeof *counts);
    if (!counts) {
        mt_dataset_free(&ds);
        cli_error(CMD, "info: out of memory");
        return EXIT_FAILED;
    }
    for (int s = 0; s < 3; s++)
        mt_split_class_counts(splits[s], ds.num_classes, counts + s * ds.num_classes);
    printf("\n%-4s %-24s %8s", "id", "class", "train");
    if (ds.val.n > 0)
        printf(" %8s", "val");
    printf(" %8s\n", "test");
    for (int k = 0; k < ds.num_classes; k++) {
        printf("%-4d %-24s %8d", k, ds.class_names[k], counts[k]);
        if (ds.val.n > 0)
            printf(" %8d", counts[ds.num_classes + k]);
        printf(" %8d\n", counts[2 * ds.num_classes + k]);
    }
    /* A class missing from a split is legal but usually a mistake worth seeing. */
    for (int k = 0; k < ds.num_classes; k++)
        if (counts[k] == 0 || (ds.test.n > 0 && counts[2 * ds.num_classes + k] == 0))
            printf("warning: class %d (%s) has no %s images\n", k, ds.class_names[k],
                   counts[k] == 0 ? "training" : "test");
    free(counts);
    mt_dataset_free(&ds);
    return EXIT_OK;
}

/* ---- synth -------------------------------------------------------------- */

static int data_synth(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"train", required_argument, NULL, 't'},
                                         {"test", required_argument, NULL, 'e'},
                                         {"classes", required_argument, NULL, 'k'},
                                         {"size", required_argument, NULL, 'z'},
                                         {"channels", required_argument, NULL, 'c'},
                                         {"image", required_argument, NULL, 'i'},
                                         {"plain", no_argument, NULL, 'p'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const char *const formats[] = {"cifar100", "cifar10", "idx", "folder", NULL};
    static const mt_data_format format_ids[] = {MT_FORMAT_CIFAR100, MT_FORMAT_CIFAR10,
                                                MT_FORMAT_IDX, MT_FORMAT_FOLDER};
    static const char *const images[] = {"png", "bmp", NULL};
    int format = -1;
    long train = -1, test = -1, classes = -1, channels = -1, seed = 1;
    int h = -1, w = -1, plain = 0;
    const char *image = "png";
    long v;
    int c;
    optind = 1;
    if (cli_check_flags("data synth", argc, argv, "h", opts))
        return EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if ((format = cli_choice(CMD, "format", optarg, formats)) < 0)
                return EXIT_USAGE;
            break;
        case 't':
            if (cli_int(CMD, "train", optarg, 1, 10000000, &train))
                return EXIT_USAGE;
            break;
        case 'e':
            if (cli_int(CMD, "test", optarg, 1, 10000000, &test))
                return EXIT_USAGE;
            break;
        case 'k':
            if (cli_int(CMD, "classes", optarg, 2, 256, &classes))
                return EXIT_USAGE;
            break;
        case 'z': {
            char tail;
            if (sscanf(optarg, "%dx%d%c", &h, &w, &tail) != 2 || h < 1 || w < 1 || h > 4096 ||
                w > 4096) {
                cli_error(CMD, "--size: expected HxW with 1 <= H, W <= 4096, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'c':
            if (cli_int(CMD, "channels", optarg, 1, 3, &channels))
                return EXIT_USAGE;
            if (channels == 2) {
                cli_error(CMD, "--channels: expected 1 or 3, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'i':
            if (cli_choice(CMD, "image", optarg, images) < 0)
                return EXIT_USAGE;
            image = optarg;
            break;
        case 'p': plain = 1; break;
        case 's':
            if (cli_int(CMD, "seed", optarg, 0, 2147483647L, &v))
                return EXIT_USAGE;
            seed = v;
            break;
        case 'h': usage_synth(stdout); return EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (format < 0) {
        cli_error(CMD, "synth: --format is required (cifar100|cifar10|idx|folder)");
        return EXIT_USAGE;
    }
    if (optind + 1 != argc) {
        cli_error(CMD, "synth: expected one output directory");
        return EXIT_USAGE;
    }
    mt_data_format f = format_ids[format];
    int cifar = f == MT_FORMAT_CIFAR100 || f == MT_FORMAT_CIFAR10;
    if (cifar && (classes > 0 || h > 0 || channels > 0)) {
        cli_error(CMD, "synth: --classes, --size and --channels are fixed by the CIFAR formats");
        return EXIT_USAGE;
    }
    if (f == MT_FORMAT_IDX && channels > 1) {
        cli_error(CMD, "--channels: IDX images have 1 channel");
        return EXIT_USAGE;
    }
    mt_synth_config cfg;
    mt_synth_config_default(&cfg, f);
    if (train > 0)
        cfg.n_train = (int)train;
    if (test > 0)
        cfg.n_test = (int)test;
    if (classes > 0)
        cfg.classes = (int)classes;
    if (h > 0) {
        cfg.h = h;
        cfg.w = w;
    }
    if (channels > 0)
        cfg.c = (int)channels;
    cfg.seed = (uint64_t)seed;
    cfg.gzip = f == MT_FORMAT_IDX && !plain;
    cfg.ext = image;
    int rc = mt_synth_write(argv[optind], &cfg, NULL);
    if (rc)
        return cli_fail(CMD, rc);
    printf("wrote %s: %s, %d classes, %dx%dx%d, %d train / %d test images\n", argv[optind],
           formats[format], cfg.classes, cfg.c, cfg.h, cfg.w, cfg.n_train, cfg.n_test);
    return EXIT_OK;
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0 || strcmp(action, "-h") == 0 || strcmp(action, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(action, "fetch") == 0)
        return data_fetch(argc - 1, argv + 1);
    if (strcmp(action, "info") == 0)
        return data_info(argc - 1, argv + 1);
    if (strcmp(action, "synth") == 0)
        return data_synth(argc - 1, argv + 1);
    cli_error(CMD, "unknown action '%s' (fetch, info or synth; see --help)", action);
    return EXIT_USAGE;
}

/* test_datasets_pipeline.c: augmentation properties, batch assembly, the
 * evaluation iteration and the loader threads: determinism independent of
 * the number of consumers, no batch lost or duplicated, exact resume, clean
 * shutdown. Small synthetic splits only.
 */
#include "core/status.h"
#include "datasets/augment.h"
#include "datasets/loader.h"
#include "datasets/synth.h"
#include "tests/check_main.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A split whose pixels are all non-zero and distinct per position. */
static void make_split(mt_split *s, int n, int c, int h, int w)
{
    ck_assert_int_eq(mt_split_alloc(s, n, c, h, w), MT_OK);
    size_t bytes = (size_t)n * c * h * w;
    for (size_t k = 0; k < bytes; k++)
        s->pixels[k] = (uint8_t)(1 + (k * 7 + k / 13) % 255);
    for (int i = 0; i < n; i++)
        s->labels[i] = (i * 3) % 10;
}

static void set_norm(mt_pipeline_config *cfg, int c)
{
    double mean[3] = {0.5, 0.4, 0.3}, std[3] = {0.25, 0.2, 0.5};
    ck_assert_int_eq(mt_norm_set(&cfg->norm, c, mean, std), MT_OK);
}

/* ---- order and draws ---------------------------------------------------- */

START_TEST(epoch_order_is_a_seeded_permutation)
{
    enum { N = 1000 };
    uint32_t a[N], b[N], c[N];
    mt_epoch_order(a, N, 5, 0);
    mt_epoch_order(b, N, 5, 0);
    mt_epoch_order(c, N, 5, 1);
    int seen[N] = {0}, same_as_next_epoch = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_uint_lt(a[i], N);
        seen[a[i]]++;
        ck_assert_uint_eq(a[i], b[i]);
        same_as_next_epoch += a[i] == c[i];
    }
    for (int i = 0; i < N; i++)
        ck_assert_msg(seen[i] == 1, "index %d appears %d times", i, seen[i]);
    ck_assert_int_lt(same_as_next_epoch, 20); /* about 1 expected */
    mt_epoch_order(c, N, 6, 0);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
}
END_TEST

START_TEST(augment_draws_cover_the_padding_and_are_pure)
{
    int hits[9][9] = {{0}}, flips = 0;
    for (int pos = 0; pos < 9000; pos++) {
        int dy, dx, f, dy2, dx2, f2;
        mt_augment_draw(3, 2, pos, 4, 1, &dy, &dx, &f);
        mt_augment_draw(3, 2, pos, 4, 1, &dy2, &dx2, &f2);
        ck_assert(dy == dy2 && dx == dx2 && f == f2);
        ck_assert(dy >= 0 && dy <= 8 && dx >= 0 && dx <= 8 && (f == 0 || f == 1));
        hits[dy][dx]++;
        flips += f;
        mt_augment_draw(3, 2, pos, 4, 0, &dy, &dx, &f);
        ck_assert_int_eq(f, 0);
    }
    for (int y = 0; y < 9; y++)
        for (int x = 0; x < 9; x++)
            ck_assert_msg(hits[y][x] > 60, "offset (%d,%d) drawn %d times of ~111", y, x, hits[y][x]);
    ck_assert_msg(abs(flips - 4500) < 300, "%d flips of 9000", flips);
    int dy, dx, f;
    mt_augment_draw(3, 2, 0, 0, 1, &dy, &dx, &f);
    ck_assert(dy == 0 && dx == 0);
}
END_TEST

/* ---- pixel operations --------------------------------------------------- */

START_TEST(crop_is_a_window_of_the_padded_image)
{
    enum { C = 2, H = 5, W = 7, P = 3 };
    uint8_t src[C * H * W], out[C * H * W];
    for (int k = 0; k < C * H * W; k++)
        src[k] = (uint8_t)(k + 1);
    /* Reference: build the padded image explicitly and slice it. */
    uint8_t padded[C][H + 2 * P][W + 2 * P];
    memset(padded, 0, sizeof padded);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                padded[c][y + P][x + P] = src[(c * H + y) * W + x];
    for (int dy = 0; dy <= 2 * P; dy++)
        for (int dx = 0; dx <= 2 * P; dx++) {
            mt_image_crop_flip(out, src, C, H, W, P, dy, dx, 0);
            int zeros = 0;
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        ck_assert_int_eq(out[(c * H + y) * W + x], padded[c][y + dy][x + dx]);
                        zeros += out[(c * H + y) * W + x] == 0;
                    }
            /* The zero border is exactly the part of the window outside the image. */
            int rows_in = H - abs(dy - P), cols_in = W - abs(dx - P);
            ck_assert_int_eq(zeros, C * (H * W - rows_in * cols_in));
        }
    /* The centred window is the image itself. */
    mt_image_crop_flip(out, src, C, H, W, P, P, P, 0);
    ck_assert_int_eq(memcmp(out, src, sizeof src), 0);
}
END_TEST

START_TEST(flip_mirrors_and_twice_is_identity)
{
    uint8_t row[2 * 1 * 3] = {1, 2, 3, 4, 5, 6};
    mt_image_flip(row, 2, 1, 3);
    uint8_t want[6] = {3, 2, 1, 6, 5, 4};
    ck_assert_int_eq(memcmp(row, want, 6), 0);
    mt_split s;
    make_split(&s, 1, 3, 8, 9);
    uint8_t img[3 * 8 * 9], flipped[3 * 8 * 9];
    memcpy(img, s.pixels, sizeof img);
    mt_image_flip(img, 3, 8, 9);
    ck_assert_int_ne(memcmp(img, s.pixels, sizeof img), 0);
    mt_image_flip(img, 3, 8, 9);
    ck_assert_int_eq(memcmp(img, s.pixels, sizeof img), 0);
    /* crop+flip = crop, then mirror */
    uint8_t cropped[3 * 8 * 9];
    mt_image_crop_flip(cropped, s.pixels, 3, 8, 9, 4, 1, 6, 0);
    mt_image_crop_flip(flipped, s.pixels, 3, 8, 9, 4, 1, 6, 1);
    mt_image_flip(cropped, 3, 8, 9);
    ck_assert_int_eq(memcmp(cropped, flipped, sizeof img), 0);
    mt_split_free(&s);
}
END_TEST

START_TEST(normalize_matches_hand_values)
{
    uint8_t img[2] = {0, 255};
    float out[2], mean[1] = {0.5f}, std[1] = {0.25f};
    mt_image_normalize(out, img, 1, 1, 2, mean, std);
    ck_assert_float_eq_tol(out[0], -2.0f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 2.0f, 1e-6f);
    mt_norm n;
    double m[1] = {0.1}, sd[1] = {0.0};
    ck_assert_int_eq(mt_norm_set(&n, 1, m, sd), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "std"));
}
END_TEST

/* ---- batches ------------------------------------------------------------ */

START_TEST(training_batch_is_the_augmented_normalised_samples)
{
    mt_split s;
    make_split(&s, 50, 3, 6, 5);
    mt_pipeline_config cfg;
    mt_pipeline_config_default(&cfg);
    cfg.batch = 8;
    cfg.seed = 77;
    cfg.pad = 2;
    set_norm(&cfg, 3);
    ck_assert_int_eq(mt_pipeline_check(&s, &cfg), MT_OK);
    size_t chw = 3 * 6 * 5;
    float x[8 * 3 * 6 * 5], ref[3 * 6 * 5];
    int y[8];
    uint32_t order[50];
    mt_epoch_order(order, 50, 77, 3);
    ck_assert_int_eq(mt_batches_per_epoch(50, 8, 1), 6);
    ck_assert_int_eq(mt_batch_train(&s, &cfg, order, 3, 4, x, y), 8);
    float worst = 0;
    for (int j = 0; j < 8; j++) {
        int pos = 4 * 8 + j, dy, dx, f;
        ck_assert_int_eq(y[j], s.labels[order[pos]]);
        mt_augment_draw(77, 3, pos, 2, 1, &dy, &dx, &f);
        uint8_t crop[3 * 6 * 5];
        mt_image_crop_flip(crop, mt_split_image(&s, (int)order[pos]), 3, 6, 5, 2, dy, dx, f);
        mt_image_normalize(ref, crop, 3, 6, 5, cfg.norm.mean, cfg.norm.std);
        for (size_t k = 0; k < chw; k++)
            worst = fmaxf(worst, fabsf(ref[k] - x[j * chw + k]));
    }
    ck_assert_msg(worst == 0.0f, "worst difference from crop+flip+normalise: %g", (double)worst);
    /* The order argument is optional. */
    float x2[8 * 3 * 6 * 5];
    int y2[8];
    ck_assert_int_eq(mt_batch_train(&s, &cfg, NULL, 3, 4, x2, y2), 8);
    ck_assert_int_eq(memcmp(x, x2, sizeof x), 0);
    /* Without augmentation a batch is just the normalised samples. */
    cfg.augment = 0;
    ck_assert_int_eq(mt_batch_train(&s, &cfg, order, 3, 0, x, y), 8);
    mt_image_normalize(ref, mt_split_image(&s, (int)order[1]), 3, 6, 5, cfg.norm.mean, cfg.norm.std);
    ck_assert_int_eq(memcmp(ref, x + chw, sizeof ref), 0);
    /* Out-of-range batch indices are refused. */
    ck_assert_int_eq(mt_batch_train(&s, &cfg, order, 3, 6, x, y), MT_ERR_ARG);
    ck_assert_int_eq(mt_batch_train(&s, &cfg, order, 3, -1, x, y), MT_ERR_ARG);
    mt_split_free(&s);
}
END_TEST

START_TEST(an_epoch_partitions_the_order)
{
    mt_split s;
    make_split(&s, 53, 1, 4, 4);
    mt_pipeline_config cfg;
    mt_pipeline_config_default(&cfg);
    cfg.batch = 10;
    cfg.augment = 0;
    set_norm(&cfg, 1);
    /* Give each sample a unique label so batches say which samples they hold. */
    for (int i = 0; i < 53; i++)
        s.labels[i] = i;
    for (int drop = 1; drop >= 0; drop--) {
        cfg.drop_last = drop;
        int nb = mt_batches_per_epoch(53, 10, drop);
        ck_assert_int_eq(nb, drop ? 5 : 6);
        uint32_t order[53];
        mt_epoch_order(order, 53, cfg.seed, 2);
        int seen[53] = {0}, total = 0;
        float x[10 * 16];
        int y[10];
        for (int b = 0; b < nb; b++) {
            int n = mt_batch_train(&s, &cfg, order, 2, b, x, y);
            ck_assert_int_eq(n, b == 5 ? 3 : 10);
            for (int j = 0; j < n; j++) {
                ck_assert_int_eq(y[j], (int)order[b * 10 + j]);
                seen[y[j]]++;
            }
            total += n;
        }
        ck_assert_int_eq(total, drop ? 50 : 53);
        for (int i = 0; i < 53; i++)
            ck_assert_int_le(seen[i], 1);
    }
    mt_split_free(&s);
}
END_TEST

START_TEST(evaluation_goes_in_order_with_a_smaller_last_batch)
{
    mt_split s;
    make_split(&s, 23, 3, 4, 4);
    mt_norm norm;
    ck_assert_int_eq(mt_norm_from_split(&norm, &s), MT_OK);
    float x[10 * 48], ref[48];
    int y[10], seen = 0, batches = 0;
    for (int first = 0;; first += 10) {
        int n = mt_batch_eval(&s, &norm, first, 10, x, y);
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        batches++;
        for (int j = 0; j < n; j++) {
            ck_assert_int_eq(y[j], s.labels[first + j]);
            mt_image_normalize(ref, mt_split_image(&s, first + j), 3, 4, 4, norm.mean, norm.std);
            ck_assert_int_eq(memcmp(ref, x + j * 48, sizeof ref), 0);
        }
        seen += n;
    }
    ck_assert_int_eq(batches, 3);
    ck_assert_int_eq(seen, 23);
    /* The split's own statistics normalise it to mean 0, std 1 per channel. */
    double sum[3] = {0}, sum2[3] = {0};
    for (int i = 0; i < 23; i++) {
        mt_batch_eval(&s, &norm, i, 1, x, y);
        for (int ch = 0; ch < 3; ch++)
            for (int k = 0; k < 16; k++) {
                sum[ch] += x[ch * 16 + k];
                sum2[ch] += x[ch * 16 + k] * x[ch * 16 + k];
            }
    }
    for (int ch = 0; ch < 3; ch++) {
        ck_assert_double_eq_tol(sum[ch] / (23 * 16), 0.0, 1e-5);
        ck_assert_double_eq_tol(sum2[ch] / (23 * 16), 1.0, 1e-4);
    }
    mt_norm wrong = norm;
    wrong.c = 1;
    ck_assert_int_eq(mt_batch_eval(&s, &wrong, 0, 10, x, y), MT_ERR_ARG);
    mt_split_free(&s);
}
END_TEST

/* ---- the loader --------------------------------------------------------- */

/* Checksum of a batch: its floats' bits and labels, position-weighted. */
static uint64_t batch_hash(const float *x, const int *y, int n, size_t chw)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < (size_t)n * chw; k++) {
        uint32_t bits;
        memcpy(&bits, &x[k], 4);
        h = (h ^ bits) * 1099511628211ULL;
    }
    for (int j = 0; j < n; j++)
        h = (h ^ (uint64_t)(uint32_t)y[j]) * 1099511628211ULL;
    return h;
}

struct fixture {
    mt_split s;
    mt_pipeline_config cfg;
    size_t chw;
    int per_epoch;
};

static void fixture_init(struct fixture *f, int epochs)
{
    make_split(&f->s, 203, 3, 8, 8);
    mt_pipeline_config_default(&f->cfg);
    f->cfg.batch = 16;
    f->cfg.seed = 12345;
    f->cfg.ring = 6;
    f->cfg.epochs = epochs;
    set_norm(&f->cfg, 3);
    f->chw = 3 * 8 * 8;
    f->per_epoch = mt_batches_per_epoch(203, 16, 1);
}

/* The expected hash of every (epoch, batch) computed without threads. */
static uint64_t *expected_hashes(struct fixture *f, int epochs)
{
    uint64_t *h = calloc((size_t)epochs * f->per_epoch, sizeof *h);
    float *x = malloc(16 * f->chw * sizeof *x);
    int y[16];
    uint32_t order[203];
    for (int e = 0; e < epochs; e++) {
        mt_epoch_order(order, 203, f->cfg.seed, e);
        for (int b = 0; b < f->per_epoch; b++) {
            int n = mt_batch_train(&f->s, &f->cfg, order, e, b, x, y);
            ck_assert_int_eq(n, 16);
            h[e * f->per_epoch + b] = batch_hash(x, y, n, f->chw);
        }
    }
    free(x);
    return h;
}

struct consumer {
    mt_loader *l;
    size_t chw;
    uint64_t *got;  /* per seq: hash */
    int *count;     /* per seq: times delivered */
    int max_seq;
    int taken;
};

static void *consume(void *arg)
{
    struct consumer *c = arg;
    mt_batch b;
    int rc;
    while ((rc = mt_loader_next(c->l, &b)) == 1) {
        /* Each seq is written by exactly one consumer, so no lock is needed;
         * a duplicate would show in count[] (and as a race under tsan). */
        if (b.seq < c->max_seq) {
            c->got[b.seq] = batch_hash(b.x, b.y, b.n, c->chw);
            c->count[b.seq]++;
        }
        c->taken++;
        mt_loader_release(c->l, &b);
    }
    ck_assert_int_eq(rc, 0);
    return NULL;
}

static void run_consumers(struct fixture *f, int producers, int consumers, int epochs,
                          const uint64_t *want)
{
    f->cfg.threads = producers;
    f->cfg.ring = 2 * consumers + 2;
    mt_loader *l;
    int rc = mt_loader_create(&l, &f->s, &f->cfg, 0, 0);
    ck_assert_msg(rc == MT_OK, "%s", mt_errmsg());
    int total = epochs * f->per_epoch;
    uint64_t *got = calloc((size_t)total, sizeof *got);
    int *count = calloc((size_t)total, sizeof *count);
    struct consumer cs[8];
    pthread_t th[8];
    for (int t = 0; t < consumers; t++) {
        cs[t] = (struct consumer){l, f->chw, got, count, total, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, consume, &cs[t]), 0);
    }
    int taken = 0;
    for (int t = 0; t < consumers; t++) {
        pthread_join(th[t], NULL);
        taken += cs[t].taken;
    }
    ck_assert_int_eq(taken, total);
    for (int q = 0; q < total; q++) {
        ck_assert_msg(count[q] == 1, "%d producers, %d consumers: batch %d delivered %d times",
                      producers, consumers, q, count[q]);
        ck_assert_msg(got[q] == want[q], "%d producers, %d consumers: batch %d (epoch %d, index %d) differs",
                      producers, consumers, q, q / f->per_epoch, q % f->per_epoch);
    }
    mt_loader_destroy(l);
    free(got);
    free(count);
}

START_TEST(loader_is_independent_of_thread_counts)
{
    struct fixture f;
    fixture_init(&f, 3);
    uint64_t *want = expected_hashes(&f, 3);
    run_consumers(&f, 1, 1, 3, want);
    run_consumers(&f, 1, 3, 3, want);
    run_consumers(&f, 2, 4, 3, want);
    run_consumers(&f, 3, 2, 3, want);
    free(want);
    mt_split_free(&f.s);
}
END_TEST

START_TEST(loader_resumes_exactly_and_reports_positions)
{
    struct fixture f;
    fixture_init(&f, 3);
    uint64_t *want = expected_hashes(&f, 3);
    mt_loader *l;
    /* Resume at epoch 1, batch 7 (what a checkpoint stores). */
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &f.cfg, 1, 7), MT_OK);
    ck_assert_int_eq(mt_loader_batches_per_epoch(l), 12);
    mt_batch b;
    int expect_seq = 1 * 12 + 7;
    while (mt_loader_next(l, &b) == 1) {
        ck_assert_int_eq(b.seq, expect_seq);
        ck_assert_int_eq(b.epoch, expect_seq / 12);
        ck_assert_int_eq(b.index, expect_seq % 12);
        ck_assert_int_eq(b.last, b.index == 11);
        ck_assert_int_eq(b.n, 16);
        ck_assert(batch_hash(b.x, b.y, b.n, f.chw) == want[expect_seq]);
        mt_loader_release(l, &b);
        expect_seq++;
    }
    ck_assert_int_eq(expect_seq, 36); /* the stream ends after epoch 2 */
    ck_assert_int_eq(mt_loader_next(l, &b), 0);
    mt_loader_destroy(l);
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &f.cfg, 0, 12), MT_ERR_ARG);
    ck_assert_ptr_null(l);
    free(want);
    mt_split_free(&f.s);
}
END_TEST

START_TEST(loader_delivers_the_partial_last_batch_when_asked)
{
    struct fixture f;
    fixture_init(&f, 2);
    f.cfg.drop_last = 0;
    mt_loader *l;
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &f.cfg, 0, 0), MT_OK);
    ck_assert_int_eq(mt_loader_batches_per_epoch(l), 13);
    mt_batch b;
    int samples = 0, batches = 0;
    while (mt_loader_next(l, &b) == 1) {
        ck_assert_int_eq(b.n, b.last ? 203 - 12 * 16 : 16);
        samples += b.n;
        batches++;
        mt_loader_release(l, &b);
    }
    ck_assert_int_eq(batches, 26);
    ck_assert_int_eq(samples, 2 * 203);
    mt_loader_destroy(l);
    mt_split_free(&f.s);
}
END_TEST

static void *take_forever(void *arg)
{
    struct consumer *c = arg;
    mt_batch b;
    int rc;
    /* Holds on to nothing: takes and releases until the stream is stopped. */
    while ((rc = mt_loader_next(c->l, &b)) == 1) {
        c->taken++;
        mt_loader_release(c->l, &b);
    }
    c->max_seq = rc;
    return NULL;
}

START_TEST(loader_stops_cleanly_with_blocked_threads)
{
    struct fixture f;
    fixture_init(&f, 0); /* endless */
    f.cfg.threads = 2;
    mt_loader *l;
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &f.cfg, 0, 0), MT_OK);
    /* A consumer that holds a batch blocks the producers once the ring is full. */
    mt_batch held;
    ck_assert_int_eq(mt_loader_next(l, &held), 1);
    struct consumer cs[2];
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        cs[t] = (struct consumer){.l = l};
        ck_assert_int_eq(pthread_create(&th[t], NULL, take_forever, &cs[t]), 0);
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    mt_loader_stop(l);
    for (int t = 0; t < 2; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(cs[t].max_seq, 0);
    }
    mt_loader_release(l, &held);
    ck_assert_int_eq(mt_loader_next(l, &held), 0);
    mt_loader_destroy(l);
    /* Destroying a loader nobody consumed from must not hang either. */
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &f.cfg, 0, 0), MT_OK);
    mt_loader_destroy(l);
    mt_loader_destroy(NULL);
    mt_split_free(&f.s);
}
END_TEST

START_TEST(pipeline_config_errors_name_the_field)
{
    struct fixture f;
    fixture_init(&f, 1);
    mt_loader *l;
    mt_pipeline_config c = f.cfg;
    c.batch = 0;
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &c, 0, 0), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "batch"));
    c = f.cfg;
    c.batch = 500;
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &c, 0, 0), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "no whole batch"));
    c = f.cfg;
    c.ring = 1;
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &c, 0, 0), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "ring"));
    c = f.cfg;
    c.pad = -1;
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &c, 0, 0), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "pad"));
    c = f.cfg;
    c.norm.c = 1;
    ck_assert_int_eq(mt_loader_create(&l, &f.s, &c, 0, 0), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "channels"));
    mt_split_free(&f.s);
}
END_TEST

START_TEST(fashion_like_grey_images_go_through_as_is)
{
    /* 1x28x28 with pad-4 crop: output keeps 28x28, one channel. */
    mt_synth_config sc;
    mt_synth_config_default(&sc, MT_FORMAT_IDX);
    sc.n_train = 64;
    sc.n_test = 8;
    mt_dataset ds;
    ck_assert_int_eq(mt_synth_make(&ds, &sc), MT_OK);
    mt_pipeline_config cfg;
    mt_pipeline_config_default(&cfg);
    cfg.batch = 32;
    ck_assert_int_eq(mt_norm_from_split(&cfg.norm, &ds.train), MT_OK);
    float *x = malloc(32 * 28 * 28 * sizeof *x);
    int y[32];
    ck_assert_int_eq(mt_batch_train(&ds.train, &cfg, NULL, 0, 1, x, y), 32);
    for (int k = 0; k < 32 * 28 * 28; k++)
        ck_assert(isfinite(x[k]));
    free(x);
    mt_dataset_free(&ds);
}
END_TEST

static Suite *datasets_pipeline_suite(void)
{
    Suite *s = suite_create("datasets_pipeline");
    TCase *tc = tcase_create("augment");
    tcase_add_test(tc, epoch_order_is_a_seeded_permutation);
    tcase_add_test(tc, augment_draws_cover_the_padding_and_are_pure);
    tcase_add_test(tc, crop_is_a_window_of_the_padded_image);
    tcase_add_test(tc, flip_mirrors_and_twice_is_identity);
    tcase_add_test(tc, normalize_matches_hand_values);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("batches");
    tcase_add_test(tb, training_batch_is_the_augmented_normalised_samples);
    tcase_add_test(tb, an_epoch_partitions_the_order);
    tcase_add_test(tb, evaluation_goes_in_order_with_a_smaller_last_batch);
    tcase_add_test(tb, fashion_like_grey_images_go_through_as_is);
    suite_add_tcase(s, tb);
    TCase *tl = tcase_create("loader");
    tcase_set_timeout(tl, 20);
    tcase_add_test(tl, loader_is_independent_of_thread_counts);
    tcase_add_test(tl, loader_resumes_exactly_and_reports_positions);
    tcase_add_test(tl, loader_delivers_the_partial_last_batch_when_asked);
    tcase_add_test(tl, loader_stops_cleanly_with_blocked_threads);
    tcase_add_test(tl, pipeline_config_errors_name_the_field);
    suite_add_tcase(s, tl);
    return s;
}

MT_CHECK_MAIN(datasets_pipeline_suite)

/* test_conv_choice.c: the remembered direct-or-Winograd choices of training
 * convolutions (nn/conv_choice.h): recorded once and found again, the file's
 * first record of a shape winning over a later measurement (so that every
 * process agrees), damaged lines skipped, and nets built on a recorded
 * choice computing as the forced algorithm does; a run's record
 * (nn/conv_record.h): what the nets ran, pinned choices winning over
 * MUTAU_CONV_ALG and the file, its bytes and their refusals; the trial's
 * timer.
 */
#include "core/status.h"
#include "nn/conv_choice.h"
#include "nn/conv_record.h"
#include "nn/layer.h"
#include "nn/net.h"
#include "tests/check_main.h"
#include "tests/gradcheck.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A private record file for this test (the run's is shared by the suites). */
static void private_cache(char *path, size_t size)
{
    snprintf(path, size, "/tmp/mutau_conv_choice_%d", (int)getpid());
    unlink(path);
    setenv("MUTAU_CONV_CACHE", path, 1);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

START_TEST(a_choice_is_recorded_once_and_found_again)
{
    char path[64];
    private_cache(path, sizeof path);
    mt_conv_key k = {1, 8, 16, 8, 8, 16, 3, 1, 1, 0, 1, 1};
    int w[3];
    ck_assert_int_eq(mt_conv_choice_find(&k, w), 0);
    int mine[3] = {1, 0, 1};
    const double ms[3][2] = {{2, 1}, {1, 2}, {2, 1}};
    mt_conv_choice_store(&k, mine, ms, 0);
    ck_assert_int_eq(mt_conv_choice_find(&k, w), 1);
    ck_assert(w[0] == 1 && w[1] == 0 && w[2] == 1);
    /* a later measurement of the same shape changes nothing */
    int later[3] = {0, 1, 0};
    mt_conv_choice_store(&k, later, ms, 0);
    ck_assert(later[0] == 1 && later[1] == 0 && later[2] == 1);
    ck_assert_int_eq(count_lines(path), 1);
    unlink(path);
}
END_TEST

/* Another process recorded the shape first (here: written into the file by
 * hand, with damaged lines around it): this one adopts its choice. */
START_TEST(the_files_first_record_wins)
{
    char path[64];
    private_cache(path, sizeof path);
    const dnnl_version_t *v = dnnl_version();
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "garbage\nisa=1 dnnl=x\n");
    for (int i = 0; i < 600; i++)
        fputc('9', f); /* a line longer than the reader's buffer */
    fprintf(f, "\nisa=%d dnnl=%d.%d.%d threads=3 n=5 ic=32 ih=8 iw=8 oc=32 k=3 stride=1 pad=1 "
               "bias=0 passes=1,1 fwd=w bwd_data=w bwd_weights=d ms=1/2,1/2,1/2\n",
            (int)dnnl_get_effective_cpu_isa(), v->major, v->minor, v->patch);
    fprintf(f, "isa=%d dnnl=%d.%d.%d threads=3 n=5 ic=32 ih=8 iw=8 oc=32 k=3 stride=1 pad=1 "
               "bias=0 passes=1,0 fwd=q bwd_data=w bwd_weights=d\n",
            (int)dnnl_get_effective_cpu_isa(), v->major, v->minor, v->patch);
    fclose(f);
    mt_conv_key k = {3, 5, 32, 8, 8, 32, 3, 1, 1, 0, 1, 1};
    int mine[3] = {0, 0, 1};
    const double ms[3][2] = {{1, 2}, {1, 2}, {2, 1}};
    mt_conv_choice_store(&k, mine, ms, 0);
    ck_assert_msg(mine[0] == 1 && mine[1] == 1 && mine[2] == 0, "%d %d %d", mine[0], mine[1],
                  mine[2]);
    ck_assert_int_eq(count_lines(path), 5); /* nothing appended */
    /* the damaged line with passes=1,0 is not a record of that key */
    mt_conv_key k2 = k;
    k2.bwd_weights = 0;
    int w[3];
    ck_assert_int_eq(mt_conv_choice_find(&k2, w), 0);
    unlink(path);
}
END_TEST

/* A choice timed while the machine was busy says so in its line, and the
 * process counts it among the choices that may be slow, whether it timed it
 * or found another process's busy line; a clean one is not counted. */
START_TEST(a_busy_trial_is_recorded_and_counted)
{
    char path[64], told[256];
    private_cache(path, sizeof path);
    int before = mt_conv_choice_busy(told, sizeof told);
    ck_assert_str_eq(told, path);
    mt_conv_key a = {1, 108, 16, 8, 8, 16, 3, 1, 1, 0, 1, 1}, b = a, c = a;
    b.n = 109;
    c.n = 110;
    int w[3] = {1, 1, 1};
    const double ms[3][2] = {{2, 1}, {2, 1}, {2, 1}};
    mt_conv_choice_store(&a, w, ms, 1);
    mt_conv_choice_store(&b, w, ms, 0);
    ck_assert_int_eq(mt_conv_choice_busy(told, sizeof told), before + 1);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_msg(strstr(line, " ms=2.000/1.000,2.000/1.000,2.000/1.000 busy\n") != NULL, "%s",
                  line);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert(strstr(line, "busy") == NULL);
    fclose(f);
    /* another process's busy line, found */
    const dnnl_version_t *v = dnnl_version();
    f = fopen(path, "a");
    fprintf(f, "isa=%d dnnl=%d.%d.%d threads=1 n=110 ic=16 ih=8 iw=8 oc=16 k=3 stride=1 pad=1 "
               "bias=0 passes=1,1 fwd=d bwd_data=d bwd_weights=d ms=1/2,1/2,1/2 busy\n",
            (int)dnnl_get_effective_cpu_isa(), v->major, v->minor, v->patch);
    fclose(f);
    ck_assert_int_eq(mt_conv_choice_find(&c, w), 1);
    ck_assert(w[0] == 0 && w[1] == 0 && w[2] == 0);
    ck_assert_int_eq(mt_conv_choice_busy(told, 0), before + 2);
    unlink(path);
}
END_TEST

/* A net whose shape was recorded as Winograd everywhere computes exactly as
 * one forced to Winograd, and one recorded as direct as one forced direct:
 * the record is what runs. */
static void step(const char *alg, float *out, size_t n_out, float *grads)
{
    if (alg)
        setenv("MUTAU_CONV_ALG", alg, 1);
    else
        unsetenv("MUTAU_CONV_ALG");
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 4, 16, 8, 8), MT_OK);
    int y = mt_conv(net, mt_net_input(net), 16, 3, 1, 1, 0);
    ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
    unsetenv("MUTAU_CONV_ALG");
    gc_fill_normal(mt_net_params(net), mt_net_param_count(net), 3, 0);
    float x[4 * 16 * 64], dy[4 * 16 * 64];
    gc_fill_normal(x, sizeof x / sizeof *x, 3, 1);
    gc_fill_normal(dy, sizeof dy / sizeof *dy, 3, 2);
    ck_assert_int_eq(mt_net_set_input(net, x, 4, NULL), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    ck_assert_int_eq(mt_net_read(net, y, out), MT_OK);
    ck_assert_int_eq(mt_net_backward_from(net, y, dy), MT_OK);
    memcpy(grads, mt_net_grads(net), mt_net_param_count(net) * sizeof *grads);
    ck_assert_uint_eq(n_out, (size_t)4 * 16 * 64);
    mt_net_free(net);
}

START_TEST(a_recorded_choice_is_what_runs)
{
    char path[64];
    private_cache(path, sizeof path);
    enum { NO = 4 * 16 * 64, NP = 16 * 16 * 9 };
    static float out[3][NO], g[3][NP];
    step("direct", out[0], NO, g[0]);
    step("winograd", out[1], NO, g[1]);
    /* the two algorithms really differ in the last bits here */
    ck_assert(memcmp(out[0], out[1], sizeof out[0]) != 0);
    const int which = _i; /* 0: record direct, 1: record Winograd */
    mt_conv_key k = {mt_threads(), 4, 16, 8, 8, 16, 3, 1, 1, 0, 0, 1};
    int rec[3] = {which, which, which};
    const double ms[3][2] = {{1, 1}, {-1, -1}, {1, 1}};
    mt_conv_choice_store(&k, rec, ms, 0);
    step(NULL, out[2], NO, g[2]);
    ck_assert(memcmp(out[2], out[which], sizeof out[2]) == 0);
    ck_assert(memcmp(g[2], g[which], sizeof g[2]) == 0);

    /* A pinned choice (the other) wins over the file and MUTAU_CONV_ALG;
     * the record of choices used holds it, and its bytes parse back to it,
     * made on this machine. */
    mt_conv_choice pin = {k, {!which, !which, !which}};
    ck_assert_int_eq(mt_conv_choice_pin(&pin, 1), MT_OK);
    step(which ? "winograd" : "direct", out[2], NO, g[2]);
    ck_assert(memcmp(out[2], out[!which], sizeof out[2]) == 0);
    ck_assert(memcmp(g[2], g[!which], sizeof g[2]) == 0);
    unsigned char *bytes;
    size_t size;
    ck_assert_int_eq(mt_conv_record_encode(&bytes, &size), MT_OK);
    mt_conv_record r;
    ck_assert_msg(mt_conv_record_parse(&r, bytes, size) == MT_OK, "%s", mt_errmsg());
    ck_assert_int_eq(mt_conv_record_same_machine(&r), 1);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(mt_conv_key_cmp(&r.choices[0].key, &k), 0);
    ck_assert(r.choices[0].winograd[0] == !which && r.choices[0].winograd[2] == !which);
    mt_conv_record_free(&r);
    free(bytes);
    unlink(path);
}
END_TEST

/* What a net built under MUTAU_CONV_ALG ran is noted, the shapes in key
 * order; and a record's bytes are refused, naming what is wrong, when they
 * are short, of another format, of a size that is not their count's, out
 * of range or out of order. */
START_TEST(a_record_is_what_ran_and_damage_is_named)
{
    char path[64];
    private_cache(path, sizeof path);
    static float out[4 * 16 * 64], g[16 * 16 * 9];
    step("direct", out, sizeof out / sizeof *out, g);
    mt_conv_choice *c;
    int n = mt_conv_choice_used(&c);
    ck_assert_int_eq(n, 1);
    ck_assert(c[0].key.n == 4 && c[0].winograd[0] == 0 && c[0].winograd[2] == 0);
    /* a second shape, noted directly, sorts before it (fewer threads) */
    mt_conv_key k0 = c[0].key;
    k0.threads = 0;
    const int w[3] = {1, 0, 1};
    ck_assert_int_eq(mt_conv_choice_note(&k0, w), MT_OK);
    free(c);
    unsigned char *b;
    size_t size;
    ck_assert_int_eq(mt_conv_record_encode(&b, &size), MT_OK);
    ck_assert_uint_eq(size, MT_CONV_RECORD_HEAD + 2 * MT_CONV_RECORD_ENTRY);
    mt_conv_record r;
    /* threads = 0 is out of range: the note is refused on reading */
    ck_assert_int_eq(mt_conv_record_parse(&r, b, size), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "entry 0: threads = 0"));
    b[MT_CONV_RECORD_HEAD] = 1; /* threads 1: now in order if the other's is above 1 */
    int other_threads = b[MT_CONV_RECORD_HEAD + MT_CONV_RECORD_ENTRY];
    int rc = mt_conv_record_parse(&r, b, size);
    if (other_threads > 1) {
        ck_assert_msg(rc == MT_OK, "%s", mt_errmsg());
        ck_assert_int_eq(r.n, 2);
        mt_conv_record_free(&r);
    } else {
        ck_assert_int_eq(rc, MT_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(mt_errmsg(), "is not after"));
    }
    static const struct {
        size_t at, size_cut;
        unsigned char value;
        const char *says;
    } bad[] = {
        {0, 0, 2, "format 2"},
        {20, 0, 3, "for 3 entries"},
        {0, 10, 1, "shorter than"},
        {MT_CONV_RECORD_HEAD + 4 * 12 + 1, 0, 2, "pass 1's choice is 2"},
        {MT_CONV_RECORD_HEAD + 4 * 12 + 3, 0, 1, "last byte"},
        {MT_CONV_RECORD_HEAD + 4 * 9, 0, 5, "bias = 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char copy[MT_CONV_RECORD_HEAD + 2 * MT_CONV_RECORD_ENTRY];
        memcpy(copy, b, size);
        copy[bad[i].at] = bad[i].value;
        size_t len = bad[i].size_cut ? bad[i].size_cut : size;
        ck_assert_int_eq(mt_conv_record_parse(&r, copy, len), MT_ERR_FORMAT);
        ck_assert_msg(strstr(mt_errmsg(), bad[i].says), "case %zu: %s", i, mt_errmsg());
        ck_assert_ptr_null(r.choices);
    }
    /* a count far beyond what the bytes hold is refused before allocating */
    b[23] = 0x7f;
    ck_assert_int_eq(mt_conv_record_parse(&r, b, size), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "more than"));
    free(b);
    unlink(path);
}
END_TEST

/* The trial's timer: candidates of different cost each get a time of their
 * own, positive and finite; a count outside 1..MT_PRIMS_TIMED_MAX is refused
 * with a message. (Which one is faster is the machine's business, not a
 * unit test's.) */
START_TEST(the_trial_times_each_candidate)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 2, 16, 8, 8), MT_OK);
    setenv("MUTAU_CONV_ALG", "direct", 1); /* no trial of its own */
    mt_conv(net, mt_net_input(net), 16, 3, 1, 1, 0);
    ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
    unsetenv("MUTAU_CONV_ALG");
    dnnl_engine_t eng = mt_net_engine(net); /* the net's stream runs them */
    dnnl_primitive_desc_t pd[2];
    for (int i = 0; i < 2; i++) {
        int n = i ? 8 : 1; /* the second does 8 times the work */
        dnnl_dims_t src = {n, 16, 8, 8}, wei = {16, 16, 3, 3}, dst = {n, 16, 8, 8};
        dnnl_dims_t strides = {1, 1}, pad = {1, 1};
        dnnl_memory_desc_t s_md, w_md, d_md;
        dnnl_memory_desc_init_by_tag(&s_md, 4, src, dnnl_f32, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&w_md, 4, wei, dnnl_f32, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&d_md, 4, dst, dnnl_f32, dnnl_format_tag_any);
        dnnl_convolution_desc_t cd;
        ck_assert_int_eq(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training,
                                                            dnnl_convolution_direct, &s_md,
                                                            &w_md, NULL, &d_md, strides, pad, pad),
                         dnnl_success);
        ck_assert_int_eq(dnnl_primitive_desc_create(&pd[i], &cd, NULL, eng, NULL), dnnl_success);
    }
    double t[2] = {-1, -1};
    int busy = -1;
    ck_assert_msg(mt_prims_time(net, (const const_dnnl_primitive_desc_t *)pd, 2, 3, t, &busy) ==
                      MT_OK,
                  "%s", mt_errmsg());
    ck_assert(busy == 0 || busy == 1);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(t[i] > 0 && t[i] < 10, "candidate %d: %g s", i, t[i]);
    ck_assert_int_eq(mt_prims_time(net, (const const_dnnl_primitive_desc_t *)pd, 0, 3, t, &busy),
                     MT_ERR_ARG);
    ck_assert_int_eq(mt_prims_time(net, (const const_dnnl_primitive_desc_t *)pd,
                                   MT_PRIMS_TIMED_MAX + 1, 3, t, &busy),
                     MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "mt_prims_time") != NULL);
    for (int i = 0; i < 2; i++)
        dnnl_primitive_desc_destroy(pd[i]);
    mt_net_free(net);
}
END_TEST

Suite *conv_choice_suite(void);
Suite *conv_choice_suite(void)
{
    Suite *s = suite_create("conv_choice");
    TCase *t = tcase_create("conv_choice");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, a_choice_is_recorded_once_and_found_again);
    tcase_add_test(t, the_files_first_record_wins);
    tcase_add_loop_test(t, a_recorded_choice_is_what_runs, 0, 2);
    tcase_add_test(t, a_record_is_what_ran_and_damage_is_named);
    tcase_add_test(t, the_trial_times_each_candidate);
    tcase_add_test(t, a_busy_trial_is_recorded_and_counted);
    suite_add_tcase(s, t);
    return s;
}

MT_CHECK_MAIN(conv_choice_suite)

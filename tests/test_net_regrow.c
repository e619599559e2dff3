/* test_net_regrow.c: a net whose primitives are re-created for another
 * thread count, where a layer then needs a private buffer larger than the
 * one placed for it in the shared arena (nn/buffers.c, mt_buffers_regrow):
 * the buffer moves to memory of its own, whole, the arena's other buffers
 * untouched, and the net computes bit for bit what a net built at that
 * thread count computes. Run under `make asan` too: writing the grown
 * buffer in place would overrun the buffers placed after it (or the arena).
 *
 * oneDNN 2.6's layers here ask for the same buffers at every thread count
 * (measured: convolutions fp32 and bf16, direct and Winograd, batch norm,
 * 1 -> 2 and 2 -> 1 and 1 -> 4 threads; Winograd's training primitives grow
 * the scratchpad, which is not in the arena), so the test adds a layer kind
 * whose cache has one copy of its input per thread, as a layer keeping
 * per-thread partial results would.
 */
#include "core/status.h"
#include "nn/layer.h"
#include "nn/net_internal.h"
#include "tests/check_main.h"
#include "tests/gradcheck.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* out = in * in; the cache (MT_BUF_TRAINING, in the arena) holds one copy of
 * the input per OpenMP thread at compile; backward checks every copy and
 * reads the last one: d in = 2 in d out. */
static int sq_infer(mt_layer *l)
{
    l->out->c = l->in[0]->c;
    l->out->h = l->in[0]->h;
    l->out->w = l->in[0]->w;
    return MT_OK;
}

static int sq_compile(mt_layer *l)
{
    int *copies = malloc(sizeof *copies);
    if (!copies)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    *copies = omp_get_max_threads();
    l->priv = copies;
    l->out->md = l->in[0]->md;
    mt_layer_backward_reads(l, 0, 0, 0); /* its cache only */
    size_t bytes = dnnl_memory_desc_get_size(&l->in[0]->md);
    return mt_layer_buffer_scoped(l, 0, (size_t)*copies * bytes, MT_BUF_TRAINING);
}

static int sq_forward(mt_layer *l, int train)
{
    size_t n = dnnl_memory_desc_get_size(&l->in[0]->md) / sizeof(float);
    const float *in = l->in[0]->data;
    float *out = l->out->data;
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * in[i];
    if (!train)
        return MT_OK;
    int copies = *(int *)l->priv;
    for (int c = 0; c < copies; c++)
        memcpy((float *)l->buf[0] + (size_t)c * n, in, n * sizeof(float));
    return MT_OK;
}

static int sq_backward(mt_layer *l)
{
    size_t n = dnnl_memory_desc_get_size(&l->in[0]->md) / sizeof(float);
    int copies = *(int *)l->priv;
    const float *cache = l->buf[0], *last = cache + (size_t)(copies - 1) * n;
    for (int c = 0; c < copies - 1; c++)
        if (memcmp(cache + (size_t)c * n, last, n * sizeof(float)) != 0)
            return mt_error(MT_ERR_LIB, "%s: cache copy %d was overwritten", l->name, c);
    float *t = mt_layer_diff_begin(l, 0);
    if (!t)
        return MT_OK;
    for (size_t i = 0; i < n; i++)
        t[i] = 2 * last[i] * l->out->diff[i];
    return mt_layer_diff_end(l, 0);
}

static void sq_destroy(mt_layer *l)
{
    free(l->priv);
    l->priv = NULL;
}

static const mt_layer_kind sq_kind = {.name = "square",
                                      .infer = sq_infer,
                                      .compile = sq_compile,
                                      .forward = sq_forward,
                                      .backward = sq_backward,
                                      .destroy = sq_destroy};

enum { B = 4, C = 16, H = 8, N_OUT = B * C * H * H };

/* conv, square, conv, square, conv: built at `build` threads, stepped twice
 * at `run` threads; the output and parameter gradients of the last step. */
static void steps(int build, int run, float *out, float *grads, size_t np, int *moved)
{
    mt_set_threads(build);
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, B, C, H, H), MT_OK);
    int y = mt_conv(net, mt_net_input(net), C, 3, 1, 1, 0);
    int sq[2];
    for (int i = 0; i < 2; i++) {
        y = sq[i] = mt_net_add_layer(net, &sq_kind, &y, 1, NULL, 0);
        y = mt_conv(net, y, C, 3, 1, 1, 0);
    }
    ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
    ck_assert_uint_eq(mt_net_param_count(net), np);
    mt_rng r;
    mt_rng_seed(&r, 5, 0);
    ck_assert_int_eq(mt_net_init(net, &r), MT_OK);
    /* the squares' caches: in the arena, sized for `build` threads */
    mt_layer *l[2] = {net->layers[1], net->layers[3]};
    const char *arena = net->arena;
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(l[i]->kind->name, "square");
        ck_assert_msg((char *)l[i]->buf[0] >= arena &&
                          (char *)l[i]->buf[0] < arena + net->arena_bytes,
                      "the cache is not in the arena");
    }
    mt_net_mem before;
    ck_assert_int_eq(mt_net_memory(net, &before), MT_OK);
    static float x[B * C * H * H], dy[N_OUT];
    gc_fill_normal(x, N_OUT, 5, 1);
    gc_fill_normal(dy, N_OUT, 5, 2);
    mt_set_threads(run);
    for (int s = 0; s < 2; s++) {
        ck_assert_int_eq(mt_net_set_input(net, x, B, NULL), MT_OK);
        ck_assert_msg(mt_net_forward(net, 1) == MT_OK, "%s", mt_errmsg());
        ck_assert_int_eq(mt_net_read(net, y, out), MT_OK);
        ck_assert_msg(mt_net_backward_from(net, y, dy) == MT_OK, "%s", mt_errmsg());
    }
    memcpy(grads, mt_net_grads(net), np * sizeof *grads);
    /* grown: out of the arena into memory of its own, the arena as it was */
    mt_net_mem after;
    ck_assert_int_eq(mt_net_memory(net, &after), MT_OK);
    *moved = 0;
    for (int i = 0; i < 2; i++)
        *moved += (char *)l[i]->buf[0] < arena || (char *)l[i]->buf[0] >= arena + net->arena_bytes;
    if (run > build) {
        size_t grown = 2 * (size_t)run * N_OUT * sizeof(float);
        ck_assert_int_eq(*moved, 2);
        ck_assert_msg(after.layer_private == before.layer_private + grown,
                      "layers' own buffers %zu -> %zu bytes, not %zu more", before.layer_private,
                      after.layer_private, grown);
        ck_assert_uint_eq(after.shared, before.shared);
        ck_assert_ptr_eq(net->arena, arena);
    }
    mt_net_free(net);
}

START_TEST(a_buffer_grown_for_more_threads_leaves_the_arena)
{
    setenv("MUTAU_CONV_ALG", "direct", 1); /* no trial: the same kernels in both nets */
    const size_t np = 3 * C * C * 9;
    static float out[2][N_OUT], g[2][3 * C * C * 9];
    int moved[2];
    steps(1, 2, out[0], g[0], np, &moved[0]); /* re-created at 2: the caches double */
    steps(2, 2, out[1], g[1], np, &moved[1]); /* built at 2 */
    ck_assert_int_eq(moved[1], 0);
    ck_assert(memcmp(out[0], out[1], sizeof out[0]) == 0);
    ck_assert(memcmp(g[0], g[1], sizeof g[0]) == 0);
    /* back to fewer threads: the caches keep their size, nothing moves */
    steps(2, 1, out[0], g[0], np, &moved[0]);
    steps(1, 1, out[1], g[1], np, &moved[1]);
    ck_assert_int_eq(moved[0], 0);
    ck_assert(memcmp(out[0], out[1], sizeof out[0]) == 0);
    ck_assert(memcmp(g[0], g[1], sizeof g[0]) == 0);
    unsetenv("MUTAU_CONV_ALG");
}
END_TEST

static Suite *net_regrow_suite(void)
{
    Suite *s = suite_create("net_regrow");
    TCase *t = tcase_create("net_regrow");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, a_buffer_grown_for_more_threads_leaves_the_arena);
    suite_add_tcase(s, t);
    return s;
}

MT_CHECK_MAIN(net_regrow_suite)

/* test_eltwise.c: the element-wise passes of nn/eltwise.h against a
 * straightforward scalar reference, bit for bit, for every case (ReLU or
 * not, accumulating or not), in fp32 and bf16, at lengths with and without a
 * vector tail and on one and two OpenMP threads. The data mix ordinary
 * values (whose sums round, ties included) with random bit patterns and the
 * special values: +-0, denormals, the largest finite values (whose sums
 * overflow), +-inf, quiet and signalling NaNs of either sign.
 *
 * The references are the loops the passes replaced, one element at a time:
 * the bf16 ones widen to fp32, compare and add there, and round each result
 * with mt_bf16_from_f32, so the 16-bit shortcuts of the passes (the ReLU
 * mask on the bit pattern, a gradient copied as its bits) are held to the
 * fp32 arithmetic they stand for. One freedom is left: x + y where both are
 * NaN gives the first operand's NaN on x86, and which operand comes first is
 * the compiler's choice (a vectorised d += s puts s first), so a sum of two
 * NaNs may be either one, quieted; every other bit is checked.
 */
#include "core/rng.h"
#include "nn/eltwise.h"
#include "nn/net.h"
#include "tests/check_main.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the references ---- */

/* x + y with x as x86's first operand (swap: y first): where both are NaN,
 * that one's NaN quieted. */
static float sum(float x, float y, int swap)
{
    float first = swap ? y : x;
    if (isnan(x) && isnan(y)) {
        uint32_t u;
        memcpy(&u, &first, sizeof u);
        u |= 0x00400000u;
        memcpy(&first, &u, sizeof u);
        return first;
    }
    return x + y;
}

static void ref_f32_add(float *o, const float *a, const float *b, size_t n, int relu, int swap)
{
    for (size_t k = 0; k < n; k++) {
        float v = sum(a[k], b[k], swap);
        o[k] = relu ? (v > 0 ? v : 0.0f) : v;
    }
}

static void ref_f32_mask_grad(float *t, const float *out, const float *dout, size_t n, int relu,
                              int acc, int swap)
{
    for (size_t k = 0; k < n; k++) {
        float g = !relu || out[k] > 0 ? dout[k] : 0.0f;
        t[k] = acc ? sum(t[k], g, swap) : g;
    }
}

static void ref_f32_add_backward(float *da, float *db, const float *out, const float *dout,
                                 size_t n, int relu, int acc, int swap)
{
    for (size_t k = 0; k < n; k++) {
        float g = !relu || out[k] > 0 ? dout[k] : 0.0f;
        da[k] = g;
        db[k] = acc ? sum(db[k], g, swap) : g;
    }
}

static float f(mt_bf16 x)
{
    return mt_bf16_to_f32(x);
}

static void ref_bf16_add(mt_bf16 *o, const mt_bf16 *a, const mt_bf16 *b, size_t n, int relu,
                         int swap)
{
    for (size_t k = 0; k < n; k++) {
        float v = sum(f(a[k]), f(b[k]), swap);
        o[k] = mt_bf16_from_f32(relu && !(v > 0) ? 0.0f : v);
    }
}

static void ref_bf16_mask_grad(mt_bf16 *t, const mt_bf16 *out, const mt_bf16 *dout, size_t n,
                               int relu, int acc, int swap)
{
    for (size_t k = 0; k < n; k++) {
        if (!relu && !acc)
            t[k] = dout[k]; /* a copy: the bits as they are */
        else if (!relu)
            t[k] = mt_bf16_from_f32(sum(f(t[k]), f(dout[k]), swap));
        else if (acc)
            t[k] = mt_bf16_from_f32(sum(f(t[k]), f(out[k]) > 0 ? f(dout[k]) : 0.0f, swap));
        else
            t[k] = f(out[k]) > 0 ? dout[k] : 0;
    }
}

static void ref_bf16_add_backward(mt_bf16 *da, mt_bf16 *db, const mt_bf16 *out,
                                  const mt_bf16 *dout, size_t n, int relu, int acc, int swap)
{
    for (size_t k = 0; k < n; k++) {
        float g = !relu || f(out[k]) > 0 ? f(dout[k]) : 0.0f;
        da[k] = mt_bf16_from_f32(g);
        db[k] = mt_bf16_from_f32(acc ? sum(f(db[k]), g, swap) : g);
    }
}

/* ---- data ---- */

static const uint32_t f32_special[] = {
    0x00000000u, 0x80000000u, /* +-0 */
    0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu, 0x00400000u, /* denormals */
    0x00800000u, 0x80800000u, /* smallest normals */
    0x7f7fffffu, 0xff7fffffu, /* largest finite */
    0x7f800000u, 0xff800000u, /* +-inf */
    0x7fc00000u, 0xffc00000u, 0x7fc12345u, /* quiet NaNs */
    0x7f800001u, 0xff812345u, 0x7fbfffffu, /* signalling NaNs */
    0x3f800000u, 0xbf800000u, 0x3f800001u, 0xbf7fffffu,
};

static const mt_bf16 bf16_special[] = {
    0x0000, 0x8000,                         /* +-0 */
    0x0001, 0x8001, 0x007f, 0x807f, 0x0040, /* denormals */
    0x0080, 0x8080,                         /* smallest normals */
    0x7f7f, 0xff7f,                         /* largest finite */
    0x7f80, 0xff80,                         /* +-inf */
    0x7fc0, 0xffc0, 0x7fc5,                 /* quiet NaNs */
    0x7f81, 0xff81, 0x7fbf, 0xffbf,         /* signalling NaNs */
    0x3f80, 0xbf80, 0x3f81, 0xbf7f, 0x4000, 0x3c01,
};

#define N_F32_SPECIAL (sizeof f32_special / sizeof *f32_special)
#define N_BF16_SPECIAL (sizeof bf16_special / sizeof *bf16_special)

/* A third ordinary values (of a scale per array, so that sums round), a
 * third random bits, a third special values. */
static void fill_f32(float *x, size_t n, mt_rng *r)
{
    float scale = (float)(1u << mt_rng_below(r, 8));
    for (size_t k = 0; k < n; k++) {
        uint64_t kind = mt_rng_below(r, 3);
        uint32_t u;
        if (kind == 0) {
            float v = scale * (float)mt_rng_normal(r);
            memcpy(&u, &v, sizeof u);
        } else if (kind == 1) {
            u = (uint32_t)mt_rng_u64(r);
        } else {
            u = f32_special[mt_rng_below(r, N_F32_SPECIAL)];
        }
        memcpy(&x[k], &u, sizeof u);
    }
}

static void fill_bf16(mt_bf16 *x, size_t n, mt_rng *r)
{
    float scale = (float)(1u << mt_rng_below(r, 8));
    for (size_t k = 0; k < n; k++) {
        uint64_t kind = mt_rng_below(r, 3);
        if (kind == 0)
            x[k] = mt_bf16_from_f32(scale * (float)mt_rng_normal(r));
        else if (kind == 1)
            x[k] = (mt_bf16)mt_rng_u64(r);
        else
            x[k] = bf16_special[mt_rng_below(r, N_BF16_SPECIAL)];
    }
}

/* ---- running and comparing ---- */

enum { ADD, ACCUMULATE, MASK_GRAD, ADD_BACKWARD };
static const char *const pass_names[] = {"add", "accumulate", "mask_grad", "add_backward"};

/* The pass's arrays: a and b in, t and u (add_backward's db) written, with
 * their values before the pass in t_in and u_in. */
typedef struct {
    void *a, *b, *t, *u, *t_in, *u_in;
} arrays;

/* The pass (ref < 0) or its reference with the sums' operands in order
 * ref (0 or 1) on x. */
static void run(int bf16, int kind, int relu, int acc, const arrays *x, size_t n, int ref)
{
    void *t = x->t, *u = x->u;
    const void *a = x->a, *b = x->b;
    if (bf16 && kind == ADD)
        ref < 0 ? mt_bf16_add(t, a, b, n, relu) : ref_bf16_add(t, a, b, n, relu, ref);
    else if (kind == ADD)
        ref < 0 ? mt_f32_add(t, a, b, n, relu) : ref_f32_add(t, a, b, n, relu, ref);
    else if (bf16 && kind == ACCUMULATE)
        ref < 0 ? mt_bf16_accumulate(t, b, n) : ref_bf16_mask_grad(t, NULL, b, n, 0, 1, ref);
    else if (kind == ACCUMULATE)
        ref < 0 ? mt_f32_accumulate(t, b, n) : ref_f32_mask_grad(t, NULL, b, n, 0, 1, ref);
    else if (bf16 && kind == MASK_GRAD)
        ref < 0 ? mt_bf16_mask_grad(t, a, b, n, relu, acc)
                : ref_bf16_mask_grad(t, a, b, n, relu, acc, ref);
    else if (kind == MASK_GRAD)
        ref < 0 ? mt_f32_mask_grad(t, a, b, n, relu, acc)
                : ref_f32_mask_grad(t, a, b, n, relu, acc, ref);
    else if (bf16)
        ref < 0 ? mt_bf16_add_backward(t, u, a, b, n, relu, acc)
                : ref_bf16_add_backward(t, u, a, b, n, relu, acc, ref);
    else
        ref < 0 ? mt_f32_add_backward(t, u, a, b, n, relu, acc)
                : ref_f32_add_backward(t, u, a, b, n, relu, acc, ref);
}

static uint32_t bits(const void *v, size_t k, size_t size)
{
    uint32_t u = 0;
    memcpy(&u, (const char *)v + k * size, size);
    return u;
}

/* got equals want[0] or want[1] at every element, else fails naming the
 * first element that does not and its inputs. */
static void expect(const char *what, int bf16, int kind, int relu, int acc, size_t n,
                   const void *got, const void *const want[2], const arrays *x, const void *in)
{
    size_t size = bf16 ? 2 : 4;
    for (size_t k = 0; k < n; k++) {
        uint32_t g = bits(got, k, size);
        if (g == bits(want[0], k, size) || g == bits(want[1], k, size))
            continue;
        ck_abort_msg("%s %s relu=%d acc=%d n=%zu threads=%d: %s[%zu] is 0x%x, the reference 0x%x "
                     "(a 0x%x, b 0x%x, %s before 0x%x)",
                     bf16 ? "bf16" : "fp32", pass_names[kind], relu, acc, n, mt_threads(), what,
                     k, (unsigned)g, (unsigned)bits(want[0], k, size), (unsigned)bits(x->a, k, size),
                     (unsigned)bits(x->b, k, size), what, (unsigned)bits(in, k, size));
    }
}

static void fill(int bf16, void *v, size_t n, mt_rng *r)
{
    if (bf16)
        fill_bf16(v, n, r);
    else
        fill_f32(v, n, r);
}

/* Lengths: none, shorter than a vector, around one and two AVX-512 vectors
 * of either type, and long ones with odd tails split across threads. */
static const size_t lengths[] = {0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 65, 1000, 4099, 65537};
#define N_LENGTHS (sizeof lengths / sizeof *lengths)

/* Every pass and case of one type (bf16 or fp32) on threads 1 and 2 (_i). */
static void check_type(int bf16, int threads)
{
    mt_set_threads(threads);
    mt_rng r;
    mt_rng_seed(&r, 14, (uint64_t)(2 * threads + bf16));
    size_t cap = lengths[N_LENGTHS - 1] * 4;
    arrays x, want[2];
    void **all[] = {&x.a, &x.b, &x.t, &x.u, &x.t_in, &x.u_in, &want[0].t, &want[0].u, &want[1].t,
                    &want[1].u};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        *all[i] = malloc(cap);
        ck_assert(*all[i]);
    }
    for (int j = 0; j < 2; j++)
        want[j].a = x.a, want[j].b = x.b;
    for (size_t li = 0; li < N_LENGTHS; li++)
        for (int kind = ADD; kind <= ADD_BACKWARD; kind++)
            for (int relu = 0; relu < 2; relu++)
                for (int acc = 0; acc < 2; acc++) {
                    if ((kind == ADD && acc) || (kind == ACCUMULATE && (relu || !acc)))
                        continue; /* no such case */
                    size_t n = lengths[li], bytes = n * (bf16 ? 2 : 4);
                    fill(bf16, x.a, n, &r);
                    fill(bf16, x.b, n, &r);
                    fill(bf16, x.t_in, n, &r);
                    fill(bf16, x.u_in, n, &r);
                    memcpy(x.t, x.t_in, bytes);
                    memcpy(x.u, x.u_in, bytes);
                    run(bf16, kind, relu, acc, &x, n, -1);
                    for (int j = 0; j < 2; j++) {
                        memcpy(want[j].t, x.t_in, bytes);
                        memcpy(want[j].u, x.u_in, bytes);
                        run(bf16, kind, relu, acc, &want[j], n, j);
                    }
                    const void *wt[2] = {want[0].t, want[1].t}, *wu[2] = {want[0].u, want[1].u};
                    expect(kind == ADD_BACKWARD ? "da" : "t", bf16, kind, relu, acc, n, x.t, wt,
                           &x, x.t_in);
                    if (kind == ADD_BACKWARD)
                        expect("db", bf16, kind, relu, acc, n, x.u, wu, &x, x.u_in);
                }
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(*all[i]);
}

START_TEST(f32_passes_match_reference)
{
    check_type(0, 1 + _i);
}
END_TEST

START_TEST(bf16_passes_match_reference)
{
    check_type(1, 1 + _i);
}
END_TEST

/* The bit-pattern test for bf16 > 0 against the fp32 comparison, on all
 * 65536 values (through mt_bf16_mask_grad, where it decides). */
START_TEST(bf16_relu_mask_on_every_value)
{
    mt_set_threads(1);
    size_t n = 65536;
    mt_bf16 *out = malloc(n * sizeof *out), *dout = malloc(n * sizeof *dout);
    mt_bf16 *t = malloc(n * sizeof *t);
    ck_assert(out && dout && t);
    for (size_t k = 0; k < n; k++) {
        out[k] = (mt_bf16)k;
        dout[k] = 0x3f80; /* 1 */
    }
    mt_bf16_mask_grad(t, out, dout, n, 1, 0);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(t[k] == (mt_bf16_to_f32(out[k]) > 0 ? 0x3f80 : 0),
                      "out 0x%04zx masked as %s", k, t[k] ? "> 0" : "<= 0 or NaN");
    free(out), free(dout), free(t);
}
END_TEST

static Suite *eltwise_suite(void)
{
    Suite *s = suite_create("eltwise");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, f32_passes_match_reference, 0, 2);
    tcase_add_loop_test(tc, bf16_passes_match_reference, 0, 2);
    tcase_add_test(tc, bf16_relu_mask_on_every_value);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(eltwise_suite)

/* passes.c: mutau's own element-wise passes (nn/eltwise.h) and the fused
 * block tail's (nn/bn_add_passes.h) against the machine's streaming speed. Each pass runs over arrays of n elements (by
 * default 128 x 16 x 32 x 32, ResNet-20's largest residual tensor at batch
 * 128); its speed is the bytes it moves per second, next to that of a plain
 * copy loop over two arrays of the same size and type. Bytes moved count
 * every array read, every array written and, once more, every array written
 * without being read (the cache reads each line before a store fills it), so
 * a copy moves 3 arrays and d += s also 3. One line per pass and case:
 *   bench pass=NAME type=bf16 relu=R acc=A n=N cold_ms=.. cold_of_copy=.. warm_ms=.. warm_of_copy=..
 * cold: after writing a buffer larger than the last-level cache, so every
 * array comes from memory (as in a training step, where a layer's input was
 * written long before); warm: the same pass run again at once, its arrays in
 * the caches as far as they fit. of_copy near 1 is the copy's speed. Times
 * are wall-clock medians of interleaved repetitions on MUTAU_BENCH_THREADS
 * OpenMP threads (default 1). `passes N` times n = N elements. The block
 * tail's passes read the arrays as nChw16c images of 16 channels at 32x32
 * (n a multiple of 16384; otherwise they are left out).
 *
 * Not a test: tests/test_eltwise.c and tests/test_bn_add.c check the results.
 */
#include "core/clock.h"
#include "core/rng.h"
#include "nn/bn_add_passes.h"
#include "nn/eltwise.h"
#include "nn/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    COPY,
    ADD,
    ACCUMULATE,
    MASK_GRAD,
    ADD_BACKWARD,
    BN_MOMENTS,
    BN_APPLY,
    BN_GRAD_SUMS,
    BN_GRAD_INPUT,
    N_KINDS
};

static const char *const kind_names[N_KINDS] = {
    "copy",       "add",      "accumulate",   "mask_grad",    "add_backward",
    "bn_moments", "bn_apply", "bn_grad_sums", "bn_grad_input"};

/* The block tail's images: 16 channels of 32x32. */
enum { TAIL_HW = 32 * 32, TAIL_IMAGE = 16 * TAIL_HW };

typedef struct {
    int kind, bf16, relu, acc;
} pass;

/* Arrays this pass moves, as counted above. */
static int arrays_moved(const pass *p)
{
    switch (p->kind) {
    case COPY:
    case ACCUMULATE: /* s, d read; d written */
        return 3;
    case ADD: /* a, b read; o written fresh */
        return 4;
    case MASK_GRAD: /* out (relu), dout read; t written fresh or read and written (acc) */
        return (p->relu ? 1 : 0) + 3;
    case BN_MOMENTS: /* x read (its chunks again from cache) */
        return 1;
    case BN_APPLY:      /* x, s read; out written fresh */
    case BN_GRAD_INPUT: /* g, x read; dx written fresh */
        return 4;
    case BN_GRAD_SUMS: /* out, dout, x read; g written fresh */
        return 5;
    default: /* out (relu), dout read; da written fresh; db as t above */
        return (p->relu ? 1 : 0) + 5;
    }
}

/* A copy the compiler cannot turn into a call to memcpy (whose large-size
 * path may bypass the cache): the same loads and stores as a pass. */
static void copy_loop(void *dst, const void *src, size_t bytes, uint32_t zero)
{
    uint32_t *restrict d = dst;
    const uint32_t *restrict s = src;
    size_t n = bytes / sizeof *d;
#pragma omp parallel for simd schedule(static)
    for (size_t k = 0; k < n; k++)
        d[k] = s[k] ^ zero;
}

/* The block tail's per-channel coefficients (16) and per-image sums. */
typedef struct {
    float c[4][16];
    double *sums;
} tail_args;

static void run(const pass *p, void *const x[4], size_t n, uint32_t zero, tail_args *ta)
{
    void *t = x[0], *u = x[1];
    const void *a = x[2], *b = x[3];
    mt_bn_chunks k = {(int)(n / TAIL_IMAGE), 1, 16, TAIL_HW, TAIL_IMAGE, 0, p->bf16};
    double *s0 = ta->sums, *s1 = ta->sums + n / TAIL_HW;
    if (p->kind == BN_MOMENTS)
        mt_bn_chunk_moments(&k, a, s0, s1);
    else if (p->kind == BN_APPLY)
        mt_bn_add_apply(&k, t, a, b, ta->c[0], ta->c[1], p->relu);
    else if (p->kind == BN_GRAD_SUMS)
        mt_bn_add_grad_sums(&k, t, a, b, u, ta->c[2], p->relu, s0, s1);
    else if (p->kind == BN_GRAD_INPUT)
        mt_bn_add_grad_input(&k, t, a, b, ta->c[0], ta->c[1], ta->c[2]);
    else if (p->kind == COPY)
        copy_loop(t, a, n * (p->bf16 ? 2 : 4), zero);
    else if (p->kind == ADD && p->bf16)
        mt_bf16_add(t, a, b, n, p->relu);
    else if (p->kind == ADD)
        mt_f32_add(t, a, b, n, p->relu);
    else if (p->kind == ACCUMULATE && p->bf16)
        mt_bf16_accumulate(t, a, n);
    else if (p->kind == ACCUMULATE)
        mt_f32_accumulate(t, a, n);
    else if (p->kind == MASK_GRAD && p->bf16)
        mt_bf16_mask_grad(t, a, b, n, p->relu, p->acc);
    else if (p->kind == MASK_GRAD)
        mt_f32_mask_grad(t, a, b, n, p->relu, p->acc);
    else if (p->bf16)
        mt_bf16_add_backward(t, u, a, b, n, p->relu, p->acc);
    else
        mt_f32_add_backward(t, u, a, b, n, p->relu, p->acc);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *te = getenv("MUTAU_BENCH_THREADS");
    const int threads = te ? atoi(te) : 1, reps = 31;
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : (size_t)128 * 16 * 32 * 32;
    if (n == 0 || n > ((size_t)1 << 30)) {
        fprintf(stderr, "passes: N must be 1 to 2^30 elements\n");
        return 2;
    }
    mt_set_threads(threads > 0 ? threads : 1);

    pass ps[64];
    int np = 0;
    for (int bf = 1; bf >= 0; bf--) {
        ps[np++] = (pass){COPY, bf, 0, 0};
        for (int relu = 0; relu < 2; relu++)
            ps[np++] = (pass){ADD, bf, relu, 0};
        ps[np++] = (pass){ACCUMULATE, bf, 0, 0};
        for (int relu = 0; relu < 2; relu++)
            for (int acc = 0; acc < 2; acc++) {
                ps[np++] = (pass){MASK_GRAD, bf, relu, acc};
                ps[np++] = (pass){ADD_BACKWARD, bf, relu, acc};
            }
        if (n % TAIL_IMAGE == 0) {
            ps[np++] = (pass){BN_MOMENTS, bf, 0, 0};
            ps[np++] = (pass){BN_APPLY, bf, 1, 0};
            ps[np++] = (pass){BN_GRAD_SUMS, bf, 1, 0};
            ps[np++] = (pass){BN_GRAD_INPUT, bf, 0, 0};
        }
    }

    /* four arrays of normal values (half of them negative), fp32 or bf16 */
    void *x[2][4];
    mt_rng rng;
    mt_rng_seed(&rng, 1, 0);
    for (int i = 0; i < 4; i++) {
        float *f = malloc(n * sizeof *f);
        mt_bf16 *h = malloc(n * sizeof *h);
        if (!f || !h) {
            fprintf(stderr, "passes: out of memory for %zu elements\n", n);
            return 1;
        }
        for (size_t k = 0; k < n; k++) {
            f[k] = (float)mt_rng_normal(&rng);
            h[k] = mt_bf16_from_f32(f[k]);
        }
        x[0][i] = f;
        x[1][i] = h;
    }
    uint32_t zero = (uint32_t)(argc > 100);
    tail_args ta = {.sums = malloc(2 * (n / TAIL_HW + 1) * sizeof(double))};
    for (int l = 0; l < 16; l++) {
        ta.c[0][l] = 0.9f + 0.01f * l;
        ta.c[1][l] = 0.1f - 0.02f * l;
        ta.c[2][l] = 0.05f * l;
    }
    /* larger than this machine's last-level cache, written before a cold pass */
    const size_t flush_n = (size_t)64 << 20;
    unsigned char *flush = malloc(flush_n);
    double *ms = malloc(2 * (size_t)np * reps * sizeof *ms);
    if (!flush || !ms || !ta.sums)
        return 1;
    /* The arrays are not reset between runs: an accumulating pass adds the
     * same values again, which costs the same and stays finite. */
    for (int r = -1; r < reps; r++) /* round -1 warms up */
        for (int i = 0; i < np; i++) {
            memset(flush, r & 0xff, flush_n);
            for (int w = 0; w < 2; w++) { /* cold, then warm */
                double t0 = mt_now();
                run(&ps[i], x[ps[i].bf16], n, zero, &ta);
                if (r >= 0)
                    ms[((size_t)w * np + i) * reps + r] = 1e3 * (mt_now() - t0);
            }
        }

    printf("element-wise passes, n = %zu, %d OpenMP thread(s) (MUTAU_BENCH_THREADS), wall-clock "
           "median of %d interleaved repetitions\n",
           n, mt_threads(), reps);
    double copy_ms[2] = {0, 0};
    for (int i = 0; i < np; i++) {
        double med[2];
        for (int w = 0; w < 2; w++) {
            double *m = ms + ((size_t)w * np + i) * reps;
            qsort(m, reps, sizeof *m, cmp_double);
            med[w] = m[reps / 2];
            if (ps[i].kind == COPY)
                copy_ms[w] = med[w];
        }
        /* the copy moves 3 arrays: this pass at the copy's speed takes
         * copy_ms * moved / 3 */
        double moved = arrays_moved(&ps[i]) / 3.0;
        printf("bench pass=%s type=%s relu=%d acc=%d n=%zu cold_ms=%.3f cold_of_copy=%.2f "
               "warm_ms=%.3f warm_of_copy=%.2f\n",
               kind_names[ps[i].kind], ps[i].bf16 ? "bf16" : "fp32", ps[i].relu, ps[i].acc, n,
               med[0], copy_ms[0] * moved / med[0], med[1], copy_ms[1] * moved / med[1]);
    }
    free(flush);
    free(ms);
    free(ta.sums);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 4; i++)
            free(x[b][i]);
    return 0;
}

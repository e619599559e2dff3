/* conv_choice.h: which algorithm, direct or Winograd, each pass of a training
 * convolution runs, decided by timing both once per shape and remembered.
 *
 * oneDNN 2.6 has a jit Winograd F(4x4, 3x3) for fp32 training on AVX-512
 * (forward, backward data, backward weights: "jit_wino_4x3:avx512_core"),
 * faster than the direct kernels on some shapes and slower on others, and
 * the answer moves with the thread count. nn/conv_prim.c times both
 * primitives of each pass when it first meets a shape (mt_prim_time, in CPU
 * time) and records the faster here:
 *   - in memory, for the process's life (every net of the process with this
 *     shape and thread count then runs the same kernels, so two nets agree bit
 *     for bit);
 *   - on disk, so that another process (a resumed run, a sweep's cells, a
 *     worker rank) makes the same choice, bit for bit, without timing again.
 *     The file is $MUTAU_CONV_CACHE, else $XDG_CACHE_HOME/mutau/conv-algorithms,
 *     else $HOME/.cache/mutau/conv-algorithms; one line per shape, keyed by
 *     the CPU's effective ISA (oneDNN's) and oneDNN's version too. The first
 *     process to record a shape wins: a later one adopts the recorded choice
 *     (under flock), so the file never changes a choice once made.
 *     MUTAU_CONV_CACHE=off keeps choices in memory only.
 *
 * Not here: creating or timing primitives (nn/conv_prim.c), the rules that
 * exclude Winograd for correctness or memory (also there).
 */
#ifndef MT_CONV_CHOICE_H
#define MT_CONV_CHOICE_H

#include "nn/layer.h"

/* A training convolution's shape at a thread count. */
typedef struct mt_conv_key {
    int threads, n, ic, ih, iw, oc, k, stride, pad, bias, bwd_data, bwd_weights;
} mt_conv_key;

enum { MT_CONV_FWD, MT_CONV_BWD_DATA, MT_CONV_BWD_WEIGHTS, MT_CONV_PASSES };

/* The recorded choice for key (memory first, then the file): 1 and
 * winograd[pass] set (1 Winograd, 0 direct), or 0 when none. */
int mt_conv_choice_find(const mt_conv_key *key, int winograd[MT_CONV_PASSES]);

/* Records a measured choice, with its times (ms[pass][0] direct, [1]
 * Winograd; < 0 not measured), in memory and, when it can, in the file. When
 * the file already holds this key (another process was first), its choice
 * replaces winograd[] so that every process agrees. */
void mt_conv_choice_store(const mt_conv_key *key, int winograd[MT_CONV_PASSES],
                          const double ms[MT_CONV_PASSES][2]);

/* CPU seconds (the process's, mt_cpu_now) of the fastest of at least `reps`
 * runs (more while they took under 20 ms in all) of a primitive made from
 * pd, after one untimed run, on zeroed buffers of its own (every argument pd
 * names, the scratchpad included); negative (a status) on failure. For
 * choosing between implementations at build time, never per step. */
double mt_prim_time(mt_net *net, const_dnnl_primitive_desc_t pd, int reps);

#endif

/* conv_choice.h: which algorithm, direct or Winograd, each pass of a training
 * convolution runs, decided by timing both once per shape and remembered.
 *
 * oneDNN 2.6 has a jit Winograd F(4x4, 3x3) for fp32 training on AVX-512
 * (forward, backward data, backward weights: "jit_wino_4x3:avx512_core"),
 * faster than the direct kernels on some shapes and slower on others, and
 * the answer moves with the thread count. nn/conv_prim.c times both
 * primitives of each pass when it first meets a shape (mt_prims_time: the
 * two take turns; a trial the busy machine spoilt is marked) and records the
 * faster here:
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
 *   - in the run: every choice a process's training convolutions are built
 *     with (whatever made it: the trial, either record, MUTAU_CONV_ALG) is
 *     noted, and a training run keeps these in its checkpoint
 *     (nn/conv_record.h). A resumed run pins them before it builds a net:
 *     a pinned choice takes precedence over MUTAU_CONV_ALG, the file and the
 *     trial, so the run continues on the kernels it started on.
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

/* A shape's choice: winograd[pass] 1 Winograd, 0 direct. */
typedef struct mt_conv_choice {
    mt_conv_key key;
    int winograd[MT_CONV_PASSES];
} mt_conv_choice;

/* The recorded choice for key (memory first, then the file): 1 and
 * winograd[pass] set (1 Winograd, 0 direct), or 0 when none. */
int mt_conv_choice_find(const mt_conv_key *key, int winograd[MT_CONV_PASSES]);

/* Records a measured choice, with its times (ms[pass][0] direct, [1]
 * Winograd; < 0 not measured) and whether it was timed while the machine was
 * busy (mt_prims_time), in memory and, when it can, in the file. When the
 * file already holds this key (another process was first), its choice
 * replaces winograd[] so that every process agrees. */
void mt_conv_choice_store(const mt_conv_key *key, int winograd[MT_CONV_PASSES],
                          const double ms[MT_CONV_PASSES][2], int busy);

/* How many of the choices this process has found or made were timed while
 * the machine was busy (here, or by the process that recorded them): they
 * may be the slower algorithm, and stay recorded (the file never changes a
 * choice) until the file is deleted. path gets the file's path ("" when
 * there is none) for the message that says so. */
int mt_conv_choice_busy(char *path, size_t cap);

/* The pinned choice for key (mt_conv_choice_pin): 1 and winograd[] set, or
 * 0 when the shape is not pinned. */
int mt_conv_choice_pinned(const mt_conv_key *key, int winograd[MT_CONV_PASSES]);

/* Notes that a convolution of key was built running winograd[] (what oneDNN
 * gave, not what was asked for): the shape joins the process's record of
 * choices used (a later net of the shape replaces the note; a pinned choice
 * stays as pinned). MT_ERR_NOMEM when it cannot be noted. */
int mt_conv_choice_note(const mt_conv_key *key, const int winograd[MT_CONV_PASSES]);

/* Pins c[0..n): every net built after, in any thread, runs these choices for
 * these shapes, whatever MUTAU_CONV_ALG, the file or a trial would say. The
 * shapes join the record of choices used. MT_ERR_NOMEM, nothing pinned,
 * when it cannot. */
int mt_conv_choice_pin(const mt_conv_choice *c, int n);

/* The process's record of choices used (noted and pinned), each shape once,
 * in key order, as a malloc'd array in *out (NULL when none): the count, or
 * MT_ERR_NOMEM. */
int mt_conv_choice_used(mt_conv_choice **out);

/* The machine a choice holds on: oneDNN's effective CPU ISA
 * (dnnl_cpu_isa_t) and oneDNN's version. The file's records are keyed by
 * them; another ISA or version has other kernels. */
void mt_conv_choice_machine(int *isa, int version[3]);

/* Orders keys field by field, in declaration order: < 0, 0, > 0. */
int mt_conv_key_cmp(const mt_conv_key *a, const mt_conv_key *b);

/* The most primitives mt_prims_time compares at once. */
#define MT_PRIMS_TIMED_MAX 4

/* Times n primitives made from pds[0..n-1] (1 <= n <= MT_PRIMS_TIMED_MAX)
 * taking turns run by run, each on zeroed buffers of its own (every argument
 * its pd names, the scratchpad included), after one untimed run each, so
 * that a busy spell of a shared machine slows every candidate alike.
 * seconds[i] gets pds[i]'s fastest of at least `reps` runs (more while they
 * took under 20 ms each in all, up to 25): at one OpenMP thread in the
 * thread's CPU time; at several, the wall time of clean runs, in which every
 * thread's own CPU clock covered 90% of the wall time (each had its core).
 * Runs go on while a candidate has no clean run (up to 100 ms, 100 runs);
 * one that still has none gets its fastest run's CPU time per thread, and
 * *busy is set to 1 (0 when every candidate had a clean run). Returns MT_OK
 * or a negative status. For choosing between implementations at build
 * time, never per step. */
int mt_prims_time(mt_net *net, const const_dnnl_primitive_desc_t *pds, int n, int reps,
                  double *seconds, int *busy);

#endif

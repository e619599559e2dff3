/* sphere_layer.h: what one SphereConv layer's training step costs next to
 * the plain 3x3 convolution of the same shape, shared by bench/sphere.c and
 * bench/speed_targets.c.
 *
 * Three nets: input -> 1x1 plain conv (so the measured layer reads oneDNN's
 * blocked activations, as inside a ResNet), then nothing, a plain 3x3 conv,
 * or a SphereConv with operator op (nn/sphere_math.h). A layer's time is its
 * net's training step (forward, backward to input, weights and k) minus that
 * of the 1x1 conv alone, each the fastest of `reps` interleaved steps after
 * one warm-up, in the calling thread's CPU time (on one OpenMP thread all
 * the work runs there).
 */
#ifndef MT_SPHERE_LAYER_H
#define MT_SPHERE_LAYER_H

/* The plain convolution's and the SphereConv's milliseconds per step, for
 * `width` channels in and out on hw x hw at batch `batch`. Returns MT_OK or
 * an error code (message in mt_errmsg). */
int mt_bench_sphere_layer(int batch, int width, int hw, int op, int reps, double *plain_ms,
                          double *sphere_ms);

#endif

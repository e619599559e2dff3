/* conv_choices.h: the direct-or-Winograd choices of a run's training
 * convolutions (nn/conv_choice.h) kept in its checkpoint, section
 * "conv_choices" (nn/conv_record.h's bytes), and pinned again before a
 * resumed run builds a network.
 *
 * Why in the checkpoint: the choices are part of the state a resumed run
 * needs to continue bit for bit (Winograd rounds differently from direct),
 * and the checkpoint is the one file written whole or not at all, under one
 * CRC: the record can never belong to another state than the parameters
 * beside it, and copying checkpoint.bin moves it with the run. The cost is
 * reading the checkpoint twice on --resume (once before the networks exist,
 * for this section alone; once after, for the rest).
 *
 * Not here: choosing (nn/conv_prim.c), the machine's record.
 */
#ifndef MT_TRAINER_CONV_CHOICES_H
#define MT_TRAINER_CONV_CHOICES_H

#include "core/checkpoint.h"

#include <stddef.h>

#define MT_CONV_CHOICES_SECTION "conv_choices"

/* Adds the section with the process's choices used so far; the bytes are
 * malloc'd into *hold, to free after mt_ckpt_write. */
int mt_conv_choices_ckpt_add(mt_ckpt *c, unsigned char **hold);

/* The section of the checkpoint at path as malloc'd bytes (*bytes NULL, *size
 * 0 when the checkpoint has none: one written before the choices were
 * kept). The checkpoint's CRC and layout are checked, not its model.
 * MT_ERR_FORMAT / MT_ERR_IO naming path. */
int mt_conv_choices_read(const char *path, unsigned char **bytes, size_t *size);

/* Parses the section's bytes, read from `from` (a path, a rank), and pins
 * their choices (mt_conv_choice_pin); MT_ERR_FORMAT naming `from` and the
 * section. When the choices were made on another CPU ISA or oneDNN version
 * it still pins them (Winograd falls back to direct where this machine has
 * none: the kernels differ anyway) and returns 1 with note[cap] saying
 * which machines ("FROM: its convolutions' choices were made with ..., this
 * machine has ..."); else 0. */
int mt_conv_choices_pin(const void *bytes, size_t size, const char *from, char *note,
                        size_t cap);

/* mt_conv_choices_read then mt_conv_choices_pin. */
int mt_conv_choices_resume(const char *path, char *note, size_t cap);

#endif

/* conv_record.h: a run's record of the direct-or-Winograd choices its
 * training convolutions run (nn/conv_choice.h) as bytes, the form a
 * checkpoint keeps, so that a resumed run runs the kernels of the run it
 * continues whatever the machine's record or a new trial would say.
 *
 * The bytes, all integers little-endian:
 *   u32 format              MT_CONV_RECORD_FORMAT
 *   i32 isa                 oneDNN's effective CPU ISA where the choices
 *   i32 major, minor, patch   were made, and oneDNN's version
 *   u32 count               at most MT_CONV_RECORD_MAX
 *   count entries of MT_CONV_RECORD_ENTRY bytes, in key order, each shape
 *   once: the key's 12 fields as i32 (threads, n, ic, ih, iw, oc, k,
 *   stride, pad, bias, bwd_data, bwd_weights), then one byte per pass
 *   (forward, backward data, backward weights: 0 direct, 1 Winograd) and a
 *   zero byte.
 * Parsing checks the size against the count before allocating, every field
 * against its range and the order, and says which failed.
 *
 * Not here: where the bytes are kept (trainer/conv_choices.h), choosing.
 */
#ifndef MT_CONV_RECORD_H
#define MT_CONV_RECORD_H

#include "nn/conv_choice.h"

#include <stddef.h>

enum {
    MT_CONV_RECORD_FORMAT = 1,
    MT_CONV_RECORD_HEAD = 24,
    MT_CONV_RECORD_ENTRY = 12 * 4 + 4,
    /* far above any network's shapes x thread counts (ResNet-110 has 3) */
    MT_CONV_RECORD_MAX = 65536,
    /* a key's counts (threads, batch, channels, sizes) are at most this */
    MT_CONV_RECORD_DIM_MAX = 1 << 24
};

typedef struct mt_conv_record {
    int isa, version[3];    /* the machine the choices were made on */
    mt_conv_choice *choices; /* malloc'd, n of them */
    int n;
} mt_conv_record;

/* The process's record of choices used (mt_conv_choice_used) on this
 * machine, as malloc'd bytes. MT_ERR_NOMEM. */
int mt_conv_record_encode(unsigned char **bytes, size_t *size);

/* Parses bytes into r (freed with mt_conv_record_free; zeroed on failure):
 * MT_ERR_FORMAT naming what is wrong ("conv choices: ..."), MT_ERR_NOMEM. */
int mt_conv_record_parse(mt_conv_record *r, const void *bytes, size_t size);

/* Whether r was made on this machine's ISA and oneDNN version (1) or not
 * (0: its choices may not be possible here, and the kernels differ anyway). */
int mt_conv_record_same_machine(const mt_conv_record *r);

/* "ISA 0x.. and oneDNN A.B.C" of r into buf (for messages). */
void mt_conv_record_machine_str(const mt_conv_record *r, char *buf, size_t cap);

void mt_conv_record_free(mt_conv_record *r);

#endif

/* checkpoint.h: a training state on disk, whole or not at all.
 *
 * A checkpoint is a list of named binary sections (parameters, optimizer
 * state, batch-norm statistics, epoch and step, RNG states, data position,
 * ...). The file is, all integers little-endian:
 *
 *   "MUTAUCKP"             8 bytes magic
 *   u32 format version     MT_CKPT_VERSION
 *   u32 section count
 *   u64 model signature    a hash of the model's shape (see mt_hash64); a
 *                          checkpoint only loads into the model it came from
 *   sections, each:        char name[24] (NUL-padded), u64 size, size bytes
 *   u32 CRC-32             zlib's crc32 of every byte before it
 *
 * Writing goes to "PATH.tmp" in the same directory, is fsync'ed, renamed over
 * PATH and the directory fsync'ed, so a crash leaves either the old checkpoint
 * or the new one, never half of one. Reading checks the magic, the CRC, the
 * version, the signature and every section's size, and says which failed.
 *
 * Not here: what the sections mean (the trainer decides), compression.
 */
#ifndef MT_CHECKPOINT_H
#define MT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define MT_CKPT_MAGIC "MUTAUCKP"
enum { MT_CKPT_VERSION = 1, MT_CKPT_NAME_LEN = 24 };

typedef struct {
    char name[MT_CKPT_NAME_LEN];
    const void *data; /* writing: the caller's bytes; reading: inside the owned buffer */
    uint64_t size;
} mt_ckpt_section;

typedef struct {
    uint64_t signature;
    uint32_t version;
    mt_ckpt_section *sections;
    int n_sections;
    int cap;
    unsigned char *buffer; /* reading: the whole file */
    char path[512];        /* reading: for messages */
} mt_ckpt;

/* A checkpoint to write for a model of `signature`. */
void mt_ckpt_init(mt_ckpt *c, uint64_t signature);

/* Adds a section; the bytes are not copied and must stay valid until
 * mt_ckpt_write. Names are unique, shorter than MT_CKPT_NAME_LEN. */
int mt_ckpt_add(mt_ckpt *c, const char *name, const void *data, size_t size);

/* Writes atomically to `path` (see above). */
int mt_ckpt_write(const mt_ckpt *c, const char *path);

/* Reads and verifies `path`. `signature` is the model's; `model` describes it
 * for the mismatch message ("resnet20 width 16, 10 classes"). */
int mt_ckpt_read(mt_ckpt *c, const char *path, uint64_t signature, const char *model);

/* mt_ckpt_read without the signature's check, for what must be read before
 * the model exists (a resumed run's convolution choices); the full read
 * follows once it does. */
int mt_ckpt_read_any(mt_ckpt *c, const char *path);

/* The section `name`, or NULL (with MT_ERR_FORMAT set) if absent. */
const mt_ckpt_section *mt_ckpt_find(const mt_ckpt *c, const char *name);

/* Copies section `name` into dst, which must be exactly `size` bytes;
 * MT_ERR_FORMAT naming the section when it is missing or of another size. */
int mt_ckpt_get(const mt_ckpt *c, const char *name, void *dst, size_t size);

void mt_ckpt_free(mt_ckpt *c);

/* FNV-1a 64-bit over bytes, chained from `h` (start with MT_HASH64_INIT):
 * model signatures and config hashes. */
#define MT_HASH64_INIT 0xcbf29ce484222325ULL
uint64_t mt_hash64(uint64_t h, const void *data, size_t n);
uint64_t mt_hash64_str(uint64_t h, const char *s);
uint64_t mt_hash64_u64(uint64_t h, uint64_t v);

#endif

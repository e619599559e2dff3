/* util.h: what the fuzz targets (tests/fuzz/fuzz_*.c) share.
 *
 * Most of mutau's parsers read a path, as the tools call them. A target hands
 * them the fuzzer's bytes as an in-memory file (memfd_create) named by its
 * /proc/self/fd path, so the library keeps one entry point and nothing is
 * written to disk; parsers that read a directory get a private scratch
 * directory removed at exit.
 */
#ifndef MUTAU_FUZZ_UTIL_H
#define MUTAU_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The bytes as the content of in-memory file `slot` (0..3), replacing what it
 * held; returns its path ("/proc/self/fd/N"), valid until the next call for
 * that slot. Aborts when the kernel refuses (not a finding of the target). */
const char *fuzz_memfile(int slot, const uint8_t *data, size_t n);

/* A scratch directory of this process, created on first use. */
const char *fuzz_scratch(void);

/* Writes dir/name with the bytes (n == SIZE_MAX: removes it). Aborts on failure. */
void fuzz_put(const char *dir, const char *name, const uint8_t *data, size_t n);

/* Splits data at the 4-byte marker "\n--\n" into at most `cap` parts;
 * returns the count (at least 1). Lets one input carry several files. */
int fuzz_split(const uint8_t *data, size_t n, const uint8_t **part, size_t *len, int cap);

/* A malloc'd copy of the n >= 4 bytes whose last four are the little-endian
 * CRC-32 of the others, as mutau's checkpoint files end: so that mutations
 * reach what the checksum protects. */
uint8_t *fuzz_with_crc(const uint8_t *data, size_t n);

/* Decodes the image file at path the way an image-folder dataset does: its
 * header (mt_image_info), then, up to 1 M pixels, its pixels as grey and as
 * colour. */
void fuzz_image_decode(const char *path);

#endif

/* md5.h: MD5 (RFC 1321), to check downloaded archives against their
 * published checksums. Not for anything security-related.
 */
#ifndef MT_MD5_H
#define MT_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t a, b, c, d;
    uint64_t bytes;
    uint8_t block[64];
} mt_md5;

void mt_md5_init(mt_md5 *m);
void mt_md5_update(mt_md5 *m, const void *data, size_t len);
/* Finishes and writes the digest as 32 lowercase hex digits plus NUL. */
void mt_md5_hex(mt_md5 *m, char hex[33]);

/* The MD5 of a whole file as hex; MT_ERR_IO naming the file on failure. */
int mt_md5_file(const char *path, char hex[33]);

#endif

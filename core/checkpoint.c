/* checkpoint.c: sectioned, CRC-checked checkpoint files written atomically. */
#include "core/checkpoint.h"

#include "core/status.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { HEADER_BYTES = 8 + 4 + 4 + 8, SECTION_HEAD = MT_CKPT_NAME_LEN + 8 };

uint64_t mt_hash64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t mt_hash64_str(uint64_t h, const char *s) { return mt_hash64(h, s, strlen(s) + 1); }

uint64_t mt_hash64_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return mt_hash64(h, b, 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void mt_ckpt_init(mt_ckpt *c, uint64_t signature)
{
    memset(c, 0, sizeof *c);
    c->signature = signature;
    c->version = MT_CKPT_VERSION;
}

int mt_ckpt_add(mt_ckpt *c, const char *name, const void *data, size_t size)
{
    size_t len = strlen(name);
    if (len == 0 || len >= MT_CKPT_NAME_LEN)
        return mt_error(MT_ERR_ARG, "checkpoint: section name '%s' must be 1..%d characters", name,
                        MT_CKPT_NAME_LEN - 1);
    if (size > 0 && !data)
        return mt_error(MT_ERR_ARG, "checkpoint: section '%s' has no data", name);
    for (int i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return mt_error(MT_ERR_ARG, "checkpoint: section '%s' added twice", name);
    if (c->n_sections == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        mt_ckpt_section *s = realloc(c->sections, (size_t)cap * sizeof *s);
        if (!s)
            return mt_error(MT_ERR_NOMEM, "checkpoint: out of memory");
        c->sections = s;
        c->cap = cap;
    }
    mt_ckpt_section *s = &c->sections[c->n_sections++];
    memset(s->name, 0, sizeof s->name);
    memcpy(s->name, name, len);
    s->data = data;
    s->size = size;
    return MT_OK;
}

/* Writes all of buf, updating the running CRC. */
static int write_all(int fd, const void *buf, size_t n, uLong *crc, const char *path)
{
    const unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done > (1u << 30) ? (1u << 30) : n - done;
        ssize_t w = write(fd, p + done, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return mt_error(MT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        *crc = crc32(*crc, p + done, (uInt)w);
        done += (size_t)w;
    }
    return MT_OK;
}

static int fsync_dir_of(const char *path)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return mt_error(MT_ERR_IO, "%s: cannot open to sync: %s", dir, strerror(errno));
    /* Some file systems refuse fsync on a directory (EINVAL): the rename is
     * then as durable as they make it. */
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        return mt_error(MT_ERR_IO, "%s: fsync failed: %s", dir, strerror(e));
    }
    close(fd);
    return MT_OK;
}

int mt_ckpt_write(const mt_ckpt *c, const char *path)
{
    char tmp[1100];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return mt_error(MT_ERR_ARG, "checkpoint: path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return mt_error(MT_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    uLong crc = crc32(0L, Z_NULL, 0);
    unsigned char head[HEADER_BYTES];
    memcpy(head, MT_CKPT_MAGIC, 8);
    put_u32(head + 8, c->version);
    put_u32(head + 12, (uint32_t)c->n_sections);
    put_u64(head + 16, c->signature);
    int rc = write_all(fd, head, sizeof head, &crc, tmp);
    for (int i = 0; rc == MT_OK && i < c->n_sections; i++) {
        unsigned char sh[SECTION_HEAD];
        memcpy(sh, c->sections[i].name, MT_CKPT_NAME_LEN);
        put_u64(sh + MT_CKPT_NAME_LEN, c->sections[i].size);
        rc = write_all(fd, sh, sizeof sh, &crc, tmp);
        if (rc == MT_OK)
            rc = write_all(fd, c->sections[i].data, c->sections[i].size, &crc, tmp);
    }
    if (rc == MT_OK) {
        unsigned char tail[4];
        put_u32(tail, (uint32_t)crc);
        uLong ignored = 0;
        rc = write_all(fd, tail, 4, &ignored, tmp);
    }
    if (rc == MT_OK && fsync(fd) != 0)
        rc = mt_error(MT_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == MT_OK)
        rc = mt_error(MT_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (rc == MT_OK && rename(tmp, path) != 0)
        rc = mt_error(MT_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc != MT_OK) {
        unlink(tmp);
        return rc;
    }
    return fsync_dir_of(path);
}

static int read_file(const char *path, unsigned char **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mt_error(MT_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        return mt_error(MT_ERR_NOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (got != size || err) {
        free(buf);
        return mt_error(MT_ERR_IO, "%s: read %zu of %zu bytes", path, got, size);
    }
    *out = buf;
    *n = size;
    return MT_OK;
}

/* check_signature 0: any model's checkpoint (mt_ckpt_read_any). */
static int read_checkpoint(mt_ckpt *c, const char *path, int check_signature, uint64_t signature,
                           const char *model)
{
    mt_ckpt_init(c, 0);
    snprintf(c->path, sizeof c->path, "%s", path);
    unsigned char *buf = NULL;
    size_t n = 0;
    int rc = read_file(path, &buf, &n);
    if (rc != MT_OK)
        return rc;
    c->buffer = buf;
    if (n < 8 || memcmp(buf, MT_CKPT_MAGIC, 8) != 0) {
        rc = mt_error(MT_ERR_FORMAT, "%s: not a mutau checkpoint (bad magic)", path);
        goto fail;
    }
    if (n < HEADER_BYTES + 4) {
        rc = mt_error(MT_ERR_FORMAT, "%s: truncated (%zu bytes): file is corrupt", path, n);
        goto fail;
    }
    uint32_t stored = get_u32(buf + n - 4);
    uint32_t actual = (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), buf, n - 4);
    if (stored != actual) {
        rc = mt_error(MT_ERR_FORMAT,
                      "%s: CRC mismatch (stored 0x%08x, computed 0x%08x): file is corrupt or "
                      "truncated",
                      path, stored, actual);
        goto fail;
    }
    c->version = get_u32(buf + 8);
    if (c->version != MT_CKPT_VERSION) {
        rc = mt_error(MT_ERR_FORMAT, "%s: format version %u, this mutau reads version %d", path,
                      c->version, MT_CKPT_VERSION);
        goto fail;
    }
    uint32_t count = get_u32(buf + 12);
    c->signature = get_u64(buf + 16);
    if (check_signature && c->signature != signature) {
        rc = mt_error(MT_ERR_FORMAT,
                      "%s: model signature 0x%016llx does not match this model (%s, signature "
                      "0x%016llx)",
                      path, (unsigned long long)c->signature, model ? model : "?",
                      (unsigned long long)signature);
        goto fail;
    }
    size_t pos = HEADER_BYTES, end = n - 4;
    for (uint32_t i = 0; i < count; i++) {
        if (end - pos < SECTION_HEAD) {
            rc = mt_error(MT_ERR_FORMAT, "%s: section %u header runs past the end", path, i);
            goto fail;
        }
        char name[MT_CKPT_NAME_LEN];
        memcpy(name, buf + pos, MT_CKPT_NAME_LEN);
        name[MT_CKPT_NAME_LEN - 1] = '\0';
        uint64_t size = get_u64(buf + pos + MT_CKPT_NAME_LEN);
        pos += SECTION_HEAD;
        if (size > end - pos) {
            rc = mt_error(MT_ERR_FORMAT, "%s: section '%s' (%llu bytes) runs past the end", path,
                          name, (unsigned long long)size);
            goto fail;
        }
        rc = mt_ckpt_add(c, name, buf + pos, size);
        if (rc != MT_OK) {
            mt_error_context(MT_ERR_FORMAT, "%s", path);
            rc = MT_ERR_FORMAT;
            goto fail;
        }
        pos += size;
    }
    if (pos != end) {
        rc = mt_error(MT_ERR_FORMAT, "%s: %zu stray bytes after the last section", path, end - pos);
        goto fail;
    }
    return MT_OK;
fail:
    mt_ckpt_free(c);
    return rc;
}

int mt_ckpt_read(mt_ckpt *c, const char *path, uint64_t signature, const char *model)
{
    return read_checkpoint(c, path, 1, signature, model);
}

int mt_ckpt_read_any(mt_ckpt *c, const char *path)
{
    return read_checkpoint(c, path, 0, 0, NULL);
}

const mt_ckpt_section *mt_ckpt_find(const mt_ckpt *c, const char *name)
{
    for (int i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return &c->sections[i];
    mt_error(MT_ERR_FORMAT, "%s: no section '%s'", c->path[0] ? c->path : "checkpoint", name);
    return NULL;
}

int mt_ckpt_get(const mt_ckpt *c, const char *name, void *dst, size_t size)
{
    const mt_ckpt_section *s = mt_ckpt_find(c, name);
    if (!s)
        return MT_ERR_FORMAT;
    if (s->size != size)
        return mt_error(MT_ERR_FORMAT, "%s: section '%s' has %llu bytes, this model needs %zu",
                        c->path[0] ? c->path : "checkpoint", name, (unsigned long long)s->size,
                        size);
    if (size)
        memcpy(dst, s->data, size);
    return MT_OK;
}

void mt_ckpt_free(mt_ckpt *c)
{
    free(c->sections);
    free(c->buffer);
    c->sections = NULL;
    c->buffer = NULL;
    c->n_sections = c->cap = 0;
}

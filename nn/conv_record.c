/* conv_record.c: a run's record of convolution choices as bytes and back.
 * See conv_record.h.
 */
#include "nn/conv_record.h"

#include "core/status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Two's complement, as the value was written. */
static int get_i32(const unsigned char *p)
{
    uint32_t u = get_u32(p);
    return u <= INT32_MAX ? (int)u : (int)(u - 0x80000000u) + INT32_MIN;
}

enum { KEY_FIELDS = 12 };

static void key_fields(const mt_conv_key *k, int f[KEY_FIELDS])
{
    const int v[KEY_FIELDS] = {k->threads, k->n,   k->ic,   k->ih,         k->iw,
                               k->oc,      k->k,   k->stride, k->pad,     k->bias,
                               k->bwd_data, k->bwd_weights};
    memcpy(f, v, sizeof v);
}

static const char *const FIELD[KEY_FIELDS] = {"threads", "n",   "ic",   "ih",
                                              "iw",      "oc",  "k",    "stride",
                                              "pad",     "bias", "bwd_data", "bwd_weights"};

int mt_conv_record_encode(unsigned char **bytes, size_t *size)
{
    *bytes = NULL;
    *size = 0;
    mt_conv_choice *c;
    int n = mt_conv_choice_used(&c);
    if (n < 0)
        return n;
    if (n > MT_CONV_RECORD_MAX) {
        free(c);
        return mt_error(MT_ERR_LIB, "conv choices: %d shapes, more than a record holds (%d)", n,
                        MT_CONV_RECORD_MAX);
    }
    size_t total = MT_CONV_RECORD_HEAD + (size_t)n * MT_CONV_RECORD_ENTRY;
    unsigned char *b = calloc(1, total);
    if (!b) {
        free(c);
        return mt_error(MT_ERR_NOMEM, "conv choices: out of memory");
    }
    int isa, v[3];
    mt_conv_choice_machine(&isa, v);
    put_u32(b, MT_CONV_RECORD_FORMAT);
    put_u32(b + 4, (uint32_t)isa);
    for (int i = 0; i < 3; i++)
        put_u32(b + 8 + 4 * i, (uint32_t)v[i]);
    put_u32(b + 20, (uint32_t)n);
    for (int e = 0; e < n; e++) {
        unsigned char *p = b + MT_CONV_RECORD_HEAD + (size_t)e * MT_CONV_RECORD_ENTRY;
        int f[KEY_FIELDS];
        key_fields(&c[e].key, f);
        for (int i = 0; i < KEY_FIELDS; i++)
            put_u32(p + 4 * i, (uint32_t)f[i]);
        for (int pass = 0; pass < MT_CONV_PASSES; pass++)
            p[4 * KEY_FIELDS + pass] = c[e].winograd[pass] != 0;
    }
    free(c);
    *bytes = b;
    *size = total;
    return MT_OK;
}

/* Entry e at p into *c, every field checked. */
static int parse_entry(const unsigned char *p, int e, mt_conv_choice *c)
{
    int f[KEY_FIELDS];
    for (int i = 0; i < KEY_FIELDS; i++) {
        f[i] = get_i32(p + 4 * i);
        int lo = i == 8 ? 0 : 1, hi = MT_CONV_RECORD_DIM_MAX; /* pad may be 0 */
        if (i >= 9) /* bias, bwd_data, bwd_weights: flags */
            lo = 0, hi = 1;
        if (f[i] < lo || f[i] > hi)
            return mt_error(MT_ERR_FORMAT, "conv choices: entry %d: %s = %d is not in [%d, %d]",
                            e, FIELD[i], f[i], lo, hi);
    }
    c->key = (mt_conv_key){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10],
                           f[11]};
    for (int pass = 0; pass < MT_CONV_PASSES; pass++) {
        unsigned v = p[4 * KEY_FIELDS + pass];
        if (v > 1)
            return mt_error(MT_ERR_FORMAT, "conv choices: entry %d: pass %d's choice is %u, "
                            "not 0 (direct) or 1 (Winograd)", e, pass, v);
        c->winograd[pass] = (int)v;
    }
    if (p[4 * KEY_FIELDS + MT_CONV_PASSES] != 0)
        return mt_error(MT_ERR_FORMAT, "conv choices: entry %d: its last byte is not 0", e);
    return MT_OK;
}

int mt_conv_record_parse(mt_conv_record *r, const void *bytes, size_t size)
{
    memset(r, 0, sizeof *r);
    const unsigned char *b = bytes;
    if (size < MT_CONV_RECORD_HEAD)
        return mt_error(MT_ERR_FORMAT, "conv choices: %zu bytes, shorter than the %d-byte head",
                        size, MT_CONV_RECORD_HEAD);
    uint32_t format = get_u32(b), count = get_u32(b + 20);
    if (format != MT_CONV_RECORD_FORMAT)
        return mt_error(MT_ERR_FORMAT, "conv choices: format %u, this mutau reads %d", format,
                        MT_CONV_RECORD_FORMAT);
    if (count > MT_CONV_RECORD_MAX)
        return mt_error(MT_ERR_FORMAT, "conv choices: %u entries, more than %d", count,
                        MT_CONV_RECORD_MAX);
    uint64_t want = MT_CONV_RECORD_HEAD + (uint64_t)count * MT_CONV_RECORD_ENTRY;
    if ((uint64_t)size != want)
        return mt_error(MT_ERR_FORMAT, "conv choices: %zu bytes for %u entries (%llu expected)",
                        size, count, (unsigned long long)want);
    int isa = get_i32(b + 4), v[3];
    for (int i = 0; i < 3; i++) {
        v[i] = get_i32(b + 8 + 4 * i);
        if (v[i] < 0)
            return mt_error(MT_ERR_FORMAT, "conv choices: oneDNN version %d.%d.%d",
                            get_i32(b + 8), get_i32(b + 12), get_i32(b + 16));
    }
    mt_conv_choice *c = count ? malloc((size_t)count * sizeof *c) : NULL;
    if (count && !c)
        return mt_error(MT_ERR_NOMEM, "conv choices: out of memory for %u entries", count);
    int rc = MT_OK;
    for (uint32_t e = 0; e < count && rc == MT_OK; e++) {
        rc = parse_entry(b + MT_CONV_RECORD_HEAD + (size_t)e * MT_CONV_RECORD_ENTRY, (int)e,
                         &c[e]);
        if (rc == MT_OK && e > 0 && mt_conv_key_cmp(&c[e - 1].key, &c[e].key) >= 0)
            rc = mt_error(MT_ERR_FORMAT, "conv choices: entry %u is not after entry %u (the "
                          "shapes are kept in order, each once)", e, e - 1);
    }
    if (rc != MT_OK) {
        free(c);
        return rc;
    }
    r->isa = isa;
    memcpy(r->version, v, sizeof v);
    r->choices = c;
    r->n = (int)count;
    return MT_OK;
}

int mt_conv_record_same_machine(const mt_conv_record *r)
{
    int isa, v[3];
    mt_conv_choice_machine(&isa, v);
    return r->isa == isa && memcmp(r->version, v, sizeof v) == 0;
}

void mt_conv_record_machine_str(const mt_conv_record *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "CPU ISA 0x%x and oneDNN %d.%d.%d", (unsigned)r->isa, r->version[0],
             r->version[1], r->version[2]);
}

void mt_conv_record_free(mt_conv_record *r)
{
    free(r->choices);
    memset(r, 0, sizeof *r);
}

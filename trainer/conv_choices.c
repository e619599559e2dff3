/* conv_choices.c: a run's convolution choices in its checkpoint. See
 * conv_choices.h.
 */
#include "trainer/conv_choices.h"

#include "core/status.h"
#include "nn/conv_record.h"

#include <stdlib.h>
#include <string.h>

int mt_conv_choices_ckpt_add(mt_ckpt *c, unsigned char **hold)
{
    size_t n;
    int rc = mt_conv_record_encode(hold, &n);
    return rc == MT_OK ? mt_ckpt_add(c, MT_CONV_CHOICES_SECTION, *hold, n) : rc;
}

int mt_conv_choices_read(const char *path, unsigned char **bytes, size_t *size)
{
    *bytes = NULL;
    *size = 0;
    mt_ckpt c;
    int rc = mt_ckpt_read_any(&c, path);
    if (rc != MT_OK)
        return rc;
    /* absent from a checkpoint written before the choices were kept */
    const mt_ckpt_section *s = mt_ckpt_find(&c, MT_CONV_CHOICES_SECTION);
    if (s && s->size > 0) {
        *bytes = malloc(s->size);
        if (!*bytes)
            rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
        else {
            memcpy(*bytes, s->data, s->size);
            *size = s->size;
        }
    } else if (s) {
        rc = mt_error(MT_ERR_FORMAT, "%s: section '%s' is empty", path, MT_CONV_CHOICES_SECTION);
    }
    mt_ckpt_free(&c);
    return rc;
}

int mt_conv_choices_pin(const void *bytes, size_t size, const char *from, char *note,
                        size_t cap)
{
    if (cap)
        note[0] = '\0';
    mt_conv_record r;
    int rc = mt_conv_record_parse(&r, bytes, size);
    if (rc != MT_OK)
        return mt_error_context(rc, "%s: section '%s'", from, MT_CONV_CHOICES_SECTION);
    int other = !mt_conv_record_same_machine(&r);
    if (other) {
        mt_conv_record here = {0};
        mt_conv_choice_machine(&here.isa, here.version);
        char made[96], mine[96];
        mt_conv_record_machine_str(&r, made, sizeof made);
        mt_conv_record_machine_str(&here, mine, sizeof mine);
        snprintf(note, cap, "%s: its convolutions' choices were made with %s, this machine has %s",
                 from, made, mine);
    }
    rc = mt_conv_choice_pin(r.choices, r.n);
    mt_conv_record_free(&r);
    return rc != MT_OK ? rc : other;
}

int mt_conv_choices_resume(const char *path, char *note, size_t cap)
{
    unsigned char *bytes;
    size_t size;
    if (cap)
        note[0] = '\0';
    int rc = mt_conv_choices_read(path, &bytes, &size);
    if (rc == MT_OK && bytes)
        rc = mt_conv_choices_pin(bytes, size, path, note, cap);
    free(bytes);
    return rc;
}

/* fuzz_config.c: a run directory's config.json as `mutau train --resume`
 * reads it (tools/cmd_train.c): the training and parameter-server settings,
 * their checks, and the hash and JSON written back from them. */
#include "core/status.h"
#include "trainer/config.h"
#include "trainer/train_ps.h"

#include <jansson.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)data, n, 0, &e);
    if (!j)
        return 0;
    mt_train_config c;
    mt_train_ps_config ps;
    mt_train_config_default(&c);
    mt_train_ps_config_default(&ps);
    const json_t *settings = json_object_get(j, "settings");
    if (mt_train_config_from_json(&c, settings, "config.json") == MT_OK &&
        mt_train_ps_config_from_json(&ps, settings, "config.json") == MT_OK &&
        mt_train_config_check(&c) == MT_OK && mt_train_ps_config_check(&ps, c.threads) == MT_OK) {
        mt_train_config_hash(&c);
        json_t *back = mt_train_config_to_json(&c);
        char *s = json_dumps(back, JSON_COMPACT);
        free(s);
        json_decref(back);
    }
    json_decref(j);
    return 0;
}

/* fuzz_sweep_json.c: a sweep directory's sweep.json as `mutau sweep` (on a
 * rerun) and `mutau report` read it (sweep/grid.c): the spec, its checks,
 * the cells it makes and each cell's train command. */
#include "core/status.h"
#include "sweep/grid.h"

#include <jansson.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)data, n, 0, &e);
    if (!j)
        return 0;
    mt_sweep_spec s;
    if (mt_sweep_spec_from_json(&s, j, "sweep.json") == MT_OK) {
        int cells = mt_sweep_cell_count(&s);
        /* The first and the last cells: their names, seeds and commands. */
        for (int k = 0; k < cells && k < 4; k++) {
            for (int end = 0; end < 2; end++) {
                mt_sweep_cell c;
                mt_sweep_cell_at(&s, end ? cells - 1 - k : k, &c);
                char *argv[MT_SWEEP_MAX_ARGS + 32];
                char buf[8192];
                mt_sweep_train_argv(&s, &c, "mutau", "dir", 2, argv,
                                    (int)(sizeof argv / sizeof argv[0]), buf, sizeof buf);
            }
        }
        json_t *back = mt_sweep_spec_to_json(&s);
        mt_sweep_spec tmp;
        if (mt_sweep_spec_from_json(&tmp, back, "round trip") != MT_OK ||
            mt_sweep_spec_compare(&tmp, &s) != MT_OK)
            abort(); /* what was accepted must read back as itself */
        mt_sweep_spec_free(&tmp);
        json_decref(back);
    }
    mt_sweep_spec_free(&s);
    json_decref(j);
    return 0;
}

/* fuzz_report.c: what `mutau report` reads of a sweep cell (sweep/results.c):
 * its config.json, final.json, cell.json and log.csv, one input carrying
 * the four files separated by "\n--\n" lines; then the statistics, the table
 * and results.csv made from them. */
#include "core/status.h"
#include "sweep/grid.h"
#include "sweep/report.h"
#include "sweep/results.h"
#include "tests/fuzz/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 2 worker counts x 2 momenta (one of them auto) x 2 methods, one repeat;
 * the input is the first cell's (w1_mu0_r1). */
enum { CELLS = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static mt_sweep_spec s;
    static char dir[512], cell_dir[600];
    static FILE *null_out;
    if (!dir[0]) {
        mt_sweep_spec_init(&s);
        s.n_workers = 2, s.workers[0] = 1, s.workers[1] = 4;
        s.n_momentum = 2, s.momentum[0] = 0.0, s.momentum[1] = MT_SWEEP_MU_AUTO;
        s.n_methods = 2, s.methods[0] = MT_METHOD_MSGD, s.methods[1] = MT_METHOD_DANA;
        snprintf(s.mode, sizeof s.mode, "async");
        if (mt_sweep_spec_check(&s) != MT_OK || mt_sweep_cell_count(&s) != CELLS)
            abort();
        snprintf(dir, sizeof dir, "%s", fuzz_scratch());
        mt_sweep_cell c;
        mt_sweep_cell_at(&s, 0, &c);
        snprintf(cell_dir, sizeof cell_dir, "%s/%s", dir, c.name);
        null_out = fopen("/dev/null", "w");
        if (mkdir(cell_dir, 0700) != 0 || !null_out)
            abort();
    }
    static const char *const files[4] = {"config.json", "final.json", "cell.json", "log.csv"};
    const uint8_t *part[4];
    size_t len[4];
    int parts = fuzz_split(data, n, part, len, 4);
    for (int k = 0; k < 4; k++)
        fuzz_put(cell_dir, files[k], part[k], k < parts ? len[k] : SIZE_MAX);
    mt_sweep_result *r;
    if (mt_sweep_results_read(&s, dir, &r) != MT_OK)
        return 0;
    mt_sweep_stat stats[CELLS];
    mt_sweep_stats(&s, r, stats);
    for (int w = 0; w < s.n_workers; w++)
        mt_sweep_best_momentum(&s, stats, w);
    mt_sweep_table_print(null_out, &s, stats, 0);
    mt_sweep_table_print(null_out, &s, stats, 1);
    mt_sweep_methods_table_print(null_out, &s, stats, 0);
    mt_sweep_methods_table_print(null_out, &s, stats, 1);
    char csv[600];
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    mt_sweep_results_write_csv(csv, r, CELLS);
    mt_sweep_results_free(r, CELLS);
    return 0;
}

/* grid.h: a sweep's grid of cells (worker count x momentum x method x
 * repeat), the settings every cell shares, and their record sweep.json.
 *
 * A cell is one ordinary `mutau train` run directory under the sweep
 * directory, named after its coordinates: "w4_mu0.7_r2" for msgd (the names
 * of sweeps made before the method axis), "w4_mu0.7_dana_r2" for another
 * method (optim/method.h), "w4_muauto_r2" for `--momentum auto`, which the
 * momentum axis holds as one more value (MT_SWEEP_MU_AUTO). Repeat r
 * (1-based) trains with seed `seed + r - 1`, so repeats differ in their
 * initialisation, data order and augmentation and nothing else.
 *
 * sweep.json records the grid, the mode and the train flags. A sweep rerun
 * with other settings is refused naming the setting that differs, so old and
 * new results are never mixed in one directory. What does not change results
 * (--jobs, --threads) is not recorded.
 *
 * Not here: running cells (sweep/spawn.h, tools/cmd_sweep.c), reading their
 * results (sweep/results.h).
 */
#ifndef MT_SWEEP_GRID_H
#define MT_SWEEP_GRID_H

#include "optim/method.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum { MT_SWEEP_MAX_AXIS = 64, MT_SWEEP_MAX_ARGS = 128, MT_SWEEP_NAME_CAP = 64 };

/* Limits of a grid, the same for flags and for a sweep.json read back: with
 * them the cell count (64 x 64 x methods x 10,000) fits in an int. */
enum { MT_SWEEP_MAX_WORKERS = 4096, MT_SWEEP_MAX_REPEATS = 10000, MT_SWEEP_MAX_DELAY = 1000000 };

/* The momentum axis's value for `--momentum auto` (mu chosen during the run
 * from the measured staleness, optim/momentum_auto.h). */
#define MT_SWEEP_MU_AUTO (-1.0)

typedef struct {
    int n_workers;
    int workers[MT_SWEEP_MAX_AXIS];      /* W of each column group, as given */
    int n_momentum;
    double momentum[MT_SWEEP_MAX_AXIS];  /* mu values, as given; MT_SWEEP_MU_AUTO for auto */
    int n_methods;
    mt_method_kind methods[MT_METHOD_COUNT]; /* update rules, as given (default: msgd) */
    int repeats;                         /* R >= 1 */
    uint64_t seed;                       /* repeat r trains with seed + r - 1 */
    char mode[16];                       /* "" (not given), async, sync or delay */
    long delay;                          /* --delay N for delay mode; -1 = W - 1 per cell */
    char preset[16];                     /* "" or the preset the grid came from */
    char transport[8];                   /* "" (threads) or "mpi": cells run through a
                                            launcher (sweep/launcher.h), recorded */
    int server_ranks;                    /* mpi: --server-ranks among the train flags
                                            (default 1); derived by mt_sweep_spec_check */
    const struct mt_launcher *launcher;  /* mpi: how a cell's ranks start (not owned, not
                                            recorded: the hosts may change between runs) */
    int n_train_args;
    char *train_args[MT_SWEEP_MAX_ARGS]; /* flags passed to every cell's `mutau train` (owned) */
} mt_sweep_spec;

typedef struct {
    int index;       /* position in the run order: repeat-major, then workers, then
                        momentum, then method */
    int workers;
    double momentum; /* or MT_SWEEP_MU_AUTO */
    mt_method_kind method;
    int repeat;      /* 1-based */
    uint64_t seed;
    char name[MT_SWEEP_NAME_CAP]; /* the run directory's name under the sweep directory */
} mt_sweep_cell;

/* An empty spec: no workers or momentum, the method msgd, 1 repeat, seed 1,
 * no mode or delay, no train flags. */
void mt_sweep_spec_init(mt_sweep_spec *s);
void mt_sweep_spec_free(mt_sweep_spec *s);

/* Appends a copy of one train flag (or value). */
int mt_sweep_spec_add_arg(mt_sweep_spec *s, const char *arg);

/* The mode a cell trains with, for the records: the given one, or "async"
 * (a one-worker run is async with tau = 0). */
const char *mt_sweep_mode(const mt_sweep_spec *s);

/* Whether cells pass --workers/--mode/--delay to `mutau train`: when the
 * grid has a worker count other than 1 or a mode or delay was given. A sweep
 * over momentum alone trains single-process runs, which a one-worker server
 * run equals bit for bit. MPI cells (transport "mpi") always use the server. */
int mt_sweep_uses_ps(const mt_sweep_spec *s);

/* Whether cell c passes --oversubscribe: async and sync cells of W > 1
 * workers, whose J x W x T budget the sweep makes itself (mutau train would
 * refuse W x T beyond the cores). Not kept in the run, so a resumed cell
 * passes it again. */
int mt_sweep_cell_oversubscribes(const mt_sweep_spec *s, const mt_sweep_cell *c);

/* The signal that asks a running cell to stop with its checkpoint: SIGTERM,
 * or SIGUSR1 for a cell over MPI (mpirun forwards it to the ranks and lets
 * them end; on SIGTERM it kills them after a timeout, docs/mpi.md). */
int mt_sweep_stop_signal(const mt_sweep_spec *s);

/* Cells: n_workers x n_momentum x n_methods x repeats. Repeat-major so that
 * the first pass over the grid gives every cell one result before any gets a
 * second; the method innermost so that a sweep stopped early has every
 * method at the worker counts it reached. With msgd alone, the order and the
 * names are those of sweeps made before the method axis. */
int mt_sweep_cell_count(const mt_sweep_spec *s);
void mt_sweep_cell_at(const mt_sweep_spec *s, int index, mt_sweep_cell *c);

/* Sets c->name from c's workers, momentum, method and repeat. */
void mt_sweep_cell_name(mt_sweep_cell *c);

/* Checks the axes (non-empty, no duplicates, in range; dana is not defined
 * in sync mode) naming the flag, and over MPI the mode (async or sync) and
 * --server-ranks (sets server_ranks). */
int mt_sweep_spec_check(const mt_sweep_spec *s);

/* The argument vector of a fresh `mutau train` run of cell c in run
 * directory `dir`, with --threads T (T > 0) and --progress plain, the spec's
 * train flags first so that the cell's own values come last. In delay mode
 * without --delay, a cell of W workers trains with delay W - 1. An MPI cell
 * passes --transport mpi instead of --workers (its W is the launcher's
 * {workers}; sweep/cell.h puts the launcher's words first). `argv` gets
 * `exe`, "train", ..., NULL; the strings live in `buf` (cap bytes) or in the
 * spec. Returns the argument count or MT_ERR_ARG when it does not fit. */
int mt_sweep_train_argv(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *exe,
                        const char *dir, int threads, char **argv, int argv_cap, char *buf,
                        size_t cap);

/* sweep.json's contents (new reference) and back. */
json_t *mt_sweep_spec_to_json(const mt_sweep_spec *s);
int mt_sweep_spec_from_json(mt_sweep_spec *s, const json_t *j, const char *where);

/* dir/sweep.json: written atomically; read back (MT_ERR_IO when absent,
 * MT_ERR_FORMAT naming the file when malformed). */
int mt_sweep_spec_save(const char *dir, const mt_sweep_spec *s);
int mt_sweep_spec_load(const char *dir, mt_sweep_spec *s);

/* 0 when a and b describe the same sweep; else MT_ERR_ARG with a message
 * naming the first setting that differs and both values. */
int mt_sweep_spec_compare(const mt_sweep_spec *recorded, const mt_sweep_spec *given);

/* "1,2,4,8" / "0.1,0.3,auto" / "msgd,dana" / "--lr 0.1 --epochs 3": for
 * messages and reports. */
void mt_sweep_format_ints(char *buf, size_t cap, const int *v, int n);
void mt_sweep_format_momenta(char *buf, size_t cap, const double *v, int n);
void mt_sweep_format_methods(char *buf, size_t cap, const mt_method_kind *v, int n);
void mt_sweep_format_args(char *buf, size_t cap, char *const *v, int n);

/* One momentum as the cell names and tables show it: "0.7" (%g) or "auto". */
void mt_sweep_format_mu(char *buf, size_t cap, double mu);

/* Whether mu is the auto value. */
int mt_sweep_mu_is_auto(double mu);

#endif

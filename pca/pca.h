/* pca.h: the streaming-PCA model problem of the paper (Liu et al. 2018, eq. 2.1)
 * on which Async-MSGD is simulated:
 *
 *     v_{k+1} = v_k + mu (v_k - v_{k-1}) + eta (I - w w^T) X_k X_k^T w,   w = v_{k-tau_k}
 *
 * with X_k drawn i.i.d. from a zero-mean distribution of covariance Sigma, and
 * v_0 = v_{-1}. The delayed iterate is clamped at v_0 while k < tau_k.
 *
 * Three layers, each usable on its own:
 *   - the covariance (mt_pca_cov): Sigma, its symmetric square root (to draw
 *     X = Sigma^{1/2} z) and its eigenvectors (to measure the error);
 *   - one run (mt_pca_run): the iteration above for a fixed (mu, tau), with
 *     the error recorded at evenly spaced checkpoints;
 *   - a grid (mt_pca_grid_run): many runs per (mu, tau) cell, in parallel,
 *     with results that do not depend on the thread count.
 * Statistics over runs, the "optimal delay" and the output files are in
 * pca_stats.h and pca_report.h; a stopped grid's progress on disk, to
 * continue it, in pca_ckpt.h.
 *
 * The optimisation error of v is 1 - |P v|^2 / |v|^2, where P projects onto
 * the eigenspace of Sigma's largest eigenvalue (for diag(4,3,2,1) that is
 * 1 - (e1^T v)^2 / |v|^2). It lies in [0, 1], is the same for v and -v, and a
 * diverged run (NaN, Inf or |v|^2 above a bound) is given the worst error, 1,
 * and counted.
 *
 * This is a simulation of delayed gradients, not a threaded parameter server:
 * the delay is a parameter, so every run is reproducible bit for bit.
 */
#ifndef MT_PCA_H
#define MT_PCA_H

#include "core/rng.h"
#include "optim/dc_asgd.h"
#include "optim/delay.h"
#include "optim/method.h"

#include <stdint.h>

/* The largest experiment: --dim, --runs, --iters and --checkpoints are
 * refused above these, and so is a progress.bin that records more. A grid's
 * results (each run's error, and its trace at every checkpoint) are held
 * in memory, and twice while the grid saves its progress: a grid whose
 * results exceed MT_PCA_MAX_RESULT_BYTES is refused before any is run. */
enum { MT_PCA_MAX_DIM = 1024, MT_PCA_MAX_RUNS = 1000000, MT_PCA_MAX_CHECKPOINTS = 10000 };
#define MT_PCA_MAX_ITERS 1000000000L
#define MT_PCA_MAX_RESULT_BYTES 2000000000ULL

typedef struct {
    int d;
    double *sigma;   /* (d, d) row-major, symmetric positive semidefinite */
    double *root;    /* (d, d) Sigma^{1/2}, symmetric */
    double *eigval;  /* (d) descending */
    double *eigvec;  /* (d, d) row-major; column j is the eigenvector of eigval[j] */
    int diagonal;    /* Sigma is diagonal: X_i = sqrt(Sigma_ii) z_i costs O(d) */
    int top_mult;    /* multiplicity of the largest eigenvalue (relative tolerance 1e-9) */
} mt_pca_cov;

/* Sigma = diag(diag[0..d)); every entry >= 0 and at least one > 0. */
int mt_pca_cov_diag(mt_pca_cov *c, const double *diag, int d);

/* Sigma = sigma (d, d), checked symmetric (relative tolerance 1e-9) and
 * positive semidefinite; `what` names the source in messages (a file). */
int mt_pca_cov_full(mt_pca_cov *c, const double *sigma, int d, const char *what);

/* Reads a d x d matrix, one row per line, numbers separated by spaces, tabs or
 * commas; '#' starts a comment. Errors name the file and the row. */
int mt_pca_cov_read(mt_pca_cov *c, const char *path);

void mt_pca_cov_free(mt_pca_cov *c);

/* The error 1 - |P v|^2 / |v|^2 (see above); 1 for v = 0 or a non-finite v. */
double mt_pca_error(const mt_pca_cov *c, const double *v);

/* The delay distributions are optim/delay.h's, the same (with the same
 * truncation) as the parameter server's delay mode; these are their kinds. */
typedef int mt_pca_delay_dist;
enum {
    MT_PCA_DELAY_FIXED = MT_DELAY_FIXED,
    MT_PCA_DELAY_UNIFORM = MT_DELAY_UNIFORM,
    MT_PCA_DELAY_GEOMETRIC = MT_DELAY_GEOMETRIC
};
typedef enum { MT_PCA_DATA_GAUSSIAN, MT_PCA_DATA_BOUNDED } mt_pca_data_dist;

/* One sample X = Sigma^{1/2} z, z with i.i.d. components of mean 0 and
 * variance 1: standard normal (gaussian) or uniform on [-sqrt 3, sqrt 3]
 * (bounded: |X|^2 <= 3 d lambda_max(Sigma), the paper's Assumption 2). `z` is (d)
 * scratch. The components are drawn in order, normals in Box-Muller pairs. */
void mt_pca_sample(const mt_pca_cov *c, mt_pca_data_dist data, mt_rng *r, double *x, double *z);

/* The stochastic Oja direction g = (I - w w^T) x x^T w = s (x - s w), s = x.w. */
void mt_pca_grad(double *g, const double *w, const double *x, int d);

/* One Async-MSGD step: v_next = v + mu (v - v_prev) + lr (I - w w^T) x x^T w.
 * v_next may not alias the inputs. */
void mt_pca_step(double *v_next, const double *v, const double *v_prev, const double *w,
                 const double *x, int d, double lr, double mu);

/* The update rule (pca/pca_method.h). All zero: msgd, the paper's eq. 2.1. */
typedef struct {
    mt_method_kind kind;          /* msgd, staleness-lr, dc-asgd, dana */
    int momentum_auto;            /* mu from optim/momentum_auto.h, `momentum` the target */
    mt_dc_asgd_config dc;         /* dc-asgd's lambda */
} mt_pca_method;

typedef struct {
    const mt_pca_cov *cov;
    mt_pca_method method;
    double lr;                    /* eta > 0 */
    double momentum;              /* mu in [0, 1) */
    int delay;                    /* tau >= 0: fixed, or the mean of a random delay, truncated
                                     at mt_delay_default_cap (optim/delay.h) */
    mt_pca_delay_dist delay_dist;
    mt_pca_data_dist data;
    long iters;                   /* number of steps, >= 1 */
    const double *v0;             /* (d) start v_0 = v_{-1}; NULL: a random unit vector per run */
    int checkpoints;              /* error recorded after iters*(i+1)/checkpoints steps, i < checkpoints */
    double blowup;                /* |v|^2 above this counts as diverged (> 1) */
    /* Polled about every million floating-point operations of the run (every
     * few thousand steps at small d); nonzero abandons the run, which then
     * returns MT_ERR_INTERRUPTED with `out` and `trace` incomplete. NULL:
     * never. It must be safe to call from several threads at once. */
    int (*stop)(void *ctx);
    void *stop_ctx;
} mt_pca_run_cfg;

typedef struct {
    double error;     /* at the end; 1 when diverged */
    int diverged;
    long diverged_at; /* the step at which divergence was seen, -1 when not */
    double norm;      /* |v| at the end (NaN or large when diverged) */
} mt_pca_run_result;

/* Checks a configuration; the message names the field at fault. */
int mt_pca_run_check(const mt_pca_run_cfg *cfg);

/* Doubles of scratch memory one run of `cfg` needs. */
long mt_pca_run_work_size(const mt_pca_run_cfg *cfg);

/* One run with its randomness from (seed, run): data from stream `run`, delays
 * and a random start from streams of their own, so run r sees the same data in
 * every cell of a grid (common random numbers) and a cell's result does not
 * depend on the other cells or on threads. `work` holds
 * mt_pca_run_work_size doubles; `trace` (checkpoints, may be NULL) receives the
 * error at each checkpoint; `v_end` (d, may be NULL) the final iterate.
 * The configuration must have passed mt_pca_run_check; returns MT_OK, or
 * MT_ERR_INTERRUPTED when cfg->stop asked to stop (no message is set: the
 * caller knows why it stopped). */
int mt_pca_run(const mt_pca_run_cfg *cfg, uint64_t seed, uint64_t run, double *work,
               double *trace, double *v_end, mt_pca_run_result *out);

typedef struct mt_pca_grid_result mt_pca_grid_result;

/* A grid of cells (momentum i, delay j), `runs` runs each. Cell c = i n_tau + j. */
typedef struct {
    mt_pca_run_cfg base;   /* everything but momentum and delay */
    const double *momenta; /* (n_mu) */
    int n_mu;
    const int *delays;     /* (n_tau) */
    int n_tau;
    int runs;
    uint64_t seed;
    int threads;           /* 0: OpenMP's default */
    /* Called from one thread at a time, in no fixed order, with the number of
     * finished runs; may be NULL. */
    void (*progress)(long done, long total, void *ctx);
    void *progress_ctx;
    /* Polled by every worker before each run and inside runs (as
     * mt_pca_run_cfg.stop, which the grid sets from this); nonzero stops the
     * grid: no run starts after it, runs in flight are abandoned, and the
     * completed cells stay in the result. May be NULL. */
    int (*stop)(void *ctx);
    void *stop_ctx;
    /* Called, one thread at a time, each time a cell has all its runs (its
     * slots of the result are final and no thread writes them again); `res`
     * may be read only in completed cells (res->cell_done). A negative return
     * (with mt_error's message) stops the grid with that status. May be NULL. */
    int (*cell_done)(const mt_pca_grid_result *res, long cell, void *ctx);
    void *cell_ctx;
} mt_pca_grid_cfg;

struct mt_pca_grid_result {
    int n_mu, n_tau, runs, checkpoints;
    long iters;
    double *error;           /* (n_mu, n_tau, runs) final error of each run */
    unsigned char *diverged; /* (n_mu, n_tau, runs) */
    double *trace;           /* (n_mu, n_tau, runs, checkpoints) error at checkpoints, or NULL */
    unsigned char *cell_done; /* (n_mu, n_tau) 1 when every run of the cell is in */
    long cells_done;         /* how many */
    double seconds;          /* wall time of the grid (summed over a resumed grid's parts) */
    int threads;             /* threads used (by the last part) */
};

/* Checks every cell of cfg and allocates `out` with no cell done. */
/* The bytes of a grid's results (mt_pca_grid_result), in 64 bits: counts
 * read back from a progress.bin may be anything up to the limits above. */
uint64_t mt_pca_grid_result_bytes(const mt_pca_grid_cfg *cfg);

int mt_pca_grid_init(const mt_pca_grid_cfg *cfg, mt_pca_grid_result *out);

/* Runs the cells of `out` that are not done (out came from mt_pca_grid_init
 * with the same cfg, then perhaps completed cells from a checkpoint).
 * MT_OK when every cell is done; MT_ERR_INTERRUPTED (message: how many cells
 * are done) when cfg->stop stopped it first; a cell_done callback's error.
 * In every case `out` keeps each completed cell. */
int mt_pca_grid_continue(const mt_pca_grid_cfg *cfg, mt_pca_grid_result *out);

/* mt_pca_grid_init and mt_pca_grid_continue; on error `out` is freed. */
int mt_pca_grid_run(const mt_pca_grid_cfg *cfg, mt_pca_grid_result *out);
void mt_pca_grid_free(mt_pca_grid_result *r);

/* Index of run r of cell (i, j) in the result arrays. */
static inline long mt_pca_grid_index(const mt_pca_grid_result *g, int i, int j, int r)
{
    return ((long)i * g->n_tau + j) * g->runs + r;
}

#endif

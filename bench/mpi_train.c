/* mpi_train.c: `mutau train` over MPI against the same run with its workers
 * as threads, on a real network, in one run of this program.
 *
 * ResNet-20 on Fashion-MNIST (the default data), batch 128, the first 7,680
 * training images (60 steps), lr 0.05 constant, one thread per worker, async:
 *   threads  mutau train --workers 2 --threads 1
 *   mpi      mpirun -np 3 mutau train --transport mpi --threads 1
 *            (1 server rank, 2 worker ranks)
 * alternating for three rounds; each row's training images per second come
 * from its log.csv. Target: mpi >= 0.9 x threads (median of the rounds).
 * Then once, 8 worker ranks (mpirun -np 9, 16 steps each): the server's time
 * per push (rank 0: receiving, updating, answering; final.json's
 * mpi.server_seconds) against a worker's step (its compute + communication
 * per gradient), target < 3%. On a machine with fewer cores than ranks the
 * workers time-share the cores, which lengthens their steps; the server's
 * time per push is what the line reports next to it.
 * Prints "bench mpi_train ..." lines. Runs the built tool next to this
 * program (BUILD/mutau) in a temporary directory.
 */
#include "bench/lib/log_field.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ROUNDS = 3 };

static char tool[1024], tmp[64];

static const char COMMON[] = "--model resnet20 --batch 128 --limit-train 7680 --limit-test 500 "
                             "--epochs 1 --lr 0.05 --schedule constant --threads 1 "
                             "--progress quiet --eval-batch 250 --oversubscribe";

/* Runs `prefix mutau train COMMON extra --out tmp/name --force`; images/s. */
static double run(const char *prefix, const char *extra, const char *name)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s train %s %s --out %s/%s --force > %s/%s.out 2>&1", prefix,
             tool, COMMON, extra, tmp, name, tmp, name);
    if (system(cmd) != 0) {
        fprintf(stderr, "mpi_train: `%s` failed; see its output:\n", cmd);
        snprintf(cmd, sizeof cmd, "tail -n 20 %s/%s.out >&2", tmp, name);
        if (system(cmd) != 0)
            fprintf(stderr, "(no output)\n");
        return -1;
    }
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    return mt_bench_log_last_field(dir, 8); /* images_per_s */
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 8 worker ranks: the server's time per push against a worker's step. */
static int server_share(void)
{
    if (run("mpirun -np 9 --oversubscribe", "--transport mpi --limit-train 16384", "w8") < 0)
        return 1;
    char path[512];
    snprintf(path, sizeof path, "%s/w8/final.json", tmp);
    json_t *j = json_load_file(path, 0, NULL);
    json_t *m = json_object_get(j, "mpi");
    json_t *s = json_object_get(m, "server_seconds"), *w = json_object_get(m, "worker_seconds");
    double busy = json_number_value(json_object_get(s, "busy"));
    double update = json_number_value(json_object_get(s, "update"));
    double pushes = (double)json_integer_value(json_object_get(s, "pushes"));
    double comm = json_number_value(json_object_get(w, "comm"));
    double compute = json_number_value(json_object_get(w, "compute"));
    double grads = (double)json_integer_value(json_object_get(w, "gradients"));
    json_decref(j);
    if (pushes <= 0 || grads <= 0) {
        fprintf(stderr, "mpi_train: w8/final.json lacks the timings\n");
        return 1;
    }
    double per_push = busy / pushes, step = (comm + compute) / grads;
    printf("8 worker ranks: server %.3f ms per push (update %.3f ms), worker step %.1f ms "
           "(communication %.1f%%): server time %.2f%% of a step (target < 3%%)\n",
           1e3 * per_push, 1e3 * update / pushes, 1e3 * step, 100 * comm / (comm + compute),
           100 * per_push / step);
    printf("bench mpi_train workers=8 server_ms_per_push=%.4f update_ms=%.4f step_ms=%.2f "
           "comm_share=%.4f server_share_of_step=%.5f target=0.03 %s\n",
           1e3 * per_push, 1e3 * update / pushes, 1e3 * step, comm / (comm + compute),
           per_push / step, per_push / step < 0.03 ? "met" : "not-met");
    return 0;
}

int main(int argc, char **argv)
{
    char self[1024];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(tool, sizeof tool, "%s/../mutau", dirname(self));
    if (access(tool, X_OK) != 0) {
        fprintf(stderr, "mpi_train: %s is not built\n", tool);
        return 1;
    }
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    snprintf(tmp, sizeof tmp, "/tmp/mt_bench_mpi_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mpi_train: mkdtemp");
        return 1;
    }
    double ratio[ROUNDS];
    int status = 0;
    for (int r = 0; r < ROUNDS && status == 0; r++) {
        double th = run("", "--workers 2", "threads");
        double mp = run("mpirun -np 3 --oversubscribe", "--transport mpi", "mpi");
        if (th <= 0 || mp <= 0) {
            status = 1;
            break;
        }
        ratio[r] = mp / th;
        printf("round %d: 2 async workers x 1 thread: threads %.1f img/s, mpi %.1f img/s, "
               "ratio %.3f\n", r + 1, th, mp, ratio[r]);
        printf("bench mpi_train round=%d threads_img_s=%.1f mpi_img_s=%.1f ratio=%.4f\n", r + 1,
               th, mp, ratio[r]);
        fflush(stdout);
    }
    if (status == 0) {
        qsort(ratio, ROUNDS, sizeof ratio[0], cmp);
        printf("bench mpi_train median_ratio=%.4f target=0.9 %s\n", ratio[ROUNDS / 2],
               ratio[ROUNDS / 2] >= 0.9 ? "met" : "not-met");
        status = server_share();
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "mpi_train: could not remove %s\n", tmp);
    return status;
}

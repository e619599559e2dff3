/* mpi_transport.c: the MPI parameter server's pull + push against a raw MPI
 * ping-pong of the same sizes, over shared memory (Open MPI's vader) and over
 * TCP loopback, in one run.
 *
 * Started without an MPI launcher (as `make bench` does), it runs itself
 * under `mpirun -np 2` twice: `--mca btl self,vader` and `--mca btl
 * self,tcp`. Under mpirun, rank 0 is the server and rank 1 the worker
 * (S = 1, W = 1), and for each size:
 *   raw   rank 1 sends n floats to rank 0 and gets n floats back
 *         (MPI_Send/MPI_Recv): the bytes of one push and one pull;
 *   msgs  the protocol's four messages with MPI alone, no server: rank 1
 *         sends n floats and a 3-double request, rank 0 answers with n
 *         floats and a 3-int64 ticket (raw's bytes, the ps round trip's
 *         message count);
 *   ps    the worker loops pull -> push with no gradient in between
 *         (mt_mpi_worker_pull/push, async mode): the same bytes plus the
 *         ticket, the pull request, and the server's update of n floats.
 * msgs against raw is what the two small messages cost; ps against msgs
 * what the server's own work costs beyond its update.
 * Bandwidth = 2 n 4 bytes / round trip. The update is arithmetic, not
 * transport (mt_msgd_apply reads three buffers and writes two: 5 n floats),
 * so the transport's share is the round trip less the server's measured
 * update time; the target is >= 0.9 of raw at >= 1 MB. The server spins
 * instead of sleeping when idle (idle_sleep_us = 0), as the raw ping-pong
 * does inside MPI_Recv. Raw and ps alternate
 * for three rounds and the medians are reported (the machine may be shared).
 * This file includes <mpi.h> itself because its baseline is MPI.
 */
#include "core/status.h"
#include "ps/mpi.h"
#include "ps/mpi_ps.h"
#include "ps/ps.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ROUNDS = 5, N_SIZES = 7 };
static const size_t sizes[N_SIZES] = {64, 4096, 65536, 262144, 1048576, 4194304, 16777216};

static int reps_for(size_t bytes)
{
    size_t r = (size_t)(64u << 20) / (bytes + 65536);
    return r < 6 ? 6 : r > 500 ? 500 : (int)r;
}

/* Round-trip seconds of `reps` raw exchanges of n floats (rank 1 measures). */
static double raw_round(int rank, float *a, float *b, int n, int reps)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < reps + 2; i++) {
        if (i == 2)
            t0 = MPI_Wtime();
        if (rank == 1) {
            MPI_Send(a, n, MPI_FLOAT, 0, 1, MPI_COMM_WORLD);
            MPI_Recv(b, n, MPI_FLOAT, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(b, n, MPI_FLOAT, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(a, n, MPI_FLOAT, 1, 2, MPI_COMM_WORLD);
        }
    }
    double t = (MPI_Wtime() - t0) / reps;
    MPI_Bcast(&t, 1, MPI_DOUBLE, 1, MPI_COMM_WORLD);
    return t;
}

/* Round-trip seconds of `reps` exchanges in the protocol's pattern: the
 * gradient and the pull request out, the shard and the ticket back, posted
 * as the worker and the server post them. */
static double msgs_round(int rank, float *a, float *b, int n, int reps)
{
    double req[3] = {0, 0, 0};
    int64_t ticket[3] = {1, 0, 0};
    MPI_Request r[2];
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < reps + 2; i++) {
        if (i == 2)
            t0 = MPI_Wtime();
        if (rank == 1) {
            MPI_Request s;
            MPI_Isend(a, n, MPI_FLOAT, 0, 1, MPI_COMM_WORLD, &s);
            MPI_Irecv(b, n, MPI_FLOAT, 0, 2, MPI_COMM_WORLD, &r[0]);
            MPI_Irecv(ticket, 3, MPI_INT64_T, 0, 3, MPI_COMM_WORLD, &r[1]);
            MPI_Send(req, 3, MPI_DOUBLE, 0, 4, MPI_COMM_WORLD);
            MPI_Wait(&s, MPI_STATUS_IGNORE);
            MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
        } else {
            MPI_Recv(b, n, MPI_FLOAT, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Recv(req, 3, MPI_DOUBLE, 1, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Isend(a, n, MPI_FLOAT, 1, 2, MPI_COMM_WORLD, &r[0]);
            MPI_Isend(ticket, 3, MPI_INT64_T, 1, 3, MPI_COMM_WORLD, &r[1]);
            MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
        }
    }
    double t = (MPI_Wtime() - t0) / reps;
    MPI_Bcast(&t, 1, MPI_DOUBLE, 1, MPI_COMM_WORLD);
    return t;
}

/* Round-trip seconds of pull + push through the server, and the server's
 * update seconds per push (both on every rank). */
static int ps_round(mt_mpi *m, float *a, float *b, int n, int reps, double *rtt, double *apply)
{
    int rc;
    double t = 0, ap = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    if (mt_mpi_is_server(m)) {
        mt_ps_server_config sc;
        mt_ps_server_config_default(&sc, (size_t)n, 0);
        sc.schedule.base_lr = 1e-6;
        mt_mpi_ps_config cfg;
        mt_mpi_ps_config_default(&cfg);
        cfg.steps_per_epoch = reps + 2;
        cfg.idle_sleep_us = 0; /* the transport, not the idle policy: see docs/mpi.md */
        mt_mpi_server *srv;
        rc = mt_mpi_server_create(&srv, m, &sc, &cfg, a, NULL);
        if (rc == MT_OK)
            rc = mt_mpi_server_run(srv, reps + 2);
        if (rc == MT_OK) {
            mt_mpi_timing tm;
            mt_mpi_server_timing(srv, &tm);
            ap = tm.server_apply_s / (double)tm.server_pushes;
        }
        mt_mpi_server_free(srv);
    } else {
        mt_mpi_worker *w;
        rc = mt_mpi_worker_create(&w, m, (size_t)n, 0, 0);
        int64_t v, batch, i = 0;
        double t0 = MPI_Wtime();
        while (rc == MT_OK && (rc = mt_mpi_worker_pull(w, b, NULL, &v, &batch)) == 1) {
            if (i++ == 2)
                t0 = MPI_Wtime(); /* after two warm-up steps */
            rc = mt_mpi_worker_push(w, a, NULL, NULL);
        }
        t = (MPI_Wtime() - t0) / reps;
        mt_mpi_worker_free(w);
    }
    if (rc < 0)
        fprintf(stderr, "mpi_transport: %s\n", mt_errmsg());
    MPI_Bcast(&t, 1, MPI_DOUBLE, 1, MPI_COMM_WORLD);
    MPI_Bcast(&ap, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    *rtt = t;
    *apply = ap;
    return rc < 0 ? rc : MT_OK;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return x[n / 2];
}

static int child(const char *link)
{
    mt_mpi *m;
    if (mt_mpi_init(&m, 1) < 0) {
        fprintf(stderr, "mpi_transport: %s\n", mt_errmsg());
        return 1;
    }
    int rank = mt_mpi_rank(m), status = 0;
    float *a = aligned_alloc(64, sizes[N_SIZES - 1]), *b = aligned_alloc(64, sizes[N_SIZES - 1]);
    for (size_t i = 0; i < sizes[N_SIZES - 1] / sizeof(float); i++)
        a[i] = b[i] = 0.001f * (float)(i % 1000);
    if (rank == 0)
        printf("%-5s %10s %10s %10s %9s %9s %10s %10s %9s %7s %7s\n", "link", "bytes",
               "raw us", "raw MB/s", "msgs us", "ps us", "update us", "ps MB/s", "ratio", "whole",
               "ok");
    for (int s = 0; s < N_SIZES && status == 0; s++) {
        int n = (int)(sizes[s] / sizeof(float)), reps = reps_for(sizes[s]);
        double raw[ROUNDS], msgs[ROUNDS], ps[ROUNDS], upd[ROUNDS];
        for (int r = 0; r < ROUNDS && status == 0; r++) {
            raw[r] = raw_round(rank, a, b, n, reps);
            msgs[r] = msgs_round(rank, a, b, n, reps);
            status = ps_round(m, a, b, n, reps, &ps[r], &upd[r]) < 0;
        }
        if (status)
            break;
        double raw_t = median(raw, ROUNDS), msgs_t = median(msgs, ROUNDS);
        double ps_t = median(ps, ROUNDS), up = median(upd, ROUNDS);
        double bytes = 2.0 * (double)sizes[s];
        double raw_bw = bytes / raw_t / 1e6, ps_bw = bytes / (ps_t - up) / 1e6;
        double ratio = ps_bw / raw_bw, whole = raw_t / ps_t;
        int target = sizes[s] >= 1048576;
        if (rank == 0) {
            printf("%-5s %10zu %10.1f %10.1f %9.1f %9.1f %10.1f %10.1f %9.3f %7.3f %7s\n", link,
                   sizes[s], raw_t * 1e6, raw_bw, msgs_t * 1e6, ps_t * 1e6, up * 1e6, ps_bw,
                   ratio, whole, !target ? "-" : ratio >= 0.9 ? "yes" : "NO");
            printf("bench mpi_transport link=%s bytes=%zu raw_rtt_us=%.2f msgs_rtt_us=%.2f "
                   "ps_rtt_us=%.2f update_us=%.2f raw_MBps=%.1f ps_MBps=%.1f ratio=%.3f "
                   "whole_ratio=%.3f\n",
                   link, sizes[s], raw_t * 1e6, msgs_t * 1e6, ps_t * 1e6, up * 1e6, raw_bw, ps_bw,
                   ratio, whole);
        }
        fflush(stdout);
    }
    free(a);
    free(b);
    mt_mpi_finalize(m);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child(argv[2]);
    if (mt_mpi_launched())
        return child("?");
    /* Run ourselves under mpirun, once per link. */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    static const char *const links[][2] = {{"shm", "self,vader"}, {"tcp", "self,tcp"}};
    int status = 0;
    printf("pull + push through the MPI server vs a raw MPI ping-pong (2 ranks; medians of %d "
           "alternating rounds; msgs: the protocol's 4 messages without the server); ratio = transport bandwidth (round trip less the server's "
           "update) / raw; whole = raw / ps round trip\n", ROUNDS);
    fflush(stdout);
    for (int l = 0; l < 2; l++) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "mpirun -np 2 --oversubscribe --mca btl %s %s --child %s",
                 links[l][1], argv[0], links[l][0]);
        int rc = system(cmd);
        if (rc != 0) {
            fprintf(stderr, "mpi_transport: `%s` failed (status %d)\n", cmd, rc);
            status = 1;
        }
    }
    return status;
}

/* mpi_world.c: MPI initialisation, the rank roles, hosts and the start-up
 * agreements (ps/mpi.h). */
#include "ps/mpi_impl.h"

#include "core/status.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int mt_mpi_launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int mt_mpi_launch_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return atoi(v);
    }
    return -1;
}

static void free_comms(mt_mpi *m)
{
    if (m->data != MPI_COMM_NULL)
        MPI_Comm_free(&m->data);
    if (m->role != MPI_COMM_NULL)
        MPI_Comm_free(&m->role);
    if (m->node != MPI_COMM_NULL)
        MPI_Comm_free(&m->node);
}

/* Everything after MPI_Init_thread; on failure the caller finalizes. */
static int setup(mt_mpi *m, int server_ranks)
{
    int rc = MT_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &m->rank));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Comm_size(MPI_COMM_WORLD, &m->size));
    if (rc < 0)
        return rc;
    if (m->size < 2)
        return mt_error(MT_ERR_ARG, "mpi: rank %d: the world has one rank; start at least 2 "
                        "(one server and one worker) with mpirun -np", m->rank);
    if (server_ranks < 1 || server_ranks > m->size - 1)
        return mt_error(MT_ERR_ARG, "mpi: rank %d: --server-ranks %d is not in [1, %d] for %d "
                        "ranks (at least one rank must be a worker)", m->rank, server_ranks,
                        m->size - 1, m->size);
    m->servers = server_ranks;
    /* Duplicates inherit the return-on-error handler. */
    rc = MT_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &m->data));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Comm_split(MPI_COMM_WORLD, m->rank < m->servers ? 0 : 1, m->rank,
                                   &m->role));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, m->rank,
                                        MPI_INFO_NULL, &m->node));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Comm_size(m->node, &m->node_size));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Comm_rank(m->node, &m->node_rank));
    if (rc < 0)
        return rc;
    m->hosts = calloc((size_t)m->size, sizeof *m->hosts);
    if (!m->hosts)
        return mt_error(MT_ERR_NOMEM, "mpi: rank %d: out of memory", m->rank);
    char mine[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    rc = MT_MPI(MPI_Get_processor_name(mine, &len));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Allgather(mine, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, m->hosts,
                                  MPI_MAX_PROCESSOR_NAME, MPI_CHAR, MPI_COMM_WORLD));
    if (rc < 0)
        return rc;
    for (int r = 0; r < m->size; r++) {
        int seen = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = strcmp(m->hosts[q], m->hosts[r]) == 0;
        m->n_hosts += !seen;
    }
    return MT_OK;
}

int mt_mpi_init(mt_mpi **out, int server_ranks)
{
    *out = NULL;
    if (mt_mpi_world_rank() >= 0)
        return mt_error(MT_ERR_ARG, "mpi: already initialised");
    int provided = 0;
    int rc = MT_MPI(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided));
    if (rc < 0)
        return rc;
    mt_mpi *m = calloc(1, sizeof *m);
    if (!m) {
        MPI_Finalize();
        return mt_error(MT_ERR_NOMEM, "mpi: out of memory");
    }
    m->data = m->role = m->node = MPI_COMM_NULL;
    if (provided < MPI_THREAD_FUNNELED)
        rc = mt_error(MT_ERR_LIB, "mpi: the MPI library gives thread level %d, mutau needs "
                      "MPI_THREAD_FUNNELED", provided);
    else
        rc = setup(m, server_ranks);
    if (rc < 0) {
        mt_mpi_finalize(m);
        return rc;
    }
    *out = m;
    return MT_OK;
}

void mt_mpi_finalize(mt_mpi *m)
{
    if (m) {
        free_comms(m);
        free(m->hosts);
        free(m);
    }
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Finalize();
}

void mt_mpi_abort(mt_mpi *m, int code) { MPI_Abort(MPI_COMM_WORLD, code); }

int mt_mpi_rank(const mt_mpi *m) { return m->rank; }
int mt_mpi_size(const mt_mpi *m) { return m->size; }
int mt_mpi_servers(const mt_mpi *m) { return m->servers; }
int mt_mpi_workers(const mt_mpi *m) { return m->size - m->servers; }
int mt_mpi_is_server(const mt_mpi *m) { return m->rank < m->servers; }
int mt_mpi_worker_index(const mt_mpi *m) { return m->rank < m->servers ? -1 : m->rank - m->servers; }
const char *mt_mpi_host(const mt_mpi *m, int r) { return r >= 0 && r < m->size ? m->hosts[r] : "?"; }
int mt_mpi_ranks_on_node(const mt_mpi *m) { return m->node_size; }
int mt_mpi_node_index(const mt_mpi *m) { return m->node_rank; }
int mt_mpi_hosts(const mt_mpi *m) { return m->n_hosts; }

int mt_mpi_first_failure(mt_mpi *m, int status)
{
    int mine = status < 0 ? m->rank : m->size, first = m->size;
    if (MT_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD)) < 0)
        return m->rank; /* cannot agree: this rank reports the MPI error itself */
    return first < m->size ? first : -1;
}

int mt_mpi_first_mismatch(mt_mpi *m, uint64_t hash)
{
    uint64_t h0 = hash;
    int rc = MT_MPI(MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD));
    if (rc < 0)
        return rc;
    int mine = hash != h0 ? m->rank : m->size, first = m->size;
    rc = MT_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (rc < 0)
        return rc;
    return first < m->size ? first : -1;
}

int mt_mpi_bcast_bytes(mt_mpi *m, int root, unsigned char **bytes, size_t *size, size_t max)
{
    int is_root = m->rank == root;
    uint64_t n = is_root ? (uint64_t)*size : 0;
    if (!is_root) {
        *bytes = NULL;
        *size = 0;
    }
    int rc = MT_MPI(MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD));
    if (rc < 0 || n == 0)
        return rc < 0 ? rc : MT_OK;
    /* Every rank takes part in the second broadcast: when n is above max all
     * of them send or receive nothing (n is known to all) and fail after; a
     * rank out of memory receives nothing and fails (MPI reports the
     * truncation to it). */
    int fits = n <= max && n <= INT_MAX;
    unsigned char *buf = !fits ? NULL : is_root ? *bytes : malloc((size_t)n);
    int count = buf ? (int)n : 0;
    unsigned char none[1];
    rc = MT_MPI(MPI_Bcast(buf ? buf : none, count, MPI_BYTE, root, MPI_COMM_WORLD));
    if (is_root)
        return rc < 0 ? rc
               : fits ? MT_OK
                      : mt_error(MT_ERR_ARG, "rank %d: %llu bytes to send to every rank, more "
                                 "than %zu", m->rank, (unsigned long long)n, max);
    if (rc < 0 || !buf) {
        free(buf);
        return rc < 0 ? rc
                      : mt_error(MT_ERR_NOMEM, "rank %d: no room for %llu bytes from rank %d",
                                 m->rank, (unsigned long long)n, root);
    }
    *bytes = buf;
    *size = (size_t)n;
    return MT_OK;
}

int mt_mpi_barrier(mt_mpi *m) { return MT_MPI(MPI_Barrier(MPI_COMM_WORLD)); }

const char *mt_mpi_library_version(void)
{
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) {
        v[strcspn(v, "\n")] = '\0';
    }
    return v;
}

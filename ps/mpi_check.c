/* mpi_check.c: MPI return codes into mutau statuses naming the call and the
 * rank (the MT_MPI macro in mpi_impl.h). */
#include "ps/mpi_impl.h"

#include "core/status.h"

#include <string.h>

int mt_mpi_world_rank(void)
{
    int init = 0, fin = 0, rank = -1;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int mt_mpi_check(int code, const char *call)
{
    if (code == MPI_SUCCESS)
        return MT_OK;
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        strcpy(text, "unknown MPI error");
    /* The call's name only: the text up to its argument list. */
    int name = (int)strcspn(call, "(");
    return mt_error(MT_ERR_LIB, "mpi: rank %d: %.*s: %s", mt_mpi_world_rank(), name, call, text);
}

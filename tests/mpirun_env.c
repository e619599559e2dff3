/* mpirun_env.c: the multi-rank tests' environment (see mpirun_env.h). */
#include "tests/mpirun_env.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *mpirun_env(void)
{
    static char path[512];
    FILE *p = popen("command -v mpirun", "r");
    path[0] = '\0';
    if (p) {
        if (!fgets(path, sizeof path, p))
            path[0] = '\0';
        pclose(p);
    }
    path[strcspn(path, "\n")] = '\0';
    ck_assert_msg(path[0] == '/', "mpirun not found: the MPI tests need Open MPI's mpirun "
                  "(make deps installs openmpi-bin)");
    if (geteuid() == 0) { /* Open MPI refuses root unless told twice */
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
    const char *asan = getenv("ASAN_OPTIONS");
    if (asan && !strstr(asan, "detect_leaks=0 ")) {
        char opts[2048];
        snprintf(opts, sizeof opts, "%s detect_leaks=0 ", asan);
        setenv("ASAN_OPTIONS", opts, 1);
    }
    return path;
}

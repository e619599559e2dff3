/* mpirun_env.h: what the multi-rank tests need before they start mpirun:
 * its path (the test fails, saying so, when there is none: `make deps`
 * installs Open MPI's openmpi-bin, and the tests are never skipped), Open
 * MPI's consent to run as root, and, under AddressSanitizer, the ranks'
 * leak report turned off (Open MPI unloads its components in MPI_Finalize,
 * leaving their start-up allocations under stacks nobody can name; ASan's
 * error checks stay on). */
#ifndef MUTAU_TESTS_MPIRUN_ENV_H
#define MUTAU_TESTS_MPIRUN_ENV_H

/* mpirun's absolute path, the environment prepared; fails the test without it. */
const char *mpirun_env(void);

#endif

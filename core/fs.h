/* fs.h: the one filesystem helper several modules need: `mkdir -p`.
 *
 * Not here: run directories and their files (trainer/rundir.h).
 */
#ifndef MT_FS_H
#define MT_FS_H

/* Creates `dir` and its missing parents (mode 0755). MT_OK when it exists as
 * a directory afterwards; MT_ERR_IO naming the component that could not be
 * made or is not a directory; MT_ERR_ARG for a path over 4095 bytes. */
int mt_mkdir_p(const char *dir);

#endif

/* sweepdir.c: creating, locking and checking a sweep directory (see sweepdir.h). */
#include "sweep/sweepdir.h"

#include "core/files.h"
#include "core/status.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int mt_sweep_dir_open(const char *dir, const mt_sweep_spec *s, int *lock_fd, int *is_new)
{
    *lock_fd = -1;
    int rc = mt_mkdirs(dir);
    if (rc != MT_OK)
        return rc;
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return mt_error(MT_ERR_IO, "%s: %s", p, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return mt_error(MT_ERR_ARG, "another mutau sweep is running in %s", dir);
    }
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    *is_new = access(p, F_OK) != 0;
    if (!*is_new) {
        mt_sweep_spec old;
        rc = mt_sweep_spec_load(dir, &old);
        if (rc == MT_OK) {
            rc = mt_sweep_spec_compare(&old, s);
            mt_sweep_spec_free(&old);
            if (rc != MT_OK) {
                char why[512];
                snprintf(why, sizeof why, "%s", mt_errmsg());
                rc = mt_error(MT_ERR_ARG,
                              "%s holds a sweep with other settings (%s); rerun it with its own "
                              "settings to resume, or give another --out",
                              dir, why);
            }
        }
        if (rc != MT_OK) {
            close(fd);
            return rc;
        }
    }
    *lock_fd = fd;
    return MT_OK;
}

void mt_sweep_dir_forget(const char *dir)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", dir);
    unlink(p);
    rmdir(dir);
}

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

/* Opens (creating) `path` and takes `how` (LOCK_EX or LOCK_SH) without
 * waiting: the descriptor, -1 when the lock is held elsewhere (errno
 * EWOULDBLOCK), or MT_ERR_IO's message set and -2. */
static int lock_file(const char *path, int how)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
        return -2;
    }
    if (flock(fd, how | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return -1;
        mt_error(MT_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
        return -2;
    }
    return fd;
}

int mt_sweep_dir_check(const char *dir, const mt_sweep_spec *s)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    if (access(p, F_OK) != 0)
        return MT_OK;
    mt_sweep_spec old;
    int rc = mt_sweep_spec_load(dir, &old);
    if (rc != MT_OK)
        return rc;
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
    return rc;
}

int mt_sweep_dir_open(const char *dir, const mt_sweep_spec *s, int *lock_fd, int *is_new)
{
    *lock_fd = -1;
    int rc = mt_mkdirs(dir);
    if (rc != MT_OK)
        return rc;
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", dir);
    int fd = lock_file(p, LOCK_EX);
    if (fd == -2)
        return MT_ERR_IO;
    if (fd < 0)
        return mt_error(MT_ERR_ARG,
                        "another mutau sweep is running in %s (a whole sweep, or --cell runs: "
                        "%s is locked)",
                        dir, p);
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    *is_new = access(p, F_OK) != 0;
    if (!*is_new && (rc = mt_sweep_dir_check(dir, s)) != MT_OK) {
        close(fd);
        return rc;
    }
    *lock_fd = fd;
    return MT_OK;
}

/* sweep.json written unless there is one: a file of its own linked into
 * place, which fails when another run was first. */
static int record_settings(const char *dir, const mt_sweep_spec *s)
{
    char p[PATH_MAX + 16], tmp[PATH_MAX + 64], host[64] = "";
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    if (access(p, F_OK) == 0)
        return MT_OK;
    gethostname(host, sizeof host - 1);
    snprintf(tmp, sizeof tmp, "%s/.sweep.json.%s.%d", dir, host, (int)getpid());
    json_t *j = mt_sweep_spec_to_json(s);
    int bad = !j || json_dump_file(j, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                               JSON_REAL_PRECISION(17)) != 0;
    json_decref(j);
    int e = errno;
    if (!bad && link(tmp, p) != 0 && errno != EEXIST) {
        e = errno;
        bad = 1;
    }
    unlink(tmp);
    return bad ? mt_error(MT_ERR_IO, "%s: cannot write: %s", p, strerror(e)) : MT_OK;
}

int mt_sweep_dir_open_cell(const char *dir, const mt_sweep_spec *s, const char *cell, int *lock_fd,
                           int *cell_fd)
{
    *lock_fd = *cell_fd = -1;
    char p[PATH_MAX + 16], c[PATH_MAX + MT_SWEEP_NAME_CAP + 16];
    snprintf(c, sizeof c, "%s/.locks", dir);
    int rc = mt_mkdirs(c);
    if (rc != MT_OK)
        return rc;
    snprintf(p, sizeof p, "%s/.lock", dir);
    int fd = lock_file(p, LOCK_SH);
    if (fd == -2)
        return MT_ERR_IO;
    if (fd < 0)
        return mt_error(MT_ERR_ARG, "--cell %s: a whole mutau sweep is running in %s (%s is "
                                    "locked); it trains this cell itself",
                        cell, dir, p);
    snprintf(c, sizeof c, "%s/.locks/%s", dir, cell);
    int cfd = lock_file(c, LOCK_EX);
    if (cfd < 0) {
        close(fd);
        return cfd == -2 ? MT_ERR_IO
                         : mt_error(MT_ERR_ARG, "--cell %s: another mutau sweep --cell is running "
                                                "it (%s is locked)",
                                    cell, c);
    }
    rc = record_settings(dir, s);
    if (rc == MT_OK)
        rc = mt_sweep_dir_check(dir, s);
    if (rc != MT_OK) {
        close(cfd);
        close(fd);
        return rc;
    }
    *lock_fd = fd;
    *cell_fd = cfd;
    return MT_OK;
}

int mt_sweep_dir_lock_results(const char *dir)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/.results.lock", dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    return fd;
}

void mt_sweep_dir_forget(const char *dir)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", dir);
    unlink(p);
    rmdir(dir);
}

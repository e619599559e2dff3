/* fs.c: mkdir -p (see fs.h). */
#include "core/fs.h"

#include "core/status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int make_one(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return mt_error(MT_ERR_IO, "%s: cannot create directory: %s", path, strerror(errno));
    return MT_OK;
}

int mt_mkdir_p(const char *dir)
{
    char tmp[4096];
    if (!dir[0] || (size_t)snprintf(tmp, sizeof tmp, "%s", dir) >= sizeof tmp)
        return mt_error(MT_ERR_ARG, "'%.64s...': expected a directory name of 1 to %zu bytes", dir,
                        sizeof tmp - 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = make_one(tmp);
        if (rc != MT_OK)
            return rc;
        *p = '/';
    }
    int rc = make_one(tmp);
    if (rc != MT_OK)
        return rc;
    struct stat st;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
        return mt_error(MT_ERR_IO, "%s: not a directory", tmp);
    return MT_OK;
}

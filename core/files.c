/* files.c: path joining, existence checks and mkdir -p (see files.h). */
#include "core/files.h"

#include "core/status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int mt_path_join(char *buf, size_t cap, const char *a, const char *b)
{
    int n = snprintf(buf, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return mt_error(MT_ERR_ARG, "%s/%s: path too long", a, b);
    return MT_OK;
}

int mt_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int mt_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mt_mkdirs(const char *path)
{
    char buf[MT_PATH_CAP];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return mt_error(MT_ERR_ARG, "'%s': bad directory name", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return mt_error(MT_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        buf[i] = saved;
    }
    if (!mt_is_dir(path))
        return mt_error(MT_ERR_IO, "%s: not a directory", path);
    return MT_OK;
}

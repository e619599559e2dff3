/* data_io.c: paths, file checks and class-name lists for datasets/. */
#include "datasets/data_io.h"

#include "core/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int64_t mt_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mt_error(MT_ERR_IO, "%s: not a regular file", path);
    return (int64_t)st.st_size;
}

void mt_names_free(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int mt_names_read(const char *path, int expect, char ***names, int *count)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    char **list = NULL;
    int n = 0, cap = 0;
    char line[1024];
    int rc = MT_OK;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(list, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            list = grown;
        }
        list[n] = strdup(line);
        if (!list[n]) {
            rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        n++;
    }
    if (rc == MT_OK && ferror(f))
        rc = mt_error(MT_ERR_IO, "%s: read error", path);
    fclose(f);
    if (rc == MT_OK && expect > 0 && n != expect)
        rc = mt_error(MT_ERR_FORMAT, "%s: %d class names, expected %d", path, n, expect);
    if (rc == MT_OK && n == 0)
        rc = mt_error(MT_ERR_FORMAT, "%s: no class names", path);
    if (rc != MT_OK) {
        mt_names_free(list, n);
        return rc;
    }
    *names = list;
    *count = n;
    return MT_OK;
}

int mt_names_numbered(int n, char ***names)
{
    char **list = calloc((size_t)n, sizeof *list);
    if (!list)
        return mt_error(MT_ERR_NOMEM, "class names: out of memory");
    for (int i = 0; i < n; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", i);
        list[i] = strdup(buf);
        if (!list[i]) {
            mt_names_free(list, n);
            return mt_error(MT_ERR_NOMEM, "class names: out of memory");
        }
    }
    *names = list;
    return MT_OK;
}

int mt_names_copy(char **src, int n, char ***names)
{
    char **list = calloc((size_t)n, sizeof *list);
    if (!list)
        return mt_error(MT_ERR_NOMEM, "class names: out of memory");
    for (int i = 0; i < n; i++) {
        list[i] = strdup(src[i]);
        if (!list[i]) {
            mt_names_free(list, n);
            return mt_error(MT_ERR_NOMEM, "class names: out of memory");
        }
    }
    *names = list;
    return MT_OK;
}

int mt_names_write(const char *path, char **names, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", names[i]);
    if (fclose(f) != 0)
        return mt_error(MT_ERR_IO, "%s: write error", path);
    return MT_OK;
}

/* files.h: the few file-system helpers every module repeats: path joining,
 * existence checks and mkdir -p.
 *
 * Errors are statuses with a message naming the path (core/status.h). Not
 * here: reading or writing file formats (each module's own).
 */
#ifndef MT_CORE_FILES_H
#define MT_CORE_FILES_H

#include <stddef.h>

enum { MT_PATH_CAP = 4096 };

/* buf = a "/" b; MT_ERR_ARG when it does not fit. */
int mt_path_join(char *buf, size_t cap, const char *a, const char *b);

/* 1 when path is a regular file (a directory), else 0. */
int mt_is_file(const char *path);
int mt_is_dir(const char *path);

/* mkdir -p: creates path and its missing parents (mode 0777 less the umask);
 * MT_ERR_IO naming the level that could not be made, or a path that exists
 * and is not a directory. */
int mt_mkdirs(const char *path);

#endif

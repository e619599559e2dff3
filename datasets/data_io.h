/* data_io.h: small file helpers shared by the dataset readers and writers
 * (internal to datasets/): paths, existence checks, class-name lists.
 *
 * Not a general file library: just what the format files repeat.
 */
#ifndef MT_DATA_IO_H
#define MT_DATA_IO_H

#include "core/files.h" /* MT_PATH_CAP, paths, existence checks, mkdir -p */

#include <stddef.h>
#include <stdint.h>

/* Size of a regular file in bytes, or a negative status naming the file. */
int64_t mt_file_size(const char *path);

/* Reads one name per non-empty line (trailing blanks and CR stripped) from
 * `path` into a new array. With expect > 0 the file must hold exactly that
 * many names. */
int mt_names_read(const char *path, int expect, char ***names, int *count);

/* Names "0", "1", ... "n-1". */
int mt_names_numbered(int n, char ***names);

/* A copy of `n` names from `src`. */
int mt_names_copy(char **src, int n, char ***names);

/* Writes one name per line. */
int mt_names_write(const char *path, char **names, int n);

void mt_names_free(char **names, int n);

#endif

/* rundir.c: run directory files (see rundir.h). */
#include "trainer/rundir.h"

#include "core/files.h"
#include "core/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mt_rundir_path(char *buf, size_t cap, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
        return mt_error(MT_ERR_ARG, "%s/%s: path too long", dir, name);
    return MT_OK;
}

int mt_rundir_check(const char *dir, int force)
{
    char path[2048];
    int rc = mt_rundir_path(path, sizeof path, dir, "config.json");
    if (rc != MT_OK)
        return rc;
    if (!force && access(path, F_OK) == 0)
        return mt_error(MT_ERR_ARG,
                        "%s already holds a run (config.json): continue it with --resume %s, "
                        "or start over with --force",
                        dir, dir);
    /* The directory, or the nearest level that exists, must take new files. */
    snprintf(path, sizeof path, "%s", dir);
    for (;;) {
        if (access(path, F_OK) == 0) {
            if (!mt_is_dir(path))
                return mt_error(MT_ERR_ARG, "%s: exists and is not a directory", path);
            if (access(path, W_OK | X_OK) != 0)
                return mt_error(MT_ERR_ARG, "%s: cannot write here: %s", path, strerror(errno));
            return MT_OK;
        }
        char *slash = strrchr(path, '/');
        while (slash && slash > path && slash[1] == '\0') { /* trailing slashes */
            *slash = '\0';
            slash = strrchr(path, '/');
        }
        if (!slash) {
            snprintf(path, sizeof path, ".");
        } else if (slash == path) {
            path[1] = '\0'; /* "/" */
        } else {
            *slash = '\0';
        }
    }
}

int mt_rundir_create(const char *dir, int force)
{
    char path[2048];
    int rc = mt_rundir_check(dir, force);
    if (rc != MT_OK)
        return rc;
    rc = mt_mkdirs(dir);
    if (rc != MT_OK)
        return rc;
    if (force) {
        /* A fresh start must not resume from, or report, the old run. */
        const char *old[] = {"checkpoint.bin", "final.json", "log.csv", "steps.csv"};
        for (int i = 0; i < 4; i++)
            if (mt_rundir_path(path, sizeof path, dir, old[i]) == MT_OK)
                unlink(path);
    }
    return MT_OK;
}

int mt_rundir_write_json(const char *dir, const char *name, const json_t *j)
{
    char path[2048], tmp[2100];
    int rc = mt_rundir_path(path, sizeof path, dir, name);
    if (rc != MT_OK)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    errno = 0;
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0) {
        int e = errno;
        unlink(tmp);
        return mt_error(MT_ERR_IO, "%s: cannot write: %s", path, e ? strerror(e) : "write error");
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return mt_error(MT_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    }
    return MT_OK;
}

int mt_rundir_read_json(const char *dir, const char *name, json_t **out)
{
    char path[2048];
    int rc = mt_rundir_path(path, sizeof path, dir, name);
    if (rc != MT_OK)
        return rc;
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) {
        if (access(path, F_OK) != 0)
            return mt_error(MT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return mt_error(MT_ERR_FORMAT, "%s:%d: %s", path, e.line, e.text);
    }
    *out = j;
    return MT_OK;
}

static int open_log(const char *dir, const char *mode, FILE **f)
{
    char path[2048];
    int rc = mt_rundir_path(path, sizeof path, dir, "log.csv");
    if (rc != MT_OK)
        return rc;
    *f = fopen(path, mode);
    if (!*f)
        return mt_error(MT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return MT_OK;
}

/* Closes a file written through f. When a write failed (a full disk), the
 * file is first cut back to `restore` bytes (-1: left as it is), so that no
 * partial row stays behind. */
static int close_written(FILE *f, const char *path, off_t restore)
{
    errno = 0;
    int bad = fflush(f) != 0 || ferror(f);
    int err = errno;
    if (bad && restore >= 0 && ftruncate(fileno(f), restore) != 0)
        err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad)
        return mt_error(MT_ERR_IO, "%s: write failed: %s", path, err ? strerror(err) : "write error");
    return MT_OK;
}

static int close_log(FILE *f, const char *dir, off_t restore)
{
    char path[2048];
    int rc = mt_rundir_path(path, sizeof path, dir, "log.csv");
    int wc = close_written(f, path, restore);
    return rc != MT_OK ? rc : wc;
}

int mt_log_start(const char *dir) { return mt_log_start_ext(dir, ""); }

int mt_log_start_ext(const char *dir, const char *extra_header)
{
    FILE *f;
    int rc = open_log(dir, "w", &f);
    if (rc != MT_OK)
        return rc;
    fprintf(f, "%s%s\n", MT_LOG_HEADER, extra_header);
    return close_log(f, dir, 0);
}

int mt_log_append(const char *dir, const mt_log_row *r) { return mt_log_append_ext(dir, r, ""); }

int mt_log_append_ext(const char *dir, const mt_log_row *r, const char *extra)
{
    FILE *f;
    int rc = open_log(dir, "a", &f);
    if (rc != MT_OK)
        return rc;
    struct stat st;
    off_t before = fstat(fileno(f), &st) == 0 ? st.st_size : -1;
    /* %.9g round-trips a float; losses are means in double, printed to 10
     * digits so a resumed run's rows compare equal as text. */
    fprintf(f, "%d,%lld,%.9g,%.10g,%.6f,", r->epoch, (long long)r->step, r->lr, r->train_loss,
            r->train_acc);
    if (r->evaluated)
        fprintf(f, "%.10g,%.6f,%.6f,", r->eval_loss, r->eval_top1, r->eval_top5);
    else
        fputs(",,,", f);
    fprintf(f, "%.1f,%.3f%s\n", r->images_per_s, r->seconds, extra);
    return close_log(f, dir, before);
}

/* Keeps the header and the rows of dir/name whose first field is <= limit.
 * A missing file is an error unless missing_ok; *empty says it had no header. */
static int csv_keep_rows(const char *dir, const char *name, int64_t limit, int missing_ok,
                         int *empty)
{
    char path[2048];
    int rc = mt_rundir_path(path, sizeof path, dir, name);
    if (rc != MT_OK)
        return rc;
    *empty = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (missing_ok && errno == ENOENT)
            return MT_OK;
        return mt_error(MT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, len = 0;
    char *keep = malloc(cap);
    char line[4096];
    int first = 1;
    while (keep && fgets(line, sizeof line, f)) {
        /* A row is kept whole or not at all: a line cut short (by a kill or
         * a full disk) has no newline or no number before a comma. */
        size_t n = strlen(line);
        long long v = 0;
        char comma = 0;
        if (!first && (n == 0 || line[n - 1] != '\n' || sscanf(line, "%lld%c", &v, &comma) != 2 ||
                       comma != ',' || v > limit))
            continue;
        first = 0;
        if (len + n + 1 > cap) {
            char *k = realloc(keep, cap *= 2);
            if (!k) {
                free(keep);
                keep = NULL;
                break;
            }
            keep = k;
        }
        memcpy(keep + len, line, n);
        len += n;
    }
    fclose(f);
    if (!keep)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    *empty = first;
    if (!first) {
        /* Rewritten aside and renamed over: a full disk leaves the old file. */
        char tmp[2100];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        f = fopen(tmp, "w");
        if (!f)
            rc = mt_error(MT_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        if (f) {
            fwrite(keep, 1, len, f);
            rc = close_written(f, tmp, -1);
        }
        if (rc == MT_OK && rename(tmp, path) != 0)
            rc = mt_error(MT_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        if (rc != MT_OK)
            unlink(tmp);
    }
    free(keep);
    return rc;
}

int mt_log_truncate(const char *dir, int epochs)
{
    int empty;
    int rc = csv_keep_rows(dir, "log.csv", epochs, 0, &empty);
    /* An empty file: write the header. */
    return rc == MT_OK && empty ? mt_log_start(dir) : rc;
}

int mt_csv_truncate(const char *dir, const char *name, int64_t limit)
{
    int empty;
    return csv_keep_rows(dir, name, limit, 1, &empty);
}

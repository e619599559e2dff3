/* csv.c: numeric CSV files read whole (see csv.h). */
#include "sweep/csv.h"

#include "core/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next comma-separated field of *p (NUL-terminated in place). */
static char *next_field(char **p)
{
    char *f = *p, *c = strchr(f, ',');
    if (c) {
        *c = '\0';
        *p = c + 1;
    } else {
        *p = NULL;
    }
    return f;
}

static double number(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

int mt_csv_read(const char *path, mt_csv *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0;
    int rc = MT_OK;
    if (getline(&line, &cap, f) < 1) {
        rc = mt_error(MT_ERR_FORMAT, "%s: no header line", path);
        goto out;
    }
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; p;) {
        char **n = realloc(t->names, (size_t)(t->cols + 1) * sizeof *n);
        char *name = n ? strdup(next_field(&p)) : NULL;
        if (n)
            t->names = n;
        if (!name) {
            rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
        t->names[t->cols++] = name;
    }
    int rows_cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (t->rows == rows_cap) {
            rows_cap = rows_cap ? 2 * rows_cap : 256;
            double *v = realloc(t->values, (size_t)rows_cap * t->cols * sizeof *v);
            if (!v) {
                rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
                goto out;
            }
            t->values = v;
        }
        double *row = t->values + (size_t)t->rows * t->cols;
        char *p = line;
        for (int c = 0; c < t->cols; c++)
            row[c] = p ? number(next_field(&p)) : NAN;
        t->rows++;
    }
out:
    free(line);
    fclose(f);
    if (rc != MT_OK)
        mt_csv_free(t);
    return rc;
}

void mt_csv_free(mt_csv *t)
{
    for (int c = 0; c < t->cols; c++)
        free(t->names[c]);
    free(t->names);
    free(t->values);
    memset(t, 0, sizeof *t);
}

int mt_csv_col(const mt_csv *t, const char *name)
{
    for (int c = 0; c < t->cols; c++)
        if (strcmp(t->names[c], name) == 0)
            return c;
    return -1;
}

int mt_csv_col_ending(const mt_csv *t, const char *suffix)
{
    size_t ls = strlen(suffix);
    for (int c = 0; c < t->cols; c++) {
        size_t ln = strlen(t->names[c]);
        if (ln >= ls && strcmp(t->names[c] + ln - ls, suffix) == 0)
            return c;
    }
    return -1;
}

double mt_csv_at(const mt_csv *t, int row, int col)
{
    return col < 0 ? NAN : t->values[(size_t)row * t->cols + col];
}

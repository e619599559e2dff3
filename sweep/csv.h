/* csv.h: a numeric CSV file read whole, its columns found by header name:
 * the run directory's log.csv and steps.csv as the reports read them.
 *
 * The first line names the columns; every later line is a row. A field that
 * is empty or not a number is NaN (a row without an evaluation has empty
 * evaluation fields). Commas only: mutau's CSV files quote nothing.
 *
 * Not here: writing CSV files (each writer knows its own columns).
 */
#ifndef MT_SWEEP_CSV_H
#define MT_SWEEP_CSV_H

typedef struct {
    int cols, rows;
    char **names;    /* (cols) header names */
    double *values;  /* (rows x cols), row-major */
} mt_csv;

/* Reads path into t. MT_ERR_IO when it cannot be opened; MT_ERR_FORMAT
 * naming the file when it has no header. */
int mt_csv_read(const char *path, mt_csv *t);
void mt_csv_free(mt_csv *t);

/* The column named `name`, or -1. */
int mt_csv_col(const mt_csv *t, const char *name);

/* The first column whose name ends with `suffix` ("_top1"), or -1. */
int mt_csv_col_ending(const mt_csv *t, const char *suffix);

/* The value at (row, col); NaN when col < 0. */
double mt_csv_at(const mt_csv *t, int row, int col);

#endif

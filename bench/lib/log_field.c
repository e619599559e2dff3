/* log_field.c: see log_field.h. */
#include "bench/lib/log_field.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double mt_bench_log_last_field(const char *dir, int col)
{
    char path[512], line[2048], last[2048] = "";
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        snprintf(last, sizeof last, "%s", line);
    fclose(f);
    char *p = last;
    for (int i = 0; i < col && p; i++)
        p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    return p ? strtod(p, NULL) : -1;
}

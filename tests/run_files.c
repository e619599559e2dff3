/* run_files.c: comparing two run directories' files (see run_files.h). */
#include "tests/run_files.h"

#include "tests/tool_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *run_log_columns(const char *dir, const char *keep)
{
    char path[512];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    char *s = file_read_checked(path, NULL);
    char *out = malloc(strlen(s) + 2), *o = out;
    int nkeep = (int)strlen(keep);
    char *save_line;
    for (char *line = strtok_r(s, "\n", &save_line); line;
         line = strtok_r(NULL, "\n", &save_line)) {
        /* strsep keeps empty fields (epochs without evaluation). */
        char *f;
        for (int col = 0; (f = strsep(&line, ",")) && col < nkeep; col++)
            if (keep[col] == '1')
                o += sprintf(o, "%s,", f);
        o += sprintf(o, "\n");
    }
    free(s);
    return out;
}

void run_expect_same_log(const char *a, const char *b, const char *keep)
{
    char *la = run_log_columns(a, keep), *lb = run_log_columns(b, keep);
    ck_assert_msg(strstr(la, "\n1,") != NULL, "%s/log.csv has no epoch 1:\n%s", a, la);
    ck_assert_msg(strcmp(la, lb) == 0, "log.csv of %s and %s differ:\n%s---\n%s", a, b, la, lb);
    free(la);
    free(lb);
}

char *run_ckpt_section(const char *dir, const char *sec, uint64_t *size)
{
    long n;
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    char *f = file_read_checked(path, &n);
    for (long p = 24; p + 32 <= n;) {
        uint64_t sz;
        memcpy(&sz, f + p + 24, 8);
        if (strncmp(f + p, sec, 24) == 0) {
            char *out = malloc(sz ? sz : 1);
            memcpy(out, f + p + 32, sz);
            *size = sz;
            free(f);
            return out;
        }
        p += 32 + (long)sz;
    }
    free(f);
    ck_abort_msg("%s/checkpoint.bin has no section %s", dir, sec);
    return NULL;
}

void run_expect_same_sections(const char *a, const char *b, const char *const *secs)
{
    for (int i = 0; secs[i]; i++) {
        uint64_t na, nb;
        char *sa = run_ckpt_section(a, secs[i], &na), *sb = run_ckpt_section(b, secs[i], &nb);
        ck_assert_msg(na == nb, "%s: %llu bytes in %s, %llu in %s", secs[i],
                      (unsigned long long)na, a, (unsigned long long)nb, b);
        uint64_t first = na;
        for (uint64_t k = 0; k < na && first == na; k++)
            if (sa[k] != sb[k])
                first = k;
        ck_assert_msg(first == na, "%s of %s and %s differ from byte %llu (float %llu)", secs[i],
                      a, b, (unsigned long long)first, (unsigned long long)first / 4);
        free(sa);
        free(sb);
    }
}


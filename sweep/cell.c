/* cell.c: a sweep cell's state, process and record (see cell.h). */
#include "sweep/cell.h"

#include "core/files.h"
#include "core/status.h"
#include "sweep/spawn.h"
#include "trainer/rundir.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int file_exists(const char *dir, const char *name, const char *file)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s/%s", dir, name, file);
    return access(p, F_OK) == 0;
}

enum mt_cell_state mt_cell_state_of(const char *dir, const mt_sweep_result *r)
{
    if (strcmp(r->status, "completed") == 0 || strcmp(r->status, "diverged") == 0)
        return MT_CELL_DONE;
    const char *name = r->cell.name;
    if (!file_exists(dir, name, "config.json"))
        return MT_CELL_FRESH;
    return file_exists(dir, name, "checkpoint.bin") ? MT_CELL_RESUME : MT_CELL_RESTART;
}

void mt_cell_record(const char *dir, const mt_sweep_cell *c, const char *outcome,
                    const char *message, double cpu)
{
    char d[PATH_MAX * 2];
    snprintf(d, sizeof d, "%s/%s", dir, c->name);
    json_t *old = NULL;
    if (file_exists(dir, c->name, "cell.json") && mt_rundir_read_json(d, "cell.json", &old) == MT_OK)
        cpu += json_number_value(json_object_get(old, "cpu_seconds"));
    json_decref(old);
    json_t *j = json_pack("{s:s, s:i, s:o, s:s, s:i, s:I, s:s, s:s, s:f}", "cell", c->name,
                          "workers", c->workers, "momentum",
                          mt_sweep_mu_is_auto(c->momentum) ? json_string("auto")
                                                           : json_real(c->momentum),
                          "method", mt_method_name(c->method), "repeat", c->repeat, "seed",
                          (json_int_t)c->seed, "outcome", outcome, "message",
                          message ? message : "", "cpu_seconds", cpu);
    if (j && mt_rundir_write_json(d, "cell.json", j) != MT_OK)
        fprintf(stderr, "mutau sweep: warning: %s\n", mt_errmsg());
    json_decref(j);
}

void mt_cell_last_line(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && strncmp(line, "Try '", 5) != 0)
            snprintf(buf, cap, "%s", line);
    }
    fclose(f);
}

/* A resumed cell: the run directory holds its settings; only the flags of
 * the invocation are given again. */
static void resume_argv(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *exe,
                        const char *cdir, const char *threads, char **argv)
{
    const char *a[] = {exe, "train", "--resume", cdir, "--threads", threads,
                       "--progress", "plain", NULL, NULL};
    /* The one train flag of the invocation, not of the run, that a resumed
     * cell needs again. */
    if (mt_sweep_cell_oversubscribes(s, c))
        a[8] = "--oversubscribe";
    for (int i = 0; i < s->n_train_args; i++)
        if (strcmp(s->train_args[i], "--oversubscribe") == 0)
            a[8] = "--oversubscribe";
    memcpy(argv, a, sizeof a);
}

int mt_cell_start(const mt_sweep_spec *s, const mt_sweep_cell *c, enum mt_cell_state st,
                  const char *dir, const char *exe, int threads, pid_t *pid)
{
    char cdir[PATH_MAX * 2], log[PATH_MAX * 2 + 16], tbuf[16];
    snprintf(cdir, sizeof cdir, "%s/%s", dir, c->name);
    snprintf(log, sizeof log, "%s/train.out", cdir);
    int rc = mt_mkdirs(cdir);
    if (rc != MT_OK)
        return rc;
    char *argv[MT_CELL_ARGV_CAP];
    char buf[MT_CELL_ARGBUF_CAP];
    if (st == MT_CELL_RESUME) {
        snprintf(tbuf, sizeof tbuf, "%d", threads);
        resume_argv(s, c, exe, cdir, tbuf, argv);
    } else {
        int n = mt_sweep_train_argv(s, c, exe, cdir, threads, argv, MT_CELL_ARGV_CAP - 1, buf,
                                    sizeof buf);
        if (n < 0)
            return n;
        if (st == MT_CELL_RESTART) {
            argv[n++] = "--force";
            argv[n] = NULL;
        }
    }
    mt_cell_record(dir, c, "running", NULL, 0);
    return mt_spawn(pid, argv, log);
}

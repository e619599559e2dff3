/* cell.c: a sweep cell's state, process and record (see cell.h). */
#include "sweep/cell.h"

#include "core/files.h"
#include "core/status.h"
#include "sweep/launcher.h"
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
static int resume_argv(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *exe,
                       const char *cdir, const char *threads, char **argv, int cap)
{
    const char *a[] = {exe, "train", "--resume", cdir, "--progress", "plain", NULL, NULL, NULL,
                       NULL};
    int n = 6;
    if (threads) {
        a[n++] = "--threads";
        a[n++] = threads;
    }
    /* The one train flag of the invocation, not of the run, that a resumed
     * cell needs again. */
    int over = mt_sweep_cell_oversubscribes(s, c);
    for (int i = 0; i < s->n_train_args; i++)
        over |= strcmp(s->train_args[i], "--oversubscribe") == 0;
    if (over)
        a[n++] = "--oversubscribe";
    if (n + 1 > cap)
        return mt_error(MT_ERR_ARG, "sweep: the train command line is too long");
    memcpy(argv, a, sizeof a[0] * (size_t)(n + 1));
    return n;
}

int mt_cell_argv(const mt_sweep_spec *s, const mt_sweep_cell *c, enum mt_cell_state st,
                 const char *exe, const char *cdir, int threads, char **argv, int cap, char *buf,
                 size_t bufcap)
{
    int k = 0;
    size_t used = 0;
    const mt_launcher *l = s->transport[0] ? s->launcher : NULL;
    if (s->transport[0] && !l)
        return mt_error(MT_ERR_ARG, "sweep: the cells run over MPI and need --launcher");
    mt_launch_vars v = {.workers = c->workers, .server_ranks = s->server_ranks,
                        .threads = threads, .cell = c->name};
    for (int i = 0; l && i < l->n; i++) {
        if (k + 2 >= cap)
            return mt_error(MT_ERR_ARG, "sweep: the cell's command line is too long");
        int rc = mt_launcher_word(l, i, &v, buf + used, bufcap - used);
        if (rc != MT_OK)
            return rc;
        argv[k++] = buf + used;
        used += strlen(buf + used) + 1;
    }
    char *tbuf = buf + used;
    int n;
    if (st == MT_CELL_RESUME) {
        if (bufcap - used < 16)
            return mt_error(MT_ERR_ARG, "sweep: the cell's command line is too long");
        snprintf(tbuf, 16, "%d", threads);
        n = resume_argv(s, c, exe, cdir, threads > 0 ? tbuf : NULL, argv + k, cap - k);
    } else {
        n = mt_sweep_train_argv(s, c, exe, cdir, threads, argv + k, cap - k - 1, tbuf,
                                bufcap - used);
        if (n >= 0 && st == MT_CELL_RESTART) {
            argv[k + n++] = "--force";
            argv[k + n] = NULL;
        }
    }
    return n < 0 ? n : k + n;
}

int mt_cell_start(const mt_sweep_spec *s, const mt_sweep_cell *c, enum mt_cell_state st,
                  const char *dir, const char *exe, int threads, pid_t *pid)
{
    char cdir[PATH_MAX * 2], log[PATH_MAX * 2 + 16];
    snprintf(cdir, sizeof cdir, "%s/%s", dir, c->name);
    snprintf(log, sizeof log, "%s/train.out", cdir);
    int rc = mt_mkdirs(cdir);
    if (rc != MT_OK)
        return rc;
    char *argv[MT_CELL_ARGV_CAP];
    char buf[MT_CELL_ARGBUF_CAP];
    int n = mt_cell_argv(s, c, st, exe, cdir, threads, argv, MT_CELL_ARGV_CAP, buf, sizeof buf);
    if (n < 0)
        return n;
    mt_cell_record(dir, c, "running", NULL, 0);
    return mt_spawn(pid, argv, log);
}

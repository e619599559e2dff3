/* conv_choice.c: the remembered direct-or-Winograd choices of training
 * convolutions (in memory and in a small file shared by processes) and the
 * build-time timing of a primitive they are made from. See conv_choice.h.
 *
 * Not here: which passes may use Winograd at all, and the trial itself
 * (nn/conv_prim.c).
 */
#include "nn/conv_choice.h"

#include "core/clock.h"
#include "core/status.h"
#include "nn/net_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    mt_conv_key key;
    int winograd[MT_CONV_PASSES];
    int busy; /* timed while the machine was busy (here or by the file's writer) */
} choice;

/* The process's choices: nets are built in several threads at once. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static choice *table;
static int n_table, cap_table;

/* The record of choices used: what the process's nets were built with,
 * pinned or noted (a run's checkpoint keeps it, nn/conv_record.h). */
typedef struct {
    mt_conv_choice c;
    int pinned;
} used_choice;
static used_choice *used;
static int n_used, cap_used;

static int same_key(const mt_conv_key *a, const mt_conv_key *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static int memory_find(const mt_conv_key *key, int winograd[MT_CONV_PASSES])
{
    for (int i = 0; i < n_table; i++)
        if (same_key(&table[i].key, key)) {
            memcpy(winograd, table[i].winograd, sizeof table[i].winograd);
            return 1;
        }
    return 0;
}

static void memory_add(const mt_conv_key *key, const int winograd[MT_CONV_PASSES], int busy)
{
    if (n_table == cap_table) {
        int cap = cap_table ? 2 * cap_table : 32;
        choice *t = realloc(table, (size_t)cap * sizeof *t);
        if (!t)
            return; /* not remembered: the next net of this shape times again */
        table = t;
        cap_table = cap;
    }
    table[n_table].key = *key;
    memcpy(table[n_table].winograd, winograd, sizeof table[n_table].winograd);
    table[n_table].busy = busy;
    n_table++;
}

static used_choice *used_find(const mt_conv_key *key)
{
    for (int i = 0; i < n_used; i++)
        if (same_key(&used[i].c.key, key))
            return &used[i];
    return NULL;
}

/* Room for `more` further entries in used[]; MT_ERR_NOMEM. */
static int used_reserve(int more)
{
    if (more <= cap_used - n_used)
        return MT_OK;
    if (more > INT_MAX / 2 - n_used)
        return mt_error(MT_ERR_NOMEM, "conv: too many convolution shapes to record");
    int cap = cap_used ? cap_used : 32;
    while (cap - n_used < more)
        cap *= 2;
    used_choice *u = realloc(used, (size_t)cap * sizeof *u);
    if (!u)
        return mt_error(MT_ERR_NOMEM, "conv: out of memory recording a convolution's choice");
    used = u;
    cap_used = cap;
    return MT_OK;
}

/* The cache file's path, or 0 when there is none (MUTAU_CONV_CACHE=off, no
 * home, a path too long); creates the default directories. */
static int cache_path(char *path, size_t size)
{
    const char *env = getenv("MUTAU_CONV_CACHE");
    if (env && *env) {
        size_t n = strlen(env);
        if (strcmp(env, "off") == 0 || n >= size)
            return 0;
        memcpy(path, env, n + 1);
        return 1;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int len;
    if (xdg && *xdg)
        len = snprintf(path, size, "%s", xdg);
    else if (home && *home)
        len = snprintf(path, size, "%s/.cache", home);
    else
        return 0;
    static const char sub[] = "/mutau", file[] = "/conv-algorithms";
    if (len < 0 || (size_t)len + sizeof sub + sizeof file > size)
        return 0;
    mkdir(path, 0755);
    memcpy(path + len, sub, sizeof sub);
    len += (int)sizeof sub - 1;
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return 0;
    memcpy(path + len, file, sizeof file);
    return 1;
}

/* What makes a recorded time valid elsewhere: the kernels oneDNN picks
 * depend on its version and the ISA it runs. */
void mt_conv_choice_machine(int *isa, int v[3])
{
    const dnnl_version_t *ver = dnnl_version();
    *isa = (int)dnnl_get_effective_cpu_isa();
    v[0] = ver->major, v[1] = ver->minor, v[2] = ver->patch;
}

/* Scans the open file for key; 1, winograd[] and busy (the line ends in
 * " busy") set when found. Lines that do not parse (another version's,
 * damaged) are skipped. */
static int file_find(FILE *f, const mt_conv_key *key, int winograd[MT_CONV_PASSES], int *busy)
{
    int isa, v[3];
    mt_conv_choice_machine(&isa, v);
    char line[512];
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        int fi, fv[3];
        mt_conv_key k;
        char a[MT_CONV_PASSES];
        int got = sscanf(line,
                         "isa=%d dnnl=%d.%d.%d threads=%d n=%d ic=%d ih=%d iw=%d oc=%d k=%d "
                         "stride=%d pad=%d bias=%d passes=%d,%d fwd=%c bwd_data=%c bwd_weights=%c",
                         &fi, &fv[0], &fv[1], &fv[2], &k.threads, &k.n, &k.ic, &k.ih, &k.iw,
                         &k.oc, &k.k, &k.stride, &k.pad, &k.bias, &k.bwd_data, &k.bwd_weights,
                         &a[0], &a[1], &a[2]);
        if (got != 19 || fi != isa || memcmp(fv, v, sizeof v) != 0 || !same_key(&k, key))
            continue;
        int ok = 1;
        for (int p = 0; p < MT_CONV_PASSES; p++)
            ok &= a[p] == 'w' || a[p] == 'd';
        if (!ok)
            continue;
        for (int p = 0; p < MT_CONV_PASSES; p++)
            winograd[p] = a[p] == 'w';
        *busy = strstr(line, " busy") != NULL;
        return 1;
    }
    return 0;
}

/* The cache file opened and locked (LOCK_SH or LOCK_EX), or NULL. */
static FILE *file_open(int how)
{
    char path[PATH_MAX];
    if (!cache_path(path, sizeof path))
        return NULL;
    int fd = open(path, how == LOCK_EX ? O_RDWR | O_CREAT | O_APPEND : O_RDONLY, 0644);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, how == LOCK_EX ? "a+" : "r");
    if (!f) {
        close(fd);
        return NULL;
    }
    if (flock(fd, how) != 0) {
        fclose(f);
        return NULL;
    }
    return f;
}

static void file_close(FILE *f)
{
    flock(fileno(f), LOCK_UN);
    fclose(f);
}

int mt_conv_choice_find(const mt_conv_key *key, int winograd[MT_CONV_PASSES])
{
    pthread_mutex_lock(&lock);
    int found = memory_find(key, winograd), busy = 0;
    if (!found) {
        FILE *f = file_open(LOCK_SH);
        if (f) {
            found = file_find(f, key, winograd, &busy);
            file_close(f);
        }
        if (found)
            memory_add(key, winograd, busy);
    }
    pthread_mutex_unlock(&lock);
    return found;
}

void mt_conv_choice_store(const mt_conv_key *key, int winograd[MT_CONV_PASSES],
                          const double ms[MT_CONV_PASSES][2], int busy)
{
    pthread_mutex_lock(&lock);
    int had[MT_CONV_PASSES];
    if (memory_find(key, had)) {
        /* another thread of this process timed it meanwhile: keep its choice */
        memcpy(winograd, had, sizeof had);
        pthread_mutex_unlock(&lock);
        return;
    }
    FILE *f = file_open(LOCK_EX);
    if (f) {
        if (file_find(f, key, winograd, &busy)) {
            /* another process was first: its choice, and how it was made */
        } else {
            fseek(f, 0, SEEK_END); /* from reading to writing */
            int isa, v[3];
            mt_conv_choice_machine(&isa, v);
            const mt_conv_key *k = key;
            fprintf(f,
                    "isa=%d dnnl=%d.%d.%d threads=%d n=%d ic=%d ih=%d iw=%d oc=%d k=%d stride=%d "
                    "pad=%d bias=%d passes=%d,%d fwd=%c bwd_data=%c bwd_weights=%c",
                    isa, v[0], v[1], v[2], k->threads, k->n, k->ic, k->ih, k->iw, k->oc, k->k,
                    k->stride, k->pad, k->bias, k->bwd_data, k->bwd_weights,
                    winograd[0] ? 'w' : 'd',
                    winograd[1] ? 'w' : 'd', winograd[2] ? 'w' : 'd');
            /* the evidence: each pass's best time, direct / Winograd */
            fprintf(f, " ms");
            for (int p = 0; p < MT_CONV_PASSES; p++)
                fprintf(f, "%s%.3f/%.3f", p ? "," : "=", ms[p][0], ms[p][1]);
            fprintf(f, "%s\n", busy ? " busy" : "");
            fflush(f);
        }
        file_close(f);
    }
    memory_add(key, winograd, busy);
    pthread_mutex_unlock(&lock);
}

int mt_conv_choice_busy(char *path, size_t cap)
{
    pthread_mutex_lock(&lock);
    int n = 0;
    for (int i = 0; i < n_table; i++)
        n += table[i].busy;
    pthread_mutex_unlock(&lock);
    if (cap && !cache_path(path, cap))
        snprintf(path, cap, "%s", "");
    return n;
}

int mt_conv_choice_pinned(const mt_conv_key *key, int winograd[MT_CONV_PASSES])
{
    pthread_mutex_lock(&lock);
    const used_choice *u = used_find(key);
    int found = u && u->pinned;
    if (found)
        memcpy(winograd, u->c.winograd, sizeof u->c.winograd);
    pthread_mutex_unlock(&lock);
    return found;
}

int mt_conv_choice_note(const mt_conv_key *key, const int winograd[MT_CONV_PASSES])
{
    int rc = MT_OK;
    pthread_mutex_lock(&lock);
    used_choice *u = used_find(key);
    if (u && !u->pinned)
        memcpy(u->c.winograd, winograd, sizeof u->c.winograd);
    else if (!u && (rc = used_reserve(1)) == MT_OK) {
        u = &used[n_used++];
        u->c.key = *key;
        memcpy(u->c.winograd, winograd, sizeof u->c.winograd);
        u->pinned = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int mt_conv_choice_pin(const mt_conv_choice *c, int n)
{
    pthread_mutex_lock(&lock);
    int rc = n > 0 ? used_reserve(n) : MT_OK;
    for (int i = 0; i < n && rc == MT_OK; i++) {
        used_choice *u = used_find(&c[i].key);
        if (!u)
            u = &used[n_used++];
        u->c = c[i];
        u->pinned = 1;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int mt_conv_key_cmp(const mt_conv_key *a, const mt_conv_key *b)
{
    const int fa[] = {a->threads, a->n, a->ic, a->ih, a->iw, a->oc, a->k, a->stride, a->pad,
                      a->bias, a->bwd_data, a->bwd_weights};
    const int fb[] = {b->threads, b->n, b->ic, b->ih, b->iw, b->oc, b->k, b->stride, b->pad,
                      b->bias, b->bwd_data, b->bwd_weights};
    for (size_t i = 0; i < sizeof fa / sizeof *fa; i++)
        if (fa[i] != fb[i])
            return fa[i] < fb[i] ? -1 : 1;
    return 0;
}

static int choice_cmp(const void *a, const void *b)
{
    return mt_conv_key_cmp(&((const mt_conv_choice *)a)->key, &((const mt_conv_choice *)b)->key);
}

int mt_conv_choice_used(mt_conv_choice **out)
{
    *out = NULL;
    pthread_mutex_lock(&lock);
    int n = n_used;
    mt_conv_choice *c = n ? malloc((size_t)n * sizeof *c) : NULL;
    for (int i = 0; c && i < n; i++)
        c[i] = used[i].c;
    pthread_mutex_unlock(&lock);
    if (n && !c)
        return mt_error(MT_ERR_NOMEM, "conv: out of memory copying the convolutions' choices");
    if (n)
        qsort(c, (size_t)n, sizeof *c, choice_cmp);
    *out = c;
    return n;
}

/* The arguments a convolution or reorder primitive can take. */
static const int ARGS[] = {DNNL_ARG_SRC,          DNNL_ARG_WEIGHTS,   DNNL_ARG_BIAS,
                           DNNL_ARG_DST,          DNNL_ARG_DIFF_SRC,  DNNL_ARG_DIFF_WEIGHTS,
                           DNNL_ARG_DIFF_BIAS,    DNNL_ARG_DIFF_DST,  DNNL_ARG_SCRATCHPAD};
enum { N_ARGS = sizeof ARGS / sizeof *ARGS };

/* A primitive to time with buffers of its own for every argument it names. */
typedef struct {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[N_ARGS];
    void *bufs[N_ARGS];
    int n;
} timed_prim;

static void timed_destroy(timed_prim *t)
{
    for (int i = 0; i < t->n; i++) {
        dnnl_memory_destroy(t->args[i].memory);
        mt_free(t->bufs[i]);
    }
    if (t->prim)
        dnnl_primitive_destroy(t->prim);
    t->n = 0;
    t->prim = NULL;
}

static int timed_create(mt_net *net, const_dnnl_primitive_desc_t pd, timed_prim *t)
{
    t->n = 0;
    if (dnnl_primitive_create(&t->prim, pd) != dnnl_success) {
        t->prim = NULL;
        return mt_error(MT_ERR_LIB, "conv: creating a primitive to time failed");
    }
    for (int i = 0; i < N_ARGS; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md,
                                                                    ARGS[i]);
        if (!md || md->ndims == 0)
            continue;
        void *buf = mt_alloc(dnnl_memory_desc_get_size(md));
        if (!buf)
            return mt_error(MT_ERR_NOMEM, "conv: out of memory timing a primitive");
        t->args[t->n].arg = ARGS[i];
        if (dnnl_memory_create(&t->args[t->n].memory, md, net->eng, buf) != dnnl_success) {
            mt_free(buf);
            return mt_error(MT_ERR_LIB, "conv: oneDNN memory for timing failed");
        }
        t->bufs[t->n++] = buf;
    }
    return MT_OK;
}

/* A run at several threads is clean when every thread's CPU time is at least
 * this share of its wall time. */
#define MT_TRIAL_CLEAN 0.9

/* Each OpenMP thread's own CPU clock into c[thread], for a team of at most
 * `threads`; returns the team's size (smaller inside another parallel region
 * or at the runtime's thread limit, as the primitive's team would be). A
 * thread's clock is exact when the thread reads it; the process's clock is
 * not: it adds the other threads' time only as far as the scheduler last
 * accounted it (at its ticks, 4 ms here), so a 2 ms primitive at two threads
 * reads as 1, 5 or 9 ms of CPU time. */
static int threads_cpu(double *c, int threads)
{
    int team = 1;
#pragma omp parallel num_threads(threads)
    {
        c[omp_get_thread_num()] = mt_thread_cpu_now();
#pragma omp master
        team = omp_get_num_threads();
    }
    return team;
}

/* One run of a timed primitive: its time, and whether it is clean (every
 * thread had a core throughout). With one thread the time is the thread's
 * CPU time, which a wait for the core does not count, so every run is clean.
 * With several, a thread whose core was taken away makes the others wait at
 * the next barrier, so no CPU time is the primitive's own: a run counts only
 * when each thread's CPU time covers nearly all of its wall time (working or
 * spinning at a barrier), and then its time is the wall time. */
static int timed_run(mt_net *net, timed_prim *t, int threads, double *c0, double *c1,
                     double *seconds, int *clean)
{
    int team = 1;
    if (threads == 1)
        c0[0] = mt_thread_cpu_now();
    else
        team = threads_cpu(c0, threads);
    double w0 = mt_now();
    if (dnnl_primitive_execute(t->prim, net->stream, t->n, t->args) != dnnl_success ||
        dnnl_stream_wait(net->stream) != dnnl_success)
        return mt_error(MT_ERR_LIB, "conv: running a primitive to time it failed");
    double wall = mt_now() - w0;
    if (threads == 1) {
        *seconds = mt_thread_cpu_now() - c0[0];
        *clean = 1;
        return MT_OK;
    }
    int after = threads_cpu(c1, threads);
    team = after < team ? after : team;
    double least = INFINITY, sum = 0;
    for (int j = 0; j < team; j++) {
        double cj = c1[j] - c0[j];
        least = cj < least ? cj : least;
        sum += cj;
    }
    *clean = least >= MT_TRIAL_CLEAN * wall;
    *seconds = *clean ? wall : sum / team;
    return MT_OK;
}

int mt_prims_time(mt_net *net, const const_dnnl_primitive_desc_t *pds, int n, int reps,
                  double *seconds, int *busy)
{
    timed_prim t[MT_PRIMS_TIMED_MAX] = {0};
    int rc = n >= 1 && n <= MT_PRIMS_TIMED_MAX
                 ? MT_OK
                 : mt_error(MT_ERR_ARG, "mt_prims_time: %d primitives (1..%d)", n,
                            MT_PRIMS_TIMED_MAX);
    int threads = omp_get_max_threads();
    double *c = rc >= 0 ? malloc(2 * (size_t)threads * sizeof *c) : NULL;
    if (rc >= 0 && !c)
        rc = mt_error(MT_ERR_NOMEM, "conv: out of memory timing a primitive");
    for (int i = 0; i < n && rc >= 0; i++)
        rc = timed_create(net, pds[i], &t[i]);
    /* The candidates take turns, run by run, so that a busy spell of the
     * machine (another process's build, say) slows them alike instead of
     * deciding against whichever was being timed then. Each gets the fastest
     * of its clean runs (timed_run); one with no clean run at all was timed
     * on a busy machine, and gets its fastest run's CPU time per thread,
     * which counts the waits of the threads left without a core. Short runs
     * are repeated more (up to 20 ms of them per candidate, 25 runs), and
     * runs go on while a candidate has no clean one (up to 100 ms of them
     * per candidate, 100 runs). */
    double best[MT_PRIMS_TIMED_MAX], best_busy[MT_PRIMS_TIMED_MAX], spent = 0;
    for (int i = 0; i < n && rc >= 0; i++)
        best[i] = best_busy[i] = INFINITY;
    int unclean = n;
    for (int r = 0; rc >= 0 && (r <= reps || (spent < 0.02 * n && r <= 25) ||
                                (unclean && spent < 0.1 * n && r <= 100));
         r++) {
        unclean = 0;
        for (int i = 0; i < n && rc >= 0; i++) {
            double dt = 0;
            int clean = 0;
            rc = timed_run(net, &t[i], threads, c, c + threads, &dt, &clean);
            spent += dt;
            double *b = clean ? &best[i] : &best_busy[i];
            if (rc >= 0 && r > 0 && dt < *b)
                *b = dt;
            unclean += best[i] == INFINITY;
        }
    }
    *busy = 0;
    for (int i = 0; i < n && rc >= 0; i++) {
        *busy |= best[i] == INFINITY;
        seconds[i] = best[i] < INFINITY ? best[i] : best_busy[i];
    }
    free(c);
    for (int i = 0; i < MT_PRIMS_TIMED_MAX; i++)
        timed_destroy(&t[i]);
    return rc;
}

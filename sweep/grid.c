/* grid.c: the sweep's cells, the argument vector of a cell's `mutau train`,
 * and sweep.json (see grid.h). */
#include "sweep/grid.h"

#include "core/status.h"
#include "trainer/rundir.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_sweep_spec_init(mt_sweep_spec *s)
{
    memset(s, 0, sizeof *s);
    s->n_methods = 1;
    s->methods[0] = MT_METHOD_MSGD;
    s->repeats = 1;
    s->seed = 1;
    s->delay = -1;
    s->server_ranks = 1;
}

void mt_sweep_spec_free(mt_sweep_spec *s)
{
    for (int i = 0; i < s->n_train_args; i++)
        free(s->train_args[i]);
    s->n_train_args = 0;
}

int mt_sweep_spec_add_arg(mt_sweep_spec *s, const char *arg)
{
    if (s->n_train_args == MT_SWEEP_MAX_ARGS)
        return mt_error(MT_ERR_ARG, "sweep: more than %d train flags", MT_SWEEP_MAX_ARGS);
    char *copy = strdup(arg);
    if (!copy)
        return mt_error(MT_ERR_NOMEM, "sweep: out of memory");
    s->train_args[s->n_train_args++] = copy;
    return MT_OK;
}

const char *mt_sweep_mode(const mt_sweep_spec *s)
{
    return s->mode[0] ? s->mode : "async";
}

int mt_sweep_uses_ps(const mt_sweep_spec *s)
{
    if (s->mode[0] || s->delay >= 0 || s->transport[0])
        return 1;
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i] != 1)
            return 1;
    return 0;
}

int mt_sweep_cell_oversubscribes(const mt_sweep_spec *s, const mt_sweep_cell *c)
{
    return mt_sweep_uses_ps(s) && c->workers > 1 && strcmp(s->mode, "delay") != 0 &&
           !s->transport[0];
}

int mt_sweep_stop_signal(const mt_sweep_spec *s) { return s->transport[0] ? SIGUSR1 : SIGTERM; }

int mt_sweep_cell_count(const mt_sweep_spec *s)
{
    return s->n_workers * s->n_momentum * s->n_methods * s->repeats;
}

int mt_sweep_mu_is_auto(double mu)
{
    return mu == MT_SWEEP_MU_AUTO;
}

void mt_sweep_format_mu(char *buf, size_t cap, double mu)
{
    if (mt_sweep_mu_is_auto(mu))
        snprintf(buf, cap, "auto");
    else
        snprintf(buf, cap, "%g", mu);
}

void mt_sweep_cell_at(const mt_sweep_spec *s, int index, mt_sweep_cell *c)
{
    int nq = s->n_methods, per_repeat = s->n_workers * s->n_momentum * nq;
    int r = index / per_repeat, rest = index % per_repeat;
    c->index = index;
    c->workers = s->workers[rest / (s->n_momentum * nq)];
    c->momentum = s->momentum[rest / nq % s->n_momentum];
    c->method = s->methods[rest % nq];
    c->repeat = r + 1;
    c->seed = s->seed + (uint64_t)r;
    mt_sweep_cell_name(c);
}

void mt_sweep_cell_name(mt_sweep_cell *c)
{
    char mu[32];
    mt_sweep_format_mu(mu, sizeof mu, c->momentum);
    if (c->method == MT_METHOD_MSGD)
        snprintf(c->name, sizeof c->name, "w%d_mu%s_r%d", c->workers, mu, c->repeat);
    else
        snprintf(c->name, sizeof c->name, "w%d_mu%s_%s_r%d", c->workers, mu,
                 mt_method_name(c->method), c->repeat);
}

/* Over MPI: async or sync, and the server ranks among the train flags. */
static int check_transport(mt_sweep_spec *s)
{
    s->server_ranks = 1;
    const char *given = NULL;
    for (int i = 0; i < s->n_train_args; i++) {
        const char *a = s->train_args[i];
        if (strncmp(a, "--transport", 11) == 0 && (!a[11] || a[11] == '='))
            return mt_error(MT_ERR_ARG, "--transport: the sweep sets it (--launcher TEMPLATE runs "
                                        "each cell over MPI)");
        if (strncmp(a, "--server-ranks=", 15) == 0)
            given = a + 15;
        else if (strcmp(a, "--server-ranks") == 0 && i + 1 < s->n_train_args)
            given = s->train_args[i + 1];
    }
    if (s->transport[0] && strcmp(s->transport, "mpi") != 0)
        return mt_error(MT_ERR_ARG, "transport: expected mpi, got '%s'", s->transport);
    if (!s->transport[0])
        return given ? mt_error(MT_ERR_ARG, "--server-ranks: only with --launcher (cells over MPI)")
                     : MT_OK;
    if (strcmp(s->mode, "delay") == 0 || s->delay >= 0)
        return mt_error(MT_ERR_ARG, "--launcher: delay mode simulates staleness in one process; "
                                    "over MPI the modes are async and sync (--mode)");
    if (given) {
        char *end;
        long v = strtol(given, &end, 10);
        if (!given[0] || *end || v < 1 || v > 4096)
            return mt_error(MT_ERR_ARG, "--server-ranks: expected an integer in [1, 4096], got "
                                        "'%s'",
                            given);
        s->server_ranks = (int)v;
    }
    return MT_OK;
}

int mt_sweep_spec_check(const mt_sweep_spec *s)
{
    if (s->n_workers < 1)
        return mt_error(MT_ERR_ARG, "--workers: no worker counts");
    if (s->n_momentum < 1)
        return mt_error(MT_ERR_ARG, "--momentum: no momentum values");
    if (s->repeats < 1 || s->repeats > MT_SWEEP_MAX_REPEATS)
        return mt_error(MT_ERR_ARG, "--repeats: %d, expected 1..%d", s->repeats, MT_SWEEP_MAX_REPEATS);
    for (int i = 0; i < s->n_workers; i++) {
        if (s->workers[i] < 1 || s->workers[i] > MT_SWEEP_MAX_WORKERS)
            return mt_error(MT_ERR_ARG, "--workers: %d, expected 1..%d", s->workers[i],
                            MT_SWEEP_MAX_WORKERS);
        for (int j = 0; j < i; j++)
            if (s->workers[j] == s->workers[i])
                return mt_error(MT_ERR_ARG, "--workers: %d is listed twice", s->workers[i]);
    }
    for (int i = 0; i < s->n_momentum; i++) {
        if (!(s->momentum[i] >= 0 && s->momentum[i] < 1) && !mt_sweep_mu_is_auto(s->momentum[i]))
            return mt_error(MT_ERR_ARG, "--momentum: %g is not in [0, 1)", s->momentum[i]);
        char a[32], b[32];
        mt_sweep_format_mu(a, sizeof a, s->momentum[i]);
        for (int j = 0; j < i; j++) {
            mt_sweep_format_mu(b, sizeof b, s->momentum[j]);
            if (strcmp(a, b) == 0)
                return mt_error(MT_ERR_ARG, "--momentum: %s is listed twice", a);
        }
    }
    if (s->n_methods < 1 || s->n_methods > MT_METHOD_COUNT)
        return mt_error(MT_ERR_ARG, "--method: expected 1 to %d methods, got %d", MT_METHOD_COUNT,
                        s->n_methods);
    for (int i = 0; i < s->n_methods; i++) {
        if ((int)s->methods[i] < 0 || s->methods[i] >= MT_METHOD_COUNT)
            return mt_error(MT_ERR_ARG, "--method: unknown method %d", (int)s->methods[i]);
        for (int j = 0; j < i; j++)
            if (s->methods[j] == s->methods[i])
                return mt_error(MT_ERR_ARG, "--method: %s is listed twice",
                                mt_method_name(s->methods[i]));
        if (s->methods[i] == MT_METHOD_DANA && strcmp(s->mode, "sync") == 0)
            return mt_error(MT_ERR_ARG,
                            "--method: dana is not defined in sync mode (one averaged step has "
                            "no worker)");
    }
    if (s->mode[0] && strcmp(s->mode, "async") && strcmp(s->mode, "sync") &&
        strcmp(s->mode, "delay"))
        return mt_error(MT_ERR_ARG, "--mode: expected async|sync|delay, got '%s'", s->mode);
    if (s->delay >= 0 && s->mode[0] && strcmp(s->mode, "delay"))
        return mt_error(MT_ERR_ARG, "--delay: only with --mode delay (the mode is %s)", s->mode);
    return check_transport((mt_sweep_spec *)s);
}

/* Appends one string to the argument vector, copying it into buf. */
typedef struct {
    char **argv;
    int n, cap;
    char *buf;
    size_t used, buf_cap;
} argv_builder;

static int push_ref(argv_builder *b, char *s)
{
    if (b->n + 1 >= b->cap)
        return mt_error(MT_ERR_ARG, "sweep: too many train arguments (at most %d)", b->cap - 1);
    b->argv[b->n++] = s;
    b->argv[b->n] = NULL;
    return MT_OK;
}

static int push_fmt(argv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int push_fmt(argv_builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(b->buf + b->used, b->buf_cap - b->used, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len + 1 > b->buf_cap - b->used)
        return mt_error(MT_ERR_ARG, "sweep: the train command line is too long");
    char *s = b->buf + b->used;
    b->used += (size_t)len + 1;
    return push_ref(b, s);
}

int mt_sweep_train_argv(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *exe,
                        const char *dir, int threads, char **argv, int argv_cap, char *buf,
                        size_t cap)
{
    argv_builder b = {argv, 0, argv_cap, buf, 0, cap};
    int rc = push_fmt(&b, "%s", exe);
    if (rc == MT_OK)
        rc = push_fmt(&b, "train");
    for (int i = 0; rc == MT_OK && i < s->n_train_args; i++)
        rc = push_ref(&b, s->train_args[i]);
    if (rc == MT_OK && mt_sweep_uses_ps(s)) {
        /* Over MPI the workers are the ranks after the server ranks. */
        rc = push_fmt(&b, s->transport[0] ? "--transport" : "--workers");
        if (rc == MT_OK && s->transport[0])
            rc = push_fmt(&b, "%s", s->transport);
        else if (rc == MT_OK)
            rc = push_fmt(&b, "%d", c->workers);
        if (rc == MT_OK && s->mode[0])
            rc = push_fmt(&b, "--mode");
        if (rc == MT_OK && s->mode[0])
            rc = push_fmt(&b, "%s", s->mode);
        /* W computing threads: the sweep has budgeted J x W x T against the
         * cores (and said so when it exceeds them), so the cell may too. */
        if (rc == MT_OK && mt_sweep_cell_oversubscribes(s, c))
            rc = push_fmt(&b, "--oversubscribe");
        /* Delay mode without a delay: W - 1, the staleness of W equal workers
         * served in turn, so that the worker axis is the staleness axis. */
        long delay = s->delay >= 0 ? s->delay
                     : strcmp(s->mode, "delay") == 0 ? c->workers - 1 : -1;
        if (rc == MT_OK && delay >= 0)
            rc = push_fmt(&b, "--delay");
        if (rc == MT_OK && delay >= 0)
            rc = push_fmt(&b, "%ld", delay);
    }
    /* msgd is train's default: a cell of it has the command line of sweeps
     * made before the method axis. */
    if (rc == MT_OK && c->method != MT_METHOD_MSGD)
        rc = push_fmt(&b, "--method");
    if (rc == MT_OK && c->method != MT_METHOD_MSGD)
        rc = push_fmt(&b, "%s", mt_method_name(c->method));
    /* The shortest text that reads back as exactly the grid's momentum. */
    char mu[32];
    snprintf(mu, sizeof mu, "%.15g", c->momentum);
    if (strtod(mu, NULL) != c->momentum)
        snprintf(mu, sizeof mu, "%.17g", c->momentum);
    if (mt_sweep_mu_is_auto(c->momentum))
        snprintf(mu, sizeof mu, "auto");
    if (rc == MT_OK)
        rc = push_fmt(&b, "--momentum");
    if (rc == MT_OK)
        rc = push_fmt(&b, "%s", mu);
    if (rc == MT_OK)
        rc = push_fmt(&b, "--seed");
    if (rc == MT_OK)
        rc = push_fmt(&b, "%" PRIu64, c->seed);
    if (rc == MT_OK && threads > 0)
        rc = push_fmt(&b, "--threads");
    if (rc == MT_OK && threads > 0)
        rc = push_fmt(&b, "%d", threads);
    if (rc == MT_OK)
        rc = push_fmt(&b, "--progress");
    if (rc == MT_OK)
        rc = push_fmt(&b, "plain");
    if (rc == MT_OK)
        rc = push_fmt(&b, "--out");
    if (rc == MT_OK)
        rc = push_fmt(&b, "%s", dir);
    return rc == MT_OK ? b.n : rc;
}

/* ---- sweep.json ---------------------------------------------------------- */

json_t *mt_sweep_spec_to_json(const mt_sweep_spec *s)
{
    json_t *w = json_array(), *m = json_array(), *q = json_array(), *a = json_array();
    for (int i = 0; i < s->n_workers; i++)
        json_array_append_new(w, json_integer(s->workers[i]));
    for (int i = 0; i < s->n_momentum; i++)
        json_array_append_new(m, mt_sweep_mu_is_auto(s->momentum[i])
                                     ? json_string("auto")
                                     : json_real(s->momentum[i]));
    for (int i = 0; i < s->n_methods; i++)
        json_array_append_new(q, json_string(mt_method_name(s->methods[i])));
    for (int i = 0; i < s->n_train_args; i++)
        json_array_append_new(a, json_string(s->train_args[i]));
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, s->seed);
    json_t *j = json_pack("{s:i, s:s, s:o, s:o, s:o, s:i, s:s, s:s, s:I, s:o}", "format", 1,
                          "preset", s->preset, "workers", w, "momentum", m, "methods", q,
                          "repeats", s->repeats, "seed", seed, "mode", s->mode, "delay",
                          (json_int_t)s->delay, "train_flags", a);
    /* Only over MPI: sweeps made before the key read back as threads. */
    if (j && s->transport[0])
        json_object_set_new(j, "transport", json_string(s->transport));
    return j;
}

/* sweep.json's "methods" (absent in sweeps made before the method axis: msgd). */
static int methods_from_json(mt_sweep_spec *s, const json_t *q, const char *where)
{
    if (!q)
        return MT_OK;
    if (!json_is_array(q) || json_array_size(q) < 1 || json_array_size(q) > MT_METHOD_COUNT)
        return mt_error(MT_ERR_FORMAT, "%s: methods: expected a list of 1 to %d names", where,
                        MT_METHOD_COUNT);
    s->n_methods = (int)json_array_size(q);
    for (int i = 0; i < s->n_methods; i++) {
        const char *name = json_string_value(json_array_get(q, (size_t)i));
        if (!name || mt_method_parse(name, &s->methods[i]) != MT_OK)
            return mt_error(MT_ERR_FORMAT, "%s: methods[%d]: expected msgd, staleness-lr, "
                                           "dc-asgd or dana",
                            where, i);
    }
    return MT_OK;
}

int mt_sweep_spec_from_json(mt_sweep_spec *s, const json_t *j, const char *where)
{
    mt_sweep_spec_init(s);
    const json_t *w = json_object_get(j, "workers"), *m = json_object_get(j, "momentum"),
                 *a = json_object_get(j, "train_flags");
    const char *seed = json_string_value(json_object_get(j, "seed"));
    const char *mode = json_string_value(json_object_get(j, "mode"));
    const char *preset = json_string_value(json_object_get(j, "preset"));
    const char *transport = json_string_value(json_object_get(j, "transport"));
    if (!json_is_array(w) || !json_is_array(m) || !json_is_array(a) || !seed || !mode ||
        !json_is_integer(json_object_get(j, "repeats")) ||
        !json_is_integer(json_object_get(j, "delay")))
        return mt_error(MT_ERR_FORMAT,
                        "%s: expected workers, momentum, repeats, seed, mode, delay and "
                        "train_flags",
                        where);
    if (json_array_size(w) > MT_SWEEP_MAX_AXIS || json_array_size(m) > MT_SWEEP_MAX_AXIS)
        return mt_error(MT_ERR_FORMAT, "%s: more than %d values on an axis", where,
                        MT_SWEEP_MAX_AXIS);
    s->n_workers = (int)json_array_size(w);
    for (int i = 0; i < s->n_workers; i++) {
        if (!json_is_integer(json_array_get(w, (size_t)i)))
            return mt_error(MT_ERR_FORMAT, "%s: workers[%d] is not an integer", where, i);
        json_int_t x = json_integer_value(json_array_get(w, (size_t)i));
        if (x < 1 || x > MT_SWEEP_MAX_WORKERS)
            return mt_error(MT_ERR_FORMAT, "%s: workers[%d] is %lld, expected 1..%d", where, i,
                            (long long)x, MT_SWEEP_MAX_WORKERS);
        s->workers[i] = (int)x;
    }
    s->n_momentum = (int)json_array_size(m);
    for (int i = 0; i < s->n_momentum; i++) {
        const json_t *v = json_array_get(m, (size_t)i);
        const char *text = json_string_value(v);
        if (text && strcmp(text, "auto") == 0)
            s->momentum[i] = MT_SWEEP_MU_AUTO;
        else if (json_is_number(v))
            s->momentum[i] = json_number_value(v);
        else
            return mt_error(MT_ERR_FORMAT, "%s: momentum[%d] is neither a number nor \"auto\"",
                            where, i);
    }
    int rc = methods_from_json(s, json_object_get(j, "methods"), where);
    if (rc != MT_OK)
        return rc;
    json_int_t repeats = json_integer_value(json_object_get(j, "repeats"));
    json_int_t delay = json_integer_value(json_object_get(j, "delay"));
    if (repeats < 1 || repeats > MT_SWEEP_MAX_REPEATS)
        return mt_error(MT_ERR_FORMAT, "%s: repeats is %lld, expected 1..%d", where,
                        (long long)repeats, MT_SWEEP_MAX_REPEATS);
    if (delay < -1 || delay > MT_SWEEP_MAX_DELAY)
        return mt_error(MT_ERR_FORMAT, "%s: delay is %lld, expected -1 (none) or 0..%d", where,
                        (long long)delay, MT_SWEEP_MAX_DELAY);
    s->repeats = (int)repeats;
    s->delay = (long)delay;
    char *end;
    s->seed = strtoull(seed, &end, 10);
    if (!seed[0] || *end)
        return mt_error(MT_ERR_FORMAT, "%s: seed '%s' is not an integer", where, seed);
    snprintf(s->mode, sizeof s->mode, "%s", mode);
    snprintf(s->preset, sizeof s->preset, "%s", preset ? preset : "");
    snprintf(s->transport, sizeof s->transport, "%s", transport ? transport : "");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));
        if (!v)
            return mt_error(MT_ERR_FORMAT, "%s: train_flags[%zu] is not a string", where, i);
        rc = mt_sweep_spec_add_arg(s, v);
        if (rc != MT_OK)
            return rc;
    }
    rc = mt_sweep_spec_check(s);
    return rc == MT_OK ? MT_OK : mt_error_context(MT_ERR_FORMAT, "%s", where);
}

void mt_sweep_format_ints(char *buf, size_t cap, const int *v, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%d", i ? "," : "", v[i]);
}

void mt_sweep_format_momenta(char *buf, size_t cap, const double *v, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < cap; i++) {
        char mu[32];
        mt_sweep_format_mu(mu, sizeof mu, v[i]);
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "," : "", mu);
    }
}

void mt_sweep_format_methods(char *buf, size_t cap, const mt_method_kind *v, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "," : "",
                                 mt_method_name(v[i]));
}

void mt_sweep_format_args(char *buf, size_t cap, char *const *v, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    if (n == 0)
        snprintf(buf, cap, "(none)");
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? " " : "", v[i]);
}

int mt_sweep_spec_compare(const mt_sweep_spec *r, const mt_sweep_spec *g)
{
    char a[2048], b[2048];
    int same = r->n_workers == g->n_workers;
    for (int i = 0; same && i < r->n_workers; i++)
        same = r->workers[i] == g->workers[i];
    if (!same) {
        mt_sweep_format_ints(a, sizeof a, r->workers, r->n_workers);
        mt_sweep_format_ints(b, sizeof b, g->workers, g->n_workers);
        return mt_error(MT_ERR_ARG, "--workers: the sweep has %s, the command gives %s", a, b);
    }
    same = r->n_momentum == g->n_momentum;
    for (int i = 0; same && i < r->n_momentum; i++)
        same = r->momentum[i] == g->momentum[i];
    if (!same) {
        mt_sweep_format_momenta(a, sizeof a, r->momentum, r->n_momentum);
        mt_sweep_format_momenta(b, sizeof b, g->momentum, g->n_momentum);
        return mt_error(MT_ERR_ARG, "--momentum: the sweep has %s, the command gives %s", a, b);
    }
    same = r->n_methods == g->n_methods;
    for (int i = 0; same && i < r->n_methods; i++)
        same = r->methods[i] == g->methods[i];
    if (!same) {
        mt_sweep_format_methods(a, sizeof a, r->methods, r->n_methods);
        mt_sweep_format_methods(b, sizeof b, g->methods, g->n_methods);
        return mt_error(MT_ERR_ARG, "--method: the sweep has %s, the command gives %s", a, b);
    }
    if (r->repeats != g->repeats)
        return mt_error(MT_ERR_ARG, "--repeats: the sweep has %d, the command gives %d",
                        r->repeats, g->repeats);
    if (r->seed != g->seed)
        return mt_error(MT_ERR_ARG, "--seed: the sweep has %" PRIu64 ", the command gives %" PRIu64,
                        r->seed, g->seed);
    if (strcmp(r->mode, g->mode))
        return mt_error(MT_ERR_ARG, "--mode: the sweep has %s, the command gives %s",
                        r->mode[0] ? r->mode : "(none)", g->mode[0] ? g->mode : "(none)");
    if (r->delay != g->delay)
        return mt_error(MT_ERR_ARG, "--delay: the sweep has %ld, the command gives %ld", r->delay,
                        g->delay);
    if (strcmp(r->transport, g->transport))
        return mt_error(MT_ERR_ARG, "--launcher: the sweep ran its cells %s, the command %s",
                        r->transport[0] ? "over MPI (--launcher)" : "in one process each",
                        g->transport[0] ? "gives --launcher" : "gives no --launcher");
    if (strcmp(r->preset, g->preset))
        return mt_error(MT_ERR_ARG, "--preset: the sweep has %s, the command gives %s",
                        r->preset[0] ? r->preset : "(none)", g->preset[0] ? g->preset : "(none)");
    same = r->n_train_args == g->n_train_args;
    for (int i = 0; same && i < r->n_train_args; i++)
        same = strcmp(r->train_args[i], g->train_args[i]) == 0;
    if (!same) {
        mt_sweep_format_args(a, sizeof a, r->train_args, r->n_train_args);
        mt_sweep_format_args(b, sizeof b, g->train_args, g->n_train_args);
        return mt_error(MT_ERR_ARG, "train flags: the sweep has '%s', the command gives '%s'", a, b);
    }
    return MT_OK;
}

int mt_sweep_spec_save(const char *dir, const mt_sweep_spec *s)
{
    json_t *j = mt_sweep_spec_to_json(s);
    if (!j)
        return mt_error(MT_ERR_NOMEM, "sweep.json: cannot build");
    int rc = mt_rundir_write_json(dir, "sweep.json", j);
    json_decref(j);
    return rc;
}

int mt_sweep_spec_load(const char *dir, mt_sweep_spec *s)
{
    json_t *j;
    mt_sweep_spec_init(s);
    int rc = mt_rundir_read_json(dir, "sweep.json", &j);
    if (rc != MT_OK)
        return rc;
    char where[4096];
    snprintf(where, sizeof where, "%s/sweep.json", dir);
    rc = mt_sweep_spec_from_json(s, j, where);
    json_decref(j);
    if (rc != MT_OK)
        mt_sweep_spec_free(s);
    return rc;
}

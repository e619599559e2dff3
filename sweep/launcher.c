/* launcher.c: a sweep's launcher template, split and expanded (see launcher.h). */
#include "sweep/launcher.h"

#include "core/status.h"

#include <stdio.h>
#include <string.h>

static const char *const NAMES[] = {"ranks", "workers", "server_ranks", "threads", "cell", NULL};
enum { P_RANKS, P_WORKERS, P_SERVER_RANKS, P_THREADS, P_CELL };

/* The placeholder `{name}` at s (s[0] == '{', not "{{"): its index, or -1;
 * *len gets its length with the braces (0: no closing brace). */
static int placeholder_at(const char *s, size_t *len)
{
    const char *close = strchr(s, '}');
    *len = close ? (size_t)(close - s) + 1 : 0;
    if (!close)
        return -1;
    for (int k = 0; NAMES[k]; k++)
        if (strlen(NAMES[k]) == *len - 2 && strncmp(s + 1, NAMES[k], *len - 2) == 0)
            return k;
    return -1;
}

/* Checks the placeholders of one word; sets *has_ranks / l->uses_threads. */
static int check_word(mt_launcher *l, const char *w, int *has_ranks)
{
    for (const char *p = w; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
            continue;
        }
        if (*p == '}')
            return mt_error(MT_ERR_ARG, "--launcher: a lone } in '%s' (a literal } is }})", w);
        if (*p != '{')
            continue;
        size_t len;
        int k = placeholder_at(p, &len);
        if (len == 0)
            return mt_error(MT_ERR_ARG, "--launcher: a { without its } in '%s' (a literal { is {{)",
                            w);
        if (k < 0)
            return mt_error(MT_ERR_ARG,
                            "--launcher: unknown placeholder %.*s in '%s' (known: {ranks}, "
                            "{workers}, {server_ranks}, {threads}, {cell})",
                            (int)len, p, w);
        *has_ranks |= k == P_RANKS;
        l->uses_threads |= k == P_THREADS;
        p += len - 1;
    }
    return MT_OK;
}

int mt_launcher_parse(mt_launcher *l, const char *tmpl)
{
    memset(l, 0, sizeof *l);
    size_t used = 0;
    const char *p = tmpl;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (l->n == MT_LAUNCHER_MAX_WORDS)
            return mt_error(MT_ERR_ARG, "--launcher: more than %d words", MT_LAUNCHER_MAX_WORDS);
        char *w = l->text + used;
        char quote = 0;
        /* One word: up to an unquoted blank. */
        for (; *p && (quote || (*p != ' ' && *p != '\t')); p++) {
            char ch = *p;
            if (quote == '\'' && ch == '\'') {
                quote = 0;
                continue;
            }
            if (quote == '"' && ch == '"') {
                quote = 0;
                continue;
            }
            if (!quote && (ch == '\'' || ch == '"')) {
                quote = ch;
                continue;
            }
            if (ch == '\\' && quote != '\'' && p[1] &&
                (!quote || p[1] == '"' || p[1] == '\\'))
                ch = *++p;
            if (used + 2 >= sizeof l->text)
                return mt_error(MT_ERR_ARG, "--launcher: longer than %d characters",
                                MT_LAUNCHER_TEXT_CAP - 2);
            l->text[used++] = ch;
        }
        if (quote)
            return mt_error(MT_ERR_ARG, "--launcher: the %s quote opened in '%s' is not closed",
                            quote == '\'' ? "single" : "double", tmpl);
        l->text[used++] = '\0';
        l->words[l->n++] = w;
    }
    if (l->n == 0)
        return mt_error(MT_ERR_ARG, "--launcher: empty (e.g. --launcher 'mpirun -np {ranks}')");
    int has_ranks = 0;
    for (int i = 0; i < l->n; i++) {
        int rc = check_word(l, l->words[i], &has_ranks);
        if (rc != MT_OK)
            return rc;
    }
    if (!has_ranks)
        return mt_error(MT_ERR_ARG,
                        "--launcher: no {ranks} in '%s' (each cell's world size is its workers + "
                        "server ranks, e.g. 'mpirun -np {ranks}')",
                        tmpl);
    return MT_OK;
}

int mt_launcher_word(const mt_launcher *l, int i, const mt_launch_vars *v, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = l->words[i]; *p; p++) {
        char val[256];
        const char *add = val;
        size_t len = 1;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            val[0] = *p++;
            val[1] = '\0';
        } else if (*p == '{') {
            switch (placeholder_at(p, &len)) {
            case P_RANKS: snprintf(val, sizeof val, "%d", v->workers + v->server_ranks); break;
            case P_WORKERS: snprintf(val, sizeof val, "%d", v->workers); break;
            case P_SERVER_RANKS: snprintf(val, sizeof val, "%d", v->server_ranks); break;
            case P_THREADS:
                if (v->threads <= 0)
                    return mt_error(MT_ERR_ARG, "--launcher: {threads} needs the sweep's "
                                                "--threads");
                snprintf(val, sizeof val, "%d", v->threads);
                break;
            default: add = v->cell; break; /* parse checked: {cell} */
            }
            p += len - 1;
        } else {
            val[0] = *p;
            val[1] = '\0';
        }
        size_t k = strlen(add);
        if (n + k + 1 > cap)
            return mt_error(MT_ERR_ARG, "--launcher: word %d is too long once expanded", i + 1);
        memcpy(out + n, add, k);
        n += k;
    }
    out[n] = '\0';
    return MT_OK;
}

/* launcher.h: `mutau sweep --launcher TEMPLATE`: the command that starts a
 * cell's ranks, e.g. 'mpirun -np {ranks} --hostfile hosts'. The cell's own
 * `mutau train --transport mpi ...` follows the template's words.
 *
 * No shell is involved: the template is split into words here, once, and a
 * cell's words are handed to execv. The rules are a small, fixed part of the
 * shell's:
 *   - words are separated by spaces and tabs;
 *   - '...' keeps everything inside as it is; "..." too, except that \" and
 *     \\ stand for " and \; outside quotes a backslash keeps the next
 *     character as it is; quotes only group, they do not stop placeholders;
 *   - placeholders, anywhere in a word: {ranks} (the cell's workers + server
 *     ranks: its world size), {workers}, {server_ranks}, {threads} (--threads
 *     of the sweep; refused when the sweep has none) and {cell} (the cell's
 *     name, e.g. w4_mu0.7_r2); {{ and }} are a literal { and };
 *   - nothing else is special: $VAR, ~, *, |, > and ; are passed on
 *     literally (a wrapper script is the place for a shell).
 * A template must hold {ranks}: every cell's world size differs.
 *
 * Not here: the cell's train flags (sweep/grid.h), running it (sweep/cell.h).
 */
#ifndef MT_SWEEP_LAUNCHER_H
#define MT_SWEEP_LAUNCHER_H

#include <stddef.h>

enum { MT_LAUNCHER_MAX_WORDS = 64, MT_LAUNCHER_TEXT_CAP = 4096 };

typedef struct mt_launcher {
    int n;                                /* words */
    char *words[MT_LAUNCHER_MAX_WORDS];   /* into text, placeholders unexpanded */
    char text[MT_LAUNCHER_TEXT_CAP];      /* the words, NUL-separated */
    int uses_threads;                     /* some word holds {threads} */
} mt_launcher;

/* What a cell's placeholders stand for. */
typedef struct {
    int workers, server_ranks;
    int threads;      /* 0: none given */
    const char *cell; /* the cell's name */
} mt_launch_vars;

/* Splits `tmpl` into words and checks every placeholder. MT_ERR_ARG with a
 * message starting "--launcher: " for an empty template, an unclosed quote,
 * an unknown placeholder or a template without {ranks}. */
int mt_launcher_parse(mt_launcher *l, const char *tmpl);

/* Word i with its placeholders replaced, into out (cap bytes); MT_ERR_ARG
 * when it does not fit or {threads} has no value. */
int mt_launcher_word(const mt_launcher *l, int i, const mt_launch_vars *v, char *out, size_t cap);

#endif

/* mutau.c: the `mutau` command: finds the subcommand and hands it the rest of
 * the arguments.
 *
 * Subcommands are declared weak so that each is linked in by the presence of
 * its tools/cmd_NAME.c; the table below lists only those that exist.
 */
#include "tools/cli.h"
#include "tools/commands.h"

#include <stdio.h>
#include <string.h>

#pragma weak cmd_train
#pragma weak cmd_sweep
#pragma weak cmd_report
#pragma weak cmd_pca
#pragma weak cmd_data
#pragma weak cmd_bench
#pragma weak cmd_info
#pragma weak cmd_version

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"train", cmd_train, "train a network (one process; --workers for the parameter server)"},
    {"sweep", cmd_sweep, "sweep momentum per worker count, one run directory per cell"},
    {"report", cmd_report, "tables and figures of a sweep, or the curves of one run"},
    {"pca", cmd_pca, "the streaming-PCA experiment: momentum vs delay (the paper's Figure 1)"},
    {"data", cmd_data, "fetch, inspect and synthesise datasets"},
    {"bench", cmd_bench, "measure training speed on this machine"},
    {"info", cmd_info, "print versions, threads and the libraries' kernels"},
    {"version", cmd_version, "print mutau's version and revision, oneDNN's and OpenBLAS's"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *out)
{
    fprintf(out, "usage: mutau COMMAND [-h | --help] [ARGS]\n"
                 "       mutau --version\n\n"
                 "Asynchronous momentum SGD: how momentum (mu) and staleness (tau) trade off.\n\n"
                 "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        if (commands[i].run)
            fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'mutau COMMAND --help' describes each command's flags.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 && cmd_version)
        return cmd_version(argc - 1, argv + 1);
    for (int i = 0; i < N_COMMANDS; i++)
        if (commands[i].run && strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mutau: unknown command '%s' (see mutau --help)\n", argv[1]);
    return EXIT_USAGE;
}

/* cmd_version.c: `mutau version` (also `mutau --version`): what this mutau
 * is, in three lines: its version and source revision, and the versions of
 * the two libraries that do the arithmetic. `mutau info` says more.
 */
#include "core/version.h"
#include "tools/cli.h"
#include "tools/commands.h"

#include <stdio.h>
#include <string.h>

static const char *const CMD = "version";

int cmd_version(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    if (cli_check_flags(CMD, argc, argv, "h", opts))
        return EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: mutau version   (or mutau --version)\n\n"
                   "Prints mutau's version and source revision (git describe at build time),\n"
                   "and the oneDNN and OpenBLAS it runs on. mutau info says more.\n\n"
                   "  -h, --help   this help\n");
            return EXIT_OK;
        }
        cli_error(CMD, "unexpected argument '%s' (see mutau version --help)", argv[i]);
        return EXIT_USAGE;
    }
    printf("mutau %s (revision %s)\n", mt_version(), mt_source_revision());
    printf("oneDNN %s\n", mt_dnnl_version());
    printf("%s (kernel %s)\n", mt_openblas_config(), mt_openblas_corename());
    return EXIT_OK;
}

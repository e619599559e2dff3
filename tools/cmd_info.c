/* cmd_info.c: `mutau info`: what this mutau is built on and how it will run
 * here: versions, the OpenBLAS kernel and build, oneDNN's runtime and ISA,
 * thread counts. For bug reports and for reading benchmark numbers.
 */
#include "core/version.h"
#include "tools/cli.h"
#include "tools/commands.h"

#include <getopt.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cblas.h>

static const char *const CMD = "info";

static void usage(FILE *out)
{
    fprintf(out, "usage: mutau info [--help]\n\n"
                 "Prints mutau's version and source revision, the compiler, oneDNN's version,\n"
                 "runtime and instruction set, OpenBLAS's build and the kernel it chose (which\n"
                 "OPENBLAS_CORETYPE can force), and the thread counts OpenMP will use.\n\n"
                 "  -h, --help   this help\n\n"
                 "exit status: 0, or 2 for an unknown flag\n");
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "SSE4.1";
    case dnnl_cpu_isa_avx: return "AVX";
    case dnnl_cpu_isa_avx2: return "AVX2";
    case dnnl_cpu_isa_avx512_mic: return "AVX-512 (MIC)";
    case dnnl_cpu_isa_avx512_core: return "AVX-512";
    case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 VNNI";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX-512 BF16";
    case dnnl_cpu_isa_avx512_core_amx: return "AVX-512 AMX";
    default: return "all available";
    }
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    if (cli_check_flags(CMD, argc, argv, "h", opts))
        return EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        return cli_bad_option(CMD);
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s' (try --help)", argv[optind]);
        return EXIT_USAGE;
    }
    const dnnl_version_t *v = dnnl_version();
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    const char *omp = getenv("OMP_NUM_THREADS");
    printf("mutau          %s (revision %s), built with %s\n", mt_version(),
           mt_source_revision(), mt_compiler());
    printf("oneDNN         %d.%d.%d (%s), CPU runtime %s, ISA %s\n", v->major, v->minor,
           v->patch, v->hash ? v->hash : "?",
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "not OpenMP",
           isa_name(dnnl_get_effective_cpu_isa()));
    int par = openblas_get_parallel();
    printf("OpenBLAS       kernel %s; %s\n", openblas_get_corename(), openblas_get_config());
    printf("               threading %s\n",
           par == 2   ? "OpenMP (shares oneDNN's runtime)"
           : par == 1 ? "pthreads (competes with oneDNN's OpenMP threads)"
                      : "none");
    printf("               OPENBLAS_CORETYPE=%s\n", coretype ? coretype : "(unset: chosen by CPU)");
    printf("threads        %ld cores online; OpenMP will use %d per calling thread (OMP_NUM_THREADS=%s)\n",
           sysconf(_SC_NPROCESSORS_ONLN), omp_get_max_threads(), omp ? omp : "(unset)");
    return EXIT_OK;
}

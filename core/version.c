/* version.c: build and library versions (see version.h). */
#include "core/version.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>

#ifndef MUTAU_REVISION
#define MUTAU_REVISION "unknown"
#endif

const char *mt_version(void) { return MUTAU_VERSION; }

const char *mt_source_revision(void) { return MUTAU_REVISION; }

const char *mt_dnnl_version(void)
{
    static _Thread_local char buf[96];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d (%s)", v->major, v->minor, v->patch,
             v->hash ? v->hash : "?");
    return buf;
}

const char *mt_openblas_config(void) { return openblas_get_config(); }

const char *mt_openblas_corename(void) { return openblas_get_corename(); }

const char *mt_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

/* version.h: what built this mutau: its version, the source revision and the
 * libraries underneath, for config.json and `mutau info`.
 *
 * The revision is `git describe --always --dirty` at build time; the Makefile
 * rebuilds core/version.o whenever it changes. Not a feature-detection API.
 */
#ifndef MT_VERSION_H
#define MT_VERSION_H

#define MUTAU_VERSION "0.1.0"

const char *mt_version(void);
/* "unknown" when built outside a git checkout. */
const char *mt_source_revision(void);
/* oneDNN's version at run time, "2.6.3 (hash)". */
const char *mt_dnnl_version(void);
/* OpenBLAS's build configuration and the kernel core it chose at run time. */
const char *mt_openblas_config(void);
const char *mt_openblas_corename(void);
/* The compiler that built mutau. */
const char *mt_compiler(void);

#endif

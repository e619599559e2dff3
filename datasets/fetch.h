/* fetch.h: downloading the official CIFAR archives.
 *
 * curl (run as a child process) downloads the archive into a hidden
 * temporary file next to the target, its MD5 is checked against the
 * published one, tar unpacks it into a hidden temporary folder, the result
 * must load as a dataset, and only then is it renamed into place as
 * DIR/cifar-100-binary or DIR/cifar-10-batches-bin. A failed, corrupt or
 * interrupted download therefore never leaves a half-written dataset under
 * the final name.
 *
 * One fetch at a time per DIR: the whole fetch holds an exclusive flock(2) on
 * DIR/.fetch.lock (removed again at the end). A second fetch into the same
 * DIR does not wait: it fails at once with MT_ERR_IO saying another fetch
 * holds the folder. Holding the lock, a fetch removes the hidden .fetch-*
 * temporaries that a fetch killed outright (SIGKILL, power loss) left behind:
 * no live fetch can own them. curl and tar inherit the lock, so the children
 * of a killed fetch keep the folder until they end too.
 *
 * A stop request (SIGINT or SIGTERM while core/signals.h's handlers are
 * installed, as `mutau data fetch` does) is passed on to curl or tar, the
 * temporaries are removed and MT_ERR_INTERRUPTED is returned.
 *
 * Where the archive comes from can be overridden for mirrors and tests:
 * opt->url, else $MUTAU_CIFAR100_URL / $MUTAU_CIFAR10_URL, else the official
 * address; likewise the checksum: opt->md5, else $MUTAU_CIFAR100_MD5 /
 * $MUTAU_CIFAR10_MD5, else the published one.
 *
 * Not here: reading the data (dataset.h).
 */
#ifndef MT_FETCH_H
#define MT_FETCH_H

#include <stddef.h>

#define MT_CIFAR100_URL "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
#define MT_CIFAR100_MD5 "03b5dce01913d631647c71ecec9e9cb8"
#define MT_CIFAR10_URL "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
#define MT_CIFAR10_MD5 "c32a1d4ab5d03f1284b67883e8d87530"

typedef struct {
    const char *url; /* NULL: environment, else official */
    const char *md5; /* NULL: environment, else official (32 hex digits) */
    int quiet;       /* no progress output from curl */
    int force;       /* replace a dataset already in place */
    /* Called with one line for each leftover temporary removed (or that could
     * not be removed); NULL: nothing is reported. */
    void (*notice)(void *ctx, const char *line);
    void *notice_ctx;
} mt_fetch_options;

/* Fetches `name` ("cifar100" or "cifar10") into `dir` (created if needed).
 * On success the dataset's folder is written to out (cap bytes) and
 * *already is 1 when it was there before and nothing was downloaded. */
int mt_fetch(const char *name, const char *dir, const mt_fetch_options *opt, char *out,
             size_t cap, int *already);

#endif

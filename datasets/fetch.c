/* fetch.c: lock, sweep leftovers, download, verify, unpack, validate, rename
 * (see fetch.h). */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include "datasets/fetch.h"

#include "core/signals.h"
#include "core/status.h"
#include "datasets/data_io.h"
#include "datasets/dataset.h"
#include "datasets/md5.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* 0, or -1 with errno of the first entry that could not be removed. */
static int remove_tree(const char *path)
{
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

static void notice(const mt_fetch_options *opt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(const mt_fetch_options *opt, const char *fmt, ...)
{
    if (!opt->notice)
        return;
    char line[MT_PATH_CAP + 200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    opt->notice(opt->notice_ctx, line);
}

/* ---- the folder lock ----------------------------------------------------- */

#define LOCK_NAME ".fetch.lock"
#define TEMP_PREFIX ".fetch-" /* the temporaries below: .fetch-archive-*, .fetch-unpack-* */

/* Takes the exclusive lock on DIR/.fetch.lock without waiting: *fd >= 0 when
 * held. When the lock file cannot be created because DIR is not writable,
 * *fd is -1 and MT_OK is returned (a dataset already in place can still be
 * checked; downloading needs the lock). Another holder is MT_ERR_IO.
 *
 * The file is unlinked by its holder at the end, so a lock taken on a file
 * that was unlinked meanwhile is worthless: the path is checked to still be
 * the locked file, else taken again.
 *
 * No O_CLOEXEC, on purpose: curl and tar inherit the descriptor, so when this
 * process is killed outright its children hold the lock until they end, and
 * no later fetch removes temporaries they are still writing. */
static int lock_dir(const char *dir, int *fd)
{
    *fd = -1;
    char path[MT_PATH_CAP];
    int rc = mt_path_join(path, sizeof path, dir, LOCK_NAME);
    if (rc)
        return rc;
    for (int attempt = 0; attempt < 100; attempt++) {
        /* Read-only is enough for flock, and opens a lock file left by another user. */
        int f = open(path, O_RDONLY | O_CREAT, 0644);
        if (f < 0) {
            if (errno == EACCES || errno == EROFS || errno == EPERM)
                return MT_OK;
            return mt_error(MT_ERR_IO, "%s: cannot create the lock file: %s", path,
                            strerror(errno));
        }
        int r;
        while ((r = flock(f, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
            ;
        if (r != 0) {
            int e = errno;
            close(f);
            if (e == EWOULDBLOCK)
                return mt_error(MT_ERR_IO,
                                "%s: another fetch holds this folder (%s); run again when it "
                                "has finished",
                                dir, path);
            return mt_error(MT_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
        }
        struct stat held, now;
        if (fstat(f, &held) == 0 && stat(path, &now) == 0 && held.st_dev == now.st_dev &&
            held.st_ino == now.st_ino) {
            *fd = f;
            return MT_OK;
        }
        close(f); /* the previous holder removed it after we opened it: again */
    }
    return mt_error(MT_ERR_IO, "%s: the lock file keeps changing under this fetch", path);
}

/* Removes the lock file, then releases the lock (see lock_dir). */
static void unlock_dir(const char *dir, int fd)
{
    if (fd < 0)
        return;
    char path[MT_PATH_CAP];
    if (mt_path_join(path, sizeof path, dir, LOCK_NAME) == MT_OK)
        unlink(path);
    close(fd);
}

/* Removes DIR's .fetch-* entries, which the lock says no running fetch
 * owns: they are what a fetch killed outright left behind. Each is reported
 * through opt->notice; one that cannot be removed is reported and left (it
 * does not stop this fetch, whose own temporaries have fresh names). */
static int sweep_leftovers(const char *dir, const mt_fetch_options *opt)
{
    DIR *d = opendir(dir);
    if (!d)
        return mt_error(MT_ERR_IO, "%s: cannot read directory: %s", dir, strerror(errno));
    /* Names first, removal after: no removing under a running readdir. */
    char **names = NULL;
    int n = 0, cap = 0, rc = MT_OK;
    struct dirent *e;
    while ((e = readdir(d)) && !rc) {
        if (strncmp(e->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            char **grown = realloc(names, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name)))
            rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", dir);
        else
            n++;
    }
    closedir(d);
    for (int i = 0; i < n && !rc; i++) {
        char path[MT_PATH_CAP];
        struct stat st;
        if ((rc = mt_path_join(path, sizeof path, dir, names[i])) || lstat(path, &st) != 0)
            continue;
        int folder = S_ISDIR(st.st_mode);
        int gone = (folder ? remove_tree(path) : unlink(path)) == 0;
        int err = errno;
        if (!gone)
            notice(opt, "cannot remove %s, left behind by an earlier fetch: %s", path,
                   strerror(err));
        else
            notice(opt, "removed %s%s, left behind by an earlier fetch that was killed", path,
                   folder ? "/" : "");
    }
    mt_names_free(names, n);
    return rc;
}

static int interrupted(void)
{
    int sig = mt_signals_pending();
    if (!sig)
        return MT_OK;
    return mt_error(MT_ERR_INTERRUPTED, "fetch: stopped by %s; nothing was left behind",
                    mt_signal_name(sig));
}

/* Runs argv[0] from PATH and waits; MT_ERR_IO naming the tool when it fails.
 * A stop request (core/signals.h: SIGINT, SIGTERM), which a signal sent to
 * this process alone would not pass on, is forwarded to the child, so the
 * caller can clean up at once. */
static int run(char *const argv[], const char *what)
{
    posix_spawnattr_t attr;
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (err)
        return mt_error(MT_ERR_IO, "%s: cannot run %s: %s", what, argv[0], strerror(err));
    int status, forwarded = 0;
    for (;;) {
        /* Polling (20 Hz) rather than blocking: a signal that lands between
         * the spawn and a blocking wait would otherwise go unnoticed. */
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return mt_error(MT_ERR_IO, "%s: waiting for %s: %s", what, argv[0], strerror(errno));
        if (mt_signals_pending() && !forwarded) {
            kill(pid, SIGTERM);
            forwarded = 1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (forwarded || mt_signals_pending())
        return interrupted();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return MT_OK;
    if (WIFEXITED(status))
        return mt_error(MT_ERR_IO, "%s: %s failed with exit code %d", what, argv[0],
                        WEXITSTATUS(status));
    return mt_error(MT_ERR_IO, "%s: %s killed by signal %d", what, argv[0], WTERMSIG(status));
}

static int valid_md5(const char *s)
{
    if (strlen(s) != 32)
        return 0;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static const char *pick(const char *given, const char *env_name, const char *official)
{
    if (given && *given)
        return given;
    const char *env = getenv(env_name);
    return env && *env ? env : official;
}

/* Everything below works on these, so every exit path can clean up. */
struct job {
    char archive[MT_PATH_CAP]; /* hidden temporary download */
    char unpack[MT_PATH_CAP];  /* hidden temporary folder */
    char final[MT_PATH_CAP];
    int have_archive, have_unpack;
};

static void job_cleanup(struct job *j)
{
    if (j->have_archive)
        unlink(j->archive);
    if (j->have_unpack)
        remove_tree(j->unpack);
}

static int download(struct job *j, const char *dir, const char *url, const char *md5, int quiet)
{
    if (mt_path_join(j->archive, sizeof j->archive, dir, ".fetch-archive-XXXXXX"))
        return MT_ERR_ARG;
    int fd = mkstemp(j->archive);
    if (fd < 0)
        return mt_error(MT_ERR_IO, "%s: cannot create a temporary file: %s", dir, strerror(errno));
    close(fd);
    j->have_archive = 1;
    char *curl[] = {"curl", "--fail", "--location", "--retry", "2", quiet ? "--silent" : "--progress-bar",
                    "--show-error", "--output", j->archive, (char *)url, NULL};
    int rc = run(curl, url);
    if (rc)
        return rc;
    char got[33];
    if ((rc = interrupted()) || (rc = mt_md5_file(j->archive, got)))
        return rc;
    if (strcasecmp(got, md5) != 0)
        return mt_error(MT_ERR_FORMAT,
                        "%s: MD5 %s, expected %s: the download is corrupt or incomplete", url, got,
                        md5);
    return MT_OK;
}

static int unpack(struct job *j, const char *dir, const char *inner, const char *url)
{
    if (mt_path_join(j->unpack, sizeof j->unpack, dir, ".fetch-unpack-XXXXXX"))
        return MT_ERR_ARG;
    if (!mkdtemp(j->unpack))
        return mt_error(MT_ERR_IO, "%s: cannot create a temporary folder: %s", dir, strerror(errno));
    j->have_unpack = 1;
    char *tar[] = {"tar", "-xzf", j->archive, "-C", j->unpack, NULL};
    int rc = run(tar, url);
    if (rc)
        return rc;
    char path[MT_PATH_CAP];
    if ((rc = mt_path_join(path, sizeof path, j->unpack, inner)))
        return rc;
    if (!mt_is_dir(path))
        return mt_error(MT_ERR_FORMAT, "%s: the archive does not hold %s/", url, inner);
    mt_dataset ds;
    if ((rc = mt_dataset_open(&ds, path, NULL)))
        return mt_error_context(rc, "%s: the archive's data does not load", url);
    mt_dataset_free(&ds);
    return interrupted();
}

int mt_fetch(const char *name, const char *dir, const mt_fetch_options *opt, char *out,
             size_t cap, int *already)
{
    static const mt_fetch_options none = {0};
    if (!opt)
        opt = &none;
    *already = 0;
    int c100 = strcmp(name, "cifar100") == 0;
    if (!c100 && strcmp(name, "cifar10") != 0)
        return mt_error(MT_ERR_ARG, "fetch: unknown dataset '%s' (cifar100 or cifar10)", name);
    const char *inner = c100 ? "cifar-100-binary" : "cifar-10-batches-bin";
    const char *url = pick(opt->url, c100 ? "MUTAU_CIFAR100_URL" : "MUTAU_CIFAR10_URL",
                           c100 ? MT_CIFAR100_URL : MT_CIFAR10_URL);
    const char *md5 = pick(opt->md5, c100 ? "MUTAU_CIFAR100_MD5" : "MUTAU_CIFAR10_MD5",
                           c100 ? MT_CIFAR100_MD5 : MT_CIFAR10_MD5);
    if (!valid_md5(md5))
        return mt_error(MT_ERR_ARG, "fetch: MD5 '%s' is not 32 hex digits", md5);
    struct job j = {.have_archive = 0};
    int lock = -1;
    int rc = mt_mkdirs(dir);
    if (!rc)
        rc = mt_path_join(j.final, sizeof j.final, dir, inner);
    if (!rc)
        rc = lock_dir(dir, &lock);
    if (!rc && lock >= 0)
        rc = sweep_leftovers(dir, opt);
    if (rc) {
        unlock_dir(dir, lock);
        return rc;
    }
    if (mt_is_dir(j.final) && !opt->force) {
        mt_dataset ds;
        rc = mt_dataset_open(&ds, j.final, NULL);
        unlock_dir(dir, lock);
        if (rc)
            return mt_error_context(rc, "%s exists but does not load (--force replaces it)",
                                    j.final);
        mt_dataset_free(&ds);
        *already = 1;
        snprintf(out, cap, "%s", j.final);
        return MT_OK;
    }
    if (lock < 0)
        return mt_error(MT_ERR_IO, "%s: not writable: cannot create %s in it", dir, LOCK_NAME);
    if (!(rc = download(&j, dir, url, md5, opt->quiet)) && !(rc = unpack(&j, dir, inner, url))) {
        char from[MT_PATH_CAP];
        if (!(rc = mt_path_join(from, sizeof from, j.unpack, inner))) {
            if (mt_is_dir(j.final))
                remove_tree(j.final); /* --force: the new copy is complete, replace */
            if (rename(from, j.final) != 0)
                rc = mt_error(MT_ERR_IO, "%s: cannot move into place: %s", j.final,
                              strerror(errno));
        }
    }
    job_cleanup(&j);
    unlock_dir(dir, lock);
    if (!rc)
        snprintf(out, cap, "%s", j.final);
    return rc;
}

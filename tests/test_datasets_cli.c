/* test_datasets_cli.c: `mutau data` end to end: synth, info (with the note
 * about skipped non-image files), and fetch from a local archive in the exact
 * official layout (file:// URL, MD5 override), including corrupt, mislaid and
 * interrupted downloads, which must leave no dataset and no temporaries
 * behind, the folder lock, and the leftovers of fetches killed outright.
 * Needs $MUTAU (set by `make test`).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include "core/clock.h"
#include "datasets/dataset.h"
#include "datasets/md5.h"
#include "tests/check_main.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmp[512];
static char out[1 << 16];

static const char *mutau(void)
{
    const char *m = getenv("MUTAU");
    return m && *m && access(m, X_OK) == 0 ? m : NULL;
}

#define NEED_MUTAU()                                                                      \
    do {                                                                                  \
        if (!mutau()) {                                                                   \
            printf("SKIPPED %s: $MUTAU does not name the built tool (run 'make test')\n", \
                   __func__);                                                             \
            return;                                                                       \
        }                                                                                 \
    } while (0)

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/mutau-data-cli-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void) { nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Runs a shell command line (stdout and stderr into `out`); returns its exit code. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char line[8192], cmd[8300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Braces: the redirection covers every command of a compound line. */
    snprintf(cmd, sizeof cmd, "{ %s\n} 2>&1", line);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define EXPECT_OUT(s) ck_assert_msg(strstr(out, s) != NULL, "output lacks '%s':\n%s", s, out)

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Nothing but `keep` (or nothing at all) in dir: no dataset, no temporaries,
 * no lock file. */
static void expect_only(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!keep || strcmp(e->d_name, keep)))
            ck_abort_msg("%s holds '%s' after a failed fetch", dir, e->d_name);
    closedir(d);
}

/* A synthetic CIFAR archive in the official layout; its MD5 into md5. */
static void make_archive(const char *which, const char *archive, char md5[33])
{
    const char *inner = strcmp(which, "cifar100") == 0 ? "cifar-100-binary" : "cifar-10-batches-bin";
    ck_assert_int_eq(sh("'%s' data synth %s/src/%s --format %s --train 120 --test 30", mutau(), tmp,
                        inner, which),
                     0);
    ck_assert_int_eq(sh("tar -czf %s/%s -C %s/src %s", tmp, archive, tmp, inner), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp, archive);
    ck_assert_int_eq(mt_md5_file(path, md5), 0);
}

START_TEST(synth_then_info)
{
    NEED_MUTAU();
    ck_assert_int_eq(sh("'%s' data synth %s/c10 --format cifar10 --train 50 --test 20", mutau(), tmp), 0);
    ck_assert_int_eq(sh("'%s' data info %s/c10 --val-size 10 --seed 4", mutau(), tmp), 0);
    EXPECT_OUT("format   cifar10");
    EXPECT_OUT("images   3x32x32");
    EXPECT_OUT("train    40 images");
    EXPECT_OUT("val      10 images");
    EXPECT_OUT("test     20 images");
    EXPECT_OUT("mean R0.");
    EXPECT_OUT("class_009");
    ck_assert_int_eq(sh("'%s' data synth %s/f --format folder --classes 3 --size 12x10 --channels 1 "
                        "--train 9 --test 3 --image bmp",
                        mutau(), tmp),
                     0);
    ck_assert_int_eq(sh("'%s' data info %s/f", mutau(), tmp), 0);
    EXPECT_OUT("format   folder");
    EXPECT_OUT("images   3x12x10"); /* BMP is stored as colour */
    ck_assert_int_eq(sh("'%s' data synth %s/i --format idx --size 9x9 --plain --train 20 --test 5",
                        mutau(), tmp),
                     0);
    ck_assert_int_eq(sh("test -f %s/i/train-images-idx3-ubyte", tmp), 0);
    ck_assert_int_eq(sh("'%s' data info %s/i", mutau(), tmp), 0);
    EXPECT_OUT("images   1x9x9");
}
END_TEST

START_TEST(info_notes_skipped_non_image_files)
{
    NEED_MUTAU();
    ck_assert_int_eq(sh("'%s' data synth %s/f --format folder --classes 2 --size 6x6 --train 4 "
                        "--test 2",
                        mutau(), tmp),
                     0);
    ck_assert_int_eq(sh("echo notes > %s/f/train/class_001/README.txt && echo x > "
                        "%s/f/train/class_000/Thumbs.db && echo y > %s/f/test/class_001/a.txt",
                        tmp, tmp, tmp),
                     0);
    /* The notes go to stderr, one line per split; stdout is the report. */
    ck_assert_int_eq(sh("'%s' data info %s/f 2>&1 >/dev/null", mutau(), tmp), 0);
    ck_assert_str_eq(out, "mutau data: warning: skipped 2 non-image files (e.g. "
                          "train/class_000/Thumbs.db)\n"
                          "mutau data: warning: skipped 1 non-image file (test/class_001/a.txt)\n");
    ck_assert_int_eq(sh("'%s' data info %s/f 2>/dev/null", mutau(), tmp), 0);
    EXPECT_OUT("train    4 images");
    EXPECT_OUT("test     2 images");
    /* mutau train says the same before it starts. */
    ck_assert_int_eq(sh("'%s' train --data %s/f --model resnet8 --epochs 1 --batch 2 --out %s/run "
                        "--progress quiet 2>&1 >/dev/null",
                        mutau(), tmp, tmp),
                     0);
    EXPECT_OUT("mutau train: warning: skipped 2 non-image files (e.g. train/class_000/Thumbs.db)\n"
               "mutau train: warning: skipped 1 non-image file (test/class_001/a.txt)\n");
    /* A file named as an image that does not decode: exit 2 naming it. */
    ck_assert_int_eq(sh("echo garbage > %s/f/train/class_001/b.Png", tmp), 0);
    ck_assert_int_eq(sh("'%s' data info %s/f", mutau(), tmp), 2);
    EXPECT_OUT("f/train/class_001/b.Png: ");
    ck_assert_int_eq(lines(out), 1);
}
END_TEST

START_TEST(bad_input_exits_2_with_one_line)
{
    NEED_MUTAU();
    static const char *const cases[][2] = {
        {"data info %s/missing", "no such directory"},
        {"data synth %s/x", "--format is required"},
        {"data synth %s/x --format jpeg", "--format: expected one of"},
        {"data synth %s/x --format cifar10 --classes 4", "fixed by the CIFAR formats"},
        {"data synth %s/x --format idx --train -3", "--train"},
        {"data fetch cifar1000 --dir %s", "unknown dataset 'cifar1000'"},
        {"data fetch cifar10 --dir %s --md5 123", "not 32 hex digits"},
        {"data nonsense %s", "unknown action"},
        {"data info %s --no-such-flag", "mutau data info: unknown flag --no-such-flag"},
        {"data info %s --val-siz 3", "unknown flag --val-siz; did you mean --val-size?"},
        {"data fetch cifar10 --dir %s --quiet", "unknown flag --quiet"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char fmt[256];
        snprintf(fmt, sizeof fmt, "'%%s' %s", cases[i][0]);
        int rc = sh(fmt, mutau(), tmp);
        ck_assert_msg(rc == 2, "'%s' exited %d:\n%s", cases[i][0], rc, out);
        EXPECT_OUT(cases[i][1]);
    }
    /* A malformed dataset: one line naming the file. */
    ck_assert_int_eq(sh("'%s' data synth %s/c --format cifar100 --train 100 --test 10", mutau(), tmp), 0);
    /* A hold-out larger than the training split: the message names the flag. */
    ck_assert_int_eq(sh("'%s' data info %s/c --val-size 1000", mutau(), tmp), 2);
    EXPECT_OUT("mutau data info: --val-size 1000: 1000 images requested from a training split of 100");
    ck_assert_int_eq(lines(out), 1);
    ck_assert_int_eq(sh("truncate -s 1000 %s/c/test.bin", tmp), 0);
    ck_assert_int_eq(sh("'%s' data info %s/c", mutau(), tmp), 2);
    EXPECT_OUT("test.bin: size 1000 bytes is not a whole number of 3074-byte records");
    ck_assert_int_eq(lines(out), 1);
    ck_assert_int_eq(sh("'%s' data --help", mutau()), 0);
    EXPECT_OUT("fetch cifar100|cifar10");
    ck_assert_int_eq(sh("'%s' data fetch --help", mutau()), 0);
    EXPECT_OUT("--url");
    EXPECT_OUT("--md5");
    EXPECT_OUT("MUTAU_CIFAR10_MD5");
}
END_TEST

/* The fetched data equals the archive's source, byte for byte. */
static void expect_same_as_source(const char *fetched, const char *inner)
{
    ck_assert_int_eq(sh("diff -r %s/src/%s %s", tmp, inner, fetched), 0);
}

START_TEST(fetch_from_a_local_archive)
{
    NEED_MUTAU();
    char md5[33], dir[1024];
    make_archive("cifar100", "c100.tar.gz", md5);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz --md5 %s --progress quiet",
                        mutau(), dir, tmp, md5),
                     0);
    EXPECT_OUT("fetched and verified");
    expect_only(dir, "cifar-100-binary"); /* no temporaries left */
    char fetched[1100];
    snprintf(fetched, sizeof fetched, "%s/cifar-100-binary", dir);
    expect_same_as_source(fetched, "cifar-100-binary");
    mt_dataset ds;
    ck_assert_int_eq(mt_dataset_open(&ds, dir, NULL), 0);
    ck_assert_int_eq(ds.format, MT_FORMAT_CIFAR100);
    ck_assert_int_eq(ds.train.n, 120);
    mt_dataset_free(&ds);
    /* A second fetch finds it in place and downloads nothing. */
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/nowhere.tar.gz --progress quiet",
                        mutau(), dir, tmp),
                     0);
    EXPECT_OUT("already present");
    /* --force downloads again and replaces it. */
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz --md5 %s "
                        "--progress quiet --force",
                        mutau(), dir, tmp, md5),
                     0);
    EXPECT_OUT("fetched and verified");
    expect_only(dir, "cifar-100-binary");
    /* CIFAR-10 through the environment overrides, into $MUTAU_DATA. */
    make_archive("cifar10", "c10.tar.gz", md5);
    ck_assert_int_eq(sh("MUTAU_DATA=%s/env MUTAU_CIFAR10_URL=file://%s/c10.tar.gz MUTAU_CIFAR10_MD5=%s "
                        "'%s' data fetch cifar10 --progress quiet",
                        tmp, tmp, md5, mutau()),
                     0);
    snprintf(fetched, sizeof fetched, "%s/env/cifar-10-batches-bin", tmp);
    expect_same_as_source(fetched, "cifar-10-batches-bin");
}
END_TEST

START_TEST(failed_fetches_leave_nothing_behind)
{
    NEED_MUTAU();
    char md5[33], dir[1024];
    make_archive("cifar100", "c100.tar.gz", md5);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    /* The published checksum does not match a synthetic archive: corrupt. */
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz --progress quiet",
                        mutau(), dir, tmp),
                     2);
    EXPECT_OUT("expected 03b5dce01913d631647c71ecec9e9cb8");
    EXPECT_OUT("corrupt or incomplete");
    ck_assert_int_eq(lines(out), 1);
    expect_only(dir, NULL);
    /* A truncated archive whose (given) checksum matches: tar fails. */
    ck_assert_int_eq(sh("head -c 20000 %s/c100.tar.gz > %s/cut.tar.gz", tmp, tmp), 0);
    char path[1100], cut_md5[33];
    snprintf(path, sizeof path, "%s/cut.tar.gz", tmp);
    ck_assert_int_eq(mt_md5_file(path, cut_md5), 0);
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/cut.tar.gz --md5 %s --progress quiet",
                        mutau(), dir, tmp, cut_md5),
                     2);
    EXPECT_OUT("tar failed");
    expect_only(dir, NULL);
    /* The right checksum for the wrong archive: CIFAR-10 fetched as CIFAR-100. */
    make_archive("cifar10", "c10.tar.gz", md5);
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/c10.tar.gz --md5 %s --progress quiet",
                        mutau(), dir, tmp, md5),
                     2);
    EXPECT_OUT("does not hold cifar-100-binary/");
    expect_only(dir, NULL);
    /* An archive whose data is malformed: it must not be moved into place. */
    ck_assert_int_eq(sh("mkdir -p %s/bad/cifar-100-binary && head -c 5000 %s/src/cifar-100-binary/train.bin "
                        "> %s/bad/cifar-100-binary/train.bin && cp %s/src/cifar-100-binary/test.bin "
                        "%s/bad/cifar-100-binary/ && tar -czf %s/bad.tar.gz -C %s/bad cifar-100-binary",
                        tmp, tmp, tmp, tmp, tmp, tmp, tmp),
                     0);
    snprintf(path, sizeof path, "%s/bad.tar.gz", tmp);
    ck_assert_int_eq(mt_md5_file(path, md5), 0);
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/bad.tar.gz --md5 %s --progress quiet",
                        mutau(), dir, tmp, md5),
                     2);
    EXPECT_OUT("does not load");
    EXPECT_OUT("train.bin");
    expect_only(dir, NULL);
    /* A missing file. */
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/none.tar.gz --progress quiet",
                        mutau(), dir, tmp),
                     2);
    EXPECT_OUT("curl failed");
    expect_only(dir, NULL);
}
END_TEST

/* A fake curl first on PATH: writes the first 10,000 bytes of the archive
 * to its --output file, then runs `then` (kill itself, or hang). */
static void fake_curl(const char *then)
{
    ck_assert_int_eq(sh("mkdir -p %s/bin && printf '%%s\\n' '#!/bin/sh' "
                        "'while [ \"$1\" != --output ]; do shift; done' "
                        "'head -c 10000 %s/c100.tar.gz > \"$2\"' '%s' > %s/bin/curl && "
                        "chmod +x %s/bin/curl",
                        tmp, tmp, then, tmp, tmp),
                     0);
}

/* Runs `mutau data fetch cifar100` through the fake curl; `tail` ends the
 * shell line (e.g. backgrounding and signalling it). Returns the exit code. */
static int fetch_with_fake_curl(const char *dir, const char *md5, const char *tail)
{
    return sh("PATH=%s/bin:$PATH '%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz "
              "--md5 %s --progress quiet%s",
              tmp, mutau(), dir, tmp, md5, tail);
}

START_TEST(interrupted_download_leaves_nothing_behind)
{
    NEED_MUTAU();
    char md5[33], dir[1024];
    make_archive("cifar100", "c100.tar.gz", md5);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    /* curl killed outright in the middle of the download */
    fake_curl("kill -9 $$");
    ck_assert_int_eq(fetch_with_fake_curl(dir, md5, ""), 2);
    EXPECT_OUT("killed by signal 9");
    expect_only(dir, NULL);
}
END_TEST

START_TEST(stopped_fetch_cleans_up_and_exits_4)
{
    NEED_MUTAU();
    char md5[33], dir[1024];
    make_archive("cifar100", "c100.tar.gz", md5);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    /* A stalled download; SIGTERM to mutau alone must stop curl and clean up. */
    fake_curl("exec sleep 30");
    ck_assert_int_eq(fetch_with_fake_curl(dir, md5, " & pid=$!; sleep 0.5; kill -TERM $pid; wait $pid"), 4);
    EXPECT_OUT("stopped by SIGTERM");
    expect_only(dir, NULL);
}
END_TEST

/* Plants what a fetch killed outright leaves in dir: a partial download and
 * a half-unpacked tree. */
static void plant_leftovers(const char *dir)
{
    ck_assert_int_eq(sh("mkdir -p %s/.fetch-unpack-Qq34Rr/cifar-100-binary/deep && "
                        "head -c 5000 %s/c100.tar.gz > %s/.fetch-archive-Xy12Zz && "
                        "echo half > %s/.fetch-unpack-Qq34Rr/cifar-100-binary/train.bin && "
                        "echo x > %s/.fetch-unpack-Qq34Rr/cifar-100-binary/deep/f && "
                        "echo keep > %s/.fetchrc",
                        dir, tmp, dir, dir, dir, dir),
                     0);
}

/* `mutau data fetch cifar100` of c100.tar.gz into dir, not --progress quiet; `out`
 * gets its stderr without curl's progress bar: the notes. The exit code. */
static int fetch_notes(const char *dir, const char *md5)
{
    return sh("'%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz --md5 %s "
              "2>%s/err >/dev/null; rc=$?; grep -v '#' %s/err; exit $rc",
              mutau(), dir, tmp, md5, tmp, tmp);
}

START_TEST(fetch_removes_leftovers_of_killed_fetches)
{
    NEED_MUTAU();
    char md5[33], dir[1024], keep[1100];
    make_archive("cifar100", "c100.tar.gz", md5);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    snprintf(keep, sizeof keep, "%s/.fetchrc", dir);
    plant_leftovers(dir);
    /* Not --progress quiet: each removal is named on stderr. */
    ck_assert_int_eq(fetch_notes(dir, md5), 0);
    EXPECT_OUT("mutau data: fetch: removed ");
    EXPECT_OUT("/data/.fetch-archive-Xy12Zz, left behind by an earlier fetch that was killed\n");
    EXPECT_OUT("/data/.fetch-unpack-Qq34Rr/, left behind by an earlier fetch that was killed\n");
    ck_assert_int_eq(lines(out), 2);
    /* Only .fetch-* entries are the fetch's: another hidden file stays. */
    ck_assert_int_eq(access(keep, F_OK), 0);
    unlink(keep);
    expect_only(dir, "cifar-100-binary");
    char fetched[1100];
    snprintf(fetched, sizeof fetched, "%s/cifar-100-binary", dir);
    expect_same_as_source(fetched, "cifar-100-binary");
    /* With the dataset in place nothing is downloaded, but leftovers still
     * go; --progress quiet says nothing about them. */
    plant_leftovers(dir);
    unlink(keep);
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/nowhere.tar.gz --progress quiet",
                        mutau(), dir, tmp),
                     0);
    EXPECT_OUT("already present");
    ck_assert_int_eq(lines(out), 1);
    expect_only(dir, "cifar-100-binary");
}
END_TEST

/* Holds an exclusive flock on dir/.fetch.lock as another fetch would; the fd. */
static int hold_lock(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/.fetch.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    ck_assert_msg(fd >= 0, "cannot open %s", path);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    return fd;
}

START_TEST(second_fetch_into_a_locked_folder_is_refused)
{
    NEED_MUTAU();
    char md5[33], dir[1024];
    make_archive("cifar100", "c100.tar.gz", md5);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    plant_leftovers(dir);
    int fd = hold_lock(dir);
    /* Refused at once (waiting would hang here: this process holds the lock),
     * with one line, touching nothing: the leftovers may be the holder's. */
    double t0 = mt_now();
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz --md5 %s",
                        mutau(), dir, tmp, md5),
                     2);
    double took = mt_now() - t0;
    ck_assert_msg(took < 5.0, "the refusal took %.1f s", took);
    EXPECT_OUT("data: another fetch holds this folder (");
    EXPECT_OUT("/data/.fetch.lock); run again when it has finished");
    ck_assert_int_eq(lines(out), 1);
    ck_assert_int_eq(sh("test -f %s/.fetch-archive-Xy12Zz && test -d %s/.fetch-unpack-Qq34Rr && "
                        "test ! -e %s/cifar-100-binary && test -e %s/.fetch.lock",
                        dir, dir, dir, dir),
                     0);
    /* Released: the next fetch goes ahead, sweeps and removes the lock file. */
    close(fd);
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz --md5 %s --progress quiet",
                        mutau(), dir, tmp, md5),
                     0);
    char keep[1100];
    snprintf(keep, sizeof keep, "%s/.fetchrc", dir);
    unlink(keep);
    expect_only(dir, "cifar-100-binary");
}
END_TEST

/* A fetch killed with SIGKILL mid-download leaves its temporaries; its curl
 * lives on and keeps the lock until it ends, so no fetch removes the file it
 * is still writing; after that the next fetch sweeps and succeeds. */
START_TEST(killed_fetch_is_cleaned_up_by_the_next)
{
    NEED_MUTAU();
    char md5[33], dir[1024];
    make_archive("cifar100", "c100.tar.gz", md5);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    /* The fake curl says when it has started, lets go of the test's pipe and
     * lingers a second after its parent is gone. */
    char then[1200], tail[1200];
    snprintf(then, sizeof then, "touch %s/started; exec >/dev/null 2>&1; sleep 1", tmp);
    fake_curl(then);
    snprintf(tail, sizeof tail,
             " & pid=$!; while [ ! -e %s/started ]; do sleep 0.02; done; kill -KILL $pid; "
             "wait $pid",
             tmp);
    ck_assert_int_eq(fetch_with_fake_curl(dir, md5, tail), 128 + 9);
    ck_assert_int_eq(sh("ls -A %s | grep '^\\.fetch-archive-'", dir), 0);
    /* The orphaned curl still holds the folder. */
    ck_assert_int_eq(sh("'%s' data fetch cifar100 --dir %s --url file://%s/c100.tar.gz --md5 %s --progress quiet",
                        mutau(), dir, tmp, md5),
                     2);
    EXPECT_OUT("another fetch holds this folder");
    /* Once it has ended, the next fetch removes the partial download. */
    char lock[1100];
    snprintf(lock, sizeof lock, "%s/.fetch.lock", dir);
    int fd = open(lock, O_RDWR);
    ck_assert_int_ge(fd, 0);
    double t0 = mt_now();
    while (flock(fd, LOCK_EX | LOCK_NB) != 0 && mt_now() - t0 < 10)
        usleep(20000);
    close(fd);
    ck_assert_int_eq(fetch_notes(dir, md5), 0);
    EXPECT_OUT("/data/.fetch-archive-");
    EXPECT_OUT("left behind by an earlier fetch that was killed");
    expect_only(dir, "cifar-100-binary");
}
END_TEST

static Suite *datasets_cli_suite(void)
{
    Suite *s = suite_create("datasets_cli");
    TCase *tc = tcase_create("mutau data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, synth_then_info);
    tcase_add_test(tc, bad_input_exits_2_with_one_line);
    tcase_add_test(tc, fetch_from_a_local_archive);
    tcase_add_test(tc, failed_fetches_leave_nothing_behind);
    tcase_add_test(tc, interrupted_download_leaves_nothing_behind);
    tcase_add_test(tc, stopped_fetch_cleans_up_and_exits_4);
    tcase_add_test(tc, info_notes_skipped_non_image_files);
    tcase_add_test(tc, fetch_removes_leftovers_of_killed_fetches);
    tcase_add_test(tc, second_fetch_into_a_locked_folder_is_refused);
    tcase_add_test(tc, killed_fetch_is_cleaned_up_by_the_next);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(datasets_cli_suite)

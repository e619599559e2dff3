/* test_install.c: `make install` and `make uninstall` into a temporary
 * DESTDIR, from the source directory with the build the tests run on: the
 * tool lands in PREFIX/bin and runs from there, the README and every page of
 * docs/ with its figures in PREFIX/share/doc/mutau (so the pages' links
 * hold), and uninstall removes them again.
 */
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "install"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exists(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/stage/opt/mt/%s", tmpdir, rel);
    return access(p, F_OK) == 0;
}

/* `make TARGET` in the source directory, with the tool's build directory
 * (relative to the sources when it is below them) and the staging DESTDIR;
 * the tool as built (-o: not remade, even when the sources changed since);
 * the parent make's job server is not ours to use. */
static int make(const char *target)
{
    char src[512], build[1024], cmd[4096];
    source_dir(src, sizeof src);
    snprintf(build, sizeof build, "%s", tool_path());
    *strrchr(build, '/') = '\0';
    size_t n = strlen(src);
    const char *b = strncmp(build, src, n) == 0 && build[n] == '/' ? build + n + 1 : build;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -o '%s/mutau' %s "
             "BUILD='%s' DESTDIR='%s/stage' PREFIX=/opt/mt >'%s/make.txt' 2>&1",
             src, b, target, b, tmpdir, tmpdir);
    return sh(cmd);
}

START_TEST(install_and_uninstall)
{
    char log[600];
    snprintf(log, sizeof log, "%s/make.txt", tmpdir);
    int rc = make("install");
    char *text = file_read(log, NULL);
    ck_assert_msg(rc == 0, "make install: exit %d:\n%s", rc, text ? text : "");
    free(text);
    ck_assert(exists("bin/mutau"));
    static const char *const docs[] = {"README.md", "docs/design.md", "docs/train.md",
                                       "docs/sweep.md", "docs/pca.md", "docs/datasets.md"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "share/doc/mutau/%s", docs[i]);
        ck_assert_msg(exists(rel), "%s not installed", rel);
    }
    ck_assert_msg(exists("share/doc/mutau/docs/figures/sweep_quick_accuracy_vs_momentum.png"),
                  "the README's figure is not installed");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/stage/opt/mt/bin/mutau' --version >'%s/v.txt' 2>&1", tmpdir,
             tmpdir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(log, sizeof log, "%s/v.txt", tmpdir);
    text = file_read_checked(log, NULL);
    ck_assert_msg(strncmp(text, "mutau ", 6) == 0, "%s", text);
    free(text);
    ck_assert_int_eq(make("uninstall"), 0);
    ck_assert(!exists("bin/mutau") && !exists("share/doc/mutau"));
}
END_TEST

static Suite *install_suite(void)
{
    Suite *s = suite_create("install");
    TCase *tc = tcase_create("make");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, install_and_uninstall);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(install_suite)

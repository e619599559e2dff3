/* tool_run.c: running the built tool from the tests and reading back what it
 * wrote (see tool_run.h). */
#include "tests/tool_run.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tool_path(void)
{
    const char *m = getenv("MUTAU");
    ck_assert_msg(m && *m, "MUTAU (the built tool's path) is not set; run through make test");
    return m;
}

/* Whether /proc/PID/LIST, read whole, holds the NUL-terminated entry. */
static int proc_list_has(pid_t pid, const char *list, const char *entry)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, list);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0; /* gone, or not ours to read */
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    int found = 0;
    for (size_t k = 0; k < len && !found; k += strlen(buf + k) + 1)
        found = strcmp(buf + k, entry) == 0;
    free(buf);
    return found;
}

pid_t proc_child_with(pid_t parent, const char *list, const char *entry)
{
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    pid_t found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        int ppid = -1;
        if (f) {
            if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1)
                ppid = -1;
            fclose(f);
        }
        if (ppid == parent && proc_list_has(pid, list, entry))
            found = pid;
    }
    closedir(d);
    return found;
}

const char *tool_faults_path(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s-faults", tool_path());
    ck_assert_msg(access(path, X_OK) == 0, "%s is not built (make builds it)", path);
    return path;
}

void source_dir(char *buf, size_t cap)
{
    const char *src = getenv("MUTAU_SRC");
    if (src && *src) {
        snprintf(buf, cap, "%s", src);
        return;
    }
    char dir[1024], probe[1100];
    snprintf(dir, sizeof dir, "%s", tool_path());
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = '\0';
        snprintf(probe, sizeof probe, "%s/tests/run.sh", dir);
        if (access(probe, R_OK) == 0) {
            snprintf(buf, cap, "%s", dir);
            return;
        }
    }
    ck_abort_msg("the source directory is not found from %s; set MUTAU_SRC", tool_path());
}

void tmp_dir_make(char *dir, size_t cap, const char *name)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, cap, "%s/mutau-%s-XXXXXX", base, name);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

int tmp_dir_remove(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) == 0)
        return 0;
    fprintf(stderr, "could not remove %s\n", dir);
    return -1;
}

pid_t tool_spawn(const char *out_path, const char *const *argv)
{
    return tool_spawn_limited(out_path, argv, 0);
}

pid_t tool_spawn_limited(const char *out_path, const char *const *argv, long max_file_bytes)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        if (max_file_bytes > 0) {
            struct rlimit lim = {(rlim_t)max_file_bytes, (rlim_t)max_file_bytes};
            signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG */
            setrlimit(RLIMIT_FSIZE, &lim);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int tool_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int tool_sh(const char *dir, const char *args, char *err, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out.txt 2>err.txt", dir, tool_path(), args);
    int st = system(cmd);
    if (err) {
        char p[512];
        snprintf(p, sizeof p, "%s/err.txt", dir);
        char *s = file_read(p, NULL);
        snprintf(err, cap, "%s", s ? s : "");
        free(s);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *file_read(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (!s)
        return NULL;
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

char *file_read_in(const char *dir, const char *rel)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return file_read(p, NULL);
}

int file_exists_in(const char *dir, const char *rel)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return access(p, F_OK) == 0;
}

char *file_read_checked(const char *path, long *len)
{
    char *s = file_read(path, len);
    ck_assert_msg(s != NULL, "cannot open %s", path);
    return s;
}

json_t *json_read_checked(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    ck_assert_msg(j != NULL, "%s: %s", path, e.text);
    return j;
}

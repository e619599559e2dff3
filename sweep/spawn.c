/* spawn.c: child processes for sweep cells (see spawn.h). fork + exec rather
 * than posix_spawn: the child must set its parent-death signal before exec. */
#include "sweep/spawn.h"

#include "core/status.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int mt_spawn_self_exe(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1)
        return mt_error(MT_ERR_IO, "cannot find the running program (/proc/self/exe): %s",
                        n < 0 ? strerror(errno) : "path too long");
    buf[n] = '\0';
    return MT_OK;
}

int mt_spawn(pid_t *pid, char *const *argv, const char *log_path)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return mt_error(MT_ERR_IO, "%s: %s", log_path, strerror(errno));
    pid_t parent = getpid();
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        close(fd);
        return mt_error(MT_ERR_LIB, "fork: %s", strerror(e));
    }
    if (p == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) /* the parent died before prctl */
            _exit(127);
        /* The sweep catches these; the child starts with the defaults. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    /* Also from the parent: the group exists before the parent signals it. */
    setpgid(p, p);
    close(fd);
    *pid = p;
    return MT_OK;
}

void mt_spawn_stop(pid_t pid, int sig)
{
    if (pid > 0)
        kill(pid, sig);
}

void mt_spawn_describe(int st, char *buf, size_t cap)
{
    if (WIFEXITED(st))
        snprintf(buf, cap, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        snprintf(buf, cap, "killed by SIGKILL (the kernel's out-of-memory killer sends it)");
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, cap, "wait status %d", st);
}

/* signals.c: SIGINT/SIGTERM/SIGUSR1 set a flag that training loops poll. */
#include "core/signals.h"

#include "core/status.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* A lock-free atomic, not a volatile sig_atomic_t: the handler may run on one
 * thread while workers of another poll the flag (C11 allows lock-free atomics
 * in handlers). */
static atomic_int pending;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal flag must be lock-free");
static struct sigaction old_int, old_term, old_usr1;
static int installed;

static void on_signal(int sig) { atomic_store(&pending, sig); }

int mt_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART is needed (loops poll); SA_RESETHAND so a second signal
     * takes the default action and ends a process stuck while saving. */
    sa.sa_flags = SA_RESETHAND;
    atomic_store(&pending, 0);
    struct sigaction *save_int = installed ? NULL : &old_int;
    struct sigaction *save_term = installed ? NULL : &old_term;
    struct sigaction *save_usr1 = installed ? NULL : &old_usr1;
    if (sigaction(SIGINT, &sa, save_int) != 0 || sigaction(SIGTERM, &sa, save_term) != 0 ||
        sigaction(SIGUSR1, &sa, save_usr1) != 0)
        return mt_error(MT_ERR_LIB, "sigaction: %s", strerror(errno));
    installed = 1;
    return MT_OK;
}

void mt_signals_restore(void)
{
    if (!installed)
        return;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
    installed = 0;
}

int mt_signals_pending(void) { return atomic_load_explicit(&pending, memory_order_relaxed); }

void mt_signals_clear(void) { atomic_store(&pending, 0); }

const char *mt_signal_name(int sig)
{
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case 0: return "none";
    default: return "a signal";
    }
}

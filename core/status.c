/* status.c: the per-thread error message behind status.h. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MSG_CAP = 1024 };
static _Thread_local char last_message[MSG_CAP];

int mt_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

int mt_error_context(int code, const char *fmt, ...)
{
    char prefix[MSG_CAP];
    char old[MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_message, sizeof old);
    /* Truncation of an over-long message is acceptable; a cut line still says where. */
    size_t n = strlen(prefix);
    if (n > sizeof last_message - 3)
        n = sizeof last_message - 3;
    memcpy(last_message, prefix, n);
    memcpy(last_message + n, ": ", 2);
    size_t room = sizeof last_message - n - 3;
    size_t m = strnlen(old, room);
    memcpy(last_message + n + 2, old, m);
    last_message[n + 2 + m] = '\0';
    return code;
}

const char *mt_errmsg(void) { return last_message; }

void mt_clear_error(void) { last_message[0] = '\0'; }

const char *mt_status_name(int code)
{
    switch (code) {
    case MT_OK: return "ok";
    case MT_ERR_ARG: return "bad argument";
    case MT_ERR_IO: return "I/O error";
    case MT_ERR_FORMAT: return "bad file format";
    case MT_ERR_NOMEM: return "out of memory";
    case MT_ERR_LIB: return "library error";
    case MT_ERR_DIVERGED: return "diverged";
    case MT_ERR_INTERRUPTED: return "interrupted";
    case MT_ERR_STEP: return "a training step failed";
    default: return "unknown error";
    }
}

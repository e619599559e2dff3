/* status.h: how library code reports failure.
 *
 * Library functions never exit() or abort on bad input: they return a negative
 * status code and leave a one-line message (naming the file, field or argument
 * at fault) in a per-thread buffer. The command-line tools print that message
 * and choose the exit code. This is not a logging facility.
 */
#ifndef MT_STATUS_H
#define MT_STATUS_H

enum mt_status {
    MT_OK = 0,
    MT_ERR_ARG = -1,      /* an impossible argument: shape, size, null buffer */
    MT_ERR_IO = -2,       /* a file could not be opened, read or written */
    MT_ERR_FORMAT = -3,   /* a file's contents are not what its format requires */
    MT_ERR_NOMEM = -4,    /* an allocation failed */
    MT_ERR_LIB = -5,      /* a library underneath (oneDNN, libpng, ...) failed */
    MT_ERR_DIVERGED = -6, /* a loss or a parameter became NaN or Inf */
    MT_ERR_INTERRUPTED = -7, /* stopped by a signal; state was saved */
    MT_ERR_STEP = -8 /* a training step's gradient failed (the message names the worker
                        and the cause); the step was not applied, the state before it
                        is whole */
};

/* Records a printf-style message for the calling thread and returns `code`,
 * so that `return mt_error(MT_ERR_ARG, "conv: kernel %d < 1", k);` reads as one
 * statement. A later call replaces the message. */
int mt_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the calling thread's message with "context: " (for example a file
 * name added by a caller that knows it) and returns `code`. */
int mt_error_context(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last message ("" when none). */
const char *mt_errmsg(void);

void mt_clear_error(void);

/* A short name for a status code ("bad argument", "I/O error", ...). */
const char *mt_status_name(int code);

#endif

/* meminfo.c: available memory and the process's own use (see meminfo.h). */
#include "core/meminfo.h"

#include "core/status.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Limits this large mean "none" (cgroup v1 writes 2^63 rounded to a page). */
#define UNLIMITED_FROM (UINT64_C(1) << 60)

enum { SMALL_FILE_CAP = 32768, CG_PATH_CAP = 4096 };

/* ---- files ------------------------------------------------------------------ */

int mt_read_small_file(const char *path, char *buf, size_t cap)
{
    if (cap == 0)
        return mt_error(MT_ERR_ARG, "%s: no buffer to read into", path);
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            buf[0] = '\0';
            return mt_error(MT_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return MT_OK;
}

/* ---- parsers ---------------------------------------------------------------- */

/* The start of the line of `text` that begins with key then `sep`, past the
 * separator; NULL when there is none. */
static const char *line_value(const char *text, const char *key, char sep)
{
    size_t k = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, k) == 0 && line[k] == sep)
            return line + k + 1;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NULL;
}

/* An unsigned decimal at s (leading blanks skipped); *end past it. */
static int read_u64(const char *s, uint64_t *v, const char **end)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *e;
    unsigned long long x = strtoull(s, &e, 10);
    if (errno)
        return -1;
    *v = x;
    *end = e;
    return 0;
}

int mt_meminfo_field(const char *text, const char *key, uint64_t *bytes)
{
    const char *v = line_value(text, key, ':');
    const char *end;
    uint64_t x;
    if (!v)
        return mt_error(MT_ERR_FORMAT, "no %s line", key);
    if (read_u64(v, &x, &end) < 0)
        return mt_error(MT_ERR_FORMAT, "%s: not a number", key);
    while (*end == ' ' || *end == '\t')
        end++;
    if (strncmp(end, "kB", 2) == 0) {
        if (x > UINT64_MAX / 1024)
            return mt_error(MT_ERR_FORMAT, "%s: %llu kB is too large", key, (unsigned long long)x);
        x *= 1024;
    }
    *bytes = x;
    return MT_OK;
}

int mt_memstat_field(const char *text, const char *key, uint64_t *bytes)
{
    const char *v = line_value(text, key, ' ');
    const char *end;
    if (!v)
        return mt_error(MT_ERR_FORMAT, "no %s line", key);
    if (read_u64(v, bytes, &end) < 0)
        return mt_error(MT_ERR_FORMAT, "%s: not a number", key);
    return MT_OK;
}

int mt_cgroup_limit_parse(const char *text, uint64_t *bytes, int *limited)
{
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    *bytes = 0;
    *limited = 0;
    if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || isspace((unsigned char)s[3])))
        return MT_OK;
    const char *end;
    uint64_t x;
    if (read_u64(s, &x, &end) < 0)
        return mt_error(MT_ERR_FORMAT, "a memory limit is a number or max, not '%.20s'", s);
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return mt_error(MT_ERR_FORMAT, "a memory limit is a number or max, not '%.20s'", s);
    if (x < UNLIMITED_FROM) {
        *bytes = x;
        *limited = 1;
    }
    return MT_OK;
}

int mt_mem_parse_size(const char *s, uint64_t *bytes)
{
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p) && *p != '.')
        goto bad;
    errno = 0;
    char *end;
    double v = strtod(p, &end);
    if (errno || end == p || !isfinite(v) || v < 0)
        goto bad;
    double mult = 1;
    static const char units[] = "kKMGTP";
    const char *u = *end ? strchr(units, *end) : NULL;
    if (u) {
        int power = u - units < 2 ? 1 : (int)(u - units);
        end++;
        double base = 1000;
        if (*end == 'i') {
            base = 1024;
            end++;
        }
        for (int i = 0; i < power; i++)
            mult *= base;
    }
    if (*end == 'B')
        end++;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        goto bad;
    double b = v * mult;
    if (b >= 9.2e18)
        goto bad;
    *bytes = (uint64_t)llround(b);
    return MT_OK;
bad:
    return mt_error(MT_ERR_ARG,
                    "'%s' is not a size (bytes, or a number with a unit: 512M, 8G, 7.5Gi)", s);
}

void mt_mem_format(char *buf, size_t cap, uint64_t bytes)
{
    double b = (double)bytes;
    if (b < 1e3)
        snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
    else if (b < 1e6)
        snprintf(buf, cap, "%.0f kB", b / 1e3);
    else if (b < 1e7)
        snprintf(buf, cap, "%.1f MB", b / 1e6);
    else if (b < 1e9)
        snprintf(buf, cap, "%.0f MB", b / 1e6);
    else if (b < 1e12)
        snprintf(buf, cap, "%.1f GB", b / 1e9);
    else
        snprintf(buf, cap, "%.1f TB", b / 1e12);
}

/* ---- the machine ------------------------------------------------------------ */

/* What a cgroup directory's limit leaves: *avail and 1, or 0 when it has no
 * limit (or its files cannot be read). v2: memory.max, memory.current,
 * memory.stat's inactive_file; v1: memory.limit_in_bytes,
 * memory.usage_in_bytes, memory.stat's total_inactive_file. */
static int cgroup_dir_avail(const char *dir, int v2, char *buf, uint64_t *avail, uint64_t *limit)
{
    char path[CG_PATH_CAP + 64];
    uint64_t lim, usage, inactive = 0;
    int limited;
    snprintf(path, sizeof path, "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    if (mt_read_small_file(path, buf, SMALL_FILE_CAP) != MT_OK ||
        mt_cgroup_limit_parse(buf, &lim, &limited) != MT_OK || !limited)
        return 0;
    snprintf(path, sizeof path, "%s/%s", dir, v2 ? "memory.current" : "memory.usage_in_bytes");
    const char *end;
    if (mt_read_small_file(path, buf, SMALL_FILE_CAP) != MT_OK || read_u64(buf, &usage, &end) < 0)
        usage = 0;
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    if (mt_read_small_file(path, buf, SMALL_FILE_CAP) == MT_OK &&
        mt_memstat_field(buf, v2 ? "inactive_file" : "total_inactive_file", &inactive) != MT_OK &&
        mt_memstat_field(buf, "inactive_file", &inactive) != MT_OK)
        inactive = 0;
    if (inactive > usage)
        inactive = usage;
    usage -= inactive;
    *avail = lim > usage ? lim - usage : 0;
    *limit = lim;
    mt_clear_error();
    return 1;
}

/* The tightest limit from `base` + `rel` up to `base` into *out (when it
 * is tighter than what *out says). */
static void cgroup_walk(mt_mem_avail *out, const char *base, const char *rel, int v2, char *buf)
{
    char dir[CG_PATH_CAP];
    size_t blen = strlen(base);
    if (snprintf(dir, sizeof dir, "%s%s", base, strcmp(rel, "/") == 0 ? "" : rel) >=
        (int)sizeof dir)
        return;
    for (;;) {
        uint64_t avail, limit;
        if (cgroup_dir_avail(dir, v2, buf, &avail, &limit) && avail < out->available) {
            out->available = avail;
            if (!out->total || limit < out->total)
                out->total = limit;
            snprintf(out->source, sizeof out->source, "the memory limit of cgroup %.120s",
                     strlen(dir) > blen ? dir + blen : "/");
        }
        if (strlen(dir) <= blen)
            break;
        char *slash = strrchr(dir + blen, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
}

/* The cgroup limits that apply to the process of proc_dir/self/cgroup. */
static void cgroup_limits(mt_mem_avail *out, const char *proc_dir, const char *root, char *buf)
{
    char path[CG_PATH_CAP];
    snprintf(path, sizeof path, "%s/self/cgroup", proc_dir);
    if (mt_read_small_file(path, buf, SMALL_FILE_CAP) != MT_OK) {
        mt_clear_error();
        return;
    }
    char *text = strdup(buf);
    if (!text)
        return;
    char base[CG_PATH_CAP];
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        /* ID:CONTROLLERS:PATH */
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/')
            continue;
        *c1 = *c2 = '\0';
        const char *ctrl = c1 + 1, *rel = c2 + 1;
        if (strcmp(line, "0") == 0 && !*ctrl) {
            snprintf(base, sizeof base, "%s", root);
            cgroup_walk(out, base, rel, 1, buf);
            continue;
        }
        /* v1: the memory controller's own hierarchy. */
        for (const char *c = ctrl; c && *c; c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL)
            if (strncmp(c, "memory", 6) == 0 && (c[6] == ',' || c[6] == '\0')) {
                snprintf(base, sizeof base, "%s/memory", root);
                cgroup_walk(out, base, rel, 0, buf);
                break;
            }
    }
    free(text);
}

int mt_mem_available_in(mt_mem_avail *out, const char *proc_dir, const char *cgroup_root)
{
    memset(out, 0, sizeof *out);
    char *buf = malloc(SMALL_FILE_CAP);
    if (!buf)
        return mt_error(MT_ERR_NOMEM, "meminfo: out of memory");
    char path[CG_PATH_CAP];
    snprintf(path, sizeof path, "%s/meminfo", proc_dir);
    int rc = mt_read_small_file(path, buf, SMALL_FILE_CAP);
    if (rc != MT_OK) {
        free(buf);
        return rc;
    }
    uint64_t total = 0, avail = 0;
    if (mt_meminfo_field(buf, "MemTotal", &total) != MT_OK)
        total = 0;
    if (mt_meminfo_field(buf, "MemAvailable", &avail) == MT_OK) {
        snprintf(out->source, sizeof out->source, "MemAvailable of %.120s", path);
    } else {
        /* Kernels before 3.14: free memory and the page cache. */
        uint64_t free_b, buffers = 0, cached = 0;
        if (mt_meminfo_field(buf, "MemFree", &free_b) != MT_OK) {
            free(buf);
            return mt_error(MT_ERR_FORMAT, "%s: neither MemAvailable nor MemFree", path);
        }
        if (mt_meminfo_field(buf, "Buffers", &buffers) != MT_OK)
            buffers = 0;
        if (mt_meminfo_field(buf, "Cached", &cached) != MT_OK)
            cached = 0;
        avail = free_b + buffers + cached;
        snprintf(out->source, sizeof out->source, "MemFree + Buffers + Cached of %.120s", path);
    }
    mt_clear_error();
    out->available = avail;
    out->total = total;
    if (cgroup_root)
        cgroup_limits(out, proc_dir, cgroup_root, buf);
    free(buf);
    mt_clear_error(); /* a missing cgroup file only means no limit from it */
    return MT_OK;
}

int mt_mem_available(mt_mem_avail *out)
{
    const char *env = getenv("MUTAU_MEM_AVAILABLE");
    if (env && *env) {
        memset(out, 0, sizeof *out);
        uint64_t budget;
        int rc = mt_mem_parse_size(env, &budget);
        if (rc != MT_OK)
            return mt_error_context(rc, "MUTAU_MEM_AVAILABLE");
        /* A budget for the whole process: what it holds already is spent. */
        mt_mem_usage use;
        uint64_t held = mt_mem_usage_self(&use) == MT_OK ? use.rss : 0;
        mt_clear_error();
        out->available = budget > held ? budget - held : 0;
        out->total = out->budget = budget;
        snprintf(out->source, sizeof out->source, "MUTAU_MEM_AVAILABLE");
        return MT_OK;
    }
    if (mt_mem_available_in(out, "/proc", "/sys/fs/cgroup") == MT_OK)
        return MT_OK;
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    long all = sysconf(_SC_PHYS_PAGES);
    if (pages <= 0 || size <= 0)
        return mt_error(MT_ERR_IO, "the available memory is unknown here (no /proc/meminfo)");
    memset(out, 0, sizeof *out);
    out->available = (uint64_t)pages * (uint64_t)size;
    out->total = all > 0 ? (uint64_t)all * (uint64_t)size : 0;
    snprintf(out->source, sizeof out->source, "sysconf(_SC_AVPHYS_PAGES)");
    mt_clear_error();
    return MT_OK;
}

/* ---- this process ------------------------------------------------------------ */

int mt_mem_usage_parse(const char *text, mt_mem_usage *out)
{
    memset(out, 0, sizeof *out);
    int rc = mt_meminfo_field(text, "VmRSS", &out->rss);
    if (rc != MT_OK)
        return rc;
    if (mt_meminfo_field(text, "VmHWM", &out->peak) != MT_OK) {
        mt_clear_error();
        out->peak = out->rss;
    }
    if (out->peak < out->rss)
        out->peak = out->rss;
    return MT_OK;
}

int mt_mem_usage_self(mt_mem_usage *out)
{
    char buf[SMALL_FILE_CAP / 4];
    if (mt_read_small_file("/proc/self/status", buf, sizeof buf) == MT_OK &&
        mt_mem_usage_parse(buf, out) == MT_OK)
        return MT_OK;
    memset(out, 0, sizeof *out);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss <= 0)
        return mt_error(MT_ERR_IO, "this process's memory use is unknown here");
    mt_clear_error();
    out->peak = (uint64_t)ru.ru_maxrss * 1024; /* Linux and the BSDs: kilobytes */
    return MT_OK;
}

uint64_t mt_mem_heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 m = mallinfo2();
    return (uint64_t)m.uordblks + (uint64_t)m.hblkhd;
#else
    return 0;
#endif
}

void mt_mem_mark_now(mt_mem_mark *m)
{
    mt_mem_usage u;
    m->rss = mt_mem_usage_self(&u) == MT_OK ? u.rss : 0;
    m->heap = mt_mem_heap_in_use();
    mt_clear_error();
}

uint64_t mt_mem_grown_since(const mt_mem_mark *m)
{
    mt_mem_mark now;
    mt_mem_mark_now(&now);
    uint64_t rss = now.rss > m->rss ? now.rss - m->rss : 0;
    uint64_t heap = now.heap > m->heap ? now.heap - m->heap : 0;
    return rss > heap ? rss : heap;
}

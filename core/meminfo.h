/* meminfo.h: how much memory the machine can still give this process, and
 * how much the process holds: what a run needs to know before it allocates
 * several network copies, so that it can refuse up front instead of being
 * ended by the kernel's out-of-memory killer (SIGKILL, no message, no
 * checkpoint).
 *
 * Available memory is the smaller of
 *   - MemAvailable of /proc/meminfo (the kernel's estimate of what can be
 *     allocated without swapping: free memory plus reclaimable caches; on
 *     kernels without it, MemFree + Buffers + Cached), and
 *   - for each cgroup from the process's own up to the root that has a
 *     memory limit: the limit minus the usage, plus the inactive file cache
 *     the kernel would reclaim first (cgroup v2 memory.max / memory.current /
 *     memory.stat, or v1 memory.limit_in_bytes / memory.usage_in_bytes /
 *     memory.stat).
 * The environment variable MUTAU_MEM_AVAILABLE (bytes, or with a unit: 512M,
 * 8G, 7.5Gi) replaces both: "pretend this much memory is available" to the
 * process in all (what it already holds is taken off), for shared nodes
 * where the kernel's number is not what this job may use, and for tests.
 *
 * The process's own use: VmRSS (resident now) and VmHWM (the peak) of
 * /proc/self/status, else the peak from getrusage.
 *
 * The file readers take their directories as arguments and the parsers take
 * text, so that tests can feed them made-up files. Nothing here exits; every
 * function returns a status (core/status.h). Sizes are bytes; printed sizes
 * use SI units (1 GB = 10^9 bytes), as the kernel's kB are 1024 bytes but
 * people read "GB" decimally.
 *
 * Not here: what a run needs (trainer/mem_guard.h).
 */
#ifndef MT_CORE_MEMINFO_H
#define MT_CORE_MEMINFO_H

#include <stddef.h>
#include <stdint.h>

/* ---- parsers (text in, numbers out) ---------------------------------------- */

/* The value of `key` in /proc/meminfo- or /proc/self/status-style text
 * ("MemAvailable:   22884200 kB"): bytes (a "kB" unit is 1024 bytes; a bare
 * number is taken as it is). MT_ERR_FORMAT when the key is missing or its
 * value is not a number. */
int mt_meminfo_field(const char *text, const char *key, uint64_t *bytes);

/* The value of `key` in a cgroup memory.stat ("inactive_file 12345"):
 * bytes. MT_ERR_FORMAT when missing. */
int mt_memstat_field(const char *text, const char *key, uint64_t *bytes);

/* A cgroup limit file's content: *bytes the limit and *limited 1, or
 * *limited 0 for "max" (v2) or a v1 "unlimited" value (>= 2^60).
 * MT_ERR_FORMAT for anything else. */
int mt_cgroup_limit_parse(const char *text, uint64_t *bytes, int *limited);

/* A size as people write it: "123456" (bytes), "512M", "8G", "1.5T" (SI:
 * k/K = 10^3, M = 10^6, G = 10^9, T = 10^12) or "512Mi", "8Gi" (IEC, powers
 * of 1024), an optional trailing "B" ("8GB", "8GiB"). MT_ERR_ARG naming the
 * text otherwise. */
int mt_mem_parse_size(const char *s, uint64_t *bytes);

/* "27.4 GB", "512 MB", "3.1 MB", "900 kB", "12 B" (SI units). */
void mt_mem_format(char *buf, size_t cap, uint64_t bytes);

/* ---- the machine ------------------------------------------------------------ */

typedef struct {
    uint64_t available;  /* bytes this process can still allocate */
    uint64_t total;      /* MemTotal, or the binding cgroup limit (0: unknown) */
    uint64_t budget;     /* MUTAU_MEM_AVAILABLE: the whole process's allowance (0: not set) */
    char source[160];    /* what set `available`: "MemAvailable", "cgroup limit",
                          * "MUTAU_MEM_AVAILABLE" */
} mt_mem_avail;

/* From the files under proc_dir ("/proc": meminfo, self/cgroup) and
 * cgroup_root ("/sys/fs/cgroup"; NULL: no cgroup limits). MT_ERR_IO when
 * proc_dir/meminfo cannot be read, MT_ERR_FORMAT when it has no usable
 * numbers. A cgroup file that is missing or unreadable only means no limit
 * from it. */
int mt_mem_available_in(mt_mem_avail *out, const char *proc_dir, const char *cgroup_root);

/* MUTAU_MEM_AVAILABLE less the process's resident size when it is set
 * (MT_ERR_ARG naming it when it is not a size), else mt_mem_available_in("/proc", "/sys/fs/cgroup"), else
 * sysconf's available pages (outside Linux). MT_ERR_IO when nothing says. */
int mt_mem_available(mt_mem_avail *out);

/* ---- this process --------------------------------------------------------- */

typedef struct {
    uint64_t rss;  /* resident now (0: unknown) */
    uint64_t peak; /* the largest resident size so far (0: unknown) */
} mt_mem_usage;

/* VmRSS and VmHWM from /proc/self/status-style text. MT_ERR_FORMAT when
 * VmRSS is missing (VmHWM may be: peak is then rss). */
int mt_mem_usage_parse(const char *text, mt_mem_usage *out);

/* The calling process's: /proc/self/status, else getrusage's peak (rss 0).
 * MT_ERR_IO when neither says. */
int mt_mem_usage_self(mt_mem_usage *out);

/* Bytes the C heap has handed out and not taken back (malloc's own count,
 * summed over arenas and mmapped chunks); 0 where the C library does not
 * say. Unlike the resident size it does not miss memory that is reused from
 * earlier frees. */
uint64_t mt_mem_heap_in_use(void);

/* A mark to measure what a piece of work keeps: the larger of the growth of
 * the resident size and the growth of the heap in use since the mark. */
typedef struct {
    uint64_t rss, heap;
} mt_mem_mark;
void mt_mem_mark_now(mt_mem_mark *m);
uint64_t mt_mem_grown_since(const mt_mem_mark *m);

/* ---- files ------------------------------------------------------------------ */

/* Reads at most cap - 1 bytes of the file at path into buf, NUL-terminated
 * (a /proc file's size is 0, so it is read until its end). MT_ERR_IO naming
 * the path when it cannot be read. */
int mt_read_small_file(const char *path, char *buf, size_t cap);

#endif

/* test_meminfo.c: core/meminfo.h on made-up files and text:
 *   - /proc/meminfo and /proc/self/status fields (kB is 1024 bytes, a key
 *     is matched whole), cgroup limits ("max", numbers, v1's "unlimited"),
 *     sizes as people write them and as the tool prints them;
 *   - the available memory from a made-up /proc and cgroup tree: MemAvailable,
 *     the old kernels' MemFree + Buffers + Cached, a v2 limit on a parent
 *     cgroup, a v1 limit, a limit looser than the machine;
 *   - MUTAU_MEM_AVAILABLE as the process's allowance, and a bad value;
 *   - the process's own resident size grows with memory it touches.
 */
#include "core/meminfo.h"
#include "core/status.h"
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char MEMINFO[] = "MemTotal:       24683652 kB\n"
                              "MemFree:         1000000 kB\n"
                              "MemAvailable:   22884200 kB\n"
                              "Buffers:          200000 kB\n"
                              "Cached:          3000000 kB\n"
                              "HugePages_Total:       0\n";

START_TEST(meminfo_fields)
{
    uint64_t b = 0;
    ck_assert_int_eq(mt_meminfo_field(MEMINFO, "MemAvailable", &b), MT_OK);
    ck_assert_uint_eq(b, UINT64_C(22884200) * 1024);
    ck_assert_int_eq(mt_meminfo_field(MEMINFO, "MemTotal", &b), MT_OK);
    ck_assert_uint_eq(b, UINT64_C(24683652) * 1024);
    /* No unit: the number itself. */
    ck_assert_int_eq(mt_meminfo_field(MEMINFO, "HugePages_Total", &b), MT_OK);
    ck_assert_uint_eq(b, 0);
    /* A key is matched whole: "Mem" is not "MemTotal", "Free" not "MemFree". */
    ck_assert_int_eq(mt_meminfo_field(MEMINFO, "Mem", &b), MT_ERR_FORMAT);
    ck_assert_int_eq(mt_meminfo_field(MEMINFO, "Free", &b), MT_ERR_FORMAT);
    ck_assert_int_eq(mt_meminfo_field(MEMINFO, "SwapTotal", &b), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "SwapTotal"));
    ck_assert_int_eq(mt_meminfo_field("MemAvailable: lots kB\n", "MemAvailable", &b),
                     MT_ERR_FORMAT);
    /* The last line without a newline. */
    ck_assert_int_eq(mt_meminfo_field("A: 1 kB\nB:\t7 kB", "B", &b), MT_OK);
    ck_assert_uint_eq(b, 7 * 1024);
}
END_TEST

START_TEST(status_and_stat)
{
    mt_mem_usage u;
    ck_assert_int_eq(mt_mem_usage_parse("Name:\tmutau\nVmPeak:\t 900 kB\nVmHWM:\t  5000 kB\n"
                                        "VmRSS:\t  3000 kB\nThreads: 3\n",
                                        &u),
                     MT_OK);
    ck_assert_uint_eq(u.rss, 3000 * 1024);
    ck_assert_uint_eq(u.peak, 5000 * 1024);
    /* No VmHWM: the peak is at least what is resident. */
    ck_assert_int_eq(mt_mem_usage_parse("VmRSS:\t  3000 kB\n", &u), MT_OK);
    ck_assert_uint_eq(u.peak, 3000 * 1024);
    ck_assert_int_eq(mt_mem_usage_parse("VmHWM:\t  5000 kB\n", &u), MT_ERR_FORMAT);

    uint64_t b = 0;
    const char *stat = "anon 100\nfile 2000\nactive_file 300\ninactive_file 1700\n";
    ck_assert_int_eq(mt_memstat_field(stat, "inactive_file", &b), MT_OK);
    ck_assert_uint_eq(b, 1700);
    ck_assert_int_eq(mt_memstat_field(stat, "file", &b), MT_OK);
    ck_assert_uint_eq(b, 2000);
    ck_assert_int_eq(mt_memstat_field(stat, "total_inactive_file", &b), MT_ERR_FORMAT);
}
END_TEST

START_TEST(cgroup_limits_parse)
{
    uint64_t b;
    int limited;
    ck_assert_int_eq(mt_cgroup_limit_parse("max\n", &b, &limited), MT_OK);
    ck_assert_int_eq(limited, 0);
    ck_assert_int_eq(mt_cgroup_limit_parse("4294967296\n", &b, &limited), MT_OK);
    ck_assert_int_eq(limited, 1);
    ck_assert_uint_eq(b, UINT64_C(4294967296));
    /* cgroup v1 writes "no limit" as 2^63 rounded down to a page. */
    ck_assert_int_eq(mt_cgroup_limit_parse("9223372036854771712\n", &b, &limited), MT_OK);
    ck_assert_int_eq(limited, 0);
    ck_assert_int_eq(mt_cgroup_limit_parse("maximum\n", &b, &limited), MT_ERR_FORMAT);
    ck_assert_int_eq(mt_cgroup_limit_parse("12 kB\n", &b, &limited), MT_ERR_FORMAT);
    ck_assert_int_eq(mt_cgroup_limit_parse("", &b, &limited), MT_ERR_FORMAT);
}
END_TEST

START_TEST(sizes)
{
    static const struct {
        const char *s;
        uint64_t bytes;
    } good[] = {
        {"123", 123},
        {"512M", UINT64_C(512000000)},
        {"8G", UINT64_C(8000000000)},
        {"8GB", UINT64_C(8000000000)},
        {"1.5T", UINT64_C(1500000000000)},
        {"2k", 2000},
        {"2K", 2000},
        {"512Mi", UINT64_C(512) << 20},
        {"7.5Gi", UINT64_C(15) << 29},
        {"1KiB", 1024},
        {"64B", 64},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t b = 0;
        ck_assert_msg(mt_mem_parse_size(good[i].s, &b) == MT_OK, "%s: %s", good[i].s,
                      mt_errmsg());
        ck_assert_msg(b == good[i].bytes, "%s: %llu, expected %llu", good[i].s,
                      (unsigned long long)b, (unsigned long long)good[i].bytes);
    }
    static const char *const bad[] = {"", "lots", "-1", "8X", "8 G", "G", "1e30", "8Gx", NULL};
    for (int i = 0; bad[i]; i++) {
        uint64_t b;
        ck_assert_msg(mt_mem_parse_size(bad[i], &b) == MT_ERR_ARG, "'%s' was taken", bad[i]);
    }
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "not a size"));

    static const struct {
        uint64_t bytes;
        const char *s;
    } shown[] = {
        {12, "12 B"},
        {900000, "900 kB"},
        {3100000, "3.1 MB"},
        {512000000, "512 MB"},
        {UINT64_C(27400000000), "27.4 GB"},
        {UINT64_C(3000000000000), "3.0 TB"},
    };
    for (size_t i = 0; i < sizeof shown / sizeof *shown; i++) {
        char buf[32];
        mt_mem_format(buf, sizeof buf, shown[i].bytes);
        ck_assert_str_eq(buf, shown[i].s);
    }
}
END_TEST

/* ---- made-up /proc and cgroup trees --------------------------------------------- */

static char root[256];

static void setup(void) { tmp_dir_make(root, sizeof root, "meminfo"); }

static void teardown(void) { ck_assert_int_eq(tmp_dir_remove(root), 0); }

/* Writes text to root/REL, making the directories on the way. */
static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *c = path + strlen(root) + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
            *c = '/';
        }
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void avail(mt_mem_avail *a, int with_cgroups)
{
    char proc[300], cg[300];
    snprintf(proc, sizeof proc, "%s/proc", root);
    snprintf(cg, sizeof cg, "%s/cgroup", root);
    ck_assert_msg(mt_mem_available_in(a, proc, with_cgroups ? cg : NULL) == MT_OK, "%s",
                  mt_errmsg());
}

START_TEST(available_meminfo)
{
    mt_mem_avail a;
    put("proc/meminfo", MEMINFO);
    avail(&a, 0);
    ck_assert_uint_eq(a.available, UINT64_C(22884200) * 1024);
    ck_assert_uint_eq(a.total, UINT64_C(24683652) * 1024);
    ck_assert_uint_eq(a.budget, 0);
    ck_assert_ptr_nonnull(strstr(a.source, "MemAvailable"));
    /* A kernel before MemAvailable: free memory and the page cache. */
    put("proc/meminfo", "MemTotal: 8000 kB\nMemFree: 1000 kB\nBuffers: 200 kB\nCached: 3000 kB\n");
    avail(&a, 0);
    ck_assert_uint_eq(a.available, (1000 + 200 + 3000) * 1024);
    /* No numbers, no file. */
    put("proc/meminfo", "MemTotal: 8000 kB\n");
    char proc[300];
    snprintf(proc, sizeof proc, "%s/proc", root);
    ck_assert_int_eq(mt_mem_available_in(&a, proc, NULL), MT_ERR_FORMAT);
    snprintf(proc, sizeof proc, "%s/nowhere", root);
    ck_assert_int_eq(mt_mem_available_in(&a, proc, NULL), MT_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "nowhere/meminfo"));
}
END_TEST

START_TEST(available_cgroup_v2)
{
    mt_mem_avail a;
    put("proc/meminfo", MEMINFO);
    put("proc/self/cgroup", "0::/job/step\n");
    /* The step has no limit; its parent, the job, has 4 GB of which 1 GB is
     * used, half of that inactive file cache. */
    put("cgroup/job/step/memory.max", "max\n");
    put("cgroup/job/step/memory.current", "300000000\n");
    put("cgroup/job/memory.max", "4000000000\n");
    put("cgroup/job/memory.current", "1000000000\n");
    put("cgroup/job/memory.stat", "anon 500000000\nactive_file 0\ninactive_file 500000000\n");
    avail(&a, 1);
    ck_assert_uint_eq(a.available, UINT64_C(3500000000));
    ck_assert_uint_eq(a.total, UINT64_C(4000000000));
    ck_assert_msg(strstr(a.source, "cgroup /job") != NULL, "%s", a.source);
    /* Without the cgroup tree: MemAvailable. */
    avail(&a, 0);
    ck_assert_uint_eq(a.available, UINT64_C(22884200) * 1024);
    /* A limit looser than the machine changes nothing. */
    put("cgroup/job/memory.max", "100000000000\n");
    avail(&a, 1);
    ck_assert_uint_eq(a.available, UINT64_C(22884200) * 1024);
    ck_assert_ptr_nonnull(strstr(a.source, "MemAvailable"));
    /* Used beyond the limit: nothing left. */
    put("cgroup/job/memory.max", "800000000\n");
    put("cgroup/job/memory.stat", "inactive_file 0\n");
    avail(&a, 1);
    ck_assert_uint_eq(a.available, 0);
}
END_TEST

START_TEST(available_cgroup_v1)
{
    mt_mem_avail a;
    put("proc/meminfo", MEMINFO);
    put("proc/self/cgroup", "5:devices:/a\n4:memory:/a/b\n3:cpu,cpuacct:/a\n");
    put("cgroup/memory/a/b/memory.limit_in_bytes", "2000000000\n");
    put("cgroup/memory/a/b/memory.usage_in_bytes", "500000000\n");
    put("cgroup/memory/a/b/memory.stat", "cache 1\ninactive_file 5\ntotal_inactive_file 100000000\n");
    put("cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    avail(&a, 1);
    ck_assert_uint_eq(a.available, UINT64_C(1600000000));
    ck_assert_msg(strstr(a.source, "cgroup /a/b") != NULL, "%s", a.source);
    /* The memory controller in a list of several. */
    put("proc/self/cgroup", "4:cpu,memory:/a/b\n");
    avail(&a, 1);
    ck_assert_uint_eq(a.available, UINT64_C(1600000000));
    /* Another controller's path does not count. */
    put("proc/self/cgroup", "4:memoryless:/a/b\n");
    avail(&a, 1);
    ck_assert_uint_eq(a.available, UINT64_C(22884200) * 1024);
}
END_TEST

START_TEST(environment_override)
{
    mt_mem_avail a;
    mt_mem_usage u;
    ck_assert_int_eq(setenv("MUTAU_MEM_AVAILABLE", "64Gi", 1), 0);
    ck_assert_int_eq(mt_mem_available(&a), MT_OK);
    ck_assert_int_eq(mt_mem_usage_self(&u), MT_OK);
    ck_assert_uint_eq(a.budget, UINT64_C(64) << 30);
    ck_assert_str_eq(a.source, "MUTAU_MEM_AVAILABLE");
    /* What the process holds is spent from the allowance (the resident
     * size moves a little between the two reads). */
    uint64_t expect = (UINT64_C(64) << 30) - u.rss;
    uint64_t diff = a.available > expect ? a.available - expect : expect - a.available;
    ck_assert_msg(diff < (UINT64_C(8) << 20), "available %llu, expected about %llu",
                  (unsigned long long)a.available, (unsigned long long)expect);
    /* An allowance below what is held: nothing left. */
    ck_assert_int_eq(setenv("MUTAU_MEM_AVAILABLE", "1k", 1), 0);
    ck_assert_int_eq(mt_mem_available(&a), MT_OK);
    ck_assert_uint_eq(a.available, 0);
    ck_assert_int_eq(setenv("MUTAU_MEM_AVAILABLE", "plenty", 1), 0);
    ck_assert_int_eq(mt_mem_available(&a), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "MUTAU_MEM_AVAILABLE: 'plenty' is not a size"), "%s",
                  mt_errmsg());
    /* Unset or empty: the machine's own number. */
    ck_assert_int_eq(setenv("MUTAU_MEM_AVAILABLE", "", 1), 0);
    ck_assert_int_eq(mt_mem_available(&a), MT_OK);
    ck_assert_uint_eq(a.budget, 0);
    ck_assert(a.available > 0);
}
END_TEST

START_TEST(own_usage_grows)
{
    mt_mem_usage before, after;
    ck_assert_int_eq(mt_mem_usage_self(&before), MT_OK);
    ck_assert(before.rss > 0 && before.peak >= before.rss);
    mt_mem_mark mark;
    mt_mem_mark_now(&mark);
    size_t n = (size_t)64 << 20;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    memset(p, 1, n);
    ck_assert_int_eq(mt_mem_usage_self(&after), MT_OK);
    uint64_t grown = mt_mem_grown_since(&mark);
    ck_assert_msg(after.rss >= before.rss + n - (n >> 4), "resident %llu -> %llu after 64 MiB",
                  (unsigned long long)before.rss, (unsigned long long)after.rss);
#ifdef __SANITIZE_THREAD__
    size_t most = 8 * n; /* ThreadSanitizer's shadow of what was written is resident too */
#else
    size_t most = n + (n >> 2); /* AddressSanitizer's shadow is an eighth */
#endif
    ck_assert_msg(grown >= n - (n >> 4) && grown <= most, "grown %llu for 64 MiB",
                  (unsigned long long)grown);
    ck_assert(after.peak >= after.rss);
    /* Only sum the buffer so the compiler keeps the writes. */
    long s = 0;
    for (size_t i = 0; i < n; i += 4096)
        s += p[i];
    ck_assert_int_eq(s, (long)(n / 4096));
    free(p);
}
END_TEST

static Suite *meminfo_suite(void)
{
    Suite *s = suite_create("meminfo");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, meminfo_fields);
    tcase_add_test(tc, status_and_stat);
    tcase_add_test(tc, cgroup_limits_parse);
    tcase_add_test(tc, sizes);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, available_meminfo);
    tcase_add_test(tc, available_cgroup_v2);
    tcase_add_test(tc, available_cgroup_v1);
    suite_add_tcase(s, tc);
    tc = tcase_create("process");
    tcase_add_test(tc, environment_override);
    tcase_add_test(tc, own_usage_grows);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(meminfo_suite)

/* check_main.h: the main() of every Check test program.
 *
 * Each tests/test_*.c defines one `Suite *NAME_suite(void)` and ends with
 * MT_CHECK_MAIN(NAME_suite). Tests run forked (Check's default), so a crash in
 * one test is reported as an error of that test and the others still run.
 */
#ifndef MT_CHECK_MAIN_H
#define MT_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define MT_CHECK_MAIN(suite_fn)                                                \
    int main(void)                                                             \
    {                                                                          \
        SRunner *sr = srunner_create(suite_fn());                              \
        srunner_run_all(sr, CK_NORMAL);                                        \
        int failed = srunner_ntests_failed(sr);                                \
        srunner_free(sr);                                                      \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                      \
    }

#endif

/*
** main.c: the test runner. Gathers every suite listed in the generated
** suites.h (one per tests/test_NAME.c) and runs them; exit status 0 only
** when every check passed. CK_RUN_SUITE=NAME runs one suite.
*/
#include <check.h>
#include <stdlib.h>

#define AG_SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef AG_SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
#define AG_SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.h"
#undef AG_SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

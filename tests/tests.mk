# tests/tests.mk: link flags for the test runner (included by the Makefile).
#
# Allocation-failure injection (tests/test_alloc_fail.c): the runner is
# linked with --wrap for the allocator, so every call to malloc, calloc,
# realloc, aligned_alloc and free from the library (and from the tests and
# Check, which is linked statically) goes to __wrap_NAME in
# test_alloc_fail.c. Those pass through to the C library unless a test arms
# them; armed, every Nth allocation fails (returns NULL). free is wrapped
# too, to count live allocations, so a scenario that leaks under an injected
# failure is caught in-process (Valgrind's leak check catches it as well).
# Calls made inside the C library itself (fopen's buffer, say) are not
# wrapped. The library does not use posix_memalign, strdup or mmap.
TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=free

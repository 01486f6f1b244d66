# ag: a tape-based automatic differentiation engine in C11.
#
#   make                 static and shared library in build/
#   make test            Check suites, the README example, then the suites
#                        again under Valgrind (installs Check/Valgrind if missing)
#   make install PREFIX=/usr/local
#   make NATIVE=1        a build for this CPU only (-march=native)
#   make test-kernels    the suites with each kernel path forced (AG_KERNEL)
#
# The default build runs on any x86-64 and still at full speed: every
# kernel with versions per instruction set (GEMM, vector math, convolution
# rows, byte lookup, pointwise loops) has its AVX-512, AVX2 and baseline
# versions compiled for their targets, and the library picks one at run
# time from CPUID (ops/isa_internal.h; AG_KERNEL=avx512|avx2|portable
# forces one). NATIVE=1 lets the compiler use this CPU's instructions in
# the rest of the code too; PORTABLE=1 is accepted and is the default.

PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2
ifeq ($(NATIVE),1)
ARCH    ?= -march=native
else
ARCH    ?=
endif

INC      = -I. -Iautograd -Iops -Inn -Ioptim
WARN     = -std=c11 -Wall -Wextra -Wpedantic -Werror
# -fno-math-errno: no libm function's errno is read, so sqrt vectorizes.
# -ffp-contract=off: a * b + c stays a multiply and an add, as gcc does
# with -std=c11; clang would otherwise fuse them into an FMA where it likes,
# and fused kernels would no longer equal their rules written with ops.
ALL_CFLAGS = $(WARN) $(OPT) $(ARCH) -fno-math-errno -ffp-contract=off -fPIC \
             -D_POSIX_C_SOURCE=200809L $(INC) $(CFLAGS)
LIBS     = -lm -lpthread

LIB_SRCS = $(wildcard autograd/*.c ops/*.c nn/*.c optim/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
# Public headers: ag.h and every ag_*.h but the internal ones; the rest
# (*_util.h, *_base.h, *_internal.h) are the library's own, never installed.
PUB_HDRS = ag.h $(filter-out %_internal.h,$(wildcard autograd/ag_*.h ops/ag_*.h nn/ag_*.h optim/ag_*.h))
ALL_HDRS = $(wildcard *.h autograd/*.h ops/*.h nn/*.h optim/*.h)
TEST_SRCS = $(wildcard tests/*.c)
TEST_OBJS = $(TEST_SRCS:%.c=$(BUILD)/%.o)
# The library's version; the shared library's SONAME carries its ABI
# version (the major number): libag.so.0 -> libag.so.0.2.0.
VERSION  = 0.2.0
ABI      = 0
SONAME   = libag.so.$(ABI)

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

VALGRIND = valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
           --error-exitcode=1

.PHONY: FORCE all lib test test-build test-asan test-tsan test-kernels test-kernels-quick deps \
        install uninstall test-install clean readme-example examples data demo
all: lib
lib: $(BUILD)/libag.a $(BUILD)/libag.so

# Objects depend on the compiler and flags that built them: BUILD/cflags
# changes when they do (make NATIVE=1 after make rebuilds everything).
$(BUILD)/cflags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(ALL_HDRS) $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libag.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The shared library exports the public API alone (ag_*: exports.map);
# the internal agi_* functions stay inside it.
$(BUILD)/libag.so: $(LIB_OBJS) exports.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=exports.map \
	    -o $@ $(LIB_OBJS) $(LIBS)

# ------------------------------------------------------------------ tests
# Every tests/test_NAME.c defines Suite *suite_NAME(void); the runner
# gathers them from this generated list.
$(BUILD)/suites.h: $(TEST_SRCS)
	@mkdir -p $(BUILD)
	@for f in $(sort $(notdir $(filter tests/test_%.c,$(TEST_SRCS)))); do \
	    n=$${f%.c}; echo "AG_SUITE($${n#test_})"; done > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/%.o: tests/%.c $(ALL_HDRS) $(wildcard tests/*.h) $(BUILD)/suites.h $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD) -Itests $(CHECK_CFLAGS) -c $< -o $@

# tests/tests.mk may add link flags for the runner (TEST_LDFLAGS).
-include tests/tests.mk
$(BUILD)/test_runner: $(TEST_OBJS) $(BUILD)/libag.a
	$(CC) -o $@ $(TEST_OBJS) $(BUILD)/libag.a $(CHECK_LIBS) $(LIBS) $(TEST_LDFLAGS)

test-build: $(BUILD)/test_runner

deps:
	@sh scripts/ensure-deps.sh

# The README's example, extracted and built as a user would build it.
readme-example: $(BUILD)/libag.a
	@mkdir -p $(BUILD)
	@awk '/<!-- example:end -->/{f=0} f && !/^```/{print} /<!-- example:begin -->/{f=1}' \
	    README.md > $(BUILD)/readme_example.c
	$(CC) $(WARN) $(INC) $(BUILD)/readme_example.c -o $(BUILD)/readme_example \
	    $(BUILD)/libag.a $(LIBS)
	$(BUILD)/readme_example

test: deps
	@$(MAKE) --no-print-directory test-build
	CK_DEFAULT_TIMEOUT=120 $(BUILD)/test_runner
	@$(MAKE) --no-print-directory test-kernels-quick
	@$(MAKE) --no-print-directory readme-example
	@$(MAKE) --no-print-directory test-install
	@echo "== the examples, each with --quick (their error paths also under Valgrind)"
	@$(MAKE) --no-print-directory data examples
	@$(MAKE) --no-print-directory BUILD=build/valgrind ARCH= OPT="-O1 -g" test-build examples
	sh tests/run_examples.sh $(BUILD)/examples build/valgrind/examples
	@echo "== the same suites under Valgrind (no AVX-512: Valgrind lacks it)"
	CK_FORK=no $(VALGRIND) build/valgrind/test_runner

# Every kernel path on this machine: the suites again with AG_KERNEL
# forcing the AVX2 and the baseline (portable) kernels (the run above took
# the best, AVX-512 here; a path the CPU lacks runs the best it has).
# test-kernels runs every suite (some minutes each); make test runs the
# suites of the per-ISA kernels alone (KERNEL_SUITES, about a minute).
KERNEL_PATHS  = avx2 portable
KERNEL_SUITES = isa matmul matmul_kernel matmul_bcast vmath conv conv_layers pool unary binary \
                activation pointwise norm_ops reduce update data
test-kernels: test-build
	@for k in $(KERNEL_PATHS); do echo "== the suites with AG_KERNEL=$$k"; \
	    AG_KERNEL=$$k CK_DEFAULT_TIMEOUT=120 $(BUILD)/test_runner || exit 1; done
test-kernels-quick: test-build
	@for k in $(KERNEL_PATHS); do for s in $(KERNEL_SUITES); do \
	    AG_KERNEL=$$k CK_RUN_SUITE=$$s CK_DEFAULT_TIMEOUT=120 \
	    $(BUILD)/test_runner || { echo "suite $$s failed with AG_KERNEL=$$k"; exit 1; }; \
	    done; echo "== the kernels' suites pass with AG_KERNEL=$$k"; done

# Sanitizers: the same suites built with AddressSanitizer + UndefinedBehavior-
# Sanitizer (leaks included), and with ThreadSanitizer (less the one test
# tagged "fork": TSan cannot follow threads made in a forked child).
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer
test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan \
	    CFLAGS="$(SAN_FLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    LIBS="-lm -lpthread -fsanitize=address,undefined" test-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    CK_FORK=no build/asan/test_runner

test-tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan \
	    CFLAGS="$(SAN_FLAGS) -fsanitize=thread" LIBS="-lm -lpthread -fsanitize=thread" test-build
	TSAN_OPTIONS=halt_on_error=1 CK_EXCLUDE_TAGS=fork CK_FORK=no build/tsan/test_runner

# --------------------------------------------------------------- examples
# Each examples/NAME.c is one program, build/examples/NAME; the helpers
# (SVG plots, PNG pictures) are linked into each.
EX_HELPERS = examples/svg.c examples/png.c examples/data_dir.c
EX_HELPERS += examples/text_util.c
EX_SRCS  = $(filter-out $(EX_HELPERS),$(wildcard examples/*.c))
EX_BINS  = $(EX_SRCS:examples/%.c=$(BUILD)/examples/%)
EX_HOBJS = $(EX_HELPERS:%.c=$(BUILD)/%.o)

examples: $(EX_BINS)
.SECONDARY: $(EX_HOBJS)

$(BUILD)/examples/%: examples/%.c $(EX_HOBJS) $(BUILD)/libag.a $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iexamples $< $(EX_HOBJS) $(BUILD)/libag.a $(LIBS) -o $@

# Fashion-MNIST: Debian's dataset-fashion-mnist (installed when missing and
# possible), unpacked once into build/data/fashion-mnist.
FMNIST_DIR = build/data/fashion-mnist
data:
	@sh scripts/get-fashion-mnist.sh $(FMNIST_DIR)

# The main job: train the Fashion-MNIST classifier with the default settings.
DEMO_FLAGS ?=
demo: data $(BUILD)/examples/train_fmnist
	$(BUILD)/examples/train_fmnist --out build/demo $(DEMO_FLAGS)

# ---------------------------------------------------------------- install
# make install PREFIX=/usr/local [DESTDIR=/tmp/stage]: headers in
# include/ag/ (so `#include <ag/ag.h>`), libag.a, libag.so.VERSION with
# its SONAME link libag.so.ABI and the link-time name libag.so, and ag.pc
# for pkg-config. `make uninstall` with the same PREFIX/DESTDIR removes
# exactly those files.
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include
install: lib
	mkdir -p $(DESTDIR)$(INCDIR)/ag $(DESTDIR)$(LIBDIR)/pkgconfig
	cp $(PUB_HDRS) $(DESTDIR)$(INCDIR)/ag/
	cp $(BUILD)/libag.a $(DESTDIR)$(LIBDIR)/
	cp $(BUILD)/libag.so $(DESTDIR)$(LIBDIR)/libag.so.$(VERSION)
	ln -sf libag.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libag.so
	printf 'prefix=%s\nincludedir=$${prefix}/include\nlibdir=$${prefix}/lib\n\nName: ag\nDescription: tape-based automatic differentiation in C11\nVersion: %s\nCflags: -I$${includedir} -I$${includedir}/ag\nLibs: -L$${libdir} -lag\nLibs.private: -lm -lpthread\n' \
	    '$(PREFIX)' '$(VERSION)' > $(DESTDIR)$(LIBDIR)/pkgconfig/ag.pc

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCDIR)/ag/,$(notdir $(PUB_HDRS)))
	-rmdir $(DESTDIR)$(INCDIR)/ag 2>/dev/null
	rm -f $(DESTDIR)$(LIBDIR)/libag.a $(DESTDIR)$(LIBDIR)/libag.so \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libag.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/ag.pc

# Installs into a temporary prefix, then builds and runs a program with
# #include <ag/ag.h> through pkg-config, shared and static; checks the
# SONAME and that no internal symbol is exported (part of make test).
test-install: lib
	sh tests/install_test.sh

clean:
	rm -rf build

# Benchmarks (never part of make test): bench/bench.mk defines `make bench`.
-include bench/bench.mk
# Fuzzing with libFuzzer: fuzz/fuzz.mk defines `make fuzz`.
-include fuzz/fuzz.mk
# Differential tests against PyTorch: difftest/difftest.mk defines `make difftest`.
-include difftest/difftest.mk

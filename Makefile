# ag: a tape-based automatic differentiation engine in C11.
#
#   make                 static and shared library in build/
#   make test            Check suites, the README example, then the suites
#                        again under Valgrind (installs Check/Valgrind if missing)
#   make install PREFIX=/usr/local
#   make PORTABLE=1      a build that runs on any x86-64 (default: this CPU)

PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2
ifeq ($(PORTABLE),1)
ARCH    ?=
else
ARCH    ?= -march=native
endif

INC      = -I. -Iautograd -Iops -Inn -Ioptim
WARN     = -std=c11 -Wall -Wextra -Wpedantic -Werror
ALL_CFLAGS = $(WARN) $(OPT) $(ARCH) -fPIC -D_POSIX_C_SOURCE=200809L $(INC) $(CFLAGS)
LIBS     = -lm -lpthread

LIB_SRCS = $(wildcard autograd/*.c ops/*.c nn/*.c optim/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
PUB_HDRS = ag.h $(filter-out %internal.h %_base.h,$(wildcard autograd/*.h ops/*.h nn/*.h optim/*.h))
ALL_HDRS = $(wildcard *.h autograd/*.h ops/*.h nn/*.h optim/*.h)
TEST_SRCS = $(wildcard tests/*.c)
TEST_OBJS = $(TEST_SRCS:%.c=$(BUILD)/%.o)
VERSION  = 0.1.0

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

VALGRIND = valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
           --error-exitcode=1

.PHONY: all lib test test-build test-asan test-tsan deps install clean readme-example \
        examples data demo
all: lib
lib: $(BUILD)/libag.a $(BUILD)/libag.so

$(BUILD)/%.o: %.c $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libag.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libag.so: $(LIB_OBJS)
	$(CC) -shared -o $@ $^ $(LIBS)

# ------------------------------------------------------------------ tests
# Every tests/test_NAME.c defines Suite *suite_NAME(void); the runner
# gathers them from this generated list.
$(BUILD)/suites.h: $(TEST_SRCS)
	@mkdir -p $(BUILD)
	@for f in $(sort $(notdir $(filter tests/test_%.c,$(TEST_SRCS)))); do \
	    n=$${f%.c}; echo "AG_SUITE($${n#test_})"; done > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/%.o: tests/%.c $(ALL_HDRS) $(wildcard tests/*.h) $(BUILD)/suites.h
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
	@$(MAKE) --no-print-directory readme-example
	@echo "== the examples, each with --quick (their error paths also under Valgrind)"
	@$(MAKE) --no-print-directory data examples
	@$(MAKE) --no-print-directory BUILD=build/valgrind PORTABLE=1 OPT="-O1 -g" test-build examples
	sh tests/run_examples.sh $(BUILD)/examples build/valgrind/examples
	@echo "== the same suites under Valgrind (no AVX-512: Valgrind lacks it)"
	CK_FORK=no $(VALGRIND) build/valgrind/test_runner

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
# (plots) are linked into each.
EX_HELPERS = examples/svg.c
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
install: lib
	mkdir -p $(DESTDIR)$(PREFIX)/include/ag $(DESTDIR)$(PREFIX)/lib/pkgconfig
	cp $(PUB_HDRS) $(DESTDIR)$(PREFIX)/include/ag/
	cp $(BUILD)/libag.a $(BUILD)/libag.so $(DESTDIR)$(PREFIX)/lib/
	printf 'prefix=%s\nincludedir=$${prefix}/include/ag\nlibdir=$${prefix}/lib\n\nName: ag\nDescription: tape-based automatic differentiation in C11\nVersion: %s\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lag\nLibs.private: -lm -lpthread\n' \
	    '$(PREFIX)' '$(VERSION)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ag.pc

clean:
	rm -rf build

# Benchmarks (never part of make test): bench/bench.mk defines `make bench`.
-include bench/bench.mk
# Fuzzing with libFuzzer: fuzz/fuzz.mk defines `make fuzz`.
-include fuzz/fuzz.mk
# Differential tests against PyTorch: difftest/difftest.mk defines `make difftest`.
-include difftest/difftest.mk

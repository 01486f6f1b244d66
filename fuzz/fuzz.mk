# fuzz/fuzz.mk: fuzzing with libFuzzer (included by the top Makefile).
#
#   make fuzz                  every target for FUZZ_SECONDS (default 60) each
#   make fuzz FUZZ_TARGETS=api FUZZ_SECONDS=600
#   make fuzz-build            the fuzzers only: build/fuzz/fuzz_NAME
#   make fuzz-seeds            regenerates fuzz/corpus/{safetensors,idx} with the library
#   make fuzz-replay           runs every fuzzer once over its seeds (a quick regression)
#   make fuzz-crashes          runs each reproducer in fuzz/crashes/NAME-* (fails while a
#                              reported bug is not fixed)
#
# Targets (fuzz/fuzz_NAME.c, plus helpers fuzz/fuzz_NAME_*.c):
#   safetensors  the input is a file: ag_safetensors_open and every reader,
#                ag_safetensors_load, ag_module_load and ag_checkpoint_load
#                into a small fixed model (Linear, BatchNorm1d; a generator; every
#                optimizer, each stepped after a load that succeeds)
#   idx          the input is an image file and a label file: ag_idx_load on
#                both, ag_dataset_load_idx_classes, then splits, subsets, batches
#   api          the input is a program: random op sequences (shapes, dtypes,
#                axes, NULLs, stale and foreign tensors, invalid arguments, zero
#                dims next to huge ones), then ag_backward, ag_grad with
#                create_graph, a second-order pass, an optimizer step, a tape
#                reset, and again
#   files        the input is a list of paths: every loader given a FIFO with no
#                writer, a directory, /dev/null, a missing file, symlinks to them
#                and regular files of any content (the one file-opening path)
#
# The library is built with clang and -fsanitize=fuzzer-no-link,address,undefined
# into build/fuzz/obj; UBSan does not recover (an error is a crash) and
# LeakSanitizer is on, so a crash, a leak or undefined behaviour stops the run
# and leaves the input in build/fuzz/artifacts/. An allocation larger than the
# sanitizer's allocator gives returns NULL (allocator_may_return_null), as malloc
# would: the API fuzzer's empty tensors with huge dims make ops ask for 4 TB and
# more, which the library must then refuse as out of memory. The seeds in fuzz/corpus/NAME
# are read-only: new inputs go to build/fuzz/corpus/NAME.
#
# The fuzzer runtime is clang's compiler-rt (Debian: libclang-rt-14-dev). When it
# is missing, `make fuzz` installs it with apt-get as root, or prints the command.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors idx api files
FUZZ_BUILD   ?= build/fuzz
FUZZ_ARGS    ?=
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = $(WARN) -O1 -g -fno-omit-frame-pointer $(ARCH) -D_POSIX_C_SOURCE=200809L \
                $(INC) $(FUZZ_SAN)
FUZZ_LIB_OBJS = $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS     = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_ENV      = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The seed generator and the crash replays link no fuzzer main of their own.
FUZZ_SEED_BIN = $(FUZZ_BUILD)/make_seeds

.PHONY: fuzz fuzz-build fuzz-runtime fuzz-seeds fuzz-replay fuzz-crashes \
        $(FUZZ_TARGETS:%=fuzz-%)

fuzz: fuzz-build
	@for n in $(FUZZ_TARGETS); do \
	    $(MAKE) --no-print-directory fuzz-$$n || exit 1; done

# One target: fuzz-api, fuzz-idx, fuzz-safetensors.
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts
	@echo "== fuzz_$* for $(FUZZ_SECONDS) s (corpus $(FUZZ_BUILD)/corpus/$*, seeds fuzz/corpus/$*)"
	$(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$* $(FUZZ_BUILD)/corpus/$* fuzz/corpus/$* \
	    $(if $(wildcard fuzz/$*.dict),-dict=fuzz/$*.dict) \
	    -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$*- $(FUZZ_ARGS)

fuzz-build: fuzz-runtime $(FUZZ_BINS)

# clang and its fuzzer runtime: link an empty fuzzer to find out.
fuzz-runtime:
	@command -v $(FUZZ_CC) >/dev/null || { \
	    echo "fuzz: $(FUZZ_CC) not found: apt-get install -y clang"; exit 1; }
	@mkdir -p $(FUZZ_BUILD)
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
	    > $(FUZZ_BUILD)/probe.c
	@if ! $(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_BUILD)/probe.c -o $(FUZZ_BUILD)/probe 2>/dev/null; then \
	    v=$$($(FUZZ_CC) -dumpversion | cut -d. -f1); pkg=libclang-rt-$$v-dev; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "fuzz: installing the fuzzer runtime: apt-get install -y $$pkg"; \
	        apt-get install -y $$pkg || { apt-get update && apt-get install -y $$pkg; } || exit 1; \
	    else \
	        echo "fuzz: clang's libFuzzer runtime is missing; as root run: apt-get install -y $$pkg"; \
	        exit 1; \
	    fi; \
	fi

$(FUZZ_BUILD)/obj/%.o: %.c $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(wildcard fuzz/*.h fuzz/fuzz_*_*.c) $(FUZZ_LIB_OBJS) | fuzz-runtime
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ifuzz -fsanitize=fuzzer -o $@ fuzz/fuzz_$*.c \
	    $(wildcard fuzz/fuzz_$*_*.c) $(FUZZ_LIB_OBJS) $(LIBS)

# Seeds: valid files written by the library itself (the fuzzers' fixed model
# included), then a few hand-made edge cases; see fuzz/make_seeds.c.
fuzz-seeds: $(FUZZ_SEED_BIN)
	$(FUZZ_SEED_BIN) fuzz/corpus

$(FUZZ_SEED_BIN): fuzz/make_seeds.c $(wildcard fuzz/*.h) $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ifuzz -fsanitize=fuzzer-no-link -o $@ fuzz/make_seeds.c \
	    $(FUZZ_LIB_OBJS) $(LIBS)

# Every seed once: no crash, no leak.
fuzz-replay: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@for n in $(FUZZ_TARGETS); do \
	    echo "== fuzz_$$n over fuzz/corpus/$$n"; \
	    $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$n -runs=0 -artifact_prefix=$(FUZZ_BUILD)/artifacts/ \
	        fuzz/corpus/$$n || exit 1; done

# Known crashes (reported library bugs, fuzz/crashes/README.md): each file
# fuzz/crashes/NAME-* is an input for fuzz_NAME, each repro_X.c a program run
# once per mode in REPRO_X_MODES. Prints which still crash; fails while any
# does (so it passes once they are fixed).
REPRO_stale_tensor_MODES = set get clone zero_grad bce hinge embedding
REPRO_SRCS = $(wildcard fuzz/crashes/repro_*.c)
REPRO_NAMES = $(REPRO_SRCS:fuzz/crashes/repro_%.c=%)
REPRO_BINS = $(REPRO_NAMES:%=$(FUZZ_BUILD)/repro_%)

$(FUZZ_BUILD)/repro_%: fuzz/crashes/repro_%.c $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -o $@ $< $(FUZZ_LIB_OBJS) $(LIBS)

fuzz-crashes: fuzz-build $(REPRO_BINS)
	@st=0; for n in $(FUZZ_TARGETS); do for f in fuzz/crashes/$$n-*; do \
	    [ -e "$$f" ] || continue; \
	    if $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$n $$f >$(FUZZ_BUILD)/crash.log 2>&1; \
	    then echo "fixed:         $$f"; \
	    else echo "still crashes: $$f: $$(grep -m1 -E 'ERROR|runtime error' $(FUZZ_BUILD)/crash.log)"; st=1; fi; \
	done; done; \
	$(foreach r,$(REPRO_NAMES),for m in $(or $(REPRO_$(r)_MODES),run); do \
	    if $(FUZZ_ENV) $(FUZZ_BUILD)/repro_$(r) $$m >$(FUZZ_BUILD)/crash.log 2>&1; \
	    then echo "fixed:         repro_$(r) $$m"; \
	    else echo "still crashes: repro_$(r) $$m: $$(grep -m1 -E 'ERROR|runtime error' $(FUZZ_BUILD)/crash.log)"; st=1; fi; \
	done;) exit $$st

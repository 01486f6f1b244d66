# bench/bench.mk: `make bench` builds and runs every benchmark named in
# BENCH_TARGETS (never part of `make test`). To add one, write its rule
# below and append its name:  BENCH_TARGETS += bench-NAME
#
#   make bench                  all of them
#   make bench-matmul           ours vs OpenBLAS on the MLP's matmul shapes
#   make bench-matmul BENCH_RUNS=5
#
# Benchmarks link the static library built with the same flags as `make`
# (-O2 -march=native unless PORTABLE=1). OpenBLAS is linked by the
# reference programs in bench/ only, never by the library; it is installed
# with apt-get when missing (as root), else the command is printed.

BENCH_DIR     = $(BUILD)/bench
BENCH_CFLAGS  = $(WARN) $(OPT) $(ARCH) -D_POSIX_C_SOURCE=200809L $(INC) $(CFLAGS)
BENCH_RUNS   ?= 5
BENCH_TARGETS += bench-matmul

.PHONY: bench $(BENCH_TARGETS) bench-need-openblas
bench: $(BENCH_TARGETS)

bench-need-openblas:
	@printf '#include <cblas.h>\nint main(void){return 0;}\n' | \
	    $(CC) -x c - -lopenblas -o /dev/null 2>/dev/null || { \
	    echo "bench: OpenBLAS missing: apt-get install -y libopenblas-dev"; \
	    apt-get install -y -qq libopenblas-dev >/dev/null 2>&1 || { \
	    echo "bench: could not install it; run as root: apt-get install libopenblas-dev"; \
	    exit 1; }; }

$(BENCH_DIR)/bench_matmul: bench/bench_matmul.c bench/bench_shapes.h $(BUILD)/libag.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(BUILD)/libag.a $(LIBS)

$(BENCH_DIR)/openblas_matmul: bench/openblas_matmul.c bench/bench_shapes.h | bench-need-openblas
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ -lopenblas

bench-matmul: $(BENCH_DIR)/bench_matmul $(BENCH_DIR)/openblas_matmul
	@sh bench/matmul_table.sh $(BENCH_DIR)/bench_matmul $(BENCH_DIR)/openblas_matmul $(BENCH_RUNS)

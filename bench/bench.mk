# bench/bench.mk: `make bench` builds the benchmarks and runs bench/run.sh,
# which prints ONE table (ours, the peer's figure, ratio, target, met) and
# writes it to build/bench/table.md. Never part of `make test`.
#
#   make bench                  every row (about 2 to 10 minutes)
#   make bench BENCH_RUNS=3     fewer repetitions (default 5; median reported)
#   make bench-matmul           the matmul rows alone, ours vs OpenBLAS
#   make bench-conv             the conv2d row alone (and its PyTorch twin)
#   make vmath-ulp              the vector math's error in ulps against glibc,
#                               on every path (bench/vmath_ulp.c; some minutes)
#
# Each row is a pair: bench/NAME.c (ours, public API only) and its twin
# bench/NAME.py (PyTorch, run with /usr/bin/python3, Debian's python3-torch)
# or, for matmul, bench/openblas_matmul.c. To add a row, add its program to
# BENCH_PROGS (a rule below builds bench/NAME.c), its runs and its table
# line to bench/run.sh. BENCH_TARGETS lists what `make bench` runs.
#
# Benchmarks link the static library built with the same flags as `make`
# (-O2, and -march=native with NATIVE=1). OpenBLAS and PyTorch are the
# references only, never linked by the library; each is installed with
# apt-get when missing (as root), else the command is printed and the rows
# that need it say so.

BENCH_DIR     = $(BUILD)/bench
BENCH_CFLAGS  = $(WARN) $(OPT) $(ARCH) -D_POSIX_C_SOURCE=200809L $(INC) $(CFLAGS)
BENCH_RUNS   ?= 5
BENCH_PROGS   = bench_matmul bench_mlp bench_cnn bench_conv bench_scalar bench_step1 bench_hvp bench_pool \
                bench_lstm bench_attn bench_rnn_unrolled \
                bench_rosen_vec bench_batch \
                bench_vmath fmnist_synth core_pingpong
BENCH_BINS    = $(BENCH_PROGS:%=$(BENCH_DIR)/%)
BENCH_TARGETS += bench-table

.PHONY: bench bench-table bench-matmul bench-conv bench-need-openblas bench-need-torch \
        bench-openblas vmath-ulp bench-need-adolc bench-adolc
bench: $(BENCH_TARGETS)

bench-need-openblas:
	@printf '#include <cblas.h>\nint main(void){return 0;}\n' | \
	    $(CC) -x c - -lopenblas -o /dev/null 2>/dev/null || { \
	    echo "bench: OpenBLAS missing: apt-get install -y libopenblas-dev"; \
	    apt-get install -y -qq libopenblas-dev >/dev/null 2>&1 || { \
	    echo "bench: could not install it; run as root: apt-get install libopenblas-dev"; \
	    exit 1; }; }

# PyTorch from Debian, seen by Debian's interpreter only (a python3 earlier
# on PATH may not see it). Never fails: without it the PyTorch cells say why.
bench-need-torch:
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || { \
	    echo "bench: PyTorch missing: apt-get install -y python3-torch"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    { [ "$$(id -u)" = 0 ] && { apt-get install -y -qq python3-torch >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && \
	        apt-get install -y -qq python3-torch >/dev/null 2>&1; }; }; } || \
	    echo "bench: could not install it; run as root: apt-get install python3-torch"; }

$(BENCH_DIR)/%: bench/%.c bench/bench_util.h bench/bench_shapes.h $(BUILD)/libag.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(BUILD)/libag.a $(LIBS)

$(BENCH_DIR)/openblas_matmul: bench/openblas_matmul.c bench/bench_shapes.h | bench-need-openblas
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ -lopenblas

# ADOL-C (Debian's libadolc-dev, C++) for the scalar-chain and Rosenbrock
# rows: the reference only, installed like OpenBLAS when missing.
bench-need-adolc:
	@printf '#include <adolc/adolc.h>\nint main(){return 0;}\n' | \
	    $(CXX) -x c++ - -ladolc -o /dev/null 2>/dev/null || { \
	    echo "bench: ADOL-C missing: apt-get install -y libadolc-dev"; \
	    apt-get install -y -qq libadolc-dev >/dev/null 2>&1 || \
	    echo "bench: could not install it; run as root: apt-get install libadolc-dev"; }

$(BENCH_DIR)/adolc_scalar: bench/adolc_scalar.cpp | bench-need-adolc
	@mkdir -p $(dir $@)
	$(CXX) -O2 $(ARCH) $< -o $@ -ladolc

bench-adolc:
	@$(MAKE) --no-print-directory $(BENCH_DIR)/adolc_scalar || \
	    echo "bench: the ADOL-C reference is not built; its rows will say so"

# The reference may be missing (no OpenBLAS, not root): the table says so.
bench-openblas:
	@$(MAKE) --no-print-directory $(BENCH_DIR)/openblas_matmul || \
	    echo "bench: the OpenBLAS reference is not built; the matmul rows will say so"

bench-table: $(BENCH_BINS) bench-openblas bench-adolc bench-need-torch data
	@sh bench/run.sh $(BENCH_DIR) $(BENCH_RUNS)

bench-conv: $(BENCH_DIR)/bench_conv $(BENCH_DIR)/fmnist_synth bench-need-torch
	@BENCH_ROWS=conv_f32_1 sh bench/run.sh $(BENCH_DIR) $(BENCH_RUNS)

bench-matmul: $(BENCH_DIR)/bench_matmul $(BENCH_DIR)/openblas_matmul
	@sh bench/matmul_table.sh $(BENCH_DIR)/bench_matmul $(BENCH_DIR)/openblas_matmul $(BENCH_RUNS)

# The error table of ops/ag_vmath.h: each path the CPU runs, forced by AG_KERNEL.
VMATH_ULP_FLAGS ?= --f32-stride 16 --f64-points 4000000
vmath-ulp: $(BENCH_DIR)/vmath_ulp
	@for k in avx512 avx2 portable; do AG_KERNEL=$$k $(BENCH_DIR)/vmath_ulp $(VMATH_ULP_FLAGS); done

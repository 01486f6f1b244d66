# difftest/difftest.mk: differential tests against PyTorch, included by the
# top Makefile (-include). See difftest/README.md.
#
#   make difftest             1,000 random graphs, this library against PyTorch f64
#                             (installs Debian's python3-torch when it can; otherwise
#                             says loudly that it SKIPPED and why)
#   make difftest DIFFTEST_N=5000 DIFFTEST_SEED=1001
#   make difftest DIFFTEST_KNOWN_BUGS=1   also the ops with known library bugs
#   make difftest-selftest    the harness itself: injected errors must be caught

DIFFTEST_N      ?= 1000
DIFFTEST_SEED   ?= 1
DIFFTEST_BATCH  ?= 100
DIFFTEST_PYTHON ?= /usr/bin/python3
DIFFTEST_KNOWN_BUGS ?= 0
DIFFTEST_SRCS = $(wildcard difftest/*.c)
DIFFTEST_GEN  = $(BUILD)/difftest/gen

.PHONY: difftest difftest-selftest

$(DIFFTEST_GEN): $(DIFFTEST_SRCS) difftest/gen.h $(ALL_HDRS) $(BUILD)/libag.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DIFFTEST_SRCS) $(BUILD)/libag.a $(LIBS) -o $@

difftest: $(DIFFTEST_GEN)
	@DIFFTEST_N=$(DIFFTEST_N) DIFFTEST_SEED=$(DIFFTEST_SEED) DIFFTEST_BATCH=$(DIFFTEST_BATCH) \
	    DIFFTEST_PYTHON=$(DIFFTEST_PYTHON) DIFFTEST_KNOWN_BUGS=$(DIFFTEST_KNOWN_BUGS) \
	    sh difftest/run.sh $(DIFFTEST_GEN)

difftest-selftest: $(DIFFTEST_GEN)
	@DIFFTEST_PYTHON=$(DIFFTEST_PYTHON) sh difftest/selftest.sh $(DIFFTEST_GEN)

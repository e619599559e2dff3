# mutau build. `make` builds the library, the `mutau` tool and the test programs
# with warnings as errors; `make test` runs the Check suites; `make asan` and
# `make tsan` run them under sanitizers; `make bench` runs the benchmarks;
# `make deps` installs the Debian packages the build needs (idempotent);
# `make install` copies the tool and its docs under PREFIX (DESTDIR for staging).
#
# Sources are found by wildcard: a new file in a module folder is built and
# linked without touching this file. Each tests/test_*.c is its own Check
# program, so suites are independent and run in parallel.

CC      ?= cc
BUILD   ?= build
# Our own kernels are compiled for this machine; oneDNN and OpenBLAS choose
# their kernels at run time. Override with ARCH= for a portable build.
ARCH    ?= -march=native
OPT     ?= -O2
SAN     ?=

# Pinning the OpenMP build of OpenBLAS: oneDNN runs on GNU OpenMP, and the
# pthreads build of OpenBLAS fights it for the cores (see docs/threading.md).
OPENBLAS_LIBDIR := $(shell pkg-config --variable=libdir openblas 2>/dev/null)

PKGS    := openblas libpng libjpeg zlib jansson plplot stb
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Open MPI: only the transport's own files (ps/mpi_*.c) and the MPI
# benchmark see <mpi.h>; everything links the library, which MPI initialises
# only for `mutau train --transport mpi`.
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null || pkg-config --libs ompi-c 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=gnu11 $(ARCH) -fopenmp -Wall -Wextra -Werror -Wno-unused-parameter \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(SAN) -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS += -fopenmp $(SAN) $(if $(OPENBLAS_LIBDIR),-Wl$(comma)-rpath$(comma)$(OPENBLAS_LIBDIR))
LDLIBS  += -ldnnl $(PKG_LIBS) $(MPI_LIBS) -lpthread -lm
comma := ,

MODULES  := core nn optim ps datasets models pca plot trainer sweep bench/lib
LIB_SRCS := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
TOOL_SRCS := $(wildcard tools/*.c)
TEST_SUPPORT_SRCS := $(filter-out tests/test_%.c,$(wildcard tests/*.c))
TEST_SRCS := $(wildcard tests/test_*.c)
BENCH_SRCS := $(wildcard bench/*.c)
# Programs the test suites start under mpirun (not Check suites themselves).
MPI_TEST_SRCS := $(wildcard tests/mpi/*.c)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/%.o)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)
MPI_TEST_BINS := $(MPI_TEST_SRCS:%.c=$(BUILD)/%)

LIB := $(BUILD)/libmutau.a
MUTAU := $(BUILD)/mutau
# The tool with the test-only fault hooks (trainer/fault.h): the files that
# call a hook compiled again with MUTAU_FAULT_HOOKS, linked ahead of the
# library, whose own copies are then never pulled in. Only the tests run it.
FAULT_SRCS := trainer/worker.c trainer/run.c
FAULT_OBJS := $(FAULT_SRCS:%.c=$(BUILD)/faults/%.o)
MUTAU_FAULTS := $(BUILD)/mutau-faults

.PHONY: all deps deps-bench test asan tsan tsan-threaded bench fuzz fuzz-build clean check-tests install uninstall
all: $(MUTAU) $(MUTAU_FAULTS) $(TEST_BINS) $(BENCH_BINS) $(MPI_TEST_BINS)

deps:
	@sh scripts/install-deps.sh

deps-bench:
	@sh scripts/install-deps.sh --bench

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/ps/mpi_%.o: CFLAGS += $(MPI_CFLAGS)
$(BUILD)/bench/mpi_%.o: CFLAGS += $(MPI_CFLAGS)
# SphereConv's loops (the norms, arccos, d theta/dc) vectorise sqrtf and /
# (vsqrtps, vdivps: the same correctly rounded values) only when sqrtf need
# not set errno
$(BUILD)/nn/sphere_conv.o: CFLAGS += -fno-math-errno

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(MUTAU): $(TOOL_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $(TOOL_OBJS) $(LIB) $(LDLIBS) -o $@

$(BUILD)/faults/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMUTAU_FAULT_HOOKS -c $< -o $@

$(MUTAU_FAULTS): $(TOOL_OBJS) $(FAULT_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $(TOOL_OBJS) $(FAULT_OBJS) $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(TEST_SUPPORT_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $< $(TEST_SUPPORT_OBJS) $(LIB) $(LDLIBS) $(CHECK_LIBS) -o $@

$(BUILD)/tests/mpi/%: $(BUILD)/tests/mpi/%.o $(LIB)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# The source revision, recorded in run directories' config.json.
REVISION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/core/version.o: CFLAGS += -DMUTAU_REVISION='"$(REVISION)"'
# A stamp rewritten only when the revision changes, so version.o follows it.
$(BUILD)/core/version.o: $(BUILD)/core/revision.stamp
$(BUILD)/core/revision.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(REVISION)' | cmp -s - $@ || echo '$(REVISION)' > $@
.PHONY: FORCE
FORCE:

# The test programs get the path of the built tool, so end-to-end tests can run it.
# SUITES="ps train" runs only those (tests/test_ps, tests/test_train).
SUITES ?=
RUN_BINS := $(if $(strip $(SUITES)),$(SUITES:%=$(BUILD)/tests/test_%),$(TEST_BINS))
test: all
	@MUTAU=$(abspath $(MUTAU)) MUTAU_SRC=$(CURDIR) sh tests/run.sh $(RUN_BINS)

asan:
	$(MAKE) BUILD=build/asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# ThreadSanitizer cannot see inside GNU OpenMP's barriers, so the tsan build
# runs the suites with one OpenMP thread per worker (see tests/run.sh); races
# between mutau's own threads are what it checks. `make tsan-threaded` (CI)
# runs only the suites whose code starts threads of its own: the parameter
# server's modes and methods, the trainers with their workers and loader
# threads, the data pipeline.
TSAN_SUITES := ps ps_modes ps_methods ps_net train_ps train datasets_pipeline
tsan:
	MUTAU_TSAN=1 $(MAKE) BUILD=build/tsan OPT=-O1 SAN="-fsanitize=thread" test

tsan-threaded:
	$(MAKE) tsan SUITES="$(TSAN_SUITES)"

bench: all
	@sh bench/run.sh $(BUILD)

# Fuzzing: one libFuzzer target per parser of untrusted bytes
# (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/NAME/), built with clang under
# AddressSanitizer + UBSan into build/fuzz (its own objects: the gcc build is
# untouched; all of it carries libFuzzer's coverage instrumentation) and run
# FUZZ_SECONDS each; any crash, leak or sanitizer report
# fails. See docs/reliability.md. clang compiles the OpenMP pragmas away
# (-fopenmp=libgomp): the parsers are serial, and only libgomp is linked. The
# library is compiled for this machine ($(ARCH)) as in the gcc build: its
# vector code (nn/sphere_conv.c's 16-lane sums) needs the same ISA.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=gnu11 $(ARCH) -fopenmp=libgomp -Wall -Wextra -Werror -Wno-unused-parameter \
                -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                -I. $(PKG_CFLAGS) -MMD -MP
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_UTIL_OBJ := $(FUZZ_DIR)/obj/tests/fuzz/util.o

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/ps/mpi_%.o: FUZZ_CFLAGS += $(MPI_CFLAGS)

$(FUZZ_DIR)/libmutau.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_UTIL_OBJ) $(FUZZ_DIR)/libmutau.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(LDLIBS) -lgomp \
	    $(if $(OPENBLAS_LIBDIR),-Wl$(comma)-rpath$(comma)$(OPENBLAS_LIBDIR)) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

clean:
	rm -rf build

# The tool in PREFIX/bin, the README and docs/ (with its figures, so the
# pages' links hold) in PREFIX/share/doc/mutau. DESTDIR stages a package.
PREFIX  ?= /usr/local
DOCDIR  := $(DESTDIR)$(PREFIX)/share/doc/mutau
install: $(MUTAU)
	install -d $(DESTDIR)$(PREFIX)/bin $(DOCDIR)/docs/figures
	install -m 755 $(MUTAU) $(DESTDIR)$(PREFIX)/bin/mutau
	install -m 644 README.md $(DOCDIR)/
	install -m 644 $(wildcard docs/*.md) $(DOCDIR)/docs/
	install -m 644 $(wildcard docs/figures/*) $(DOCDIR)/docs/figures/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mutau
	rm -rf $(DOCDIR)

-include $(LIB_OBJS:.o=.d) $(TOOL_OBJS:.o=.d) $(TEST_BINS:=.d) $(TEST_SUPPORT_OBJS:.o=.d) \
         $(MPI_TEST_BINS:=.d) $(FAULT_OBJS:.o=.d)
-include $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/obj/tests/fuzz/*.d)

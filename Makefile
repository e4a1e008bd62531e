# ndpar: one non-recursive GNU Make build. Outputs go under build/ (ignored by git).
#
#   make            build every library, test, benchmark and tool (installs nothing: a
#                   missing package is named, with the command that installs it)
#   make run        build and run the default workload
#   make check      build and run every module's tests (make test-<module>: one module)
#   make bench      build and run every benchmark (sequential vs ndpar vs OpenMP)
#   make bench-deps install the benchmarks' peers (oneTBB, Rayon: cargo, librust-rayon-dev; pandas)
#   make bench-peers-check  check those peers (every index run once, exact sums)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install missing Debian -dev packages (as root, waiting for the apt lock)
#   make test-ref   the internal reference library's own tests (ref/, tests/ref/)
#   make test-mpi   the mpi module's tests under mpirun -np 1..4 (part of make check)
#   make check-mpich the same with MPICH instead of Open MPI, in build/mpich
#   make check SANITIZE=address,undefined | SANITIZE=thread
#                   the same tests under a sanitizer, built in build/san-<kinds>/

VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
DESTDIR      ?=
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
DOCDIR       ?= $(PREFIX)/share/doc/ndpar

# Modules in dependency order; a module may use lib/ and the modules before it.
MODULES      := pool io pipeline batch preprocess grad cv models ensemble grid scalability
# What each module links below itself (besides core).
MODDEPS_pool :=
MODDEPS_pipeline := pool
MODDEPS_batch := pool
MODDEPS_grad := pool
MODDEPS_preprocess := pool
MODDEPS_cv := pool
MODDEPS_models := cv grad batch preprocess pool
MODDEPS_grid := models cv grad batch preprocess pool
MODDEPS_ensemble := models cv grad batch preprocess pool
MODDEPS_scalability := pool
MODDEPS_io := pool
# Built apart, with mpicc (the only part that needs MPI), on the modules above.
MPI_MODULES  := mpi
MODDEPS_mpi  := grid models cv grad batch preprocess pool

SHELL        := /bin/bash
CC           ?= cc
OPT          ?= -O2
CFLAGS_BASE  := -std=c11 $(OPT) -g -fPIC -pthread -Wall -Wextra -Wpedantic \
                -fvisibility=hidden -D_GNU_SOURCE -Iinclude -Ilib -Imodules
LDLIBS_BASE  := -lgsl -lgslcblas -lhwloc -lm -pthread

comma        := ,
empty        :=
space        := $(empty) $(empty)
ifneq ($(SANITIZE),)
  BUILD      := build/san-$(subst $(comma),-,$(SANITIZE))
  CFLAGS_SAN := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
  BUILD      := build
  CFLAGS_SAN :=
endif

CFLAGS_ALL   := $(CFLAGS_BASE) $(CFLAGS_SAN) $(CFLAGS)
LDFLAGS_ALL  := $(CFLAGS_SAN) $(LDFLAGS)

# Every object depends on the compile flags: the stamp is rewritten only when they change
# (a new warning or -fvisibility, CFLAGS=...), so such a change rebuilds every object.
CFLAGS_STAMP := $(BUILD)/.cflags
ifneq ($(file <$(CFLAGS_STAMP)),$(CFLAGS_ALL))
  $(shell mkdir -p $(BUILD))
  $(file >$(CFLAGS_STAMP),$(CFLAGS_ALL))
endif

# Tests run one at a time: they pin pools to cores, so parallel test processes would
# oversubscribe the machine and measure nothing true.
TEST_ARGS    ?= --jobs 1

.PHONY: all libs check bench run install uninstall clean deps tests benches examples tools \
        depcheck check-build check-examples $(addprefix test-,core $(MODULES) ref scalebench) \
        $(addprefix bench-,$(MODULES)) mpi test-mpi bench-mpi

all: libs tests benches examples tools

# ---------------------------------------------------------------- dependencies
DEPS_PKGS    := libgsl-dev libhwloc-dev libcriterion-dev libopenmpi-dev openmpi-bin
# locales: the io tests build a decimal-comma locale (localedef) to show numbers ignore setlocale.
DEPS_PKGS    += locales
# python3-numpy: the io tests check .npy files against numpy (skipped without it).
DEPS_PKGS    += python3-numpy

deps:
	@sh tools/deps.sh --install $(DEPS_PKGS)

# Every compile waits for the dependency check (order-only). Building (make, make all)
# only checks and names what is missing; the set-up targets (make check, make run, a
# module's tests, the benchmarks) install it first, as make deps does, so a fresh machine
# needs no step of its own.
DEPS_MODE    := --check
ifneq ($(filter check run bench bench-% test-%,$(MAKECMDGOALS)),)
  DEPS_MODE  := --install
endif
depcheck:
	@sh tools/deps.sh $(DEPS_MODE) $(DEPS_PKGS)

# What the benchmarks compare with, never needed by the library or its tests: oneTBB, and
# Rayon (Debian's cargo and rustc, and Rayon's packaged sources).
BENCH_DEPS_PKGS += libtbb-dev
BENCH_DEPS_PKGS += cargo librust-rayon-dev
.PHONY: bench-deps
bench-deps:
	@sh tools/deps.sh --install $(BENCH_DEPS_PKGS)

# ---------------------------------------------------------------- libraries
CORE_SRC     := $(wildcard lib/*.c)
CORE_OBJ     := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CORE_LIB     := $(BUILD)/lib/libndpar_core.a

# Every archive is written anew (rm first): `ar rcs` only adds and replaces members, so the
# object of a source file that was removed would stay in an existing archive.
define module_rules
$(1)_SRC := $$(wildcard modules/$(1)/*.c)
$(1)_OBJ := $$($(1)_SRC:%.c=$(BUILD)/obj/%.o)
$(1)_LIB := $(BUILD)/lib/libndpar_$(1).a
$$($(1)_LIB): $$($(1)_OBJ)
	@mkdir -p $$(@D)
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

ALL_OBJ      := $(CORE_OBJ) $(foreach m,$(MODULES),$($(m)_OBJ))
MOD_LIBS     := $(foreach m,$(MODULES),$($(m)_LIB))
ALL_LIB      := $(BUILD)/lib/libndpar.a
SO_NAME      := libndpar.so.$(SOVERSION)
SO_FILE      := $(BUILD)/lib/libndpar.so.$(VERSION)

# Link line of one module: itself, the modules it builds on, then core.
# (Static archives are searched left to right, so users come before providers.)
mod_link = $($(1)_LIB) $(foreach d,$(MODDEPS_$(1)),$($(d)_LIB)) $(CORE_LIB)

$(BUILD)/obj/%.o: %.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The column-statistics passes loop over columns, a count known only at run time; GCC's
# -O2 cost model does not vectorise such loops and -O3 does: the scaler fit of a 4M x 8
# matrix takes 24 ms instead of 33 (docs/PERFORMANCE.md). Only this module needs it. The
# portable MINMAX1 transform selects the exact ends per value (v == min ? -1 : ...), which GCC turns
# into vector blends only under -fno-trapping-math (the module reads no FP exception flags;
# the results are the same bits): without it that transform ran at 3x the memory floor.
$(BUILD)/obj/modules/preprocess/%.o: CFLAGS_ALL += -O3 -fno-trapping-math
# The MLP's layer products are axpy loops over a layer's units (a run-time count): -O3
# vectorises them, -O2 does not (one training epoch of bench/models: about 2x faster). The
# same operations in the same order either way (no -ffast-math): the same bits.
$(BUILD)/obj/modules/models/mlp.o: CFLAGS_ALL += -O3

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(ALL_LIB): $(ALL_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(SO_FILE): $(ALL_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SO_NAME) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_BASE)
	ln -sf libndpar.so.$(VERSION) $(BUILD)/lib/$(SO_NAME)
	ln -sf $(SO_NAME) $(BUILD)/lib/libndpar.so

libs: $(CORE_LIB) $(MOD_LIBS) $(ALL_LIB) $(SO_FILE)

# ---------------------------------------------------------------- reference library
# ref/: the reference workload (MLP autoregressor, SGD, data loading), its kernels three
# ways (sequential, ndpar, OpenMP) and the timing method that benchmarks, scalebench,
# examples and tests share. Built to libndpar_ref.a, never installed, not part of the API;
# its users include it as "ref/<name>.h". Only the OpenMP kernels are built with -fopenmp;
# a program that links them links with -fopenmp too.
REF_SRC      := $(wildcard ref/*.c)
REF_OBJ      := $(REF_SRC:%.c=$(BUILD)/obj/%.o)
REF_LIB      := $(BUILD)/lib/libndpar_ref.a
REF_CFLAGS   := -I.

$(BUILD)/obj/ref/%.o: CFLAGS_ALL += $(REF_CFLAGS) -DNDPAR_BUILD_DATA_DIR='"$(CURDIR)/data"'
$(BUILD)/obj/ref/kernels.o: CFLAGS_ALL += -fopenmp
$(BUILD)/obj/ref/kernel_pipeline.o: CFLAGS_ALL += -fopenmp

$(REF_LIB): $(REF_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# ---------------------------------------------------------------- tests
CRITERION_LIBS := -lcriterion
TEST_MODULES := core $(MODULES) ref scalebench badinput
# tests/badinput calls every public function of every module: it links the whole library.
badinput_LIB := $(ALL_LIB)
$(BUILD)/obj/tests/%.o: CFLAGS_ALL += -Itests/common $(REF_CFLAGS)

# The shared test helpers ask the pool for the core count, so every test binary links it.
POOL_FOR_CORE_TESTS = $(pool_LIB)
TEST_COMMON_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out tests/common/ridge.c,$(wildcard tests/common/*.c)))
# The cv and grid tests' model (ridge regression) needs the cv module: linked there alone.
RIDGE_OBJ    := $(BUILD)/obj/tests/common/ridge.o
# Under ThreadSanitizer, Criterion needs its arena moved (see tests/tsan/criterion_arena_shim.c).
ifneq ($(filter thread,$(subst $(comma), ,$(SANITIZE))),)
  TEST_COMMON_OBJ += $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/tsan/*.c))
endif

# What a module's test binary links: the reference library (which reads its data with the
# io module), the module and those below it. core and scalebench need only the pool and
# core; ref's own tests the whole library.
test_link = $(if $(filter core scalebench,$(1)),$(POOL_FOR_CORE_TESTS) $(CORE_LIB),\
  $(if $(filter ref,$(1)),$(REF_LIB) $(ALL_LIB),$(REF_LIB) $(io_LIB) $(call mod_link,$(1))))

define test_rules
$(1)_TEST_SRC := $$(wildcard tests/$(1)/*.c)
$(1)_TEST_OBJ := $$($(1)_TEST_SRC:%.c=$(BUILD)/obj/%.o)
$(1)_TEST_BIN := $(BUILD)/tests/test_$(1)
$$($(1)_TEST_BIN): $$($(1)_TEST_OBJ) $(TEST_COMMON_OBJ) $$(call test_link,$(1))
	@mkdir -p $$(@D)
	$$(CC) $(LDFLAGS_ALL) -o $$@ $$^ $(CRITERION_LIBS) $(LDLIBS_BASE) -ldl
test-$(1): $$($(1)_TEST_BIN)
	@tools/run-tests.sh $$($(1)_TEST_BIN) $(TEST_ARGS)
endef
$(foreach m,$(TEST_MODULES),$(eval $(call test_rules,$(m))))

TEST_BINS    := $(foreach m,$(TEST_MODULES),$($(m)_TEST_BIN))

$(cv_TEST_BIN) $(grid_TEST_BIN): $(RIDGE_OBJ)

# The pool's tests call runs from inside `omp parallel` regions (GCC's libgomp, linked by
# path so that the shared test link line stays as it is).
$(BUILD)/obj/tests/pool/test_pool_concurrent.o: CFLAGS_ALL += -fopenmp
$(pool_TEST_BIN): $(shell $(CC) -print-file-name=libgomp.so)

# The models tests read scikit-learn's references (tests/models/sklearn_reference.py).
$(BUILD)/obj/tests/models/%.o: CFLAGS_ALL += -DNDPAR_TEST_MODELS_DATA='"$(CURDIR)/tests/models/data"'

# The io tests read the bundled data.
$(BUILD)/obj/tests/io/%.o: CFLAGS_ALL += -DNDPAR_TEST_DATA_DIR='"$(CURDIR)/data"'

# The scalebench tests run the built tool (of the same build: sanitized builds test a
# sanitized tool).
$(BUILD)/obj/tests/scalebench/%.o: CFLAGS_ALL += -DSCALEBENCH_BIN='"$(abspath $(SCALEBENCH))"' \
  -DSCALEBENCH_DATA='"$(CURDIR)/data"'

tests: $(TEST_BINS)

# The badinput harness checks that a failing call's last error names one of the called
# function's parameters: their names, generated from the headers.
BI_PARAMS := $(BUILD)/gen/bi_params.c
$(BI_PARAMS): tools/public-params.sh $(wildcard include/ndpar/*.h)
	@mkdir -p $(@D)
	{ echo '/* Generated by tools/public-params.sh: parameter names of the public functions. */'; \
	  echo '#include "badinput.h"'; echo 'const bi_params bi_params_of[] = {'; \
	  tools/public-params.sh; echo '};'; \
	  echo 'const size_t bi_params_count = sizeof bi_params_of / sizeof *bi_params_of;'; } > $@.tmp
	mv $@.tmp $@
$(BUILD)/obj/gen/bi_params.o: $(BI_PARAMS) $(CFLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itests/badinput -c $< -o $@
$(badinput_TEST_BIN): $(BUILD)/obj/gen/bi_params.o

# Every public function must have a bad-input case (tests/badinput).
.PHONY: badinput-coverage
badinput-coverage:
	@tools/badinput-coverage.sh
test-badinput: badinput-coverage

# Every module's tests, one binary after another; the first failure fails the target.
# A plain build then checks the build itself (check-build).
check: $(TEST_BINS) badinput-coverage
	@set -e; for m in $(TEST_MODULES); do \
	  echo "== test-$$m"; tools/run-tests.sh $(BUILD)/tests/test_$$m $(TEST_ARGS); done
ifeq ($(SANITIZE),)
	@$(MAKE) --no-print-directory check-build
	@$(MAKE) --no-print-directory check-install
endif

# The build's own checks: who may include what (tools/check-layering.sh), includes at the
# top and guards closing at the end (tools/check-headers.sh), that libndpar.so exports only
# ndpar_ names (tools/check-exports.sh), and that a public header's change rebuilds every
# object that includes it (tools/check-rebuild.sh, on the built tree).
check-build: all check-examples
	@tools/check-layering.sh
	@tools/check-headers.sh
	@tools/check-umbrella.sh $(CC)
	@tools/check-doc-blocks.sh docs/*.md README.md include/ndpar/*.h
	@tools/check-reference.sh
	@tools/check-exports.sh $(SO_FILE) $(filter-out include/ndpar/ndpar_mpi.h,$(wildcard include/ndpar/*.h))
	@tools/check-exports.sh $(MPI_SO) include/ndpar/ndpar_mpi.h
	@tools/check-rebuild.sh include/ndpar/ndpar_pool.h
	@! $(MAKE) --no-print-directory -n all | grep -E 'apt-get|deps\.sh --install' \
	  || { echo "check-build: make all would install packages" >&2; exit 1; }
	@echo "check-build: ok (make all only checks for packages, never installs)"

# Every example that needs only the library, built as a user builds it: against a staged
# install's headers and archive, with -Werror (tools/check-examples.sh), and run.
STAGE        := $(BUILD)/stage
check-examples: all
	@$(MAKE) --no-print-directory install DESTDIR=$(abspath $(STAGE)) PREFIX=/usr >/dev/null
	@$(foreach e,$(PIPELINE_EXAMPLES),EXAMPLE_ARGS_$(e)='$(EXAMPLE_ARGS_$(e))') \
	  tools/check-examples.sh $(abspath $(STAGE))/usr $(BUILD) $(CC)

# ---------------------------------------------------------------- mpi
# The mpi module alone is built with mpicc (Open MPI, or MPICH): no other module, tool or
# test needs MPI, and libndpar.so does not link it. libndpar_mpi.so carries private
# (hidden) copies of the modules it builds on, so it needs nothing of libndpar.so's
# internals; link a program with -lndpar_mpi -lndpar (pkg-config ndpar-mpi).
MPICC        ?= mpicc
MPIRUN       ?= mpirun
MPI_NPS      ?= 1 2 3 4
MPI_SRC      := $(wildcard modules/mpi/*.c)
MPI_OBJ      := $(MPI_SRC:%.c=$(BUILD)/obj/%.o)
MPI_LIB      := $(BUILD)/lib/libndpar_mpi.a
MPI_SO       := $(BUILD)/lib/libndpar_mpi.so.$(VERSION)
MPI_LINK     := $(MPI_LIB) $(foreach d,$(MODDEPS_mpi),$($(d)_LIB)) $(CORE_LIB)

$(BUILD)/obj/modules/mpi/%.o: modules/mpi/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(MPICC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(MPI_LIB): $(MPI_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(MPI_SO): $(MPI_OBJ) $(foreach d,$(MODDEPS_mpi),$($(d)_LIB)) $(CORE_LIB)
	@mkdir -p $(@D)
	$(MPICC) -shared -Wl,-soname,libndpar_mpi.so.$(SOVERSION) $(LDFLAGS_ALL) -o $@ $^ \
	  -Wl,--exclude-libs,ALL $(LDLIBS_BASE)
	ln -sf libndpar_mpi.so.$(VERSION) $(BUILD)/lib/libndpar_mpi.so.$(SOVERSION)
	ln -sf libndpar_mpi.so.$(SOVERSION) $(BUILD)/lib/libndpar_mpi.so

mpi: $(MPI_LIB) $(MPI_SO)
libs: mpi

# One test binary (tests/mpi), run under mpirun at every rank count of MPI_NPS. It is not
# a Criterion binary: Criterion forks a process per test, which MPI forbids after MPI_Init
# (see tests/mpi/test_mpi.c). Open MPI asks for two variables to run as root.
MPI_TEST_SRC := $(wildcard tests/mpi/*.c)
MPI_TEST_OBJ := $(MPI_TEST_SRC:%.c=$(BUILD)/obj/%.o)
MPI_TEST_BIN := $(BUILD)/tests/test_mpi
MPIRUN_ARGS  ?= --oversubscribe
MPI_ROOT_ENV := OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI_EXAMPLE  := $(BUILD)/examples/train_sgd_mpi

$(BUILD)/obj/tests/mpi/%.o: tests/mpi/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(MPICC) $(CFLAGS_ALL) -Itests/common $(REF_CFLAGS) -MMD -MP -c $< -o $@

# The shared test helpers (ridge model) link Criterion's library; the runner is our own.
$(MPI_TEST_BIN): $(MPI_TEST_OBJ) $(RIDGE_OBJ) $(TEST_COMMON_OBJ) $(REF_LIB) $(MPI_LINK)
	@mkdir -p $(@D)
	$(MPICC) $(LDFLAGS_ALL) -o $@ $^ $(CRITERION_LIBS) $(LDLIBS_BASE)

tests: $(MPI_TEST_BIN)

# Under ASan, LeakSanitizer needs full stacks (fast_unwind_on_malloc=0) to see that an
# allocation came from MPI's libraries, which tests/mpi/lsan.supp names.
MPI_TEST_ENV := $(MPI_ROOT_ENV) ASAN_OPTIONS=fast_unwind_on_malloc=0 \
                LSAN_OPTIONS=suppressions=$(CURDIR)/tests/mpi/lsan.supp:print_suppressions=0
# Open MPI 4.1's osc/sm and osc/rdma name a window's shared-memory file by job and context
# id, and the two disjoint halves of MPI_Comm_split in the subcommunicators test share a
# context id: windows created by both halves at the same moment unlink each other's file
# (MPI_ERR_WIN). Whether they meet is timing (with NDPAR_SPIN_US=0 every run does); osc/pt2pt
# has no such file.
MPI_TEST_ENV += OMPI_MCA_osc=pt2pt

# Then the example's loss per epoch, which must be the same bits at every rank count.
test-mpi: $(MPI_TEST_BIN) $(MPI_EXAMPLE)
	@set -e; for np in $(MPI_NPS); do echo "== test-mpi -np $$np"; \
	  $(MPI_TEST_ENV) TEST_LOG=$(MPI_TEST_BIN).np$$np.log \
	  tools/run-tests.sh $(MPIRUN) $(MPIRUN_ARGS) -np $$np $(MPI_TEST_BIN); done
	@echo "== test-mpi -np 2 --bind-to none"; $(MPI_TEST_ENV) TEST_LOG=$(MPI_TEST_BIN).unbound.log \
	  tools/run-tests.sh $(MPIRUN) $(MPIRUN_ARGS) --bind-to none -np 2 $(MPI_TEST_BIN) --unbound
	@echo "== test-mpi -np 2, MPI_THREAD_SINGLE"; $(MPI_TEST_ENV) TEST_LOG=$(MPI_TEST_BIN).single.log \
	  tools/run-tests.sh $(MPIRUN) $(MPIRUN_ARGS) -np 2 $(MPI_TEST_BIN) --single
	@echo "== train_sgd_mpi: the same loss per epoch at np = $(MPI_NPS)"; set -e; \
	  for np in $(MPI_NPS); do $(MPI_TEST_ENV) TEST_LOG=$(MPI_EXAMPLE).np$$np.log \
	    tools/run-tests.sh $(MPIRUN) $(MPIRUN_ARGS) -np $$np $(MPI_EXAMPLE) --epochs 2 \
	    | grep '^epoch' > $(MPI_EXAMPLE).np$$np.out; done; \
	  for np in $(MPI_NPS); do test -s $(MPI_EXAMPLE).np$$np.out && \
	    cmp $(MPI_EXAMPLE).np1.out $(MPI_EXAMPLE).np$$np.out \
	    || { echo "train_sgd_mpi: the losses at np=$$np differ from np=1" >&2; exit 1; }; done; \
	  cat $(MPI_EXAMPLE).np1.out; echo "train_sgd_mpi: identical at np = $(MPI_NPS)"
	@echo "== scalebench --mpi at np = 2: a row per ranks x threads point, 1 x 1 the baseline"; set -e; \
	  csv=$(SCALEBENCH_MPI).np2.csv; rm -f $$csv; $(MPI_TEST_ENV) TEST_LOG=$(SCALEBENCH_MPI).np2.log \
	  tools/run-tests.sh $(MPIRUN) $(MPIRUN_ARGS) -np 2 $(SCALEBENCH) --mpi --quick --csv $$csv >/dev/null; \
	  for row in 'grid,1,1,.*,1.000000,1.000000,$$' 'grid,2,' 'grad,1,1,.*,1.000000,1.000000,[0-9.]*$$' \
	    'grad,2,.*,[0-9.]*$$'; do grep -q "^$$row" $$csv || { echo "scalebench --mpi: no row $$row in $$csv" >&2; exit 1; }; done; \
	  echo "scalebench --mpi: ok"

# ThreadSanitizer does not know MPI's shared-memory transport's synchronisation (it reports
# races inside Open MPI): the MPI tests run in the plain and ASan builds.
ifeq ($(filter thread,$(subst $(comma), ,$(SANITIZE))),)
check: test-mpi
endif

# make check-mpich: the same (the mpi module, tests/mpi at np = MPI_NPS, --bind-to none and
# MPI_THREAD_SINGLE, examples/train_sgd_mpi's losses, scalebench --mpi) with MPICH instead of
# Open MPI, in build/mpich (build/mpich-san-<kinds> with SANITIZE), then compares the
# example's losses with Open MPI's run of the same build kind. Debian installs MPICH beside Open MPI (mpich, libmpich-dev);
# its compiler and launcher are named explicitly, so the system's default MPI (the mpicc and
# mpirun alternatives) is left as it is. MPICH's launcher (Hydra) oversubscribes unasked and
# has no --oversubscribe.
MPICH_PKGS   := mpich libmpich-dev
MPICH_BUILD  := build/mpich$(if $(SANITIZE),-san-$(subst $(comma),-,$(SANITIZE)))
.PHONY: check-mpich
check-mpich:
	@sh tools/deps.sh --install $(MPICH_PKGS)
	@$(MAKE) --no-print-directory BUILD=$(MPICH_BUILD) MPICC=mpicc.mpich \
	  MPIRUN=mpirun.mpich MPIRUN_ARGS= test-mpi
	@if [ -s $(MPI_EXAMPLE).np1.out ]; then \
	  cmp $(MPI_EXAMPLE).np1.out $(MPICH_BUILD)/examples/train_sgd_mpi.np1.out \
	  || { echo "check-mpich: train_sgd_mpi's losses differ from Open MPI's" >&2; exit 1; }; \
	  echo "check-mpich: train_sgd_mpi's losses are Open MPI's, bit for bit"; \
	else echo "check-mpich: (no Open MPI run of train_sgd_mpi to compare with: make test-mpi)"; fi

# ---------------------------------------------------------------- fault injection
# tests/faults: one program over every module, linked with wrappers around every
# allocator and pthread_create (tests/faults/inject.c). make check-faults builds it with
# ASan (LeakSanitizer included) and UBSan, and fails the N-th allocation, then the N-th
# thread start, for every N the program reaches (tools/check-faults.sh).
FAULTS_WRAP  := malloc calloc realloc posix_memalign aligned_alloc pthread_create \
                gsl_matrix_alloc gsl_matrix_calloc gsl_vector_alloc gsl_vector_calloc \
                gsl_rng_alloc gsl_permutation_alloc
FAULTS_BIN   := $(BUILD)/tests/faults
FAULTS_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/faults/*.c))

$(FAULTS_BIN): $(FAULTS_OBJ) $(ALL_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(addprefix -Wl$(comma)--wrap=,$(FAULTS_WRAP)) -o $@ $^ $(LDLIBS_BASE)

# Built with the tests (for make check-faults, under ASan+UBSan).
tests: $(FAULTS_BIN)

.PHONY: check-faults faults
faults: $(FAULTS_BIN)
check-faults:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined faults
	@tools/check-faults.sh build/san-address-undefined/tests/faults \
	  build/san-address-undefined/lib/libndpar.a $(FAULTS_WRAP)

# ---------------------------------------------------------------- soak
# tests/soak: 4 application threads on the default pool, pools allocated and freed
# alongside, runs failing at random, for SOAK_SECONDS (make soak SANITIZE=thread in CI).
SOAK_BIN     := $(BUILD)/tests/soak
SOAK_SECONDS ?= 20

$(SOAK_BIN): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/soak/*.c)) $(ALL_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_BASE)

tests: $(SOAK_BIN)

.PHONY: soak
soak: $(SOAK_BIN)
	@SOAK_SECONDS=$(SOAK_SECONDS) tools/run-tests.sh $(SOAK_BIN)

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets (tests/fuzz/fuzz_<target>.c: the io module's CSV reader, scalebench's
# argument parser and baseline reader, the models module's file loader): the code under
# test is compiled by clang with coverage, ASan and UBSan; the rest of the program comes
# from the plain build.
# make fuzz: FUZZ_SECONDS (default 600) per target, new inputs merged into the corpus
# under tests/fuzz/corpus/<target>/; make fuzz-short: FUZZ_SECONDS=60, the tree untouched.
FUZZ_PKGS    := clang libclang-rt-14-dev
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -D_GNU_SOURCE -Iinclude -Ilib -Imodules $(REF_CFLAGS) -Itools/scalebench
FUZZ_TARGETS := csv io npy write args baseline model
# io: one thread, three threads and the streaming reader must agree on every input.
FUZZ_SRC_io  := $(wildcard modules/io/*.c)
FUZZ_LIB_io  := $(ALL_LIB)
FUZZ_SRC_csv := $(wildcard modules/io/*.c)
FUZZ_LIB_csv := $(ALL_LIB)
# model: the file loader (ndpar_model_load_bytes), every model type it builds and the
# scalers a loaded scaler step sets its statistics in.
FUZZ_SRC_model := $(wildcard modules/models/*.c modules/preprocess/*.c)
FUZZ_LIB_model := $(ALL_LIB)
# npy: the .npy reader on any bytes; write: any doubles written and read back bit for bit.
FUZZ_SRC_npy := $(wildcard modules/io/*.c)
FUZZ_LIB_npy := $(ALL_LIB)
FUZZ_SRC_write := $(wildcard modules/io/*.c)
FUZZ_LIB_write := $(ALL_LIB)
FUZZ_SRC_args := tools/scalebench/args.c tests/fuzz/usage_error.c
FUZZ_LIB_args := $(REF_LIB) $(ALL_LIB) -lgomp
FUZZ_SRC_baseline := tools/scalebench/output.c tests/fuzz/usage_error.c
FUZZ_LIB_baseline := $(ALL_LIB)
# The reader ends a bad baseline with an exit; the target jumps back instead and frees
# what the reader held (tests/fuzz/fuzz_baseline.c keeps the list).
FUZZ_DEFS_baseline := -Dmalloc=fuzz_malloc -Drealloc=fuzz_realloc -Dfree=fuzz_free
FUZZ_SECONDS ?= 600

define fuzz_rules
$(BUILD)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(filter %.a,$(FUZZ_LIB_$(1))) | fuzz-deps
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS_$(1)) -o $$@ tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_LIB_$(1)) $(LDLIBS_BASE)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rules,$(t))))
FUZZ_BINS    := $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/fuzz_$(t))

.PHONY: fuzz fuzz-short fuzz-deps fuzzers
fuzz-deps:
	@sh tools/deps.sh --install $(FUZZ_PKGS)
fuzzers: $(FUZZ_BINS)
fuzz: $(FUZZ_BINS)
	@tools/fuzz.sh $(FUZZ_SECONDS) merge $(BUILD)/fuzz $(FUZZ_TARGETS)
fuzz-short: $(FUZZ_BINS)
	@tools/fuzz.sh 60 keep $(BUILD)/fuzz $(FUZZ_TARGETS)

# ---------------------------------------------------------------- benchmarks
# Benchmarks compare sequential, ndpar and OpenMP on one kernel in one run: bench/<name>/
# holds the benchmark's main alone, everything shared comes from ref/.
BENCH_NAMES  := $(filter $(MODULES),$(notdir $(patsubst %/,%,$(wildcard bench/*/))))

# ---- the peers: oneTBB and Rayon (make bench-deps installs them; the library never
# needs them). Each is used where it is installed, else skipped with a note; the C side
# learns which through -DNDPAR_BENCH_HAVE_TBB / -DNDPAR_BENCH_HAVE_RAYON.
BENCH_PEER_CFLAGS :=
BENCH_PEER_LIBS :=
BENCH_PEER_LDLIBS :=
BENCH_PEER_NOTES :=

# oneTBB: every bench/<name>/*.cpp, compiled with g++ where Debian's libtbb-dev is, and
# linked into bench_<name> with libtbb and libstdc++ by path, so that the link line stays C.
TBB_HEADER   := $(wildcard /usr/include/oneapi/tbb.h)
ifneq ($(TBB_HEADER),)
  BENCH_PEER_CFLAGS += -DNDPAR_BENCH_HAVE_TBB
  BENCH_PEER_LIBS += $(firstword $(wildcard /usr/lib/*/libtbb.so /usr/lib/libtbb.so)) \
                     $(shell $(CXX) -print-file-name=libstdc++.so)
  bench_cxx_obj = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard bench/$(1)/*.cpp))
else
  BENCH_PEER_NOTES += TBB: not installed (make bench-deps), the benchmarks are built without it.
  bench_cxx_obj =
endif

# Rayon: the crate in bench/rayon (rayon_peer.h), built offline by Debian's cargo and
# rustc (by path: never a rustup install earlier in PATH) against Debian's
# librust-rayon-dev, whose sources /usr/share/cargo/registry serves as a directory source
# (bench/rayon/cargo-config.toml). One archive for every build (plain or sanitized); not
# under ThreadSanitizer, which would report the uninstrumented Rust runtime's atomics.
RAYON_DIR    := bench/rayon
RAYON_HOME   := build/cargo-home
RAYON_TARGET := build/rayon-target
RAYON_LIB    := build/lib/librayon_peer.a
RAYON_TOOLS  := $(wildcard /usr/bin/cargo)$(wildcard /usr/bin/rustc)
RAYON_CRATE  := $(wildcard /usr/share/cargo/registry/rayon-[0-9]*/Cargo.toml)
ifneq ($(filter thread,$(subst $(comma), ,$(SANITIZE))),)
  BENCH_PEER_NOTES += Rayon: not built under ThreadSanitizer.
else ifeq ($(RAYON_TOOLS),/usr/bin/cargo/usr/bin/rustc)
  ifneq ($(RAYON_CRATE),)
    BENCH_PEER_CFLAGS += -DNDPAR_BENCH_HAVE_RAYON -I$(RAYON_DIR)
    BENCH_PEER_LIBS += $(RAYON_LIB)
    # What a Rust staticlib's standard library needs from the C side.
    BENCH_PEER_LDLIBS += -ldl -lpthread -lm
  else
    BENCH_PEER_NOTES += Rayon: not installed (make bench-deps), the benchmarks are built without it.
  endif
else
  BENCH_PEER_NOTES += Rayon: not installed (make bench-deps), the benchmarks are built without it.
endif

RAYON_INPUTS := $(RAYON_DIR)/Cargo.toml $(RAYON_DIR)/cargo-config.toml $(wildcard $(RAYON_DIR)/src/*.rs)
$(RAYON_LIB): $(RAYON_INPUTS)
	@mkdir -p $(RAYON_HOME) $(@D)
	@cp $(RAYON_DIR)/cargo-config.toml $(RAYON_HOME)/config.toml
	env -u RUSTC_WRAPPER CARGO_HOME=$(abspath $(RAYON_HOME)) RUSTC=/usr/bin/rustc \
	  /usr/bin/cargo build --offline --release --quiet --manifest-path $(RAYON_DIR)/Cargo.toml \
	  --target-dir $(RAYON_TARGET)
	cp $(RAYON_TARGET)/release/librayon_peer.a $@

# Said once, by a make that builds benchmarks.
BENCH_GOALS  := $(filter all bench benches bench-%,$(or $(MAKECMDGOALS),all))
ifneq ($(filter-out bench-deps bench-mpi,$(BENCH_GOALS)),)
  ifneq ($(strip $(BENCH_PEER_NOTES)),)
    $(info $(strip $(BENCH_PEER_NOTES)))
  endif
endif

# The bench objects depend on which peers are there: the stamp changes when that does.
BENCH_STAMP  := $(BUILD)/.benchflags
ifneq ($(file <$(BENCH_STAMP)),peers: $(BENCH_PEER_CFLAGS))
  $(shell mkdir -p $(BUILD))
  $(file >$(BENCH_STAMP),peers: $(BENCH_PEER_CFLAGS))
endif

$(BUILD)/obj/bench/%.o: bench/%.c $(CFLAGS_STAMP) $(BENCH_STAMP) | depcheck
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -fopenmp $(REF_CFLAGS) $(BENCH_PEER_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/bench/%.o: bench/%.cpp $(CFLAGS_STAMP) $(BENCH_STAMP) | depcheck
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(OPT) -g -Wall -Wextra -Iinclude $(REF_CFLAGS) $(BENCH_PEER_CFLAGS) \
	  $(CFLAGS_SAN) -MMD -MP -c $< -o $@

define bench_rules
$(1)_BENCH_OBJ := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard bench/$(1)/*.c)) \
                  $$(call bench_cxx_obj,$(1))
$(1)_BENCH_BIN := $(BUILD)/bench/bench_$(1)
$$($(1)_BENCH_BIN): $$($(1)_BENCH_OBJ) $(REF_LIB) $(ALL_LIB) $(BENCH_PEER_LIBS)
	@mkdir -p $$(@D)
	$$(CC) $(LDFLAGS_ALL) -fopenmp -o $$@ $$^ $(LDLIBS_BASE) $(BENCH_PEER_LDLIBS)
bench-$(1): $$($(1)_BENCH_BIN)
	$$($(1)_BENCH_BIN)
endef
$(foreach b,$(BENCH_NAMES),$(eval $(call bench_rules,$(b))))

# bench/peers checks the peers themselves (make bench-peers-check; a step of make bench).
BENCH_NAMES  += peers
$(eval $(call bench_rules,peers))
.PHONY: bench-peers bench-peers-check
bench-peers-check: $(peers_BENCH_BIN)
	$(peers_BENCH_BIN)

BENCH_BINS   := $(foreach b,$(BENCH_NAMES),$($(b)_BENCH_BIN))
benches: $(BENCH_BINS)

# pandas for bench_io (make bench-deps, above).
BENCH_DEPS_PKGS += python3-pandas

BENCH_ARGS   ?=
bench: $(BENCH_BINS)
	@set -e; for b in $(BENCH_BINS); do echo "== $$b"; $$b $(BENCH_ARGS); done

# bench/mpi (the mpi module against bare MPI): built with mpicc, run under mpirun
# (make bench-mpi MPI_BENCH_NP=2).
MPI_BENCH_BIN := $(BUILD)/bench/bench_mpi
MPI_BENCH_NP  ?= 2
$(BUILD)/obj/bench/mpi/%.o: bench/mpi/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(MPICC) $(CFLAGS_ALL) $(REF_CFLAGS) -MMD -MP -c $< -o $@

$(MPI_BENCH_BIN): $(BUILD)/obj/bench/mpi/bench_mpi.o $(REF_LIB) $(MPI_LINK) $(ALL_LIB)
	@mkdir -p $(@D)
	$(MPICC) $(LDFLAGS_ALL) -fopenmp -o $@ $^ $(LDLIBS_BASE)

benches: $(MPI_BENCH_BIN)
bench-mpi: $(MPI_BENCH_BIN)
	$(MPI_ROOT_ENV) $(MPIRUN) $(MPIRUN_ARGS) -np $(MPI_BENCH_NP) $(MPI_BENCH_BIN) $(BENCH_ARGS)

# ---------------------------------------------------------------- examples
# Examples named *_mpi.c are built with mpicc (below), the others with cc.
EXAMPLE_SRC  := $(filter-out %_mpi.c,$(wildcard examples/*.c))
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))

$(BUILD)/obj/examples/%.o: examples/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(REF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(REF_LIB) $(ALL_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_BASE)

examples: $(EXAMPLE_BINS) $(MPI_EXAMPLE)

$(BUILD)/obj/examples/%_mpi.o: examples/%_mpi.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(MPICC) $(CFLAGS_ALL) $(REF_CFLAGS) -MMD -MP -c $< -o $@

$(MPI_EXAMPLE): $(BUILD)/obj/examples/train_sgd_mpi.o $(REF_LIB) $(MPI_LINK) $(ALL_LIB)
	@mkdir -p $(@D)
	$(MPICC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_BASE)
# Keep the objects (make would delete them as intermediates, and rebuild them every time).
.SECONDARY: $(EXAMPLE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/examples/train_sgd_mpi.o

# Every example is built with -Werror. The io module's are whole code blocks of docs/io.md
# (tools/check-doc-blocks.sh, in check-build, checks every page's blocks); make check
# builds them against the installed headers and runs them (check-examples).
$(BUILD)/obj/examples/%.o: CFLAGS_ALL += -Werror

# The pipeline examples (docs/pipeline.md's code) run in make check, at small sizes (the
# ones on the library alone in check-examples, against the installed headers); the page's
# code blocks must be parts of them (tools/check-doc-blocks.sh, in check-build).
PIPELINE_EXAMPLES := pipeline_basics pipeline_io stream_forecast
EXAMPLE_ARGS_pipeline_basics := 500
EXAMPLE_ARGS_pipeline_io := 20000
EXAMPLE_ARGS_stream_forecast := 2
.PHONY: check-examples-pipeline
check-examples-pipeline: $(PIPELINE_EXAMPLES:%=$(BUILD)/examples/%)
	$(foreach e,$(PIPELINE_EXAMPLES),$(BUILD)/examples/$(e) $(EXAMPLE_ARGS_$(e)) && ) true
check: check-examples-pipeline

# examples/co2_forecast against its scikit-learn transcription (tests/models/co2_sklearn.py):
# the same best alpha, CV means and forecasts within 1e-9 (tools/check-co2-forecast.sh).
.PHONY: check-co2-forecast
check-co2-forecast: $(BUILD)/examples/co2_forecast
	@tools/check-co2-forecast.sh $(BUILD)
check: check-co2-forecast

# ---------------------------------------------------------------- tools
SB_OBJ       := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/scalebench/*.c))
SCALEBENCH   := $(BUILD)/tools/scalebench

$(BUILD)/obj/tools/%.o: tools/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(REF_CFLAGS) -MMD -MP -c $< -o $@

# scalebench times the reference kernels with the benchmarks' own method (ref/).
$(SCALEBENCH): $(SB_OBJ) $(REF_LIB) $(ALL_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -fopenmp -o $@ $^ $(LDLIBS_BASE)

# scalebench --mpi runs scalebench-mpi (built with mpicc, beside it): scalebench links no MPI.
SBM_OBJ      := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/scalebench-mpi/*.c))
SCALEBENCH_MPI := $(BUILD)/tools/scalebench-mpi

$(BUILD)/obj/tools/scalebench-mpi/%.o: tools/scalebench-mpi/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(MPICC) $(CFLAGS_ALL) $(REF_CFLAGS) -MMD -MP -c $< -o $@

$(SCALEBENCH_MPI): $(SBM_OBJ) $(REF_LIB) $(MPI_LINK) $(ALL_LIB)
	@mkdir -p $(@D)
	$(MPICC) $(LDFLAGS_ALL) -fopenmp -o $@ $^ $(LDLIBS_BASE)

tools: $(SCALEBENCH) $(SCALEBENCH_MPI)
# (Here, below their definitions: test-mpi runs scalebench --mpi.)
test-mpi: $(SCALEBENCH) $(SCALEBENCH_MPI)

# (Here, below SCALEBENCH's definition: prerequisites are expanded where they are read.)
$(scalebench_TEST_BIN): | $(SCALEBENCH)

# The main job: scalebench on the bundled default workload (every reference workload).
# RUN_ARGS adds to the defaults (a later option wins): make run RUN_ARGS='--threads 1,2'.
# The runs per point are scalebench's own defaults (11 after 2 warm-ups), one for both.
RUN_DEFAULTS :=
RUN_ARGS     ?=
run: $(SCALEBENCH)
	$(SCALEBENCH) $(RUN_DEFAULTS) $(RUN_ARGS)

# ---------------------------------------------------------------- install
# The examples a user can build from the installed library alone (not the ref/ ones).
USER_EXAMPLES = $(shell grep -L '"ref/' examples/*.c)
PC_FILES     := $(BUILD)/pkgconfig/ndpar.pc $(foreach m,core $(MODULES),$(BUILD)/pkgconfig/ndpar-$(m).pc)

# What the installed files name (the prefix, directories, version): the stamp is rewritten
# only when they change, so that `make install PREFIX=...` never installs .pc or CMake files
# naming an earlier install's prefix.
INSTALL_STAMP := $(BUILD)/.install-vars
INSTALL_VARS  := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION)
ifneq ($(file <$(INSTALL_STAMP)),$(INSTALL_VARS))
  $(shell mkdir -p $(BUILD))
  $(file >$(INSTALL_STAMP),$(INSTALL_VARS))
endif

# Programs linked against the shared libraries find them at run time without
# LD_LIBRARY_PATH: outside the loader's own directories the link line carries a runpath to
# LIBDIR (the CMake targets' absolute paths give CMake's build the same).
LOADER_DIRS  := /lib /lib64 /usr/lib /usr/lib64 /lib/%-linux-gnu /usr/lib/%-linux-gnu
PC_RPATH     := $(if $(filter $(LOADER_DIRS),$(LIBDIR)),,-Wl$(comma)-rpath$(comma)$${libdir} )

$(BUILD)/pkgconfig/ndpar.pc: Makefile $(INSTALL_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: ndpar' 'Description: parallel batch work for ML and forecasting on GSL data' \
	  'Version: $(VERSION)' 'Requires: gsl' \
	  'Libs: -L$${libdir} $(PC_RPATH)-lndpar' 'Libs.private: -lhwloc -lm -pthread' \
	  'Cflags: -I$${includedir}' > $@

# hwloc is named by -lhwloc, not required as a package: `pkg-config --static` would add
# hwloc's own private libraries (-ludev), which link only where libudev-dev is installed,
# while the shared libhwloc brings its libudev itself.
# One file per module: links that module, the modules it builds on, and core. These are
# static archives only, so what they need (gsl, hwloc, pthread) is public, not private.
$(BUILD)/pkgconfig/ndpar-%.pc: Makefile $(INSTALL_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: ndpar-$*' 'Description: ndpar module $*' 'Version: $(VERSION)' \
	  'Requires: gsl' \
	  'Libs: -L$${libdir} $(if $(filter core,$*),,-lndpar_$* $(foreach d,$(MODDEPS_$*),-lndpar_$(d))) -lndpar_core -lhwloc -lm -pthread' \
	  'Cflags: -I$${includedir}' > $@

PC_FILES     += $(BUILD)/pkgconfig/ndpar-mpi.pc

# Compile with mpicc (it knows where mpi.h is, for Open MPI and MPICH alike).
$(BUILD)/pkgconfig/ndpar-mpi.pc: Makefile $(INSTALL_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: ndpar-mpi' 'Description: ndpar across MPI ranks (compile and link with mpicc)' \
	  'Version: $(VERSION)' 'Requires: ndpar' 'Libs: -L$${libdir} $(PC_RPATH)-lndpar_mpi' \
	  'Cflags: -I$${includedir}' > $@

# The CMake package: find_package(ndpar) gives ndpar::ndpar, ndpar::<module>, ndpar::mpi.
CMAKE_FILES  := $(BUILD)/cmake/ndparConfig.cmake $(BUILD)/cmake/ndparConfigVersion.cmake
$(CMAKE_FILES) &: tools/cmake-config.sh Makefile $(INSTALL_STAMP)
	@tools/cmake-config.sh $(BUILD)/cmake $(LIBDIR) $(INCLUDEDIR) $(VERSION) $(SOVERSION) \
	  "$(foreach m,$(MODULES),$(m):$(subst $(space),$(comma),$(strip $(MODDEPS_$(m)))))"

install: libs tools $(PC_FILES) $(CMAKE_FILES)
	install -d $(DESTDIR)$(INCLUDEDIR)/ndpar $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/ndpar
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PREFIX)/share/ndpar/data
	install -m 755 $(SCALEBENCH) $(DESTDIR)$(PREFIX)/bin/scalebench
	install -m 755 $(SCALEBENCH_MPI) $(DESTDIR)$(PREFIX)/bin/scalebench-mpi
	install -m 644 docs/scalebench.1 $(DESTDIR)$(MANDIR)/man1/scalebench.1
	install -m 644 data/*.csv data/README.md $(DESTDIR)$(PREFIX)/share/ndpar/data/
	install -m 644 include/ndpar/*.h $(DESTDIR)$(INCLUDEDIR)/ndpar/
	install -m 644 $(CORE_LIB) $(MOD_LIBS) $(ALL_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SO_FILE) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(MPI_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(MPI_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libndpar_mpi.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libndpar_mpi.so.$(SOVERSION)
	ln -sf libndpar_mpi.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libndpar_mpi.so
	ln -sf libndpar.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libndpar.so
	install -m 644 $(PC_FILES) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 $(USER_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 $(CMAKE_FILES) $(DESTDIR)$(LIBDIR)/cmake/ndpar/
	@echo "ndpar $(VERSION) installed under $(DESTDIR)$(PREFIX). To build against it:"
	@echo "  pkg-config: PKG_CONFIG_PATH=$(LIBDIR)/pkgconfig (unless pkg-config looks there already)"
	@echo "  CMake:      find_package(ndpar) with CMAKE_PREFIX_PATH=$(PREFIX); targets ndpar::ndpar, ndpar::<module>, ndpar::mpi"
	@echo "  Programs so linked find libndpar.so at run time: no LD_LIBRARY_PATH$(if $(PC_RPATH), (runpath $(LIBDIR)))."
	@echo "  make uninstall PREFIX=$(PREFIX) removes it."

# A temporary install, and programs built against it with pkg-config and CMake, run (MPI too)
# without LD_LIBRARY_PATH (tools/check-install.sh); in make check.
# (cmake and pkg-config: what a user builds with, installed when missing; the library and
# its tests need neither.)
INSTALL_CHECK_PKGS := cmake pkg-config
.PHONY: check-install
check-install: all
	@sh tools/deps.sh --install $(INSTALL_CHECK_PKGS)
	@$(MPI_ROOT_ENV) MPIRUN='$(MPIRUN) $(MPIRUN_ARGS)' MAKE='$(MAKE)' tools/check-install.sh

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/ndpar $(DESTDIR)$(PREFIX)/share/ndpar $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(PREFIX)/bin/scalebench $(DESTDIR)$(PREFIX)/bin/scalebench-mpi $(DESTDIR)$(MANDIR)/man1/scalebench.1
	rm -f $(DESTDIR)$(LIBDIR)/libndpar* $(DESTDIR)$(LIBDIR)/pkgconfig/ndpar*.pc
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/ndpar

clean:
	rm -rf build

# Every object's header dependencies (written by -MMD), whatever built it: library,
# reference library, tests, benchmarks, examples, tools.
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- scaling bundle
# .device/: the benchmarks, scalebench, Open MPI's mpirun and every library they load (glibc
# included), runnable on a machine without our packages (bench/scaling/bundle.sh); there,
# `OUT=dir bash bench/scaling/run.sh` makes the many-core tables (docs/PERFORMANCE.md).
.PHONY: scaling-bundle
# (patchelf: bench_pipeline, which runs itself again, gets the bundled loader as interpreter.)
scaling-bundle: benches tools
	@sh tools/deps.sh --install patchelf
	@bash bench/scaling/bundle.sh $(BUILD)

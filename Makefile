# ndpar: one non-recursive GNU Make build. Outputs go under build/ (ignored by git).
#
#   make            build every library, test, benchmark and tool (installs nothing: a
#                   missing package is named, with the command that installs it)
#   make run        build and run the default workload
#   make check      build and run every module's tests (make test-<module>: one module)
#   make bench      build and run every benchmark (sequential vs ndpar vs OpenMP)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install missing Debian -dev packages (as root, waiting for the apt lock)
#   make test-ref   the internal reference library's own tests (ref/, tests/ref/)
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
MODULES      := pool batch preprocess grad ensemble cv grid scalability io
# What each module links below itself (besides core).
MODDEPS_pool :=
MODDEPS_batch := pool
MODDEPS_grad := pool
MODDEPS_preprocess := pool
MODDEPS_cv := pool
MODDEPS_grid := cv pool
MODDEPS_ensemble := pool
MODDEPS_scalability := pool
MODDEPS_io := pool

SHELL        := /bin/bash
CC           ?= cc
OPT          ?= -O2
CFLAGS_BASE  := -std=c11 $(OPT) -g -fPIC -pthread -Wall -Wextra -Wpedantic \
                -fvisibility=hidden -D_GNU_SOURCE -Iinclude -Ilib -Imodules
LDLIBS_BASE  := -lgsl -lgslcblas -lhwloc -lm -pthread

comma        := ,
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
        $(addprefix bench-,$(MODULES))

all: libs tests benches examples tools

# ---------------------------------------------------------------- dependencies
DEPS_PKGS    := libgsl-dev libhwloc-dev libcriterion-dev
# locales: the io tests build a decimal-comma locale (localedef) to show numbers ignore setlocale.
DEPS_PKGS    += locales

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

# ---------------------------------------------------------------- libraries
CORE_SRC     := $(wildcard lib/*.c)
CORE_OBJ     := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CORE_LIB     := $(BUILD)/lib/libndpar_core.a

define module_rules
$(1)_SRC := $$(wildcard modules/$(1)/*.c)
$(1)_OBJ := $$($(1)_SRC:%.c=$(BUILD)/obj/%.o)
$(1)_LIB := $(BUILD)/lib/libndpar_$(1).a
$$($(1)_LIB): $$($(1)_OBJ)
	@mkdir -p $$(@D)
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
# matrix takes 24 ms instead of 33 (docs/PERFORMANCE.md). Only this module needs it.
$(BUILD)/obj/modules/preprocess/%.o: CFLAGS_ALL += -O3

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(ALL_LIB): $(ALL_OBJ)
	@mkdir -p $(@D)
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

$(REF_LIB): $(REF_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# ---------------------------------------------------------------- tests
CRITERION_LIBS := -lcriterion
TEST_MODULES := core $(MODULES) ref scalebench
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

# The io tests read the bundled data.
$(BUILD)/obj/tests/io/%.o: CFLAGS_ALL += -DNDPAR_TEST_DATA_DIR='"$(CURDIR)/data"'

# The scalebench tests run the built tool (of the same build: sanitized builds test a
# sanitized tool).
$(BUILD)/obj/tests/scalebench/%.o: CFLAGS_ALL += -DSCALEBENCH_BIN='"$(abspath $(SCALEBENCH))"' \
  -DSCALEBENCH_DATA='"$(CURDIR)/data"'

tests: $(TEST_BINS)

# Every module's tests, one binary after another; the first failure fails the target.
# A plain build then checks the build itself (check-build).
check: $(TEST_BINS)
	@set -e; for m in $(TEST_MODULES); do \
	  echo "== test-$$m"; tools/run-tests.sh $(BUILD)/tests/test_$$m $(TEST_ARGS); done
ifeq ($(SANITIZE),)
	@$(MAKE) --no-print-directory check-build
endif

# The build's own checks: who may include what (tools/check-layering.sh), includes at the
# top and guards closing at the end (tools/check-headers.sh), that libndpar.so exports only
# ndpar_ names (tools/check-exports.sh), and that a public header's change rebuilds every
# object that includes it (tools/check-rebuild.sh, on the built tree).
check-build: all check-examples
	@tools/check-layering.sh
	@tools/check-headers.sh
	@tools/check-umbrella.sh $(CC)
	@tools/check-doc-blocks.sh docs/*.md README.md
	@tools/check-exports.sh $(SO_FILE)
	@tools/check-rebuild.sh include/ndpar/ndpar_pool.h
	@! $(MAKE) --no-print-directory -n all | grep -E 'apt-get|deps\.sh --install' \
	  || { echo "check-build: make all would install packages" >&2; exit 1; }
	@echo "check-build: ok (make all only checks for packages, never installs)"

# Every example that needs only the library, built as a user builds it: against a staged
# install's headers and archive, with -Werror (tools/check-examples.sh), and run.
STAGE        := $(BUILD)/stage
check-examples: all
	@$(MAKE) --no-print-directory install DESTDIR=$(abspath $(STAGE)) PREFIX=/usr >/dev/null
	@tools/check-examples.sh $(abspath $(STAGE))/usr $(BUILD) $(CC)

# ---------------------------------------------------------------- benchmarks
# Benchmarks compare sequential, ndpar and OpenMP on one kernel in one run: bench/<name>/
# holds the benchmark's main alone, everything shared comes from ref/.
BENCH_NAMES  := $(filter $(MODULES),$(notdir $(patsubst %/,%,$(wildcard bench/*/))))

$(BUILD)/obj/bench/%.o: bench/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -fopenmp $(REF_CFLAGS) -MMD -MP -c $< -o $@

define bench_rules
$(1)_BENCH_OBJ := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard bench/$(1)/*.c))
$(1)_BENCH_BIN := $(BUILD)/bench/bench_$(1)
$$($(1)_BENCH_BIN): $$($(1)_BENCH_OBJ) $(REF_LIB) $(ALL_LIB)
	@mkdir -p $$(@D)
	$$(CC) $(LDFLAGS_ALL) -fopenmp -o $$@ $$^ $(LDLIBS_BASE)
bench-$(1): $$($(1)_BENCH_BIN)
	$$($(1)_BENCH_BIN)
endef
$(foreach b,$(BENCH_NAMES),$(eval $(call bench_rules,$(b))))

BENCH_BINS   := $(foreach b,$(BENCH_NAMES),$($(b)_BENCH_BIN))
benches: $(BENCH_BINS)

# What the benchmarks compare against, installed only on request (never by make deps: the
# library and its tests do not need them): pandas for bench_io.
BENCH_DEPS_PKGS += python3-pandas
.PHONY: bench-deps
bench-deps:
	@sh tools/deps.sh --install $(BENCH_DEPS_PKGS)

BENCH_ARGS   ?=
bench: $(BENCH_BINS)
	@set -e; for b in $(BENCH_BINS); do echo "== $$b"; $$b $(BENCH_ARGS); done

# ---------------------------------------------------------------- examples
EXAMPLE_SRC  := $(wildcard examples/*.c)
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))

$(BUILD)/obj/examples/%.o: examples/%.c $(CFLAGS_STAMP) | depcheck
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(REF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(REF_LIB) $(ALL_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_BASE)

examples: $(EXAMPLE_BINS)
# Keep the objects (make would delete them as intermediates, and rebuild them every time).
.SECONDARY: $(EXAMPLE_SRC:%.c=$(BUILD)/obj/%.o)

# Every example is built with -Werror. The io module's are whole code blocks of docs/io.md
# (tools/check-doc-blocks.sh, in check-build, checks every page's blocks); make check
# builds them against the installed headers and runs them (check-examples).
$(BUILD)/obj/examples/%.o: CFLAGS_ALL += -Werror

# ---------------------------------------------------------------- fuzzing the CSV reader
# make fuzz-io: libFuzzer (clang) on the io module for FUZZ_SECONDS (default 60): one thread,
# three threads and streaming must agree on every input (tests/fuzz/fuzz_io.c). Not part of
# make check; installs clang and its fuzzer runtime first.
FUZZ_SECONDS ?= 60
.PHONY: fuzz-io
fuzz-io:
	@sh tools/deps.sh --install clang libclang-rt-14-dev
	@mkdir -p $(BUILD)/fuzz/corpus-io
	clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -Imodules \
	  -o $(BUILD)/fuzz/fuzz_io tests/fuzz/fuzz_io.c modules/io/*.c modules/pool/*.c lib/*.c $(LDLIBS_BASE)
	printf '\000a,b\n1,2\n"3","4"\n' > $(BUILD)/fuzz/corpus-io/seed
	$(BUILD)/fuzz/fuzz_io -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(BUILD)/fuzz/corpus-io

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

tools: $(SCALEBENCH)

# (Here, below SCALEBENCH's definition: prerequisites are expanded where they are read.)
$(scalebench_TEST_BIN): | $(SCALEBENCH)

# The main job: scalebench on the bundled default workload (every reference workload).
# RUN_ARGS adds to the defaults (a later option wins): make run RUN_ARGS='--threads 1,2'.
RUN_DEFAULTS := --repeat 11 --warmup 2
RUN_ARGS     ?=
run: $(SCALEBENCH)
	$(SCALEBENCH) $(RUN_DEFAULTS) $(RUN_ARGS)

# ---------------------------------------------------------------- install
# The examples a user can build from the installed library alone (not the ref/ ones).
USER_EXAMPLES = $(shell grep -L '"ref/' examples/*.c)
PC_FILES     := $(BUILD)/pkgconfig/ndpar.pc $(foreach m,core $(MODULES),$(BUILD)/pkgconfig/ndpar-$(m).pc)

$(BUILD)/pkgconfig/ndpar.pc: Makefile
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: ndpar' 'Description: parallel batch work for ML and forecasting on GSL data' \
	  'Version: $(VERSION)' 'Requires: gsl' \
	  'Libs: -L$${libdir} -lndpar' 'Libs.private: -lhwloc -lm -pthread' \
	  'Cflags: -I$${includedir}' > $@

# hwloc is named by -lhwloc, not required as a package: `pkg-config --static` would add
# hwloc's own private libraries (-ludev), which link only where libudev-dev is installed,
# while the shared libhwloc brings its libudev itself.
# One file per module: links that module, the modules it builds on, and core. These are
# static archives only, so what they need (gsl, hwloc, pthread) is public, not private.
$(BUILD)/pkgconfig/ndpar-%.pc: Makefile
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: ndpar-$*' 'Description: ndpar module $*' 'Version: $(VERSION)' \
	  'Requires: gsl' \
	  'Libs: -L$${libdir} $(if $(filter core,$*),,-lndpar_$* $(foreach d,$(MODDEPS_$*),-lndpar_$(d))) -lndpar_core -lhwloc -lm -pthread' \
	  'Cflags: -I$${includedir}' > $@

install: libs tools $(PC_FILES)
	install -d $(DESTDIR)$(INCLUDEDIR)/ndpar $(DESTDIR)$(LIBDIR)/pkgconfig
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PREFIX)/share/ndpar/data
	install -m 755 $(SCALEBENCH) $(DESTDIR)$(PREFIX)/bin/scalebench
	install -m 644 docs/scalebench.1 $(DESTDIR)$(MANDIR)/man1/scalebench.1
	install -m 644 data/*.csv data/README.md $(DESTDIR)$(PREFIX)/share/ndpar/data/
	install -m 644 include/ndpar/*.h $(DESTDIR)$(INCLUDEDIR)/ndpar/
	install -m 644 $(CORE_LIB) $(MOD_LIBS) $(ALL_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SO_FILE) $(DESTDIR)$(LIBDIR)/
	ln -sf libndpar.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libndpar.so
	install -m 644 $(PC_FILES) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 $(USER_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/ndpar $(DESTDIR)$(PREFIX)/share/ndpar $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(PREFIX)/bin/scalebench $(DESTDIR)$(MANDIR)/man1/scalebench.1
	rm -f $(DESTDIR)$(LIBDIR)/libndpar* $(DESTDIR)$(LIBDIR)/pkgconfig/ndpar*.pc

clean:
	rm -rf build

# Every object's header dependencies (written by -MMD), whatever built it: library,
# reference library, tests, benchmarks, examples, tools.
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

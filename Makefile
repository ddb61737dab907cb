# sluice - one Makefile in the wireguard-tools style (STYLE.md §11).
#
#   make            build ./sluice
#   make deps       install the Debian packages everything here needs (idempotent)
#   make test       deps + build + unit, netns and interop tests ("N passed, N failed")
#   make demo       deps + build + a real tunnel between two namespaces
#   make bench      micro and end-to-end benchmarks (figures, not pass/fail)
#   make asan tsan  sanitizer builds and runs; make fuzz: libFuzzer smoke runs
#   make soak       (not in CI) 30 min of churn, impairment and rekeys, RSS slope checked
#   make fuzz-long  (not in CI) every fuzz harness to FUZZ_RUNS executions
#   make deps-check fail if a layer includes or names one above it (STYLE.md §1)
#   make install    the binary, the systemd units and the man page under PREFIX
#                   (default /usr/local; DESTDIR for packaging); make uninstall

CC ?= cc
CFLAGS ?= -O2 -g
BUILD ?= build
V ?= 0
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc

PKGS := libssl libcrypto liburing ck liblz4 lzo2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ifeq ($(PKG_LIBS),)
PKG_LIBS := -lssl -lcrypto -luring -lck -llz4 -llzo2
endif

override CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wframe-larger-than=2048 -MMD -MP -pthread $(PKG_CFLAGS)
ifeq ($(DEBUG),1)
override CFLAGS += -DDEBUG -O0
endif
LDLIBS := $(PKG_LIBS) -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard core/*.c crypto/*.c io/*.c) $(filter-out ctrl/main.c,$(wildcard ctrl/*.c ctrl/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/*_test.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/*_bench.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# bench/loadgen.c: a tool with arguments (bench/clients_bench.sh runs it), so not a *_bench
# that bench/run.sh would start bare; the $(BUILD)/bench/% rule below builds it.
BENCH_BIN += $(BUILD)/bench/loadgen
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps deps-check test check unit netns-check interop-check demo bench bench-deps asan ubsan \
	tsan fuzz fuzz-smoke fuzz-long soak clean style scan install uninstall

all: sluice

sluice: $(BUILD)/sluice
	$(Q)cp $< $@

$(BUILD)/sluice: $(LIB_OBJ) $(BUILD)/ctrl/main.o
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# $(filter): the -MMD rules add headers to the prerequisites; only sources and objects link.
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC+LD   $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC+LD   $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# The load generator's command line is a second source file.
$(BUILD)/bench/loadgen: bench/loadgen_cli.c

unit-bins: $(UNIT_BIN)
bench-bins: $(BENCH_BIN)

deps:
	$(Q)./tests/deps.sh

# The check, then its self-test: planted violations in temporary copies must each fail.
deps-check:
	$(Q)./tests/deps-check.sh
	$(Q)./tests/deps-check.sh --selftest

# Unit tests only (no root, no namespaces).
check: all unit-bins deps-check
	$(Q)BUILD=$(BUILD) ./tests/run.sh unit

netns-check: all unit-bins
	$(Q)BUILD=$(BUILD) ./tests/run.sh netns

interop-check: all unit-bins
	$(Q)BUILD=$(BUILD) ./tests/run.sh interop

# The whole suite: what README.md and .ci/run give.
test: deps
	$(Q)$(MAKE) --no-print-directory all unit-bins $(BUILD)/bench/loadgen
	$(Q)$(MAKE) --no-print-directory deps-check
	$(Q)BUILD=$(BUILD) ./tests/run.sh all

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/demo.sh

# The bench's own deps step (gnuplot for the chart; wireguard-go and wireguard-tools for
# tunnel_bench's optional wireguard-go column): not part of `make test`'s.
bench-deps:
	$(Q)./tests/deps.sh --bench

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all bench-bins
	$(Q)BUILD=$(BUILD) ./bench/run.sh

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer
# The interop part runs every server_* test, so the impairment, flood, churn and swarm
# tests too (bench/loadgen built with the same sanitizers).
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
		CFLAGS="$(SAN_FLAGS) -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		sluice-san unit-bins bench-bins
	$(Q)BUILD=build-asan SLUICE=build-asan/sluice ./tests/run.sh unit netns
	$(Q)rm -rf build-asan/san-logs && mkdir -p build-asan/san-logs
	$(Q)ASAN_OPTIONS=log_path=$(CURDIR)/build-asan/san-logs/asan \
		UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/build-asan/san-logs/ubsan \
		BUILD=build-asan SLUICE=build-asan/sluice TEST_FILTER=interop/server_ \
		./tests/run.sh interop
	$(Q)if ls build-asan/san-logs/* >/dev/null 2>&1; then \
		echo "asan: sanitizer reports from the sluice server under interop tests:"; \
		cat build-asan/san-logs/*; exit 1; fi

ubsan: asan

# TSan: the concurrency unit tests, then a TSan server under the short churn and
# impairment tests, the TCP server with stock clients and a server in two lanes
# (TSAN_INTEROP; about 70 s; the swarm takes over a minute under TSan).
TSAN_INTEROP ?= interop/server_churn interop/server_impair_handshake interop/server_tcp \
	interop/server_lanes
tsan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-tsan CC=clang \
		CFLAGS="$(SAN_FLAGS) -fsanitize=thread -DRING_C11" sluice-san unit-bins bench-bins
	$(Q)BUILD=build-tsan SLUICE=build-tsan/sluice TSAN=1 ./tests/run.sh tsan
	$(Q)rm -rf build-tsan/san-logs && mkdir -p build-tsan/san-logs
	$(Q)for t in $(TSAN_INTEROP); do \
		TSAN_OPTIONS="log_path=$(CURDIR)/build-tsan/san-logs/tsan suppressions=$(CURDIR)/tests/tsan.supp" \
		BUILD=build-tsan SLUICE=build-tsan/sluice TEST_FILTER=$$t \
		./tests/run.sh interop || exit 1; done
	$(Q)if ls build-tsan/san-logs/* >/dev/null 2>&1; then \
		echo "tsan: reports from the sluice server under interop tests:"; \
		cat build-tsan/san-logs/*; exit 1; fi

# A sanitizer build's daemon stays in its build dir, not at ./sluice.
sluice-san: $(BUILD)/sluice

FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
	-pthread $(PKG_CFLAGS)
build-fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(wildcard tests/fuzz/*.h)
	@mkdir -p build-fuzz
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

fuzz: $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

fuzz-smoke: fuzz
	$(Q)./tests/fuzz-smoke.sh

# Not in CI: every harness to FUZZ_RUNS (2000000) executions, with exec/s and findings.
fuzz-long: fuzz
	$(Q)./tests/fuzz-long.sh

# Not in CI: SOAK_SECS (1800) of churn, impairment and rekeys against a sluice server,
# its RSS sampled every 10 s and the slope checked (tests/soak.sh).
soak: all bench-bins
	$(Q)BUILD=$(BUILD) ./tests/soak.sh

# The units name the installed binary and configuration directory.
UNITS := sluice-client@.service sluice-server@.service
install: $(BUILD)/sluice
	$(Q)install -D -m 0755 $(BUILD)/sluice $(DESTDIR)$(SBINDIR)/sluice
	$(Q)install -D -m 0644 ctrl/dist/sluice.8 $(DESTDIR)$(MANDIR)/man8/sluice.8
	$(Q)install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/sluice/client \
		$(DESTDIR)$(SYSCONFDIR)/sluice/server
	$(Q)for u in $(UNITS); do \
		sed -e 's|/usr/sbin/sluice|$(SBINDIR)/sluice|' -e 's|/etc/sluice|$(SYSCONFDIR)/sluice|' \
			ctrl/dist/$$u >$(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; \
	done
	@echo "  INSTALL $(DESTDIR)$(SBINDIR)/sluice, $(UNITS), sluice.8"

uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/sluice $(DESTDIR)$(MANDIR)/man8/sluice.8 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))

style:
	$(Q)clang-format --dry-run --Werror $(LIB_SRC) ctrl/main.c

scan:
	$(Q)cppcheck --quiet --enable=warning,performance --std=c11 core crypto io ctrl

clean:
	rm -rf build build-asan build-tsan build-fuzz sluice

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

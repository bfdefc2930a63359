# tierpress: see README.md.  `make` builds ./tierpress; `make test` runs the
# whole suite with -Werror; `make asan` the same under ASan+UBSan.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
PKGS     = libturbojpeg libjpeg libwebp libwebpmux libwebpdemux libavif libheif libjxl libjxl_threads \
           vips libavformat libavcodec libavutil libswscale libavfilter sqlite3 yaml-0.1 lcms2 \
           libcurl libxml-2.0 libcrypto libpq libmicrohttpd libseccomp \
           libarchive jansson libpng

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     = -Wall -Wextra -Wshadow -Wpointer-arith -Wformat=2 -Wwrite-strings -Wundef \
           -Wstrict-prototypes -Werror=missing-prototypes -Werror=vla -Wno-missing-field-initializers
OPT     ?= -O2
CFLAGS  += -std=gnu11 $(OPT) -g -pthread -MMD -MP $(WARN) $(MOREFLAGS)
# One folder per layer (README "How it is built"); headers are found by name.
LAYERS   = core media quality policy catalog store pipeline runner sim service cli
CPPFLAGS += -D_GNU_SOURCE $(addprefix -Isrc/,$(LAYERS)) -Isrc -Icodecs $(PKG_CFLAGS) $(HAVE_FLAGS)
LDLIBS  += $(PKG_LIBS) -lz -lm -pthread
LDFLAGS += $(MORELDFLAGS)

# An adapter is built when its file exists; registry.c lists it then.
have = $(if $(wildcard codecs/$(1).c),1,0)
HAVE_FLAGS = -DHAVE_WEBP=$(call have,webp) -DHAVE_AVIF=$(call have,avif) \
             -DHAVE_HEIF=$(call have,heif) -DHAVE_JXL=$(call have,jxl) \
             -DHAVE_VIPS=$(call have,vips) -DHAVE_VIDEO=$(call have,video) \
             -DHAVE_S3=$(if $(wildcard src/store/store_s3.c),1,0)

SRCS      := $(wildcard $(addsuffix /*.c,$(addprefix src/,$(LAYERS))) src/quality/dsp/*.c codecs/*.c)
SIMD_SRCS := $(wildcard src/quality/dsp/x86/*.c)
OBJS      := $(patsubst %.c,$(BUILD)/%.o,$(SRCS) $(SIMD_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/src/cli/main.o,$(OBJS))

# The product binary; sanitizer builds put theirs inside their build tree.
TP_BIN  ?= tierpress
UNIT    = $(BUILD)/tests/unit/run
CHECKASM = $(BUILD)/tests/checkasm/checkasm

.PHONY: all test check asan bench install clean demo deps fuzz fuzz-run fuzz-targets stress
all: $(TP_BIN)

$(TP_BIN): $(OBJS)
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The table lists the adapters that exist: rebuild it when one appears.
$(BUILD)/codecs/registry.o: $(wildcard codecs/*.c)
# The same for the store backends (store_s3.c).
$(BUILD)/src/store/store.o: $(wildcard src/store/*.c)

# ISA flags on the SIMD files only; the dispatcher picks at run time.
$(BUILD)/src/quality/dsp/x86/%_sse41.o: CFLAGS += -msse4.1
$(BUILD)/src/quality/dsp/x86/%_avx2.o: CFLAGS += -mavx2 -mfma

# --- tests -------------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/*.c)
TEST_BINS := $(UNIT) $(if $(wildcard tests/checkasm/*.c),$(CHECKASM))

$(UNIT): $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRCS)) $(LIB_OBJS)
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CHECKASM): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/checkasm/*.c)) $(LIB_OBJS)
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- fuzzing (tests/fuzz): libFuzzer harnesses, and replay_<name> (a plain
# main, any compiler) that the suite runs over the corpus: t_fuzz_replay.sh
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(addprefix $(BUILD)/tests/fuzz/replay_,$(FUZZ_NAMES))
TEST_BINS   += $(FUZZ_REPLAY)
SECONDS     ?= 60

$(BUILD)/tests/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(LIB_OBJS)
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/fuzz/bin/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
fuzz-targets: $(addprefix $(BUILD)/tests/fuzz/bin/fuzz_,$(FUZZ_NAMES))
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 \
	    MOREFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	    MORELDFLAGS="-fsanitize=fuzzer,address,undefined" fuzz-targets
fuzz-run: fuzz
	for n in $(FUZZ_NAMES); do mkdir -p build-fuzz/corpus/$$n && \
	    build-fuzz/tests/fuzz/bin/fuzz_$$n -max_total_time=$(SECONDS) -rss_limit_mb=2048 \
	        -artifact_prefix=build-fuzz/crash-$$n- build-fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	        2>&1 | tail -3 || exit 1; done

test: MOREFLAGS += -Werror
test: $(TP_BIN) $(TEST_BINS)
	TP=$(abspath $(TP_BIN)) UNIT=$(UNIT) CHECKASM=$(CHECKASM) ./tests/run_all.sh

check: test

# Not in `make test`: t_run.sh's random kill -9s of runners and workers,
# 1000 of them (the suite runs 50), every invariant checked after each.
stress: MOREFLAGS += -Werror
stress: $(TP_BIN)
	TP=$(abspath $(TP_BIN)) TP_ROOT=$(CURDIR) TP_CRASH_KILLS=$${TP_CRASH_KILLS:-1000} sh tests/t_run.sh

# Sanitizers: a separate build tree, the same tests.
asan:
	$(MAKE) BUILD=build-asan TP_BIN=build-asan/tierpress OPT=-O1 \
	    MOREFLAGS="-Werror -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    MORELDFLAGS="-fsanitize=address,undefined" test

bench: tierpress $(TEST_BINS)
	./bench/run.sh

# The man page and bash completion come from the --help texts.
$(BUILD)/tierpress.1: $(TP_BIN) scripts/gen-man
	@mkdir -p $(dir $@)
	./scripts/gen-man ./$(TP_BIN) >$@.tmp && mv $@.tmp $@
$(BUILD)/tierpress.bash: $(TP_BIN) scripts/gen-completion
	@mkdir -p $(dir $@)
	./scripts/gen-completion ./$(TP_BIN) >$@.tmp && mv $@.tmp $@

install: tierpress $(BUILD)/tierpress.1 $(BUILD)/tierpress.bash
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 tierpress $(DESTDIR)$(PREFIX)/bin/tierpress
	install -m 644 $(BUILD)/tierpress.1 $(DESTDIR)$(PREFIX)/share/man/man1/tierpress.1
	install -m 644 $(BUILD)/tierpress.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tierpress

deps:
	./scripts/install-deps

demo:
	./scripts/demo

clean:
	rm -rf build build-asan build-fuzz tierpress

-include $(OBJS:.o=.d) $(wildcard $(BUILD)/tests/*/*.d)

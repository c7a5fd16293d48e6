# Portability (included by the main Makefile): `make portable`
# The unit tests (tests/test_*.c), the in-process conformance table
# (tests/conformance/test_conformance.c) and tests/memory/test_memory.c, cross-built for
#   i386   32-bit little-endian   gcc -m32 (gcc-12-multilib)      run by qemu-i386
#   armhf  32-bit little-endian   arm-linux-gnueabihf-gcc          run by qemu-arm
#   s390x  64-bit big-endian      s390x-linux-gnu-gcc              run by qemu-s390x
# against Debian's multiarch cmocka (libcmocka-dev:ARCH), and run under qemu-user with
# the same assertions as the native run. No sanitizers here (they are unreliable under
# qemu-user; the native `make unit` keeps them). tests/portable/run.sh first checks that
# each target really has the byte order and word size it stands for.
PORT_OUT    := $(BUILD)/portable
PORT_ARCHS  := i386 armhf s390x
PORT_CFLAGS := -std=c99 -O1 -g $(WARN) -D_POSIX_C_SOURCE=200809L
PORT_CC_i386  := gcc -m32
PORT_CC_armhf := arm-linux-gnueabihf-gcc
PORT_CC_s390x := s390x-linux-gnu-gcc
PORT_TESTS  := $(basename $(notdir $(wildcard tests/test_*.c))) test_conformance test_memory
PORT_DEBS   := gcc-12-multilib gcc-arm-linux-gnueabihf libc6-dev-armhf-cross \
               gcc-s390x-linux-gnu libc6-dev-s390x-cross \
               libcmocka-dev:i386 libcmocka-dev:armhf libcmocka-dev:s390x qemu-user

TEST_DEPS    += portable-deps
TEST_TARGETS += portable
.PHONY: portable portable-deps

# The cross compilers make apt remove the gcc-multilib meta package (deps.sh says so).
portable-deps:
	@sh tests/deps.sh --no-recommends $(PORT_DEBS)

define PORT_ARCH_RULES
$(PORT_OUT)/$(1)/probe: tests/portable/probe.c
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -o $$@ $$<
$(PORT_OUT)/$(1)/test_%: tests/test_%.c tests/testutil.h ws.h
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -o $$@ $$< -lcmocka
$(PORT_OUT)/$(1)/test_conformance: tests/conformance/test_conformance.c $(BUILD)/conformance/cases.h tests/testutil.h ws.h
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -I$(BUILD)/conformance -o $$@ $$< -lcmocka
$(PORT_OUT)/$(1)/test_memory: tests/memory/test_memory.c tests/testutil.h ws.h
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -o $$@ $$< -lcmocka
endef
$(foreach a,$(PORT_ARCHS),$(eval $(call PORT_ARCH_RULES,$(a))))

PORT_BINS := $(foreach a,$(PORT_ARCHS),$(PORT_OUT)/$(a)/probe $(addprefix $(PORT_OUT)/$(a)/,$(PORT_TESTS)))

portable: $(PORT_BINS)
	@sh tests/portable/run.sh $(PORT_OUT) $(PORT_ARCHS)

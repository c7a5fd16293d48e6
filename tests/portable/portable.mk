# Portability (included by the main Makefile): `make portable`
# The unit tests (tests/test_*.c), the in-process conformance table
# (tests/conformance/test_conformance.c) and tests/memory/test_memory.c, cross-built for
#   i386   32-bit little-endian   gcc -m32 (gcc-12-multilib)        run by qemu-i386
#   armhf  32-bit little-endian   clang --target=arm-linux-gnueabihf  run by qemu-arm
#   s390x  64-bit big-endian      clang --target=s390x-linux-gnu      run by qemu-s390x
# against Debian's multiarch cmocka (libcmocka-dev:ARCH), and run under qemu-user with
# the same assertions as the native run. No sanitizers here (they are unreliable under
# qemu-user; the native `make unit` keeps them). tests/portable/run.sh first checks that
# each target really has the byte order and word size it stands for.
# Clang, with Debian's cross binutils, libc and libgcc, rather than gcc-12-s390x-linux-gnu
# and friends: those conflict with the gcc-multilib meta package, so any checkout whose
# deps step still installs gcc-multilib would remove them under a running test.
# `make portable PORT_COMPILER=gcc` uses the gcc cross compilers instead (deps.sh then
# removes gcc-multilib on purpose; gcc-12-multilib keeps -m32).
PORT_COMPILER ?= clang
PORT_OUT    := $(BUILD)/portable
PORT_ARCHS  := i386 armhf s390x
PORT_CFLAGS := -std=c99 -O1 -g $(WARN) -D_POSIX_C_SOURCE=200809L
PORT_CC_i386  := gcc -m32
ifeq ($(PORT_COMPILER),gcc)
PORT_CC_armhf := arm-linux-gnueabihf-gcc
PORT_CC_s390x := s390x-linux-gnu-gcc
PORT_TOOLS  := gcc-arm-linux-gnueabihf gcc-s390x-linux-gnu
else
# Debian's armhf ABI: ARMv7-A, VFPv3-D16, hard float, Thumb-2.
PORT_CC_armhf := clang --target=arm-linux-gnueabihf -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb
PORT_CC_s390x := clang --target=s390x-linux-gnu
PORT_TOOLS  := clang binutils-arm-linux-gnueabihf libgcc-12-dev-armhf-cross \
               binutils-s390x-linux-gnu libgcc-12-dev-s390x-cross
endif
PORT_TESTS  := $(basename $(notdir $(wildcard tests/test_*.c))) test_conformance test_memory
PORT_DEBS   := gcc-12-multilib $(PORT_TOOLS) libc6-dev-armhf-cross libc6-dev-s390x-cross \
               libcmocka-dev:i386 libcmocka-dev:armhf libcmocka-dev:s390x qemu-user \
               zlib1g-dev:i386 zlib1g-dev:armhf
# test_deflate checks ws.h's DEFLATE against zlib, the target's own zlib here. Debian 12
# has no zlib1g-dev:s390x of the version amd64 has (multiarch needs the same), so s390x
# leaves it out; test_pmd still runs DEFLATE both ways there, through ws_conn.
PORT_LIBS_test_deflate := -lz
PORT_SKIP_s390x := test_deflate

TEST_DEPS    += portable-deps
TEST_TARGETS += portable
.PHONY: portable portable-deps

portable-deps:
	@sh tests/deps.sh --no-recommends $(PORT_DEBS)

define PORT_ARCH_RULES
$(PORT_OUT)/$(1)/probe: tests/portable/probe.c
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -o $$@ $$<
$(PORT_OUT)/$(1)/test_%: tests/test_%.c tests/testutil.h ws.h
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -o $$@ $$< -lcmocka $$(PORT_LIBS_test_$$*)
$(PORT_OUT)/$(1)/test_conformance: tests/conformance/test_conformance.c $(BUILD)/conformance/cases.h tests/testutil.h ws.h
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -I$(BUILD)/conformance -o $$@ $$< -lcmocka
$(PORT_OUT)/$(1)/test_memory: tests/memory/test_memory.c tests/testutil.h ws.h
	@mkdir -p $$(@D)
	$(PORT_CC_$(1)) $(PORT_CFLAGS) -o $$@ $$< -lcmocka
endef
$(foreach a,$(PORT_ARCHS),$(eval $(call PORT_ARCH_RULES,$(a))))

PORT_BINS := $(foreach a,$(PORT_ARCHS),$(PORT_OUT)/$(a)/probe \
               $(addprefix $(PORT_OUT)/$(a)/,$(filter-out $(PORT_SKIP_$(a)),$(PORT_TESTS))))

portable: $(PORT_BINS)
	@$(foreach a,$(PORT_ARCHS),$(if $(PORT_SKIP_$(a)),echo "# $(a): not built: $(PORT_SKIP_$(a)) (see portable.mk)";))
	@sh tests/portable/run.sh $(PORT_OUT) $(PORT_ARCHS)

# --- firmware: examples/firmware on emulated Cortex-M boards (`make firmware`) ---------
# The same session image for a Cortex-M3 (qemu's mps2-an385) and a Cortex-M0 (qemu's
# microbit, 16 KiB of RAM), arm-none-eabi-gcc -nostdlib with WS_NO_STDLIB and no heap,
# each run under qemu-system-arm and checked against tests/portable/firmware.expected
# (tests/portable/firmware.sh); then flash, RAM and worst-case stack (fw_figures.sh).
# m0_link: the whole library linked for Cortex-M0 with -nostdlib at every -O level:
# GCC turns struct copies into memcpy calls there, and "= {0}" into memset.
FW_OUT    := $(BUILD)/firmware
FW_DIR    := examples/firmware
FW_CFLAGS := -mthumb -Os -g -std=c99 $(WARN) -ffreestanding -nostdlib -ffunction-sections \
             -fdata-sections -fstack-usage -fcallgraph-info=su
FW_CPU_m3 := cortex-m3
FW_CPU_m0 := cortex-m0
FW_BOARD_m3 := mps2-an385
FW_BOARD_m0 := microbit
PORT_DEBS += gcc-arm-none-eabi qemu-system-arm

TEST_TARGETS += firmware
.PHONY: firmware

define FW_RULES
$(FW_OUT)/$(1)/%.o: $(FW_DIR)/%.c $(FW_DIR)/semihost.h ws.h
	@mkdir -p $$(@D)
	arm-none-eabi-gcc -mcpu=$(FW_CPU_$(1)) $(FW_CFLAGS) -c -o $$@ $$<
$(FW_OUT)/$(1)/session.elf: $(FW_OUT)/$(1)/startup.o $(FW_OUT)/$(1)/session.o $(FW_DIR)/fw.ld
	arm-none-eabi-gcc -mcpu=$(FW_CPU_$(1)) -mthumb -nostdlib -Wl,--gc-sections -T $(FW_DIR)/fw.ld \
	  -Wl,-Map=$(FW_OUT)/$(1)/session.map -o $$@ $(FW_OUT)/$(1)/startup.o $(FW_OUT)/$(1)/session.o -lgcc
endef
$(foreach c,m3 m0,$(eval $(call FW_RULES,$(c))))

$(FW_OUT)/m0_link%.elf: tests/portable/m0_link.c ws.h
	@mkdir -p $(@D)
	arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -$* -std=c99 $(WARN) -ffreestanding -nostdlib -o $@ $< -lgcc

$(FW_OUT)/m0_link_client%.elf: tests/portable/m0_link.c ws.h
	@mkdir -p $(@D)
	arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -$* -DWS_NO_SERVER -std=c99 $(WARN) -ffreestanding -nostdlib -o $@ $< -lgcc
$(FW_OUT)/m0_link_server%.elf: tests/portable/m0_link.c ws.h
	@mkdir -p $(@D)
	arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -$* -DWS_NO_CLIENT -std=c99 $(WARN) -ffreestanding -nostdlib -o $@ $< -lgcc

FW_M0_LINKS := $(foreach o,O0 O1 O2 O3 Os,$(FW_OUT)/m0_link$(o).elf) \
               $(FW_OUT)/m0_link_clientOs.elf $(FW_OUT)/m0_link_serverOs.elf
firmware: $(FW_OUT)/m3/session.elf $(FW_OUT)/m0/session.elf $(FW_M0_LINKS)
	@echo "ok - Cortex-M0 -nostdlib link of all of ws.h at -O0, -O1, -O2, -O3 and -Os, and of each role alone at -Os (no libc calls)"
	@set -e; for c in m3 m0; do \
	  sh tests/portable/firmware.sh $$(case $$c in m3) echo $(FW_BOARD_m3);; m0) echo $(FW_BOARD_m0);; esac) \
	    $(FW_OUT)/$$c/session.elf $(FW_OUT)/$$c/session.log; done
	@sh tests/portable/fw_figures.sh $(FW_OUT)/m3 cortex-m3
	@sh tests/portable/fw_figures.sh $(FW_OUT)/m0 cortex-m0
	@echo "firmware: 4 passed, 0 failed"

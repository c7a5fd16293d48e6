# Windows: the examples built with mingw-w64 on winsock and run under wine against Linux
# peers (tests/windows/run.py; see README.md, "Windows"). Included by the main Makefile.
#   make windows-deps   mingw-w64 (C and C++) and wine from Debian
#   make windows-build  build/windows/{echo_server,echo_client,chat_server,wscat,compile_win,compile_winxx}.exe
#   make windows        builds, then runs them under wine (prefix in build/windows/)
# Debian's gcc-multilib and the mingw-w64 cross compilers install side by side (no
# package is removed); wine64 alone runs 64-bit programs, no i386 architecture needed.
# Included above the main Makefile's `all:`: keep `all` the default goal.

TEST_DEPS    += windows-deps
TEST_TARGETS += windows

WIN_OUT   := $(BUILD)/windows
# The win32-threads flavour of Debian's mingw-w64 by its own name: the metapackages
# gcc-mingw-w64-x86-64/g++-mingw-w64-x86-64 would pull the posix flavour as well (about
# 57 MB more to download) for the same x86_64-w64-mingw32-gcc.
WIN_CC    ?= x86_64-w64-mingw32-gcc-win32
WIN_CXX   ?= x86_64-w64-mingw32-g++-win32
# No OpenSSL on Windows: the examples build plain (ws:// only) without HAVE_OPENSSL.
WIN_CFLAGS := -std=c99 -O2 $(WARN)
WIN_DEBS  := gcc-mingw-w64-x86-64-win32 g++-mingw-w64-x86-64-win32 wine wine64 python3-websockets
WIN_EXES  := $(WIN_OUT)/echo_server.exe $(WIN_OUT)/echo_client.exe $(WIN_OUT)/wscat.exe \
             $(WIN_OUT)/chat_server.exe \
             $(WIN_OUT)/compile_win.exe $(WIN_OUT)/compile_winxx.exe

.PHONY: windows windows-deps windows-build

windows-deps:
	@sh tests/deps.sh $(WIN_DEBS)

$(WIN_OUT):
	@mkdir -p $@

$(WIN_OUT)/echo_server.exe: examples/echo_server.c ws.h | $(WIN_OUT)
	$(WIN_CC) $(WIN_CFLAGS) -o $@ $< -lws2_32

$(WIN_OUT)/echo_client.exe: examples/echo_client.c ws.h | $(WIN_OUT)
	$(WIN_CC) $(WIN_CFLAGS) -o $@ $< -lws2_32 -lbcrypt

$(WIN_OUT)/chat_server.exe: examples/chat_server.c ws.h | $(WIN_OUT)
	$(WIN_CC) $(WIN_CFLAGS) -o $@ $< -lws2_32

$(WIN_OUT)/wscat.exe: examples/wscat.c ws.h | $(WIN_OUT)
	$(WIN_CC) $(WIN_CFLAGS) -o $@ $< -lws2_32 -lbcrypt

# ws.h after <winsock2.h>, <ws2tcpip.h> and <windows.h> (and, in a second translation
# unit, before them), as C99 and as C++11.
WIN_COMPILE := tests/windows/compile_win.c tests/windows/compile_win_first.c
$(WIN_OUT)/compile_win.exe: $(WIN_COMPILE) ws.h | $(WIN_OUT)
	$(WIN_CC) -std=c99 $(WARN) -o $@ $(WIN_COMPILE) -lws2_32

$(WIN_OUT)/compile_winxx.exe: $(WIN_COMPILE) ws.h | $(WIN_OUT)
	$(WIN_CXX) -std=c++11 $(WARN) -x c++ -o $@ $(WIN_COMPILE) -lws2_32

windows-build: $(WIN_EXES)

windows: $(WIN_EXES) $(BUILD)/echo_server
	$(PY) tests/windows/run.py

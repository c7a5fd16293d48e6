#!/bin/sh
# Builds tests/buildsys/consumer/main.c every way a user takes ws.h, and runs it:
#   1. CMake: install (cmake --install) into a prefix, then find_package(ws) from it
#   2. CMake: add_subdirectory of the repository
#   3. CMake: FetchContent of an archive of the repository
#   4. meson: the repository as a subproject (a vendored copy under subprojects/ws)
#   5. pkg-config: the ws.pc of `make install PREFIX=...`, of the CMake install, and of
#      `meson install`, each with its own installed header
# Each consumer must print "consumer ok VERSION" with ws.h's version, and each build must
# have taken ws.h from where it says (checked in the compile commands). Usage: run.sh OUT
set -u
out=$(mkdir -p "$1" && cd "$1" && pwd)
src=$(pwd)
version=$(sed -n 's/^#define WS_VERSION_STRING "\(.*\)"/\1/p' ws.h)
passed=0 failed=0
log="$out/log"
: > "$log"

ok() { echo "ok - $1"; passed=$((passed + 1)); }
bad() { echo "not ok - $1  # see $log"; failed=$((failed + 1)); }
# step NAME CMD...: runs CMD with its output in the log
step() { n=$1; shift; echo "== $n: $*" >> "$log"; "$@" >> "$log" 2>&1; }
# check NAME BINARY [INCLUDE-DIR that the build must have used]
check() {
  got=$("$2" 2>&1)
  if [ "$got" != "consumer ok $version" ]; then bad "$1: consumer said '$got'"; return; fi
  if [ -n "${3:-}" ] && ! grep -rqs -- "-I$3\|-isystem $3" "${4:-/dev/null}"; then
    bad "$1: built without -I$3"; return; fi
  ok "$1 ($got)"
}

rm -rf "$out/cmake-ws" "$out/prefix-cmake" "$out/find" "$out/sub" "$out/fetch" "$out/meson-src" \
       "$out/meson-build" "$out/meson-ws" "$out/prefix-meson" "$out/prefix-make" "$out/pc"
CM="cmake -G Ninja -Wno-dev -DCMAKE_EXPORT_COMPILE_COMMANDS=ON"

# 1. CMake install + find_package
if step install-cmake $CM -S "$src" -B "$out/cmake-ws" -DCMAKE_INSTALL_PREFIX="$out/prefix-cmake" &&
   step install-cmake cmake --install "$out/cmake-ws" &&
   [ -f "$out/prefix-cmake/include/ws.h" ] && [ -f "$out/prefix-cmake/share/cmake/ws/wsConfig.cmake" ] &&
   [ -f "$out/prefix-cmake/share/pkgconfig/ws.pc" ]; then
  ok "cmake --install: include/ws.h, share/cmake/ws/wsConfig.cmake, share/pkgconfig/ws.pc"
else bad "cmake --install"; fi
if step find $CM -S tests/buildsys/cmake_find -B "$out/find" -DCMAKE_PREFIX_PATH="$out/prefix-cmake" &&
   step find cmake --build "$out/find"; then
  check "CMake find_package(ws) from the install prefix" "$out/find/consumer" \
    "$out/prefix-cmake/include" "$out/find/compile_commands.json"
else bad "CMake find_package(ws)"; fi
# find_package must refuse a version ws.h is not
if step find-2.0 $CM -S tests/buildsys/cmake_find -B "$out/find2" -DCMAKE_PREFIX_PATH="$out/prefix-cmake" \
     "-DCMAKE_PROJECT_INCLUDE_BEFORE=$src/tests/buildsys/want_2_0.cmake"; then
  bad "find_package(ws 2.0) accepted version $version"
elif grep -q 'requested version "2.0"' "$log"; then ok "find_package(ws 2.0) refused (installed $version)"
else bad "find_package(ws 2.0) failed for another reason"; fi
rm -rf "$out/find2"

# 2. add_subdirectory
if step sub $CM -S tests/buildsys/cmake_sub -B "$out/sub" -DWS_SOURCE_DIR="$src" &&
   step sub cmake --build "$out/sub"; then
  check "CMake add_subdirectory" "$out/sub/consumer" "$src" "$out/sub/compile_commands.json"
else bad "CMake add_subdirectory"; fi

# 3. FetchContent of an archive
if step fetch tar -czf "$out/ws-src.tar.gz" --transform 's,^,ws-src/,' ws.h CMakeLists.txt ws.pc.in meson.build LICENSE &&
   step fetch $CM -S tests/buildsys/cmake_fetch -B "$out/fetch" -DWS_ARCHIVE="$out/ws-src.tar.gz" &&
   step fetch cmake --build "$out/fetch"; then
  check "CMake FetchContent (archive)" "$out/fetch/consumer" "$out/fetch/_deps/ws-src" "$out/fetch/compile_commands.json"
else bad "CMake FetchContent"; fi

# 4. meson subproject
mkdir -p "$out/meson-src/subprojects/ws"
cp tests/buildsys/meson/meson.build tests/buildsys/consumer/main.c "$out/meson-src/"
cp ws.h meson.build LICENSE "$out/meson-src/subprojects/ws/"
if step meson meson setup "$out/meson-build" "$out/meson-src" && step meson ninja -C "$out/meson-build"; then
  check "meson subproject" "$out/meson-build/consumer" "../meson-src/subprojects/ws\|$out/meson-src/subprojects/ws" \
    "$out/meson-build/compile_commands.json"
else bad "meson subproject"; fi
mv=$(sed -n "s/^project('ws', 'c', version : '\([^']*\)'.*/\1/p" meson.build)
if [ "$mv" = "$version" ]; then ok "meson.build version $mv is ws.h's"; else bad "meson.build version '$mv', ws.h $version"; fi

# 5. pkg-config, from three installs
step make-install make --no-print-directory install PREFIX="$out/prefix-make" || bad "make install"
step meson-install meson setup "$out/meson-ws" "$src" --prefix="$out/prefix-meson" &&
  step meson-install meson install -C "$out/meson-ws" || bad "meson install"
for p in make cmake meson; do
  pcdir="$out/prefix-$p/share/pkgconfig"
  mkdir -p "$out/pc"
  got=$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_LIBDIR="$pcdir" pkg-config --modversion ws 2>>"$log")
  cflags=$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_LIBDIR="$pcdir" pkg-config --cflags ws 2>>"$log" | sed "s/ *$//")
  if [ "$got" != "$version" ]; then bad "pkg-config ($p install): version '$got'"; continue; fi
  if [ "$cflags" != "-I$out/prefix-$p/include" ]; then bad "pkg-config ($p install): cflags '$cflags'"; continue; fi
  if step pc-$p cc -std=c99 -Wall -Wextra -Werror $cflags -o "$out/pc/consumer-$p" tests/buildsys/consumer/main.c; then
    check "pkg-config from the $p install (cflags $cflags)" "$out/pc/consumer-$p"
  else bad "pkg-config ($p install): build"; fi
done

echo "buildsys: $passed passed, $failed failed"
[ $failed = 0 ]

# Build systems (included by the main Makefile): `make buildsys`
# A tiny consumer built each way a user takes ws.h: CMake find_package from an install
# prefix under build/, CMake add_subdirectory, CMake FetchContent, a meson subproject,
# and pkg-config from `make install`, the CMake install and `meson install`
# (tests/buildsys/run.sh).
TEST_DEPS    += buildsys-deps
TEST_TARGETS += buildsys
.PHONY: buildsys buildsys-deps

buildsys-deps:
	@sh tests/deps.sh cmake meson ninja-build pkgconf

buildsys:
	@sh tests/buildsys/run.sh $(BUILD)/buildsys

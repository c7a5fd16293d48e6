# Injected before tests/buildsys/cmake_find's project(): asks for a version ws.h is not.
find_package(ws 2.0 REQUIRED CONFIG)

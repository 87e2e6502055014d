#!/bin/sh
# Builds Open vSwitch's test driver `ovstest` (which holds OVS's classifier benchmark), and
# ovs-cls-bench.c against the same library, for bench/datapath's side-by-side numbers.
# Debian ships no ovstest binary (openvswitch-test only has Python scripts), so it is built
# from OVS's source, outside the repository. Not a CI step.
#
# Usage: bench/datapath/build-ovstest.sh [OVS_SOURCE_DIR] [BUILD_DIR]
#   OVS_SOURCE_DIR  an OVS 3.1 source tree (default /work/ovs-src), or a git repository, from
#                   which tag v3.1.0 is taken
#   BUILD_DIR       where to build (default /tmp/ovs-bench-build); bench/datapath/run.mjs
#                   looks there for tests/ovstest and ovs-cls-bench (or in $OVS_BENCH_BUILD)
# Needs gcc, make, autoconf, automake and libtool (apt-get install autoconf automake libtool).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-/work/ovs-src}
build=${2:-/tmp/ovs-bench-build}
if [ ! -x "$build/tests/ovstest" ]; then
  mkdir -p "$build"
  if git -C "$src" rev-parse --verify -q v3.1.0 >/dev/null 2>&1; then
    git -C "$src" archive v3.1.0 | tar -x -C "$build"
  else
    cp -a "$src/." "$build/"
  fi
  cd "$build"
  ./boot.sh >boot.log 2>&1
  # -O2 as Debian's packages are built.
  ./configure --disable-ssl CFLAGS="-O2 -g0" >configure.log 2>&1
  # Generated headers first (a single target does not pull in BUILT_SOURCES).
  printf 'pb:\n\t@echo $(BUILT_SOURCES)\n' >print-built.mk
  built=$(make -s -f Makefile -f print-built.mk pb)
  make -j"$(nproc)" $built >make.log 2>&1
  make -j"$(nproc)" tests/ovstest >>make.log 2>&1
fi
echo "built: $build/tests/ovstest"
# Our own classifier workloads against OVS's classifier, linked with the library built above.
cd "$build"
gcc -O2 -g0 -Wall -I. -Iinclude -Ilib -o ovs-cls-bench "$here/ovs-cls-bench.c" \
  lib/.libs/libopenvswitch.a -latomic -lm -lpthread -lrt
echo "built: $build/ovs-cls-bench"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what hipc's builds and tests need on a fresh Debian machine.
# Usage: ci/deps.sh [min|full]   (min: enough to build and run hipcctl)
set -euo pipefail

min_pkgs=(cmake make gcc libc6-dev)
full_pkgs=("${min_pkgs[@]}" clang llvm libclang-rt-14-dev libcmocka-dev
  pkg-config util-linux valgrind afl++ musl-tools qemu-user
  gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu libc6-dev-armhf-cross
  libc6-dev-arm64-cross gcovr cppcheck clang-tidy clang-format
  g++  # ci/stages/headers.sh compiles the headers as C++ (clang++ is in clang)
  mandoc man-db groff  # the man-page stage: mandoc lint and man --warnings
  dpkg-dev xz-utils  # apt-get source (ci/cmocka.sh)
  python3  # ci/stack_depth.py
  libuv1-dev  # examples/chan_uv.c: a channel in a libuv loop (issue 16)
  mount)  # ci/stages/hostile.sh remounts /proc with hidepid

case "${1:-full}" in
  min) pkgs=("${min_pkgs[@]}") ;;
  full) pkgs=("${full_pkgs[@]}") ;;
  *) echo "usage: $0 [min|full]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "ci/deps.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Formatting: every C source and header of the project is as clang-format
# (.clang-format) writes it. A difference fails the stage and shows the
# diff; `bash ci/stages/format.sh --fix` rewrites the files in place.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
echo "-- format: $(clang-format --version | grep -o 'version [0-9.]*'), ${#files[@]} files"
bad=0
for f in "${files[@]}"; do
  if ! clang-format "$f" | diff -u "$f" - >/dev/null; then
    clang-format "$f" | diff -u "$f" - | head -n 20
    bad=$((bad + 1))
  fi
done
if [ "$bad" -gt 0 ]; then
  echo "format: $bad file(s) differ from clang-format (fix: bash ci/stages/format.sh --fix)" >&2
  exit 1
fi
echo "format: all ${#files[@]} files as clang-format writes them"
